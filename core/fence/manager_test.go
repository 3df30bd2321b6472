package fence

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// fakeBackend is an in-memory table: what Read sees is what Build and
// SetAddrs wrote, unless a test edits it "by hand".
type fakeBackend struct {
	mu       sync.Mutex
	present  bool
	complete bool
	addrs    []netip.Addr
	ops      []string
	failRead error
	changes  chan struct{}
	closed   bool
}

func newFake() *fakeBackend { return &fakeBackend{changes: make(chan struct{}, 1)} }

func (f *fakeBackend) Read() (State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failRead != nil {
		return State{}, f.failRead
	}
	return State{Present: f.present, Complete: f.complete, Addrs: slices.Clone(f.addrs)}, nil
}

func (f *fakeBackend) Build(addrs []netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.present, f.complete, f.addrs = true, true, slices.Clone(addrs)
	f.ops = append(f.ops, "build"+addrList(addrs).String())
	return nil
}

func (f *fakeBackend) SetAddrs(addrs []netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.present || !f.complete {
		return errors.New("no table")
	}
	f.addrs = slices.Clone(addrs)
	f.ops = append(f.ops, "set"+addrList(addrs).String())
	return nil
}

func (f *fakeBackend) Remove() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.present, f.complete, f.addrs = false, false, nil
	f.ops = append(f.ops, "remove")
	return nil
}

func (f *fakeBackend) Changes() <-chan struct{} { return f.changes }

func (f *fakeBackend) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

func (f *fakeBackend) edit(fn func(f *fakeBackend)) {
	f.mu.Lock()
	fn(f)
	f.mu.Unlock()
	select {
	case f.changes <- struct{}{}:
	default:
	}
}

func (f *fakeBackend) takeOps() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	ops := f.ops
	f.ops = nil
	return ops
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

