package realtime

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// LockMemory keeps every page of the process in RAM from when it is first
// touched (mlockall with MCL_ONFAULT, so the Go heap's large reservations
// are not filled up front): under memory pressure the code and data that
// send adverts are never evicted and read back from disk mid-interval.
// Plugin processes are not affected (a child does not inherit the lock).
func LockMemory() error {
	if err := unix.Mlockall(unix.MCL_CURRENT | unix.MCL_FUTURE | unix.MCL_ONFAULT); err != nil {
		return fmt.Errorf("realtime: lock memory: %w", err)
	}
	return nil
}
