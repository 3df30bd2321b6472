package config

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Track files (keepalived's track_file): a file holding a number that an
// operator or a tool writes; the daemon watches it (inotify) and the
// number times the weight moves the priority of the instances that track
// it, or puts them in FAULT (see core/vrouter's FileValue for the rule).

// Limits of track file weights and values: a value is clamped to ±254
// before it is multiplied, so no larger weight or init value means more.
const (
	maxTrackFileWeight = 254
	maxTrackFileValue  = 254
	// DefaultTrackFileWeight is keepalived's default weight of a file.
	DefaultTrackFileWeight = 1
	maxDownTimerAdverts    = 100
)

type trackFileBlock struct {
	Name      string         `hcl:"name,label"`
	Path      *hcl.Attribute `hcl:"path,attr"`
	Weight    *hcl.Attribute `hcl:"weight,attr"`
	Reverse   *hcl.Attribute `hcl:"reverse,attr"`
	Init      *hcl.Attribute `hcl:"init,attr"`
	Overwrite *hcl.Attribute `hcl:"overwrite,attr"`
	DefRange  hcl.Range      `hcl:",def_range"`
}

type instanceTrackFileBlock struct {
	Name     string         `hcl:"name,label"`
	Weight   *hcl.Attribute `hcl:"weight,attr"`
	Reverse  *hcl.Attribute `hcl:"reverse,attr"`
	DefRange hcl.Range      `hcl:",def_range"`
}

// TrackFile is a top-level `track_file "name" {}` block.
type TrackFile struct {
	Name string
	Path string // absolute
	// Weight is the default weight of the instances that track the file
	// (default 1); 0 means a non-zero value is FAULT.
	Weight  int
	Reverse bool
	// Init, if set, is written to the file at start when it does not
	// exist, or always with Overwrite.
	Init      *int64
	Overwrite bool
	DefRange  hcl.Range
}

// InstanceTrackFile is an instance's `track_file "name" {}` block, with
// the weight and reverse it inherits from the file already applied.
type InstanceTrackFile struct {
	File     string
	Weight   int
	Reverse  bool
	DefRange hcl.Range
}

func (b *builder) trackFile(t *trackFileBlock) *TrackFile {
	out := &TrackFile{Name: t.Name, Weight: DefaultTrackFileWeight, DefRange: t.DefRange}
	b.require(t.Path, "path", t.DefRange)
	if b.nonEmpty(t.Path, &out.Path) {
		switch {
		case !filepath.IsAbs(out.Path):
			b.errorf(t.Path.Range, "Invalid value for path", "path must be an absolute path, not %q.", out.Path)
		case filepath.Clean(out.Path) != out.Path || filepath.Base(out.Path) == "/":
			b.errorf(t.Path.Range, "Invalid value for path",
				"path must name a file in clean form (%q), without a trailing slash or . and .. parts.", filepath.Clean(out.Path))
		}
	}
	b.intRange(t.Weight, &out.Weight, -maxTrackFileWeight, maxTrackFileWeight)
	b.bool(t.Reverse, &out.Reverse)
	var n int
	if b.intRange(t.Init, &n, -maxTrackFileValue, maxTrackFileValue) {
		v := int64(n)
		out.Init = &v
	}
	if b.bool(t.Overwrite, &out.Overwrite) && t.Init == nil && out.Overwrite {
		b.errorf(t.Overwrite.Range, "overwrite without init", "overwrite = true writes the init value over the file at start; set init, or remove overwrite.")
	}
	return out
}

// instanceExtras decodes what the instances carry for track files and the
// timing knobs, once every top-level track_file is known.
func (b *builder) instanceExtras(cfg *Config, insts []*instanceInfo) {
	files := map[string]*TrackFile{}
	for _, f := range cfg.TrackFiles {
		files[f.Name] = f
	}
	used := map[string]bool{}
	for _, info := range insts {
		r, inst := info.block, info.inst
		owner := fmt.Sprintf("vrrp_instance %q", inst.Name)
		seen := map[string]bool{}
		for _, t := range r.TrackFiles {
			if seen[t.Name] {
				b.errorf(t.DefRange, "Duplicate track_file", "%s already tracks track_file %q.", owner, t.Name)
				continue
			}
			seen[t.Name] = true
			used[t.Name] = true
			b.addRef("track_file", listItem{t.Name, t.DefRange}, owner)
			out := &InstanceTrackFile{File: t.Name, Weight: DefaultTrackFileWeight, DefRange: t.DefRange}
			if f := files[t.Name]; f != nil {
				out.Weight, out.Reverse = f.Weight, f.Reverse
			}
			weightSet := b.intRange(t.Weight, &out.Weight, -maxTrackFileWeight, maxTrackFileWeight)
			b.bool(t.Reverse, &out.Reverse)
			if inst.AddressOwner && out.Weight != 0 {
				rng := t.DefRange
				if weightSet {
					rng = t.Weight.Range
				}
				b.errorf(rng, "Weighted track_file on the address owner",
					"%s is the address owner: its priority stays 255, so a weight would do nothing. Set weight = 0 (any non-zero value in the file then means FAULT), as keepalived forces.", owner)
			}
			inst.TrackFiles = append(inst.TrackFiles, out)
		}
		b.timing(r, inst)
	}
	for _, f := range cfg.TrackFiles {
		if !used[f.Name] {
			b.diags = append(b.diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Unused track_file",
				Detail:   fmt.Sprintf("No vrrp_instance tracks track_file %q, so %s is not watched.", f.Name, f.Path),
				Subject:  f.DefRange.Ptr(),
			})
		}
	}
}

// timing decodes an instance's timing knobs and its lower-priority GARP
// schedule.
func (b *builder) timing(r *instanceBlock, inst *Instance) {
	inst.DownTimerAdverts = 3
	b.intRange(r.DownTimerAdverts, &inst.DownTimerAdverts, 1, maxDownTimerAdverts)
	b.bool(r.LowerPrioNoAdvert, &inst.LowerPrioNoAdvert)
	b.bool(r.HigherPrioSendAdvert, &inst.HigherPrioSendAdvert)
	g := &inst.GARP
	g.LowerPrioRepeat, g.LowerPrioDelay = g.Repeat, g.Delay
	if r.GARP == nil {
		return
	}
	b.intRange(r.GARP.LowerPrioRepeat, &g.LowerPrioRepeat, 0, maxGARPRepeat)
	if b.duration(r.GARP.LowerPrioDelay, &g.LowerPrioDelay, true) {
		burst := time.Duration(g.LowerPrioRepeat-1) * g.Interval
		if g.LowerPrioDelay > 0 && g.LowerPrioDelay <= burst {
			b.errorf(r.GARP.LowerPrioDelay.Range, "garp lower_prio_delay too short",
				"The second burst (lower_prio_delay %s) must start after the first one ends (%d packets %s apart = %s).",
				g.LowerPrioDelay, g.LowerPrioRepeat, g.Interval, burst)
		}
	}
}
