package e2e

// Operator-facing behaviour of the real binaries: demote/promote (also across
// a restart), `hawatch status` (JSON and table), the event stream, the
// Prometheus endpoint, SO_PEERCRED refusal of mutating calls, rejected
// reloads that change nothing, and SIGTERM.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hawatch/hawatch/core/control"
	"github.com/hawatch/hawatch/internal/netlab"
)

// metricsAddr is the metrics endpoint inside each node's namespace (every
// namespace has its own loopback, so all nodes can use the same port).
const metricsAddr = "127.0.0.1:9712"

// needPlugin skips the test when hawatch-<name> was not built.
func needPlugin(t *testing.T, name string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(binDir, "hawatch-"+name)); err != nil {
		t.Skipf("plugin %s not built (no plugins/%s/main.go yet)", name, name)
	}
}

// withMetrics adds metrics_listen to the node block nodeConfig renders.
func withMetrics(cfg string) string {
	return strings.Replace(cfg, "\n}\n", fmt.Sprintf("\n  metrics_listen = %q\n}\n", metricsAddr), 1)
}

// startOps is startDaemon with the metrics endpoint on.
func startOps(t *testing.T, node *netlab.Node, body string) *daemon {
	t.Helper()
	dir := t.TempDir()
	d := &daemon{t: t, node: node, dir: dir, config: filepath.Join(dir, "hawatch.hcl"), socket: filepath.Join(dir, "hawatch.sock")}
	d.rewriteOps(body)
	d.start()
	return d
}

func (d *daemon) rewriteOps(body string) {
	d.t.Helper()
	if err := os.WriteFile(d.config, []byte(withMetrics(nodeConfig(d.node, d.dir, body))), 0o600); err != nil {
		d.t.Fatal(err)
	}
}

// ctl runs the hawatch CLI against this daemon's socket as root.
func (d *daemon) ctl(args ...string) (stdout, stderr string, err error) {
	return runCLI(nil, append(args, "--socket", d.socket)...)
}

// runCLI runs bin/hawatch, as cred if not nil.
func runCLI(cred *syscall.Credential, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "hawatch"), args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	err = cmd.Run()
	return o.String(), e.String(), err
}

