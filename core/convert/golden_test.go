package convert

import (
	"bytes"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

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
			// NAME@ID.conf is read as `keepalived -i ID` reads it.
			var opts Options
			if _, id, ok := strings.Cut(filepath.Base(base), "@"); ok {
				opts.ConfigID = id
			}
			out, warns, err := ConvertWith(src, filepath.Base(conf), opts)
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

// TestSeedScenario checks the meaning, not the text, of the seed scenario
// (design.md §1) after conversion: the pair keeps its VRRP identity so it
// can run next to keepalived, and each script became the intended check.
func TestSeedScenario(t *testing.T) {
	type track struct {
		check, effect string
		weight        int
	}
	for _, tc := range []struct {
		file     string
		node     string
		priority uint8
		tracks   []track
		plugins  map[string]string // check name -> plugin
	}{
		{"seed-lb1", "lb1", 100, []track{{"check_nginx", config.EffectWeight, -60}},
			map[string]string{"check_nginx": "process"}},
		{"seed-lb2", "lb2", 50, []track{{"check_nginx", config.EffectFault, 0}, {"chk_split_brain", config.EffectYield, 0}},
			map[string]string{"check_nginx": "process", "chk_split_brain": "splitbrain"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join("testdata", tc.file+".conf"))
			if err != nil {
				t.Fatal(err)
			}
			out, _, err := Convert(src, tc.file+".conf")
			if err != nil {
				t.Fatal(err)
			}
			cfg := loadClean(t, tc.file+".hcl", out)
			if cfg.Node.Name != tc.node || len(cfg.Instances) != 1 {
				t.Fatalf("node %q, %d instances; want %q and 1", cfg.Node.Name, len(cfg.Instances), tc.node)
			}
			in := cfg.Instances[0]
			if in.Name != "VI_1" || in.Interface != "eth0" || in.VRID != 51 || in.Priority != tc.priority ||
				in.Version != 2 || in.AdvertInterval != time.Second || in.AuthPass != "1111" || !in.Preempt ||
				len(in.VirtualIPs) != 1 || in.VirtualIPs[0] != netip.MustParsePrefix("198.51.100.50/24") {
				t.Errorf("instance = %#v", in)
			}
			var got []track
			for _, tr := range in.Tracks {
				got = append(got, track{tr.Check, tr.Effect, tr.Weight})
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.tracks) {
				t.Errorf("tracks %v, want %v", got, tc.tracks)
			}
			for _, c := range cfg.Checks {
				if tc.plugins[c.Name] != c.Plugin {
					t.Errorf("check %q uses plugin %q, want %q", c.Name, c.Plugin, tc.plugins[c.Name])
				}
				if c.Name == "check_nginx" && c.Interval != 3*time.Second {
					t.Errorf("check_nginx interval %s, want 3s", c.Interval)
				}
			}
			if len(cfg.Checks) != len(tc.plugins) {
				t.Errorf("%d checks, want %d", len(cfg.Checks), len(tc.plugins))
			}
			// The mail of global_defs: smtp 127.0.0.1:25, connect timeout 30s.
			if len(cfg.Actions) != 1 || cfg.Actions[0].Name != "mail" || fmt.Sprint(in.Notify) != "[mail]" {
				t.Fatalf("actions %v, notify %v; want the mail action listed", cfg.Actions, in.Notify)
			}
			raw, diags := pluginhost.DecodeConfig(schemas["notify"], cfg.Actions[0].Config, cfg.Actions[0].DefRange)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			for _, want := range []string{`"server":"127.0.0.1:25"`, `"connect_timeout":"30s"`, `"to":["ops@example.org"]`} {
				if !strings.Contains(string(raw), want) {
					t.Errorf("mail config %s lacks %s", raw, want)
				}
			}
		})
	}
}
