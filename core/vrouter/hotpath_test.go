package vrouter

import (
	"net/netip"
	"testing"
	"time"

	"github.com/hawatch/hawatch/core/vrrp"
)

// The advert hot path, as the engine runs it in steady state: a master
// ticks and sends the advert Ready carries; a backup decodes the bytes it
// read into one reused Advert, steps the router with them and carries out
// the (empty) Ready. Each is measured with and without auth_hmac, and
// TestHotPathAllocs fails when any of them allocates.

const hotInterval = 100 * time.Millisecond

var (
	hotVIP  = netip.MustParseAddr("198.51.100.50")
	hotWall = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
)

func hotRouter(tb testing.TB, local netip.Addr, prio uint8, signed bool) *Router {
	tb.Helper()
	c := Config{Name: "VI_1", VRRP: vrrp.Config{VRID: 51, Version: 3, Priority: prio, AdvertInterval: hotInterval,
		Preempt: true, LocalAddr: local, Addresses: []netip.Addr{hotVIP}}}
	if signed {
		c.HMAC = &HMAC{Keys: map[uint8][]byte{1: hmacKey1}, ActiveKey: 1, Window: 5 * time.Second}
	}
	r, err := NewRouter(c)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// hotMaster is a router that has become master; it returns the router and
// the time of its next advert.
func hotMaster(tb testing.TB, signed bool) (*Router, time.Time) {
	tb.Helper()
	r := hotRouter(tb, lb1Addr, 100, signed)
	r.Step(hotWall, Start{})
	now := r.NextDeadline()
	r.Step(now, Tick{})
	if r.State() != vrrp.StateMaster {
		tb.Fatalf("state %s, want MASTER", r.State())
	}
	return r, r.NextDeadline()
}

// masterTick is one periodic advert: the tick that is due, and the one
// encoded advert it asks for.
func masterTick(tb testing.TB, r *Router, now time.Time) time.Time {
	rd := r.Step(now, Tick{})
	if len(rd.Adverts) != 1 || len(rd.Adverts[0].Payload) == 0 || len(rd.Transitions)+len(rd.VIPs)+len(rd.Drops)+len(rd.Notes) != 0 {
		tb.Fatalf("master tick: %+v", rd)
	}
	return r.NextDeadline()
}

// hotPeer encodes n adverts of the higher-priority master lb2, one per
// interval from start (signed ones carry the clock's sequence, as a real
// sender's do, so none is stale or a replay).
func hotPeer(tb testing.TB, n int, start time.Time, signed bool) [][]byte {
	tb.Helper()
	a := &vrrp.Advert{Version: 3, Type: vrrp.TypeAdvertisement, VRID: 51, Priority: 150, Interval: 10,
		Addresses: []netip.Addr{hotVIP}, Src: lb2Addr, Dst: vrrp.MulticastGroup4}
	pkts := make([][]byte, n)
	for i := range pkts {
		var err error
		if signed {
			pkts[i], err = a.AppendSigned(nil, hmacKey1, 1, vrrp.SeqAt(start.Add(time.Duration(i)*hotInterval)))
		} else {
			pkts[i], err = a.MarshalBinary()
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
	return pkts
}

// hotBackup is a backup that follows lb2: it returns the router and the
// time its next advert arrives.
func hotBackup(tb testing.TB, signed bool) (*Router, time.Time) {
	tb.Helper()
	r := hotRouter(tb, lb1Addr, 100, signed)
	r.Step(hotWall, Start{})
	if r.State() != vrrp.StateBackup {
		tb.Fatalf("state %s, want BACKUP", r.State())
	}
	return r, hotWall.Add(hotInterval)
}

// backupReceive is one advert read off the socket: decode into the reused
// a, step, and check that nothing but the re-armed timer came of it.
func backupReceive(tb testing.TB, r *Router, now time.Time, pkt []byte, a *vrrp.Advert) {
	a.Src, a.Dst = lb2Addr, vrrp.MulticastGroup4
	if err := a.UnmarshalBinary(pkt); err != nil {
		tb.Fatal(err)
	}
	rd := r.Step(now, Received{Advert: a, TTL: vrrp.TTL, Dst: vrrp.MulticastGroup4})
	if !rd.Empty() || r.NextDeadline().Sub(now) <= 3*hotInterval {
		tb.Fatalf("backup receive: %+v, next deadline in %v", rd, r.NextDeadline().Sub(now))
	}
}

func benchMaster(b *testing.B, signed bool) {
	r, now := hotMaster(b, signed)
	b.ReportAllocs()
	for b.Loop() {
		now = masterTick(b, r, now)
	}
}

func benchBackup(b *testing.B, signed bool) {
	r, now := hotBackup(b, signed)
	pkts := hotPeer(b, b.N, now, signed)
	var a vrrp.Advert
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		backupReceive(b, r, now, pkts[i], &a)
		now = now.Add(hotInterval)
	}
}

// BenchmarkHotPathMaster is a master's periodic advert: Tick → Ready with
// one encoded advert.
func BenchmarkHotPathMaster(b *testing.B) {
	b.Run("plain", func(b *testing.B) { benchMaster(b, false) })
	b.Run("hmac", func(b *testing.B) { benchMaster(b, true) })
}

// BenchmarkHotPathBackup is a backup hearing its master: wire bytes →
// decode → Step(Received) → Ready (empty: the timer is re-armed).
func BenchmarkHotPathBackup(b *testing.B) {
	b.Run("plain", func(b *testing.B) { benchBackup(b, false) })
	b.Run("hmac", func(b *testing.B) { benchBackup(b, true) })
}

// TestHotPathAllocs: in steady state a master's periodic advert and a
// backup's receipt of its master's advert (decode, step, Ready) allocate
// nothing, with and without auth_hmac.
func TestHotPathAllocs(t *testing.T) {
	const runs = 100
	for _, signed := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "hmac"}[signed]
		r, now := hotMaster(t, signed)
		if n := testing.AllocsPerRun(runs, func() { now = masterTick(t, r, now) }); n != 0 {
			t.Errorf("master %s: %v allocations per advert, want 0", name, n)
		}

		r, now = hotBackup(t, signed)
		pkts := hotPeer(t, runs+1, now, signed) // AllocsPerRun runs once more to warm up
		var a vrrp.Advert
		i := 0
		if n := testing.AllocsPerRun(runs, func() {
			backupReceive(t, r, now, pkts[i], &a)
			now, i = now.Add(hotInterval), i+1
		}); n != 0 {
			t.Errorf("backup %s: %v allocations per advert, want 0", name, n)
		}
		if s := r.Snapshot(); s.Received != runs+1 || len(s.Dropped) != 0 || s.State != vrrp.StateBackup {
			t.Errorf("backup %s: received %d, dropped %v, state %s; want %d, none, BACKUP", name, s.Received, s.Dropped, s.State, runs+1)
		}
	}
}

