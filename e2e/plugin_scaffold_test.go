package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hawatch/hawatch/internal/netlab"
)

// TestPluginScaffold is the plugin author's path end to end: `hawatch
// plugin new` writes a module, whose own test passes and which builds;
// `hawatch validate` checks a policy using it (and refuses a bad config
// block); `hawatch run` in a namespace runs it, and `hawatch status` shows
// the check's result change when the watched file appears.
func TestPluginScaffold(t *testing.T) {
	needRoot(t)
	hawatch := filepath.Join(binDir, "hawatch")
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	mod := filepath.Join(t.TempDir(), "scaffolded")
	run := func(dir, name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run(".", hawatch, "plugin", "new", "scaffolded", "--dir", mod, "--sdk", root)
	for _, f := range []string{"go.mod", "main.go", "check.go", "check_test.go", "README.md"} {
		if _, err := os.Stat(filepath.Join(mod, f)); err != nil {
			t.Fatalf("scaffold: %v", err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(mod, "go.mod")); !strings.Contains(string(b), "replace github.com/hawatch/hawatch => "+root) {
		t.Fatalf("go.mod has no replace line to %s:\n%s", root, b)
	}
	run(mod, "go", "mod", "tidy")
	run(mod, "go", "test", "-count=1", "./...")
	// binDir is root's and 0755: the plugin path check accepts it.
	run(mod, "go", "build", "-o", filepath.Join(binDir, "hawatch-scaffolded"), ".")
	if out := run(".", hawatch, "plugin", "describe", filepath.Join(binDir, "hawatch-scaffolded")); !strings.Contains(out, "path = string, required") {
		t.Errorf("describe:\n%s", out)
	}

	lab := netlab.New(t, netlab.Options{Nodes: 1})
	node := lab.Nodes[0]
	ready := filepath.Join(t.TempDir(), "ready")
	body := pluginDecl("scaffolded", "") + `
check "ready" {
  plugin   = "scaffolded"
  interval = "100ms"
  config {
    path = "` + ready + `"
  }
}
` + instance{vrid: 61, prio: 100, version: 3, interval: "100ms", vips: []string{vip4.String()},
		extra: "  track \"ready\" { weight = -50 }\n"}.String()

	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.hcl")
	if err := os.WriteFile(policy, []byte(nodeConfig(node, dir, body)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := run(".", hawatch, "validate", policy); !strings.Contains(out, "ok") {
		t.Errorf("validate: %s", out)
	}
	bad := strings.Replace(nodeConfig(node, dir, body), `path = "`+ready+`"`, `path = ""`, 1)
	if err := os.WriteFile(policy, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(hawatch, "validate", policy)
	if out, _ := cmd.CombinedOutput(); cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(out), "path must not be empty") {
		t.Errorf("validate of an empty path: exit %d\n%s", cmd.ProcessState.ExitCode(), out)
	}

	d := startDaemon(t, node, body)
	status := func() string {
		out, _ := exec.Command(hawatch, "status", "--socket", d.socket).CombinedOutput()
		return string(out)
	}
	waitStatus := func(want ...string) {
		t.Helper()
		var out string
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			out = status()
			if line := checkLine(out, "ready"); line != "" && containsAll(line, want) {
				return
			}
		}
		t.Fatalf("hawatch status never showed check ready with %q:\n%s\n%s", want, out, d.proc.Output())
	}
	waitStatus("fail", "no such file")
	if err := os.WriteFile(ready, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	waitStatus("ok", "present", "age=")
	// The JSON form names every key in snake_case (vip counters too).
	js, _ := exec.Command(hawatch, "status", "--json", "--socket", d.socket).CombinedOutput()
	if k := regexp.MustCompile(`"[A-Za-z]*[A-Z]\w*":`).Find(js); k != nil || !strings.Contains(string(js), `"announcements_sent"`) {
		t.Errorf("status JSON key %s is not snake_case:\n%s", k, js)
	}
	d.stop()
}

// checkLine returns the row of check name in `hawatch status`'s CHECK table.
func checkLine(status, name string) string {
	in := false
	for l := range strings.SplitSeq(status, "\n") {
		if strings.HasPrefix(l, "CHECK") {
			in = true
			continue
		}
		if in && strings.HasPrefix(l, name+" ") {
			return l
		}
	}
	return ""
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
