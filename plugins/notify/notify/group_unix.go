//go:build unix && !linux

package notify

import "syscall"

// groupAlive reports whether any process of the group still exists (an
// unreaped zombie counts, so waits may run to their limit).
func groupAlive(pgid int) bool {
	return syscall.Kill(-pgid, 0) == nil
}
