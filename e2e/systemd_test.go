package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hawatch/hawatch/internal/netlab"
)

const (
	unitPath   = "../examples/systemd/hawatch.service"
	dropInPath = "../examples/systemd/hawatch.service.d/plugin-users.conf"
)

// unitFile is a systemd unit parsed the way systemd reads the keys this
// test cares about: section → key → every assignment in order (list-valued
// keys such as CapabilityBoundingSet accumulate).
type unitFile map[string]map[string][]string

func parseUnit(t *testing.T, path string) unitFile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unitFile{}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			if u[section] == nil {
				u[section] = map[string][]string{}
			}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not a key=value line inside a section: %q", path, n, line)
			}
			u[section][strings.TrimSpace(k)] = append(u[section][strings.TrimSpace(k)], strings.TrimSpace(v))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

// caps is the set of capabilities a list-valued key ends up with.
func (u unitFile) caps(key string) []string {
	var out []string
	for _, v := range u["Service"][key] {
		if v == "" {
			out = nil // an empty assignment resets the list
			continue
		}
		out = append(out, strings.Fields(v)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// with returns the unit with a drop-in's [Service] lines appended, as
// systemd merges them.
func (u unitFile) with(dropIn unitFile) unitFile {
	out := unitFile{"Service": {}}
	for _, f := range []unitFile{u, dropIn} {
		for k, v := range f["Service"] {
			out["Service"][k] = append(out["Service"][k], v...)
		}
	}
	return out
}

func TestSystemdUnitKeyLines(t *testing.T) {
	u := parseUnit(t, unitPath)
	for _, tc := range []struct {
		key, want string
	}{
		{"Type", "notify"},
		{"NotifyAccess", "main"},
		{"WatchdogSec", "10s"},
		{"ExecCondition", "/usr/sbin/hawatch validate --configured --no-plugins /etc/hawatch/hawatch.hcl"},
		{"ExecStartPre", "/usr/sbin/hawatch validate /etc/hawatch/hawatch.hcl"},
		{"ExecStart", "/usr/sbin/hawatch run --config /etc/hawatch/hawatch.hcl"},
		{"ExecReload", "/usr/sbin/hawatch reload"},
		{"NoNewPrivileges", "yes"},
		{"ProtectSystem", "strict"},
		{"ReadWritePaths", "/var/lib/hawatch"},
		{"RuntimeDirectory", "hawatch"},
		{"RuntimeDirectoryMode", "0750"},
		{"StateDirectory", "hawatch"},
		{"ProtectHome", "yes"},
		{"PrivateTmp", "yes"},
		{"Restart", "on-failure"},
		{"Nice", "-10"},
	} {
		got := u["Service"][tc.key]
		if len(got) != 1 || got[0] != tc.want {
			t.Errorf("[Service] %s = %q, want exactly one line %q", tc.key, got, tc.want)
		}
	}
	// The daemon keeps exactly the two network capabilities: one more in
	// the bounding set is a privilege every plugin inherits too.
	want := []string{"CAP_NET_ADMIN", "CAP_NET_RAW"}
	for _, key := range []string{"CapabilityBoundingSet", "AmbientCapabilities"} {
		if got := u.caps(key); !slices.Equal(got, want) {
			t.Errorf("[Service] %s = %v, want %v", key, got, want)
		}
	}
	// Writing promote_secondaries needs a writable /proc/sys.
	if v := u["Service"]["ProtectKernelTunables"]; len(v) > 0 && v[len(v)-1] == "yes" {
		t.Error("ProtectKernelTunables=yes makes /proc/sys read-only; the daemon writes promote_secondaries")
	}
	if got := u["Unit"]["ConditionPathExists"]; !slices.Equal(got, []string{"/etc/hawatch/hawatch.hcl"}) {
		t.Errorf("[Unit] ConditionPathExists = %q", got)
	}
	if got := u["Install"]["WantedBy"]; !slices.Equal(got, []string{"multi-user.target"}) {
		t.Errorf("[Install] WantedBy = %q", got)
	}

	// The drop-in for plugins with `user =` adds exactly what the plugin
	// host needs to switch users, on top of the unit's two.
	d := parseUnit(t, dropInPath)
	merged := u.with(d)
	if got := merged["Service"]["UnsetEnvironment"]; !slices.Equal(got, []string{"RUNTIME_DIRECTORY"}) {
		t.Errorf("drop-in UnsetEnvironment = %q, want RUNTIME_DIRECTORY (plugin users cannot enter /run/hawatch)", got)
	}
	wantAll := []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_KILL", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID"}
	for _, key := range []string{"CapabilityBoundingSet", "AmbientCapabilities"} {
		if got := merged.caps(key); !slices.Equal(got, wantAll) {
			t.Errorf("unit + drop-in %s = %v, want %v", key, got, wantAll)
		}
	}
}

// TestSystemdUnitVerifies lets systemd itself read the unit: an unknown or
// misspelt key is silently ignored at run time (and would weaken the
// sandbox), but systemd-analyze reports it.
func TestSystemdUnitVerifies(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze not installed")
	}
	b, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	// The binary is not installed here; any executable stands in for it.
	unit := strings.ReplaceAll(string(b), "/usr/sbin/hawatch", "/bin/true")
	dir := t.TempDir()
	path := filepath.Join(dir, "hawatch.service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", "--man=no", path).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// setprivArgs turns capability names from the unit into a setpriv command
// line that gives the program only those (as systemd does for a root
// service with CapabilityBoundingSet, AmbientCapabilities and
// NoNewPrivileges).
func setprivArgs(caps []string) []string {
	list := "-all"
	for _, c := range caps {
		list += ",+" + strings.ToLower(strings.TrimPrefix(c, "CAP_"))
	}
	return []string{"--bounding-set", list, "--inh-caps", list, "--ambient-caps", list, "--no-new-privs", "--"}
}

// startConfined starts `hawatch run` in node the way systemd would with the
// unit u: its Nice=, only its capabilities, no new privileges, umask 0027, and a runtime
// directory (mode 0750 below a world-searchable parent, like /run/hawatch)
// holding the control socket and passed in RUNTIME_DIRECTORY unless the unit
// unsets that variable.
func startConfined(t *testing.T, node *netlab.Node, u unitFile, body string) *daemon {
	t.Helper()
	dir := t.TempDir()
	runDir := filepath.Join(dir, "run")
	for _, p := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(runDir, 0o750); err != nil {
		t.Fatal(err)
	}
	d := &daemon{t: t, node: node, dir: dir, config: filepath.Join(dir, "hawatch.hcl"), socket: filepath.Join(runDir, "hawatch.sock")}
	cfg := strings.Replace(nodeConfig(node, dir, body), filepath.Join(dir, "hawatch.sock"), d.socket, 1)
	if err := os.WriteFile(d.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"RUNTIME_DIRECTORY=" + runDir}
	for _, v := range u["Service"]["UnsetEnvironment"] {
		if slices.Contains(strings.Fields(v), "RUNTIME_DIRECTORY") {
			env = nil
		}
	}
	args := append([]string{"-c", `umask 0027 && exec "$@"`, "sh", "env"}, env...)
	if v := u["Service"]["Nice"]; len(v) > 0 {
		args = append(args, "nice", "-n", v[len(v)-1])
	}
	args = append(args, "setpriv")
	args = append(args, setprivArgs(u.caps("CapabilityBoundingSet"))...)
	args = append(args, filepath.Join(binDir, "hawatch"), "run", "--config", d.config)
	d.proc = node.Start(t, "sh", args...)
	return d
}

// capEff reads the effective capability mask of pid.
func capEff(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "CapEff:"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no CapEff in /proc/%d/status", pid)
	return ""
}

// TestSystemdCapabilitiesSuffice runs the daemon with exactly the unit's
// capabilities: it must win an election, own the VIP, serve its control
// socket and release the VIP on SIGTERM.
func TestSystemdCapabilitiesSuffice(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv (util-linux) not installed")
	}
	u := parseUnit(t, unitPath)
	lab := netlab.New(t, netlab.Options{Nodes: 2})
	lb1, lb2 := lab.Nodes[0], lab.Nodes[1]
	base := instance{vrid: 61, version: 3, interval: "100ms", vips: []string{"198.51.100.50/24"}}
	i1, i2 := base, base
	i1.prio, i2.prio = 100, 50
	startDaemon(t, lb2, i2.String())
	d1 := startConfined(t, lb1, u, i1.String())
	waitVIP(t, lb1, vip4, true, 5*time.Second)
	exactlyOne(t, vip4, lb1, 500*time.Millisecond, lb1, lb2)

	// CAP_NET_ADMIN is bit 12, CAP_NET_RAW bit 13: 0x3000 and nothing else.
	if got := capEff(t, d1.proc.PID()); got != "0000000000003000" {
		t.Errorf("confined daemon CapEff = %s, want 0000000000003000 (net_admin, net_raw)", got)
	}
	if st := d1.mustStatus(); st.Instances[0].State != "MASTER" {
		t.Errorf("confined lb1 state %s, want MASTER", st.Instances[0].State)
	}
	if err := d1.proc.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitVIP(t, lb2, vip4, true, 2*time.Second)
	if err := d1.proc.Wait(10 * time.Second); err != nil {
		t.Fatalf("confined daemon after SIGTERM: %v\n%s", err, d1.proc.Output())
	}
	if hasVIP(t, lb1, vip4) {
		t.Error("confined daemon kept the VIP after SIGTERM")
	}
}

// TestSystemdPluginUserNeedsDropIn checks what the unit's comment promises
// about `user =`: with the unit's two capabilities a plugin cannot be
// started as nobody and the daemon refuses the configuration; with the
// drop-in's five more it starts, runs without capabilities, and is
// killed and restarted when it hangs.
func TestSystemdPluginUserNeedsDropIn(t *testing.T) {
	needRoot(t)
	needPlugin(t, "tcpprobe")
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv (util-linux) not installed")
	}
	u := parseUnit(t, unitPath)
	d := parseUnit(t, dropInPath)
	merged := u.with(d)

	lab := netlab.New(t, netlab.Options{Nodes: 1})
	lb1 := lab.Nodes[0]
	netlab.StartNginx(t, lb1)
	body := fmt.Sprintf(`plugin "tcpprobe" {
  command = "hawatch-tcpprobe"
  user    = "nobody"
}
check "web" {
  plugin   = "tcpprobe"
  interval = "200ms"
  config {
    address = "%s:80"
  }
}
%s`, lb1.Addr4, instance{vrid: 62, prio: 100, version: 3, interval: "100ms", vips: []string{"198.51.100.50/24"},
		extra: "  track \"web\" {}\n"})

	t.Run("unit only", func(t *testing.T) {
		dm := startConfined(t, lb1, u, body)
		err := dm.proc.Wait(20 * time.Second)
		if err == nil {
			t.Fatalf("daemon started a plugin as nobody without CAP_SETUID/SETGID:\n%s", dm.proc.Output())
		}
		if hasVIP(t, lb1, vip4) {
			t.Error("refused configuration still added the VIP")
		}
		if out := dm.proc.Output(); !strings.Contains(out, "operation not permitted") {
			t.Errorf("refused, but not for the missing capability:\n%s", out)
		}
	})
	t.Run("unit plus drop-in", func(t *testing.T) {
		dm := startConfined(t, lb1, merged, body)
		waitVIP(t, lb1, vip4, true, 10*time.Second)
		st := dm.mustFullStatus()
		if len(st.Checks) != 1 || st.Checks[0].Status != "ok" {
			t.Fatalf("checks %+v, want web ok", st.Checks)
		}
		var pid int
		for _, p := range st.Plugins {
			if p.Name == "web" {
				pid = p.PID
			}
		}
		if pid == 0 {
			t.Fatalf("no pid for plugin web in %+v", st.Plugins)
		}
		if got := capEff(t, pid); got != "0000000000000000" {
			t.Errorf("plugin as nobody CapEff = %s, want none", got)
		}
		// A hung plugin (stopped, so it neither reports nor answers) is
		// SIGKILLed and restarted by the plugin host: signalling a process
		// of another user is what CAP_KILL is for.
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		defer syscall.Kill(pid, syscall.SIGKILL) //nolint:errcheck // in case the daemon could not
		waitUntil(t, 15*time.Second, fmt.Sprintf("hung plugin pid %d killed", pid), func() bool {
			return syscall.Kill(pid, 0) != nil
		})
		waitUntil(t, 15*time.Second, "plugin restarted", func() bool {
			st, err := dm.fullStatus()
			return err == nil && len(st.Plugins) == 1 && st.Plugins[0].PID != 0 && st.Plugins[0].PID != pid && st.Plugins[0].Restarts >= 1
		})
		dm.stop()
	})
}
