package netlab

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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

// memoryHierarchy says where MemoryCgroup makes its groups: under the
// cgroup v2 root when it offers the memory controller; else under the v1
// hierarchy the memory controller is bound to (the hybrid layout, where a
// cgroup2 mount exists but serves other controllers or none, and v1-only
// machines); else why neither can be used.
func memoryHierarchy() (root string, v1 bool, err error) {
	if os.Geteuid() != 0 {
		return "", false, errors.New("cgroups: needs root to make groups and move processes")
	}
	root, v1mounts, err := cgroup2Root()
	if err != nil {
		return "", false, fmt.Errorf("cgroups: %w", err)
	}
	var offers string
	if root != "" {
		ctrl, err := os.ReadFile(filepath.Join(root, "cgroup.controllers"))
		if err != nil {
			return "", false, fmt.Errorf("cgroups: %w", err)
		}
		if slices.Contains(strings.Fields(string(ctrl)), "memory") {
			return root, false, nil
		}
		offers = fmt.Sprintf("cgroup2 at %s offers only [%s]", root, strings.TrimSpace(string(ctrl)))
	} else {
		offers = "no cgroup2 filesystem is mounted"
	}
	for _, m := range v1mounts {
		if !slices.Contains(m.opts, "memory") {
			continue
		}
		// The limit file is what the scenarios squeeze with; a mount
		// without it (memory accounting disabled) is no use.
		if _, err := os.Stat(filepath.Join(m.dir, "memory.limit_in_bytes")); err != nil {
			return "", false, fmt.Errorf("cgroups: %s, and the cgroup v1 memory hierarchy at %s is unusable: %w", offers, m.dir, err)
		}
		return m.dir, true, nil
	}
	return "", false, fmt.Errorf("cgroups: %s and no cgroup v1 hierarchy has the memory controller (disabled with cgroup_disable=memory?)", offers)
}

// CheckMemoryCgroup returns nil when MemoryCgroup can make a group with the
// memory controller here (cgroup v2, or the cgroup v1 memory hierarchy),
// else the precise reason it cannot.
func CheckMemoryCgroup() error {
	_, _, err := memoryHierarchy()
	return err
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
	return newCgroup(t, root, false, name)
}

// MemoryCgroup is a group with the memory controller, or skips the test
// with the reason CheckMemoryCgroup gives when there can be none.
//
// On cgroup v2 it is NewCgroup with memory enabled: memory.current,
// memory.high, memory.events and memory.pressure exist in the group, and
// memory.high and memory.max start unlimited. If the root does not yet
// enable the memory controller for its children it does so; that stays
// enabled (turning it off again could break a concurrent test's group, and
// enabling it only adds accounting).
//
// Where the memory controller is bound to cgroup v1 (Version reports 1) the
// group is made directly under the v1 memory mount: it has
// memory.usage_in_bytes and memory.limit_in_bytes (unlimited at first),
// memory.failcnt, memory.max_usage_in_bytes, memory.stat and
// memory.oom_control, and no memory.high (SetLimit, not SetHigh).
func MemoryCgroup(t testing.TB, name string) *Cgroup {
	t.Helper()
	root, v1, err := memoryHierarchy()
	if err != nil {
		t.Skip(err.Error())
	}
	if v1 {
		c := newCgroup(t, root, true, name)
		if _, err := os.Stat(c.file("memory.limit_in_bytes")); err != nil {
			t.Skipf("cgroups: %s has no memory.limit_in_bytes: %v", c.Path, err)
		}
		return c
	}
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
	c := newCgroup(t, root, false, name)
	if _, err := os.Stat(c.file("memory.high")); err != nil {
		t.Skipf("cgroups: %s has no memory.high although memory is enabled: %v", c.Path, err)
	}
	return c
}

