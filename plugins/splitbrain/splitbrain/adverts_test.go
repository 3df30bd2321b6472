package splitbrain

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/arp"

	"github.com/hawatch/hawatch/sdk"
)

// fakeAdverts hands out queued batches, one per Drain, like the kernel's
// queue between checks.
type fakeAdverts struct {
	batches [][]seenAdvert
	err     error // returned by the next Drain, once
	closed  bool
}

func (f *fakeAdverts) Drain() ([]seenAdvert, error) {
	if err := f.err; err != nil {
		f.err = nil
		return nil, err
	}
	if len(f.batches) == 0 {
		return nil, nil
	}
	b := f.batches[0]
	f.batches = f.batches[1:]
	return b, nil
}

func (f *fakeAdverts) Close() error { f.closed = true; return nil }

var (
	peerIP  = netip.MustParseAddr("198.51.100.11")
	thirdIP = netip.MustParseAddr("198.51.100.13")
)

// wireGuard is a configured guard whose ARP probe finds peerMAC owning the
// VIP, with a fake wire watch, its clock fixed at now.
func wireGuard(t *testing.T, cfg map[string]any, wire *fakeAdverts, now time.Time) *Plugin {
	t.Helper()
	p, _ := configured(t, cfg, nil, nil, nil)
	p.dialARP = func(string) (arpConn, error) {
		return &fakeARP{pkts: []*arp.Packet{reply(peerMAC, vip)}}, nil
	}
	p.listenAdverts = func(string) (advertSource, error) { return wire, nil }
	p.now = func() time.Time { return now }
	return p
}

// TestCheckReportsHeard: a failing guard carries the other owner's latest
// advert seen on the wire, with its age; adverts from a MAC that does not
// claim the VIP, or of another VRID, are not its evidence.
func TestCheckReportsHeard(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)
	wire := &fakeAdverts{batches: [][]seenAdvert{{
		{mac: peerMAC, from: peerIP, vrid: 51, prio: 100, at: now.Add(-80 * time.Millisecond)},
		{mac: peerMAC, from: peerIP, vrid: 51, prio: 100, at: now.Add(-30 * time.Millisecond)},
		{mac: peerMAC, from: peerIP, vrid: 52, prio: 7, at: now.Add(-10 * time.Millisecond)},
		{mac: thirdMAC, from: thirdIP, vrid: 51, prio: 200, at: now.Add(-5 * time.Millisecond)},
	}}}
	p := wireGuard(t, map[string]any{"interface": "eth0", "vip": vip.String(), "vrid": 51}, wire, now)
	r := p.Check(context.Background())
	h, ok, err := sdk.HeardOf(r)
	if r.Status != sdk.StatusFail || !ok || err != nil {
		t.Fatalf("Check = %v %q %v; want fail with evidence (%v, %v)", r.Status, r.Reason, r.Detail, ok, err)
	}
	if want := (sdk.Heard{From: peerIP, Priority: 100, Age: 30 * time.Millisecond}); h != want {
		t.Errorf("heard %+v, want %+v", h, want)
	}
	// The next check: nothing new on the wire, the evidence ages.
	p.now = func() time.Time { return now.Add(time.Second) }
	r = p.Check(context.Background())
	if h, ok, _ := sdk.HeardOf(r); !ok || h.Age != time.Second+30*time.Millisecond {
		t.Errorf("second check: heard %+v (%v), want the same advert 1.03s old", h, ok)
	}
}

// TestCheckWithoutAdverts: a VIP owner that never advertised (a hung
// daemon) fails the guard with no evidence, and the reason says so.
func TestCheckWithoutAdverts(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)
	wire := &fakeAdverts{batches: [][]seenAdvert{{
		{mac: thirdMAC, from: thirdIP, vrid: 51, prio: 200, at: now.Add(-5 * time.Millisecond)},
	}}}
	p := wireGuard(t, map[string]any{"interface": "eth0", "vip": vip.String()}, wire, now)
	r := p.Check(context.Background())
	if _, ok, _ := sdk.HeardOf(r); r.Status != sdk.StatusFail || ok || !strings.Contains(r.Reason, "no advert from it") {
		t.Fatalf("Check = %v %q (evidence %v); want fail, no evidence, said", r.Status, r.Reason, ok)
	}
}

