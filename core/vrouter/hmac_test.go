package vrouter

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/hawatch/hawatch/core/vrrp"
)

var (
	hmacKey1 = bytes.Repeat([]byte{0x11}, 32)
	hmacKey2 = []byte("hawatch-test-vector-ascii-key-0123456789")
	hmacWall = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC) // the routers' wall clock in these tests
	lb1Addr  = netip.MustParseAddr("198.51.100.11")
	lb2Addr  = netip.MustParseAddr("198.51.100.12")
)

func hmacRouter(t *testing.T, local netip.Addr, h *HMAC, unicast ...Peer) *Router {
	t.Helper()
	r, err := NewRouter(Config{Name: "VI_1", Unicast: unicast, HMAC: h, VRRP: vrrp.Config{VRID: 51, Version: 3, Priority: 100,
		AdvertInterval: 100 * time.Millisecond, Preempt: true, LocalAddr: local, Addresses: []netip.Addr{netip.MustParseAddr("198.51.100.50")}}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func enforce(keys map[uint8][]byte, active uint8) *HMAC {
	return &HMAC{Keys: keys, ActiveKey: active, Window: 5 * time.Second}
}

// signed is an advert from lb2 at priority prio, signed with key id under
// key at sequence seq, as the router receives it (encoded and decoded).
func signed(t *testing.T, prio uint8, key []byte, id uint8, seq vrrp.Seq) Received {
	t.Helper()
	a := &vrrp.Advert{Version: 3, Type: 1, VRID: 51, Priority: prio, Interval: 10,
		Addresses: []netip.Addr{netip.MustParseAddr("198.51.100.50")}, Src: lb2Addr, Dst: vrrp.MulticastGroup4}
	var b []byte
	var err error
	if key == nil {
		b, err = a.MarshalBinary()
	} else {
		b, err = a.AppendSigned(nil, key, id, seq)
	}
	if err != nil {
		t.Fatal(err)
	}
	got, err := vrrp.ParseAdvert(b, lb2Addr, vrrp.MulticastGroup4)
	if err != nil {
		t.Fatal(err)
	}
	return Received{Advert: got, TTL: 255, Dst: vrrp.MulticastGroup4}
}

// dropped returns the single drop label of rd ("" when the advert was
// accepted).
func dropped(t *testing.T, rd Ready) string {
	t.Helper()
	for _, d := range rd.Drops {
		if d.Reason != "" {
			return d.Reason
		}
	}
	return ""
}

// TestHMACReceive: in enforce mode a forged advert (wrong key), an unknown
// key id, a trailerless advert, a stale sequence and a replay are each
// dropped with their own label and move nothing; good adverts are taken.
func TestHMACReceive(t *testing.T) {
	r := hmacRouter(t, lb1Addr, enforce(map[uint8][]byte{1: hmacKey1}, 1))
	now := hmacWall
	r.Step(now, Start{})
	good := vrrp.SeqAt(now)
	for _, tc := range []struct {
		name string
		in   Received
		want string
	}{
		{"good", signed(t, 150, hmacKey1, 1, good), ""},
		{"forged: wrong key", signed(t, 254, hmacKey2, 1, good+10), "hmac_bad"},
		{"unknown key id", signed(t, 254, hmacKey1, 7, good+11), "hmac_unknown_key"},
		{"no trailer", signed(t, 254, nil, 0, 0), "hmac_missing"},
		{"replayed", signed(t, 150, hmacKey1, 1, good), "hmac_replay"},
		{"older", signed(t, 150, hmacKey1, 1, good-1), "hmac_replay"},
		{"stale: 6 s old", signed(t, 254, hmacKey1, 1, vrrp.SeqAt(now.Add(-6*time.Second))), "hmac_stale"},
		{"from the future", signed(t, 254, hmacKey1, 1, vrrp.SeqAt(now.Add(6*time.Second))), "hmac_stale"},
		{"next", signed(t, 150, hmacKey1, 1, good+1), ""},
	} {
		before := r.Snapshot()
		rd := r.Step(now, tc.in)
		if got := dropped(t, rd); got != tc.want {
			t.Errorf("%s: dropped %q, want %q", tc.name, got, tc.want)
		}
		after := r.Snapshot()
		if tc.want != "" && (after.Received != before.Received || after.Dropped[tc.want] != before.Dropped[tc.want]+1 || len(rd.Transitions) != 0) {
			t.Errorf("%s: received %d → %d, %s %d → %d, transitions %v", tc.name, before.Received, after.Received,
				tc.want, before.Dropped[tc.want], after.Dropped[tc.want], rd.Transitions)
		}
	}
	// A skew past half the window is accepted with a warning.
	rd := r.Step(now, signed(t, 150, hmacKey1, 1, vrrp.SeqAt(now.Add(3*time.Second))))
	if len(rd.Drops) != 1 || rd.Drops[0].Warning != vrrp.WarnClockSkew {
		t.Errorf("3 s skew in a 5 s window: %v, want one clock-skew warning", rd.Drops)
	}
}

// TestHMACModes: permissive and receive-only accept trailerless adverts
// (counted), still drop bad trailers; receive-only does not sign; an
// instance without auth_hmac refuses a trailer, as keepalived does.
func TestHMACModes(t *testing.T) {
	now := hmacWall
	for _, mode := range []HMACMode{HMACPermissive, HMACReceiveOnly} {
		h := enforce(map[uint8][]byte{1: hmacKey1}, 1)
		h.Mode = mode
		r := hmacRouter(t, lb1Addr, h)
		r.Step(now, Start{})
		if got := dropped(t, r.Step(now, signed(t, 150, nil, 0, 0))); got != "" || r.Snapshot().Unsigned != 1 {
			t.Errorf("%s: trailerless advert dropped %q, unsigned count %d", mode, got, r.Snapshot().Unsigned)
		}
		if got := dropped(t, r.Step(now, signed(t, 150, hmacKey2, 1, vrrp.SeqAt(now)))); got != "hmac_bad" {
			t.Errorf("%s: forged advert: dropped %q, want hmac_bad", mode, got)
		}
		rd := r.Step(now, Shutdown{})
		if len(rd.Adverts) != 0 {
			t.Fatalf("%s: a backup shutting down sent %v", mode, rd.Adverts)
		}
		r.Step(now, Start{})
		rd = r.Step(r.NextDeadline(), Tick{})
		if len(rd.Adverts) != 1 {
			t.Fatalf("%s: becoming master sent %d adverts", mode, len(rd.Adverts))
		}
		a, err := vrrp.ParseAdvert(rd.Adverts[0].Payload, lb1Addr, vrrp.MulticastGroup4)
		if err != nil {
			t.Fatal(err)
		}
		if (a.Trailer != nil) != (mode == HMACPermissive) {
			t.Errorf("%s: trailer %+v", mode, a.Trailer)
		}
	}
	plain := hmacRouter(t, lb1Addr, nil)
	plain.Step(now, Start{})
	if got := dropped(t, plain.Step(now, signed(t, 150, hmacKey1, 1, vrrp.SeqAt(now)))); got != "length" {
		t.Errorf("instance without auth_hmac took a signed advert: dropped %q, want length", got)
	}
}

// TestHMACSendVerifies: what a signing router sends verifies under its
// active key at another router, with growing sequences.
func TestHMACSendVerifies(t *testing.T) {
	keys := map[uint8][]byte{1: hmacKey1, 2: hmacKey2}
	tx := hmacRouter(t, lb2Addr, enforce(keys, 2))
	rx := hmacRouter(t, lb1Addr, enforce(keys, 1))
	tx.Step(hmacWall, Start{})
	rx.Step(hmacWall, Start{})
	var prev vrrp.Seq
	for i := range 5 {
		rd := tx.Step(tx.NextDeadline(), Tick{})
		if i == 0 {
			continue // the master-down timer: no advert yet in some paths
		}
		if len(rd.Adverts) != 1 {
			t.Fatalf("tick %d: %d adverts", i, len(rd.Adverts))
		}
		o := rd.Adverts[0]
		a, err := vrrp.ParseAdvert(o.Payload, lb2Addr, o.Dst)
		if err != nil {
			t.Fatal(err)
		}
		if a.Trailer == nil || a.Trailer.KeyID != 2 || !a.VerifyHMAC(hmacKey2) || !a.Trailer.Seq.After(prev) {
			t.Fatalf("tick %d: trailer %+v (previous sequence %v)", i, a.Trailer, prev)
		}
		prev = a.Trailer.Seq
		if got := dropped(t, rx.Step(tx.NextDeadline(), Received{Advert: a, TTL: 255, Dst: o.Dst})); got != "" {
			t.Fatalf("tick %d: the receiver dropped a signed advert: %s", i, got)
		}
	}
}

// TestNextSeq: the sequence follows the clock, moves on by one when the
// clock has not, and (time mode) restarts from the clock when the clock was
// stepped back by more than the window; monotonic mode never goes back.
func TestNextSeq(t *testing.T) {
	r := hmacRouter(t, lb1Addr, enforce(map[uint8][]byte{1: hmacKey1}, 1))
	a := r.nextSeq(hmacWall)
	if a != vrrp.SeqAt(hmacWall) {
		t.Fatalf("first sequence %v, want the clock %v", a, vrrp.SeqAt(hmacWall))
	}
	if b := r.nextSeq(hmacWall); b != a+1 {
		t.Fatalf("same instant: %v, want %v", b, a+1)
	}
	if c := r.nextSeq(hmacWall.Add(-time.Second)); c != a+2 {
		t.Fatalf("clock 1 s back: %v, want %v", c, a+2)
	}
	back := hmacWall.Add(-time.Minute)
	if d := r.nextSeq(back); d != vrrp.SeqAt(back) {
		t.Fatalf("clock a minute back: %v, want the clock %v", d, vrrp.SeqAt(back))
	}
	r.auth.Monotonic = true
	r.lastSeq = vrrp.SeqAt(hmacWall)
	if e := r.nextSeq(back); e != vrrp.SeqAt(hmacWall)+1 {
		t.Fatalf("monotonic, clock back: %v", e)
	}
}

// TestHMACRotation: keys change in place (Reconfigure) without a state
// change; the receiver accepts the new active key as soon as it knows it,
// and the anti-replay marks survive.
func TestHMACRotation(t *testing.T) {
	now := hmacWall
	rx := hmacRouter(t, lb1Addr, enforce(map[uint8][]byte{1: hmacKey1}, 1))
	rx.Step(now, Start{})
	seq := vrrp.SeqAt(now)
	if got := dropped(t, rx.Step(now, signed(t, 150, hmacKey1, 1, seq))); got != "" {
		t.Fatal(got)
	}
	if got := dropped(t, rx.Step(now, signed(t, 150, hmacKey2, 2, seq+1))); got != "hmac_unknown_key" {
		t.Fatalf("key 2 before the rotation: %q", got)
	}
	rd := rx.Step(now, Reconfigure{HMAC: enforce(map[uint8][]byte{1: hmacKey1, 2: hmacKey2}, 1)})
	if len(rd.Transitions) != 0 || len(rd.Adverts) != 0 {
		t.Fatalf("adding a key moved the router: %+v", rd)
	}
	if got := dropped(t, rx.Step(now, signed(t, 150, hmacKey2, 2, seq+2))); got != "" {
		t.Fatalf("key 2 after the rotation: %q", got)
	}
	if got := dropped(t, rx.Step(now, signed(t, 150, hmacKey2, 2, seq+2))); got != "hmac_replay" {
		t.Fatalf("replay after the rotation: %q", got)
	}
}

// TestUnicastPeerTTL: a unicast instance takes only its peers, within
// their TTL bounds; a multicast instance only its group at TTL 255.
func TestUnicastPeerTTL(t *testing.T) {
	now := hmacWall
	r := hmacRouter(t, lb1Addr, nil, Peer{Addr: lb2Addr, MinTTL: 255, MaxTTL: 255})
	r.Step(now, Start{})
	in := signed(t, 150, nil, 0, 0)
	in.Dst = lb1Addr
	in.TTL = 64
	if got := dropped(t, r.Step(now, in)); got != "ttl" {
		t.Errorf("TTL 64 from a peer with min_ttl 255: dropped %q, want ttl", got)
	}
	in.TTL = 255
	if got := dropped(t, r.Step(now, in)); got != "" {
		t.Errorf("TTL 255 from the peer: dropped %q", got)
	}
}
