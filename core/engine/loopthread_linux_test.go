package engine

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/hawatch/hawatch/core/config"
)

// TestLoopLateEscalates: a wake-up later than a quarter of the shortest
// advert interval is counted, and with max_auto_priority raises the
// calling (loop) thread's SCHED_RR priority one step each time up to the
// cap; a wake-up within the bound changes nothing.
func TestLoopLateEscalates(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs CAP_SYS_NICE (root)")
	}
	pol := strings.Replace(policy(100, ""), `advert_interval   = "1s"`, `advert_interval   = "10ms"`, 1) +
		"node {\n  realtime_priority = 1\n  max_auto_priority = 3\n}\n"
	cfg, diags := config.Parse([]byte(pol), "lb1.hcl")
	if diags.HasErrors() {
		t.Fatalf("policy: %v", diags)
	}
	e, err := New(zerolog.Nop(), cfg, Options{Listen: (&lan{}).dial("198.51.100.11")})
	if err != nil {
		t.Fatal(err)
	}
	type step struct {
		late     time.Duration
		wantLate uint64
		wantPrio int
	}
	steps := []step{
		{2 * time.Millisecond, 0, 1}, // under 10 ms / 4
		{3 * time.Millisecond, 1, 2},
		{50 * time.Millisecond, 2, 3},
		{5 * time.Millisecond, 3, 3}, // at the cap
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Locked and never unlocked: the thread, whose policy the test
		// changes, ends with the goroutine.
		runtime.LockOSThread()
		e.loopStarted()
		deadline := time.Now()
		for i, s := range steps {
			e.late(deadline.Add(s.late), deadline)
			attr, err := unix.SchedGetAttr(0, 0)
			if err != nil {
				t.Errorf("sched_getattr: %v", err)
				return
			}
			if e.loop.late != s.wantLate || e.loop.priority != s.wantPrio {
				t.Errorf("step %d (%v late): late %d, priority %d; want %d, %d", i, s.late, e.loop.late, e.loop.priority, s.wantLate, s.wantPrio)
			}
			if s.wantPrio > 1 && (attr.Policy != unix.SCHED_RR || int(attr.Priority) != s.wantPrio) {
				t.Errorf("step %d: thread policy %d priority %d, want SCHED_RR %d", i, attr.Policy, attr.Priority, s.wantPrio)
			}
		}
		if e.loop.escalations != 2 || e.loop.worst != 50*time.Millisecond {
			t.Errorf("escalations %d, worst %v; want 2, 50ms", e.loop.escalations, e.loop.worst)
		}
	}()
	<-done
}
