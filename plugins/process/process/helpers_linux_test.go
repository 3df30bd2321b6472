package process

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hawatch/hawatch/sdk"
)

// helperEnv switches the test binary into a watcher subprocess: it runs
// Watch with the JSON config in this variable, prints each report as a
// JSON line and stops when its stdin closes. Used to test exclusion of the
// plugin's parent and unprivileged operation.
const helperEnv = "HAWATCH_PROCESS_HELPER"

// idleEnv makes the test binary just wait for stdin to close.
const idleEnv = "HAWATCH_PROCESS_IDLE"

func TestMain(m *testing.M) {
	if cfg := os.Getenv(helperEnv); cfg != "" {
		os.Exit(runHelper(cfg))
	}
	if os.Getenv(idleEnv) != "" {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runHelper(cfg string) int {
	p := New()
	if err := p.Configure(context.Background(), sdk.Config{Raw: []byte(cfg)}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	var mu sync.Mutex
	enc := json.NewEncoder(os.Stdout)
	err := p.Watch(ctx, func(r sdk.Result) {
		mu.Lock()
		defer mu.Unlock()
		_ = enc.Encode(r)
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// reportWait bounds how long a test waits for an expected report. Reports
// normally arrive within milliseconds; this only limits a broken run.
const reportWait = 10 * time.Second

// sleepCopy copies /bin/sleep to a uniquely named file so that no other
// process on the machine has its comm, and returns the path and the name.
func sleepCopy(t testing.TB, dir string) (path, name string) {
	t.Helper()
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	name = "hwp" + hex.EncodeToString(b) // 13 chars, fits in comm
	src, err := exec.LookPath("sleep")
	if err != nil {
		t.Skipf("no sleep binary: %v", err)
	}
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return path, name
}

// child is a started process that the test kills and reaps at cleanup.
type child struct {
	cmd  *exec.Cmd
	once sync.Once
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// kill SIGKILLs and reaps the child (idempotent).
func (c *child) kill() {
	c.once.Do(func() {
		_ = c.cmd.Process.Kill()
		_ = c.cmd.Wait()
	})
}

func start(t testing.TB, path string, args ...string) *child {
	t.Helper()
	cmd := exec.Command(path, args...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	c := &child{cmd: cmd}
	t.Cleanup(c.kill)
	return c
}

// watchInProcess runs Watch with cfg in a goroutine and returns its
// reports. The watch is stopped and awaited at cleanup.
func watchInProcess(t testing.TB, cfg map[string]any) <-chan sdk.Result {
	t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := New()
	if err := p.Configure(context.Background(), sdk.Config{Raw: raw}); err != nil {
		t.Fatalf("Configure(%s): %v", raw, err)
	}
	ch := make(chan sdk.Result, 1024)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Watch(ctx, func(r sdk.Result) { ch <- r }) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Watch returned %v", err)
			}
		case <-time.After(reportWait):
			t.Errorf("Watch did not return after cancel")
		}
	})
	return ch
}

// waitFor returns the first report satisfying pred, failing the test if
// none comes within reportWait.
func waitFor(t testing.TB, ch <-chan sdk.Result, what string, pred func(sdk.Result) bool) sdk.Result {
	t.Helper()
	timer := time.NewTimer(reportWait)
	defer timer.Stop()
	var last sdk.Result
	for {
		select {
		case r := <-ch:
			if pred(r) {
				return r
			}
			last = r
		case <-timer.C:
			t.Fatalf("no report %s within %s; last: %v %q %v", what, reportWait, last.Status, last.Reason, last.Detail)
		}
	}
}

// hasPids is a predicate: this status and exactly these PIDs.
func hasPids(status sdk.Status, pids ...int) func(sdk.Result) bool {
	pids = slices.Clone(pids)
	slices.Sort(pids)
	want := joinPids(pids)
	return func(r sdk.Result) bool { return r.Status == status && r.Detail["pids"] == want }
}

// helperProc is a watcher subprocess started with runHelper.
type helperProc struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	reports chan sdk.Result
}

func startHelper(t *testing.T, binary string, cfg map[string]any, cred *syscall.Credential) *helperProc {
	t.Helper()
	raw, _ := json.Marshal(cfg)
	cmd := exec.Command(binary)
	cmd.Env = append(os.Environ(), helperEnv+"="+string(raw))
	cmd.Stderr = os.Stderr
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start helper: %v", err)
	}
	h := &helperProc{cmd: cmd, stdin: stdin, reports: make(chan sdk.Result, 1024)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var r sdk.Result
			if json.Unmarshal(sc.Bytes(), &r) == nil {
				h.reports <- r
			}
		}
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(reportWait):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("helper did not stop when its stdin closed")
		}
	})
	return h
}

func ownCmdline(t *testing.T, pid int) string {
	t.Helper()
	args, err := readCmdline("/proc/" + strconv.Itoa(pid))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(args, " ")
}
