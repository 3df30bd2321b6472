package config

import (
	"strings"
	"testing"
)

// TestMisspeltNamesListValid: a name with no close match gets the list of
// what is valid in its block; one with a close match keeps HCL's
// suggestion alone.
func TestMisspeltNamesListValid(t *testing.T) {
	src := `
zzblock {}
vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 51
  virtual_ips       = ["198.51.100.50/24"]
  zzqq = 1
  garp {
    qqq = 2
  }
}
node {
  nme = "x"
}
check "c" {
  plugin = "p"
  config {
    anything = 1
  }
}
`
	_, diags := Parse([]byte(src), "t.hcl")
	want := map[int]string{
		2: "Valid names here: action, check, interface, node, plugin, static, sync_group, track_file, vrrp_instance, witness.",
		7: "Valid names here: accept, address_owner,",
		9: "Valid names here: delay, interval, lower_prio_delay, lower_prio_repeat, refresh, repeat.",
	}
	seen := map[int]bool{}
	for _, d := range diags {
		if d.Subject == nil {
			continue
		}
		line := d.Subject.Start.Line
		switch {
		case want[line] != "":
			seen[line] = true
			if !strings.Contains(d.Detail, want[line]) {
				t.Errorf("line %d: %q, want it to contain %q", line, d.Detail, want[line])
			}
		case line == 13:
			seen[line] = true
			if !strings.Contains(d.Detail, `Did you mean "name"?`) || strings.Contains(d.Detail, "Valid names") {
				t.Errorf("line 13: %q, want HCL's suggestion alone", d.Detail)
			}
		case line == 18:
			t.Errorf("line 18 is inside config {}, which its plugin checks: %q", d.Detail)
		}
	}
	for _, l := range []int{2, 7, 9, 13} {
		if !seen[l] {
			t.Errorf("no diagnostic for line %d; got %v", l, diags)
		}
	}
}
