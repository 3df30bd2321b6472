package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/hawatch/hawatch/internal/netlab"
)

// The partition suite of the quorum witness (issue 13): two hawatch nodes
// (VRRP v3, 100 ms adverts, etcd witness with ttl 1s), three etcd members
// in their own namespaces and a client, the VIP's holders sampled every
// 5 ms in both node namespaces, each scenario witnessRuns times. Scenario 1
// also runs on a keepalived pair, and failover on a hawatch pair without
// the witness, in the same run, for the comparison. Run it alone with
//
//	go test -count=1 -v -run TestWitnessPartitions ./e2e
//
// and read the table it logs at the end.

const (
	witnessRuns     = 3
	witnessTTL      = time.Second
	witnessInterval = 100 * time.Millisecond
	// lessorSlack is how late etcd may delete an expired lease's keys: its
	// lessor looks for expired leases every 500 ms.
	lessorSlack = 500 * time.Millisecond
	// handOver bounds what follows the deletion: the watch event, the new
	// holder's transaction (an fsynced etcd write), the grant to the host
	// and the address added.
	handOver    = 100 * time.Millisecond
	sampleEvery = 5 * time.Millisecond
)

var witnessVIP = netip.MustParsePrefix("198.51.100.60/24")

// witnessLab is the lab the whole suite shares; every run uses its own key
// prefix, so runs never see each other's rights.
type witnessLab struct {
	lab      *netlab.Lab
	etcd     *netlab.Etcd
	lb1, lb2 *netlab.Node
	runs     int
}

// policy is a node's config: the instance (lb1 priority 150, lb2 100) and,
// with a prefix, the etcd witness.
func (w *witnessLab) policy(n *netlab.Node, prio int, prefix, onLost string, ttl time.Duration) string {
	inst := instance{vrid: 61, prio: prio, version: 3, interval: witnessInterval.String(), vips: []string{witnessVIP.String()}}
	if prefix == "" {
		return inst.String()
	}
	inst.extra = fmt.Sprintf("  witness = \"site\"\n  on_witness_lost = %q\n", onLost)
	return fmt.Sprintf(`plugin "etcd" {
  command = "hawatch-etcd"
}
witness "site" {
  plugin = "etcd"
  config {
    endpoints = [%s]
    prefix    = %q
    ttl       = %q
    node      = %q
  }
}
`, quoteList(w.etcd.Endpoints()), prefix, ttl.String(), n.Name) + inst.String()
}

// pair starts lb1, waits until it holds the VIP, then lb2, and waits until
// lb2 is a settled backup. onLost "" means no witness.
func (w *witnessLab) pair(t *testing.T, onLost string) (d1, d2 *daemon) {
	t.Helper()
	return w.pairTTL(t, onLost, witnessTTL)
}

// pairTTL is pair with the witness's ttl.
func (w *witnessLab) pairTTL(t *testing.T, onLost string, ttl time.Duration) (d1, d2 *daemon) {
	t.Helper()
	w.runs++
	prefix := ""
	if onLost != "" {
		prefix = fmt.Sprintf("/hawatch/run%d", w.runs)
	}
	d1 = startDaemon(t, w.lb1, w.policy(w.lb1, 150, prefix, onLost, ttl))
	// MASTER, not just the address: a VIP the last run left behind is
	// there before lb1 has even started, and lb2 would then find no master.
	waitState(t, d1, "MASTER", 10*time.Second)
	waitVIP(t, w.lb1, witnessVIP, true, time.Second)
	d2 = startDaemon(t, w.lb2, w.policy(w.lb2, 100, prefix, onLost, ttl))
	waitState(t, d2, "BACKUP", 5*time.Second)
	time.Sleep(5 * witnessInterval) // lb2 has heard lb1 for a while
	if !hasVIP(t, w.lb1, witnessVIP) || hasVIP(t, w.lb2, witnessVIP) {
		t.Fatal("the pair did not settle with lb1 the only holder")
	}
	return d1, d2
}

// holderSample is one look at both nodes: held[i] is whether node i had
// the VIP.
type holderSample struct {
	at   time.Time
	held [2]bool
}

// sampler looks at the VIP in both node namespaces every 5 ms, on every
// interface (a VIP left on a renamed device counts), over one netlink socket
// per namespace opened once: a socket outlives the interfaces.
type sampler struct {
	mu      sync.Mutex
	samples []holderSample
	errs    []error
	stop    chan struct{}
	done    chan struct{}
}

