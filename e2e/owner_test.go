package e2e

// What the engine's pure layer changed that a client can see: an address
// owner never takes the node's own address away, and a takeover sends the
// configured announcement schedule exactly once.

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hawatch/hawatch/internal/netlab"
)

// TestAddressOwnerKeepsOwnAddress: lb1 is the address owner of its own
// 198.51.100.11 (priority 255). `hawatch demote`, `hawatch promote`, a
// FAULT (a weight-0 track file set to 1, then removed) and SIGTERM move its
// VRRP state, and the address stays on eth0 throughout: the client can
// ping lb1 after each step, lb1's MAC answering.
func TestAddressOwnerKeepsOwnAddress(t *testing.T) {
	needRoot(t)
	lab := netlab.New(t, netlab.Options{Nodes: 1})
	lb1, client := lab.Nodes[0], lab.Client
	own := lb1.Prefix4()
	flag := filepath.Join(t.TempDir(), "fault")
	inst := instance{vrid: 81, prio: 255, version: 3, interval: "100ms", vips: []string{own.String()},
		extra: "  address_owner = true\n  track_file \"fault\" {}\n"}
	d := startDaemon(t, lb1, fmt.Sprintf("track_file \"fault\" {\n  path = %q\n  weight = 0\n}\n", flag)+inst.String())
	d.waitState("MASTER", 5*time.Second)
	id := rand.IntN(0xffff) + 1
	w := vipWatchWire(t, client, own.Addr(), id)
	startVIPPinger(t, client, own.Addr(), id)

	answered := func(step string) {
		t.Helper()
		if !hasVIP(t, lb1, own) {
			t.Fatalf("after %s: lb1's own address %s is gone from eth0", step, own)
		}
		if _, _, ok := w.first(time.Now(), 2*time.Second, vipFrom(wkEchoReply, lb1.MAC)); !ok {
			t.Fatalf("after %s: the client gets no echo reply from lb1's own address", step)
		}
	}
	answered("start")
	if out, errOut, err := d.ctl("demote", "VI_1"); err != nil {
		t.Fatalf("demote: %v\n%s%s", err, out, errOut)
	}
	d.waitState("BACKUP", 2*time.Second)
	answered("demote")
	if out, errOut, err := d.ctl("promote", "VI_1"); err != nil {
		t.Fatalf("promote: %v\n%s%s", err, out, errOut)
	}
	d.waitState("MASTER", 2*time.Second)
	answered("promote")
	// FAULT: a master resigns (priority 0 sent), and the owner's address
	// is the node's, not the instance's, to take away.
	if err := os.WriteFile(flag, []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d.waitState("FAULT", 2*time.Second)
	answered("fault")
	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	d.waitState("MASTER", 2*time.Second)
	answered("fault cleared")
	if _, errOut, err := d.ctl("demote", "nope"); err == nil || errOut == "" {
		t.Errorf("demote of an unknown instance: err %v, stderr %q; want a plain error", err, errOut)
	} else {
		t.Logf("demote of an unknown instance: %s", errOut)
	}
	if err := d.proc.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := d.proc.Wait(10 * time.Second); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, d.proc.Output())
	}
	answered("SIGTERM")
}

// TestAnnounceExactlyRepeat: after a takeover the client sees exactly the
// configured schedule from the new master: `repeat` gratuitous ARPs of each
// form (IPv4) or `repeat` unsolicited NAs (IPv6) in the first burst, the
// same again after `delay`, and nothing more.
func TestAnnounceExactlyRepeat(t *testing.T) {
	needRoot(t)
	const repeat = 3
	for _, v := range []struct {
		name  string
		vip   string
		kinds []vipWireKind
	}{
		{"ipv4", "198.51.100.50/24", []vipWireKind{wkGARPRequest, wkGARPReply}},
		{"ipv6", "2001:db8::50/64", []vipWireKind{wkNA}},
	} {
		t.Run(v.name, func(t *testing.T) {
			base := instance{vrid: 82, version: 3, interval: "100ms", vips: []string{v.vip},
				extra: fmt.Sprintf("  garp {\n    repeat = %d\n    interval = \"20ms\"\n    delay = \"400ms\"\n  }\n", repeat)}
			vip := vipOf(base)
			lab := netlab.New(t, netlab.Options{Nodes: 2, IPv6: vip.Addr().Is6()})
			lb2, client := lab.Nodes[1], lab.Client
			d1, _ := vipPair(t, lab, base)
			w := vipWatchWire(t, client, vip.Addr(), 1)
			stopped := time.Now()
			d1.stop()
			waitVIP(t, lb2, vip, true, 2*time.Second)
			time.Sleep(1500 * time.Millisecond) // both bursts and then some
			evs, _ := w.snapshot()
			for _, kind := range v.kinds {
				var at []time.Duration
				for _, ev := range evs {
					if ev.kind == kind && ev.at.After(stopped) && string(ev.src) == string(lb2.MAC) {
						at = append(at, ev.at.Sub(stopped).Round(time.Millisecond))
						if ev.bad != "" {
							t.Errorf("%s: %s", kind, ev.bad)
						}
					}
				}
				t.Logf("%s from lb2 after lb1's SIGTERM at %v", kind, at)
				if len(at) != 2*repeat {
					t.Errorf("%d %s after the takeover, want %d (repeat %d, two bursts)", len(at), kind, 2*repeat, repeat)
					continue
				}
				if gap := at[repeat] - at[repeat-1]; gap < 300*time.Millisecond {
					t.Errorf("%s: second burst %v after the first ended, want about the 400ms delay", kind, gap)
				}
			}
		})
	}
}
