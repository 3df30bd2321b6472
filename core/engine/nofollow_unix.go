//go:build unix

package engine

import (
	"os"

	"golang.org/x/sys/unix"
)

// openNoFollow refuses to open through a symlink.
func openNoFollow(path string, flag int, perm os.FileMode) (*os.File, error) {
	return os.OpenFile(path, flag|unix.O_NOFOLLOW, perm)
}
