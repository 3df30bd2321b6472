package convert

import (
	"fmt"
	"strings"
	"time"
)

// Link tracking: track_interface (instances and sync groups),
// interface_up_down_delays, dont_track_primary, linkbeat_use_polling and
// linkbeat_interfaces.
//
// Choices:
//   - track_interface keeps keepalived's weight as it is: hawatch's
//     interface tracks add a positive weight while the interface is up and
//     a negative one while it is down, as keepalived does, so the
//     advertised priorities match a keepalived peer's. `reverse` cannot
//     be expressed and stays a TODO; an entry naming the instance's own
//     interface is dropped, as keepalived ignores it.
//   - dont_track_primary is not carried over: hawatch always faults an
//     instance whose own interface is gone, down or without carrier (it
//     can neither advertise nor serve the VIP there); flaps are what an
//     interface's down_delay is for.
//   - linkbeat_use_polling and linkbeat_interfaces are notes, not
//     warnings: hawatch takes the carrier from netlink link updates (and
//     looks every followed interface up again each second), which is what
//     keepalived does without them; polling MII/ethtool was for drivers
//     that do not report carrier changes.

// maxLinkWeight is keepalived's range for track_interface weights.
const maxLinkWeight = 253

// ifaceTrack is one track_interface entry.
type ifaceTrack struct {
	name    string
	line    int
	weight  int
	reverse bool
	via     string // "vrrp_sync_group G1" when inherited from a group
}

// ifaceDelays is one interface_up_down_delays line.
type ifaceDelays struct {
	name     string
	line     int
	down, up time.Duration
}

// linkKeyword handles the link-tracking keywords of a vrrp_instance (or,
// with in nil, of a vrrp_sync_group g) and reports whether e was one.
func (c *converter) linkKeyword(notes *[]string, in *instance, g *group, e *stmt) bool {
	switch e.Keyword() {
	case "track_interface":
		via := ""
		if g != nil {
			via = "vrrp_sync_group " + g.name
		}
		for _, a := range e.Children {
			if t := c.ifaceTrackEntry(notes, a, via); t != nil {
				if in != nil {
					in.ifaceTracks = append(in.ifaceTracks, t)
				} else {
					g.ifaceTracks = append(g.ifaceTracks, t)
				}
			}
		}
	case "dont_track_primary":
		c.warn(notes, e.Line, "dont_track_primary not converted: hawatch always puts an instance whose own interface is gone, "+
			"down or without carrier in FAULT (it can neither advertise nor hold the VIP there); to ride out flaps, "+
			"give the interface a down_delay in an interface block")
	case "linkbeat_use_polling":
		note(notes, e.Line, "linkbeat_use_polling: hawatch follows carrier from netlink link updates, no polling needed.")
	default:
		return false
	}
	return true
}

// ifaceTrackEntry reads `IFNAME [weight N [reverse|noreverse|no_reverse]]`.
func (c *converter) ifaceTrackEntry(notes *[]string, a *stmt, via string) *ifaceTrack {
	words := a.Args0()
	if len(words) == 0 || c.special(notes, a) {
		return nil
	}
	t := &ifaceTrack{name: words[0], line: a.Line, via: via}
	for i := 1; i < len(words); i++ {
		switch w := words[i]; {
		case w == "weight" && i+1 < len(words):
			n, ok := parseInt(words[i+1])
			if !ok {
				c.warn(notes, a.Line, "track_interface %s: weight %q is not a whole number; ignored", t.name, words[i+1])
			} else if n < -maxLinkWeight || n > maxLinkWeight {
				c.warn(notes, a.Line, "track_interface %s: weight %d is outside keepalived's -%d..%d; %d is used",
					t.name, n, maxLinkWeight, maxLinkWeight, min(max(n, -maxLinkWeight), maxLinkWeight))
				n = min(max(n, -maxLinkWeight), maxLinkWeight)
			}
			t.weight = n
			i++
		case w == "reverse":
			t.reverse = true
		case w == "noreverse" || w == "no_reverse":
			t.reverse = false
		default:
			c.warn(notes, a.Line, "track_interface %s: %q ignored", t.name, w)
		}
	}
	return t
}

// inheritIfaceTracks hands a group's track_interface entries to its
// members (hawatch tracks per instance).
func (c *converter) inheritIfaceTracks(g *group) {
	for _, name := range g.instances {
		in := c.instByName[name]
	next:
		for _, t := range g.ifaceTracks {
			for _, have := range in.ifaceTracks {
				if have.name == t.name {
					c.warn(&in.notes, t.line, "interface %s is tracked both by %s and by its vrrp_sync_group %s; the instance's own entry is kept",
						t.name, in.name, g.name)
					continue next
				}
			}
			cp := *t
			in.ifaceTracks = append(in.ifaceTracks, &cp)
		}
	}
	if len(g.ifaceTracks) > 0 {
		note(&g.notes, g.line, "hawatch tracks interfaces per instance: the group's track_interface entries are on each member.")
	}
}

