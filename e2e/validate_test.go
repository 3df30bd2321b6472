package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestValidateWithPluginSchemas runs `hawatch validate` against the real
// plugin binaries: the examples pass, and a plugin config mistake is
// reported at its file:line:col with the plugin's own schema.
func TestValidateWithPluginSchemas(t *testing.T) {
	needRoot(t)
	hawatch := filepath.Join(binDir, "hawatch")
	// Installed as an operator would (mode 0600: they hold auth_pass, and a
	// policy others can read draws a warning).
	installed := t.TempDir()
	var examples []string
	for _, name := range []string{"lb1.hcl", "lb2.hcl"} {
		b, err := os.ReadFile(filepath.Join("../examples", name))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(installed, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		examples = append(examples, p)
	}
	out, err := exec.Command(hawatch, append([]string{"validate", "--plugin-dir", binDir}, examples...)...).CombinedOutput()
	if err != nil || strings.Contains(string(out), "Warning") {
		t.Fatalf("examples: %v\n%s", err, out)
	}

	src, err := os.ReadFile("../examples/lb1.hcl")
	if err != nil {
		t.Fatal(err)
	}
	// A misspelt attribute inside the process check's config block, and a
	// notify plugin used as a check.
	bad := strings.Replace(string(src), "pidfile", "pidfil", 1)
	bad += "\ncheck \"wrongkind\" {\n  plugin = \"notify\"\n}\n"
	path := filepath.Join(t.TempDir(), "bad.hcl")
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(hawatch, "validate", "--plugin-dir", binDir, path)
	out, err = cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 1 {
		t.Fatalf("exit %d, want 1 (err %v)\n%s", cmd.ProcessState.ExitCode(), err, out)
	}
	line := 1 + strings.Count(bad[:strings.Index(bad, "pidfil")], "\n")
	if !regexp.MustCompile(regexp.QuoteMeta(path) + `:` + strconv.Itoa(line) + `:\d+: Error: Unsupported argument`).Match(out) {
		t.Errorf("no positioned error for the misspelt plugin attribute at line %d:\n%s", line, out)
	}
	if !strings.Contains(string(out), "did you mean") && !strings.Contains(string(out), "Did you mean") {
		t.Errorf("no suggestion for the misspelt attribute:\n%s", out)
	}
	if !strings.Contains(string(out), "Wrong kind of plugin") {
		t.Errorf("action plugin used as a check not reported:\n%s", out)
	}
}
