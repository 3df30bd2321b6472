package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hawatch/hawatch/core/control"
	"github.com/hawatch/hawatch/internal/netlab"
)

// Link tracking parity (issue 14): a master whose link fails goes FAULT,
// and the backup owns the VIP within the bound; the link back, the master
// returns to BACKUP and preempts; 50 down/up flaps inside the interface's
// debounce move nothing. The same with a track_interface on a second
// interface of the master (a veth pair inside its namespace: eth1 set
// down, or its peer eth1p set down so eth1 loses its carrier). Fault pairs
// as in the fault suite: v3, 100 ms adverts, lb1 priority 150, lb2 100.
//
// Bounds (the issue's): when the master can still send on its own
// interface (a tracked other interface failed) it resigns with priority 0
// and lb2 takes over at Skew_Time; when its own interface is down or has
// lost its carrier nothing it sends arrives, and lb2 takes over on its
// Master_Down_Timer. Either within linkSlack. Two cases run on a
// keepalived 2.2.7 pair too, at the same time, and the lines print both.
// Run them alone with
//
//	go test -count=1 -v -run TestParityLink ./e2e

// linkSlack is the margin over the RFC time.
const linkSlack = 20 * time.Millisecond

// linkLoadSlack widens the assertion beyond the bound on a crowded
// machine (the fault line says whether the bound itself held). It
// stays far below Master_Down_Interval - Skew_Time (300 ms), so a master
// that failed to resign with priority 0 still fails the tracked cases.
const linkLoadSlack = 30 * time.Millisecond

// linkFlaps and their shape: each flap is down for linkFlapDown, then up
// for a random 25-55 ms, all inside the interface's 150 ms down_delay. The
// up time is random so the flaps never beat in step with the 100 ms
// adverts: a master whose own link is down cannot advertise, and flaps
// that caught every advert (a 50 ms period would) starve the backup into
// taking over, whatever the master's debounce.
const (
	linkFlaps    = 50
	linkFlapDown = 3 * time.Millisecond
	linkDebounce = "150ms"
)

// linkFault is one way a link fails.
type linkFault int

const (
	ownDown        linkFault = iota // ip link set eth0 down on the master
	ownCarrier                      // the bridge end of the master's eth0 down: eth0 up without carrier
	trackedDown                     // the master's tracked eth1 set down
	trackedCarrier                  // eth1's veth peer set down: eth1 up without carrier
)

func (f linkFault) String() string {
	return [...]string{"own-down", "own-carrier", "tracked-down", "tracked-carrier"}[f]
}

func (f linkFault) tracked() bool { return f == trackedDown || f == trackedCarrier }

// set fails (up false) or restores the link.
func (f linkFault) set(lab *netlab.Lab, lb1 *netlab.Node, up bool) error {
	switch f {
	case ownDown:
		return lb1.SetLink("eth0", up)
	case ownCarrier:
		return lab.Carrier(lb1, up)
	case trackedDown:
		return lb1.SetLink("eth1", up)
	default:
		return lb1.SetLink("eth1p", up)
	}
}

// bound is the takeover bound for the fault.
func (f linkFault) bound() time.Duration {
	mdi, skew := rfcTimes(faultInterval, faultPrio[1])
	if f.tracked() {
		return skew + linkSlack
	}
	return mdi + linkSlack
}

// linkCase is one case: a fault held (flaps false) or 50 flaps inside
// the debounce.
type linkCase struct {
	fault      linkFault
	flaps      bool
	nopreempt  bool // lb1 has preempt = false: it stays BACKUP once the link is back
	keepalived bool // run on a keepalived pair instead
}

func (c linkCase) name() string {
	n := c.fault.String()
	if c.flaps {
		n += "-flaps"
	}
	if c.nopreempt {
		n += "-nopreempt"
	}
	if c.keepalived {
		n = "keepalived-" + n
	}
	return n
}

// linkRun is what one case measured.
type linkRun struct {
	c        linkCase
	takeover time.Duration // fault → lb2 holds the VIP
	back     time.Duration // link restored → lb1 holds the VIP again
	backOK   bool
	dual     time.Duration // longest stretch with two holders
	changes  [2]int        // state changes of lb1, lb2 over the fault or the flaps
	flapped  time.Duration // how long the 50 flaps took
	lost     [2]int        // flaps: samples in which lb1 lacked the VIP, lb2 had it
}

