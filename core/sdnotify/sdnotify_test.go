package sdnotify

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// listen is a fake service manager: a unixgram socket collecting datagrams.
func listen(t *testing.T, path string) (*net.UnixConn, func() string) {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, func() string {
		buf := make([]byte, 4096)
		if err := conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no datagram: %v", err)
		}
		return string(buf[:n])
	}
}

func TestNotifySendsOneDatagram(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify")
	_, read := listen(t, path)
	n := New(path)
	if !n.Enabled() {
		t.Fatal("notifier with a socket is not enabled")
	}
	if err := n.Notify(Ready, "STATUS=2 instances"); err != nil {
		t.Fatal(err)
	}
	if got, want := read(), "READY=1\nSTATUS=2 instances\n"; got != want {
		t.Errorf("datagram %q, want %q", got, want)
	}
}

func TestNotifyAbstractSocket(t *testing.T) {
	name := "@hawatch-sdnotify-test-" + strings.ReplaceAll(t.Name(), "/", "-")
	_, read := listen(t, name)
	if err := New(name).Notify(Watchdog); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != "WATCHDOG=1\n" {
		t.Errorf("datagram %q", got)
	}
}

func TestNotifyWithoutSocketIsNoop(t *testing.T) {
	n := New("")
	if n.Enabled() {
		t.Error("empty NOTIFY_SOCKET enabled")
	}
	if err := n.Notify(Ready); err != nil {
		t.Error(err)
	}
	// A socket nobody listens on is an error the caller can log.
	if err := New(filepath.Join(t.TempDir(), "absent")).Notify(Ready); err == nil {
		t.Error("notify to a missing socket succeeded")
	}
}

func TestWatchdogInterval(t *testing.T) {
	for _, tc := range []struct {
		usec, pid string
		want      time.Duration
		bad       bool
	}{
		{"", "", 0, false},
		{"10000000", "", 10 * time.Second, false},
		{"10000000", "42", 10 * time.Second, false},
		{"10000000", "43", 0, false}, // meant for another process
		{"0", "", 0, true},
		{"ten", "", 0, true},
		{"1000", "x", 0, true},
		{"9223372036854776", "", 0, true}, // overflows a Duration
	} {
		got, err := watchdogInterval(tc.usec, tc.pid, 42)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("USEC=%q PID=%q: %v, %v; want %v, error %v", tc.usec, tc.pid, got, err, tc.want, tc.bad)
		}
	}
}

// fakeLoop stands for the engine's loop: while stalled it never answers a
// probe, as a loop blocked inside a step would not.
type fakeLoop struct {
	mu      sync.Mutex
	stalled bool
	ended   bool
}

func (l *fakeLoop) probe(ctx context.Context) error {
	l.mu.Lock()
	stalled, ended := l.stalled, l.ended
	l.mu.Unlock()
	switch {
	case ended:
		return errors.New("engine not running")
	case stalled:
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

func (l *fakeLoop) set(stalled, ended bool) {
	l.mu.Lock()
	l.stalled, l.ended = stalled, ended
	l.mu.Unlock()
}

// TestWatchdogStopsWhenLoopStalls drives the watchdog tick by tick: a live
// loop gets a ping per tick, a stalled one none (so systemd's WatchdogSec
// runs out), pings resume when the loop does, and a loop that has ended
// stops the watchdog.
func TestWatchdogStopsWhenLoopStalls(t *testing.T) {
	loop := &fakeLoop{}
	ticks := make(chan time.Time)
	pings := make(chan struct{}, 16)
	misses := make(chan error, 16)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		watch(ctx, ticks, 20*time.Millisecond, loop.probe,
			func() error { pings <- struct{}{}; return nil },
			func(err error) { misses <- err })
	}()
	// tick sends one tick and reports whether it produced a ping (true) or
	// a miss (false).
	tick := func() bool {
		t.Helper()
		ticks <- time.Time{}
		select {
		case <-pings:
			return true
		case err := <-misses:
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("live or stalled loop: miss %v, want a timeout", err)
			}
			return false
		case <-time.After(5 * time.Second):
			t.Fatal("watchdog neither pinged nor missed")
			return false
		}
	}
	for i := range 3 {
		if !tick() {
			t.Fatalf("tick %d of a live loop: no ping", i)
		}
	}
	loop.set(true, false)
	for i := range 3 {
		if tick() {
			t.Fatalf("tick %d of a stalled loop: pinged", i)
		}
	}
	loop.set(false, false)
	if !tick() {
		t.Fatal("loop running again: no ping")
	}
	loop.set(false, true)
	ticks <- time.Time{}
	select {
	case err := <-misses:
		if errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("ended loop reported as a timeout: %v", err)
		}
	case <-pings:
		t.Fatal("ended loop pinged")
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("watchdog still running after the loop ended")
	}
	if len(pings) > 0 {
		t.Errorf("%d stray pings", len(pings))
	}
}

// FuzzWatchdogInterval: whatever systemd (or anyone) puts in the
// environment, the parse neither panics nor yields a negative interval.
func FuzzWatchdogInterval(f *testing.F) {
	for _, s := range [][2]string{{"10000000", ""}, {"1", "42"}, {"-5", ""}, {"99999999999999999999", "x"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, usec, pid string) {
		d, err := watchdogInterval(usec, pid, 42)
		if d < 0 || (err != nil && d != 0) {
			t.Errorf("USEC=%q PID=%q: %v, %v", usec, pid, d, err)
		}
	})
}