// TestSignedPayloadsOfOneStep: a signed master with two unicast peers
// sends one advert to each in the same Ready, from the wire buffer the
// router reuses: each payload is its own (its peer's checksum, the shared
// sequence) and verifies, and the next step's adverts carry a later
// sequence.
func TestSignedPayloadsOfOneStep(t *testing.T) {
	peers := []Peer{{Addr: lb2Addr, MaxTTL: 255}, {Addr: netip.MustParseAddr("198.51.100.13"), MaxTTL: 255}}
	r := hmacRouter(t, lb1Addr, enforce(map[uint8][]byte{1: hmacKey1}, 1), peers...)
	now := hmacWall
	r.Step(now, Start{})
	var prev vrrp.Seq
	for step := range 3 {
		now = r.NextDeadline()
		rd := r.Step(now, Tick{})
		if len(rd.Adverts) != len(peers) {
			t.Fatalf("step %d: %d adverts, want one per peer: %v", step, len(rd.Adverts), rd.Adverts)
		}
		var seq vrrp.Seq
		for i, o := range rd.Adverts {
			if o.Dst != peers[i].Addr {
				t.Fatalf("step %d: advert %d to %s, want %s", step, i, o.Dst, peers[i].Addr)
			}
			a, err := vrrp.ParseAdvert(o.Payload, lb1Addr, o.Dst)
			if err != nil || !a.VerifyHMAC(hmacKey1) {
				t.Fatalf("step %d: advert to %s: %v, verifies %v", step, o.Dst, err, err == nil && a.VerifyHMAC(hmacKey1))
			}
			if i > 0 && a.Trailer.Seq != seq {
				t.Errorf("step %d: sequence %v to %s, %v to the first peer", step, a.Trailer.Seq, o.Dst, seq)
			}
			seq = a.Trailer.Seq
		}
		if step > 0 && !seq.After(prev) {
			t.Errorf("step %d: sequence %v not after %v", step, seq, prev)
		}
		prev = seq
	}
}

// TestHotPathAllocsSyncGroup: the same holds for a member of a sync group,
// whose steps go through the group's coordinator.
func TestHotPathAllocsSyncGroup(t *testing.T) {
	const runs = 100
	pair := func(t *testing.T) (*Router, *Router) {
		r1 := hotRouter(t, lb1Addr, 100, false)
		r2, err := NewRouter(Config{Name: "VI_2", VRRP: vrrp.Config{VRID: 52, Version: 3, Priority: 100, AdvertInterval: hotInterval,
			Preempt: true, LocalAddr: lb1Addr, Addresses: []netip.Addr{netip.MustParseAddr("198.51.100.51")}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewGroup("G", r1, r2); err != nil {
			t.Fatal(err)
		}
		r1.Step(hotWall, Start{})
		r2.Step(hotWall, Start{})
		return r1, r2
	}

	r1, r2 := pair(t)
	now := hotWall
	for r1.State() != vrrp.StateMaster && now.Before(hotWall.Add(time.Second)) {
		now = now.Add(10 * time.Millisecond)
		r1.Step(now, Tick{})
		r2.Step(now, Tick{})
	}
	if r1.State() != vrrp.StateMaster || r2.State() != vrrp.StateMaster {
		t.Fatalf("group did not take over: %s, %s", r1.State(), r2.State())
	}
	now = r1.NextDeadline()
	if n := testing.AllocsPerRun(runs, func() { now = masterTick(t, r1, now) }); n != 0 {
		t.Errorf("group master: %v allocations per advert, want 0", n)
	}

	r1, _ = pair(t)
	now = hotWall.Add(hotInterval)
	pkts := hotPeer(t, runs+1, now, false)
	var a vrrp.Advert
	i := 0
	if n := testing.AllocsPerRun(runs, func() {
		backupReceive(t, r1, now, pkts[i], &a)
		now, i = now.Add(hotInterval), i+1
	}); n != 0 {
		t.Errorf("group backup: %v allocations per advert, want 0", n)
	}
	if r1.State() != vrrp.StateBackup || r1.Snapshot().Received != runs+1 {
		t.Errorf("group backup: %s, received %d", r1.State(), r1.Snapshot().Received)
	}
}
