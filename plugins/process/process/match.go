package process

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// commLen is the longest comm the kernel keeps (TASK_COMM_LEN - 1).
const commLen = 15

// ErrNoPid is returned when a pid file holds no usable PID.
var ErrNoPid = errors.New("no pid in pid file")

// matcher decides whether a PID is one of the watched processes. It reads
// procfs below root ("/proc" in production, a fake tree in tests) and only
// the files the configured criteria need.
type matcher struct {
	root    string
	s       *settings
	exclude map[int]bool // this plugin and its parent, the daemon
}

func newMatcher(root string, s *settings, exclude ...int) *matcher {
	m := &matcher{root: root, s: s, exclude: make(map[int]bool, len(exclude))}
	for _, pid := range exclude {
		m.exclude[pid] = true
	}
	return m
}

// match reports whether pid matches every configured criterion except the
// pid file, which selects candidates before match is asked. A process that
// has vanished does not match.
func (m *matcher) match(pid int) bool {
	if pid <= 0 || m.exclude[pid] {
		return false
	}
	dir := filepath.Join(m.root, strconv.Itoa(pid))
	if m.s.name != "" && !m.nameMatches(dir) {
		return false
	}
	if m.s.cmdline != nil {
		args, err := readCmdline(dir)
		// Kernel threads and zombies have an empty command line; they are
		// not the service anyone means.
		if err != nil || len(args) == 0 {
			return false
		}
		if !m.s.cmdline.MatchString(strings.Join(args, " ")) {
			return false
		}
	}
	if m.s.name == "" && m.s.cmdline == nil {
		// pid file only: the process must exist.
		if _, err := os.Stat(dir); err != nil {
			return false
		}
	}
	return true
}

// nameMatches implements the `name` rule: comm equals name, or the
// executable's basename does. An unprivileged plugin cannot read another
// user's /proc/PID/exe; for names longer than comm can hold it then falls
// back to argv[0]'s basename, but only when comm agrees with the truncated
// name, so a rewritten argv alone cannot make a match.
func (m *matcher) nameMatches(dir string) bool {
	comm, err := os.ReadFile(filepath.Join(dir, "comm"))
	if err != nil {
		return false
	}
	c := string(bytes.TrimSuffix(comm, []byte("\n")))
	if c == m.s.name {
		return true
	}
	exe, err := os.Readlink(filepath.Join(dir, "exe"))
	if err == nil {
		return filepath.Base(strings.TrimSuffix(exe, " (deleted)")) == m.s.name
	}
	if len(m.s.name) > commLen && c == m.s.name[:commLen] {
		args, err := readCmdline(dir)
		return err == nil && len(args) > 0 && filepath.Base(args[0]) == m.s.name
	}
	return false
}

func readCmdline(dir string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "cmdline"))
	if err != nil {
		return nil, err
	}
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return nil, nil
	}
	return strings.Split(string(b), "\x00"), nil
}

// listPids returns the numeric entries of the procfs root: the thread-group
// leaders, i.e. processes.
func listPids(root string) ([]int, error) {
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", root, err)
	}
	pids := make([]int, 0, len(ents))
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// readPidfile returns the PID in path. A missing file is fs.ErrNotExist; an
// empty or garbled one (a writer caught mid-write) wraps ErrNoPid.
func readPidfile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, fmt.Errorf("pidfile %s: %w", path, fs.ErrNotExist)
		}
		return 0, fmt.Errorf("pidfile %s: %w", path, err)
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, fmt.Errorf("pidfile %s: %w", path, ErrNoPid)
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pidfile %s: %q: %w", path, f[0], ErrNoPid)
	}
	return pid, nil
}

// isZombie reports whether procfs says pid has exited but is not reaped.
// Only used where no pidfd tells us that directly.
func isZombie(root string, pid int) bool {
	b, err := os.ReadFile(filepath.Join(root, strconv.Itoa(pid), "stat"))
	if err != nil {
		return true
	}
	// The state follows the parenthesised comm, which may itself contain
	// ") ", so look for the last one.
	i := bytes.LastIndex(b, []byte(") "))
	if i < 0 || i+2 >= len(b) {
		return true
	}
	st := b[i+2]
	return st == 'Z' || st == 'X'
}
