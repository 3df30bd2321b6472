package process

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hawatch/hawatch/sdk"
)

// connectorWorks says whether this kernel delivers proc events to us; the
// connector-mode tests insist on the connector only where it can work.
func connectorWorks(t testing.TB) bool {
	t.Helper()
	c, err := openConnector()
	if err != nil {
		t.Logf("proc connector unavailable: %v", err)
		return false
	}
	defer c.Close()
	if _, err := c.selfTest(connectorSelfTest); err != nil {
		t.Logf("proc connector self test: %v", err)
		return false
	}
	return true
}

var watchModes = []struct {
	name         string
	useConnector bool
	want         string
}{
	{"connector", true, modeConnector},
	{"rescan", false, modeRescan},
}

func checkMode(t *testing.T, r sdk.Result, want string) {
	t.Helper()
	if want == modeConnector && !connectorWorks(t) {
		want = modeRescan
	}
	if r.Detail["watch"] != want {
		t.Errorf("watch mode %q, want %q", r.Detail["watch"], want)
	}
}

func TestWatchByName(t *testing.T) {
	for _, mode := range watchModes {
		t.Run(mode.name, func(t *testing.T) {
			path, name := sleepCopy(t, t.TempDir())
			a := start(t, path, "1000")
			b := start(t, path, "1000")
			ch := watchInProcess(t, map[string]any{"name": name, "min": 2, "use_connector": mode.useConnector, "rescan": "20ms"})

			first := waitFor(t, ch, "with both children", hasPids(sdk.StatusOK, a.pid(), b.pid()))
			checkMode(t, first, mode.want)
			want := name + ": 2 processes (pids " + joinPids(sortedPids(a.pid(), b.pid())) + ")"
			if first.Reason != want {
				t.Errorf("reason %q, want %q", first.Reason, want)
			}

			c := start(t, path, "1000")
			waitFor(t, ch, "after a birth", hasPids(sdk.StatusOK, a.pid(), b.pid(), c.pid()))
			a.kill()
			waitFor(t, ch, "after the first death", hasPids(sdk.StatusOK, b.pid(), c.pid()))
			b.kill()
			r := waitFor(t, ch, "below quorum", hasPids(sdk.StatusFail, c.pid()))
			if want := name + ": 1 process, want >= 2"; r.Reason != want {
				t.Errorf("reason %q, want %q", r.Reason, want)
			}
		})
	}
}

func TestWatchQuorumMax(t *testing.T) {
	path, name := sleepCopy(t, t.TempDir())
	a := start(t, path, "1000")
	b := start(t, path, "1000")
	c := start(t, path, "1000")
	ch := watchInProcess(t, map[string]any{"name": name, "min": 1, "max": 2})
	r := waitFor(t, ch, "above max", hasPids(sdk.StatusFail, a.pid(), b.pid(), c.pid()))
	if want := name + ": 3 processes, want <= 2"; r.Reason != want {
		t.Errorf("reason %q, want %q", r.Reason, want)
	}
	c.kill()
	waitFor(t, ch, "back within max", hasPids(sdk.StatusOK, a.pid(), b.pid()))
}

func TestWatchCmdline(t *testing.T) {
	for _, mode := range watchModes {
		t.Run(mode.name, func(t *testing.T) {
			path, _ := sleepCopy(t, t.TempDir())
			a := start(t, path, "1000")
			start(t, path, "2000") // same binary, other arguments: no match
			ch := watchInProcess(t, map[string]any{
				"cmdline": "^" + regexp.QuoteMeta(path) + " 1000$", "use_connector": mode.useConnector, "rescan": "20ms",
			})
			waitFor(t, ch, "with the 1000 child only", hasPids(sdk.StatusOK, a.pid()))
			b := start(t, path, "1000")
			waitFor(t, ch, "after a matching birth", hasPids(sdk.StatusOK, a.pid(), b.pid()))
			a.kill()
			b.kill()
			waitFor(t, ch, "after both died", hasPids(sdk.StatusFail))
		})
	}
}

func TestWatchPidfile(t *testing.T) {
	for _, mode := range watchModes {
		t.Run(mode.name, func(t *testing.T) {
			dir := t.TempDir()
			path, _ := sleepCopy(t, dir)
			pidfile := filepath.Join(dir, "svc.pid")
			a := start(t, path, "1000")
			start(t, path, "1000") // same name, not in the pid file: never counted
			ch := watchInProcess(t, map[string]any{"pidfile": pidfile, "use_connector": mode.useConnector, "rescan": "20ms"})

			r := waitFor(t, ch, "without a pid file", hasPids(sdk.StatusFail))
			if r.Detail["pidfile_error"] == "" {
				t.Errorf("no pidfile_error in %v", r.Detail)
			}
			// An atomic replace, as careful daemons do it.
			writePidfile(t, pidfile, a.pid(), true)
			waitFor(t, ch, "for the pid file's process", hasPids(sdk.StatusOK, a.pid()))
			a.kill()
			waitFor(t, ch, "after its death", hasPids(sdk.StatusFail))

			b := start(t, path, "1000")
			writePidfile(t, pidfile, b.pid(), false) // in place, as nginx does
			waitFor(t, ch, "after the restart", hasPids(sdk.StatusOK, b.pid()))
			if err := os.Remove(pidfile); err != nil {
				t.Fatal(err)
			}
			waitFor(t, ch, "after the pid file went away", hasPids(sdk.StatusFail))
		})
	}
}

