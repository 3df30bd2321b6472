package netlab

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cgroupMarker starts the name of every group this package makes:
// hawatch-e2e-<pid>-<name>, so leftovers of a dead test process can be told
// apart and removed.
const cgroupMarker = "hawatch-e2e-"

// cgroupMount is one cgroup filesystem from /proc/self/mountinfo.
type cgroupMount struct {
	dir    string
	fstype string // cgroup2 or cgroup (v1)
	opts   []string
}

func cgroupMounts() ([]cgroupMount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []cgroupMount
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		a, b := strings.Fields(pre), strings.Fields(post)
		if len(a) < 5 || len(b) < 3 || (b[0] != "cgroup2" && b[0] != "cgroup") {
			continue
		}
		out = append(out, cgroupMount{dir: a[4], fstype: b[0], opts: strings.Split(b[2], ",")})
	}
	return out, sc.Err()
}

// cgroup2Root returns where the cgroup v2 hierarchy is mounted (preferring
// /sys/fs/cgroup when there are several mounts of it) and the v1 mounts.
func cgroup2Root() (root string, v1 []cgroupMount, err error) {
	mounts, err := cgroupMounts()
	if err != nil {
		return "", nil, err
	}
	for _, m := range mounts {
		switch {
		case m.fstype == "cgroup":
			v1 = append(v1, m)
		case root == "" || m.dir == "/sys/fs/cgroup":
			root = m.dir
		}
	}
	return root, v1, nil
}

// CheckMemoryCgroup returns nil when MemoryCgroup can make a group with the
// memory controller here, else the precise reason it cannot.
func CheckMemoryCgroup() error {
	if os.Geteuid() != 0 {
		return errors.New("cgroups: needs root to make groups and move processes")
	}
	root, v1, err := cgroup2Root()
	if err != nil {
		return fmt.Errorf("cgroups: %w", err)
	}
	if root == "" {
		return errors.New("cgroups: no cgroup2 filesystem is mounted (cgroup v1 only); memory.high exists in cgroup v2 only")
	}
	ctrl, err := os.ReadFile(filepath.Join(root, "cgroup.controllers"))
	if err != nil {
		return fmt.Errorf("cgroups: %w", err)
	}
	if slices.Contains(strings.Fields(string(ctrl)), "memory") {
		return nil
	}
	for _, m := range v1 {
		if slices.Contains(m.opts, "memory") {
			return fmt.Errorf("cgroups: cgroup2 is mounted at %s but its root offers only [%s]: the memory controller is bound to the cgroup v1 hierarchy at %s "+
				"(hybrid layout; a controller serves one hierarchy at a time), so memory.high does not exist here. "+
				"Boot with systemd.unified_cgroup_hierarchy=1 or cgroup_no_v1=memory to run this test",
				root, strings.TrimSpace(string(ctrl)), m.dir)
		}
	}
	return fmt.Errorf("cgroups: cgroup2 at %s offers only [%s], no memory controller (disabled with cgroup_disable=memory?)", root, strings.TrimSpace(string(ctrl)))
}

// NewCgroup makes the cgroup v2 group hawatch-e2e-<pid>-<name> directly
// under the root of the hierarchy (the root is exempt from the rule that a
// group with controllers enabled for its children holds no processes), or
// skips the test when cgroup v2 is not usable. No controller is enabled
// for it beyond what the root already gives its children.
func NewCgroup(t testing.TB, name string) *Cgroup {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("cgroups: needs root to make groups and move processes")
	}
	root, _, err := cgroup2Root()
	if err != nil || root == "" {
		t.Skipf("cgroups: no cgroup2 filesystem mounted (%v)", err)
	}
	return newCgroup(t, root, name)
}

