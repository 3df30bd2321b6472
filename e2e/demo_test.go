package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestDemo runs scripts/demo.sh (what `make demo` runs) with the binaries
// built for this test run: to completion, and interrupted as by Ctrl-C. Either
// way nothing it made may remain: no namespace with its prefix, no process
// of its session, no work directory.
func TestDemo(t *testing.T) {
	needRoot(t)
	needPlugin(t, "process")
	for _, tool := range []string{"nginx", "curl", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}

	t.Run("completes", func(t *testing.T) {
		start := time.Now()
		d := startDemo(t)
		err := d.wait(90 * time.Second)
		took := time.Since(start)
		out := d.output()
		if err != nil {
			t.Fatalf("demo failed after %v: %v\n%s", took, err, out)
		}
		t.Logf("demo ran in %v", took)
		if took > time.Minute {
			t.Errorf("demo took %v, want under a minute", took)
		}
		m := regexp.MustCompile(`client-visible interruption: ([0-9]+) ms`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("demo printed no client-visible interruption:\n%s", out)
		}
		ms, _ := strconv.Atoi(m[1])
		t.Logf("client-visible interruption when nginx died on the master: %d ms", ms)
		// The master resigns with priority 0: the backup answers after
		// Skew_Time (0.8 s), long before Master_Down_Interval (3.6 s).
		if ms <= 0 || ms > 3000 {
			t.Errorf("interruption %d ms, want about Skew_Time (0.8 s), below 3 s", ms)
		}
		for _, want := range []string{"VIP 198.51.100.50/24 is on lb2", "VIP 198.51.100.50/24 is on lb1", "VI_1      FAULT", "summary"} {
			if !strings.Contains(out, want) {
				t.Errorf("demo output lacks %q", want)
			}
		}
		d.assertNothingLeft(t)
	})

	t.Run("interrupted", func(t *testing.T) {
		d := startDemo(t)
		// Ctrl-C once the lab, nginx and both daemons are up: the
		// terminal sends SIGINT to the whole foreground process group.
		waitUntil(t, 60*time.Second, "demo reaches the client phase", func() bool {
			return strings.Contains(d.output(), "client: HTTP requests") || d.exited()
		})
		if err := syscall.Kill(-d.cmd.Process.Pid, syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		err := d.wait(30 * time.Second)
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 130 {
			t.Errorf("interrupted demo: %v, want exit status 130\n%s", err, d.output())
		}
		if !strings.Contains(d.output(), "cleaning up") {
			t.Errorf("interrupted demo did not clean up:\n%s", d.output())
		}
		d.assertNothingLeft(t)
	})
}

type demoRun struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan error
}

func (d *demoRun) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out.Write(p)
}

func (d *demoRun) output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out.String()
}

// startDemo runs the script in a session of its own, so that every process
// it starts (and their children) can be found afterwards by session ID.
func startDemo(t *testing.T) *demoRun {
	t.Helper()
	d := &demoRun{done: make(chan error, 1)}
	d.cmd = exec.Command("bash", filepath.Join("..", "scripts", "demo.sh"))
	d.cmd.Env = append(os.Environ(), "HAWATCH_BIN="+binDir)
	d.cmd.Stdout, d.cmd.Stderr = d, d
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		// Only if the test failed before the script ended: take down
		// whatever of its session is left, by PID.
		if !d.exited() {
			_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
			_ = d.wait(5 * time.Second)
		}
		for _, pid := range sessionPIDs(d.cmd.Process.Pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		for _, ns := range demoNamespaces(d.cmd.Process.Pid) {
			_ = exec.Command("ip", "netns", "del", ns).Run()
		}
	})
	return d
}

var errDemoTimeout = errors.New("demo still running")

func (d *demoRun) wait(timeout time.Duration) error {
	select {
	case err := <-d.done:
		d.done <- err // keep it for later calls
		return err
	case <-time.After(timeout):
		return errDemoTimeout
	}
}

func (d *demoRun) exited() bool {
	select {
	case err := <-d.done:
		d.done <- err
		return true
	default:
		return false
	}
}

func (d *demoRun) assertNothingLeft(t *testing.T) {
	t.Helper()
	pid := d.cmd.Process.Pid
	if ns := demoNamespaces(pid); len(ns) > 0 {
		t.Errorf("demo left namespaces %v", ns)
	}
	// Processes get a moment to be reaped by init after the script ends.
	var left []int
	for range 50 {
		if left = sessionPIDs(pid); len(left) == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, p := range left {
		cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(p) + "/cmdline")
		t.Errorf("demo left process %d: %s", p, bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))
	}
	if m := regexp.MustCompile(`/tmp/hawatch-demo\.[A-Za-z0-9]+`).FindString(d.output()); m != "" {
		if _, err := os.Stat(m); err == nil {
			t.Errorf("demo left its work directory %s", m)
		}
	}
}

// demoNamespaces lists the namespaces named with the demo's prefix.
func demoNamespaces(pid int) []string {
	entries, _ := os.ReadDir("/run/netns")
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "hwdemo"+strconv.Itoa(pid)+"-") {
			out = append(out, e.Name())
		}
	}
	return out
}

// sessionPIDs lists live processes in session sid (field 6 of
// /proc/PID/stat, counted after the parenthesised command name).
func sessionPIDs(sid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		// f[0] state, f[1] ppid, f[2] pgrp, f[3] session.
		if len(f) > 3 && f[0] != "Z" && f[3] == strconv.Itoa(sid) {
			out = append(out, pid)
		}
	}
	return out
}
