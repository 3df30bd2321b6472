package vip

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"
)

var (
	v4a  = netip.MustParsePrefix("198.51.100.50/24")
	v4b  = netip.MustParsePrefix("198.51.100.51/24")
	v4c  = netip.MustParsePrefix("198.51.100.60/24")
	v6a  = netip.MustParsePrefix("2001:db8::50/64")
	once = Policy{Repeat: 1}
)

// rig is a Manager over a fake interface, a fake sender and a fake clock.
// Tests run inside a synctest bubble so that synctest.Wait tells when the
// Manager's goroutines have done all they can at the current fake time.
type rig struct {
	t     *testing.T
	m     *Manager
	be    *fakeBackend
	tx    *fakeSender
	clock *fakeClock
}

func newRig(t *testing.T, opts Options, present ...netip.Prefix) *rig {
	t.Helper()
	clock := newFakeClock()
	opts.Clock = clock
	be := newFakeBackend(present...)
	tx := &fakeSender{clock: clock}
	m, err := newManager(zerolog.New(zerolog.NewTestWriter(t)), "eth0", be, tx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &rig{t: t, m: m, be: be, tx: tx, clock: clock}
}

// run starts m.Run and returns the channel its result arrives on.
func (r *rig) run() <-chan error {
	errc := make(chan error, 1)
	go func() { errc <- r.m.Run(context.Background()) }()
	synctest.Wait()
	return errc
}

// acquire is a takeover as the engine's VIP worker does it: Acquire, then
// one Announce.
func (r *rig) acquire(owner string, p Policy, prefixes ...netip.Prefix) {
	r.t.Helper()
	if err := r.m.Acquire(context.Background(), owner, prefixes, "eth0:vip"); err != nil {
		r.t.Fatalf("Acquire(%s): %v", owner, err)
	}
	if err := r.m.Announce(owner, prefixes, p); err != nil {
		r.t.Fatalf("Announce(%s): %v", owner, err)
	}
	synctest.Wait()
}

func (r *rig) release(owner string) {
	r.t.Helper()
	if err := r.m.Release(context.Background(), owner); err != nil {
		r.t.Fatalf("Release(%s): %v", owner, err)
	}
	synctest.Wait()
}

// event delivers an address event the way the kernel subscription would.
func (r *rig) event(p netip.Prefix, added bool) {
	r.be.events <- addrEvent{prefix: p, added: added}
	synctest.Wait()
}

func (r *rig) advance(d time.Duration) {
	r.clock.advanceTo(r.clock.Now().Add(d))
	synctest.Wait()
}

func (r *rig) wantPresent(present bool, prefixes ...netip.Prefix) {
	r.t.Helper()
	for _, p := range prefixes {
		if r.be.has(p) != present {
			r.t.Errorf("%s on interface = %v, want %v", p, !present, present)
		}
	}
}

func (r *rig) wantPackets(n int) {
	r.t.Helper()
	if got := r.tx.count(); got != n {
		r.t.Fatalf("%d packets sent, want %d", got, n)
	}
}

func TestAnnounceSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Options{})
		p := Policy{Repeat: 2, Interval: ms(100), Delay: time.Second, Refresh: 10 * time.Second}
		r.acquire("vi_1", p, v4a, v6a)
		wantRound := []announcement{
			{kindARPRequest, v4a.Addr()}, {kindARPReply, v4a.Addr()}, {kindNA, v6a.Addr()},
		}
		sends := []time.Duration{0, ms(100), ms(1000), ms(1100), ms(11000), ms(21000), ms(31000)}
		for k, off := range sends {
			if k > 0 {
				r.advance(t0.Add(off).Sub(r.clock.Now()) - 1)
				r.wantPackets(3 * k) // nothing early
				r.advance(1)
			}
			r.wantPackets(3 * (k + 1))
			got := r.tx.packets()[3*k:]
			for i, sp := range got {
				if !sp.at.Equal(t0.Add(off)) || sp.a != wantRound[i] {
					t.Fatalf("send %d packet %d = %v at +%v, want %v at +%v", k, i, sp.a, sp.at.Sub(t0), wantRound[i], off)
				}
			}
		}
		if s := r.m.Stats(); s.AnnouncementsSent != uint64(3*len(sends)) || s.AnnouncementErrors != 0 || s.AnnouncementsDelayed != 0 {
			t.Fatalf("stats %+v", s)
		}

		r.advance(ms(5000))
		r.release("vi_1")
		r.advance(time.Hour)
		r.wantPackets(3 * len(sends))
		r.wantPresent(false, v4a, v6a)
	})
}

