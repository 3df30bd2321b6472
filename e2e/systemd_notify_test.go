package e2e

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hawatch/hawatch/internal/netlab"
)

// notifyListener is a fake systemd: the unixgram socket a Type=notify
// service reports to, each datagram delivered on msgs.
func notifyListener(t *testing.T) (path string, msgs <-chan string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan string, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			select {
			case ch <- string(buf[:n]):
			default: // the test stopped reading
			}
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return path, ch
}

// waitMsg waits for a datagram holding line and returns what came before.
func waitMsg(t *testing.T, msgs <-chan string, line string, timeout time.Duration) []string {
	t.Helper()
	var seen []string
	deadline := time.After(timeout)
	for {
		select {
		case m := <-msgs:
			for _, l := range strings.Split(strings.TrimSpace(m), "\n") {
				if l == line {
					return seen
				}
				seen = append(seen, l)
			}
		case <-deadline:
			t.Fatalf("no %s within %v (got %q)", line, timeout, seen)
		}
	}
}

// unitCommand is the command line of one Exec*= key of the unit with the
// installed binary replaced by the one under test.
func unitCommand(t *testing.T, u unitFile, key string, extra ...string) []string {
	t.Helper()
	v := u["Service"][key]
	if len(v) != 1 {
		t.Fatalf("[Service] %s = %q, want one line", key, v)
	}
	args := strings.Fields(strings.ReplaceAll(v[0], "/usr/sbin/hawatch", filepath.Join(binDir, "hawatch")))
	return append(args, extra...)
}