// MemoryCgroup is NewCgroup with the memory controller: memory.current,
// memory.high, memory.events and memory.pressure exist in the group, and
// memory.high and memory.max start unlimited. It skips the test with the
// reason CheckMemoryCgroup gives when that is impossible. If the root does
// not yet enable the memory controller for its children it does so; that
// stays enabled (turning it off again could break a concurrent test's
// group, and enabling it only adds accounting).
func MemoryCgroup(t testing.TB, name string) *Cgroup {
	t.Helper()
	if err := CheckMemoryCgroup(); err != nil {
		t.Skip(err.Error())
	}
	root, _, _ := cgroup2Root()
	sub := filepath.Join(root, "cgroup.subtree_control")
	b, err := os.ReadFile(sub)
	if err != nil {
		t.Skipf("cgroups: %v", err)
	}
	if !slices.Contains(strings.Fields(string(b)), "memory") {
		if err := os.WriteFile(sub, []byte("+memory"), 0); err != nil {
			t.Skipf("cgroups: enabling the memory controller in %s: %v", sub, err)
		}
	}
	c := newCgroup(t, root, name)
	if _, err := os.Stat(filepath.Join(c.Path, "memory.high")); err != nil {
		t.Skipf("cgroups: %s has no memory.high although memory is enabled: %v", c.Path, err)
	}
	return c
}

func newCgroup(t testing.TB, root, name string) *Cgroup {
	t.Helper()
	sweepCgroups(root)
	home, err := ownCgroup()
	if err != nil {
		t.Skipf("cgroups: %v", err)
	}
	rel := "/" + cgroupMarker + strconv.Itoa(os.Getpid()) + "-" + name
	c := &Cgroup{Path: filepath.Join(root, rel), rel: rel, home: filepath.Join(root, home, "cgroup.procs")}
	if err := os.Mkdir(c.Path, 0o755); err != nil {
		t.Skipf("cgroups: %v", err)
	}
	t.Cleanup(func() {
		if err := c.remove(); err != nil {
			t.Errorf("cgroups: %v", err)
		}
	})
	return c
}

// ownCgroup is the test process's own v2 group, relative to the mount.
func ownCgroup() (string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for line := range strings.Lines(string(b)) {
		if rel, ok := strings.CutPrefix(strings.TrimSpace(line), "0::"); ok {
			return rel, nil
		}
	}
	return "", errors.New("/proc/self/cgroup has no cgroup v2 entry")
}

// remove moves processes still in the group back to the test process's own
// group (a process that is exiting may linger a moment) and removes it.
func (c *Cgroup) remove() error {
	var err error
	for range 100 {
		pids, _ := c.PIDs()
		for _, pid := range pids {
			_ = os.WriteFile(c.home, []byte(strconv.Itoa(pid)), 0)
		}
		if err = syscall.Rmdir(c.Path); err == nil || errors.Is(err, os.ErrNotExist) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("remove %s: %w", c.Path, err)
}

// sweepCgroups removes empty groups left by test processes that died
// without cleaning up (their PID, in the name, is gone).
func sweepCgroups(root string) {
	dirs, _ := filepath.Glob(filepath.Join(root, cgroupMarker+"*"))
	for _, d := range dirs {
		pidStr, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(d), cgroupMarker), "-")
		if pid, err := strconv.Atoi(pidStr); err == nil && pid != os.Getpid() && !processAlive(pid) {
			_ = syscall.Rmdir(d) // fails while processes remain: left alone
		}
	}
}

func (c *Cgroup) file(name string) string { return filepath.Join(c.Path, name) }

func (c *Cgroup) read(name string) (string, error) {
	b, err := os.ReadFile(c.file(name))
	if err != nil {
		return "", fmt.Errorf("cgroups: %w", err)
	}
	return string(b), nil
}

