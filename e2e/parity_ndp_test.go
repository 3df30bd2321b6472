package e2e

// Issue 14: the split-brain guard for IPv6. A VRRPv3 IPv6 pair whose VRRP
// path is cut both ways elects two masters; the guard's neighbour
// solicitation shows each the other owner, the advert watcher hears the
// other's IPv6 adverts below the cut, and the lower priority yields.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hawatch/hawatch/internal/netlab"
)

// ndpGuardInterval is the guard's check interval in this test.
const ndpGuardInterval = 200 * time.Millisecond

// guard6Check renders the split-brain guard for an IPv6 VIP: no peer_app,
// the other owner's VIP answer and adverts are the whole evidence.
func guard6Check(vip string, vrid int) string {
	return fmt.Sprintf(`check "split_brain" {
  plugin   = "splitbrain"
  interval = %q
  config {
    interface = "eth0"
    vip       = %q
    vrid      = %d
  }
}
`, ndpGuardInterval.String(), vip, vrid)
}

// TestSplitBrainGuardYieldsIPv6: VRRP (IPv6, next header 112) is dropped
// both ways between lb1 (100) and lb2 (50). lb2 becomes master too; within
// 3 guard intervals of that there is one owner again, lb1, and it stays so
// while the cut lasts. Lifting the cut heals alone: lb1 master, lb2 backup,
// the client's neighbour entry on lb1, and lb2 can still take over.
func TestSplitBrainGuardYieldsIPv6(t *testing.T) {
	needRoot(t)
	lab := netlab.New(t, netlab.Options{Nodes: 2, IPv6: true})
	lb1, lb2, client := lab.Nodes[0], lab.Nodes[1], lab.Client
	base := instance{vrid: 66, version: 3, interval: "100ms", vips: []string{"2001:db8::50/64"},
		extra: "  track \"split_brain\" { effect = \"yield\" }\n"}
	vip := vipOf(base)
	mdi, skew := rfcTimes(100*time.Millisecond, 50)
	body := func(prio int) string {
		i := base
		i.prio = prio
		return pluginDecl("splitbrain", "") + guard6Check(vip.Addr().String(), base.vrid) + i.String()
	}
	d2 := startDaemon(t, lb2, body(50))
	d1 := startDaemon(t, lb1, body(100))
	waitVIP(t, lb1, vip, true, 10*time.Second)
	waitState(t, d1, "MASTER", 5*time.Second)
	waitState(t, d2, "BACKUP", 5*time.Second)
	exactlyOne(t, vip, lb1, time.Second, lb1, lb2)

	// The client resolves the VIP now, so the announcements of the split
	// brain (lb2's, then lb1's again) have an entry to move.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := client.Exec(ctx, "ping", "-6", "-c", "1", "-W", "2", vip.Addr().String()); err != nil {
		t.Fatal(err)
	}
	if got := neighMAC(t, client, vip.Addr()); got != lb1.MAC.String() {
		t.Fatalf("client neighbour entry for the VIP = %s before the cut, want lb1's %s", got, lb1.MAC)
	}
	m1, b1, m2, b2 := d1.transitions("MASTER"), d1.transitions("BACKUP"), d2.transitions("MASTER"), d2.transitions("BACKUP")

	blocked := time.Now()
	lab.BlockVRRP(t, lb1, lb2)
	lab.BlockVRRP(t, lb2, lb1)

	// lb2 no longer hears lb1: master after Master_Down_Interval, and from
	// then on two nodes own the VIP.
	waitVIP(t, lb2, vip, true, mdi+2*time.Second)
	twoOwners := time.Now()
	t.Logf("lb2 took the VIP %v after the cut (Master_Down_Interval %v, Skew_Time %v)",
		twoOwners.Sub(blocked).Round(time.Millisecond), mdi, skew)
	// One owner again within 3 guard intervals: lb2's guard sees lb1's
	// advertisement for the VIP and, below the cut, lb1's adverts.
	bound := 3 * ndpGuardInterval
	waitVIP(t, lb2, vip, false, bound+2*time.Second)
	took := time.Since(twoOwners)
	if !hasVIP(t, lb1, vip) {
		t.Fatal("lb1 lost the VIP during the split brain: zero owners")
	}
	logged := "?"
	if ms, bs := stateTimes(t, d2, "MASTER"), stateTimes(t, d2, "BACKUP"); len(ms) > m2 && len(bs) > b2 {
		logged = bs[len(bs)-1].Sub(ms[len(ms)-1]).String()
	}
	t.Logf("IPv6 split brain: one owner again %v after the second took the VIP (bound 3 guard intervals = %v; lb2's log MASTER→BACKUP %s)",
		took.Round(time.Millisecond), bound, logged)
	if took > bound {
		t.Errorf("two owners for %v, want one within 3 guard intervals (%v)", took, bound)
	}
	st2 := d2.mustStatus()
	if st2.Instances[0].State != "BACKUP" {
		t.Errorf("lb2 state %s while yielding, want BACKUP", st2.Instances[0].State)
	}
	for _, c := range st2.Checks {
		if c.Name != "split_brain" {
			continue
		}
		// The guard names lb1's MAC and carries lb1's IPv6 adverts as the
		// evidence the engine yields to.
		if c.Status != "fail" || c.Detail["other_mac"] != lb1.MAC.String() || c.Detail["heard_from"] != lb1.LinkLocal.String() ||
			c.Detail["heard_priority"] != "100" || !strings.HasPrefix(c.Detail["ns_source"], "fe80:") {
			t.Errorf("lb2 guard during the split: %s %q %v; want fail naming lb1 (%s, heard from %s, priority 100), probing from its link-local",
				c.Status, c.Reason, c.Detail, lb1.MAC, lb1.LinkLocal)
		}
	}

	// The cut holds: lb1 alone owns the VIP, nobody flaps.
	exactlyOne(t, vip, lb1, 3*time.Second, lb1, lb2)
	if n := d2.transitions("MASTER") - m2; n != 1 {
		t.Errorf("lb2 became master %d times during the cut, want 1", n)
	}
	if n := d1.transitions("MASTER") + d1.transitions("BACKUP") - m1 - b1; n != 0 {
		t.Errorf("lb1 made %d transitions during the split brain", n)
	}
	if drops, err := lb1.VRRPDrops(); err != nil || drops == 0 {
		t.Errorf("lb1 dropped %d VRRP packets (err %v): the cut did not work", drops, err)
	}

	// Heal: nobody steps in; one owner, the configured master.
	if err := lab.UnblockVRRP(lb1, lb2); err != nil {
		t.Fatal(err)
	}
	if err := lab.UnblockVRRP(lb2, lb1); err != nil {
		t.Fatal(err)
	}
	exactlyOne(t, vip, lb1, 2*time.Second, lb1, lb2)
	waitState(t, d1, "MASTER", time.Second)
	waitState(t, d2, "BACKUP", time.Second)
	if n := d2.transitions("MASTER") - m2; n != 1 {
		t.Errorf("lb2 became master %d times in all, want the one of the cut", n)
	}
	if n := d2.transitions("BACKUP") - b2; n != 1 {
		t.Errorf("lb2 made %d BACKUP transitions in all, want the one yield", n)
	}
	if got := neighMAC(t, client, vip.Addr()); got != lb1.MAC.String() {
		t.Errorf("client neighbour entry for the VIP = %s after the heal, want lb1's %s", got, lb1.MAC)
	}
	// The yield must not outlive the split brain: lb2 still takes over.
	stopped := time.Now()
	d1.stop()
	waitVIP(t, lb2, vip, true, 2*time.Second)
	t.Logf("lb2 took over %v after lb1's SIGTERM (after the split brain)", time.Since(stopped).Round(time.Millisecond))
}