// renderIfaceTracks writes an instance's track_interface blocks.
func (c *converter) renderIfaceTracks(in *instance) {
	notes := &in.notes
	seen := map[string]bool{}
	groupZeroes := in.group != nil && !in.group.trackingWeight
	for _, t := range in.ifaceTracks {
		from := "track_interface"
		if t.via != "" {
			from += " of " + t.via
		}
		switch {
		case t.name == in.iface:
			c.warn(notes, t.line, "%s %s dropped: it is the instance's own interface, which keepalived ignores here and hawatch always follows", from, t.name)
			continue
		case seen[t.name]:
			c.warn(notes, t.line, "%s %s listed twice; the first entry is kept", from, t.name)
			continue
		case strings.ContainsAny(t.name, "/: \t") || len(t.name) > 15:
			c.warn(notes, t.line, "%s %q is not a valid interface name; dropped", from, t.name)
			continue
		}
		seen[t.name] = true
		weight := t.weight
		if groupZeroes && weight != 0 {
			c.warn(notes, t.line, "%s %s: keepalived set its weight %d to 0 because %s is in vrrp_sync_group %s (no sync_group_tracking_weight); it becomes a FAULT track, as keepalived ran it",
				from, t.name, weight, in.name, in.group.name)
			weight = 0
		}
		label := quote(t.name)
		switch {
		case t.reverse:
			c.warn(notes, t.line, "%s %s: reverse cannot be expressed (a hawatch interface track acts while the interface is down, or adds a positive weight while it is up); left as a TODO comment", from, t.name)
			in.trackOut = append(in.trackOut, kv{comment: fmt.Sprintf("TODO track_interface %s (%s weight %d reverse, line %d)", label, from, weight, t.line)})
		case weight == 0:
			in.trackOut = append(in.trackOut, kv{raw: "track_interface " + label + " {}", note: from + ": gone, down or no carrier means FAULT"})
		case weight > 0:
			in.trackOut = append(in.trackOut, kv{raw: fmt.Sprintf("track_interface %s { weight = %d }", label, weight), note: from + ": added while up"})
		default:
			in.trackOut = append(in.trackOut, kv{raw: fmt.Sprintf("track_interface %s { weight = %d }", label, weight), note: from + ": added while down"})
		}
	}
}

// upDownDelays reads the top-level interface_up_down_delays block:
// `IFNAME DOWN_DELAY [UP_DELAY]` lines, seconds; up defaults to down.
func (c *converter) upDownDelays(s *stmt) {
	notes := &c.dropped
	for _, e := range s.Children {
		if c.special(notes, e) {
			continue
		}
		words := e.Args0()
		if len(words) < 2 || len(words) > 3 {
			c.warn(notes, e.Line, "interface_up_down_delays: want IFNAME DOWN_DELAY [UP_DELAY], got %q; skipped", strings.Join(words, " "))
			continue
		}
		d := &ifaceDelays{name: words[0], line: e.Line}
		var ok bool
		if d.down, ok = c.linkDelay(notes, e.Line, words[1]); !ok {
			continue
		}
		d.up = d.down
		if len(words) == 3 {
			if d.up, ok = c.linkDelay(notes, e.Line, words[2]); !ok {
				continue
			}
		}
		if strings.ContainsAny(d.name, "/: \t") || len(d.name) > 15 {
			c.warn(notes, e.Line, "interface_up_down_delays: %q is not a valid interface name; skipped", d.name)
			continue
		}
		dup := false
		for _, have := range c.ifaceDelays {
			dup = dup || have.name == d.name
		}
		if dup {
			c.warn(notes, e.Line, "interface_up_down_delays: %s listed twice; the first line is kept", d.name)
			continue
		}
		c.ifaceDelays = append(c.ifaceDelays, d)
	}
}

// linkDelay reads one delay: seconds, 0..255.
func (c *converter) linkDelay(notes *[]string, line int, s string) (time.Duration, bool) {
	d, ok := parseSeconds(s)
	switch {
	case !ok:
		c.warn(notes, line, "interface_up_down_delays: %q is not a number of seconds; line skipped", s)
	case d > 255*time.Second:
		c.warn(notes, line, "interface_up_down_delays: %s is above keepalived's 255s; line skipped", d)
		ok = false
	}
	return d, ok
}

// emitInterfaces writes one interface block per interface_up_down_delays
// line.
func (c *converter) emitInterfaces(o *hclOut) {
	for _, d := range c.ifaceDelays {
		o.comment(fmt.Sprintf("interface_up_down_delays, line %d: a state change of %s reaches its instances only once it lasted this long.", d.line, d.name))
		o.open("interface " + quote(d.name))
		o.attr("down_delay", dur(d.down))
		o.attr("up_delay", dur(d.up))
		o.close()
		o.blank()
	}
}