func sampleHolders(t *testing.T, vip netip.Prefix, nodes [2]*netlab.Node) *sampler {
	t.Helper()
	var handles [2]*netlink.Handle
	for i, n := range nodes {
		ns, err := netns.GetFromName(n.NS)
		if err != nil {
			t.Fatal(err)
		}
		h, err := netlink.NewHandleAt(ns)
		ns.Close()
		if err != nil {
			t.Fatalf("%s: netlink: %v", n.Name, err)
		}
		t.Cleanup(h.Close)
		handles[i] = h
	}
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(sampleEvery)
		defer tick.Stop()
		for {
			var smp holderSample
			for i, h := range handles {
				addrs, err := h.AddrList(nil, netlink.FAMILY_V4) // every interface: a re-created eth0 is a new link
				if err != nil {
					s.mu.Lock()
					s.errs = append(s.errs, fmt.Errorf("%s: %w", nodes[i].Name, err))
					s.mu.Unlock()
				}
				for _, a := range addrs {
					ip, _ := netip.AddrFromSlice(a.IP)
					if ip.Unmap() == vip.Addr() {
						smp.held[i] = true
					}
				}
			}
			smp.at = time.Now()
			s.mu.Lock()
			s.samples = append(s.samples, smp)
			s.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() { s.finish(t) })
	return s
}

// finish stops sampling (idempotent) and returns every sample.
func (s *sampler) finish(t *testing.T) holderLog {
	t.Helper()
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.errs) > 0 {
		t.Errorf("sampling failed %d times, first: %v", len(s.errs), s.errs[0])
	}
	return slices.Clone(s.samples)
}

// snapshot returns the samples so far; sampling goes on.
func (s *sampler) snapshot() holderLog {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(holderLog(s.samples))
}

// holderLog is a run's samples, oldest first.
type holderLog []holderSample

// from returns the samples taken at or after t.
func (l holderLog) from(t time.Time) holderLog {
	i, _ := slices.BinarySearchFunc(l, t, func(s holderSample, t time.Time) int { return s.at.Compare(t) })
	return l[i:]
}

// until returns the samples taken before t.
func (l holderLog) until(t time.Time) holderLog {
	i, _ := slices.BinarySearchFunc(l, t, func(s holderSample, t time.Time) int { return s.at.Compare(t) })
	return l[:i]
}

// dual counts the samples with two holders and the longest stretch of them
// (from its first such sample to the next sample without).
func (l holderLog) dual() (n int, longest time.Duration) {
	var start time.Time
	for _, s := range l {
		both := s.held[0] && s.held[1]
		switch {
		case both && start.IsZero():
			start = s.at
		case !both && !start.IsZero():
			longest = max(longest, s.at.Sub(start))
			start = time.Time{}
		}
		if both {
			n++
		}
	}
	if !start.IsZero() {
		longest = max(longest, l[len(l)-1].at.Sub(start)+sampleEvery)
	}
	return n, longest
}

// count is how many samples show node i holding.
func (l holderLog) count(i int) int {
	n := 0
	for _, s := range l {
		if s.held[i] {
			n++
		}
	}
	return n
}

// first is the time of the first sample in which node i's holding is held.
func (l holderLog) first(i int, held bool) (time.Time, bool) {
	for _, s := range l {
		if s.held[i] == held {
			return s.at, true
		}
	}
	return time.Time{}, false
}

// exactlyOne reports whether every sample shows exactly one holder.
func (l holderLog) exactlyOne() bool {
	for _, s := range l {
		if s.held[0] == s.held[1] {
			return false
		}
	}
	return true
}

// witnessResult is one run's line in the suite's table.
type witnessResult struct {
	scenario string
	figures  string
}