// waitState polls the daemon until instance 0 reports want.
func (d *daemon) waitState(want string, timeout time.Duration) {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st, err := d.fullStatus()
		if err == nil && len(st.Instances) > 0 && st.Instances[0].State == want {
			return
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("%s: state %v (err %v), want %s within %v", d.node.Name, st.Instances, err, want, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// metrics scrapes the node's metrics endpoint from inside its namespace and
// returns every sample keyed by `name{labels}` as exposed.
func metrics(t *testing.T, node *netlab.Node) map[string]float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := node.Exec(ctx, "curl", "-sSf", "--max-time", "3", "http://"+metricsAddr+"/metrics")
	if err != nil {
		t.Fatalf("scrape %s: %v", node.Name, err)
	}
	m := map[string]float64{}
	for _, line := range strings.Split(string(out), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("scrape %s: bad sample line %q", node.Name, line)
		}
		m[line[:i]] = v
	}
	return m
}

// sample returns one series or fails the test if it is not exposed.
func sample(t *testing.T, m map[string]float64, series string) float64 {
	t.Helper()
	v, ok := m[series]
	if !ok {
		var names []string
		for k := range m {
			if strings.HasPrefix(k, "hawatch_") {
				names = append(names, k)
			}
		}
		t.Fatalf("metric %s not exposed; hawatch series: %v", series, names)
	}
	return v
}

// eventStream follows `hawatch events` (the real CLI) and hands out its
// JSON lines.
type eventStream struct {
	cmd   *exec.Cmd
	lines chan map[string]any
}

func followEvents(t *testing.T, d *daemon) *eventStream {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "hawatch"), "events", "--socket", d.socket)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	es := &eventStream{cmd: cmd, lines: make(chan map[string]any, 1024)}
	go func() {
		defer close(es.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				es.lines <- m
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return es
}

// waitFor returns the first event matching every key/value in want.
func (es *eventStream) waitFor(t *testing.T, want map[string]any, timeout time.Duration) map[string]any {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var seen []map[string]any
	for {
		select {
		case ev, ok := <-es.lines:
			if !ok {
				t.Fatalf("event stream ended before %v; saw %v", want, seen)
			}
			seen = append(seen, ev)
			match := true
			for k, v := range want {
				if ev[k] != v {
					match = false
				}
			}
			if match {
				return ev
			}
		case <-timer.C:
			t.Fatalf("no event %v within %v; saw %v", want, timeout, seen)
		}
	}
}

var opsBase = instance{vrid: 71, version: 3, interval: "100ms", vips: []string{"198.51.100.50/24"}}

// opsPair starts lb2 (priority 50) then lb1 (priority 100, its config
// prefixed by pre1 and its instance extended by extra1), both with metrics,
// and waits until lb1 alone holds the VIP.
func opsPair(t *testing.T, lab *netlab.Lab, base instance, pre1, extra1 string) (*daemon, *daemon) {
	t.Helper()
	lb1, lb2 := lab.Nodes[0], lab.Nodes[1]
	i1, i2 := base, base
	i1.prio, i2.prio = 100, 50
	i1.extra += extra1
	d2 := startOps(t, lb2, i2.String())
	d2.waitState("BACKUP", 5*time.Second)
	d1 := startOps(t, lb1, pre1+i1.String())
	waitVIP(t, lb1, vipOf(base), true, 10*time.Second)
	exactlyOne(t, vipOf(base), lb1, 3*intervalOf(base), lb1, lb2)
	return d1, d2
}

func TestDemotePromote(t *testing.T) {
	needRoot(t)
	lab := netlab.New(t, netlab.Options{Nodes: 2})
	lb1, lb2 := lab.Nodes[0], lab.Nodes[1]
	interval := intervalOf(opsBase)
	mdi, _ := rfcTimes(interval, 50)
	d1, d2 := opsPair(t, lab, opsBase, "", "")
	ev1, ev2 := followEvents(t, d1), followEvents(t, d2)

	m := metrics(t, lb1)
	if v := sample(t, m, `hawatch_instance_state{instance="VI_1",state="MASTER"}`); v != 1 {
		t.Fatalf("lb1 MASTER gauge %v before demote", v)
	}
	transitions := sample(t, m, `hawatch_transitions_total{instance="VI_1"}`)
	sentBefore := d1.mustStatus().Instances[0].Stats.AdvertsSent

	// Demote: one priority-0 advert, the VIP goes, lb1 stays BACKUP.
	if out, errOut, err := d1.ctl("demote", "VI_1"); err != nil || !strings.Contains(out, "ok") {
		t.Fatalf("hawatch demote: %v\n%s%s", err, out, errOut)
	}
	start := time.Now()
	waitVIP(t, lb2, vip4, true, mdi+loadSlack)
	took := time.Since(start)
	waitVIP(t, lb1, vip4, false, time.Second)
	t.Logf("demote: lb2 took over after %v (Master_Down_Interval %v)", took, mdi)
	ev2.waitFor(t, map[string]any{"type": "transition", "instance": "VI_1", "to": "MASTER"}, 2*time.Second)
	ev1.waitFor(t, map[string]any{"type": "transition", "instance": "VI_1", "from": "MASTER", "to": "BACKUP"}, 2*time.Second)
	if got := lastTransitionTo(d2, "MASTER"); !strings.Contains(fmt.Sprint(got["reason"], got["detail"]), "priority 0") {
		t.Errorf("lb2 became MASTER for %v/%v, want the priority-0 advert of the demoted master", got["reason"], got["detail"])
	}

	st := d1.mustStatus()
	in := st.Instances[0]
	if in.State != "BACKUP" || len(in.Holds) == 0 {
		t.Fatalf("lb1 after demote: state %s holds %v, want BACKUP with an operator hold", in.State, in.Holds)
	}
	// It advertised priority 0 once (plus at most one regular advert that
	// raced the command) and then fell silent as a backup.
	if n := in.Stats.AdvertsSent - sentBefore; n < 1 || n > 2 {
		t.Errorf("lb1 sent %d adverts around the demote, want the one priority-0 advert", n)
	}
	exactlyOne(t, vip4, lb2, 3*mdi, lb1, lb2)
	if after := d1.mustStatus().Instances[0].Stats.AdvertsSent; after != in.Stats.AdvertsSent {
		t.Errorf("demoted lb1 kept advertising: %d → %d", in.Stats.AdvertsSent, after)
	}
	m = metrics(t, lb1)
	if v := sample(t, m, `hawatch_instance_state{instance="VI_1",state="BACKUP"}`); v != 1 {
		t.Errorf("lb1 BACKUP gauge %v after demote", v)
	}
	if v := sample(t, m, `hawatch_transitions_total{instance="VI_1"}`); v != transitions+1 {
		t.Errorf("lb1 transitions %v after demote, want %v", v, transitions+1)
	}
	if v := sample(t, metrics(t, lb2), `hawatch_instance_state{instance="VI_1",state="MASTER"}`); v != 1 {
		t.Errorf("lb2 MASTER gauge %v after takeover", v)
	}

	// The intent survives a restart: lb1 (priority 100, preempt) comes back
	// and must not take the VIP.
	b, err := os.ReadFile(filepath.Join(d1.dir, "state", "demoted.json"))
	if err != nil || !strings.Contains(string(b), "VI_1") {
		t.Fatalf("state_dir/demoted.json: %q, %v", b, err)
	}
	d1.stop()
	d1.start()
	d1.waitState("BACKUP", 5*time.Second)
	exactlyOne(t, vip4, lb2, 3*mdi, lb1, lb2)
	if in := d1.mustStatus().Instances[0]; in.State != "BACKUP" || len(in.Holds) == 0 {
		t.Fatalf("lb1 after restart: state %s holds %v, want BACKUP, still held", in.State, in.Holds)
	}
	out, _, err := d1.ctl("status")
	if err != nil || !strings.Contains(out, "operator") {
		t.Errorf("status table after restart does not show the operator hold (err %v):\n%s", err, out)
	}

	// Unknown instance: refused, nothing changes.
	if _, errOut, err := d1.ctl("promote", "VI_nope"); err == nil {
		t.Error("promote of an unknown instance succeeded")
	} else if !strings.Contains(errOut, "VI_nope") {
		t.Errorf("promote VI_nope: stderr %q does not name the instance", errOut)
	}

	// Promote: lb1 preempts back.
	ev1 = followEvents(t, d1)
	if out, errOut, err := d1.ctl("promote"); err != nil {
		t.Fatalf("hawatch promote: %v\n%s%s", err, out, errOut)
	}
	waitVIP(t, lb1, vip4, true, mdi+2*interval+loadSlack)
	waitVIP(t, lb2, vip4, false, time.Second)
	ev1.waitFor(t, map[string]any{"type": "transition", "instance": "VI_1", "to": "MASTER"}, 2*time.Second)
	if in := d1.mustStatus().Instances[0]; in.State != "MASTER" || len(in.Holds) != 0 {
		t.Errorf("lb1 after promote: state %s holds %v", in.State, in.Holds)
	}
	if b, err := os.ReadFile(filepath.Join(d1.dir, "state", "demoted.json")); err == nil && strings.Contains(string(b), "VI_1") {
		t.Errorf("demoted.json still names VI_1 after promote: %s", b)
	}
	m = metrics(t, lb1)
	if v := sample(t, m, `hawatch_instance_state{instance="VI_1",state="MASTER"}`); v != 1 {
		t.Errorf("lb1 MASTER gauge %v after promote", v)
	}
	if v := sample(t, m, `hawatch_transitions_total{instance="VI_1"}`); v < 2 {
		t.Errorf("lb1 transitions %v after restart and promote, want ≥ 2 (INIT→BACKUP→MASTER)", v)
	}
}

func lastTransitionTo(d *daemon, to string) map[string]any {
	var last map[string]any
	for _, l := range d.logLines("state change") {
		if l["to"] == to {
			last = l
		}
	}
	return last
}

// TestStatusAndMetrics checks the documented shape of `hawatch status
// --json`, the human table, and the Prometheus series for adverts.
func TestStatusAndMetrics(t *testing.T) {
	needRoot(t)
	needPlugin(t, "tcpprobe")
	lab := netlab.New(t, netlab.Options{Nodes: 2})
	lb1, lb2 := lab.Nodes[0], lab.Nodes[1]
	netlab.StartNginx(t, lb1)
	netlab.StartNginx(t, lb2)
	checks := func(n *netlab.Node) string {
		return fmt.Sprintf(`plugin "tcpprobe" {
  command = "hawatch-tcpprobe"
}
check "web" {
  plugin   = "tcpprobe"
  interval = "200ms"
  config {
    address = "%s:80"
  }
}
`, n.Addr4)
	}
	base := opsBase
	base.vrid = 72
	i1, i2 := base, base
	i1.prio, i2.prio = 100, 50
	i1.extra = "  track \"web\" { weight = -60 }\n"
	i2.extra = i1.extra
	d2 := startOps(t, lb2, checks(lb2)+i2.String())
	d1 := startOps(t, lb1, checks(lb1)+i1.String())
	waitVIP(t, lb1, vip4, true, 10*time.Second)
	d2.waitState("BACKUP", 5*time.Second)
	time.Sleep(5 * intervalOf(base)) // let adverts flow both ways

	out, errOut, err := d1.ctl("status", "--json")
	if err != nil {
		t.Fatalf("status --json: %v\n%s", err, errOut)
	}
	// Decode into plain maps: the test pins the JSON names operators'
	// scripts use, not the Go structs.
	var js struct {
		Instances []map[string]any `json:"instances"`
		Checks    []map[string]any `json:"checks"`
		Plugins   []map[string]any `json:"plugins"`
	}
	if err := json.Unmarshal([]byte(out), &js); err != nil {
		t.Fatalf("status --json is not JSON: %v\n%s", err, out)
	}
	if len(js.Instances) != 1 {
		t.Fatalf("instances %v", js.Instances)
	}
	in := js.Instances[0]
	for k, want := range map[string]any{"name": "VI_1", "state": "MASTER", "priority": 100.0, "effective_priority": 100.0} {
		if in[k] != want {
			t.Errorf("instances[0].%s = %v, want %v", k, in[k], want)
		}
	}
	if vips, _ := in["vips"].([]any); len(vips) != 1 || vips[0] != "198.51.100.50/24" {
		t.Errorf("instances[0].vips = %v", in["vips"])
	}
	if len(js.Checks) != 1 {
		t.Fatalf("checks %v", js.Checks)
	}
	if c := js.Checks[0]; c["name"] != "web" || c["status"] != "ok" || c["reason"] == nil {
		t.Errorf("checks[0] = %v, want name web, status ok, a reason", c)
	}
	if len(js.Plugins) == 0 || js.Plugins[0]["restarts"] == nil {
		t.Errorf("plugins %v, want web with a restarts counter", js.Plugins)
	}

	table, _, err := d1.ctl("status")
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	if !regexp.MustCompile(`(?m)^VI_1\s+MASTER\s+100\s+100\s+198\.51\.100\.50/24`).MatchString(table) {
		t.Errorf("status table has no `VI_1 MASTER 100 100 198.51.100.50/24` row:\n%s", table)
	}
	if !regexp.MustCompile(`(?m)^web\s+ok\s`).MatchString(table) {
		t.Errorf("status table has no `web ok` check row:\n%s", table)
	}
	t.Logf("hawatch status on lb1:\n%s", table)

	m1, m2 := metrics(t, lb1), metrics(t, lb2)
	for _, c := range []struct {
		m      map[string]float64
		series string
		min    float64
	}{
		{m1, `hawatch_instance_state{instance="VI_1",state="MASTER"}`, 1},
		{m2, `hawatch_instance_state{instance="VI_1",state="BACKUP"}`, 1},
		{m1, `hawatch_transitions_total{instance="VI_1"}`, 1},
		{m1, `hawatch_adverts_sent_total{instance="VI_1"}`, 3},
		{m2, `hawatch_adverts_received_total{instance="VI_1"}`, 3},
		{m1, `hawatch_instance_effective_priority{instance="VI_1"}`, 100},
		{m1, `hawatch_check_status{check="web",status="ok"}`, 1},
		{m1, `hawatch_track_up{check="web",instance="VI_1"}`, 1},
		{m1, `hawatch_plugin_restarts_total{kind="check",name="web"}`, 0},
		{m1, `hawatch_reloads_total{result="ok"}`, 0},
	} {
		if v := sample(t, c.m, c.series); v < c.min {
			t.Errorf("%s = %v, want ≥ %v", c.series, v, c.min)
		}
	}
	if v := sample(t, m1, `hawatch_instance_state{instance="VI_1",state="BACKUP"}`); v != 0 {
		t.Errorf("lb1 BACKUP gauge %v while MASTER", v)
	}
}

// TestControlRefusesNonRoot: with the socket reachable by an unprivileged
// user (in production the 0660 mode already stops them), SO_PEERCRED is what
// refuses the mutating calls, while status stays readable.
func TestControlRefusesNonRoot(t *testing.T) {
	needRoot(t)
	lab := netlab.New(t, netlab.Options{Nodes: 1, NoClient: true})
	lb1 := lab.Nodes[0]
	inst := opsBase
	inst.vrid, inst.prio = 73, 100
	d := startOps(t, lb1, inst.String())
	waitVIP(t, lb1, vip4, true, 5*time.Second)
	// Open the path to the socket for uid 65534: every parent directory
	// traversable, the socket writable.
	for dir := filepath.Dir(d.socket); dir != "/" && dir != os.TempDir(); dir = filepath.Dir(dir) {
		if err := os.Chmod(dir, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(d.socket, 0o666); err != nil {
		t.Fatal(err)
	}
	nobody := &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}

	for _, args := range [][]string{{"reload"}, {"demote", "VI_1"}, {"promote"}} {
		_, errOut, err := runCLI(nobody, append(args, "--socket", d.socket)...)
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() == 0 {
			t.Errorf("hawatch %v as nobody: err %v, want a non-zero exit", args, err)
		}
		if !strings.Contains(errOut, "permission denied") {
			t.Errorf("hawatch %v as nobody: stderr %q, want \"permission denied\"", args, errOut)
		}
	}
	out, errOut, err := runCLI(nobody, "status", "--json", "--socket", d.socket)
	if err != nil || !strings.Contains(out, `"MASTER"`) {
		t.Errorf("status as nobody: %v\n%s%s", err, out, errOut)
	}
	// Nothing changed: no reload counted, still MASTER, not demoted.
	st := d.mustFullStatus()
	if st.Reloads.OK+st.Reloads.Failed != 0 || st.Instances[0].State != "MASTER" || len(st.Instances[0].Holds) != 0 {
		t.Errorf("refused calls had an effect: reloads %+v, instance %+v", st.Reloads, st.Instances[0])
	}
	refused := d.logLines("control call refused")
	if len(refused) != 3 || refused[0]["uid"] != 65534.0 {
		t.Errorf("daemon logged %d refusals (%v), want 3 from uid 65534", len(refused), refused)
	}
	// Root is still allowed (the refusal is about the caller, not the call).
	if _, errOut, err := d.ctl("reload"); err != nil {
		t.Errorf("reload as root: %v\n%s", err, errOut)
	}
}

// TestControlGroupMembers: with node { control_group = "4242" }, a process
// that has gid 4242 as its primary group or only as a supplementary one may
// demote and promote; without it, it cannot even open the socket (0660,
// owned by root:4242).
func TestControlGroupMembers(t *testing.T) {
	needRoot(t)
	lab := netlab.New(t, netlab.Options{Nodes: 1, NoClient: true})
	lb1 := lab.Nodes[0]
	inst := opsBase
	inst.vrid, inst.prio = 74, 100
	dir := t.TempDir()
	d := &daemon{t: t, node: lb1, dir: dir, config: filepath.Join(dir, "hawatch.hcl"), socket: filepath.Join(dir, "hawatch.sock")}
	cfg := strings.Replace(nodeConfig(lb1, dir, inst.String()), "  log_level", "  control_group  = \"4242\"\n  log_level", 1)
	if err := os.WriteFile(d.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	d.start()
	waitVIP(t, lb1, vip4, true, 5*time.Second)
	for dir := filepath.Dir(d.socket); dir != "/" && dir != os.TempDir(); dir = filepath.Dir(dir) {
		if err := os.Chmod(dir, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	if fi, err := os.Stat(d.socket); err != nil || fi.Mode().Perm() != 0o660 || fi.Sys().(*syscall.Stat_t).Gid != 4242 {
		t.Fatalf("socket %v (err %v), want 0660 root:4242", fi.Mode(), err)
	}
	for _, c := range []struct {
		name string
		cred *syscall.Credential
		ok   bool
	}{
		{"supplementary group", &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{4242}}, true},
		{"primary group", &syscall.Credential{Uid: 65534, Gid: 4242, Groups: []uint32{}}, true},
		{"neither", &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}, false},
	} {
		for _, cmd := range []string{"demote", "promote"} {
			_, errOut, err := runCLI(c.cred, cmd, "VI_1", "--socket", d.socket)
			if (err == nil) != c.ok {
				t.Errorf("%s: hawatch %s: err %v (%s), want allowed %v", c.name, cmd, err, strings.TrimSpace(errOut), c.ok)
			}
		}
	}
	if refused := d.logLines("control call refused"); len(refused) != 0 {
		t.Errorf("refusals logged for group members: %v", refused)
	}
}

// TestInvalidReloadChangesNothing: each broken file is rejected with its
// position, by `hawatch reload` and by SIGHUP, and the node keeps running
// exactly as before.
func TestInvalidReloadChangesNothing(t *testing.T) {
	needRoot(t)
	lab := netlab.New(t, netlab.Options{Nodes: 2, NoClient: true})
	lb1, lb2 := lab.Nodes[0], lab.Nodes[1]
	base := opsBase
	base.vrid = 74
	haveProbe := true
	if _, err := os.Stat(filepath.Join(binDir, "hawatch-tcpprobe")); err != nil {
		haveProbe = false
	}
	good := ""
	if haveProbe {
		netlab.StartNginx(t, lb1)
		good = fmt.Sprintf(`plugin "tcpprobe" {
  command = "hawatch-tcpprobe"
}
check "web" {
  plugin   = "tcpprobe"
  interval = "200ms"
  config {
    address = "%s:80"
  }
}
`, lb1.Addr4)
	}
	extra := ""
	if haveProbe {
		extra = "  track \"web\" {}\n"
	}
	d1, _ := opsPair(t, lab, base, good, extra)
	i1 := base
	i1.prio, i1.extra = 100, extra
	goodBody := good + i1.String()

	type broken struct {
		name string
		body string // the whole body; the bad line is marked with BAD
		need string // plugin the case needs
	}
	cases := []broken{
		{"syntax error", goodBody + "vrrp_instance \"VI_2\" {\n  priority = = 3 # BAD\n}\n", ""},
		{"unknown plugin", goodBody + "check \"db\" {\n  plugin = \"nosuchplugin\" # BAD\n}\n", ""},
		{"missing plugin binary", goodBody + "plugin \"ghost\" { # BAD\n  command = \"hawatch-ghost\"\n}\ncheck \"ghost\" {\n  plugin = \"ghost\"\n}\n", ""},
		{"bad plugin config", strings.Replace(goodBody, fmt.Sprintf("address = \"%s:80\"", lb1.Addr4), fmt.Sprintf("adress = \"%s:80\" # BAD", lb1.Addr4), 1), "tcpprobe"},
	}
	before := d1.mustFullStatus()
	transitions := d1.transitions("MASTER") + d1.transitions("BACKUP")
	failed := before.Reloads.Failed
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.need != "" && !haveProbe {
				t.Skipf("plugin %s not built", c.need)
			}
			badLine := 0
			for i, l := range strings.Split(withMetrics(nodeConfig(lb1, d1.dir, c.body)), "\n") {
				if strings.Contains(l, "# BAD") {
					badLine = i + 1
				}
			}
			if badLine == 0 {
				t.Fatal("test bug: no # BAD line in the broken config")
			}
			d1.rewriteOps(c.body)
			_, errOut, err := d1.ctl("reload")
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() == 0 {
				t.Fatalf("reload of a broken file: err %v, want a non-zero exit\n%s", err, errOut)
			}
			pos := regexp.MustCompile(regexp.QuoteMeta(d1.config) + `:` + strconv.Itoa(badLine) + `:[0-9]+: `)
			if !pos.MatchString(errOut) {
				t.Errorf("reload error does not point at %s:%d:COL:\n%s", d1.config, badLine, errOut)
			}
			failed++

			// SIGHUP with the same file: rejected too, logged.
			hupsBefore := len(d1.logLines("reload rejected; running config unchanged"))
			if err := d1.proc.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			failed++
			waitUntil(t, 20*time.Second, "SIGHUP reload rejected", func() bool {
				return len(d1.logLines("reload rejected; running config unchanged")) > hupsBefore
			})

			after := d1.mustFullStatus()
			assertUnchanged(t, before, after)
			if after.Reloads.Failed != failed {
				t.Errorf("failed reloads %d, want %d", after.Reloads.Failed, failed)
			}
			if !hasVIP(t, lb1, vip4) || hasVIP(t, lb2, vip4) {
				t.Error("VIP moved during a rejected reload")
			}
			if n := d1.transitions("MASTER") + d1.transitions("BACKUP"); n != transitions {
				t.Errorf("lb1 made %d transitions during rejected reloads", n-transitions)
			}
		})
	}
	// The same daemon accepts a good file again: the rejections were about
	// the files, not a daemon that refuses everything.
	d1.rewriteOps(goodBody)
	if _, errOut, err := d1.ctl("reload"); err != nil {
		t.Fatalf("reload of the good file: %v\n%s", err, errOut)
	}
	if st := d1.mustFullStatus(); st.Reloads.OK != before.Reloads.OK+1 || st.Instances[0].State != "MASTER" {
		t.Errorf("after a good reload: reloads %+v state %s", st.Reloads, st.Instances[0].State)
	}
}

