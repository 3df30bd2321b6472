package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func mustParse(t *testing.T, src string) *Config {
	t.Helper()
	cfg, diags := Parse([]byte(src), "test.hcl")
	if diags.HasErrors() {
		t.Fatalf("unexpected errors:\n%s", dump(diags))
	}
	return cfg
}

func TestDefaults(t *testing.T) {
	cfg := mustParse(t, `
plugin "p" { command = "hawatch-p" }
check "c" { plugin = "p" }
check "fast" {
  plugin   = "p"
  interval = "200ms"
}
action "a" { plugin = "p" }
vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 51
  priority          = 100
  virtual_ips       = ["198.51.100.50/24"]
  track "c" {}
}
`)
	host, _ := os.Hostname()
	wantNode := Node{Name: host, ControlSocket: "/run/hawatch/hawatch.sock", ControlGroup: -1, StateDir: "/var/lib/hawatch",
		PluginDir: "/usr/local/libexec/hawatch", LogLevel: "info", LogFormat: "json"}
	if cfg.Node != wantNode {
		t.Errorf("node %+v, want %+v", cfg.Node, wantNode)
	}

	c := cfg.Checks[0]
	if c.Interval != time.Second || c.Timeout != time.Second || c.Rise != 1 || c.Fall != 1 ||
		c.OnUnknown != "hold" || c.HoldFor != 5*time.Second || c.Config != nil {
		t.Errorf("check defaults wrong: %+v", *c)
	}
	if fast := cfg.Checks[1]; fast.Timeout != 200*time.Millisecond {
		t.Errorf("timeout %s, want the interval 200ms", fast.Timeout)
	}
	if a := cfg.Actions[0]; a.Timeout != 30*time.Second {
		t.Errorf("action timeout %s, want 30s", a.Timeout)
	}

	in := cfg.Instances[0]
	if in.Version != 3 || in.AdvertInterval != time.Second || !in.Preempt || in.PreemptDelay != 0 ||
		in.AddressOwner || in.UnicastSource.IsValid() || in.UnicastPeers != nil || in.Family() != 4 {
		t.Errorf("instance defaults wrong: %+v", *in)
	}
	wantGARP := GARP{Repeat: 5, Interval: 10 * time.Millisecond, Delay: 5 * time.Second, LowerPrioRepeat: 5, LowerPrioDelay: 5 * time.Second}
	if in.GARP != wantGARP {
		t.Errorf("garp %+v, want %+v", in.GARP, wantGARP)
	}
	if len(in.Tracks) != 1 || in.Tracks[0].Effect != EffectFault || in.Tracks[0].Weight != 0 {
		t.Errorf("track %+v, want fault without weight", in.Tracks)
	}
}