func TestReleaseStopsMidRound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// One packet per second: the announcer is waiting for the rate
		// limiter after the first packet when ownership is lost.
		r := newRig(t, Options{RateLimit: RateLimit{PerSecond: 1, Burst: 1}})
		r.acquire("vi_1", once, v4a, v4b)
		r.wantPackets(1)
		r.release("vi_1")
		r.advance(time.Minute)
		r.wantPackets(1)
	})
}

func TestRateLimitSpreadsPackets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Options{RateLimit: RateLimit{PerSecond: 10, Burst: 2}})
		r.acquire("vi_1", once, v4a, v4b, v4c) // 6 packets in one send
		r.wantPackets(2)
		for i := 3; i <= 6; i++ {
			r.advance(ms(99))
			r.wantPackets(i - 1)
			r.advance(ms(1))
			r.wantPackets(i)
		}
		var at []time.Duration
		for _, sp := range r.tx.packets() {
			at = append(at, sp.at.Sub(t0))
		}
		if want := []time.Duration{0, 0, ms(100), ms(200), ms(300), ms(400)}; !slices.Equal(at, want) {
			t.Fatalf("send times %v, want %v", at, want)
		}
		if s := r.m.Stats(); s.AnnouncementsDelayed != 4 || s.AnnouncementsSent != 6 {
			t.Fatalf("stats %+v", s)
		}
	})
}

func TestAcquireReleaseIdempotent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Options{})
		r.acquire("vi_1", once, v4a, v4b)
		r.wantPresent(true, v4a, v4b)
		if got := r.be.label(v4b); got != "eth0:vip" {
			t.Errorf("label %q", got)
		}
		r.wantPackets(4)
		// Acquire alone never announces; the same set again changes nothing.
		if err := r.m.Acquire(context.Background(), "vi_1", []netip.Prefix{v4b, v4a}, "eth0:vip"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		r.wantPackets(4)
		r.release("vi_1")
		r.wantPresent(false, v4a, v4b)
		r.release("vi_1")
		r.release("never-acquired")

		r.acquire("vi_1", once, v4a)
		r.be.externalDel(v4a) // gone before Release (ENOENT)
		r.release("vi_1")
		if got := r.m.Held("vi_1"); got != nil {
			t.Fatalf("Held after release = %v", got)
		}
	})
}

// TestHostAddressNeverDeleted: an address on the interface before Acquire
// that no owner knows is the host's own (a VRRP address owner's, or an
// operator's mistake): held, but never deleted and never put back. A known
// VIP found on the interface (a crash leftover) is ours to delete.
func TestHostAddressNeverDeleted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Options{}, v4a, v4c) // both already on the interface
		if err := r.m.Watch("vi_1", []netip.Prefix{v4c}); err != nil {
			t.Fatal(err)
		}
		r.run()
		r.wantPresent(false, v4c) // known and nobody holds it: reconciled away
		r.be.externalAdd(v4c)     // a leftover reappears just before the takeover
		r.acquire("vi_1", once, v4a, v4c)
		r.wantPresent(true, v4a, v4c)
		r.be.externalDel(v4a)
		r.event(v4a, false)
		r.wantPresent(false, v4a) // not ours to put back
		r.be.externalAdd(v4a)
		r.release("vi_1")
		r.wantPresent(true, v4a)
		r.wantPresent(false, v4c)
		if s := r.m.Stats(); s.Reconciliations.ReAdded != 0 {
			t.Fatalf("re-added the host's address: %+v", s)
		}
	})
}

func TestAcquireRejects(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Options{})
		tests := []struct {
			name     string
			prefixes []netip.Prefix
			label    string
			want     error
		}{
			{"zero prefix", []netip.Prefix{{}}, "", ErrInvalidPrefix},
			{"unspecified", []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}, "", ErrInvalidPrefix},
			{"multicast", []netip.Prefix{netip.MustParsePrefix("224.0.0.18/32")}, "", ErrInvalidPrefix},
			{"loopback", []netip.Prefix{netip.MustParsePrefix("127.0.0.2/8")}, "", ErrInvalidPrefix},
			{"v4-mapped", []netip.Prefix{netip.MustParsePrefix("::ffff:198.51.100.50/120")}, "", ErrInvalidPrefix},
			{"same address twice", []netip.Prefix{v4a, netip.MustParsePrefix("198.51.100.50/32")}, "", ErrInvalidPrefix},
			{"label of another interface", []netip.Prefix{v4a}, "eth1:vip", ErrInvalidLabel},
			{"label too long", []netip.Prefix{v4a}, "eth0:0123456789a", ErrInvalidLabel},
			{"label shorter than ifname", []netip.Prefix{v4a}, "eth", ErrInvalidLabel},
		}
		for _, tt := range tests {
			err := r.m.Acquire(context.Background(), "vi_1", tt.prefixes, tt.label)
			if !errors.Is(err, tt.want) {
				t.Errorf("%s: Acquire = %v, want %v", tt.name, err, tt.want)
			}
		}
		if r.m.Held("vi_1") != nil || len(r.be.ops) != 0 {
			t.Fatalf("rejected Acquire touched state: held %v, ops %v", r.m.Held("vi_1"), r.be.ops)
		}
		// The longest legal label and an exact duplicate are fine.
		if err := r.m.Acquire(context.Background(), "vi_1", []netip.Prefix{v4a, v4a}, "eth0:0123456789"); err != nil {
			t.Fatal(err)
		}
		if got := r.m.Held("vi_1"); !slices.Equal(got, []netip.Prefix{v4a}) {
			t.Fatalf("Held = %v", got)
		}
	})
}

