package convert

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"time"
)

// scriptDef is a vrrp_script or a vrrp_track_process.
type scriptDef struct {
	name  string
	line  int
	proc  bool // vrrp_track_process
	notes []string

	// vrrp_script
	cmd      string
	interval time.Duration // 0: not set
	timeout  time.Duration
	rise     int // 0: not set
	fall     int

	// both
	weight     int
	reverse    bool
	weightLine int

	// vrrp_track_process
	process     []string // name and parameters
	processLine int
	paramMatch  string
	quorum      *int
	quorumMax   *int
	debounce    time.Duration
	fullCommand bool

	tracked []*instance
	check   *checkOut
}

// checkOut is a check block ready to render. An empty plugin renders the
// whole block as a TODO comment.
type checkOut struct {
	name     string
	comments []string
	notes    *[]string
	plugin   string
	attrs    []kv
	config   []kv
	yield    bool // a split-brain guard: tracks use effect = "yield"
}

func (c *converter) vrrpScript(s *stmt) {
	args := s.Args()
	if len(args) != 1 {
		c.warn(&c.dropped, s.Line, "vrrp_script needs exactly one name; block skipped")
		return
	}
	if _, dup := c.scriptByName[args[0]]; dup {
		c.warn(&c.dropped, s.Line, "vrrp_script %s defined twice; the second one is skipped", args[0])
		return
	}
	d := &scriptDef{name: args[0], line: s.Line}
	notes := &d.notes
	for _, e := range s.Children {
		if c.special(notes, e) {
			continue
		}
		switch kw := e.Keyword(); kw {
		case "script":
			d.cmd = scriptText(e.Words[1:])
		case "interval":
			if v, ok := c.seconds(notes, e); ok {
				if v == 0 {
					c.warn(notes, e.Line, "interval 0 is invalid; keepalived used 1s, and so does the policy")
					v = time.Second
				}
				d.interval = v
			}
		case "timeout":
			if v, ok := c.seconds(notes, e); ok {
				d.timeout = v // 0 means "the interval", as in hawatch
			}
		case "weight":
			c.weight(d, e)
		case "rise", "fall":
			n, ok := c.integer(notes, e)
			if !ok {
				continue
			}
			if n < 1 {
				c.warn(notes, e.Line, "%s %d is below 1; ignored", kw, n)
				continue
			}
			if kw == "rise" {
				d.rise = n
			} else {
				d.fall = n
			}
		case "user":
			c.warn(notes, e.Line, "user %s not converted: a check runs as its plugin's user (process and tcpprobe: \"nobody\")",
				strings.Join(e.Args(), " "))
		case "init_fail":
			c.warn(notes, e.Line, "init_fail not converted: a hawatch check cannot start as failed")
		default:
			c.dropStmt(notes, e, "")
		}
	}
	if d.cmd == "" {
		c.warn(&c.dropped, s.Line, "vrrp_script %s has no script; skipped", d.name)
		return
	}
	c.scriptByName[d.name] = d
	c.scripts = append(c.scripts, d)
}

// scriptText rebuilds the command line of `script`. The usual form is one
// quoted word; unquoted words are joined back with blanks, re-quoting any
// that held blanks.
func scriptText(ws []word) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = w.Text
		if len(ws) > 1 && strings.ContainsAny(w.Text, " \t") {
			parts[i] = "'" + w.Text + "'"
		}
	}
	return strings.Join(parts, " ")
}

// weight reads `weight W [reverse]`.
func (c *converter) weight(d *scriptDef, e *stmt) {
	args := e.Args()
	if len(args) == 0 {
		c.warn(&d.notes, e.Line, "weight without a value ignored")
		return
	}
	n, ok := parseInt(args[0])
	if !ok {
		c.warn(&d.notes, e.Line, "weight %q is not a whole number; ignored", args[0])
		return
	}
	d.weight, d.weightLine = n, e.Line
	for _, a := range args[1:] {
		switch a {
		case "reverse":
			d.reverse = true
		case "noreverse", "no_reverse":
			d.reverse = false
		default:
			c.warn(&d.notes, e.Line, "weight: %q not understood; ignored", a)
		}
	}
}

