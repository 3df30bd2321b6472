package engine

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"github.com/hawatch/hawatch/core/config"
)

// fakeFence records Drop and Lift in the node's VIP call log, so the test
// sees their order against Acquire and Release.
type fakeFence struct {
	f      *fakeVIPs
	closed bool
	addrs  []netip.Addr
}

func (ff *fakeFence) Drop(owner string, addrs []netip.Addr) error {
	ff.f.mu.Lock()
	defer ff.f.mu.Unlock()
	ff.f.record("", "fence", owner)
	ff.addrs = addrs
	return nil
}

func (ff *fakeFence) Lift(owner string) error {
	ff.f.mu.Lock()
	defer ff.f.mu.Unlock()
	ff.f.record("", "unfence", owner)
	return nil
}

func (ff *fakeFence) RemoveStale() error            { return nil }
func (ff *fakeFence) Run(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
func (ff *fakeFence) Close() error {
	ff.f.mu.Lock()
	defer ff.f.mu.Unlock()
	ff.closed = true
	return nil
}

func ops(f *fakeVIPs, owner string, want ...string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if c.owner == owner && slices.Contains(want, c.op) {
			out = append(out, c.op)
		}
	}
	return out
}

// TestFenceFollowsMastership: a master without accept mode fences its VIPs
// before adding them and lifts the fence after removing them; the fence
// closes (its table removed) when the engine stops. A node that accepts
// never calls the fence.
func TestFenceFollowsMastership(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &lan{}
		var ff1, ff2 *fakeFence
		lb2 := startFenced(t, l, "198.51.100.12", policy(50, ""), &ff2)
		lb1 := startFenced(t, l, "198.51.100.11", policy(100, "accept = false"), &ff1)
		lb1.waitHeld(t, 5*time.Second)
		time.Sleep(10 * time.Millisecond)
		if got := ops(lb1.vips, "VI_1", "fence", "acquire", "release", "unfence"); !slices.Equal(got, []string{"fence", "acquire"}) {
			t.Fatalf("lb1 ops = %v, want fence before acquire", got)
		}
		if !slices.Equal(ff1.addrs, []netip.Addr{netip.MustParseAddr("198.51.100.50")}) {
			t.Fatalf("fenced %v", ff1.addrs)
		}
		lb1.stop(t)
		if got := ops(lb1.vips, "VI_1", "fence", "acquire", "release", "unfence"); !slices.Equal(got, []string{"fence", "acquire", "release", "unfence"}) {
			t.Fatalf("lb1 ops after stop = %v, want the fence lifted after release", got)
		}
		if !ff1.closed {
			t.Fatal("fence not closed at stop")
		}
		// lb2 takes over; it accepts, so no fence call.
		lb2.waitHeld(t, 5*time.Second)
		if got := ops(lb2.vips, "VI_1", "fence", "unfence"); len(got) != 0 {
			t.Fatalf("accepting node called the fence: %v", got)
		}
		lb2.stop(t)
	})
}

// startFenced is startNodeWith with a fake fence that logs into the node's
// VIP call log.
func startFenced(t *testing.T, l *lan, addr, pol string, ff **fakeFence) *node {
	t.Helper()
	cfg, diags := config.Parse([]byte(pol), addr+".hcl")
	if diags.HasErrors() {
		t.Fatalf("policy: %v", diags)
	}
	n := &node{vips: newFakeVIPs(), done: make(chan error, 1), cfg: cfg}
	*ff = &fakeFence{f: n.vips}
	opts := Options{
		Listen:        l.dial(addr),
		NewVIPManager: func(_ zerolog.Logger, ifname string) (VIPManager, error) { return n.vips.manager(ifname), nil },
		NewFence:      func(zerolog.Logger) (Fence, error) { return *ff, nil },
	}
	eng, err := New(zerolog.Nop(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	n.eng = eng
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go func() { n.done <- eng.Run(ctx) }()
	return n
}

// TestNoAcceptWithoutFenceRefused: without a fence an instance with accept
// = false does not start (it would accept what it must drop).
func TestNoAcceptWithoutFenceRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := startNodeWith(t, &lan{}, "198.51.100.11", policy(100, "accept = false"), Options{})
		err := <-n.done
		if err == nil || !strings.Contains(err.Error(), "accept = false needs the nftables fence") {
			t.Fatalf("Run = %v", err)
		}
	})
}