func TestDropLiftUnion(t *testing.T) {
	be := newFake()
	m := NewManager(zerolog.Nop(), be, Options{})
	// Lift before anything: no table is made for a node that never fences.
	if err := m.Lift("a"); err != nil {
		t.Fatal(err)
	}
	if ops := be.takeOps(); len(ops) != 0 {
		t.Fatalf("ops before any drop: %v", ops)
	}
	if err := m.Drop("a", addrs("198.51.100.50", "2001:db8::50")); err != nil {
		t.Fatal(err)
	}
	if err := m.Drop("b", addrs("198.51.100.51", "198.51.100.50")); err != nil {
		t.Fatal(err)
	}
	want := []string{"build[198.51.100.50 2001:db8::50]", "set[198.51.100.50 198.51.100.51 2001:db8::50]"}
	if ops := be.takeOps(); !slices.Equal(ops, want) {
		t.Fatalf("ops = %v, want %v", ops, want)
	}
	// a's address 198.51.100.50 is b's too: it stays fenced.
	if err := m.Lift("a"); err != nil {
		t.Fatal(err)
	}
	if got := m.Fenced(); !slices.Equal(got, addrs("198.51.100.50", "198.51.100.51")) {
		t.Fatalf("fenced after lift a = %v", got)
	}
	if err := m.Lift("b"); err != nil {
		t.Fatal(err)
	}
	// The table stays (empty) until Close removes it.
	if ops := be.takeOps(); !slices.Equal(ops, []string{"set[198.51.100.50 198.51.100.51]", "set[]"}) {
		t.Fatalf("ops = %v", ops)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if ops := be.takeOps(); !slices.Equal(ops, []string{"remove"}) || !be.closed {
		t.Fatalf("close ops = %v closed=%v", ops, be.closed)
	}
	if err := m.Drop("a", addrs("198.51.100.50")); !errors.Is(err, ErrClosed) {
		t.Fatalf("drop after close: %v", err)
	}
}

func TestCloseWithoutTableRemovesNothing(t *testing.T) {
	be := newFake()
	m := NewManager(zerolog.Nop(), be, Options{})
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if ops := be.takeOps(); len(ops) != 0 {
		t.Fatalf("ops = %v", ops)
	}
}

func TestDropIdempotent(t *testing.T) {
	be := newFake()
	m := NewManager(zerolog.Nop(), be, Options{})
	for range 3 {
		if err := m.Drop("a", addrs("198.51.100.50")); err != nil {
			t.Fatal(err)
		}
	}
	if ops := be.takeOps(); !slices.Equal(ops, []string{"build[198.51.100.50]"}) {
		t.Fatalf("ops = %v", ops)
	}
}

func TestDropReadErrorReported(t *testing.T) {
	be := newFake()
	be.failRead = errors.New("netlink down")
	m := NewManager(zerolog.Nop(), be, Options{})
	if err := m.Drop("a", addrs("198.51.100.50")); err == nil {
		t.Fatal("drop with a failing backend succeeded")
	}
}

// waitOps waits for the reconciler's writes (it runs on its own goroutine).
func waitOps(t *testing.T, be *fakeBackend, want []string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var got []string
	for time.Now().Before(deadline) {
		got = append(got, be.takeOps()...)
		if slices.Equal(got, want) {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("ops = %v, want %v", got, want)
}

func TestRunRepairs(t *testing.T) {
	be := newFake()
	m := NewManager(zerolog.Nop(), be, Options{Poll: time.Hour}) // changes only
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	if err := m.Drop("a", addrs("198.51.100.50")); err != nil {
		t.Fatal(err)
	}
	be.takeOps()

	be.edit(func(f *fakeBackend) { f.present, f.complete, f.addrs = false, false, nil }) // nft delete table
	waitOps(t, be, []string{"build[198.51.100.50]"})
	be.edit(func(f *fakeBackend) { f.complete = false }) // nft flush chain
	waitOps(t, be, []string{"build[198.51.100.50]"})
	be.edit(func(f *fakeBackend) { f.addrs = nil }) // nft flush set
	waitOps(t, be, []string{"set[198.51.100.50]"})
	be.edit(func(f *fakeBackend) { f.addrs = addrs("198.51.100.50", "198.51.100.99") }) // element added by hand
	waitOps(t, be, []string{"set[198.51.100.50]"})
	if s := m.Stats(); s.Repairs != 4 {
		t.Fatalf("repairs = %d, want 4 (%+v)", s.Repairs, s)
	}
	// A change signal with the table intact writes nothing.
	be.edit(func(*fakeBackend) {})
	time.Sleep(20 * time.Millisecond)
	if ops := be.takeOps(); len(ops) != 0 {
		t.Fatalf("intact table rewritten: %v", ops)
	}
}

func TestRunPollsWithoutChanges(t *testing.T) {
	be := newFake()
	be.changes = nil
	m := NewManager(zerolog.Nop(), be, Options{Poll: 5 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	if err := m.Drop("a", addrs("2001:db8::50")); err != nil {
		t.Fatal(err)
	}
	be.takeOps()
	be.mu.Lock()
	be.present, be.complete, be.addrs = false, false, nil
	be.mu.Unlock()
	waitOps(t, be, []string{"build[2001:db8::50]"})
}

func TestRemoveStale(t *testing.T) {
	be := newFake()
	be.present, be.complete, be.addrs = true, true, addrs("198.51.100.50")
	m := NewManager(zerolog.Nop(), be, Options{})
	if err := m.RemoveStale(); err != nil {
		t.Fatal(err)
	}
	if ops := be.takeOps(); !slices.Equal(ops, []string{"remove"}) {
		t.Fatalf("ops = %v", ops)
	}
	// Once this run fences something the table is its own: untouched.
	if err := m.Drop("a", addrs("198.51.100.51")); err != nil {
		t.Fatal(err)
	}
	be.takeOps()
	if err := m.RemoveStale(); err != nil {
		t.Fatal(err)
	}
	if ops := be.takeOps(); len(ops) != 0 {
		t.Fatalf("ops = %v", ops)
	}
}