func TestWitnessPartitions(t *testing.T) {
	needRoot(t)
	lab := netlab.New(t, netlab.Options{Nodes: 2, Members: 3})
	w := &witnessLab{lab: lab, lb1: lab.Nodes[0], lb2: lab.Nodes[1]}
	w.etcd = netlab.StartEtcd(t, lab.Members, netlab.EtcdOptions{})
	var results []witnessResult
	for _, sc := range []struct {
		name string
		run  func(*testing.T, *witnessLab) string
	}{
		{"1-vrrp-cut", vrrpCut},
		{"1-vrrp-cut-keepalived", vrrpCutKeepalived},
		{"2-lb1-isolated", lb1Isolated},
		{"3-lb2-isolated", lb2Isolated},
		{"4-etcd-member-cut-leader-killed", etcdMemberCutLeaderKilled},
		{"5-master-sigkill", masterStop(syscall.SIGKILL, true)},
		{"5-master-sigkill-no-witness", masterStop(syscall.SIGKILL, false)},
		{"5-master-sigterm", masterStop(syscall.SIGTERM, true)},
		{"5-master-sigterm-no-witness", masterStop(syscall.SIGTERM, false)},
		{"6-master-sigstop", masterSIGSTOP},
		{"7-etcd-down-release", etcdDown("release")},
		{"7-etcd-down-keep", etcdDown("keep")},
	} {
		t.Run(sc.name, func(t *testing.T) {
			for i := range witnessRuns {
				t.Run(fmt.Sprint(i+1), func(t *testing.T) {
					results = append(results, witnessResult{sc.name, sc.run(t, w)})
				})
			}
		})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "partition suite, %d runs per scenario (machine load %s):\n", witnessRuns, machineLoad())
	for _, r := range results {
		fmt.Fprintf(&b, "  %-34s %s\n", r.scenario, r.figures)
	}
	t.Log(b.String())
}

// vrrpCut, scenario 1: VRRP dropped both ways for 3 s, etcd reachable from
// both. lb2 stops hearing lb1 and wants to take over, but lb1 holds the
// right: lb2 stays BACKUP naming lb1, and no sample has two holders.
func vrrpCut(t *testing.T, w *witnessLab) string {
	d1, d2 := w.pair(t, "release")
	settled := handovers(d1, d2)
	s := sampleHolders(t, witnessVIP, [2]*netlab.Node{w.lb1, w.lb2})
	time.Sleep(300 * time.Millisecond)
	w.lab.BlockVRRP(t, w.lb1, w.lb2)
	w.lab.BlockVRRP(t, w.lb2, w.lb1)
	t.Cleanup(func() { unblockBoth(t, w.lab, w.lb1, w.lb2) })
	time.Sleep(1500 * time.Millisecond)
	hold := instanceHolds(d2)
	time.Sleep(1500 * time.Millisecond)
	unblockBoth(t, w.lab, w.lb1, w.lb2)
	time.Sleep(time.Second)
	log := s.finish(t)
	n, _ := log.dual()
	if n != 0 {
		t.Errorf("%d samples with two holders while VRRP was cut", n)
	}
	if c := log.count(0); c != len(log) {
		t.Errorf("lb1 held the VIP in %d of %d samples, want all", c, len(log))
	}
	if !strings.Contains(hold, "held by lb1") {
		t.Errorf("lb2 during the cut: holds %q, want the witness hold naming lb1", hold)
	}
	if n := handovers(d1, d2) - settled; n != 0 {
		t.Errorf("%d state changes (lb1 to BACKUP, lb2 to MASTER), want none", n)
	}
	return fmt.Sprintf("dual-holder samples %d of %d (0 ms); lb2 waited: %s", n, len(log), hold)
}

// vrrpCutKeepalived is scenario 1 on a keepalived pair: both become master
// for the whole cut.
func vrrpCutKeepalived(t *testing.T, w *witnessLab) string {
	ka := func(prio int) netlab.KeepalivedConfig {
		return netlab.KeepalivedConfig{VRID: 61, Priority: prio, Version: 3, AdvertInterval: witnessInterval, VIPs: []string{witnessVIP.String()}}
	}
	netlab.StartKeepalived(t, w.lb1, ka(150))
	waitVIP(t, w.lb1, witnessVIP, true, 10*time.Second)
	netlab.StartKeepalived(t, w.lb2, ka(100))
	time.Sleep(time.Second)
	if hasVIP(t, w.lb2, witnessVIP) {
		t.Fatal("keepalived pair did not settle with lb1 the only holder")
	}
	s := sampleHolders(t, witnessVIP, [2]*netlab.Node{w.lb1, w.lb2})
	time.Sleep(300 * time.Millisecond)
	w.lab.BlockVRRP(t, w.lb1, w.lb2)
	w.lab.BlockVRRP(t, w.lb2, w.lb1)
	t.Cleanup(func() { unblockBoth(t, w.lab, w.lb1, w.lb2) })
	cut := time.Now()
	time.Sleep(3 * time.Second)
	healed := time.Now()
	unblockBoth(t, w.lab, w.lb1, w.lb2)
	time.Sleep(time.Second)
	log := s.finish(t)
	n, longest := log.dual()
	dualFrom, _ := log.from(cut).first(1, true)
	return fmt.Sprintf("dual-holder samples %d of %d, longest %s; lb2 took the VIP %s into the 3 s cut and held it %s",
		n, len(log), ms(longest), ms(dualFrom.Sub(cut)), ms(healed.Sub(dualFrom)))
}

