package engine

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hawatch/hawatch/core/sdnotify"
	"github.com/hawatch/hawatch/sdk"
)

// stuckNotifier blocks in Notify until released: the contract says Notify
// never blocks, so this stands for a bug that wedges the loop.
// It lets transitions pass until armed.
type stuckNotifier struct {
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (n *stuckNotifier) Notify(sdk.Transition) {
	if !n.armed.Load() {
		return
	}
	n.entered <- struct{}{}
	<-n.release
}

// TestAliveFailsWhileLoopIsWedged: Alive (the systemd watchdog's probe)
// answers while the loop runs, times out while a step is stuck, answers
// again once it returns, and reports ErrStopped after Run has ended.
func TestAliveFailsWhileLoopIsWedged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &lan{}
		stuck := &stuckNotifier{entered: make(chan struct{}, 1), release: make(chan struct{})}
		pol := policy(100, `notify = ["page"]`) + `
action "page" {
  plugin = "process"
}
`
		n := startNodeWith(t, l, "198.51.100.11", pol, Options{Actions: map[string]Notifier{"page": stuck}})
		ctx := context.Background()
		if err := n.eng.Alive(ctx); err != nil {
			t.Fatalf("running loop: %v", err)
		}
		// The next transition (BACKUP to MASTER, the node is alone) enters
		// the notifier and the loop is stuck there.
		stuck.armed.Store(true)
		<-stuck.entered
		tctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		err := n.eng.Alive(tctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("wedged loop: Alive = %v, want a timeout", err)
		}
		// Unstick it for good.
		stuck.armed.Store(false)
		stuck.release <- struct{}{}
		if err := n.eng.Alive(ctx); err != nil {
			t.Fatalf("loop running again: %v", err)
		}
		n.stop(t)
		if err := n.eng.Alive(ctx); !errors.Is(err, ErrStopped) {
			t.Fatalf("after Run: Alive = %v, want ErrStopped", err)
		}
	})
}

// TestWatchdogFedFromLoop wires Alive into the systemd watchdog as the
// daemon does (on the fake clock): pings every half interval while the
// loop runs, none while it is wedged, so systemd (WatchdogSec) would kill
// it; they resume when it runs again.
func TestWatchdogFedFromLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &lan{}
		stuck := &stuckNotifier{entered: make(chan struct{}, 1), release: make(chan struct{})}
		pol := policy(100, `notify = ["page"]`) + `
action "page" {
  plugin = "process"
}
`
		n := startNodeWith(t, l, "198.51.100.11", pol, Options{Actions: map[string]Notifier{"page": stuck}})
		var pings atomic.Int64
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			sdnotify.RunWatchdog(ctx, time.Second, n.eng.Alive, func() error { pings.Add(1); return nil }, nil)
		}()
		time.Sleep(2*time.Second + time.Millisecond)
		if got := pings.Load(); got != 4 {
			t.Errorf("running loop: %d pings in 2 s at WatchdogSec=1s, want 4", got)
		}
		// Wedge the loop at its next transition (BACKUP to MASTER, 3.6 s
		// after start), then give the watchdog 3 s: systemd would have
		// killed the daemon after 1 s without a ping.
		stuck.armed.Store(true)
		<-stuck.entered
		time.Sleep(600 * time.Millisecond) // a probe already answered may still ping once
		before := pings.Load()
		time.Sleep(3 * time.Second)
		if got := pings.Load() - before; got != 0 {
			t.Errorf("wedged loop: %d pings in 3 s, want none", got)
		}
		stuck.armed.Store(false)
		stuck.release <- struct{}{}
		before = pings.Load()
		time.Sleep(2 * time.Second)
		if got := pings.Load() - before; got < 3 {
			t.Errorf("loop running again: %d pings in 2 s, want at least 3", got)
		}
		cancel()
		<-done
		n.stop(t)
	})
}