func (c *converter) trackProcess(s *stmt) {
	args := s.Args()
	if len(args) != 1 {
		c.warn(&c.dropped, s.Line, "vrrp_track_process needs exactly one name; block skipped")
		return
	}
	if _, dup := c.procByName[args[0]]; dup {
		c.warn(&c.dropped, s.Line, "vrrp_track_process %s defined twice; the second one is skipped", args[0])
		return
	}
	d := &scriptDef{name: args[0], line: s.Line, proc: true, weight: procDefaultWeight}
	notes := &d.notes
	var forkDelay, termDelay time.Duration
	for _, e := range s.Children {
		if c.special(notes, e) {
			continue
		}
		switch kw := e.Keyword(); kw {
		case "process":
			d.process, d.processLine = e.Args(), e.Line
		case "param_match":
			if v, ok := c.oneArg(notes, e); ok {
				d.paramMatch = v
			}
		case "weight":
			c.weight(d, e)
		case "quorum", "quorum_max":
			if n, ok := c.integer(notes, e); ok {
				if kw == "quorum" {
					d.quorum = &n
				} else {
					d.quorumMax = &n
				}
			}
		case "fork_delay", "terminate_delay", "delay":
			v, ok := c.seconds(notes, e)
			if !ok {
				continue
			}
			if kw != "terminate_delay" {
				forkDelay = v
			}
			if kw != "fork_delay" {
				termDelay = v
			}
		case "full_command":
			d.fullCommand = true
		default:
			c.dropStmt(notes, e, "")
		}
	}
	if forkDelay != termDelay {
		c.warn(notes, s.Line, "fork_delay %s and terminate_delay %s differ; the process plugin has one debounce, the longer is used", forkDelay, termDelay)
	}
	d.debounce = max(forkDelay, termDelay)
	if len(d.process) == 0 {
		c.warn(&c.dropped, s.Line, "vrrp_track_process %s has no process; skipped", d.name)
		return
	}
	c.procByName[d.name] = d
	c.scripts = append(c.scripts, d)
}

// resolveTracks binds every instance's tracks to their definitions.
func (c *converter) resolveTracks() {
	for _, in := range c.insts {
		var kept []*trackRef
		seen := map[string]bool{}
		for _, t := range in.tracks {
			kind, defs := "vrrp_script", c.scriptByName
			if t.proc {
				kind, defs = "vrrp_track_process", c.procByName
			}
			d := defs[t.name]
			if d == nil {
				c.warn(&in.notes, t.line, "track of %s %s, which does not exist; keepalived ignored it, and so does the policy", kind, t.name)
				continue
			}
			key := kind + " " + t.name
			if seen[key] {
				c.warn(&in.notes, t.line, "%s %s is tracked twice; the second entry is dropped", kind, t.name)
				continue
			}
			seen[key] = true
			kept = append(kept, t)
			d.tracked = append(d.tracked, in)
		}
		in.tracks = kept
	}
}

// buildChecks turns each definition into a check block.
func (c *converter) buildChecks() {
	// Script names first: they are what people know their checks by.
	for _, d := range c.scripts {
		if !d.proc {
			c.checkNames[d.name] = true
		}
	}
	for _, d := range c.scripts {
		name := d.name
		if d.proc {
			if c.checkNames[name] {
				name += "_process"
			}
			name = uniqueName(c.checkNames, name)
		}
		ck := &checkOut{name: name, notes: &d.notes}
		d.check = ck
		if len(d.tracked) == 0 {
			c.warn(&d.notes, d.line, "%s %s is tracked by no vrrp_instance or sync group: keepalived never ran it, hawatch will",
				kindOf(d), d.name)
		}
		if d.proc {
			c.processCheck(d, ck)
		} else {
			c.scriptCheck(d, ck)
		}
		if ck.plugin != "" {
			c.plugins[ck.plugin] = true
		}
		c.checks = append(c.checks, ck)
	}
}

func kindOf(d *scriptDef) string {
	if d.proc {
		return "vrrp_track_process"
	}
	return "vrrp_script"
}

func (c *converter) timing(d *scriptDef, ck *checkOut) {
	if d.interval > 0 {
		ck.attrs = append(ck.attrs, kv{k: "interval", v: dur(d.interval)})
	}
	if d.timeout > 0 {
		ck.attrs = append(ck.attrs, kv{k: "timeout", v: dur(d.timeout)})
	}
	if d.rise > 1 {
		ck.attrs = append(ck.attrs, kv{k: "rise", v: fmt.Sprint(d.rise)})
	}
	if d.fall > 1 {
		ck.attrs = append(ck.attrs, kv{k: "fall", v: fmt.Sprint(d.fall)})
	}
}

