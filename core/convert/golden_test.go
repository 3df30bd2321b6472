package convert

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/hawatch/hawatch/core/config"
	"github.com/hawatch/hawatch/core/pluginhost"
	"github.com/hawatch/hawatch/plugins/notify/notify"
	"github.com/hawatch/hawatch/plugins/process/process"
	"github.com/hawatch/hawatch/plugins/splitbrain/splitbrain"
	"github.com/hawatch/hawatch/plugins/tcpprobe/tcpprobe"
	"github.com/hawatch/hawatch/sdk"
)

var update = flag.Bool("update", false, "rewrite testdata/*.hcl and *.warnings from the converter's output")

// schemas are the first-party plugins' config schemas, so that the golden
// policies are checked exactly as `hawatch validate` checks them.
var schemas = map[string]sdk.Schema{
	"process":    process.Schema(),
	"tcpprobe":   tcpprobe.Schema(),
	"splitbrain": splitbrain.Schema(),
	"notify":     notify.Schema(),
}

// loadClean parses a converted policy with the real loader, checks every
// config {} block against its plugin's schema, and fails on any error.
func loadClean(t *testing.T, name string, out []byte) *config.Config {
	t.Helper()
	cfg, diags := config.Parse(out, name)
	plugin := map[string]string{}
	for _, p := range cfg.Plugins {
		plugin[p.Name] = strings.TrimPrefix(p.Command, "hawatch-")
	}
	decode := func(pluginName string, body hcl.Body, rng hcl.Range) {
		s, ok := schemas[plugin[pluginName]]
		if !ok {
			t.Errorf("%s: plugin %q is not a first-party plugin", name, pluginName)
			return
		}
		_, ds := pluginhost.DecodeConfig(s, body, rng)
		diags = append(diags, ds...)
	}
	if !diags.HasErrors() {
		for _, c := range cfg.Checks {
			decode(c.Plugin, c.Config, c.DefRange)
		}
		for _, a := range cfg.Actions {
			decode(a.Plugin, a.Config, a.DefRange)
		}
	}
	if diags.HasErrors() {
		var b bytes.Buffer
		_ = config.WriteDiagnostics(&b, cfg.Files, diags, false)
		t.Fatalf("%s does not load:\n%s\n--- policy:\n%s", name, b.String(), out)
	}
	return cfg
}

func renderWarnings(ws []Warning) string {
	var b strings.Builder
	for _, w := range ws {
		b.WriteString(w.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// TestGolden converts every testdata/*.conf and compares the policy and
// the warnings with the files next to it; every policy must load.
func TestGolden(t *testing.T) {
	confs, err := filepath.Glob(filepath.Join("testdata", "*.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if len(confs) < 5 {
		t.Fatalf("found %d testdata/*.conf, want the seed scenario and the feature files", len(confs))
	}
	for _, conf := range confs {
		base := strings.TrimSuffix(conf, ".conf")
		t.Run(filepath.Base(base), func(t *testing.T) {
			src, err := os.ReadFile(conf)
			if err != nil {
				t.Fatal(err)
			}
			out, warns, err := Convert(src, filepath.Base(conf))
			if err != nil {
				t.Fatalf("Convert: %v", err)
			}
			gotWarn := renderWarnings(warns)
			if *update {
				if err := os.WriteFile(base+".hcl", out, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(base+".warnings", []byte(gotWarn), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(base + ".hcl")
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("policy differs from %s.hcl (go test -update rewrites it):\n%s", base, lineDiff(string(want), string(out)))
			}
			wantWarn, err := os.ReadFile(base + ".warnings")
			if err != nil {
				t.Fatal(err)
			}
			if gotWarn != string(wantWarn) {
				t.Errorf("warnings differ from %s.warnings:\n%s", base, lineDiff(string(wantWarn), gotWarn))
			}
			loadClean(t, filepath.Base(base)+".hcl", out)
		})
	}
}

// lineDiff shows the first lines where want and got part.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\n  want: " + wl + "\n  got:  " + gl
		}
	}
	return "(no line differs)"
}
