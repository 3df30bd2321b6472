package route

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"
)

// fakeBackend is an in-memory routing table; external* change it "from
// outside" and emit the event the kernel would.
type fakeBackend struct {
	mu     sync.Mutex
	routes []Route
	rules  []Rule
	fail   map[string]error // by String of the route or rule
	ops    []string
	events chan struct{}
	closed bool
}

func newFake() *fakeBackend {
	return &fakeBackend{fail: map[string]error{}, events: make(chan struct{})}
}

func (b *fakeBackend) addRoute(r Route) error { return fakeAdd(b, &b.routes, r) }
func (b *fakeBackend) delRoute(r Route) error { return fakeDel(b, &b.routes, r) }
func (b *fakeBackend) addRule(r Rule) error   { return fakeAdd(b, &b.rules, r) }
func (b *fakeBackend) delRule(r Rule) error   { return fakeDel(b, &b.rules, r) }

func fakeAdd[T interface {
	comparable
	fmt.Stringer
}](b *fakeBackend, set *[]T, v T) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ops = append(b.ops, "add "+v.String())
	if err := b.fail[v.String()]; err != nil {
		return err
	}
	if slices.Contains(*set, v) {
		return errExists
	}
	*set = append(*set, v)
	return nil
}

func fakeDel[T interface {
	comparable
	fmt.Stringer
}](b *fakeBackend, set *[]T, v T) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ops = append(b.ops, "del "+v.String())
	i := slices.Index(*set, v)
	if i < 0 {
		return errMissing
	}
	*set = slices.Delete(*set, i, i+1)
	return nil
}

func (b *fakeBackend) watch(ctx context.Context, ready, changed func()) error {
	ready()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-b.events:
			changed()
		}
	}
}

func (b *fakeBackend) close() error { b.closed = true; return nil }

func (b *fakeBackend) has(v any) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch v := v.(type) {
	case Route:
		return slices.Contains(b.routes, v)
	case Rule:
		return slices.Contains(b.rules, v)
	}
	return false
}

// externalDelRoute deletes r as `ip route del` would, with its event.
func (b *fakeBackend) externalDelRoute(r Route) {
	b.mu.Lock()
	b.routes = slices.DeleteFunc(b.routes, func(x Route) bool { return x == r })
	b.mu.Unlock()
	b.events <- struct{}{}
}

func (b *fakeBackend) externalDelRule(r Rule) {
	b.mu.Lock()
	b.rules = slices.DeleteFunc(b.rules, func(x Rule) bool { return x == r })
	b.mu.Unlock()
	b.events <- struct{}{}
}

var (
	r1 = Route{Dst: netip.MustParsePrefix("198.51.100.128/25"), Via: netip.MustParseAddr("198.51.100.1"), Table: 100}
	r2 = Route{Dst: netip.MustParsePrefix("2001:db8:1::/48"), Dev: "eth0"}
	bh = Route{Dst: netip.MustParsePrefix("198.51.100.64/26"), Type: TypeBlackhole}
	u1 = Rule{Family: 4, From: netip.MustParsePrefix("198.51.100.50/32"), Table: 100, Priority: 100}
)

func newTestManager(t *testing.T) (*Manager, *fakeBackend) {
	be := newFake()
	m := newManager(zerolog.New(zerolog.NewTestWriter(t)), be, Options{Retry: time.Second})
	t.Cleanup(func() { _ = m.Close() })
	return m, be
}

func startRun(m *Manager) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = m.Run(ctx); close(done) }()
	synctest.Wait()
	return func() { cancel(); <-done }
}

func TestAcquireReleaseIdempotent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, be := newTestManager(t)
		ctx := context.Background()
		for range 2 {
			if err := m.Acquire(ctx, "vi_1", []Route{r1, bh, r1}, []Rule{u1}); err != nil {
				t.Fatal(err)
			}
		}
		if len(be.routes) != 2 || len(be.rules) != 1 {
			t.Fatalf("routes %v rules %v", be.routes, be.rules)
		}
		// Replacing the set deletes what was dropped.
		if err := m.Acquire(ctx, "vi_1", []Route{r1, r2}, nil); err != nil {
			t.Fatal(err)
		}
		if be.has(bh) || be.has(u1) || !be.has(r2) {
			t.Fatalf("after replace: routes %v rules %v", be.routes, be.rules)
		}
		for range 2 {
			if err := m.Release(ctx, "vi_1"); err != nil {
				t.Fatal(err)
			}
		}
		if len(be.routes) != 0 || len(be.rules) != 0 {
			t.Fatalf("after release: routes %v rules %v", be.routes, be.rules)
		}
	})
}

// A route two owners hold (an instance's and the static set) stays until
// the last one releases it.
func TestSharedRouteStaysUntilLastOwnerReleases(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, be := newTestManager(t)
		ctx := context.Background()
		_ = m.Acquire(ctx, "a", []Route{r1}, nil)
		_ = m.Acquire(ctx, "b", []Route{r1}, nil)
		_ = m.Release(ctx, "a")
		if !be.has(r1) {
			t.Fatal("deleted while b holds it")
		}
		_ = m.RemoveStale(ctx, []Route{r1}, nil)
		if !be.has(r1) {
			t.Fatal("RemoveStale deleted a held route")
		}
		_ = m.Release(ctx, "b")
		if be.has(r1) {
			t.Fatal("still there")
		}
	})
}

