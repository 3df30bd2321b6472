//go:build unix

package pluginhost

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// checkBinary applies keepalived's script-security rule to a plugin binary:
// the file and every directory above it must be owned by root (or by the
// plugin's own user, pluginUID >= 0) and not writable by group or others,
// else anyone who can write there can replace the code the daemon runs as
// root. Both the configured path and its symlink target are checked.
//
// One exception: a root-owned directory with the sticky bit (/tmp) is
// accepted, because the sticky bit stops other users from renaming or
// deleting the root-owned entries below it.
func checkBinary(path string, pluginUID int) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("plugin binary %s: %w", path, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return fmt.Errorf("plugin binary %s: %w", path, err)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return fmt.Errorf("plugin binary %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("plugin binary %s: not a regular file", real)
	}
	if err := checkOwnerMode(real, fi, pluginUID, false); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, p := range []string{abs, real} {
		for dir := filepath.Dir(p); !seen[dir]; dir = filepath.Dir(dir) {
			seen[dir] = true
			di, err := os.Stat(dir)
			if err != nil {
				return fmt.Errorf("plugin binary %s: %w", path, err)
			}
			if err := checkOwnerMode(dir, di, pluginUID, true); err != nil {
				return err
			}
			if dir == "/" {
				break
			}
		}
	}
	return nil
}

func checkOwnerMode(path string, fi fs.FileInfo, pluginUID int, isDir bool) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%w: %s: cannot read owner", ErrUnsafePath, path)
	}
	uid := int(st.Uid)
	if uid != 0 && uid != pluginUID {
		want := "root"
		if pluginUID > 0 {
			want = fmt.Sprintf("root or uid %d", pluginUID)
		}
		return fmt.Errorf("%w: %s is owned by uid %d, want %s", ErrUnsafePath, path, uid, want)
	}
	perm := fi.Mode().Perm()
	if perm&0o022 == 0 {
		return nil
	}
	if isDir && fi.Mode()&fs.ModeSticky != 0 && uid == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s is writable by group or others (mode %04o)", ErrUnsafePath, path, perm)
}
