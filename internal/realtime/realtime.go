// Package realtime keeps the daemon's timing under contention: its threads
// on the kernel's round-robin realtime scheduler (SCHED_RR, keepalived's
// vrrp_rt_priority), so on a machine crowded with runnable tasks (20 plugin
// processes waking at once, a batch job) an advert timer fires on time
// instead of waiting for the fair scheduler's turn; and its memory locked
// (keepalived's vrrp_no_swap), so memory pressure cannot evict the pages
// that send adverts.
package realtime

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// MaxPriority is SCHED_RR's highest priority.
const MaxPriority = 99

// ErrPriority is returned for a priority outside 1..MaxPriority.
var ErrPriority = errors.New("realtime priority out of range 1-99")

// Apply moves every thread of this process to SCHED_RR at prio. Children,
// threads included, do not inherit the policy (it is set with
// reset-on-fork), so plugin processes run on the normal scheduler; threads
// the Go runtime starts later need Keep.
func Apply(prio int) error {
	if prio < 1 || prio > MaxPriority {
		return fmt.Errorf("%w: %d", ErrPriority, prio)
	}
	return apply(prio)
}

// ApplyThread moves the calling thread alone to SCHED_RR at prio; the
// caller keeps its goroutine on the thread (runtime.LockOSThread), or the
// priority goes to whatever goroutine runs there next.
func ApplyThread(prio int) error {
	if prio < 1 || prio > MaxPriority {
		return fmt.Errorf("%w: %d", ErrPriority, prio)
	}
	return applyThread(prio)
}

// Keep applies prio again every `every`, for threads started since, until
// ctx ends; errors go to report.
func Keep(ctx context.Context, prio int, every time.Duration, report func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := Apply(prio); err != nil {
				report(err)
			}
		}
	}
}
