package engine

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hawatch/hawatch/core/config"
	"github.com/hawatch/hawatch/core/vrouter"
	"github.com/hawatch/hawatch/core/vrrp"
)

// ledgerLine is the instance's track of check in its ledger.
func ledgerLine(t *testing.T, in InstanceStatus, check string) vrouter.LedgerEntry {
	t.Helper()
	for _, l := range in.Ledger {
		if l.Check == check {
			return l
		}
	}
	t.Fatalf("no %s track in the ledger %+v", check, in.Ledger)
	return vrouter.LedgerEntry{}
}

// startTrackPair starts lb2 (priority 50) and lb1 (priority 100, links
// followed by fl, policy extra in its instance, top after it) and waits
// for lb1 to hold the VIPs.
func startTrackPair(t *testing.T, fl *fakeLinks, extra, top string) (lb1, lb2 *node) {
	t.Helper()
	l := &lan{}
	lb2 = startNode(t, l, "198.51.100.12", policy(50, ""), nil)
	lb1 = startNodeWith(t, l, "198.51.100.11", policy(100, extra)+top, Options{Links: fl})
	time.Sleep(5 * time.Second)
	if !lb1.vips.holds() || lb2.vips.holds() {
		t.Fatalf("before: lb1 holds %v, lb2 holds %v", lb1.vips.holds(), lb2.vips.holds())
	}
	return lb1, lb2
}

// TestLinkNoCarrier: an interface that is up but loses its carrier counts
// as down: the master goes FAULT and releases; the carrier back, it
// re-elects and preempts, without re-opening anything.
func TestLinkNoCarrier(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fl := newFakeLinks("eth0")
		lb1, lb2 := startTrackPair(t, fl, "", "")
		fl.set(LinkState{Name: "eth0", Index: 2, Up: true, NoCarrier: true})
		time.Sleep(time.Millisecond)
		in := lb1.instance(t, "VI_1")
		if in.State != vrrp.StateFault || lb1.vips.holds() {
			t.Fatalf("no carrier: lb1 %s, holds %v; want FAULT, released", in.State, lb1.vips.holds())
		}
		if e := ledgerLine(t, in, "link:eth0"); e.Up || e.Reason != "eth0 has no carrier" {
			t.Errorf("link track: %+v", e)
		}
		fl.set(LinkState{Name: "eth0", Index: 2, Up: true})
		time.Sleep(5 * time.Second)
		if !lb1.vips.holds() || lb2.vips.holds() {
			t.Fatalf("carrier back: lb1 holds %v, lb2 %v; want lb1 master again", lb1.vips.holds(), lb2.vips.holds())
		}
		if r := lb1.vips.count("rebind", ""); r != 0 {
			t.Errorf("%d rebinds for a carrier loss, want none", r)
		}
		lb1.stop(t)
		lb2.stop(t)
	})
}

// TestTrackInterfaceFault: a track_interface without weight faults the
// master when that interface goes down; the master can still send on its
// own interface, so it resigns with priority 0 and the backup takes over
// at Skew_Time, not Master_Down_Interval. Back up, lb1 preempts.
func TestTrackInterfaceFault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fl := newFakeLinks("eth0", "eth1")
		lb1, lb2 := startTrackPair(t, fl, `track_interface "eth1" {}`, "")
		fl.set(LinkState{Name: "eth1", Index: 3})
		time.Sleep(time.Millisecond)
		if in := lb1.instance(t, "VI_1"); in.State != vrrp.StateFault || lb1.vips.holds() {
			t.Fatalf("eth1 down: lb1 %s, holds %v; want FAULT, released", in.State, lb1.vips.holds())
		}
		skew := vrrp.SkewTime(3, 50, time.Second)
		if took := lb2.waitHeld(t, 10*time.Second); took > skew {
			t.Errorf("lb2 took over %v after lb1's tracked eth1 went down, want within Skew_Time %v (priority 0 advert)", took, skew)
		}
		fl.set(LinkState{Name: "eth1", Index: 3, Up: true})
		time.Sleep(time.Millisecond)
		if in := lb1.instance(t, "VI_1"); in.State != vrrp.StateBackup {
			t.Fatalf("eth1 up: lb1 %s, want BACKUP", in.State)
		}
		lb1.waitHeld(t, 10*time.Second)
		time.Sleep(time.Second)
		if lb2.vips.holds() {
			t.Error("lb2 still holds the VIPs after lb1 preempted")
		}
		lb1.stop(t)
		lb2.stop(t)
	})
}

