package convert

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// samplesDir is where Debian's keepalived package puts keepalived's own
// doc/samples (scripts/deps.sh installs it).
const samplesDir = "/usr/share/doc/keepalived/samples"

// notVRRP marks a sample that uses more than VRRP: LVS, whose absence
// from hawatch is a choice, not a gap.
var notVRRP = regexp.MustCompile(`(?m)^\s*(virtual_server|virtual_server_group|real_server|lvs_\w+)\b`)

// TestKeepalivedSamples converts every keepalived sample that uses only
// VRRP features: none may leave a "not converted" warning, and every
// policy must load as `hawatch validate` loads it. A sample written for
// several nodes with conditional lines is converted once per node id.
func TestKeepalivedSamples(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(samplesDir, "keepalived.conf.*"))
	if len(paths) == 0 {
		t.Skipf("no keepalived samples in %s (install keepalived: scripts/deps.sh)", samplesDir)
	}
	ids := regexp.MustCompile(`(?m)^@\^?(\w+)`)
	converted := 0
	for _, path := range paths {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if notVRRP.Match(src) || !strings.Contains(string(src), "vrrp_instance") {
			continue
		}
		nodes := map[string]bool{"": true}
		for _, m := range ids.FindAllStringSubmatch(string(src), -1) {
			delete(nodes, "")
			nodes[m[1]] = true
		}
		for id := range nodes {
			name := filepath.Base(path)
			if id != "" {
				name += "@" + id
			}
			t.Run(name, func(t *testing.T) {
				out, warns, err := ConvertWith(src, filepath.Base(path), Options{ConfigID: id})
				if err != nil {
					t.Fatalf("Convert: %v", err)
				}
				for _, w := range warns {
					if strings.Contains(w.Message, "not converted") {
						t.Errorf("%s: %s", name, w)
					}
				}
				loadClean(t, name+".hcl", out)
			})
			converted++
		}
	}
	if converted < 8 {
		t.Errorf("converted %d VRRP samples from %s, want at least 8 (the vrrp*, track_interface and conditional samples)", converted, samplesDir)
	}
}
