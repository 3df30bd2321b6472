package config

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// examplesDir is the repository's examples folder, relative to this package.
const examplesDir = "../../examples"

// exampleFiles lists every *.hcl under examples/, at any depth.
func exampleFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(examplesDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && filepath.Ext(path) == ".hcl" {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", examplesDir, err)
	}
	return files
}

func TestExamplesLoad(t *testing.T) {
	files := exampleFiles(t)
	if len(files) < 2 {
		t.Fatalf("found %d example files under %s, want at least lb1.hcl and lb2.hcl", len(files), examplesDir)
	}
	for _, path := range files {
		t.Run(filepath.ToSlash(path), func(t *testing.T) {
			// The examples hold passwords: installed, they are 0600 (a
			// checkout makes them 0644, which Load rightly warns about).
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			installed := filepath.Join(t.TempDir(), filepath.Base(path))
			if err := os.WriteFile(installed, src, 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, diags := Load(installed)
			if len(diags) > 0 {
				var buf bytes.Buffer
				_ = WriteDiagnostics(&buf, cfg.Files, diags, false)
				t.Fatalf("%s has %d diagnostics:\n%s", path, len(diags), buf.String())
			}
			if len(cfg.Instances) == 0 {
				t.Errorf("%s defines no vrrp_instance", path)
			}
		})
	}
}

// TestSeedScenario pins the facts of design.md §1 that the examples encode,
// so that an edit to an example cannot quietly change the scenario.
func TestSeedScenario(t *testing.T) {
	for _, tc := range []struct {
		file     string
		name     string
		priority uint8
	}{
		{"lb1.hcl", "lb1", 100},
		{"lb2.hcl", "lb2", 50},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(examplesDir, tc.file)
			if _, err := os.Stat(path); err != nil {
				t.Fatal(err)
			}
			cfg, diags := Load(path)
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			if cfg.Node.Name != tc.name {
				t.Errorf("node name %q, want %q", cfg.Node.Name, tc.name)
			}
			if len(cfg.Instances) != 1 {
				t.Fatalf("%d instances, want 1", len(cfg.Instances))
			}
			in := cfg.Instances[0]
			if in.Priority != tc.priority || in.VRID != 51 || in.Version != 2 || in.AuthPass != "1111" ||
				in.Interface != "eth0" || in.AdvertInterval.String() != "1s" {
				t.Errorf("instance %+v does not match the scenario", *in)
			}
			if len(in.VirtualIPs) != 1 || in.VirtualIPs[0].String() != "198.51.100.50/24" {
				t.Errorf("virtual IPs %v, want [198.51.100.50/24]", in.VirtualIPs)
			}
			effects := map[string]string{}
			for _, tr := range in.Tracks {
				effects[tr.Check] = tr.Effect
			}
			if effects["nginx"] != EffectFault || effects["split_brain"] != EffectYield {
				t.Errorf("track effects %v, want nginx=fault split_brain=yield", effects)
			}
			for _, c := range cfg.Checks {
				if c.Config == nil {
					t.Errorf("check %q has no config block", c.Name)
				}
			}
		})
	}
}