func (c *converter) scriptCheck(d *scriptDef, ck *checkOut) {
	src := fmt.Sprintf("vrrp_script %s (line %d) ran %s", d.name, d.line, shortCmd(d.cmd))
	if splitBrainName(d.name, d.cmd) && c.splitBrainCheck(d, ck, src) {
		return
	}
	id := recognise(d.cmd)
	switch id.kind {
	case kindProcess:
		ck.plugin = kindProcess
		every := ""
		if d.interval > 0 {
			every = " every " + strings.Trim(dur(d.interval), `"`)
		}
		ck.comments = append(ck.comments, src+"."+
			"\nThe process plugin is told about process deaths by the kernel instead of polling"+every+".")
		c.timing(d, ck)
		ck.config = processConfig(id)
	case kindTCPProbe:
		ck.plugin = kindTCPProbe
		ck.comments = append(ck.comments, src+".")
		c.timing(d, ck)
		ck.config = []kv{{k: "address", v: quote(id.address)}}
		if id.expect != "" {
			ck.config = append(ck.config, kv{k: "expect", v: quote(id.expect)})
		}
		if id.httpPath != "" {
			h := []kv{{k: "path", v: quote(id.httpPath)}}
			if id.httpHost != "" {
				h = append(h, kv{k: "host", v: quote(id.httpHost)})
			}
			ck.config = append(ck.config, kv{k: "http", sub: h})
		}
	default:
		c.todoCheck(d, ck, src, "")
		return
	}
	ck.comments = append(ck.comments, id.notes...)
}

func processConfig(id idiom) []kv {
	var out []kv
	if id.name != "" {
		out = append(out, kv{k: "name", v: quote(id.name)})
	}
	if id.cmdline != "" {
		out = append(out, kv{k: "cmdline", v: quote(id.cmdline)})
	}
	if id.pidfile != "" {
		out = append(out, kv{k: "pidfile", v: quote(id.pidfile)})
	}
	return out
}

// shortCmd quotes a command for a comment, cut to a readable length.
func shortCmd(s string) string {
	const maxLen = 120
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxLen {
		s = strings.ToValidUTF8(s[:maxLen], "") + "..."
	}
	return "`" + s + "`"
}

// todoCheck renders the check as a commented-out skeleton: hawatch runs
// no shell scripts, and guessing what one tests would be worse than
// saying so.
func (c *converter) todoCheck(d *scriptDef, ck *checkOut, src, why string) {
	if why == "" {
		why = "hawatch runs no shell scripts (by design)"
	}
	c.warn(nil, d.line, "vrrp_script %s: %s is not a recognised liveness check; %s, so the check and its tracks are left as TODO comments",
		d.name, shortCmd(d.cmd), why)
	ck.comments = append(ck.comments,
		"TODO "+src+".",
		why+": replace it with a plugin check (process for a daemon, tcpprobe for a port or an HTTP URL, "+
			"splitbrain for a second-master guard, or your own plugin built with sdk/), then uncomment this block "+
			"and the tracks of it in the instances below.")
	c.timing(d, ck)
}

// splitBrainCheck turns a split-brain script into the splitbrain guard,
// which needs the interface and VIP of the instance it guards. It reports
// false when they are not known, leaving the script a TODO.
func (c *converter) splitBrainCheck(d *scriptDef, ck *checkOut, src string) bool {
	var guarded *instance
	var vip netip.Addr
	for _, in := range d.tracked {
		if in.iface == "" || len(in.vips) == 0 {
			continue
		}
		p, err := netip.ParsePrefix(in.vips[0])
		if err != nil {
			continue
		}
		guarded, vip = in, p.Addr()
		break
	}
	if guarded == nil {
		c.todoCheck(d, ck, src, "it looks like a split-brain guard, but no tracking instance has an interface and a VIP to guard")
		return true
	}
	if len(d.tracked) > 1 {
		c.warn(&d.notes, d.line, "vrrp_script %s is tracked by %d instances; the splitbrain guard watches the VIP of %s only (make one check per instance)",
			d.name, len(d.tracked), guarded.name)
	}
	ck.plugin = kindSplitBrain
	ck.yield = true
	c.warn(&d.notes, d.line, "vrrp_script %s looks like a split-brain guard (by its name); it becomes the splitbrain plugin, which makes the lower-priority of two masters yield instead of running the script",
		d.name)
	asks := "answering ARP for the VIP"
	if vip.Is6() {
		asks = "answering a neighbour solicitation for the IPv6 VIP"
	}
	ck.comments = append(ck.comments, src+".",
		"While MASTER, the splitbrain plugin looks for another MAC "+asks+"; if one does "+
			"(and a peer_app answers), the lower-priority master yields and the other re-announces the VIP. "+
			"No one has to restart anything afterwards.")
	c.timing(d, ck)
	ck.config = []kv{
		{k: "interface", v: quote(guarded.iface)},
		{k: "vip", v: quote(vip.String())},
	}
	if apps := dedupe(peerApps(d.cmd)); len(apps) > 0 {
		ck.config = append(ck.config, kv{k: "peer_app", v: list(apps)})
	} else {
		ck.config = append(ck.config, kv{comment: `peer_app = ["PEER:PORT"] # the peer's application, if the old script probed one`})
	}
	return true
}