// TestSystemdNotify runs the daemon as systemd runs the Type=notify unit
// (NOTIFY_SOCKET, WATCHDOG_USEC): READY=1 comes once the instance runs,
// WATCHDOG=1 every half interval from the VRRP loop, the unit's ExecReload
// fails (non-zero) on a broken policy and leaves the running one, succeeds
// on a good one, and SIGTERM says STOPPING=1.
func TestSystemdNotify(t *testing.T) {
	needRoot(t)
	u := parseUnit(t, unitPath)
	path, msgs := notifyListener(t)
	lab := netlab.New(t, netlab.Options{Nodes: 1})
	lb1 := lab.Nodes[0]
	inst := instance{vrid: 63, prio: 100, version: 3, interval: "100ms", vips: []string{"198.51.100.50/24"}}

	dir := t.TempDir()
	d := &daemon{t: t, node: lb1, dir: dir, config: filepath.Join(dir, "hawatch.hcl"), socket: filepath.Join(dir, "hawatch.sock")}
	if err := os.WriteFile(d.config, []byte(nodeConfig(lb1, dir, inst.String())), 0o600); err != nil {
		t.Fatal(err)
	}
	// systemd sets WATCHDOG_USEC from WatchdogSec; a short one keeps the
	// test quick: pings every 500 ms.
	const watchdog = time.Second
	start := time.Now()
	d.proc = lb1.Start(t, "env", "NOTIFY_SOCKET="+path, "WATCHDOG_USEC=1000000",
		filepath.Join(binDir, "hawatch"), "run", "--config", d.config)
	before := waitMsg(t, msgs, "READY=1", 15*time.Second)
	if len(before) > 0 {
		t.Errorf("before READY=1: %q", before)
	}
	st := d.mustStatus()
	if len(st.Instances) != 1 || st.Instances[0].State == "INIT" || st.Instances[0].State == "" {
		t.Fatalf("READY=1 before the instance runs: %+v", st.Instances)
	}
	t.Logf("READY=1 after %v (instance %s)", time.Since(start).Round(time.Millisecond), st.Instances[0].State)

	// Pings: count over 2 s (4 expected at 500 ms).
	pings := 0
	window := time.After(2 * time.Second)
count:
	for {
		select {
		case m := <-msgs:
			if strings.Contains(m, "WATCHDOG=1") {
				pings++
			}
		case <-window:
			break count
		}
	}
	if min := int(2 * time.Second / (watchdog / 2) / 2); pings < min {
		t.Errorf("%d watchdog pings in 2 s at WATCHDOG_USEC=%v, want at least %d", pings, watchdog, min)
	}
	t.Logf("%d watchdog pings in 2 s", pings)

	// ExecReload, as systemctl reload runs it, against a broken policy.
	reload := func() (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		args := unitCommand(t, u, "ExecReload", "--socket", d.socket)
		var out bytes.Buffer
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
	good, err := os.ReadFile(d.config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(d.config, append(append([]byte{}, good...), []byte("vrrp_instance \"broken\" {\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := reload()
	if err == nil {
		t.Fatalf("ExecReload of a broken policy exited 0:\n%s", out)
	}
	if !strings.Contains(out, "hawatch.hcl") {
		t.Errorf("failed reload does not say where:\n%s", out)
	}
	if st := d.mustFullStatus(); st.Instances[0].State != "MASTER" || st.Reloads.Failed != 1 {
		t.Errorf("after a failed reload: state %s, failed reloads %d; want MASTER, 1", st.Instances[0].State, st.Reloads.Failed)
	}
	inst.prio = 110
	d.rewrite(inst.String())
	if out, err := reload(); err != nil {
		t.Fatalf("ExecReload of a good policy: %v\n%s", err, out)
	}
	if st := d.mustFullStatus(); st.Instances[0].Priority != 110 {
		t.Errorf("after reload priority %d, want 110", st.Instances[0].Priority)
	}

	if err := d.proc.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitMsg(t, msgs, "STOPPING=1", 10*time.Second)
	if err := d.proc.Wait(10 * time.Second); err != nil {
		t.Fatalf("after SIGTERM: %v\n%s", err, d.proc.Output())
	}
	// Under heavy load a probe can miss its 500 ms; that is what the
	// watchdog is for, so it is only reported.
	if n := strings.Count(d.proc.Output(), "ping withheld"); n > 0 {
		t.Logf("%d watchdog probes missed (machine load?)", n)
	}
}

// uncomment turns the packaged template into the policy it describes:
// the commented blocks (`# word "label" {` to `# }`) and the commented
// node attributes (`  # name = ...`) become live.
func uncomment(template string) string {
	var out []string
	in := false
	for _, l := range strings.Split(template, "\n") {
		switch {
		case !in && strings.HasPrefix(l, "# ") && strings.HasSuffix(l, "{") && strings.Contains(l, `"`):
			in = true
			l = strings.TrimPrefix(l, "# ")
		case in:
			if l == "# }" {
				in = false
			}
			l = strings.TrimPrefix(strings.TrimPrefix(l, "#"), " ")
		case strings.HasPrefix(strings.TrimSpace(l), "# ") && strings.Contains(l, " = "):
			l = strings.Replace(l, "# ", "", 1)
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// TestSystemdConditionSkipsTemplate runs the unit's ExecCondition and
// ExecStartPre as systemd would: the packaged template (no instance) is
// skipped (exit 1, not a failure), the policy its comments describe runs
// (exit 0, and validates with its plugins), a broken file fails the unit
// (exit 255).
func TestSystemdConditionSkipsTemplate(t *testing.T) {
	u := parseUnit(t, unitPath)
	run := func(key, path string) (int, string) {
		t.Helper()
		args := unitCommand(t, u, key)
		args[len(args)-1] = path
		out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	const template = "../packaging/hawatch.hcl"
	if code, out := run("ExecCondition", template); code != 1 {
		t.Errorf("ExecCondition on the template: exit %d, want 1 (skip)\n%s", code, out)
	}
	if code, out := run("ExecStartPre", template); code != 0 {
		t.Errorf("validate of the template: exit %d\n%s", code, out)
	}
	b, err := os.ReadFile(template)
	if err != nil {
		t.Fatal(err)
	}
	live := strings.Replace(uncomment(string(b)), `"/usr/libexec/hawatch"`, `"`+binDir+`"`, 1)
	if strings.Count(live, "\nvrrp_instance \"") != 1 {
		t.Fatalf("uncommenting found no instance:\n%s", live)
	}
	dir := t.TempDir()
	livePath := filepath.Join(dir, "hawatch.hcl")
	if err := os.WriteFile(livePath, []byte(live), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := run("ExecCondition", livePath); code != 0 {
		t.Errorf("ExecCondition on the uncommented template: exit %d, want 0\n%s\n%s", code, out, live)
	}
	if code, out := run("ExecStartPre", livePath); code != 0 || !strings.Contains(out, "1 instance, 1 check") {
		t.Errorf("validate (with plugins) of the uncommented template: exit %d\n%s", code, out)
	}
	broken := filepath.Join(dir, "broken.hcl")
	if err := os.WriteFile(broken, []byte("vrrp_instance \"x\" {\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := run("ExecCondition", broken); code != 255 {
		t.Errorf("ExecCondition on a broken file: exit %d, want 255 (fail the unit)\n%s", code, out)
	}
}