func (r linkRun) String() string {
	if r.c.flaps {
		return fmt.Sprintf("%d flaps in %s: state changes lb1 %d lb2 %d; samples lb1 without VIP %d, lb2 with %d",
			linkFlaps, ms(r.flapped), r.changes[0], r.changes[1], r.lost[0], r.lost[1])
	}
	back := "never (within 10 s)"
	switch {
	case r.c.nopreempt && !r.backOK:
		back = "not (nopreempt: lb1 stays BACKUP)"
	case r.backOK:
		back = ms(r.back)
	}
	within := "within"
	if r.takeover > r.c.fault.bound() {
		within = "OVER"
	}
	return fmt.Sprintf("takeover %s (%s bound %s), lb1 master again %s after the link returned; two holders at most %s; state changes lb1 %d lb2 %d",
		ms(r.takeover), within, ms(r.c.fault.bound()), back, ms(r.dual), r.changes[0], r.changes[1])
}

// TestParityLink runs every case at once, each in its own lab.
func TestParityLink(t *testing.T) {
	needRoot(t)
	cases := []linkCase{
		{fault: ownDown}, {fault: ownCarrier}, {fault: trackedDown}, {fault: trackedCarrier},
		{fault: ownDown, flaps: true}, {fault: trackedDown, flaps: true},
		{fault: trackedCarrier, nopreempt: true},
		{fault: ownCarrier, keepalived: true}, {fault: trackedDown, keepalived: true},
		{fault: ownDown, flaps: true, keepalived: true}, {fault: trackedDown, flaps: true, keepalived: true},
	}
	names := make([]string, len(cases))
	for i, c := range cases {
		names[i] = c.name()
	}
	runs := make([]linkRun, len(cases))
	start := time.Now()
	runAll(t, names, func(t *testing.T, i int) {
		c := cases[i]
		vrid := 110 + i
		vip := netip.MustParsePrefix(fmt.Sprintf("198.51.100.%d/24", vrid))
		switch {
		case c.keepalived && c.flaps:
			runs[i] = linkFlapsKeepalived(t, c, vrid, vip)
		case c.keepalived:
			runs[i] = linkKeepalived(t, c, vrid, vip)
		case c.flaps:
			runs[i] = linkFlapsHawatch(t, c, vrid, vip)
		default:
			runs[i] = linkHawatch(t, c, vrid, vip)
		}
	})
	t.Logf("wall time %v", time.Since(start).Round(time.Second))
	for i, c := range cases {
		if c.keepalived {
			continue
		}
		ka := "not run"
		for j, k := range cases {
			if k.keepalived && k.fault == c.fault && k.flaps == c.flaps && !c.nopreempt {
				ka = runs[j].String()
			}
		}
		faultLine(t, "link-"+c.name(), runs[i].String(), ka)
	}
}

// linkLab builds a lab for c, with the second interface when c tracks
// one.
func linkLab(t *testing.T, c linkCase) (*netlab.Lab, [2]*netlab.Node) {
	t.Helper()
	lab := netlab.New(t, netlab.Options{Nodes: 2})
	lb := [2]*netlab.Node{lab.Nodes[0], lab.Nodes[1]}
	if c.fault.tracked() {
		if err := lb[0].AddVethPair("eth1", "eth1p"); err != nil {
			t.Fatal(err)
		}
	}
	return lab, lb
}

// linkPolicies are lb1's and lb2's policies for c: lb1 tracks eth1 when
// the fault is on it, and debounces the flapped interface in a flaps case.
func linkPolicies(c linkCase, vrid int, vip netip.Prefix) (string, string) {
	extra := ""
	if c.fault.tracked() {
		extra = "  track_interface \"eth1\" {}\n"
	}
	i1 := faultInstance(vrid, faultPrio[0], vip, extra)
	i1.nopreempt = c.nopreempt
	p1 := i1.String()
	if c.flaps {
		p1 += fmt.Sprintf("interface %q {\n  down_delay = %q\n}\n", flapIface(c), linkDebounce)
	}
	return p1, faultInstance(vrid, faultPrio[1], vip, "").String()
}

