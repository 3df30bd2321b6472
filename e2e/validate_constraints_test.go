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

// TestValidatePluginConstraints: what run would refuse, validate refuses,
// at the right place. The schema's declared constraints are reported at the
// attribute; a refusal by the plugin's own Configure at the `config {}`
// block of the check that caused it.
func TestValidatePluginConstraints(t *testing.T) {
	needRoot(t)
	hawatch := filepath.Join(binDir, "hawatch")
	src, err := os.ReadFile("../examples/lb1.hcl")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, extra, at string // at: text whose line:col the error must point to
		want            string
	}{
		{"tcpprobe port 70000", `
check "bad_port" {
  plugin = "tcpprobe"
  config {
    address = "198.51.100.12:70000"
  }
}`, `"198.51.100.12:70000"`, `Error: Invalid value for address`},
		{"process min above max", `
check "bad_range" {
  plugin = "process"
  config {
    name = "nginx"
    min  = 5
    max  = 2
  }
}`, "2\n", `Error: Invalid combination of arguments`},
		{"process Configure refuses a bad regexp", `
check "bad_regexp" {
  plugin = "process"
  config {
    cmdline = "nginx: (master"
  }
}`, "config {\n    cmdline", `Error: Plugin refused its config`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			policy := string(src) + tc.extra + "\n"
			path := filepath.Join(t.TempDir(), "bad.hcl")
			if err := os.WriteFile(path, []byte(policy), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(hawatch, "validate", "--plugin-dir", binDir, path)
			out, err := cmd.CombinedOutput()
			if cmd.ProcessState.ExitCode() != 1 {
				t.Fatalf("exit %d, want 1 (err %v)\n%s", cmd.ProcessState.ExitCode(), err, out)
			}
			off := len(src) + strings.Index(tc.extra, tc.at)
			line := 1 + strings.Count(policy[:off], "\n")
			col := off - strings.LastIndex(policy[:off], "\n")
			pos := regexp.QuoteMeta(path) + ":" + strconv.Itoa(line) + ":" + strconv.Itoa(col) + ": " + regexp.QuoteMeta(tc.want)
			if !regexp.MustCompile(pos).Match(out) {
				t.Errorf("want %q at %d:%d:\n%s", tc.want, line, col, out)
			}
			if n := strings.Count(string(out), "Error:"); n != 1 {
				t.Errorf("%d errors, want exactly 1:\n%s", n, out)
			}
		})
	}
}
