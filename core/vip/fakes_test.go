package vip

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// fakeClock is a manual clock. Timers fire when the test advances past them.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	ch      chan time.Time
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), ch: make(chan time.Time, 1)}
	if d <= 0 {
		t.ch <- c.now
		return t
	}
	c.timers = append(c.timers, t)
	return t
}

// advanceTo moves the clock to at and fires every timer due by then.
func (c *fakeClock) advanceTo(at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if at.Before(c.now) {
		panic("fake clock going backwards")
	}
	c.now = at
	c.timers = slices.DeleteFunc(c.timers, func(t *fakeTimer) bool {
		if t.stopped {
			return true
		}
		if !t.at.After(at) {
			t.ch <- t.at
			return true
		}
		return false
	})
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped && slices.Contains(t.c.timers, t)
	t.stopped = true
	return was
}

// errNoDevice is what the backend says to an add on an interface index
// that no longer exists (the kernel's ENODEV).
var errNoDevice = fmt.Errorf("%w: no such device", errLinkGone)

// fakeBackend is an in-memory interface. Tests change it "from outside" with
// externalAdd/externalDel, which also emit the event a kernel would.
type fakeBackend struct {
	mu     sync.Mutex
	addrs  map[netip.Prefix]string // prefix -> label
	addErr map[netip.Prefix]error
	ops    []string

	events        chan addrEvent // delivered by watch
	broken        chan struct{}  // a receive ends the current watch as an overflow would
	failSubscribe int            // watches that fail before ready
	subscribes    int            // watch calls
	closed        bool

	index   int  // of the interface; recreate gives it a new one
	bound   int  // the index the Manager is bound to (set by rebind)
	missing bool // no interface by the name: rebind fails
}

func newFakeBackend(present ...netip.Prefix) *fakeBackend {
	b := &fakeBackend{
		addrs:  make(map[netip.Prefix]string),
		addErr: make(map[netip.Prefix]error),
		events: make(chan addrEvent),
		broken: make(chan struct{}),
		index:  2,
		bound:  2,
	}
	for _, p := range present {
		b.addrs[p] = ""
	}
	return b
}

func (b *fakeBackend) add(p netip.Prefix, o AddrOptions) error {
	label := o.Label
	if !p.Addr().Is4() {
		label = ""
	}
	if o.Scope != ScopeGlobal || o.Broadcast.IsValid() {
		label += fmt.Sprintf(" scope=%s brd=%v", o.Scope, o.Broadcast)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.addErr[p]; err != nil {
		return err
	}
	b.ops = append(b.ops, "add "+p.String())
	if b.missing || b.bound != b.index {
		return errNoDevice
	}
	if _, ok := b.addrs[p]; ok {
		return errAddrExists
	}
	b.addrs[p] = label
	return nil
}

func (b *fakeBackend) del(p netip.Prefix) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ops = append(b.ops, "del "+p.String())
	if _, ok := b.addrs[p]; !ok || b.missing || b.bound != b.index {
		return errAddrMissing
	}
	delete(b.addrs, p)
	return nil
}

func (b *fakeBackend) list() ([]netip.Prefix, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Collect(maps.Keys(b.addrs)), nil
}

func (b *fakeBackend) watch(ctx context.Context, ready func() error, event func(addrEvent)) error {
	b.mu.Lock()
	b.subscribes++
	fail := b.failSubscribe > 0
	if fail {
		b.failSubscribe--
	}
	b.mu.Unlock()
	if fail {
		return ErrSubscription
	}
	if err := ready(); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-b.broken:
			return ErrSubscription
		case ev := <-b.events:
			event(ev)
		}
	}
}

func (b *fakeBackend) rebind() (int, net.HardwareAddr, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ops = append(b.ops, "rebind")
	if b.missing {
		return 0, nil, fmt.Errorf("find interface: %w", ErrNoInterface)
	}
	b.bound = b.index
	return b.index, net.HardwareAddr{2, 0, 0, 0, 0, byte(b.index)}, nil
}

// remove deletes the interface: its addresses go with it.
func (b *fakeBackend) remove() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.missing = true
	clear(b.addrs)
}

// recreate creates the interface again, with a new index and no addresses.
func (b *fakeBackend) recreate() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.missing = false
	b.index++
	clear(b.addrs)
}

func (b *fakeBackend) subscribeCalls() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.subscribes
}

func (b *fakeBackend) close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	return nil
}

func (b *fakeBackend) has(p netip.Prefix) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.addrs[p]
	return ok
}

func (b *fakeBackend) label(p netip.Prefix) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.addrs[p]
}

// externalDel and externalAdd change the interface behind the Manager's back
// (without emitting an event; send one on b.events for that).
func (b *fakeBackend) externalDel(p netip.Prefix) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.addrs, p)
}

func (b *fakeBackend) externalAdd(p netip.Prefix) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.addrs[p] = ""
}

// sentPacket is one packet the fake sender wrote, with the fake time.
type sentPacket struct {
	at time.Time
	a  announcement
}

type fakeSender struct {
	clock  Clock
	mu     sync.Mutex
	sent   []sentPacket
	err    error
	closed bool
	index  int // set by rebind
}

func (s *fakeSender) rebind(index int, _ net.HardwareAddr) (func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.index = index
	return func() {}, nil
}

func (s *fakeSender) boundTo() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.index
}

func (s *fakeSender) send(a announcement) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("send on closed sender")
	}
	if s.err != nil {
		return s.err
	}
	s.sent = append(s.sent, sentPacket{s.clock.Now(), a})
	return nil
}

func (s *fakeSender) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

func (s *fakeSender) packets() []sentPacket {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent)
}

func (s *fakeSender) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sent)
}
