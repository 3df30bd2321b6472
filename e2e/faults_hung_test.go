package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hawatch/hawatch/core/control"
	"github.com/hawatch/hawatch/internal/netlab"
)

// hungStop is how long the master's daemon stays stopped.
const hungStop = 5 * time.Second

// hungResult is what one hung-master run measured.
type hungResult struct {
	mdi time.Duration
	// took: lb1's last advert before the stop → lb2 holds the VIP.
	took time.Duration
	// lost: samples between lb2's takeover and SIGCONT without lb2 holding.
	lost int
	// oneAfter: SIGCONT → the first sample from which on one node alone
	// holds the VIP (the holders are sampled every 5 ms).
	oneAfter time.Duration
	// clientSwitched: lb1's last reply → lb2's first, as the client saw
	// them; lb1Late: a reply from lb1 later than 200 ms after the takeover.
	clientSwitched time.Duration
	lb1Late        bool
	backupYields   int // lb2's transitions to BACKUP during the stop
	lb1Held        int // samples of the stop in which lb1 held the VIP
	finalOwner     string
	// stopped and cont: when SIGSTOP and SIGCONT were sent.
	stopped, cont time.Time
}

func (r hungResult) String() string {
	return fmt.Sprintf("takeover %s after lb1's last advert (MDI %s), VIP kept by lb2 (%d samples lost), one owner %s after SIGCONT, client on lb2 after %s, lb2 yields %d",
		ms(r.took), ms(r.mdi), r.lost, ms(r.oneAfter), ms(r.clientSwitched), r.backupYields)
}

// hungMaster stops the master's daemon (SIGSTOP) for hungStop and lets it
// go on (SIGCONT), while the VIP's holders are sampled in both nodes, lb1's
// adverts captured at lb2, and the client pings the VIP. The kernel of a
// stopped daemon keeps the VIP on its interface and answers ARP for it:
// only the adverts stop. signal sends to every process of lb1's daemon;
// yields counts lb2's transitions to BACKUP (nil: not counted).
func hungMaster(t *testing.T, lab *netlab.Lab, vrid int, vip netip.Prefix, backupPrio int, signal func(syscall.Signal), yields func() int) hungResult {
	t.Helper()
	lb1, lb2, client := lab.Nodes[0], lab.Nodes[1], lab.Client
	res := hungResult{}
	res.mdi, _ = rfcTimes(faultInterval, backupPrio)
	adverts := startAdvertCapture(t, lb2)
	s := sampleHolders(t, vip, [2]*netlab.Node{lb1, lb2})
	ping := startMACPinger(t, client, vip.Addr(), 10*time.Millisecond)
	ping.waitReplyFrom(t, lb1.MAC, time.Now(), 3*time.Second)
	time.Sleep(300 * time.Millisecond)

	y0 := 0
	if yields != nil {
		y0 = yields()
	}
	res.stopped = time.Now()
	signal(syscall.SIGSTOP)
	t.Cleanup(func() { signal(syscall.SIGCONT) }) // never leave a stopped process behind
	time.Sleep(hungStop)
	if yields != nil {
		res.backupYields = yields() - y0
	}
	cont := time.Now()
	res.cont = cont
	signal(syscall.SIGCONT)
	time.Sleep(2 * time.Second)
	log := s.finish(t)
	captured := adverts.stop()

	last, ok := lastAdvert(captured, lb1.Addr4, uint8(vrid), cont)
	if !ok {
		t.Fatal("no advert from lb1 captured before the stop")
	}
	taken, ok := log.from(last).first(1, true)
	if !ok || taken.After(cont) {
		t.Fatalf("lb2 never held the VIP during the stop")
	}
	res.took = taken.Sub(last)
	during := log.from(taken).until(cont)
	for _, smp := range during {
		if !smp.held[1] {
			res.lost++
		}
		if smp.held[0] {
			res.lb1Held++
		}
	}
	t.Logf("during the stop lb1 held the VIP in %d of %d samples", res.lb1Held, len(during))
	after := log.from(cont)
	one := 0
	for i, smp := range after {
		if smp.held[0] == smp.held[1] {
			one = i + 1
		}
	}
	if one < len(after) {
		res.oneAfter = after[one].at.Sub(cont)
	} else {
		res.oneAfter = time.Since(cont) // never settled
	}
	if end := log[len(log)-1]; end.held[0] && !end.held[1] {
		res.finalOwner = lb1.Name
	} else if end.held[1] && !end.held[0] {
		res.finalOwner = lb2.Name
	}
	if r, ok := ping.lastFrom(lb1.MAC, cont); ok {
		res.lb1Late = r.at.After(taken.Add(200 * time.Millisecond))
		if first, ok := ping.firstFrom(lb2.MAC, r.at); ok && first.at.Before(cont) {
			res.clientSwitched = first.at.Sub(r.at)
		}
	}
	return res
}

