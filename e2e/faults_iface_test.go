package e2e

import (
	"fmt"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hawatch/hawatch/internal/netlab"
)

// Scenario 6 of the fault suite (issue 17): a node's eth0 is deleted and
// created again under the running daemon (netlab DeleteLink, AddLink: a
// new veth with the same name, MAC and addresses, but a new interface
// index), or renamed away (down, renamed, left on the bridge) and replaced
// by a new eth0. The daemon must follow without a restart: its VRRP sockets
// and VIP manager were bound to the old index.
//
// On the master lb1 (priority 150): lb2 takes over while lb1's eth0 is
// missing, lb1 is in FAULT meanwhile, and once eth0 is back lb1 (same
// process) goes BACKUP and preempts; lb2 hears its adverts again. On the
// backup lb2: lb1 keeps the VIP throughout, lb2 comes back as BACKUP, and
// when lb1 then stops, lb2 takes over on its new eth0.

// ifaceGone is how long eth0 stays missing: several Master_Down_Intervals,
// so the survivor's takeover and the victim's FAULT are both settled.
const ifaceGone = 1500 * time.Millisecond

// ifaceCase is one shape of the scenario.
type ifaceCase struct {
	name   string
	victim int  // 0: the master lb1, 1: the backup lb2
	rename bool // rename eth0 away instead of deleting it
}

// ifaceRun is what one run of a case measured.
type ifaceRun struct {
	c ifaceCase
	// takeover: eth0 removed from the master → lb2 holds the VIP (master
	// cases); failover: lb1 stopped after the backup's eth0 came back →
	// lb2 holds it (backup case).
	takeover, failover time.Duration
	// back: AddLink began → the master holds the VIP again, or the backup
	// is BACKUP again.
	back    time.Duration
	backOK  bool
	dual    time.Duration // longest stretch with two holders
	holders string        // who held the VIP, in order, with times from the removal
	changes int           // the victim's state changes over the scenario
	samePID bool
	index   [2]int // eth0's index before and after
}

func (r ifaceRun) String() string {
	back := "never (within 10 s)"
	if r.backOK {
		back = ms(r.back)
	}
	var b strings.Builder
	if r.c.victim == 0 {
		fmt.Fprintf(&b, "takeover %s, back as master %s after eth0 returned", ms(r.takeover), back)
	} else {
		fmt.Fprintf(&b, "back as BACKUP %s after eth0 returned, failover on lb1's stop %s", back, ms(r.failover))
	}
	fmt.Fprintf(&b, "; held: %s; two holders at most %s; %d state changes of %s; same pid %v; ifindex %d→%d",
		r.holders, ms(r.dual), r.changes, []string{"lb1", "lb2"}[r.c.victim], r.samePID, r.index[0], r.index[1])
	return b.String()
}

// TestFaultInterfaceRecreated runs each case on a hawatch pair and on a
// keepalived 2.2.7 pair and prints the two side by side; only hawatch's
// recovery and safety are asserted.
func TestFaultInterfaceRecreated(t *testing.T) {
	needRoot(t)
	cases := []ifaceCase{
		{name: "master-recreated", victim: 0},
		{name: "master-renamed", victim: 0, rename: true},
		{name: "backup-recreated", victim: 1},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vrid := 90 + 2*i
			vip := netip.MustParsePrefix(fmt.Sprintf("198.51.100.%d/24", vrid))
			h := ifaceHawatch(t, c, vrid, vip)
			assertIfaceRun(t, h)
			kvrid := vrid + 1
			k := ifaceKeepalived(t, c, kvrid, netip.MustParsePrefix(fmt.Sprintf("198.51.100.%d/24", kvrid)))
			faultLine(t, "6-iface-"+c.name, h.String(), k.String())
		})
	}
}

// assertIfaceRun checks what the figures of a hawatch run must show.
func assertIfaceRun(t *testing.T, r ifaceRun) {
	t.Helper()
	mdi2, _ := rfcTimes(faultInterval, faultPrio[1])
	mdi1, _ := rfcTimes(faultInterval, faultPrio[0])
	if r.index[0] == r.index[1] {
		t.Errorf("eth0 kept index %d: the scenario did not re-create it", r.index[0])
	}
	if !r.samePID {
		t.Error("the victim's daemon did not survive (another pid, or exited)")
	}
	// A hand-over shows both holders for the moment the old master needs
	// to hear the new one's first advert; never for an advert interval.
	if r.dual > faultInterval {
		t.Errorf("two holders for %v, want less than one advert interval (%v)", r.dual, faultInterval)
	}
	if r.c.victim == 0 {
		// The master's resign cannot go out on a missing or down link:
		// lb2 takes over on its Master_Down_Timer.
		if r.takeover > mdi2+loadSlack {
			t.Errorf("lb2 took over %v after lb1's eth0 went, want within Master_Down_Interval %v + %v", r.takeover, mdi2, loadSlack)
		}
		// Back: the link event, sockets and VIP manager re-bound, BACKUP,
		// then lb1's own Master_Down_Timer (it preempts lb2's lower
		// priority) and the address add.
		if !r.backOK || r.back > mdi1+2*loadSlack {
			t.Errorf("lb1 holds the VIP again %v after eth0 returned (ok %v), want within Master_Down_Interval %v + %v", r.back, r.backOK, mdi1, 2*loadSlack)
		}
	} else {
		if !r.backOK || r.back > 2*loadSlack {
			t.Errorf("lb2 BACKUP again %v after eth0 returned (ok %v), want within %v", r.back, r.backOK, 2*loadSlack)
		}
		if r.failover > mdi2+loadSlack {
			t.Errorf("lb2 took over %v after lb1 stopped, want within Master_Down_Interval %v + %v", r.failover, mdi2, loadSlack)
		}
	}
}