func unblockBoth(t *testing.T, lab *netlab.Lab, a, b *netlab.Node) {
	for _, p := range [][2]*netlab.Node{{a, b}, {b, a}} {
		if err := lab.UnblockVRRP(p[0], p[1]); err != nil {
			t.Error(err)
		}
	}
}

// handovers counts lb1's moves to BACKUP and lb2's to MASTER so far.
func handovers(d1, d2 *daemon) int { return d1.transitions("BACKUP") + d2.transitions("MASTER") }

// instanceHolds is the first instance's holds, joined.
func instanceHolds(d *daemon) string {
	st, err := d.status()
	if err != nil || len(st.Instances) == 0 {
		return fmt.Sprintf("(no status: %v)", err)
	}
	return strings.Join(st.Instances[0].Holds, "; ")
}

// lb1Isolated, scenario 2: lb1 cut off from everything (its port dead). It
// cannot confirm its right and releases the VIP before the right can
// expire; lb2 owns the VIP within ttl + 500 ms; never two holders. After
// the rejoin lb1 (higher priority) gets the VIP back.
func lb1Isolated(t *testing.T, w *witnessLab) string {
	w.pair(t, "release")
	s := sampleHolders(t, witnessVIP, [2]*netlab.Node{w.lb1, w.lb2})
	time.Sleep(300 * time.Millisecond)
	cut := time.Now()
	w.lab.Isolate(t, w.lb1)
	t.Cleanup(func() { _ = w.lab.Rejoin(w.lb1) })
	time.Sleep(witnessTTL + lessorSlack + time.Second)
	rejoined := time.Now()
	if err := w.lab.Rejoin(w.lb1); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	log := s.finish(t)
	n, _ := log.dual()
	released, ok1 := log.from(cut).first(0, false)
	owned, ok2 := log.from(cut).first(1, true)
	if n != 0 {
		t.Errorf("%d samples with two holders", n)
	}
	if !ok1 || !ok2 {
		t.Fatalf("lb1 released %v, lb2 owned %v: want both", ok1, ok2)
	}
	if took := owned.Sub(cut); took > witnessTTL+lessorSlack+handOver {
		t.Errorf("lb2 owned the VIP %v after lb1 was cut off, want within ttl + 500 ms (+ %v hand-over)", took, handOver)
	}
	back := log.from(rejoined)
	if last := back.from(rejoined.Add(2 * time.Second)); len(last) == 0 || !last.exactlyOne() || last.count(0) != len(last) {
		t.Errorf("2 s after the rejoin lb1 is not the only holder")
	}
	handBack, _ := back.first(0, true)
	return fmt.Sprintf("lb1 released after %s, lb2 owned after %s (bound %s); dual samples %d; lb1 back %s after the rejoin",
		ms(released.Sub(cut)), ms(owned.Sub(cut)), ms(witnessTTL+lessorSlack), n, ms(handBack.Sub(rejoined)))
}

// lb2Isolated, scenario 3: lb2 cut off from everything. It stops hearing
// lb1 and wants to take over, but cannot reach the quorum: it never holds
// the VIP, and lb1 keeps it.
func lb2Isolated(t *testing.T, w *witnessLab) string {
	w.pair(t, "release")
	s := sampleHolders(t, witnessVIP, [2]*netlab.Node{w.lb1, w.lb2})
	time.Sleep(300 * time.Millisecond)
	w.lab.Isolate(t, w.lb2)
	t.Cleanup(func() { _ = w.lab.Rejoin(w.lb2) })
	time.Sleep(3 * time.Second)
	if err := w.lab.Rejoin(w.lb2); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	log := s.finish(t)
	if c := log.count(1); c != 0 {
		t.Errorf("lb2 held the VIP in %d samples", c)
	}
	if c := log.count(0); c != len(log) {
		t.Errorf("lb1 held the VIP in %d of %d samples, want all", c, len(log))
	}
	return fmt.Sprintf("lb2 held in %d of %d samples; lb1 in %d", log.count(1), len(log), log.count(0))
}