func TestFullPolicy(t *testing.T) {
	// The schema of issue 3, every attribute set.
	cfg := mustParse(t, `
node {
  name           = "lb1"
  control_socket = "/run/hawatch/hawatch.sock"
  state_dir      = "/var/lib/hawatch"
  plugin_dir     = "/usr/local/libexec/hawatch"
  metrics_listen = "127.0.0.1:9712"
  log_level      = "debug"
  log_format     = "console"
}
plugin "process" {
  command = "hawatch-process"
  args    = ["-v"]
  sha256  = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"
  user    = "nobody"
}
plugin "notify" { command = "/opt/hawatch/notify" }
check "nginx" {
  plugin     = "process"
  interval   = "1s"
  timeout    = "500ms"
  rise       = 2
  fall       = 3
  on_unknown = "fail"
  hold_for   = "0s"
  config { name = "nginx" }
}
check "split_brain" { plugin = "process" }
action "mail" {
  plugin  = "notify"
  timeout = "10s"
  config {
    smtp { server = "127.0.0.1:25" }
  }
}
vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 51
  priority          = 255
  address_owner     = true
  version           = 2
  advert_interval   = "3s"
  auth_pass         = "1111"
  virtual_ips       = ["198.51.100.50/24", "198.51.100.51"]
  unicast_source    = "198.51.100.11"
  unicast_peers     = ["198.51.100.12", "198.51.100.13"]
  preempt           = false
  preempt_delay     = "30s"
  garp { 
    repeat = 3
    interval = "20ms"
    delay = "2s"
    refresh = "1m"
  }
  track "nginx"       { weight = -60 }
  track "split_brain" { effect = "yield" }
  notify = ["mail"]
}
vrrp_instance "VI_2" {
  interface         = "eth0"
  virtual_router_id = 51 # same VRID, other family: a different router on the wire
  priority          = 100
  advert_interval   = "40.95s"
  virtual_ips       = ["2001:db8::50/64", "2001:db8::51"]
  unicast_peers     = ["2001:db8::12"]
}
vrrp_instance "VI_3" {
  interface         = "eth1" # same VRID and family, other link
  virtual_router_id = 51
  priority          = 1
  advert_interval   = "10ms"
  virtual_ips       = ["198.51.100.60/24"]
}
sync_group "G1" {
  instances = ["VI_1", "VI_2"]
  notify    = ["mail"]
}
`)
	if cfg.Node.Name != "lb1" || cfg.Node.MetricsListen != "127.0.0.1:9712" || cfg.Node.LogLevel != "debug" || cfg.Node.LogFormat != "console" {
		t.Errorf("node %+v", cfg.Node)
	}
	p := cfg.Plugins[0]
	if p.Command != "hawatch-process" || fmt.Sprint(p.Args) != "[-v]" || p.User != "nobody" ||
		p.SHA256 != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("plugin %+v", *p)
	}
	c := cfg.Checks[0]
	if c.Timeout != 500*time.Millisecond || c.Rise != 2 || c.Fall != 3 || c.OnUnknown != "fail" || c.HoldFor != 0 {
		t.Errorf("check %+v", *c)
	}
	if c.Config == nil || c.ConfigRange.Start.Line != 26 {
		t.Errorf("check config body %v at %v, want the block on line 26", c.Config, c.ConfigRange)
	}
	attrs, diags := c.Config.JustAttributes()
	if diags.HasErrors() || attrs["name"] == nil {
		t.Errorf("config body does not carry name: %v %v", attrs, diags)
	}
	if a := cfg.Actions[0]; a.Timeout != 10*time.Second || a.Config == nil {
		t.Errorf("action %+v", *a)
	}

	in := cfg.Instances[0]
	want := []netip.Prefix{netip.MustParsePrefix("198.51.100.50/24"), netip.MustParsePrefix("198.51.100.51/32")}
	if fmt.Sprint(in.VirtualIPs) != fmt.Sprint(want) {
		t.Errorf("vips %v, want %v (a bare address is a /32)", in.VirtualIPs, want)
	}
	if in.Priority != 255 || !in.AddressOwner || in.Version != 2 || in.AdvertInterval != 3*time.Second ||
		in.AuthPass != "1111" || in.Preempt || in.PreemptDelay != 30*time.Second ||
		in.UnicastSource != netip.MustParseAddr("198.51.100.11") || len(in.UnicastPeers) != 2 {
		t.Errorf("instance %+v", *in)
	}
	if in.GARP != (GARP{Repeat: 3, Interval: 20 * time.Millisecond, Delay: 2 * time.Second, Refresh: time.Minute, LowerPrioRepeat: 3, LowerPrioDelay: 2 * time.Second}) {
		t.Errorf("garp %+v", in.GARP)
	}
	if len(in.Tracks) != 2 || in.Tracks[0].Effect != EffectWeight || in.Tracks[0].Weight != -60 ||
		in.Tracks[1].Effect != EffectYield || in.Tracks[1].Weight != 0 {
		t.Errorf("tracks %+v %+v", *in.Tracks[0], *in.Tracks[1])
	}
	if in.Tracks[0].DefRange.Start.Line != 55 {
		t.Errorf("track range %v, want line 55", in.Tracks[0].DefRange)
	}

	v6 := cfg.Instances[1]
	if v6.Family() != 6 || v6.VirtualIPs[1].Bits() != 128 || v6.AdvertInterval != 40950*time.Millisecond {
		t.Errorf("v6 instance %+v (family %d)", *v6, v6.Family())
	}
	if g := cfg.SyncGroups[0]; fmt.Sprint(g.Instances) != "[VI_1 VI_2]" || fmt.Sprint(g.Notify) != "[mail]" {
		t.Errorf("sync group %+v", *g)
	}
	if cfg.Files["test.hcl"] == nil {
		t.Error("Files does not hold the parsed file")
	}
}