func TestAnnounceWithInvalidPolicyStillAnnounces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Options{})
		if err := r.m.Acquire(context.Background(), "vi_1", []netip.Prefix{v4a}, ""); err != nil {
			t.Fatal(err)
		}
		err := r.m.Announce("vi_1", []netip.Prefix{v4a}, Policy{Repeat: 0})
		if !errors.Is(err, ErrInvalidPolicy) {
			t.Fatalf("Announce = %v, want ErrInvalidPolicy", err)
		}
		synctest.Wait()
		r.wantPresent(true, v4a)
		r.wantPackets(2 * DefaultPolicy().Repeat) // the default burst
	})
}

func TestAcquireReportsFailedAdd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Options{})
		boom := errors.New("operation not permitted")
		r.be.addErr[v4b] = boom
		err := r.m.Acquire(context.Background(), "vi_1", []netip.Prefix{v4a, v4b}, "")
		if !errors.Is(err, boom) {
			t.Fatalf("Acquire = %v, want wrapping %v", err, boom)
		}
		var ve *Error
		if !errors.As(err, &ve) || ve.Op != "add" || ve.Prefix != v4b || ve.Interface != "eth0" {
			t.Fatalf("error %#v", ve)
		}
		if want := "vip eth0 198.51.100.51/24: add: operation not permitted"; err.Error() != want {
			t.Fatalf("message %q, want %q", err, want)
		}
		r.wantPresent(true, v4a)
		if got := r.m.Held("vi_1"); len(got) != 2 {
			t.Fatalf("Held = %v, want both (a re-list retries the missing one)", got)
		}
	})
}

func TestAcquireReplacesSet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Options{})
		r.acquire("vi_1", once, v4a, v4b)
		r.wantPackets(4)
		r.acquire("vi_1", once, v4b, v4c)
		r.wantPresent(false, v4a)
		r.wantPresent(true, v4b, v4c)
		r.wantPackets(8) // the schedule restarts for the new set
	})
}

func TestSharedPrefixStaysUntilLastOwnerReleases(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Options{})
		r.acquire("vi_1", once, v4a)
		r.acquire("vi_2", once, v4a, v4b)
		r.release("vi_1")
		r.wantPresent(true, v4a, v4b)
		r.release("vi_2")
		r.wantPresent(false, v4a, v4b)
	})
}

// TestAnnounceAndQuiet: every Announce is one fresh schedule; Quiet and
// Release stop it; an announce-only owner (a VRRP address owner announcing
// the host's own address) is stopped by Forget too.
func TestAnnounceAndQuiet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Options{}, v4b)
		r.acquire("vi_1", once, v4a)
		r.wantPackets(2)
		if err := r.m.Announce("vi_1", []netip.Prefix{v4a}, once); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		r.wantPackets(4)
		r.release("vi_1")
		r.wantPackets(4)

		refresh := Policy{Repeat: 1, Refresh: time.Second}
		if err := r.m.Announce("owner", []netip.Prefix{v4b}, refresh); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		r.wantPackets(6)
		r.advance(time.Second)
		r.wantPackets(8)
		r.m.Quiet("owner")
		r.advance(time.Minute)
		r.wantPackets(8)
		if err := r.m.Announce("owner", []netip.Prefix{v4b}, refresh); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if err := r.m.Forget(context.Background(), "owner"); err != nil {
			t.Fatal(err)
		}
		r.advance(time.Minute)
		r.wantPackets(10)
		r.wantPresent(true, v4b) // announced, never touched
	})
}

