package convert

import (
	"strings"
	"time"
)

// strictGlobal is what global_defs says about strict mode and firewalls.
type strictGlobal struct {
	on   bool // vrrp_strict
	line int
	// node is decided once every instance is read (strictPlan): node {
	// strict = true } only when every instance is strict and none keeps
	// something strict mode refuses.
	node    bool
	planned bool
	// why node strict is off although some instance is strict
	blocker string
}

// strictConf is an instance's accept / no_accept / strict_mode.
type strictConf struct {
	accept     *bool
	acceptLine int
	mode       *bool // strict_mode on|off; nil: global vrrp_strict decides
	modeLine   int
	on         bool // settled: this instance is strict
}

// strictKeyword reads an instance's accept, no_accept or strict_mode.
func (c *converter) strictKeyword(in *instance, e *stmt) {
	switch e.Keyword() {
	case "accept":
		t := true
		in.strict.accept, in.strict.acceptLine = &t, e.Line
	case "no_accept":
		f := false
		in.strict.accept, in.strict.acceptLine = &f, e.Line
	case "strict_mode":
		b := true // keepalived: strict_mode alone means on
		if args := e.Args(); len(args) > 0 {
			v, ok := parseBool(args)
			if !ok {
				c.warn(&in.notes, e.Line, "strict_mode %q is not a boolean; ignored", args[0])
				return
			}
			b = v
		}
		in.strict.mode, in.strict.modeLine = &b, e.Line
	}
}

// firewallKeyword notes keepalived's firewall selection keywords. hawatch
// always fences with nftables, in a table of its own (inet hawatch,
// chains at priority filter - 1 like keepalived's), so choosing a
// firewall, naming its table or chains, or counting are not needed. It
// reports whether kw was one of them.
func (c *converter) firewallKeyword(notes *[]string, e *stmt) bool {
	args := e.Args()
	switch kw := e.Keyword(); kw {
	case "nftables":
		note(notes, e.Line, "nftables%s: not needed; hawatch always fences with nftables, in its own table (inet %s)",
			argText(args), "hawatch")
	case "nftables_priority":
		if len(args) > 0 && args[0] != "-1" {
			c.warn(notes, e.Line, "nftables_priority %s not converted: hawatch's chains run at priority filter - 1 (keepalived's default); check how they order against your own rules", args[0])
		} else {
			note(notes, e.Line, "nftables_priority: hawatch's chains run at priority filter - 1, keepalived's default")
		}
	case "nftables_ifindex":
		note(notes, e.Line, "nftables_ifindex: not needed; hawatch's table never matches link-local addresses (neighbour discovery always passes)")
	case "nftables_counters":
		note(notes, e.Line, "nftables_counters: not needed; `nft list table inet hawatch` shows the fenced addresses")
	case "vrrp_iptables", "vrrp_ipsets":
		c.warn(notes, e.Line, "%s%s not converted: hawatch fences with nftables (table inet hawatch), never iptables or ipsets; rules of your own that jump to keepalived's chains or match its ipsets have nothing to refer to",
			kw, argText(args))
	default:
		return false
	}
	return true
}

func argText(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return " " + strings.Join(args, " ")
}

// strictPlan settles, once, which instances are strict and whether the
// node is.
func (c *converter) strictPlan() {
	g := &c.global.strict
	if g.planned {
		return
	}
	g.planned = true
	all := len(c.insts) > 0
	for _, in := range c.insts {
		in.strict.on = g.on
		if in.strict.mode != nil {
			in.strict.on = *in.strict.mode
		}
		switch {
		case !all:
		case !in.strict.on:
			all, g.blocker = false, "vrrp_instance "+in.name+" is not strict"
		case len(in.peers) > 0:
			all, g.blocker = false, "vrrp_instance "+in.name+" keeps its unicast peers"
		case in.hmac != nil:
			all, g.blocker = false, "vrrp_instance "+in.name+" keeps its auth_hmac"
		}
	}
	g.node = all
}