func TestWatchPidfileMustMatchName(t *testing.T) {
	dir := t.TempDir()
	path, name := sleepCopy(t, dir)
	pidfile := filepath.Join(dir, "svc.pid")
	a := start(t, path, "1000")
	writePidfile(t, pidfile, a.pid(), false)

	ch := watchInProcess(t, map[string]any{"pidfile": pidfile, "name": name})
	waitFor(t, ch, "when the name agrees", hasPids(sdk.StatusOK, a.pid()))

	// A stale pid file pointing at some other program must not count.
	ch = watchInProcess(t, map[string]any{"pidfile": pidfile, "name": name + "x"})
	waitFor(t, ch, "when the name disagrees", hasPids(sdk.StatusFail))
}

func writePidfile(t *testing.T, path string, pid int, atomic bool) {
	t.Helper()
	body := []byte(strconv.Itoa(pid) + "\n")
	if !atomic {
		if err := os.WriteFile(path, body, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, body, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestWatchNeverItselfOrParent runs the watcher in a subprocess of this
// test with a cmdline pattern that matches the test binary: the watcher
// itself, its parent (this test process, standing in for the daemon) and an
// idle sibling all match it, and only the sibling may be counted.
func TestWatchNeverItselfOrParent(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	pattern := "^" + regexp.QuoteMeta(exe) + "( |$)"
	if !regexp.MustCompile(pattern).MatchString(ownCmdline(t, os.Getpid())) {
		t.Fatalf("pattern %q does not match this process's cmdline %q", pattern, ownCmdline(t, os.Getpid()))
	}
	idle := startIdle(t, exe)
	h := startHelper(t, exe, map[string]any{"cmdline": pattern}, nil)
	r := waitFor(t, h.reports, "counting only the sibling", func(sdk.Result) bool { return true })
	if !hasPids(sdk.StatusOK, idle.pid())(r) {
		t.Fatalf("first report %v %q %v; want ok with only pid %d (watcher %d, parent %d)",
			r.Status, r.Reason, r.Detail, idle.pid(), h.cmd.Process.Pid, os.Getpid())
	}
}

func startIdle(t *testing.T, exe string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(exe)}
	c.cmd.Env = append(os.Environ(), idleEnv+"=1")
	stdin, err := c.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		c.kill()
	})
	return c
}

// TestWatchUnprivileged runs the watcher as nobody against a root-owned
// process: matching, the pidfd and (on kernels since 2023) the connector
// must all work without privileges.
func TestWatchUnprivileged(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to start a watcher as nobody")
	}
	// Everything nobody executes must be reachable through world-readable
	// directories; t.TempDir is private.
	dir, err := os.MkdirTemp("", "hwp-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	helperBin := filepath.Join(dir, "process.test")
	if err := os.WriteFile(helperBin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	path, name := sleepCopy(t, dir)
	a := start(t, path, "1000")

	h := startHelper(t, helperBin, map[string]any{"name": name}, &syscall.Credential{Uid: 65534, Gid: 65534})
	r := waitFor(t, h.reports, "from nobody seeing the root-owned child", hasPids(sdk.StatusOK, a.pid()))
	t.Logf("unprivileged watch mode: %s", r.Detail["watch"])
	b := start(t, path, "1000")
	waitFor(t, h.reports, "of a birth seen by nobody", hasPids(sdk.StatusOK, a.pid(), b.pid()))
	a.kill()
	b.kill()
	waitFor(t, h.reports, "of the deaths seen by nobody", hasPids(sdk.StatusFail))
}

func TestConnectorEvents(t *testing.T) {
	c, err := openConnector()
	if err != nil {
		t.Skipf("proc connector unavailable here: %v", err)
	}
	defer c.Close()
	if _, err := c.selfTest(connectorSelfTest); err != nil {
		t.Skipf("proc connector delivers nothing here: %v", err)
	}
	path, _ := sleepCopy(t, t.TempDir())
	a := start(t, path, "1000")
	a.kill()

	want := map[uint32]bool{procEventFork: false, procEventExec: false, procEventExit: false}
	buf := make([]byte, 64<<10)
	deadline := time.Now().Add(reportWait)
	for time.Now().Before(deadline) {
		evs, err := c.read(buf, nil)
		if err != nil && !errors.Is(err, ErrOverflow) {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.TGID == a.pid() && e.PID == a.pid() {
				if _, ok := want[e.What]; ok {
					want[e.What] = true
				}
			}
		}
		if want[procEventFork] && want[procEventExec] && want[procEventExit] {
			return
		}
		fds := []unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLIN}}
		_, _ = unix.Poll(fds, 100)
	}
	t.Fatalf("events seen for pid %d: %v", a.pid(), want)
}

func TestWatchStopsOnCancel(t *testing.T) {
	// watchInProcess's cleanup fails the test if Watch does not return.
	_, name := sleepCopy(t, t.TempDir())
	ch := watchInProcess(t, map[string]any{"name": name})
	r := waitFor(t, ch, "initial", func(sdk.Result) bool { return true })
	if r.Status != sdk.StatusFail || !strings.Contains(r.Reason, "0 processes, want >= 1") {
		t.Fatalf("initial report %v %q", r.Status, r.Reason)
	}
}

func sortedPids(p ...int) []int {
	p = slices.Clone(p)
	slices.Sort(p)
	return p
}