func TestRunPutsBackDeleted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, be := newTestManager(t)
		stop := startRun(m)
		defer stop()
		_ = m.Acquire(context.Background(), "vi_1", []Route{r1}, []Rule{u1})
		be.externalDelRoute(r1)
		synctest.Wait()
		be.externalDelRule(u1)
		synctest.Wait()
		if !be.has(r1) || !be.has(u1) {
			t.Fatalf("not put back: routes %v rules %v", be.routes, be.rules)
		}
		if s := m.Stats(); s.ReAdded != 2 {
			t.Fatalf("stats %+v", s)
		}
		// Not held any more: a deletion is left alone.
		_ = m.Release(context.Background(), "vi_1")
		_ = m.Acquire(context.Background(), "vi_2", []Route{r2}, nil)
		be.externalDelRoute(r2)
		synctest.Wait()
		if be.has(r1) || !be.has(r2) {
			t.Fatalf("routes %v", be.routes)
		}
	})
}

// A route that cannot go in (its device or source address not there yet)
// is reported, counts as held, and goes in on a retry.
func TestFailedAddRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, be := newTestManager(t)
		stop := startRun(m)
		defer stop()
		boom := errors.New("invalid prefsrc")
		be.mu.Lock()
		be.fail[r1.String()] = boom
		be.mu.Unlock()
		err := m.Acquire(context.Background(), "vi_1", []Route{r1}, nil)
		if !errors.Is(err, boom) {
			t.Fatalf("err %v", err)
		}
		synctest.Wait() // the pass Acquire asked for runs, and fails too
		be.mu.Lock()
		delete(be.fail, r1.String())
		be.mu.Unlock()
		time.Sleep(999 * time.Millisecond)
		synctest.Wait()
		// The first retry pass ran at once (Acquire poked) and failed;
		// the next is a full Retry later.
		if be.has(r1) {
			t.Fatal("retried before the retry delay")
		}
		time.Sleep(2 * time.Millisecond)
		synctest.Wait()
		if !be.has(r1) {
			t.Fatal("not retried")
		}
		if s := m.Stats(); s.ReAdded != 0 || s.Errors == 0 {
			t.Fatalf("stats %+v", s)
		}
	})
}

func TestAcquireRejectsInvalid(t *testing.T) {
	m, be := newTestManager(t)
	bad := []struct {
		routes []Route
		rules  []Rule
	}{
		{routes: []Route{{Dst: netip.MustParsePrefix("198.51.100.129/25"), Dev: "eth0"}}},
		{routes: []Route{{Dst: netip.MustParsePrefix("198.51.100.128/25")}}},
		{routes: []Route{{Dst: netip.MustParsePrefix("198.51.100.128/25"), Type: TypeBlackhole, Dev: "eth0"}}},
		{routes: []Route{{Dst: netip.MustParsePrefix("198.51.100.128/25"), Via: netip.MustParseAddr("2001:db8::1")}}},
		{routes: []Route{{Dst: netip.MustParsePrefix("198.51.100.128/25"), Dev: "eth0", OnLink: true}}},
		{rules: []Rule{{Family: 4, From: netip.MustParsePrefix("198.51.100.0/24")}}},
		{routes: []Route{{Dst: netip.MustParsePrefix("198.51.100.128/25"), Nexthops: [MaxNexthops]netip.Addr{netip.MustParseAddr("198.51.100.1")}}}},
		{routes: []Route{{Dst: netip.MustParsePrefix("198.51.100.128/25"), Via: netip.MustParseAddr("198.51.100.1"),
			Nexthops: [MaxNexthops]netip.Addr{netip.MustParseAddr("198.51.100.2"), netip.MustParseAddr("198.51.100.3")}}}},
		{routes: []Route{{Dst: netip.MustParsePrefix("198.51.100.128/25"),
			Nexthops: [MaxNexthops]netip.Addr{netip.MustParseAddr("198.51.100.2"), {}, netip.MustParseAddr("198.51.100.3")}}}},
		{rules: []Rule{{Family: 6, From: netip.MustParsePrefix("198.51.100.0/24"), Table: 1}}},
	}
	for _, tc := range bad {
		if err := m.Acquire(context.Background(), "x", tc.routes, tc.rules); err == nil {
			t.Errorf("%v %v accepted", tc.routes, tc.rules)
		}
	}
	if len(be.ops) != 0 {
		t.Errorf("kernel touched: %v", be.ops)
	}
}

func TestStrings(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{r1.String(), "198.51.100.128/25 via 198.51.100.1 table 100"},
		{bh.String(), "blackhole 198.51.100.64/26"},
		{u1.String(), "100: from 198.51.100.50/32 lookup 100"},
		{Rule{Family: 4, Table: 7, HasMark: true, Mark: 3, Mask: 0xff, IIF: "eth1"}.String(), "from all iif eth1 fwmark 0x3/0xff lookup 7"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	for _, n := range []string{"unicast", "blackhole", "unreachable", "prohibit"} {
		if ty, err := ParseType(n); err != nil || ty.String() != n {
			t.Errorf("%s: %v %v", n, ty, err)
		}
	}
}

// keepalived's no_track: a deleted route stays gone until the next
// Acquire after a Release; a tracked one next to it comes back.
func TestNoTrackNotPutBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, be := newTestManager(t)
		stop := startRun(m)
		defer stop()
		nt := r2
		nt.NoTrack = true
		ctx := context.Background()
		_ = m.Acquire(ctx, "vi_1", []Route{r1, nt}, nil)
		be.externalDelRoute(nt)
		synctest.Wait()
		be.externalDelRoute(r1)
		synctest.Wait()
		if be.has(nt) || !be.has(r1) {
			t.Fatalf("routes %v: want r1 put back, the no_track one not", be.routes)
		}
		_ = m.Release(ctx, "vi_1")
		_ = m.Acquire(ctx, "vi_1", []Route{r1, nt}, nil)
		if !be.has(nt) {
			t.Fatal("no_track route not installed on the next acquire")
		}
	})
}