// strictInstance applies keepalived's strict-mode resets to an instance
// before it is rendered (finishInstance). What keepalived silently resets
// or ignores is warned about here, so the policy says what ran.
func (c *converter) strictInstance(in *instance) {
	c.strictPlan()
	s := &in.strict
	if !s.on {
		return
	}
	notes := &in.notes
	line := firstNonZero(s.modeLine, c.global.strict.line)
	if !c.global.strict.node {
		switch {
		case len(in.peers) > 0:
			c.warn(notes, line, "strict mode with unicast peers: keepalived refuses the pair (\"Unicast peers are not supported in strict mode\"); the peers are kept, so node.strict is not set, and the rest of strict mode is applied to this instance")
		case in.hmac != nil:
			c.warn(notes, line, "strict mode with auth_hmac: auth_hmac is beyond the RFCs, so node.strict is not set; the rest of strict mode is applied to this instance")
		default:
			c.warn(notes, line, "strict mode is node-wide in hawatch (node.strict), which is not set because %s; this instance gets strict mode's effects (accept = false, one GARP, no preempt_delay) without its load checks", c.global.strict.blocker)
		}
	}
	if in.authLine != 0 && in.hmac == nil {
		c.warn(notes, in.authLine, "authentication dropped: keepalived ignores it under strict mode (\"Strict mode does not support authentication\")")
		in.authLine = 0
	}
	if in.preemptDelay != nil && *in.preemptDelay > 0 {
		c.warn(notes, firstNonZero(s.modeLine, in.line), "preempt_delay %s dropped: keepalived resets it under strict mode", *in.preemptDelay)
		in.preemptDelay = nil
	}
	if s.accept != nil && *s.accept && in.version2 {
		c.warn(notes, s.acceptLine, "accept dropped: RFC 3768 (VRRPv2) has no accept mode and keepalived resets it under strict mode; traffic to the VIPs is dropped while master")
		s.accept = nil // strict mode's default, accept = false
	}
	c.strictTiming(in)
	// One announcement per address on takeover (RFC 5798 §6.4.1).
	g := c.global.garp.over(in.garp)
	gl := firstNonZero(in.garpLine, c.global.line)
	if g.repeat != nil && *g.repeat != 1 {
		c.warn(notes, gl, "garp repeat %d: keepalived sends no repeated gratuitous ARPs under strict mode; 1 is used", *g.repeat)
	}
	if g.refresh != nil && *g.refresh != 0 {
		c.warn(notes, gl, "garp refresh %s: keepalived sends no periodic gratuitous ARPs under strict mode; off", *g.refresh)
	}
	if g.delay != nil && *g.delay != 0 {
		c.warn(notes, gl, "garp delay %s: hawatch's strict mode sends no second burst; off", *g.delay)
	}
	// node.strict makes these the defaults; without it they are written.
	if !g.empty() || !c.global.strict.node {
		one, zero := 1, time.Duration(0)
		in.garp.repeat, in.garp.refresh, in.garp.delay = &one, &zero, &zero
		if in.garpLine == 0 {
			in.garpLine = c.global.line
		}
	}
}

// acceptOut renders accept: as written, or, for a strict instance on a
// node that is not strict, the accept = false strict mode implies.
func (c *converter) acceptOut(in *instance) {
	s := &in.strict
	switch {
	case s.accept != nil && *s.accept:
		in.out = append(in.out, kv{k: "accept", v: "true"})
	case s.accept != nil:
		in.out = append(in.out, kv{k: "accept", v: "false", note: "no_accept: traffic to the VIPs dropped while master"})
	case s.on && !c.global.strict.node && in.prio != ownerPriority: // the owner always accepts
		in.out = append(in.out, kv{k: "accept", v: "false", note: "strict mode's default"})
	}
}

// strictTiming applies keepalived's strict resets to the timing knobs
// (trackfile.go renders them): 3 advert intervals to Master_Down_Interval,
// a master discards a lower priority's advert (lower_prio_no_advert on,
// no announcement again) and yields without a last advert.
func (c *converter) strictTiming(in *instance) {
	notes := &in.notes
	t := c.extras.timing.over(in.timing)
	line := firstNonZero(in.timing.line, c.extras.timing.line)
	node := c.global.strict.node
	yes, no, three, zero, zeroD := true, false, 3, 0, time.Duration(0)
	if t.downAdverts != nil && *t.downAdverts != 3 {
		c.warn(notes, line, "down_timer_adverts %d dropped: keepalived resets it under strict mode (the RFC's 3 applies)", *t.downAdverts)
		in.timing.downAdverts = &three
	}
	if t.lowerNoAdvert != nil && !*t.lowerNoAdvert {
		c.warn(notes, line, "lower_prio_no_advert off: keepalived turns it on under strict mode (a master discards a lower priority's advert)")
	}
	if (t.lowerNoAdvert != nil && !*t.lowerNoAdvert) || (t.lowerNoAdvert == nil && !node) {
		in.timing.lowerNoAdvert = &yes
	}
	if t.higherSendAdvert != nil && *t.higherSendAdvert {
		c.warn(notes, line, "higher_prio_send_advert dropped: keepalived clears it under strict mode")
		in.timing.higherSendAdvert = &no
	}
	if t.lowerRepeat != nil && *t.lowerRepeat != 0 {
		c.warn(notes, line, "garp_lower_prio_repeat %d: under strict mode a master that hears a lower priority announces nothing; 0 is used", *t.lowerRepeat)
	}
	if (t.lowerRepeat != nil && *t.lowerRepeat != 0) || (t.lowerRepeat == nil && !node) {
		in.timing.lowerRepeat = &zero
	}
	if t.lowerDelay != nil && *t.lowerDelay != 0 {
		in.timing.lowerDelay = &zeroD // no announcement, so no second burst of it
	}
}