// TestCheckWireError: a broken wire watch costs the evidence, not the
// check; the next check opens a new listener.
func TestCheckWireError(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)
	wire := &fakeAdverts{err: errors.New("socket gone")}
	p := wireGuard(t, map[string]any{"interface": "eth0", "vip": vip.String()}, wire, now)
	opened := 0
	p.listenAdverts = func(string) (advertSource, error) { opened++; return wire, nil }
	r := p.Check(context.Background())
	if _, ok, _ := sdk.HeardOf(r); r.Status != sdk.StatusFail || ok || !strings.Contains(r.Detail["heard_error"], "socket gone") || !wire.closed {
		t.Fatalf("Check = %v %q %v; want fail, no evidence, heard_error, listener closed", r.Status, r.Reason, r.Detail)
	}
	p.Check(context.Background())
	if opened != 2 {
		t.Errorf("listener opened %d times, want 2 (reopened after the error)", opened)
	}
}

func TestParseVRRP(t *testing.T) {
	v4 := []byte{
		0x01, 0x00, 0x5e, 0x00, 0x00, 0x12, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x00, // Ethernet
		0x45, 0xc0, 0x00, 0x20, 0, 0, 0, 0, 0xff, 112, 0, 0, 198, 51, 100, 11, 224, 0, 0, 18, // IPv4
		0x31, 51, 100, 1, 0x00, 0x0a, 0, 0, 198, 51, 100, 50, // VRRP v3
	}
	mac, from, vrid, prio, ok := parseVRRP(v4)
	if !ok || mac.String() != peerMAC.String() || from != peerIP || vrid != 51 || prio != 100 {
		t.Fatalf("parseVRRP(v4) = %v %v %d %d %v", mac, from, vrid, prio, ok)
	}
	v6 := append([]byte{0x33, 0x33, 0, 0, 0, 0x12, 0x02, 0, 0, 0, 0, 0x02, 0x86, 0xdd,
		0x60, 0, 0, 0, 0, 8, 112, 255}, append(netip.MustParseAddr("fe80::2").AsSlice(), netip.MustParseAddr("ff02::12").AsSlice()...)...)
	v6 = append(v6, 0x31, 52, 150, 0, 0, 10, 0, 0)
	if _, from, vrid, prio, ok := parseVRRP(v6); !ok || from != netip.MustParseAddr("fe80::2") || vrid != 52 || prio != 150 {
		t.Fatalf("parseVRRP(v6) = %v %d %d %v", from, vrid, prio, ok)
	}
	for name, f := range map[string][]byte{
		"short":     v4[:20],
		"not vrrp":  append(append([]byte{}, v4[:23]...), append([]byte{6}, v4[24:]...)...),
		"v1":        append(append([]byte{}, v4[:34]...), append([]byte{0x11}, v4[35:]...)...),
		"not adver": append(append([]byte{}, v4[:34]...), append([]byte{0x32}, v4[35:]...)...),
	} {
		if _, _, _, _, ok := parseVRRP(f); ok {
			t.Errorf("%s: parsed", name)
		}
	}
}

func FuzzParseVRRP(f *testing.F) {
	f.Add([]byte{0x01, 0x00, 0x5e, 0x00, 0x00, 0x12, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x00,
		0x45, 0xc0, 0x00, 0x20, 0, 0, 0, 0, 0xff, 112, 0, 0, 198, 51, 100, 11, 224, 0, 0, 18,
		0x31, 51, 100, 1, 0x00, 0x0a, 0, 0, 198, 51, 100, 50})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x86, 0xdd, 0x60})
	f.Fuzz(func(t *testing.T, frame []byte) {
		mac, from, _, _, ok := parseVRRP(frame)
		if ok && (len(mac) != 6 || !from.IsValid()) {
			t.Fatalf("parsed %v %v from %x", mac, from, frame)
		}
	})
}
