package engine

import (
	"time"

	"golang.org/x/sys/unix"
)

// bootUptime is how long the machine has been up (CLOCK_BOOTTIME, which
// counts suspend too, as /proc/uptime does).
func bootUptime() (time.Duration, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0, err
	}
	return time.Duration(ts.Nano()), nil
}
