// Package e2e runs the real hawatch binary (and real keepalived and nginx)
// inside network-namespace labs built by internal/netlab. Every test needs
// root and skips without it.
package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hawatch/hawatch/core/control"
	"github.com/hawatch/hawatch/internal/netlab"
)

// binDir holds hawatch and its plugins, built once by TestMain.
var binDir string

func TestMain(m *testing.M) {
	if os.Geteuid() == 0 {
		dir, err := os.MkdirTemp("", "hawatch-e2e-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		// Plugin binaries must sit in a root-owned directory that nobody
		// else can write (the plugin host refuses anything else).
		if err := os.Chmod(dir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		binDir = dir
		if err := build(dir); err != nil {
			fmt.Fprintln(os.Stderr, "build:", err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
		code := m.Run()
		os.RemoveAll(dir)
		os.Exit(code)
	}
	os.Exit(m.Run())
}

func build(dir string) error {
	root, err := filepath.Abs("..")
	if err != nil {
		return err
	}
	targets := map[string]string{"hawatch": "./cmd/hawatch"}
	plugins, _ := filepath.Glob(filepath.Join(root, "plugins", "*", "main.go"))
	for _, p := range plugins {
		name := filepath.Base(filepath.Dir(p))
		targets["hawatch-"+name] = "./plugins/" + name
	}
	// Test-only plugins (e2e/testplugins) sit beside the real ones.
	testPlugins, _ := filepath.Glob(filepath.Join(root, "e2e", "testplugins", "*", "main.go"))
	for _, p := range testPlugins {
		name := filepath.Base(filepath.Dir(p))
		targets["hawatch-"+name] = "./e2e/testplugins/" + name
	}
	for out, pkg := range targets {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, out), pkg)
		cmd.Dir = root
		// Static, as the Makefile and the .deb build them (the memory
		// benchmark measures what ships).
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v\n%s", pkg, err, b)
		}
	}
	return nil
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("e2e tests need root (network namespaces, raw sockets): run `make test` as root")
	}
}

// daemon is one hawatch process in a lab node.
type daemon struct {
	t      *testing.T
	node   *netlab.Node
	dir    string
	config string
	socket string
	proc   *netlab.Proc
}

// nodeConfig renders a node policy with a control socket and state dir in
// dir, followed by body (instances, checks, ...).
func nodeConfig(node *netlab.Node, dir, body string) string {
	return fmt.Sprintf(`node {
  name           = %q
  control_socket = %q
  state_dir      = %q
  plugin_dir     = %q
  log_level      = "debug"
  log_format     = "json"
}
%s
`, node.Name, filepath.Join(dir, "hawatch.sock"), filepath.Join(dir, "state"), binDir, body)
}

// startDaemon writes the config and starts `hawatch run` in node.
func startDaemon(t *testing.T, node *netlab.Node, body string) *daemon {
	t.Helper()
	return startDaemonWith(t, node, "", body)
}

