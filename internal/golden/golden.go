// Package golden drives the line scripts the pure layers are tested with
// (core/vrrp, core/vrouter): a script is commands, comments and blank
// lines; the indented lines under a command are its expected output. A
// driver regenerates the whole file and compares it with the one on disk;
// -rewrite (each test package's flag) accepts the new output.
package golden

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Run runs every dir/*.txt script in a subtest: replay regenerates the
// file's text; a difference fails the subtest, or with rewrite replaces the
// file. what names the code under test in the failure ("the machine's
// behaviour"), accept the command that rewrites.
func Run(t *testing.T, dir string, rewrite bool, what, accept string, replay func(t testing.TB, text string) string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no scripts in %s/", dir)
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want := string(raw)
			got := replay(t, want)
			if got == want {
				return
			}
			if rewrite {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			t.Errorf("%s differs from %s (%s to accept):\n%s", path, what, accept, LineDiff(want, got))
		})
	}
}

// Replay rebuilds a script: every line that is not expected output is kept,
// and each command (1-based line number, its fields) is followed by the
// output lines do returns, indented.
func Replay(text string, do func(line int, fields []string) []string) string {
	var out strings.Builder
	for i, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if strings.HasPrefix(line, "  ") {
			continue // expected output, regenerated below
		}
		out.WriteString(line + "\n")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		for _, o := range do(i+1, strings.Fields(trimmed)) {
			out.WriteString("  " + o + "\n")
		}
	}
	return out.String()
}

// KeyValues collects the key=value arguments.
func KeyValues(args []string) map[string]string {
	kv := map[string]string{}
	for _, a := range args {
		if k, v, ok := strings.Cut(a, "="); ok {
			kv[k] = v
		}
	}
	return kv
}

// Values parses script arguments, failing the test through Fatalf (which
// names the script line) on a malformed one.
type Values struct {
	Fatalf func(format string, args ...any)
}

// OnOff parses on|true or off|false.
func (v Values) OnOff(s string) bool {
	switch s {
	case "on", "true":
		return true
	case "off", "false":
		return false
	}
	v.Fatalf("want on/off, have %q", s)
	return false
}

// Int parses a decimal integer.
func (v Values) Int(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		v.Fatalf("%v", err)
	}
	return n
}

// Dur parses a Go duration.
func (v Values) Dur(s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		v.Fatalf("%v", err)
	}
	return d
}

// Addr parses an IP address.
func (v Values) Addr(s string) netip.Addr {
	a, err := netip.ParseAddr(s)
	if err != nil {
		v.Fatalf("%v", err)
	}
	return a
}

// Addrs parses a comma-separated list of IP addresses.
func (v Values) Addrs(s string) []netip.Addr {
	var out []netip.Addr
	for _, p := range strings.Split(s, ",") {
		out = append(out, v.Addr(p))
	}
	return out
}

// FmtDur prints a duration as decimal seconds with every significant digit
// ("3.609375s", "163.640039062s"), so timers read like the RFC formulas.
func FmtDur(d time.Duration) string {
	sec, ns := d/time.Second, d%time.Second
	if ns == 0 {
		return fmt.Sprintf("%ds", sec)
	}
	return fmt.Sprintf("%d.%ss", sec, strings.TrimRight(fmt.Sprintf("%09d", ns), "0"))
}

// LineDiff shows the first differing line, then the whole new output.
func LineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("first difference at line %d:\n  want: %q\n  got:  %q\n--- full output ---\n%s", i+1, wl, gl, got)
		}
	}
	return ""
}