func newCgroup(t testing.TB, root string, v1 bool, name string) *Cgroup {
	t.Helper()
	sweepCgroups(root)
	home, err := ownCgroup(v1)
	if err != nil {
		t.Skipf("cgroups: %v", err)
	}
	rel := "/" + cgroupMarker + strconv.Itoa(os.Getpid()) + "-" + name
	c := &Cgroup{Path: filepath.Join(root, rel), rel: rel, home: filepath.Join(root, home, "cgroup.procs"), v1: v1}
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

// groupIn picks, from a /proc/PID/cgroup file, the group in the v2
// hierarchy ("0::/path") or, with v1 set, in the v1 hierarchy that has the
// memory controller ("4:memory:/path"; other controllers may share it).
func groupIn(procCgroup string, v1 bool) (string, bool) {
	for line := range strings.Lines(procCgroup) {
		f := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(f) != 3 {
			continue
		}
		if !v1 && f[0] == "0" && f[1] == "" {
			return f[2], true
		}
		if v1 && f[0] != "0" && slices.Contains(strings.Split(f[1], ","), "memory") {
			return f[2], true
		}
	}
	return "", false
}

// ownCgroup is the test process's own group in the hierarchy (v2, or the
// v1 memory one), relative to the mount.
func ownCgroup(v1 bool) (string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	if rel, ok := groupIn(string(b), v1); ok {
		return rel, nil
	}
	if v1 {
		return "", errors.New("/proc/self/cgroup has no cgroup v1 memory entry")
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

// Version is the cgroup version of the group's hierarchy: 2, or 1 for a
// MemoryCgroup on the v1 memory hierarchy.
func (c *Cgroup) Version() int {
	if c.v1 {
		return 1
	}
	return 2
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
// stays charged to its old group (cgroup v2 does not move charges, v1 only
// with memory.move_charge_at_immigrate, which this package leaves off):
// start processes inside the group (Wrap, Script) to measure their whole
// working set.
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
	rel, ok := groupIn(string(b), c.v1)
	return ok && rel == c.rel
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
// hides /sys/fs/cgroup (v2 and the v1 mounts alike), so the path goes
// through the test process's own root (/proc/<pid>/root), where the cgroup
// mounts are still visible. Writing a PID to a v1 cgroup.procs moves the
// whole process, as on v2.
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

// needV2 and needV1 name the right call when a test uses a file of the
// other cgroup version (the kernel would only say "no such file").
func (c *Cgroup) needV2(file string) error {
	if c.v1 {
		return fmt.Errorf("cgroups: %s: %s exists in cgroup v2 only (this group is on the v1 memory hierarchy)", c.Path, file)
	}
	return nil
}

func (c *Cgroup) needV1(file string) error {
	if !c.v1 {
		return fmt.Errorf("cgroups: %s: %s exists in cgroup v1 only", c.Path, file)
	}
	return nil
}

// Current is the bytes charged to the group now: memory.current (v2) or
// memory.usage_in_bytes (v1). Both count the group's anonymous memory, the
// page cache it brought in and kernel memory it allocated.
func (c *Cgroup) Current() (int64, error) {
	name := "memory.current"
	if c.v1 {
		name = "memory.usage_in_bytes"
	}
	s, err := c.read(name)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(s), 10, 64)
}

// SetHigh writes memory.high (cgroup v2 only): above it the kernel
// reclaims from the group and throttles its allocations. bytes <= 0 lifts
// the limit ("max").
func (c *Cgroup) SetHigh(bytes int64) error {
	if err := c.needV2("memory.high"); err != nil {
		return err
	}
	v := "max"
	if bytes > 0 {
		v = strconv.FormatInt(bytes, 10)
	}
	if err := os.WriteFile(c.file("memory.high"), []byte(v), 0); err != nil {
		return fmt.Errorf("cgroups: memory.high = %s: %w", v, err)
	}
	return nil
}

// SetLimit writes the group's hard limit: memory.limit_in_bytes (v1) or
// memory.max (v2). A charge that would go over it reclaims from the group
// first (page cache, clean file-backed pages such as program text; anonymous
// memory only with swap); when nothing can be reclaimed the OOM killer
// kills a process of the group. bytes <= 0 lifts the limit.
func (c *Cgroup) SetLimit(bytes int64) error {
	name, v := "memory.max", "max"
	if c.v1 {
		name, v = "memory.limit_in_bytes", "-1"
	}
	if bytes > 0 {
		v = strconv.FormatInt(bytes, 10)
	}
	if err := os.WriteFile(c.file(name), []byte(v), 0); err != nil {
		return fmt.Errorf("cgroups: %s = %s: %w", name, v, err)
	}
	return nil
}

// Events is memory.events (cgroup v2 only): "high" counts the times the
// group went over memory.high and was reclaimed or throttled.
func (c *Cgroup) Events() (map[string]uint64, error) {
	if err := c.needV2("memory.events"); err != nil {
		return nil, err
	}
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

// Pressure is memory.pressure (cgroup v2 only): how long the group's tasks
// stalled on memory.
func (c *Cgroup) Pressure() (Pressure, error) {
	if err := c.needV2("memory.pressure"); err != nil {
		return Pressure{}, err
	}
	s, err := c.read("memory.pressure")
	if err != nil {
		return Pressure{}, err
	}
	return parsePressure(s)
}

// Stat is memory.stat, in either version: the group's counters by name.
// Some exist in both (pgmajfault, pgfault); v1 has pgpgin/pgpgout (pages
// charged and uncharged), cache, rss, mapped_file; v2 has anon, file,
// file_mapped, workingset_refault_file.
func (c *Cgroup) Stat() (map[string]uint64, error) {
	s, err := c.read("memory.stat")
	if err != nil {
		return nil, err
	}
	m, err := parseKeyed(s)
	if err != nil {
		return nil, fmt.Errorf("cgroups: memory.stat: %w", err)
	}
	return m, nil
}

// V1 reads the cgroup v1 counters that stand in for memory.events:
// memory.failcnt, memory.max_usage_in_bytes and memory.oom_control.
func (c *Cgroup) V1() (V1Memory, error) {
	var m V1Memory
	if err := c.needV1("memory.failcnt"); err != nil {
		return m, err
	}
	s, err := c.read("memory.failcnt")
	if err != nil {
		return m, err
	}
	if m.Failcnt, err = strconv.ParseUint(strings.TrimSpace(s), 10, 64); err != nil {
		return m, fmt.Errorf("cgroups: memory.failcnt: %w", err)
	}
	if s, err = c.read("memory.max_usage_in_bytes"); err != nil {
		return m, err
	}
	if m.MaxUsage, err = strconv.ParseInt(strings.TrimSpace(s), 10, 64); err != nil {
		return m, fmt.Errorf("cgroups: memory.max_usage_in_bytes: %w", err)
	}
	if s, err = c.read("memory.oom_control"); err != nil {
		return m, err
	}
	oom, err := parseKeyed(s)
	if err != nil {
		return m, fmt.Errorf("cgroups: memory.oom_control: %w", err)
	}
	m.UnderOOM, m.OOMKills = oom["under_oom"] != 0, oom["oom_kill"]
	return m, nil
}

// ResetMaxUsage sets memory.max_usage_in_bytes (cgroup v1) back to the
// current usage, so that V1().MaxUsage is the peak of what follows rather
// than of the start-up.
func (c *Cgroup) ResetMaxUsage() error {
	if err := c.needV1("memory.max_usage_in_bytes"); err != nil {
		return err
	}
	if err := os.WriteFile(c.file("memory.max_usage_in_bytes"), []byte("0"), 0); err != nil {
		return fmt.Errorf("cgroups: reset memory.max_usage_in_bytes: %w", err)
	}
	return nil
}

// UncachedCopy copies the program src to dst (mode 0755) and drops the
// copy's pages from the page cache, so the first process that runs it
// brings its text in and is charged for it.
//
// A memory cgroup is charged for a page-cache page by whoever first reads
// it, and keeps that charge while the page stays cached. A binary built or
// already run by the test process has its text charged to the test's own
// group; a daemon started from it inside a test group then holds only
// anonymous memory there, which reclaim cannot touch without swap, so a
// limit just above its usage is never pressure. Started from an uncached
// copy, the program's file-backed text is the group's: reclaim at the limit
// evicts its cold pages and the program faults them back in.
func UncachedCopy(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	// Only clean pages can be dropped: write them back first.
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	if err := unix.Fadvise(int(out.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		out.Close()
		return fmt.Errorf("fadvise %s: %w", dst, err)
	}
	return out.Close()
}

// ClearReferenced clears the referenced (accessed) bits of every page pid
// maps, through /proc/PID/clear_refs: ReferencedFile then counts the pages
// the process touches from now on. This is the kernel's own working-set
// estimate (the one Brendan Gregg's wss tool uses); it leaves the pages in
// memory.
func ClearReferenced(pid int) error {
	if err := os.WriteFile("/proc/"+strconv.Itoa(pid)+"/clear_refs", []byte("1"), 0); err != nil {
		return fmt.Errorf("clear_refs %d: %w", pid, err)
	}
	return nil
}

// ReferencedFile is how much of pid's file-backed mappings (program text
// and data, shared libraries) it has referenced since ClearReferenced:
// /proc/PID/smaps' Referenced over mappings with a path, less their
// anonymous (copy-on-write) pages, which are not page cache.
func ReferencedFile(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/smaps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var total, ref, anon int64
	file := false
	flush := func() {
		if file {
			total += max(0, ref-anon)
		}
		ref, anon = 0, 0
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		// A mapping's header starts with its address range and has no
		// trailing colon; its path, if any, is the sixth field.
		if !strings.HasSuffix(fields[0], ":") {
			flush()
			file = len(fields) >= 6 && strings.HasPrefix(fields[5], "/")
			continue
		}
		if len(fields) < 2 {
			continue
		}
		kb, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			continue
		}
		switch fields[0] {
		case "Referenced:":
			ref = kb << 10
		case "Anonymous:":
			anon = kb << 10
		}
	}
	flush()
	return total, sc.Err()
}

// ReadAhead is the read-ahead window (read_ahead_kb) of the block device
// that holds path. A major fault on a file mapping reads that much around
// the faulting page (mmap read-around), and a memory cgroup is charged for
// all of it before the faulting thread can map its page: a group squeezed
// to less than that above its working set evicts the pages it is reading
// before it maps them, and livelocks. Most disks have 128 KiB; virtio disks
// on some hosts have 8 MiB.
func ReadAhead(path string) (int64, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, err
	}
	dev := fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev))
	// A whole disk has queue/ itself; a partition's is its parent's. The
	// backing device info covers what is not a block device.
	for _, f := range []string{
		"/sys/dev/block/" + dev + "/queue/read_ahead_kb",
		"/sys/dev/block/" + dev + "/../queue/read_ahead_kb",
		"/sys/class/bdi/" + dev + "/read_ahead_kb",
	} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", f, err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("read-ahead of %s (device %s): not found in sysfs", path, dev)
}