// assertHung checks hawatch's safety in a hung-master run: the backup takes
// over within Master_Down_Interval + 20 ms of the last advert and keeps the
// VIP for the whole stop (never yielding to the silent node), the client
// follows it, and after SIGCONT one owner (lb1) within one advert interval
// (the holders are sampled every 5 ms: 10 ms are allowed for that).
// lb1's kernel keeps the VIP during the stop (two holders, but one
// master): that is the fault, not a failure of the backup.
func assertHung(t *testing.T, r hungResult) {
	t.Helper()
	if r.took > r.mdi+20*time.Millisecond {
		t.Errorf("lb2 took over %v after lb1's last advert, want within MDI %v + 20 ms", r.took, r.mdi)
	}
	if r.lost > 0 {
		t.Errorf("lb2 did not hold the VIP in %d samples between its takeover and SIGCONT", r.lost)
	}
	if r.backupYields > 0 {
		t.Errorf("lb2 went BACKUP %d times while lb1's daemon was stopped (it yielded to a silent node)", r.backupYields)
	}
	if r.lb1Late || r.clientSwitched == 0 {
		t.Errorf("the client was not answered by lb2 during the stop (late reply from lb1: %v; switched after %v)", r.lb1Late, r.clientSwitched)
	}
	if r.oneAfter > faultInterval+10*time.Millisecond {
		t.Errorf("one owner only %v after SIGCONT, want within one advert interval (%v)", r.oneAfter, faultInterval)
	}
	if r.finalOwner != "lb1" {
		t.Errorf("owner after the stop: %q, want lb1 (priority 150)", r.finalOwner)
	}
}

// signalDaemon sends sig to a hawatch daemon's main process only: its
// plugins run on, as they would next to a wedged daemon.
func signalDaemon(t *testing.T, d *daemon) func(syscall.Signal) {
	return func(sig syscall.Signal) {
		if err := d.proc.Signal(sig); err != nil && !d.proc.Exited() {
			t.Errorf("%v to hawatch on %s: %v", sig, d.node.Name, err)
		}
	}
}

// signalKeepalived sends sig to keepalived's parent and its VRRP child.
func signalKeepalived(t *testing.T, p *netlab.Proc) func(syscall.Signal) {
	return func(sig syscall.Signal) {
		pids := append([]int{p.PID()}, p.ExtraPIDs()...)
		for _, pid := range pids {
			if proc, err := os.FindProcess(pid); err == nil {
				if err := proc.Signal(sig); err != nil && !p.Exited() {
					t.Errorf("%v to keepalived %d: %v", sig, pid, err)
				}
			}
		}
	}
}