// Add moves a running process into the group. Memory it has already used
// stays charged to its old group (cgroup v2 does not move charges): start
// processes inside the group (Wrap, Script) to measure their whole working
// set.
func (c *Cgroup) Add(pid int) error {
	if err := os.WriteFile(c.file("cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
		return fmt.Errorf("cgroups: add pid %d to %s: %w", pid, c.Path, err)
	}
	return nil
}

// Contains reports whether pid is in the group.
func (c *Cgroup) Contains(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return false
	}
	for line := range strings.Lines(string(b)) {
		if rel, ok := strings.CutPrefix(strings.TrimSpace(line), "0::"); ok {
			return rel == c.rel
		}
	}
	return false
}

// PIDs lists the processes in the group.
func (c *Cgroup) PIDs() ([]int, error) {
	s, err := c.read("cgroup.procs")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(s) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// procsFromNamespace is the group's cgroup.procs as a process started by
// Node.Start sees it: `ip netns exec` mounts a fresh sysfs over /sys, which
// hides /sys/fs/cgroup, so the path goes through the test process's own
// root (/proc/<pid>/root), where the cgroup mounts are still visible.
func (c *Cgroup) procsFromNamespace() string {
	return "/proc/" + strconv.Itoa(os.Getpid()) + "/root" + c.file("cgroup.procs")
}

// Wrap returns the command line (program first) that makes name args...
// run inside the group from its first instruction, for Node.Start:
//
//	argv := cg.Wrap("hawatch", "run", ...)
//	p := n.Start(t, argv[0], argv[1:]...)
//
// A shell joins the group, then execs the program: the PID, and all the
// memory the program ever touches, are the group's.
func (c *Cgroup) Wrap(name string, args ...string) []string {
	return append([]string{"sh", "-c", `echo $$ >"$0" && exec "$@"`, c.procsFromNamespace(), name}, args...)
}

// Script writes an executable shell script into dir that joins the group
// and then execs name args... followed by its own arguments, and returns
// its path: for programs started by a helper that takes a binary path
// (KeepalivedConfig.Binary).
func (c *Cgroup) Script(dir, name string, args ...string) (string, error) {
	var b strings.Builder
	b.WriteString("#!/bin/sh\n# Joins a test's cgroup, then becomes the program.\n")
	fmt.Fprintf(&b, "echo $$ >%s || exit 1\nexec %s", shellQuote(c.procsFromNamespace()), shellQuote(name))
	for _, a := range args {
		b.WriteString(" " + shellQuote(a))
	}
	b.WriteString(" \"$@\"\n")
	path := filepath.Join(dir, filepath.Base(name)+"-in-cgroup")
	if err := os.WriteFile(path, []byte(b.String()), 0o700); err != nil {
		return "", fmt.Errorf("cgroups: %w", err)
	}
	return path, nil
}

// Current is memory.current: the bytes charged to the group now.
func (c *Cgroup) Current() (int64, error) {
	s, err := c.read("memory.current")
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(s), 10, 64)
}

// SetHigh writes memory.high: above it the kernel reclaims from the group
// and throttles its allocations. bytes <= 0 lifts the limit ("max").
func (c *Cgroup) SetHigh(bytes int64) error {
	v := "max"
	if bytes > 0 {
		v = strconv.FormatInt(bytes, 10)
	}
	if err := os.WriteFile(c.file("memory.high"), []byte(v), 0); err != nil {
		return fmt.Errorf("cgroups: memory.high = %s: %w", v, err)
	}
	return nil
}

// Events is memory.events: "high" counts the times the group went over
// memory.high and was reclaimed or throttled.
func (c *Cgroup) Events() (map[string]uint64, error) {
	s, err := c.read("memory.events")
	if err != nil {
		return nil, err
	}
	m, err := parseKeyed(s)
	if err != nil {
		return nil, fmt.Errorf("cgroups: memory.events: %w", err)
	}
	return m, nil
}

// Pressure is memory.pressure: how long the group's tasks stalled on
// memory.
func (c *Cgroup) Pressure() (Pressure, error) {
	s, err := c.read("memory.pressure")
	if err != nil {
		return Pressure{}, err
	}
	return parsePressure(s)
}
