package layering

import (
	"os/exec"
	"strings"
	"testing"
)

func deps(t *testing.T, pkgs ...string) map[string]bool {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list", "-deps"}, pkgs...)...).Output()
	if err != nil {
		t.Fatalf("go list -deps %v: %v", pkgs, err)
	}
	m := map[string]bool{}
	for _, l := range strings.Fields(string(out)) {
		m[l] = true
	}
	return m
}

func TestImportRules(t *testing.T) {
	const mod = "github.com/hawatch/hawatch/"
	for _, tc := range []struct {
		pkgs      []string
		forbidden []string // import path prefixes
	}{
		{[]string{mod + "sdk/...", mod + "plugins/...", mod + "examples/plugins/..."}, []string{mod + "core", mod + "cmd"}},
		{[]string{mod + "core/vrrp"}, []string{mod + "core/vip", mod + "core/config", mod + "core/pluginhost", mod + "sdk",
			"github.com/hashicorp/", "github.com/vishvananda/netlink"}},
		{[]string{mod + "core/vip"}, []string{mod + "core/vrrp", mod + "core/config", mod + "sdk"}},
		// The per-instance layer is pure: no plugins, HCL, netlink or VIP
		// I/O; only the machine it wraps.
		{[]string{mod + "core/vrouter"}, []string{mod + "core/vip", mod + "core/config", mod + "core/pluginhost", mod + "core/engine",
			mod + "sdk", "github.com/hashicorp/", "github.com/vishvananda/", "github.com/rs/zerolog", "net/http"}},
		{[]string{mod + "core/config"}, []string{mod + "core/vrrp", mod + "core/vip", mod + "core/engine", mod + "core/pluginhost"}},
	} {
		for dep := range deps(t, tc.pkgs...) {
			for _, bad := range tc.forbidden {
				if strings.HasPrefix(dep, bad) {
					t.Errorf("%v imports %s (forbidden: %s)", tc.pkgs, dep, bad)
				}
			}
		}
	}
}