// TestAllErrorsInOneRun: three independent mistakes give three errors, in
// file order.
func TestAllErrorsInOneRun(t *testing.T) {
	src := `vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 300
  priority          = 100
  auth_pass         = "1111"
  virtual_ips       = ["198.51.100.50/24"]
  track "nginx" {}
}
`
	_, diags := Parse([]byte(src), "three.hcl")
	errs := diags.Errs()
	want := []struct {
		summary   string
		line, col int
	}{
		{"Invalid value for virtual_router_id", 3, 3},
		{"auth_pass needs VRRP version 2", 5, 3},
		{"Reference to undefined check", 7, 3},
	}
	if len(errs) != len(want) {
		t.Fatalf("%d errors, want %d:\n%s", len(errs), len(want), dump(diags))
	}
	for i, w := range want {
		d := diags[i]
		if !strings.Contains(d.Summary, w.summary) || d.Subject.Start.Line != w.line || d.Subject.Start.Column != w.col {
			t.Errorf("error %d: %s at %v, want %q at %d:%d", i, d.Summary, d.Subject, w.summary, w.line, w.col)
		}
	}
}

func TestWriteDiagnostics(t *testing.T) {
	src := "vrrp_instance \"VI_1\" {\n  interface = \"eth0\"\n  virtual_router_id = 0\n  priority = 100\n  virtual_ips = [\"198.51.100.50\"]\n}\n"
	cfg, diags := Parse([]byte(src), "x.hcl")
	var buf bytes.Buffer
	if err := WriteDiagnostics(&buf, cfg.Files, diags, false); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"x.hcl:3:3: Error: Invalid value for virtual_router_id",
		`on x.hcl line 3, in vrrp_instance "VI_1":`,
		"   3:   virtual_router_id = 0",
		"between 1 and 255",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	cfg, diags := Load(filepath.Join(t.TempDir(), "absent.hcl"))
	if !diags.HasErrors() || !strings.Contains(diags[0].Summary, "Cannot read") {
		t.Fatalf("diags %v, want a read error", diags)
	}
	if cfg == nil || cfg.Files == nil {
		t.Fatal("Load must return a Config with Files even on failure")
	}
}

func TestSyntaxErrorOnly(t *testing.T) {
	_, diags := Parse([]byte("vrrp_instance \"VI_1\" {\n  priority = \n}\n"), "s.hcl")
	if !diags.HasErrors() {
		t.Fatal("no error for a syntax error")
	}
	for _, d := range diags {
		if strings.Contains(d.Summary, "Missing required") {
			t.Errorf("semantic error reported on top of a syntax error: %s", d.Summary)
		}
	}
}