// etcdMemberCutLeaderKilled, scenario 4: one etcd follower is cut off from
// both nodes (it still votes with its peers), then the etcd leader is
// killed: a new leader is elected from the two left, the nodes reach only
// one member, and no instance changes state. The ttl follows the README's
// rule (an election must finish well within ttl − margin − ttl/4): 2 s
// leaves 1 s; at 1 s the 500 ms left were outlasted by an election once in
// about ten runs.
func etcdMemberCutLeaderKilled(t *testing.T, w *witnessLab) string {
	d1, d2 := w.pairTTL(t, "release", 2*time.Second)
	settled := handovers(d1, d2)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	leader, err := w.etcd.Leader(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	follower := (leader + 1) % len(w.lab.Members)
	m := w.lab.Members[follower]
	t.Cleanup(func() {
		if err := w.lab.Heal(m); err != nil {
			t.Error(err)
		}
		w.etcd.Restart()
	})
	s := sampleHolders(t, witnessVIP, [2]*netlab.Node{w.lb1, w.lb2})
	time.Sleep(300 * time.Millisecond)
	w.lab.Cut(t, m, w.lb1)
	w.lab.Cut(t, m, w.lb2)
	time.Sleep(time.Second)
	w.etcd.Kill(leader)
	time.Sleep(4 * time.Second)
	log := s.finish(t)
	changes := handovers(d1, d2) - settled
	if changes != 0 {
		t.Errorf("%d state changes after %s was cut off and %s (the leader) killed, want none", changes, m.Name, w.lab.Members[leader].Name)
	}
	if c := log.count(0); c != len(log) || log.count(1) != 0 {
		t.Errorf("lb1 held in %d, lb2 in %d of %d samples; want lb1 in all", c, log.count(1), len(log))
	}
	st := d1.mustStatus()
	errs := uint64(0)
	if ws := st.Instances[0].Witness; ws != nil {
		errs = ws.SessionErrors
	}
	return fmt.Sprintf("cut %s, killed leader %s: state changes %d, lb1 held %d of %d samples, lb2 %d; witness session errors %d",
		m.Name, w.lab.Members[leader].Name, changes, log.count(0), len(log), log.count(1), errs)
}

// masterStop, scenario 5: the master is killed (lb2 owns the VIP within
// ttl + 500 ms: lb1's right must expire first) or stopped (lb1 gives its
// right up: within Skew_Time + 50 ms). Without a witness, the same pair
// fails over at VRRP's own times, for the comparison.
func masterStop(sig syscall.Signal, witness bool) func(*testing.T, *witnessLab) string {
	return func(t *testing.T, w *witnessLab) string {
		onLost := ""
		if witness {
			onLost = "release"
		}
		d1, _ := w.pair(t, onLost)
		s := sampleHolders(t, witnessVIP, [2]*netlab.Node{w.lb1, w.lb2})
		time.Sleep(300 * time.Millisecond)
		stopped := time.Now()
		if err := d1.proc.Signal(sig); err != nil {
			t.Fatal(err)
		}
		time.Sleep(witnessTTL + lessorSlack + time.Second)
		log := s.finish(t)
		owned, ok := log.from(stopped).first(1, true)
		if !ok {
			t.Fatalf("lb2 never owned the VIP after lb1's %v", sig)
		}
		mdi, skew := rfcTimes(witnessInterval, 100)
		took := owned.Sub(stopped)
		var bound time.Duration
		switch {
		case sig == syscall.SIGTERM:
			bound = skew + 50*time.Millisecond
		case witness:
			bound = witnessTTL + lessorSlack + handOver
		default:
			bound = mdi + witnessInterval
		}
		if !witness {
			bound += loadSlack // VRRP's own times are the benchmarks' business
		}
		if took > bound {
			t.Errorf("lb2 owned the VIP %v after lb1's %v, want within %v", took, sig, bound)
		}
		n, _ := log.dual()
		if sig == syscall.SIGTERM && n != 0 {
			t.Errorf("%d samples with two holders during a graceful stop", n)
		}
		return fmt.Sprintf("lb2 owned the VIP %s after %v (bound %s; Master_Down_Interval %s, Skew_Time %s)",
			ms(took), sig, ms(bound), ms(mdi), ms(skew))
	}
}

// masterSIGSTOP, scenario 6: the master hangs for 5 s. Its loop stops
// renewing its wishes, so the witness stops keeping its right alive; lb2
// gets the right and the VIP during the stop (the hung lb1 still has the
// address: it cannot release anything). After SIGCONT, lb1 sees its grant
// ran out and releases at once: two holders for at most one advert
// interval, then exactly one.
func masterSIGSTOP(t *testing.T, w *witnessLab) string {
	d1, _ := w.pair(t, "release")
	s := sampleHolders(t, witnessVIP, [2]*netlab.Node{w.lb1, w.lb2})
	time.Sleep(300 * time.Millisecond)
	stopped := time.Now()
	if err := d1.proc.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d1.proc.Signal(syscall.SIGCONT) })
	time.Sleep(5 * time.Second)
	resumed := time.Now()
	if err := d1.proc.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	log := s.finish(t)
	owned, ok := log.from(stopped).until(resumed).first(1, true)
	if !ok {
		t.Fatal("lb2 did not take over while lb1 was stopped")
	}
	after := log.from(resumed)
	n, longest := after.dual()
	if longest > witnessInterval {
		t.Errorf("after SIGCONT two holders for %v, want at most one advert interval (%v)", longest, witnessInterval)
	}
	settled := after.from(resumed.Add(2 * time.Second))
	if len(settled) == 0 || !settled.exactlyOne() {
		t.Error("2 s after SIGCONT there is not exactly one holder")
	}
	holder := "lb1"
	if len(settled) > 0 && settled[len(settled)-1].held[1] {
		holder = "lb2"
	}
	return fmt.Sprintf("lb2 took over %s into the stop; after SIGCONT dual samples %d (longest %s), then %s alone",
		ms(owned.Sub(stopped)), n, ms(longest), holder)
}