// startDaemonWith is startDaemon with nodeAttrs (lines such as
// `realtime_priority = 10`) added to the node block; a rewrite drops them.
func startDaemonWith(t *testing.T, node *netlab.Node, nodeAttrs, body string) *daemon {
	t.Helper()
	dir := t.TempDir()
	d := &daemon{t: t, node: node, dir: dir, config: filepath.Join(dir, "hawatch.hcl"), socket: filepath.Join(dir, "hawatch.sock")}
	cfg := nodeConfig(node, dir, body)
	if nodeAttrs != "" {
		cfg = strings.Replace(cfg, "  log_level", "  "+nodeAttrs+"\n  log_level", 1)
	}
	if err := os.WriteFile(d.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	d.start()
	return d
}

func (d *daemon) start() {
	d.t.Helper()
	d.proc = d.node.Start(d.t, filepath.Join(binDir, "hawatch"), "run", "--config", d.config)
}

// restart starts the daemon again with the same config (after a kill or stop).
func (d *daemon) restart() { d.start() }

func (d *daemon) rewrite(body string) {
	d.t.Helper()
	if err := os.WriteFile(d.config, []byte(nodeConfig(d.node, d.dir, body)), 0o600); err != nil {
		d.t.Fatal(err)
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (d *daemon) stop() {
	d.t.Helper()
	if err := d.proc.Signal(syscallTERM); err != nil {
		d.t.Fatalf("%s: SIGTERM: %v", d.node.Name, err)
	}
	if err := d.proc.Wait(10 * time.Second); err != nil {
		d.t.Fatalf("%s: after SIGTERM: %v\n%s", d.node.Name, err, d.proc.Output())
	}
}

// fullStatus is the daemon's whole status (engine status plus plugins and
// reloads), as `hawatch status --json` prints it. One connection per call,
// closed after it: tests poll, and idle keep-alive connections left open
// would pile up in the daemon.
func (d *daemon) fullStatus() (control.Status, error) {
	var st control.Status
	c := http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", d.socket)
		},
	}}
	resp, err := c.Get("http://hawatch/v1/status")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("status: HTTP %d", resp.StatusCode)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

func (d *daemon) mustFullStatus() control.Status {
	d.t.Helper()
	var st control.Status
	var err error
	for range 100 {
		if st, err = d.fullStatus(); err == nil {
			return st
		}
		time.Sleep(20 * time.Millisecond)
	}
	d.t.Fatalf("%s: status: %v\n%s", d.node.Name, err, d.proc.Output())
	return st
}

// status and mustStatus are the engine part of the daemon's status.
func (d *daemon) status() (control.Status, error) {
	st, err := d.fullStatus()
	return st, err
}

func (d *daemon) mustStatus() control.Status { return d.mustFullStatus() }

// logLines returns the daemon's JSON log lines whose message is msg.
func (d *daemon) logLines(msg string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(d.proc.Output()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["message"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// transitions counts "state change" log lines into state to.
func (d *daemon) transitions(to string) int {
	n := 0
	for _, l := range d.logLines("state change") {
		if l["to"] == to {
			n++
		}
	}
	return n
}

var vip4 = netip.MustParsePrefix("198.51.100.50/24")

// waitVIP waits until node holds (or does not hold) p on eth0.
func waitVIP(t *testing.T, node *netlab.Node, p netip.Prefix, present bool, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := node.WaitAddr(ctx, "eth0", p, present); err != nil {
		t.Fatalf("%s: VIP %s present=%v not reached within %v: %v", node.Name, p, present, timeout, err)
	}
	return time.Since(start)
}

func hasVIP(t *testing.T, node *netlab.Node, p netip.Prefix) bool {
	t.Helper()
	ok, err := node.HasAddr("eth0", p)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// exactlyOne waits up to settle for want to be the only node holding the
// VIP (a peer that won a first election, or a hand-over in flight, may
// still hold it for a moment), then asserts it stays that way for the
// whole window (sampled every 10 ms).
func exactlyOne(t *testing.T, p netip.Prefix, want *netlab.Node, window time.Duration, nodes ...*netlab.Node) {
	t.Helper()
	owners := func() string {
		var bad []string
		for _, n := range nodes {
			if got := hasVIP(t, n, p); got != (n == want) {
				bad = append(bad, fmt.Sprintf("%s holds VIP = %v", n.Name, got))
			}
		}
		return strings.Join(bad, ", ")
	}
	deadline := time.Now().Add(settle)
	for bad := owners(); bad != ""; bad = owners() {
		if time.Now().After(deadline) {
			t.Fatalf("%s after %v (expected sole owner %s)", bad, settle, want.Name)
		}
		time.Sleep(10 * time.Millisecond)
	}
	end := time.Now().Add(window)
	for {
		if bad := owners(); bad != "" {
			t.Fatalf("%s (expected sole owner %s, which it was)", bad, want.Name)
		}
		if time.Now().After(end) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// settle bounds how long exactlyOne waits for convergence before it starts
// asserting a steady state.
const settle = 2 * time.Second

// instance renders a vrrp_instance block.
type instance struct {
	name, iface   string
	vrid, prio    int
	version       int
	interval      string
	auth          string
	vips          []string
	unicastSource string
	unicastPeers  []string
	nopreempt     bool
	preemptDelay  string
	extra         string
}

func (i instance) String() string {
	var b strings.Builder
	name := i.name
	if name == "" {
		name = "VI_1"
	}
	iface := i.iface
	if iface == "" {
		iface = "eth0"
	}
	fmt.Fprintf(&b, "vrrp_instance %q {\n  interface = %q\n  virtual_router_id = %d\n  priority = %d\n", name, iface, i.vrid, i.prio)
	fmt.Fprintf(&b, "  version = %d\n  advert_interval = %q\n", i.version, i.interval)
	if i.auth != "" {
		fmt.Fprintf(&b, "  auth_pass = %q\n", i.auth)
	}
	fmt.Fprintf(&b, "  virtual_ips = [%s]\n", quoteList(i.vips))
	if i.unicastSource != "" {
		fmt.Fprintf(&b, "  unicast_source = %q\n", i.unicastSource)
	}
	if len(i.unicastPeers) > 0 {
		fmt.Fprintf(&b, "  unicast_peers = [%s]\n", quoteList(i.unicastPeers))
	}
	if i.nopreempt {
		b.WriteString("  preempt = false\n")
	}
	if i.preemptDelay != "" {
		fmt.Fprintf(&b, "  preempt_delay = %q\n", i.preemptDelay)
	}
	b.WriteString(i.extra)
	b.WriteString("}\n")
	return b.String()
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}
