package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hawatch/hawatch/core/config"
)

// run executes hawatch in-process and returns exit code, stdout and stderr.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := execute(newApp(&out, &errb, false), args)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, name, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// threeMistakes has a bad VRID (line 3), auth_pass without version 2
// (line 5) and a track of a check that does not exist (line 7).
const threeMistakes = `vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 300
  priority          = 100
  auth_pass         = "1111"
  virtual_ips       = ["198.51.100.50/24"]
  track "nginx" {}
}
`

// installExample copies an example policy to dir with mode (the examples
// hold passwords: installed they are 0600, a checkout makes them 0644).
func installExample(t *testing.T, dir, name string, mode os.FileMode) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, src, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidateExamples(t *testing.T) {
	dir := t.TempDir()
	lb1, lb2 := installExample(t, dir, "lb1.hcl", 0o600), installExample(t, dir, "lb2.hcl", 0o600)
	// Plugin schemas are checked by the e2e tests against the real plugin
	// binaries; here only the policy itself.
	code, out, errOut := run(t, "validate", "--no-plugins", lb1, lb2)
	if code != 0 {
		t.Fatalf("exit %d, want 0; stderr:\n%s", code, errOut)
	}
	want := lb1 + ": ok (1 instance, 3 checks, 1 action, 4 plugins)\n" +
		lb2 + ": ok (1 instance, 3 checks, 1 action, 4 plugins)\n"
	if out != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", out, want)
	}
	if errOut != "" {
		t.Errorf("stderr not empty for valid files:\n%s", errOut)
	}
}

// TestValidateWarnsAboutReadableSecrets: a policy holding auth_pass that
// group or other can read validates, with a warning naming the file.
func TestValidateWarnsAboutReadableSecrets(t *testing.T) {
	p := installExample(t, t.TempDir(), "lb1.hcl", 0o644)
	code, out, errOut := run(t, "validate", "--no-plugins", p)
	if code != 0 || !strings.Contains(out, ": ok") || !strings.Contains(errOut, "Secrets in a file others can read") || !strings.Contains(errOut, p) {
		t.Errorf("exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	if strings.Contains(errOut, "1111") {
		t.Errorf("the warning prints the password:\n%s", errOut)
	}
}

// TestValidateNeverPrintsThePassword: `hawatch validate` on a file with a
// syntax error on the auth_pass line shows the line and its position, with
// the password masked.
func TestValidateNeverPrintsThePassword(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.hcl")
	src := "vrrp_instance \"VI_1\" {\n  interface = \"eth0\"\n  version = 2\n  auth_pass = \"Zq9-s3cr\" oops\n}\n"
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "validate", "--no-plugins", p)
	if code == 0 || !strings.Contains(errOut, p+":4:") || !strings.Contains(errOut, "auth_pass = \"********\" oops") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
	for name, s := range map[string]string{"stdout": out, "stderr": errOut} {
		if strings.Contains(s, "Zq9-s3cr") {
			t.Errorf("validate printed the password on %s:\n%s", name, s)
		}
	}
}

func TestValidateThreeMistakes(t *testing.T) {
	path := writeFile(t, "bad.hcl", threeMistakes)
	code, out, errOut := run(t, "validate", path)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if out != "" {
		t.Errorf("stdout not empty for an invalid file:\n%s", out)
	}
	for _, want := range []string{
		path + ":3:3: Error: Invalid value for virtual_router_id",
		"   3:   virtual_router_id = 300",
		path + ":5:3: Error: auth_pass needs VRRP version 2",
		path + ":7:3: Error: Reference to undefined check",
		`   7:   track "nginx" {}`,
		path + ": 3 errors\n",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if n := len(regexp.MustCompile(`(?m)^\S+:\d+:\d+: Error: `).FindAllString(errOut, -1)); n != 3 {
		t.Errorf("%d positioned errors in stderr, want 3:\n%s", n, errOut)
	}
	if strings.Contains(errOut, "\x1b[") {
		t.Errorf("color codes written to a non-terminal:\n%q", errOut)
	}
}

// Each file is validated on its own: a bad file does not hide a good one's
// summary, and the exit code reports the bad one.
func TestValidateMixed(t *testing.T) {
	good := filepath.Join("..", "..", "examples", "lb1.hcl")
	bad := writeFile(t, "bad.hcl", threeMistakes)
	missing := filepath.Join(t.TempDir(), "missing.hcl")
	code, out, errOut := run(t, "validate", bad, good, missing)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(out, good+": ok (") {
		t.Errorf("stdout lacks the good file's summary:\n%s", out)
	}
	if !strings.Contains(errOut, bad+": 3 errors") || !strings.Contains(errOut, missing+": 1 error\n") ||
		!strings.Contains(errOut, "Cannot read configuration file") {
		t.Errorf("stderr:\n%s", errOut)
	}
}

func TestValidateUsage(t *testing.T) {
	code, _, errOut := run(t, "validate")
	if code != exitUsage || !strings.Contains(errOut, "usage: hawatch validate FILE...") {
		t.Errorf("exit %d, stderr %q; want %d and a usage line", code, errOut, exitUsage)
	}
}

// TestNoDaemon: control commands without a running daemon fail clearly.
func TestNoDaemon(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	for _, args := range [][]string{
		{"status", "--socket", sock}, {"reload", "--socket", sock}, {"demote", "VI_1", "--socket", sock}, {"promote", "--socket", sock},
	} {
		code, out, errOut := run(t, args...)
		if code != 1 || !strings.Contains(errOut, "control socket") || !strings.Contains(errOut, sock) || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 1 and a control socket error naming the path", args, code, out, errOut)
		}
	}
}

