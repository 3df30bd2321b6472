package convert

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Track files and the timing knobs:
//   - track_file (vrrp_track_file) NAME { file PATH; weight N [reverse];
//     init_file [VALUE] [overwrite] } → track_file "NAME" { path, weight,
//     reverse, init, overwrite }; an instance's track_file { NAME [weight
//     N] [reverse|noreverse] } → track_file "NAME" { weight, reverse }.
//     keepalived forces weight 0 on the address owner and on a sync group
//     member (without sync_group_tracking_weight): so does the policy,
//     with a warning.
//   - vrrp_startup_delay → node { startup_delay }, vrrp_delay_after_boot →
//     node { delay_after_boot }.
//   - (vrrp_)down_timer_adverts, (vrrp_)lower_prio_no_advert,
//     (vrrp_)higher_prio_send_advert → the instance's attributes of the
//     same names (global_defs values are every instance's default);
//     (vrrp_)garp_lower_prio_repeat / _delay → garp { lower_prio_repeat,
//     lower_prio_delay }.

// keepalived's bounds, as hawatch validates them.
const (
	maxFileWeight   = 254
	maxFileInit     = 254
	maxDownAdverts  = 100
	defaultInitFile = 0
)

// trackFileDef is a top-level track_file block as read.
type trackFileDef struct {
	name      string
	line      int
	notes     []string
	path      string
	weight    int
	reverse   bool
	init      *int
	overwrite bool
	used      bool // some instance tracks it
}

// timingSettings are the timing knobs of global_defs or of one instance;
// nil means not set.
type timingSettings struct {
	downAdverts      *int
	lowerNoAdvert    *bool
	higherSendAdvert *bool
	lowerRepeat      *int
	lowerDelay       *time.Duration
	line             int // the first of them, for messages
}

// over returns t with the fields set in o replacing its own.
func (t timingSettings) over(o timingSettings) timingSettings {
	if o.downAdverts != nil {
		t.downAdverts = o.downAdverts
	}
	if o.lowerNoAdvert != nil {
		t.lowerNoAdvert = o.lowerNoAdvert
	}
	if o.higherSendAdvert != nil {
		t.higherSendAdvert = o.higherSendAdvert
	}
	if o.lowerRepeat != nil {
		t.lowerRepeat = o.lowerRepeat
	}
	if o.lowerDelay != nil {
		t.lowerDelay = o.lowerDelay
	}
	if o.line != 0 {
		t.line = o.line
	}
	return t
}

// trackFileRef is one entry of an instance's track_file block.
type trackFileRef struct {
	name    string
	line    int
	weight  *int
	reverse *bool
}

// extras is what this file adds to the converter's state.
type extras struct {
	files      []*trackFileDef
	fileByName map[string]*trackFileDef
	timing     timingSettings // global_defs
	startup    *time.Duration // vrrp_startup_delay
	afterBoot  *time.Duration // vrrp_delay_after_boot
}

// trackFile reads a top-level track_file / vrrp_track_file block.
func (c *converter) trackFile(s *stmt) {
	args := s.Args()
	if len(args) != 1 || !s.Block {
		c.warn(&c.dropped, s.Line, "%s needs one name and a { } block; skipped", s.Keyword())
		return
	}
	x := &c.extras
	if x.fileByName == nil {
		x.fileByName = map[string]*trackFileDef{}
	}
	if _, dup := x.fileByName[args[0]]; dup {
		c.warn(&c.dropped, s.Line, "track_file %s defined twice; the second one is skipped", args[0])
		return
	}
	f := &trackFileDef{name: args[0], line: s.Line, weight: 1}
	notes := &f.notes
	if s.Keyword() == "vrrp_track_file" {
		note(notes, s.Line, "vrrp_track_file is keepalived's deprecated name for track_file.")
	}
	for _, e := range s.Children {
		if c.special(notes, e) {
			continue
		}
		ea := e.Args()
		switch e.Keyword() {
		case "file":
			if v, ok := c.oneArg(notes, e); ok {
				f.path = v
			}
		case "weight":
			if len(ea) == 0 {
				c.warn(notes, e.Line, "weight without a value ignored")
				continue
			}
			n, ok := parseInt(ea[0])
			if !ok {
				c.warn(notes, e.Line, "weight %q is not a number; 1 is used", ea[0])
				continue
			}
			f.weight = c.clampFileWeight(notes, e.Line, n)
			for _, o := range ea[1:] {
				if o == "reverse" {
					f.reverse = true
				} else {
					c.warn(notes, e.Line, "weight option %q not understood; ignored", o)
				}
			}
		case "init_file":
			v := defaultInitFile
			for _, o := range ea {
				if o == "overwrite" {
					f.overwrite = true
					continue
				}
				n, err := strconv.ParseInt(o, 0, 64)
				if err != nil {
					c.warn(notes, e.Line, "init_file value %q is not a number; 0 is used", o)
					continue
				}
				if n < -maxFileInit || n > maxFileInit {
					c.warn(notes, e.Line, "init_file value %d is outside ±%d (a value counts only within it); %d is used",
						n, maxFileInit, min(max(n, -maxFileInit), maxFileInit))
					n = min(max(n, -maxFileInit), maxFileInit)
				}
				v = int(n)
			}
			f.init = &v
		default:
			c.dropStmt(notes, e, "")
		}
	}
	if f.path == "" {
		c.warn(&c.dropped, s.Line, "track_file %s has no file; skipped (keepalived ignores it too)", f.name)
		return
	}
	x.files = append(x.files, f)
	x.fileByName[f.name] = f
}