func dedupe(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func (c *converter) processCheck(d *scriptDef, ck *checkOut) {
	notes := &d.notes
	ck.plugin = kindProcess
	ck.comments = append(ck.comments, fmt.Sprintf("vrrp_track_process %s (line %d): process %s.", d.name, d.line, strings.Join(d.process, " ")))
	proc := d.process[0]
	params := d.process[1:]
	switch {
	case len(params) == 0 && !d.fullCommand && d.paramMatch == "":
		ck.config = append(ck.config, kv{k: "name", v: quote(proc)})
	default:
		// keepalived compares the command line word by word; a regular
		// expression over the joined words says the same.
		words := make([]string, len(d.process))
		for i, w := range d.process {
			words[i] = regexp.QuoteMeta(w)
		}
		re := "^" + strings.Join(words, " ")
		switch d.paramMatch {
		case "initial":
		case "partial":
			re += "( |$)"
		default:
			re += "$"
			if d.paramMatch != "" {
				c.warn(notes, d.processLine, "param_match %q not understood; an exact match is used", d.paramMatch)
			}
		}
		ck.config = append(ck.config, kv{k: "cmdline", v: quote(re)})
	}
	if d.quorum != nil {
		if *d.quorum < 0 {
			c.warn(notes, d.line, "quorum %d is negative; ignored", *d.quorum)
		} else {
			ck.config = append(ck.config, kv{k: "min", v: fmt.Sprint(*d.quorum)})
		}
	}
	if d.quorumMax != nil {
		switch {
		case *d.quorumMax <= 0:
			c.warn(notes, d.line, "quorum_max %d (fail while the process runs at all) cannot be expressed: the process plugin's max 0 means no upper bound; dropped", *d.quorumMax)
		default:
			ck.config = append(ck.config, kv{k: "max", v: fmt.Sprint(*d.quorumMax)})
		}
	}
	if d.debounce > 0 {
		ck.config = append(ck.config, kv{k: "debounce", v: dur(d.debounce)})
	}
}

// renderTracks writes the instance's track blocks, or TODO comments for
// tracks of checks that were not converted.
func (c *converter) renderTracks(in *instance) {
	notes := &in.notes
	groupZeroes := in.group != nil && !in.group.trackingWeight
	for _, t := range in.tracks {
		d := c.scriptByName[t.name]
		if t.proc {
			d = c.procByName[t.name]
		}
		ck := d.check
		weight, reverse := d.weight, d.reverse
		if t.weight != nil {
			weight = *t.weight
		}
		if t.reverse != nil {
			reverse = *t.reverse
		}
		from := "track_script"
		if t.proc {
			from = "track_process"
		}
		if t.via != "" {
			from += " of " + t.via
		}
		if groupZeroes && t.via == "" && weight != 0 && !ck.yield {
			c.warn(notes, t.line, "%s %s: keepalived set its weight %d to 0 because %s is in vrrp_sync_group %s (no sync_group_tracking_weight); it becomes a FAULT track, as keepalived ran it",
				from, t.name, weight, in.name, in.group.name)
			weight = 0
		}
		label := quote(ck.name)
		switch {
		case reverse:
			c.warn(notes, t.line, "%s %s: reverse cannot be expressed (a hawatch track acts when its check fails); left as a TODO comment", from, t.name)
			in.trackOut = append(in.trackOut, kv{comment: fmt.Sprintf("TODO track %s (%s weight %d reverse, line %d)", label, from, weight, t.line)})
		case ck.plugin == "":
			body := "{}"
			if weight != 0 {
				body = fmt.Sprintf("{ weight = %d }", clampWeight(-abs(weight)))
			}
			in.trackOut = append(in.trackOut, kv{comment: fmt.Sprintf("TODO track %s %s (%s, line %d): its check is not converted yet", label, body, from, t.line)})
		case ck.yield:
			if weight != 0 {
				c.warn(notes, t.line, "%s %s: weight %d dropped; a split-brain guard yields instead of changing the priority", from, t.name, weight)
			}
			in.trackOut = append(in.trackOut, kv{raw: "track " + label + ` { effect = "yield" }`, note: from})
		case weight == 0:
			in.trackOut = append(in.trackOut, kv{raw: "track " + label + " {}", note: from + ": failure means FAULT"})
		case weight < 0:
			in.trackOut = append(in.trackOut, kv{raw: fmt.Sprintf("track %s { weight = %d }", label, clampWeight(weight)), note: from})
		default:
			c.warn(notes, t.line, "%s %s: keepalived added %d to the priority while the check passed; hawatch subtracts %d while it fails instead. "+
				"The gap between a healthy and a failing node is the same, but the advertised priorities differ from a keepalived peer's by %d while healthy",
				from, t.name, weight, weight, weight)
			in.trackOut = append(in.trackOut, kv{raw: fmt.Sprintf("track %s { weight = %d }", label, clampWeight(-weight)),
				note: fmt.Sprintf("%s weight +%d while passing", from, weight)})
		}
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func clampWeight(w int) int { return min(max(w, -maxTrackWeight), maxTrackWeight) }