// ifaceHawatch runs c on a hawatch pair.
func ifaceHawatch(t *testing.T, c ifaceCase, vrid int, vip netip.Prefix) ifaceRun {
	lab := netlab.New(t, netlab.Options{Nodes: 2})
	lb := [2]*netlab.Node{lab.Nodes[0], lab.Nodes[1]}
	d1, d2 := startFaultPair(t, lb[0], lb[1], vip,
		faultInstance(vrid, faultPrio[0], vip, "").String(), faultInstance(vrid, faultPrio[1], vip, "").String())
	victim := [2]*daemon{d1, d2}[c.victim]
	pid := victim.proc.PID()
	changes := func() int { return len(victim.logLines("state change")) }
	before := changes()

	r := ifaceRun{c: c}
	s := sampleHolders(t, vip, lb)
	gone := ifaceRemove(t, lab, lb[c.victim], c.rename, &r)
	waitState(t, victim, "FAULT", 5*time.Second)
	ifaceLinkTrackDown(t, victim)
	if c.victim == 0 {
		waitVIP(t, lb[1], vip, true, 5*time.Second)
		r.takeover = ifaceSince(t, s, 1, gone)
	}
	time.Sleep(time.Until(gone.Add(ifaceGone)))
	if st := victim.mustStatus(); st.Instances[0].State != "FAULT" {
		t.Errorf("%s: %s with eth0 missing, want FAULT", lb[c.victim], st.Instances[0].State)
	}
	back := time.Now()
	r.index[1] = lab.AddLink(t, lb[c.victim])
	if c.victim == 0 {
		if _, r.backOK = ifaceWaitVIP(lb[0], vip, 10*time.Second); r.backOK {
			r.back = ifaceSince(t, s, 0, back)
		}
	} else {
		_, r.backOK = ifaceWaitState(victim, "BACKUP", 10*time.Second)
		r.back = time.Since(back)
	}
	exactlyOne(t, vip, lb[0], time.Second, lb[0], lb[1])
	// The pair's backup hears the master's adverts: lb2's socket gets lb1's
	// after lb1's eth0 came back, or lb2's new socket after its own did.
	ifaceHears(t, d2, lb[0])
	stopped := time.Now()
	if c.victim == 1 {
		d1.stop()
		waitVIP(t, lb[1], vip, true, 5*time.Second)
		r.failover = ifaceSince(t, s, 1, stopped)
	}
	log := s.finish(t)
	r.dual = ifaceDual(log)
	r.holders = ifaceHolders(log, gone)
	r.changes = changes() - before
	r.samePID = victim.proc.PID() == pid && !victim.proc.Exited()
	if c.victim == 1 {
		if n, all := log.until(stopped).count(0), len(log.until(stopped)); n != all {
			t.Errorf("lb1 held the VIP in %d of %d samples while lb2's eth0 went and came back, want all", n, all)
		}
	} else if n := log.from(gone.Add(faultInterval)).until(back).count(0); n != 0 {
		t.Errorf("lb1 held the VIP in %d samples while its eth0 was missing (left on the renamed device?)", n)
	}
	return r
}

// ifaceKeepalived runs c on a keepalived 2.2.7 pair; nothing is asserted.
func ifaceKeepalived(t *testing.T, c ifaceCase, vrid int, vip netip.Prefix) ifaceRun {
	lab := netlab.New(t, netlab.Options{Nodes: 2})
	lb := [2]*netlab.Node{lab.Nodes[0], lab.Nodes[1]}
	k1, k2 := startKeepalivedFaultPair(t, lb[0], lb[1], vrid, vip)
	k := [2]*netlab.Proc{k1, k2}
	victim := k[c.victim]
	pid := victim.PID()
	entering := func() int { return strings.Count(victim.Output(), "Entering ") }
	before := entering()

	r := ifaceRun{c: c}
	s := sampleHolders(t, vip, lb)
	gone := ifaceRemove(t, lab, lb[c.victim], c.rename, &r)
	if c.victim == 0 {
		if _, ok := ifaceWaitVIP(lb[1], vip, 5*time.Second); ok {
			r.takeover = ifaceSince(t, s, 1, gone)
		}
	}
	time.Sleep(time.Until(gone.Add(ifaceGone)))
	back := time.Now()
	backups := strings.Count(victim.Output(), "Entering BACKUP")
	r.index[1] = lab.AddLink(t, lb[c.victim])
	if c.victim == 0 {
		if _, r.backOK = ifaceWaitVIP(lb[0], vip, 10*time.Second); r.backOK {
			r.back = ifaceSince(t, s, 0, back)
		}
	} else {
		r.backOK = ifaceWaitFor(10*time.Second, func() bool { return strings.Count(victim.Output(), "Entering BACKUP") > backups })
		r.back = time.Since(back)
	}
	if c.victim == 1 {
		time.Sleep(time.Second)
		stopped := time.Now()
		if err := k1.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if _, ok := ifaceWaitVIP(lb[1], vip, 5*time.Second); ok {
			r.failover = ifaceSince(t, s, 1, stopped)
		}
	} else {
		time.Sleep(time.Second)
	}
	log := s.finish(t)
	r.dual = ifaceDual(log)
	r.holders = ifaceHolders(log, gone)
	r.changes = entering() - before
	r.samePID = victim.PID() == pid && !victim.Exited()
	return r
}