func (c *converter) clampFileWeight(notes *[]string, line, n int) int {
	if n < -maxFileWeight || n > maxFileWeight {
		w := min(max(n, -maxFileWeight), maxFileWeight)
		c.warn(notes, line, "weight %d is outside ±%d (a file's value is clamped to ±254 before it is weighted, so no more can count); %d is used", n, maxFileWeight, w)
		return w
	}
	return n
}

// globalExtra handles the global_defs keywords of this file; it reports
// whether e was one.
func (c *converter) globalExtra(notes *[]string, e *stmt) bool {
	x := &c.extras
	switch e.Keyword() {
	case "vrrp_startup_delay":
		if d, ok := c.seconds(notes, e); ok {
			x.startup = &d
		}
	case "vrrp_delay_after_boot":
		if d, ok := c.seconds(notes, e); ok {
			x.afterBoot = &d
		}
	default:
		return c.timingKeyword(notes, e, "vrrp_", &x.timing)
	}
	return true
}

// instanceExtra handles the vrrp_instance keywords of this file; it
// reports whether e was one.
func (c *converter) instanceExtra(in *instance, e *stmt) bool {
	notes := &in.notes
	if e.Keyword() == "track_file" {
		for _, a := range e.Children {
			if r := c.trackFileEntry(notes, a); r != nil {
				in.fileRefs = append(in.fileRefs, r)
			}
		}
		return true
	}
	return c.timingKeyword(notes, e, "", &in.timing)
}

// timingKeyword reads one timing knob (with prefix in global_defs).
func (c *converter) timingKeyword(notes *[]string, e *stmt, prefix string, t *timingSettings) bool {
	kw, ok := strings.CutPrefix(e.Keyword(), prefix)
	if !ok {
		return false
	}
	boolArg := func() *bool {
		b, ok := parseBool(e.Args())
		if !ok {
			c.warn(notes, e.Line, "%s %q is not a boolean; ignored", e.Keyword(), e.Args()[0])
			return nil
		}
		return &b
	}
	switch kw {
	case "down_timer_adverts":
		if n, ok := c.integer(notes, e); ok {
			if n < 1 || n > maxDownAdverts {
				c.warn(notes, e.Line, "%s %d is outside 1..%d; ignored (the RFC's 3 applies)", e.Keyword(), n, maxDownAdverts)
				return true
			}
			t.downAdverts = &n
		}
	case "lower_prio_no_advert":
		t.lowerNoAdvert = boolArg()
	case "higher_prio_send_advert":
		t.higherSendAdvert = boolArg()
	case "garp_lower_prio_repeat":
		if n, ok := c.integer(notes, e); ok {
			if n < 0 || n > maxGARPRepeat {
				c.warn(notes, e.Line, "%s %d is outside 0..%d; %d is used", e.Keyword(), n, maxGARPRepeat, min(max(n, 0), maxGARPRepeat))
				n = min(max(n, 0), maxGARPRepeat)
			}
			t.lowerRepeat = &n
		}
	case "garp_lower_prio_delay":
		if d, ok := c.seconds(notes, e); ok {
			t.lowerDelay = &d
		}
	default:
		return false
	}
	if t.line == 0 {
		t.line = e.Line
	}
	return true
}

// trackFileEntry reads "NAME [weight N] [reverse|noreverse]".
func (c *converter) trackFileEntry(notes *[]string, e *stmt) *trackFileRef {
	w := e.Args0()
	if len(w) == 0 || c.special(notes, e) {
		return nil
	}
	r := &trackFileRef{name: w[0], line: e.Line}
	for i := 1; i < len(w); i++ {
		switch w[i] {
		case "weight":
			if i+1 >= len(w) {
				c.warn(notes, e.Line, "track_file %s: weight without a value ignored", r.name)
				continue
			}
			i++
			n, ok := parseInt(w[i])
			if !ok {
				c.warn(notes, e.Line, "track_file %s: weight %q is not a number; ignored", r.name, w[i])
				continue
			}
			n = c.clampFileWeight(notes, e.Line, n)
			r.weight = &n
		case "reverse", "noreverse", "no_reverse":
			b := w[i] == "reverse"
			r.reverse = &b
		default:
			c.warn(notes, e.Line, "track_file %s: %q not understood; ignored", r.name, w[i])
		}
	}
	return r
}