// TestTrackInterfaceWeight: with a weight, a down interface moves the
// priority (keepalived: a negative weight while down) and the backup with
// the higher priority preempts; no FAULT.
func TestTrackInterfaceWeight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fl := newFakeLinks("eth0", "eth1")
		lb1, lb2 := startTrackPair(t, fl, `track_interface "eth1" { weight = -60 }`, "")
		fl.set(LinkState{Name: "eth1", Index: 3, Up: true, NoCarrier: true})
		time.Sleep(5 * time.Second)
		in := lb1.instance(t, "VI_1")
		if in.State != vrrp.StateBackup || in.EffectivePriority != 40 || !lb2.vips.holds() {
			t.Fatalf("eth1 without carrier: lb1 %s prio %d, lb2 holds %v; want BACKUP at 40, lb2 master", in.State, in.EffectivePriority, lb2.vips.holds())
		}
		if e := ledgerLine(t, in, "link:eth1"); e.Contribution != -60 || e.Effect != vrouter.EffectWeight {
			t.Errorf("eth1 track: %+v", e)
		}
		fl.set(LinkState{Name: "eth1", Index: 3, Up: true})
		time.Sleep(5 * time.Second)
		if !lb1.vips.holds() || lb2.vips.holds() {
			t.Fatalf("eth1 back: lb1 holds %v, lb2 %v; want lb1 to preempt", lb1.vips.holds(), lb2.vips.holds())
		}
		lb1.stop(t)
		lb2.stop(t)
	})
}

// TestLinkDebounce: with an interface block's delays, 50 flaps shorter
// than down_delay change nothing (no transition, the VIPs stay); a down
// that lasts faults at down_delay; back up, the instance leaves FAULT
// only after up_delay, and a flap inside up_delay restarts the wait but
// never leaves it in FAULT.
func TestLinkDebounce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fl := newFakeLinks("eth0", "eth1")
		lb1, lb2 := startTrackPair(t, fl, `track_interface "eth1" {}`,
			"interface \"eth1\" {\n  down_delay = \"300ms\"\n  up_delay = \"500ms\"\n}\n")
		before := lb1.instance(t, "VI_1").Transitions
		for range 50 {
			fl.set(LinkState{Name: "eth1", Index: 3})
			time.Sleep(100 * time.Millisecond)
			fl.set(LinkState{Name: "eth1", Index: 3, Up: true})
			time.Sleep(100 * time.Millisecond)
		}
		in := lb1.instance(t, "VI_1")
		if in.Transitions != before || in.State != vrrp.StateMaster || !lb1.vips.holds() || lb2.vips.holds() {
			t.Fatalf("50 flaps inside down_delay: lb1 %s, %d transitions (was %d); want MASTER, none", in.State, in.Transitions, before)
		}
		if e := ledgerLine(t, in, "link:eth1"); !e.Up || !e.Settles.IsZero() {
			t.Errorf("after the flaps: %+v, want up with nothing waiting", e)
		}

		start := time.Now()
		fl.set(LinkState{Name: "eth1", Index: 3})
		for lb1.instance(t, "VI_1").State != vrrp.StateFault {
			time.Sleep(time.Millisecond)
		}
		if took := time.Since(start); took != 300*time.Millisecond {
			t.Errorf("FAULT %v after eth1 went down, want at down_delay 300ms", took)
		}
		fl.set(LinkState{Name: "eth1", Index: 3, Up: true})
		time.Sleep(400 * time.Millisecond)
		fl.set(LinkState{Name: "eth1", Index: 3})
		time.Sleep(50 * time.Millisecond)
		start = time.Now()
		fl.set(LinkState{Name: "eth1", Index: 3, Up: true})
		for lb1.instance(t, "VI_1").State == vrrp.StateFault {
			if time.Since(start) > 10*time.Second {
				t.Fatal("lb1 stayed in FAULT after eth1 came back")
			}
			time.Sleep(time.Millisecond)
		}
		if took := time.Since(start); took != 500*time.Millisecond {
			t.Errorf("left FAULT %v after eth1 came back for good, want at up_delay 500ms", took)
		}
		lb1.stop(t)
		lb2.stop(t)
	})
}

// TestLinkReload: a reload that adds a track_interface (with blank lines
// moving every block down) keeps the instance's router; the new track
// starts from what the interface is now, so an eth1 that is already down
// faults the master at once, and removing the track again clears it.
func TestLinkReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fl := newFakeLinks("eth0", "eth1")
		fl.state["eth1"] = LinkState{Name: "eth1", Index: 3}
		lb1, lb2 := startTrackPair(t, fl, "", "")
		before := lb1.instance(t, "VI_1").Transitions
		next, diags := config.Parse([]byte("\n\n"+policy(100, `track_interface "eth1" {}`)), "next.hcl")
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		if err := lb1.eng.Reconfigure(context.Background(), next, nil, nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond) // the VIP worker releases
		in := lb1.instance(t, "VI_1")
		if in.State != vrrp.StateFault || in.Transitions != before+1 || lb1.vips.holds() {
			t.Fatalf("track_interface eth1 (down) added: %s after %d transitions (was %d); want FAULT, one transition, released", in.State, in.Transitions, before)
		}
		if e := ledgerLine(t, in, "link:eth1"); e.Up || e.Reason != "eth1 is down" {
			t.Errorf("new link:eth1 track: %+v", e)
		}
		back, diags := config.Parse([]byte(policy(100, "")), "back.hcl")
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		if err := lb1.eng.Reconfigure(context.Background(), back, nil, nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Second)
		if !lb1.vips.holds() || lb2.vips.holds() {
			t.Fatalf("track removed: lb1 holds %v, lb2 %v; want lb1 master again", lb1.vips.holds(), lb2.vips.holds())
		}
		lb1.stop(t)
		lb2.stop(t)
	})
}