// ifaceRemove takes n's eth0 away (deleted, or renamed to eth0old) and
// returns when it began; r gets eth0's index before.
func ifaceRemove(t *testing.T, lab *netlab.Lab, n *netlab.Node, rename bool, r *ifaceRun) time.Time {
	t.Helper()
	index, err := n.LinkIndex("eth0")
	if err != nil {
		t.Fatal(err)
	}
	r.index[0] = index
	gone := time.Now()
	if rename {
		lab.RenameLink(t, n, "eth0old")
	} else {
		lab.DeleteLink(t, n)
	}
	return gone
}

// ifaceLinkTrackDown checks that a FAULT instance says why: its interface
// track is down.
func ifaceLinkTrackDown(t *testing.T, d *daemon) {
	t.Helper()
	in := d.mustStatus().Instances[0]
	for _, l := range in.Ledger {
		if l.Check == "link:eth0" && !l.Up {
			return
		}
	}
	t.Errorf("%s: %s, ledger %+v: want the link:eth0 track down", d.node.Name, in.State, in.Ledger)
}

// ifaceHears checks that d's instance hears from's adverts: from is its
// master and the received counter moves.
func ifaceHears(t *testing.T, d *daemon, from *netlab.Node) {
	t.Helper()
	first := d.mustStatus().Instances[0].Stats
	time.Sleep(10 * faultInterval)
	last := d.mustStatus().Instances[0].Stats
	if last.MasterAddr != from.Addr4.String() || last.AdvertsReceived < first.AdvertsReceived+5 {
		t.Errorf("%s: master %s, %d adverts received in %v; want %s's adverts, about one per interval",
			d.node.Name, last.MasterAddr, last.AdvertsReceived-first.AdvertsReceived, 10*faultInterval, from)
	}
}

// ifaceWaitVIP polls n for p on any interface; it reports how long it took
// and whether p appeared within timeout.
func ifaceWaitVIP(n *netlab.Node, p netip.Prefix, timeout time.Duration) (time.Duration, bool) {
	start := time.Now()
	ok := ifaceWaitFor(timeout, func() bool {
		has, err := n.HasAddr("eth0", p)
		return err == nil && has
	})
	return time.Since(start), ok
}

func ifaceWaitState(d *daemon, want string, timeout time.Duration) (time.Duration, bool) {
	start := time.Now()
	ok := ifaceWaitFor(timeout, func() bool {
		st, err := d.status()
		return err == nil && len(st.Instances) > 0 && st.Instances[0].State == want
	})
	return time.Since(start), ok
}

// ifaceWaitFor polls cond every 5 ms until it holds (true) or timeout.
func ifaceWaitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// ifaceSince is the time from t0 to the first sample in which node i
// holds the VIP (the caller saw it hold: the sampler follows within a
// sample).
func ifaceSince(t *testing.T, s *sampler, i int, t0 time.Time) time.Duration {
	t.Helper()
	var at time.Time
	if !ifaceWaitFor(time.Second, func() bool {
		var ok bool
		at, ok = s.snapshot().from(t0).first(i, true)
		return ok
	}) {
		t.Fatalf("lb%d never held the VIP after %s", i+1, t0.Format("15:04:05.000"))
	}
	return at.Sub(t0)
}

// ifaceDual is the longest stretch with two holders.
func ifaceDual(l holderLog) time.Duration {
	_, longest := l.dual()
	return longest
}

// ifaceHolders writes who held the VIP over the run, each change with its
// time from t0: "lb1 → lb2 +372 ms → lb1 +2.1 s".
func ifaceHolders(l holderLog, t0 time.Time) string {
	who := func(s holderSample) string {
		switch {
		case s.held[0] && s.held[1]:
			return "both"
		case s.held[0]:
			return "lb1"
		case s.held[1]:
			return "lb2"
		}
		return "none"
	}
	var parts []string
	last := ""
	for _, s := range l {
		if w := who(s); w != last {
			if last == "" {
				parts = append(parts, w)
			} else {
				parts = append(parts, fmt.Sprintf("%s %+.2fs", w, s.at.Sub(t0).Seconds()))
			}
			last = w
		}
	}
	return strings.Join(parts, " → ")
}