func TestAuthPassNeverPrinted(t *testing.T) {
	const secret = "s3cr3t!"
	cfg := mustParse(t, `vrrp_instance "VI_1" {
  interface = "eth0"
  virtual_router_id = 1
  priority = 100
  version = 2
  auth_pass = "`+secret+`"
  virtual_ips = ["198.51.100.50"]
}`)
	in := cfg.Instances[0]
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	jsInst, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(js), `"Files"`) {
		t.Errorf("JSON of the Config carries the source file, password included: %s", js)
	}
	for name, s := range map[string]string{
		"%v":                   fmt.Sprintf("%v", in),
		"%+v":                  fmt.Sprintf("%+v", *in),
		"%#v":                  fmt.Sprintf("%#v", *in),
		"%s":                   in.String(),
		"json":                 string(js),
		"json of the instance": string(jsInst),
		"String()":             in.String(),
	} {
		if strings.Contains(s, secret) {
			t.Errorf("%s output leaks auth_pass: %s", name, s)
		}
		if !strings.Contains(s, "redacted") {
			t.Errorf("%s output does not say the password is redacted: %s", name, s)
		}
	}
	if in.AuthPass != secret {
		t.Errorf("redaction changed the value itself: %q", in.AuthPass)
	}

	// Nor in a diagnostic about it.
	_, diags := Parse([]byte(`vrrp_instance "VI_1" {
  interface = "eth0"
  virtual_router_id = 1
  priority = 100
  auth_pass = "`+secret+`"
  virtual_ips = ["198.51.100.50"]
}`), "t.hcl")
	if !diags.HasErrors() {
		t.Fatal("auth_pass with v3 accepted")
	}
	for _, d := range diags {
		if strings.Contains(d.Detail, secret) || strings.Contains(d.Summary, secret) {
			t.Errorf("diagnostic leaks auth_pass: %s: %s", d.Summary, d.Detail)
		}
	}
}

func TestFamily(t *testing.T) {
	for _, tc := range []struct {
		vips []string
		want int
	}{
		{nil, 4},
		{[]string{"198.51.100.50/24"}, 4},
		{[]string{"2001:db8::1/64"}, 6},
	} {
		in := &Instance{}
		for _, v := range tc.vips {
			in.VirtualIPs = append(in.VirtualIPs, netip.MustParsePrefix(v))
		}
		if got := in.Family(); got != tc.want {
			t.Errorf("Family(%v) = %d, want %d", tc.vips, got, tc.want)
		}
	}
}

func TestDidYouMean(t *testing.T) {
	for _, tc := range []struct {
		got  string
		cand []string
		want string
	}{
		{"hodl", []string{"hold", "fail"}, `"hold"`},
		{"warning", LogLevels, `"warn"`},
		{"INFO", LogLevels, `"info"`},
		{"text", []string{"json", "console"}, ""},
		{"x", []string{"yield"}, ""},
	} {
		got := didYouMean(tc.got, tc.cand)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("didYouMean(%q) = %q, want %s", tc.got, got, tc.want)
		}
	}
}

// A timeout longer than the interval is allowed: a slow probe every 200ms
// may take up to a second (the plugin overlaps or skips, its choice).
func TestTimeoutMayExceedInterval(t *testing.T) {
	cfg := mustParse(t, `
plugin "p" { command = "x" }
check "slow" {
  plugin   = "p"
  interval = "200ms"
  timeout  = "1s"
}`)
	if c := cfg.Checks[0]; c.Interval != 200*time.Millisecond || c.Timeout != time.Second {
		t.Errorf("check %+v", *c)
	}
}

func TestSchedulingAndMemory(t *testing.T) {
	cfg := mustParse(t, `
node {
  realtime_priority = 10
  max_auto_priority = 20
  lock_memory       = true
}
vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 51
  priority          = 100
  virtual_ips       = ["198.51.100.50/24"]
}
`)
	if cfg.Node.RealtimePriority != 10 || cfg.Node.MaxAutoPriority != 20 || !cfg.Node.LockMemory {
		t.Errorf("realtime_priority %d, max_auto_priority %d, lock_memory %v; want 10, 20, true",
			cfg.Node.RealtimePriority, cfg.Node.MaxAutoPriority, cfg.Node.LockMemory)
	}
}