// linkHawatch holds c's fault on the master of a hawatch pair, then
// restores the link.
func linkHawatch(t *testing.T, c linkCase, vrid int, vip netip.Prefix) linkRun {
	lab, lb := linkLab(t, c)
	p1, p2 := linkPolicies(c, vrid, vip)
	d1, d2 := startFaultPair(t, lb[0], lb[1], vip, p1, p2)
	before := [2]int{stateChanges(d1), stateChanges(d2)}
	r := linkRun{c: c}
	s := sampleHolders(t, vip, lb)

	failed := time.Now()
	if err := c.fault.set(lab, lb[0], false); err != nil {
		t.Fatal(err)
	}
	waitState(t, d1, "FAULT", 5*time.Second)
	waitVIP(t, lb[1], vip, true, 5*time.Second)
	r.takeover = ifaceSince(t, s, 1, failed)
	link := "link:eth0"
	if c.fault.tracked() {
		link = "link:eth1"
	}
	if e := ledgerEntry(t, d1, link); e.Up {
		t.Errorf("lb1's %s track is up with the link failed: %+v", link, e)
	}
	time.Sleep(5 * faultInterval)

	restored := time.Now()
	if err := c.fault.set(lab, lb[0], true); err != nil {
		t.Fatal(err)
	}
	owner := lb[0]
	if c.nopreempt {
		waitState(t, d1, "BACKUP", 5*time.Second)
		owner = lb[1]
	} else if _, r.backOK = ifaceWaitVIP(lb[0], vip, 10*time.Second); r.backOK {
		r.back = ifaceSince(t, s, 0, restored)
	}
	exactlyOne(t, vip, owner, time.Second, lb[0], lb[1])
	log := s.finish(t)
	r.dual = ifaceDual(log)
	r.changes = [2]int{stateChanges(d1) - before[0], stateChanges(d2) - before[1]}

	if r.takeover > c.fault.bound()+linkLoadSlack {
		t.Errorf("lb2 owned the VIP %v after the fault, want within %v (+ %v for load)", r.takeover, c.fault.bound(), linkLoadSlack)
	}
	if n := log.from(failed.Add(faultInterval)).until(restored).count(0); n != 0 {
		t.Errorf("lb1 held the VIP in %d samples while its link was failed", n)
	}
	if r.dual > faultInterval {
		t.Errorf("two holders for %v, want less than one advert interval", r.dual)
	}
	if c.nopreempt {
		// lb1: MASTER→FAULT→BACKUP; lb2: BACKUP→MASTER, and it keeps the VIP.
		if n := log.from(restored).count(0); n != 0 || r.changes != [2]int{2, 1} {
			t.Errorf("nopreempt: lb1 held the VIP in %d samples after the link returned, state changes lb1 %d lb2 %d; want 0, 2 and 1", n, r.changes[0], r.changes[1])
		}
		return r
	}
	mdi1, _ := rfcTimes(faultInterval, faultPrio[0])
	if !r.backOK || r.back > mdi1+loadSlack {
		t.Errorf("lb1 master again %v after the link returned (ok %v), want within its Master_Down_Interval %v + %v", r.back, r.backOK, mdi1, loadSlack)
	}
	// lb1: MASTER→FAULT→BACKUP→MASTER; lb2: BACKUP→MASTER→BACKUP.
	if r.changes != [2]int{3, 2} {
		t.Errorf("state changes lb1 %d, lb2 %d; want 3 (MASTER→FAULT→BACKUP→MASTER) and 2", r.changes[0], r.changes[1])
	}
	return r
}

// linkFlapsHawatch flaps c's link 50 times inside its debounce.
func linkFlapsHawatch(t *testing.T, c linkCase, vrid int, vip netip.Prefix) linkRun {
	_, lb := linkLab(t, c)
	p1, p2 := linkPolicies(c, vrid, vip)
	d1, d2 := startFaultPair(t, lb[0], lb[1], vip, p1, p2)
	before := [2]int{stateChanges(d1), stateChanges(d2)}
	r := linkRun{c: c}
	ifname := flapIface(c)
	s := sampleHolders(t, vip, lb)
	r.flapped = linkFlap(t, lb[0], ifname)
	log := s.finish(t)
	r.changes = [2]int{stateChanges(d1) - before[0], stateChanges(d2) - before[1]}
	r.lost = [2]int{len(log) - log.count(0), log.count(1)}
	// The debounce is lb1's: it must never move. lb2 is held to it only
	// when the flaps are on a tracked interface: while the master's own
	// link is down its adverts are lost, and after each flap the bridge
	// forwards from its port again only once the kernel's link watcher
	// has seen the carrier (batched, up to a second later), so an unlucky
	// run starves the backup whatever the master does (keepalived's pair
	// has shown it too). lb2's count is then a figure in the line.
	if r.changes[0] != 0 || r.lost[0] != 0 {
		t.Errorf("%d flaps of %s inside its %s debounce: lb1 changed state %d times and lacked the VIP in %d samples; want 0 and 0",
			linkFlaps, ifname, linkDebounce, r.changes[0], r.lost[0])
	}
	if c.fault != ownDown && (r.changes[1] != 0 || r.lost[1] != 0) {
		t.Errorf("%d flaps of tracked %s: lb2 changed state %d times and held the VIP in %d samples; want 0 and 0",
			linkFlaps, ifname, r.changes[1], r.lost[1])
	}
	if e := ledgerEntry(t, d1, "link:"+ifname); !e.Up || !e.Settles.IsZero() {
		t.Errorf("lb1's link:%s track after the flaps: %+v, want up with nothing waiting", ifname, e)
	}
	return r
}