// finishExtras renders an instance's track files and timing knobs, after
// the rest of the instance (it adds to the garp block).
func (c *converter) finishExtras(in *instance) {
	notes := &in.notes
	t := c.extras.timing.over(in.timing)
	if t.downAdverts != nil && *t.downAdverts != 3 {
		in.out = append(in.out, kv{k: "down_timer_adverts", v: fmt.Sprint(*t.downAdverts), note: "differs from the RFC's 3: every router of the instance must agree"})
	}
	if t.lowerNoAdvert != nil && *t.lowerNoAdvert {
		in.out = append(in.out, kv{k: "lower_prio_no_advert", v: "true"})
	}
	if t.higherSendAdvert != nil && *t.higherSendAdvert {
		in.out = append(in.out, kv{k: "higher_prio_send_advert", v: "true"})
	}
	var garp []kv
	if t.lowerRepeat != nil {
		garp = append(garp, kv{k: "lower_prio_repeat", v: fmt.Sprint(*t.lowerRepeat), note: zeroNote(time.Duration(*t.lowerRepeat), "no announcement on a lower priority")})
	}
	if t.lowerDelay != nil {
		garp = append(garp, kv{k: "lower_prio_delay", v: dur(*t.lowerDelay), note: zeroNote(*t.lowerDelay, "no second burst")})
	}
	if len(garp) > 0 {
		i := -1
		for j, o := range in.out {
			if o.k == "garp" && o.sub != nil {
				i = j
			}
		}
		if i < 0 {
			in.out = append(in.out, kv{k: "garp", sub: garp})
		} else {
			in.out[i].sub = append(in.out[i].sub, garp...)
		}
	}

	zeroWhy := ""
	switch {
	case in.prio == ownerPriority:
		zeroWhy = "it is the address owner (priority 255)"
	case in.group != nil && !in.group.trackingWeight:
		zeroWhy = fmt.Sprintf("it is in vrrp_sync_group %s (no sync_group_tracking_weight)", in.group.name)
	}
	for _, r := range in.fileRefs {
		f := c.extras.fileByName[r.name]
		if f == nil {
			c.warn(notes, r.line, "track_file %s is not defined; dropped (keepalived drops it too)", r.name)
			continue
		}
		f.used = true
		weight, reverse := f.weight, f.reverse
		if r.weight != nil {
			weight = *r.weight
		}
		if r.reverse != nil {
			reverse = *r.reverse
		}
		if zeroWhy != "" && weight != 0 {
			c.warn(notes, r.line, "track_file %s: keepalived set its weight %d to 0 because %s; any non-zero value in the file now means FAULT, as keepalived ran it",
				r.name, weight, zeroWhy)
			weight = 0
		}
		var attrs []kv
		if weight != f.weight || r.weight != nil || zeroWhy != "" {
			attrs = append(attrs, kv{k: "weight", v: fmt.Sprint(weight)})
		}
		if reverse != f.reverse {
			attrs = append(attrs, kv{k: "reverse", v: fmt.Sprint(reverse)})
		}
		head := "track_file " + quote(r.name)
		switch len(attrs) {
		case 0:
			in.trackOut = append(in.trackOut, kv{raw: head + " {}"})
		case 1: // HCL's one-line block holds one attribute
			in.trackOut = append(in.trackOut, kv{raw: fmt.Sprintf("%s { %s = %s }", head, attrs[0].k, attrs[0].v)})
		default:
			in.trackOut = append(in.trackOut, kv{k: head, sub: attrs})
		}
	}
}

// emitTrackFiles writes the top-level track_file blocks.
func (c *converter) emitTrackFiles(o *hclOut) {
	for _, f := range c.extras.files {
		o.comment(fmt.Sprintf("track_file %s (line %d).", f.name, f.line))
		o.open("track_file " + quote(f.name))
		if !f.used {
			c.warn(&f.notes, f.line, "track_file %s is not tracked by any vrrp_instance (keepalived ignores it)", f.name)
		}
		notesComment(o, f.notes)
		if path := filepath.Join("/", f.path); path != f.path {
			// keepalived resolves it from its working directory, which is
			// / once it runs as a daemon.
			c.warn(nil, f.line, "track_file %s: file %q is not a clean absolute path; %s is used (keepalived's working directory is /)", f.name, f.path, path)
			o.attrNote("path", quote(path), "TODO: check; keepalived had "+f.path)
		} else {
			o.attr("path", quote(path))
		}
		if f.weight != 1 {
			o.attr("weight", fmt.Sprint(f.weight))
		}
		if f.reverse {
			o.attr("reverse", "true")
		}
		if f.init != nil {
			o.attrNote("init", fmt.Sprint(*f.init), "init_file: written at start when the file is missing")
			if f.overwrite {
				o.attr("overwrite", "true")
			}
		}
		o.close()
		o.blank()
	}
}

// nodeExtras are the node attributes of this file.
func (c *converter) nodeExtras() []kv {
	var out []kv
	if d := c.extras.startup; d != nil && *d > 0 {
		out = append(out, kv{k: "startup_delay", v: dur(*d), note: "vrrp_startup_delay"})
	}
	if d := c.extras.afterBoot; d != nil && *d > 0 {
		out = append(out, kv{k: "delay_after_boot", v: dur(*d), note: "vrrp_delay_after_boot"})
	}
	return out
}