func TestRunPutsBackDeletedVIP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Options{})
		r.run()
		r.acquire("vi_1", once, v4a, v6a)
		r.wantPackets(3)

		r.be.externalDel(v4a)
		r.event(v4a, false)
		r.wantPresent(true, v4a)
		if got := r.be.label(v4a); got != "eth0:vip" {
			t.Errorf("label after re-add %q", got)
		}
		r.wantPackets(6) // a fresh burst
		if s := r.m.Stats(); s.Reconciliations != (Reconciliations{ReAdded: 1}) {
			t.Fatalf("stats %+v", s)
		}
	})
}

func TestRunRemovesForeignVIP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Options{})
		if err := r.m.Watch("vi_1", []netip.Prefix{v4a}); err != nil {
			t.Fatal(err)
		}
		r.acquire("vi_2", once, v4c)
		r.run()

		host32 := netip.MustParsePrefix("198.51.100.50/32") // the VIP's address with another length
		other := netip.MustParsePrefix("198.51.100.99/24")  // not a VIP
		held32 := netip.MustParsePrefix("198.51.100.60/32") // held by vi_2 with /24
		for _, p := range []netip.Prefix{host32, other, held32} {
			r.be.externalAdd(p)
			r.event(p, true)
		}
		r.wantPresent(false, host32)
		r.wantPresent(true, other, held32, v4c)
		if s := r.m.Stats(); s.Reconciliations != (Reconciliations{Removed: 1}) {
			t.Fatalf("stats %+v", s)
		}
	})
}

func TestRunReconcilesOnStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Options{}, v4a)
		if err := r.m.Watch("vi_1", []netip.Prefix{v4a}); err != nil {
			t.Fatal(err)
		}
		r.acquire("vi_2", once, v4c)
		r.be.externalDel(v4c) // lost while nobody watched
		r.wantPackets(2)
		r.run()
		r.wantPresent(false, v4a)
		r.wantPresent(true, v4c)
		r.wantPackets(4) // put back and announced again
		if s := r.m.Stats(); s.Reconciliations != (Reconciliations{ReAdded: 1, Removed: 1}) {
			t.Fatalf("stats %+v", s)
		}
	})
}

func TestRunRelistsAfterSubscriptionBreaks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Options{})
		r.run()
		r.acquire("vi_1", once, v4a)
		r.be.externalDel(v4a) // the event is lost in the overflow
		r.be.broken <- struct{}{}
		synctest.Wait()
		r.wantPresent(true, v4a) // resubscribed and re-listed at once
		if s := r.m.Stats(); s.Resubscriptions != 1 || s.Reconciliations.ReAdded != 1 {
			t.Fatalf("stats %+v", s)
		}
	})
}

func TestRunBacksOffWhenSubscribeFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Options{})
		r.be.failSubscribe = 3
		r.run()
		// Attempts at 0, +50ms, +150ms (after 100ms), +350ms (after 200ms).
		for _, step := range []struct {
			wait  time.Duration
			calls int
		}{{0, 1}, {ms(49), 1}, {ms(1), 2}, {ms(99), 2}, {ms(1), 3}, {ms(199), 3}, {ms(1), 4}} {
			r.advance(step.wait)
			if got := r.be.subscribeCalls(); got != step.calls {
				t.Fatalf("at +%v: %d subscribe attempts, want %d", r.clock.Now().Sub(t0), got, step.calls)
			}
		}
		if s := r.m.Stats(); s.Resubscriptions != 3 {
			t.Fatalf("stats %+v", s)
		}
	})
}

func TestRunIgnoresStaleEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Options{})
		r.run()
		// Events of our own Acquire/Release that arrive after the state
		// moved on must neither fight the state nor count.
		r.acquire("vi_1", once, v4a)
		r.release("vi_1")
		r.event(v4a, true) // the Acquire's RTM_NEWADDR, late
		r.acquire("vi_1", once, v4a)
		r.event(v4a, false) // the Release's RTM_DELADDR, late
		r.wantPresent(true, v4a)
		if s := r.m.Stats(); s.Reconciliations != (Reconciliations{}) {
			t.Fatalf("stats %+v", s)
		}
	})
}

func TestRemoveStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b32 := netip.MustParsePrefix("198.51.100.51/32")
		unrelated := netip.MustParsePrefix("198.51.100.99/24")
		r := newRig(t, Options{}, v4a, b32, unrelated)
		r.acquire("vi_1", once, v4c)
		err := r.m.RemoveStale(context.Background(), []netip.Prefix{v4a, v4b, v4c, netip.MustParsePrefix("198.51.100.70/24")})
		if err != nil {
			t.Fatal(err)
		}
		r.wantPresent(false, v4a, b32)
		r.wantPresent(true, v4c, unrelated)
		if s := r.m.Stats(); s.Reconciliations.Removed != 2 {
			t.Fatalf("stats %+v", s)
		}
	})
}