// etcdDown, scenario 7: every etcd member stops. With release, lb1 cannot
// confirm its right and releases: no holder from ttl on (the price: an
// outage while the quorum is down). With keep, lb1 keeps the VIP and VRRP
// alone decides. When etcd is back, lb1 holds the VIP alone again.
func etcdDown(onLost string) func(*testing.T, *witnessLab) string {
	return func(t *testing.T, w *witnessLab) string {
		d1, _ := w.pair(t, onLost)
		s := sampleHolders(t, witnessVIP, [2]*netlab.Node{w.lb1, w.lb2})
		time.Sleep(300 * time.Millisecond)
		down := time.Now()
		w.etcd.Stop()
		t.Cleanup(w.etcd.Restart)
		time.Sleep(3 * time.Second)
		up := time.Now()
		w.etcd.Restart()
		healthy := time.Since(up)
		waitFor(t, "lb1 granted and the only holder again after etcd came back", 15*time.Second, func() bool {
			st, err := d1.status()
			return err == nil && len(st.Instances) > 0 && st.Instances[0].Witness != nil && st.Instances[0].Witness.Granted &&
				hasVIP(t, w.lb1, witnessVIP) && !hasVIP(t, w.lb2, witnessVIP)
		})
		granted := time.Since(up)
		time.Sleep(time.Second)
		log := s.finish(t)
		during := log.from(down).until(up)
		if last := log.from(up.Add(granted)); len(last) == 0 || !last.exactlyOne() || last.count(0) != len(last) {
			t.Errorf("%s: after etcd came back lb1 is not the only holder", onLost)
		}
		if onLost == "keep" {
			if c := during.count(0); c != len(during) || during.count(1) != 0 {
				t.Errorf("keep: lb1 held in %d, lb2 in %d of %d samples while etcd was down; want lb1 in all", c, during.count(1), len(during))
			}
			return fmt.Sprintf("keep: lb1 held %d of %d samples while etcd was down; restarted etcd healthy after %s, lb1 granted again by %s",
				during.count(0), len(during), ms(healthy), ms(granted))
		}
		released, ok := during.first(0, false)
		if !ok {
			t.Fatal("release: lb1 never released the VIP while etcd was down")
		}
		if took := released.Sub(down); took > witnessTTL {
			t.Errorf("release: lb1 released %v after etcd went down, want within the ttl", took)
		}
		late := during.from(down.Add(witnessTTL))
		if c0, c1 := late.count(0), late.count(1); c0+c1 != 0 {
			t.Errorf("release: from ttl after etcd went down, lb1 held in %d and lb2 in %d samples; want none", c0, c1)
		}
		back, _ := log.from(up).first(0, true)
		return fmt.Sprintf("release: lb1 released %s after etcd went down; no holder in %d samples after ttl; restarted etcd healthy after %s, lb1 held the VIP again %s after the restart began",
			ms(released.Sub(down)), len(late), ms(healthy), ms(back.Sub(up)))
	}
}
