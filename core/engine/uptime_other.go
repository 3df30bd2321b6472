//go:build !linux

package engine

import (
	"errors"
	"time"
)

// bootUptime is not known off Linux: delay_after_boot then counts from the
// daemon's start.
func bootUptime() (time.Duration, error) {
	return 0, errors.New("boot time not known on this platform")
}
