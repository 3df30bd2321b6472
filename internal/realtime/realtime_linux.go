package realtime

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// apply sets SCHED_RR at prio on every thread of the process that is not
// on it yet (the policy is per thread on Linux). A thread already at a
// higher SCHED_RR priority (the VRRP loop's, escalated) keeps it.
func apply(prio int) error {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("realtime: list threads: %w", err)
	}
	var errs []error
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if cur, err := unix.SchedGetAttr(tid, 0); err == nil && cur.Policy == unix.SCHED_RR && cur.Priority >= uint32(prio) {
			continue
		}
		attr := unix.SchedAttr{Policy: unix.SCHED_RR, Priority: uint32(prio), Flags: unix.SCHED_FLAG_RESET_ON_FORK}
		if err := unix.SchedSetAttr(tid, &attr, 0); err != nil && !errors.Is(err, unix.ESRCH) { // ESRCH: the thread ended
			errs = append(errs, fmt.Errorf("realtime: thread %d: SCHED_RR %d: %w", tid, prio, err))
		}
	}
	return errors.Join(errs...)
}

// applyThread sets SCHED_RR at prio on the calling thread only.
func applyThread(prio int) error {
	attr := unix.SchedAttr{Policy: unix.SCHED_RR, Priority: uint32(prio), Flags: unix.SCHED_FLAG_RESET_ON_FORK}
	if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
		return fmt.Errorf("realtime: this thread: SCHED_RR %d: %w", prio, err)
	}
	return nil
}
