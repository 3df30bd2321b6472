package config

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// The link-tracking rules join TestValidationRules (and the fuzz seeds).
func init() {
	badCases = append(badCases,
		badCase{"track_interface own interface", vi(iface, vrid, prio, vip4, `track_interface "eth0" {}`),
			"track_interface names the instance's own interface", "always follows its own interface", 6, 3},
		badCase{"track_interface twice", vi(iface, vrid, prio, vip4, `track_interface "eth1" {}`, `track_interface "eth1" {}`),
			"Duplicate track_interface", `already tracks interface "eth1"`, 7, 3},
		badCase{"track_interface weight 0", vi(iface, vrid, prio, vip4, `track_interface "eth1" { weight = 0 }`),
			"Invalid value for weight", "omit weight to make a down interface mean FAULT", 6, 28},
		badCase{"track_interface weight too big", vi(iface, vrid, prio, vip4, `track_interface "eth1" { weight = 255 }`),
			"Invalid value for weight", "between -254 and 254", 6, 28},
		badCase{"track_interface bad name", vi(iface, vrid, prio, vip4, `track_interface "eth/1" {}`),
			"Invalid interface name in track_interface", "not a valid interface name", 6, 3},
		badCase{"interface delay too long", vi(iface, vrid, prio, vip4) + block(`interface "eth0"`, `down_delay = "256s"`),
			"Invalid duration for down_delay", "at most 4m15s", 8, 3},
		badCase{"interface delay negative", vi(iface, vrid, prio, vip4) + block(`interface "eth0"`, `up_delay = "-1s"`),
			"Invalid duration for up_delay", "zero or more", 8, 3},
		badCase{"interface twice", vi(iface, vrid, prio, vip4) + block(`interface "eth1"`) + block(`interface "eth1"`),
			"Duplicate", "", 9, 1},
	)
}

// TestLinkPolicy: track_interface blocks and interface blocks decode with
// keepalived's defaults (up_delay = down_delay when omitted).
func TestLinkPolicy(t *testing.T) {
	src := vi(iface, vrid, prio, vip4, `advert_interval = "100ms"`, `track_interface "eth1" {}`, `track_interface "bond0" { weight = -20 }`) +
		block(`interface "eth0"`, `down_delay = "150ms"`) +
		block(`interface "eth1"`, `down_delay = "1s"`, `up_delay = "0s"`)
	cfg, diags := Parse([]byte(src), "link.hcl")
	if diags.HasErrors() {
		t.Fatal(dump(diags))
	}
	if len(diags) != 0 {
		t.Errorf("unexpected warnings: %s", dump(diags))
	}
	ti := cfg.Instances[0].TrackInterfaces
	if len(ti) != 2 || ti[0].Name != "eth1" || ti[0].Weight != 0 || ti[1].Name != "bond0" || ti[1].Weight != -20 {
		t.Fatalf("track_interface: %+v", ti)
	}
	if i := cfg.Interface("eth0"); i == nil || i.DownDelay != 150*time.Millisecond || i.UpDelay != 150*time.Millisecond {
		t.Errorf("eth0: %+v, want 150ms both ways (up_delay defaults to down_delay)", i)
	}
	if i := cfg.Interface("eth1"); i == nil || i.DownDelay != time.Second || i.UpDelay != 0 {
		t.Errorf("eth1: %+v, want down 1s, up 0", i)
	}
	if cfg.Interface("eth9") != nil {
		t.Error("an interface without a block has one")
	}
}

// TestLinkDownDelayWarning: a down_delay of two advert intervals or more
// on an instance's own interface is a warning at the delay.
func TestLinkDownDelayWarning(t *testing.T) {
	src := vi(iface, vrid, prio, vip4, `advert_interval = "100ms"`) + block(`interface "eth0"`, `down_delay = "200ms"`)
	_, diags := Parse([]byte(src), "link.hcl")
	if diags.HasErrors() || len(diags) != 1 {
		t.Fatalf("want one warning, got: %s", dump(diags))
	}
	d := diags[0]
	if d.Severity != hcl.DiagWarning || !strings.Contains(d.Detail, "Keep down_delay under 200ms") || d.Subject.Start.Line != 9 {
		t.Errorf("warning %v at %v: %s", d.Severity, d.Subject, d.Detail)
	}
}