// linkKeepalived holds c's fault on the master of a keepalived 2.2.7 pair
// and restores it; only figures, nothing asserted.
func linkKeepalived(t *testing.T, c linkCase, vrid int, vip netip.Prefix) linkRun {
	lab, lb := linkLab(t, c)
	kc1 := faultKeepalived(vrid, faultPrio[0], vip)
	if c.fault.tracked() {
		kc1.Extra = []string{"track_interface {\n        eth1\n    }"}
	}
	k1 := netlab.StartKeepalived(t, lb[0], kc1)
	waitVIP(t, lb[0], vip, true, 10*time.Second)
	k2 := netlab.StartKeepalived(t, lb[1], faultKeepalived(vrid, faultPrio[1], vip))
	time.Sleep(time.Second)
	exactlyOne(t, vip, lb[0], 500*time.Millisecond, lb[0], lb[1])
	entering := func(p *netlab.Proc) int { return strings.Count(p.Output(), "Entering ") }
	before := [2]int{entering(k1), entering(k2)}
	r := linkRun{c: c}
	s := sampleHolders(t, vip, lb)
	failed := time.Now()
	if err := c.fault.set(lab, lb[0], false); err != nil {
		t.Fatal(err)
	}
	waitVIP(t, lb[1], vip, true, 5*time.Second)
	r.takeover = ifaceSince(t, s, 1, failed)
	time.Sleep(5 * faultInterval)
	restored := time.Now()
	if err := c.fault.set(lab, lb[0], true); err != nil {
		t.Fatal(err)
	}
	if _, r.backOK = ifaceWaitVIP(lb[0], vip, 10*time.Second); r.backOK {
		r.back = ifaceSince(t, s, 0, restored)
	}
	time.Sleep(500 * time.Millisecond)
	r.dual = ifaceDual(s.finish(t))
	r.changes = [2]int{entering(k1) - before[0], entering(k2) - before[1]}
	return r
}

// ledgerEntry is the first instance's ledger line for check.
func ledgerEntry(t *testing.T, d *daemon, check string) control.LedgerEntry {
	t.Helper()
	for _, e := range d.mustStatus().Instances[0].Ledger {
		if e.Check == check {
			return e
		}
	}
	t.Fatalf("%s: no %s line in the ledger", d.node.Name, check)
	return control.LedgerEntry{}
}

// flapIface is the interface c's flaps are on.
func flapIface(c linkCase) string {
	if c.fault.tracked() {
		return "eth1"
	}
	return "eth0"
}

// linkFlap sets ifname down and up linkFlaps times, then waits longer
// than the debounce and a Master_Down_Interval, so whatever the flaps set
// off has shown. It returns how long the flaps took.
func linkFlap(t *testing.T, n *netlab.Node, ifname string) time.Duration {
	t.Helper()
	lk, err := n.Linker()
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	start := time.Now()
	for i := range linkFlaps {
		if err := lk.Set(ifname, false); err != nil {
			t.Fatalf("flap %d: %v", i, err)
		}
		time.Sleep(linkFlapDown)
		if err := lk.Set(ifname, true); err != nil {
			t.Fatalf("flap %d: %v", i, err)
		}
		time.Sleep(time.Duration(25+rand.IntN(31)) * time.Millisecond)
	}
	took := time.Since(start)
	time.Sleep(time.Second)
	return took
}

// linkFlapsKeepalived flaps c's link on a keepalived 2.2.7 pair whose
// master debounces it with interface_up_down_delays; only figures.
func linkFlapsKeepalived(t *testing.T, c linkCase, vrid int, vip netip.Prefix) linkRun {
	_, lb := linkLab(t, c)
	ifname := flapIface(c)
	kc1 := faultKeepalived(vrid, faultPrio[0], vip)
	if c.fault.tracked() {
		kc1.Extra = []string{"track_interface {\n        eth1\n    }"}
	}
	delay, _ := time.ParseDuration(linkDebounce)
	kc1.TopLevel = []string{fmt.Sprintf("interface_up_down_delays {\n    %s %g\n}", ifname, delay.Seconds())}
	k1 := netlab.StartKeepalived(t, lb[0], kc1)
	waitVIP(t, lb[0], vip, true, 10*time.Second)
	k2 := netlab.StartKeepalived(t, lb[1], faultKeepalived(vrid, faultPrio[1], vip))
	time.Sleep(time.Second)
	exactlyOne(t, vip, lb[0], 500*time.Millisecond, lb[0], lb[1])
	entering := func(p *netlab.Proc) int { return strings.Count(p.Output(), "Entering ") }
	before := [2]int{entering(k1), entering(k2)}
	r := linkRun{c: c}
	s := sampleHolders(t, vip, lb)
	r.flapped = linkFlap(t, lb[0], ifname)
	log := s.finish(t)
	r.changes = [2]int{entering(k1) - before[0], entering(k2) - before[1]}
	r.lost = [2]int{len(log) - log.count(0), log.count(1)}
	return r
}
