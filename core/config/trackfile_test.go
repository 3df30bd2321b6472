package config

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// tfMaint is a track_file block on lines 1-4.
var tfMaint = block(`track_file "maint"`, `path = "/run/hawatch/maint"`, `weight = -10`)

// Mistakes in track files and the timing knobs: one error each, at its
// place (the same rules as badCases).
var trackFileBadCases = []badCase{
	{"track_file undefined", vi(iface, vrid, prio, vip4, `track_file "maint" {}`),
		"Reference to undefined track_file", `track_file "maint"`, 6, 3},
	{"track_file path relative", block(`track_file "maint"`, `path = "run/maint"`) + vi(iface, vrid, prio, vip4, `track_file "maint" {}`),
		"Invalid value for path", "absolute", 2, 3},
	{"track_file path not clean", block(`track_file "maint"`, `path = "/run/x/../maint"`) + vi(iface, vrid, prio, vip4, `track_file "maint" {}`),
		"Invalid value for path", `"/run/maint"`, 2, 3},
	{"track_file without path", block(`track_file "maint"`, `weight = 2`) + vi(iface, vrid, prio, vip4, `track_file "maint" {}`),
		"Missing required argument", `"path"`, 1, 1},
	{"track_file weight range", block(`track_file "maint"`, `path = "/run/m"`, `weight = 300`) + vi(iface, vrid, prio, vip4, `track_file "maint" {}`),
		"Invalid value for weight", "between -254 and 254", 3, 3},
	{"track_file init range", block(`track_file "maint"`, `path = "/run/m"`, `init = 1000`) + vi(iface, vrid, prio, vip4, `track_file "maint" {}`),
		"Invalid value for init", "between -254 and 254", 3, 3},
	{"overwrite without init", block(`track_file "maint"`, `path = "/run/m"`, `overwrite = true`) + vi(iface, vrid, prio, vip4, `track_file "maint" {}`),
		"overwrite without init", "set init", 3, 3},
	{"track_file twice", tfMaint + vi(iface, vrid, prio, vip4, `track_file "maint" {}`, `track_file "maint" {}`),
		"Duplicate track_file", "already tracks", 11, 3},
	{"instance weight range", tfMaint + vi(iface, vrid, prio, vip4, `track_file "maint" { weight = -255 }`),
		"Invalid value for weight", "between -254 and 254", 10, 24},
	{"owner weighted", tfMaint + vi(iface, vrid, `priority = 255`, `address_owner = true`, vip4, `track_file "maint" {}`),
		"Weighted track_file on the address owner", "weight = 0", 11, 3},
	{"down_timer_adverts zero", vi(iface, vrid, prio, vip4, `down_timer_adverts = 0`),
		"Invalid value for down_timer_adverts", "between 1 and 100", 6, 3},
	{"lower_prio_no_advert not bool", vi(iface, vrid, prio, vip4, `lower_prio_no_advert = "yes please"`),
		"lower_prio_no_advert", "true or false", 6, 3},
	{"lower_prio_repeat range", vi(iface, vrid, prio, vip4, `garp {`, `  lower_prio_repeat = 101`, `}`),
		"Invalid value for lower_prio_repeat", "between 0 and 100", 7, 5},
	{"lower_prio_delay short", vi(iface, vrid, prio, vip4, `garp {`, `  repeat = 5`, `  interval = "100ms"`, `  lower_prio_delay = "300ms"`, `}`),
		"garp lower_prio_delay too short", "after the first one ends", 9, 5},
	{"startup_delay negative", block(`node`, `startup_delay = "-1s"`) + vi(iface, vrid, prio, vip4),
		"startup_delay", "", 2, 3},
}

