package engine

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestPollerWakes: the poller returns the inbox's token after a notify,
// the timer's token once its deadline passes, and a wait allocates
// nothing.
func TestPollerWakes(t *testing.T) {
	p, err := newPoller()
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	has := func(evs []unix.EpollEvent, tok int32) bool {
		for _, ev := range evs {
			if ev.Fd == tok {
				return true
			}
		}
		return false
	}
	p.notify()
	evs, err := p.wait(time.Now().Add(time.Hour))
	if err != nil || !has(evs, wakeToken) {
		t.Fatalf("after notify: %v, %v; want the inbox's token", evs, err)
	}
	p.drained()
	start := time.Now()
	evs, err = p.wait(start.Add(20 * time.Millisecond))
	if err != nil || !has(evs, timerToken) {
		t.Fatalf("deadline: %v, %v; want the timer's token", evs, err)
	}
	if waited := time.Since(start); waited < 20*time.Millisecond {
		t.Fatalf("woke after %v, before the 20 ms deadline", waited)
	}
	if raceDetector {
		return
	}
	if n := testing.AllocsPerRun(100, func() {
		p.notify()
		if _, err := p.wait(time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		p.drained()
	}); n != 0 {
		t.Fatalf("%v allocations per wait, want 0", n)
	}
}
