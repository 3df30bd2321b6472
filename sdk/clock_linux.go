package sdk

import "golang.org/x/sys/unix"

// boottime reads CLOCK_BOOTTIME in nanoseconds: one clock for every process
// on the machine, monotonic, running through suspend. 0 when unreadable.
func boottime() int64 {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts) != nil {
		return 0
	}
	return ts.Nano()
}