// seedKeepalived is lb1's keepalived.conf of the seed scenario.
const seedKeepalived = `global_defs {
   notification_email {
     ops@example.org
   }
   smtp_server 127.0.0.1
   smtp_connect_timeout 30
   router_id lb1
}
vrrp_script check_nginx {
    script "killall -0 nginx"
    interval 3
    weight -60
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 100
    authentication {
        auth_type PASS
        auth_pass 1111
    }
    virtual_ipaddress {
        198.51.100.50/24 dev eth0 label eth0:1
    }
    track_script {
        check_nginx
    }
}
`

// TestConvert: the policy goes to stdout and loads with the daemon's
// loader; warnings go to stderr as file:line; bad input exits 1.
func TestConvert(t *testing.T) {
	path := writeFile(t, "keepalived.conf", seedKeepalived)
	code, out, errOut := run(t, "convert", path)
	if code != 0 {
		t.Fatalf("exit %d, want 0; stderr:\n%s", code, errOut)
	}
	cfg, diags := config.Parse([]byte(out), "converted.hcl")
	if diags.HasErrors() {
		t.Fatalf("converted policy does not load: %v\n%s", diags, out)
	}
	if len(cfg.Instances) != 1 || cfg.Instances[0].VRID != 51 || cfg.Instances[0].Version != 2 || cfg.Node.Name != "lb1" {
		t.Errorf("converted policy: %v, node %q", cfg.Instances, cfg.Node.Name)
	}
	for _, want := range []string{
		path + ":2: warning: smtp_alert is not set",
		path + ": 2 warnings; review the comments",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if o := cfg.Instances[0].Owned(); len(o) != 1 || o[0].Label != "eth0:1" {
		t.Errorf("the VIP's label is not carried over: %+v", o)
	}
	if strings.Contains(out, "warning:") {
		t.Errorf("warnings written to stdout:\n%s", out)
	}

	// The converted file passes validate too.
	hcl := writeFile(t, "hawatch.hcl", out)
	if code, _, errOut := run(t, "validate", "--no-plugins", hcl); code != 0 {
		t.Errorf("validate of the converted policy: exit %d\n%s", code, errOut)
	}

	bad := writeFile(t, "bad.conf", "vrrp_instance VI_1 {\n  priority 100\n")
	missing := filepath.Join(t.TempDir(), "missing.conf")
	for _, tc := range []struct{ path, want string }{
		{bad, bad + ":1: block \"vrrp_instance VI_1\" opened here is never closed"},
		{missing, "no such file"},
	} {
		code, out, errOut := run(t, "convert", tc.path)
		if code != 1 || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("convert %s: exit %d, stdout %q, stderr %q; want 1 and %q", tc.path, code, out, errOut, tc.want)
		}
	}
	if code, _, errOut := run(t, "convert"); code != exitUsage || !strings.Contains(errOut, "usage: hawatch convert KEEPALIVED.CONF") {
		t.Errorf("convert without a file: exit %d, stderr %q", code, errOut)
	}

	// One file for two nodes: --config-id picks the node's lines.
	shared := writeFile(t, "shared.conf", "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n"+
		"@lb1 priority 150\n@lb2 priority 100\n virtual_ipaddress {\n  198.51.100.50/24\n }\n}\n")
	for id, want := range map[string]string{"lb1": "priority          = 150", "lb2": "priority          = 100"} {
		code, out, errOut := run(t, "convert", "--config-id", id, shared)
		if code != 0 || !strings.Contains(out, want) || strings.Contains(errOut, "conditional") {
			t.Errorf("convert --config-id %s: exit %d, want %q in:\n%s\nstderr %q", id, code, want, out, errOut)
		}
	}
}

func TestVersion(t *testing.T) {
	old := version
	version = "v1.2.3-test"
	t.Cleanup(func() { version = old })
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, _ := run(t, args...)
		if code != 0 || !strings.HasPrefix(out, "hawatch v1.2.3-test (go") {
			t.Errorf("%v: exit %d, stdout %q", args, code, out)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"stauts"}, `did you mean "status"?`},
		{[]string{"--no-such-flag"}, "unknown flag"},
		{[]string{"version", "extra"}, "accepts 0 arg(s)"},
		{[]string{}, "Usage:"},
	} {
		code, _, errOut := run(t, tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errOut, exitUsage, tc.want)
		}
	}
}

// The run command is added by run.go; until then it must not exist, and
// adding it must be a single line in newRootCmd.
func TestCommandSet(t *testing.T) {
	root := newRootCmd(newApp(&bytes.Buffer{}, &bytes.Buffer{}, false))
	var names []string
	for _, c := range root.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	got := strings.Join(names, " ")
	for _, want := range []string{"validate", "version", "status", "reload", "demote", "promote", "convert", "plugin"} {
		if !strings.Contains(got, want) {
			t.Errorf("command %q missing from %q", want, got)
		}
	}
}