// assertUnchanged compares what a rejected reload must not touch.
func assertUnchanged(t *testing.T, before, after control.Status) {
	t.Helper()
	if len(after.Instances) != len(before.Instances) {
		t.Fatalf("instances %d → %d", len(before.Instances), len(after.Instances))
	}
	for i, b := range before.Instances {
		a := after.Instances[i]
		if a.Name != b.Name || a.State != b.State || a.Priority != b.Priority || a.EffectivePriority != b.EffectivePriority ||
			strings.Join(a.VIPs, ",") != strings.Join(b.VIPs, ",") || a.Stats.Transitions != b.Stats.Transitions {
			t.Errorf("instance changed:\nbefore %+v\nafter  %+v", b, a)
		}
	}
	if len(after.Checks) != len(before.Checks) {
		t.Errorf("checks %v → %v", before.Checks, after.Checks)
	}
	for i := range min(len(before.Checks), len(after.Checks)) {
		if after.Checks[i].Name != before.Checks[i].Name || after.Checks[i].Status != before.Checks[i].Status {
			t.Errorf("check changed: %+v → %+v", before.Checks[i], after.Checks[i])
		}
	}
	bp := map[string]int{}
	for _, p := range before.Plugins {
		bp[p.Name] = p.PID
	}
	for _, p := range after.Plugins {
		if bp[p.Name] != p.PID {
			t.Errorf("plugin %s replaced (pid %d → %d) by a rejected reload", p.Name, bp[p.Name], p.PID)
		}
	}
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSIGTERMReleases: SIGTERM makes a master send priority 0 (the backup
// takes over after Skew_Time, well before Master_Down_Interval), release
// the VIP, stop its plugins and exit 0.
func TestSIGTERMReleases(t *testing.T) {
	needRoot(t)
	lab := netlab.New(t, netlab.Options{Nodes: 2, NoClient: true})
	lb1, lb2 := lab.Nodes[0], lab.Nodes[1]
	base := opsBase
	base.vrid, base.interval = 75, "1s" // 1 s makes Skew_Time and Master_Down_Interval far apart
	mdi, skew := rfcTimes(time.Second, 50)
	extra := ""
	var body1Prefix string
	if _, err := os.Stat(filepath.Join(binDir, "hawatch-tcpprobe")); err == nil {
		netlab.StartNginx(t, lb1)
		body1Prefix = fmt.Sprintf("plugin \"tcpprobe\" {\n  command = \"hawatch-tcpprobe\"\n}\ncheck \"web\" {\n  plugin = \"tcpprobe\"\n  interval = \"200ms\"\n  config {\n    address = \"%s:80\"\n  }\n}\n", lb1.Addr4)
		extra = "  track \"web\" {}\n"
	}
	i1, i2 := base, base
	i1.prio, i2.prio, i1.extra = 100, 50, extra
	d2 := startOps(t, lb2, i2.String())
	d2.waitState("BACKUP", 5*time.Second)
	d1 := startOps(t, lb1, body1Prefix+i1.String())
	waitVIP(t, lb1, vip4, true, 10*time.Second)
	d2.waitState("BACKUP", 5*time.Second)
	var pluginPIDs []int
	for _, p := range d1.mustFullStatus().Plugins {
		if p.PID > 0 {
			pluginPIDs = append(pluginPIDs, p.PID)
		}
	}

	start := time.Now()
	if err := d1.proc.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	took := waitVIP(t, lb2, vip4, true, mdi+loadSlack)
	t.Logf("SIGTERM: lb2 took over after %v (Skew_Time %v, Master_Down_Interval %v)", time.Since(start), skew, mdi)
	if took > skew+loadSlack+100*time.Millisecond {
		t.Errorf("takeover after SIGTERM took %v: no priority-0 advert (Skew_Time %v)", took, skew)
	}
	if err := d1.proc.Wait(10 * time.Second); err != nil {
		t.Fatalf("exit after SIGTERM: %v, want status 0\n%s", err, d1.proc.Output())
	}
	if hasVIP(t, lb1, vip4) {
		t.Error("lb1 kept the VIP after SIGTERM")
	}
	for _, pid := range pluginPIDs {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("plugin pid %d outlived the daemon", pid)
		}
	}
	if got := lastTransitionTo(d2, "MASTER"); !strings.Contains(fmt.Sprint(got["reason"], got["detail"]), "priority 0") {
		t.Errorf("lb2 became MASTER for %v/%v, want the priority-0 advert", got["reason"], got["detail"])
	}
}