func TestTrackFileValidation(t *testing.T) {
	for _, tc := range trackFileBadCases {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := Parse([]byte(tc.src), "bad.hcl")
			var found *hcl.Diagnostic
			for _, d := range diags.Errs() {
				d := d.(*hcl.Diagnostic)
				if strings.Contains(d.Summary, tc.summary) && strings.Contains(d.Detail, tc.detail) {
					found = d
					break
				}
			}
			if found == nil {
				t.Fatalf("no error with summary %q and detail %q; got:\n%s", tc.summary, tc.detail, dump(diags))
			}
			if got := found.Subject.Start; got.Line != tc.line || got.Column != tc.col {
				t.Errorf("subject at %d:%d, want %d:%d (%s: %s)", got.Line, got.Column, tc.line, tc.col, found.Summary, found.Detail)
			}
			if n := len(diags.Errs()); n != 1 {
				t.Errorf("%d errors, want exactly 1:\n%s", n, dump(diags))
			}
		})
	}
}

func TestTrackFileAndTiming(t *testing.T) {
	src := block(`node`, `startup_delay = "5500ms"`, `delay_after_boot = "60s"`) +
		block(`track_file "maint"`, `path = "/run/hawatch/maint"`, `weight = -10`, `init = 0`, `overwrite = true`) +
		block(`track_file "flag"`, `path = "/run/hawatch/flag"`, `weight = 0`, `reverse = true`) +
		block(`track_file "spare"`, `path = "/run/hawatch/spare"`) +
		vi(iface, vrid, prio, vip4,
			`track_file "maint" {}`, `track_file "flag" { weight = 5 }`,
			`down_timer_adverts = 1`, `lower_prio_no_advert = true`, `higher_prio_send_advert = true`,
			`garp {`, `  lower_prio_repeat = 0`, `}`)
	cfg, diags := Parse([]byte(src), "ok.hcl")
	if diags.HasErrors() {
		t.Fatalf("errors:\n%s", dump(diags))
	}
	if len(diags) != 1 || !strings.Contains(diags[0].Summary, "Unused track_file") || !strings.Contains(diags[0].Detail, `"spare"`) {
		t.Errorf("want one warning for the unused file, got:\n%s", dump(diags))
	}
	if cfg.Node.StartupDelay != 5500*time.Millisecond || cfg.Node.DelayAfterBoot != time.Minute {
		t.Errorf("node delays %s %s", cfg.Node.StartupDelay, cfg.Node.DelayAfterBoot)
	}
	if len(cfg.TrackFiles) != 3 || cfg.TrackFiles[0].Init == nil || *cfg.TrackFiles[0].Init != 0 || !cfg.TrackFiles[0].Overwrite ||
		cfg.TrackFiles[2].Weight != DefaultTrackFileWeight || cfg.TrackFiles[2].Init != nil {
		t.Errorf("track files %+v %+v %+v", *cfg.TrackFiles[0], *cfg.TrackFiles[1], *cfg.TrackFiles[2])
	}
	in := cfg.Instances[0]
	// The instance inherits the file's weight and reverse unless it sets
	// its own.
	want := []InstanceTrackFile{{File: "maint", Weight: -10}, {File: "flag", Weight: 5, Reverse: true}}
	for i, w := range want {
		got := *in.TrackFiles[i]
		got.DefRange = hcl.Range{}
		if got != w {
			t.Errorf("track file %d: %+v, want %+v", i, got, w)
		}
	}
	if in.DownTimerAdverts != 1 || !in.LowerPrioNoAdvert || !in.HigherPrioSendAdvert ||
		in.GARP.LowerPrioRepeat != 0 || in.GARP.LowerPrioDelay != DefaultGARPDelay {
		t.Errorf("timing %d %v %v garp %+v", in.DownTimerAdverts, in.LowerPrioNoAdvert, in.HigherPrioSendAdvert, in.GARP)
	}
	// Defaults: the RFC's 3 adverts, answers and announcements on.
	cfg, diags = Parse([]byte(vi(iface, vrid, prio, vip4)), "ok.hcl")
	if diags.HasErrors() {
		t.Fatal(dump(diags))
	}
	if in := cfg.Instances[0]; in.DownTimerAdverts != 3 || in.LowerPrioNoAdvert || in.HigherPrioSendAdvert ||
		in.GARP.LowerPrioRepeat != DefaultGARPRepeat || cfg.Node.StartupDelay != 0 {
		t.Errorf("defaults %+v", *in)
	}
}