// TestFaultHungMaster (scenario 1): the master's daemon is stopped for 5 s
// (SIGSTOP) and resumed (SIGCONT), on a hawatch pair with the split-brain
// guard (nginx on both nodes, the guard with effect "yield" and peer_app:
// during the stop it sees lb1's MAC own the VIP and lb1's nginx answer,
// but no advert from lb1), on one without, and on keepalived.
func TestFaultHungMaster(t *testing.T) {
	needRoot(t)
	var guard, plain, ka hungResult
	t.Run("hawatch-guard", func(t *testing.T) {
		lab := netlab.New(t, netlab.Options{Nodes: 2})
		// The guard of splitBrainPair watches 198.51.100.50 (the lab is
		// this test's own).
		base := instance{vrid: 71, version: 3, interval: faultInterval.String(), vips: []string{vip4.String()}}
		d1, d2, _, _ := splitBrainPair(t, lab, base) // priorities 100 and 50
		gw := watchGuard(t, d2)
		guard = hungMaster(t, lab, base.vrid, vipOf(base), 50, signalDaemon(t, d1), func() int { return d2.transitions("BACKUP") })
		assertHung(t, guard)
		assertGuardSawHungMaster(t, gw.stop(), guard, lab.Nodes[0])
		st := d2.mustStatus()
		t.Logf("lb2 after the run: %s, holds %v", st.Instances[0].State, st.Instances[0].Holds)
	})
	t.Run("hawatch", func(t *testing.T) {
		lab := netlab.New(t, netlab.Options{Nodes: 2})
		vip := netip.MustParsePrefix("198.51.100.72/24")
		lb1, lb2 := lab.Nodes[0], lab.Nodes[1]
		d1, d2 := startFaultPair(t, lb1, lb2, vip, faultInstance(72, faultPrio[0], vip, "").String(), faultInstance(72, faultPrio[1], vip, "").String())
		plain = hungMaster(t, lab, 72, vip, faultPrio[1], signalDaemon(t, d1), func() int { return d2.transitions("BACKUP") })
		assertHung(t, plain)
	})
	t.Run("keepalived", func(t *testing.T) {
		lab := netlab.New(t, netlab.Options{Nodes: 2})
		vip := netip.MustParsePrefix("198.51.100.73/24")
		k1, _ := startKeepalivedFaultPair(t, lab.Nodes[0], lab.Nodes[1], 73, vip)
		ka = hungMaster(t, lab, 73, vip, faultPrio[1], signalKeepalived(t, k1), nil)
	})
	faultLine(t, "hung master 5 s, guard", guard.String(), "(no guard)")
	faultLine(t, "hung master 5 s", plain.String(), ka.String())
}

// guardSample is lb2's instance and its split-brain guard's ledger line, as
// its status showed them at one moment.
type guardSample struct {
	at    time.Time
	state string
	holds []string
	guard control.LedgerEntry
}

// guardWatch polls a daemon's status (every 50 ms) until stop.
type guardWatch struct {
	done    chan struct{}
	wg      sync.WaitGroup
	samples []guardSample
}

func watchGuard(t *testing.T, d *daemon) *guardWatch {
	t.Helper()
	w := &guardWatch{done: make(chan struct{})}
	w.wg.Go(func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-tick.C:
			}
			st, err := d.status()
			if err != nil || len(st.Instances) == 0 {
				continue
			}
			in := st.Instances[0]
			smp := guardSample{at: time.Now(), state: in.State, holds: in.Holds}
			for _, l := range in.Ledger {
				if l.Check == "split_brain" {
					smp.guard = l
				}
			}
			w.samples = append(w.samples, smp)
		}
	})
	t.Cleanup(func() { w.stop() })
	return w
}

func (w *guardWatch) stop() []guardSample {
	select {
	case <-w.done:
	default:
		close(w.done)
	}
	w.wg.Wait()
	return w.samples
}

// assertGuardSawHungMaster checks that the guard run proves what it claims:
// during the stop, after lb1 had been silent for a Master_Down_Interval,
// lb2's guard reported the other owner (failing, naming lb1's MAC) while
// lb2 stayed MASTER without a split-brain hold: it saw lb1 and did not
// yield to it. Without such a sample the run passes on a guard that never
// looked.
func assertGuardSawHungMaster(t *testing.T, samples []guardSample, r hungResult, lb1 *netlab.Node) {
	t.Helper()
	from, until := r.stopped.Add(r.mdi), r.cont
	seen := 0
	var last guardSample
	for _, smp := range samples {
		if smp.at.Before(from) || !smp.at.Before(until) {
			continue
		}
		last = smp
		g := smp.guard
		if g.ObservedAt.Before(from) || g.Status != "fail" || !strings.Contains(g.Reason, lb1.MAC.String()) {
			continue
		}
		for _, h := range smp.holds {
			if strings.HasPrefix(h, "split-brain yield") {
				t.Errorf("lb2 holds a split-brain yield at %s into the stop: %s", ms(smp.at.Sub(r.stopped)), h)
			}
		}
		if smp.state != "MASTER" {
			t.Errorf("lb2 is %s at %s into the stop while its guard reports lb1", smp.state, ms(smp.at.Sub(r.stopped)))
		}
		if seen == 0 {
			t.Logf("lb2's guard %s into the stop (observed %s): %s", ms(smp.at.Sub(r.stopped)), ms(g.ObservedAt.Sub(r.stopped)), g.Reason)
		}
		seen++
	}
	if seen == 0 {
		t.Errorf("lb2's guard never reported lb1 (%s) as another owner during the stop; last sample: state %s, guard %+v",
			lb1.MAC, last.state, last.guard)
	}
}