func TestForgetStopsWatching(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Options{})
		r.run()
		r.acquire("vi_1", once, v4a)
		if err := r.m.Forget(context.Background(), "vi_1"); err != nil {
			t.Fatal(err)
		}
		r.wantPresent(false, v4a)
		r.be.externalAdd(v4a)
		r.event(v4a, true)
		r.wantPresent(true, v4a) // no longer a known VIP
	})
}

func TestCloseStopsEverything(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Options{})
		errc := r.run()
		if err := r.m.Run(context.Background()); err == nil {
			t.Fatal("second concurrent Run accepted")
		}
		r.acquire("vi_1", Policy{Repeat: 1, Refresh: time.Second}, v4a)
		r.wantPackets(2)
		if err := r.m.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; err != nil {
			t.Fatalf("Run = %v after Close", err)
		}
		r.advance(time.Minute)
		r.wantPackets(2)
		r.wantPresent(true, v4a) // Close keeps addresses; Release removes them
		if !r.tx.closed || !r.be.closed {
			t.Fatal("sockets not closed")
		}
		ctx := context.Background()
		for name, err := range map[string]error{
			"Acquire":  r.m.Acquire(ctx, "vi_1", []netip.Prefix{v4a}, ""),
			"Announce": r.m.Announce("vi_1", []netip.Prefix{v4a}, once),
			"Release":  r.m.Release(ctx, "vi_1"),
			"Watch":    r.m.Watch("vi_1", nil),
			"Run":      r.m.Run(ctx),
		} {
			if !errors.Is(err, ErrClosed) {
				t.Errorf("%s after Close = %v, want ErrClosed", name, err)
			}
		}
		if err := r.m.Close(); err != nil {
			t.Fatalf("second Close = %v", err)
		}
	})
}

func TestRunStopsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Options{})
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- r.m.Run(ctx) }()
		synctest.Wait()
		cancel()
		if err := <-errc; err != nil {
			t.Fatalf("Run = %v", err)
		}
	})
}

func TestSendErrorsCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Options{})
		r.tx.err = errors.New("network is down")
		r.acquire("vi_1", once, v4a, v6a)
		if s := r.m.Stats(); s.AnnouncementErrors != 3 || s.AnnouncementsSent != 0 {
			t.Fatalf("stats %+v", s)
		}
	})
}

// TestRebindFollowsRecreatedInterface: the interface is deleted and created
// again with a new index. Until Rebind nothing reaches the new interface
// (the kernel answers ENODEV for the old index); Rebind while the name is
// missing says so; after it the held VIP is back on the new interface with
// a fresh burst, a known VIP nobody holds is removed from it, and a Release
// deletes from the new interface.
func TestRebindFollowsRecreatedInterface(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Options{})
		r.run()
		r.acquire("vi_1", once, v4a, v6a)
		r.wantPackets(3)
		if err := r.m.Watch("vi_2", []netip.Prefix{v4c}); err != nil {
			t.Fatal(err)
		}

		r.be.remove()
		r.event(v4a, false) // the kernel deletes the addresses first
		if s := r.m.Stats(); s.Reconciliations.ReAdded != 0 {
			t.Fatalf("re-added a VIP to a vanished interface: %+v", s)
		}
		if err := r.m.Rebind(context.Background()); !errors.Is(err, ErrNoInterface) {
			t.Fatalf("Rebind with no interface = %v, want ErrNoInterface", err)
		}
		r.be.recreate()
		r.be.externalAdd(v4c) // configured on the new interface by someone else
		if err := r.m.Acquire(context.Background(), "vi_3", []netip.Prefix{v4b}, ""); err == nil {
			t.Fatal("Acquire on the old index succeeded: the fake lost its ENODEV")
		}
		if err := r.m.Release(context.Background(), "vi_3"); err != nil {
			t.Fatal(err)
		}
		if err := r.m.Rebind(context.Background()); err != nil {
			t.Fatalf("Rebind: %v", err)
		}
		synctest.Wait()
		r.wantPresent(true, v4a, v6a)
		r.wantPresent(false, v4c)
		r.wantPackets(6) // a fresh burst on the new interface
		if got := r.tx.boundTo(); got != 3 {
			t.Errorf("sender bound to index %d, want the new interface's 3", got)
		}
		if s := r.m.Stats(); s.Reconciliations != (Reconciliations{ReAdded: 2, Removed: 1}) {
			t.Errorf("stats %+v, want 2 re-added, 1 removed", s)
		}
		r.release("vi_1")
		r.wantPresent(false, v4a, v6a)
	})
}
