package convert

import (
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"
)

// instance is a vrrp_instance as read, before it is rendered.
type instance struct {
	name      string
	line, end int
	notes     []string

	iface     string
	vrid      string // as written; rendered as a number when it is one
	vridLine  int
	prio      int
	prioSet   bool
	prioLine  int
	state     string
	stateLine int

	version     int // 0: not set here
	versionLine int
	advert      time.Duration // 0: not set
	advertLine  int

	authType, authPass string
	authLine           int

	vips      []string // "addr/len"
	vipFamily int      // 4 or 6; 0: none yet
	vipLine   int
	addrOpts  []*addrLine // virtual_ipaddress lines with options (routes.go)
	excluded  []*addrLine // virtual_ipaddress_excluded
	routeOut  []kv        // virtual_route and virtual_rule blocks
	mcastSrc  string
	mcastLine int

	unicastSrc string
	peers      []string
	peerTTL    map[string][2]int // min_ttl, max_ttl given on a unicast_peer line
	unicastTTL int               // 0: not set

	hmac *hmacConf
	vmac *vmacConf // use_vmac, vmac_xmit_base

	strict strictConf // accept, no_accept, strict_mode (strict.go)

	nopreempt    bool
	preemptDelay *time.Duration

	garp     garpSettings
	garpLine int

	tracks      []*trackRef
	ifaceTracks []*ifaceTrack // track_interface
	notifies    []*notifyRef
	smtpAlert   *bool

	group *group

	fileRefs []*trackFileRef // track_file { } entries (trackfile.go)
	timing   timingSettings

	// Filled in by finishInstance.
	version2 bool
	out      []kv     // rendered attributes in order
	trackOut []kv     // rendered track lines (blocks or TODO comments)
	notify   []string // action names
}

// trackRef is one entry of track_script or track_process.
type trackRef struct {
	name    string
	line    int
	weight  *int
	reverse *bool
	proc    bool   // track_process
	via     string // "vrrp_sync_group G1" when inherited from a group
}

// Why vrrp_instance keywords are not converted, where there is more to say
// than "no equivalent".
// instanceBuiltIn are keywords that ask for what hawatch always does: the
// meaning carries over with nothing to write, so a note, no warning.
var instanceBuiltIn = map[string]string{
	"check_unicast_src":   "hawatch always accepts unicast adverts only from the listed peers",
	"native_ipv6":         "an instance is IPv6 when its VIPs are (keepalived deprecated the keyword)",
	"promote_secondaries": "hawatch turns promote_secondaries on for the interface while it runs (and restores it on stop)",
}

var instanceDropped = map[string]string{
	"use_vmac_addr":              "hawatch puts every VIP on the instance's own macvlan (vmac block); per-VIP interfaces are not supported",
	"mcast_dst_ip":               "hawatch always uses the standard VRRP groups 224.0.0.18 / ff02::12",
	"track_src_ip":               "not supported",
	"unicast_fault_no_peer":      "hawatch never falls back to multicast: unicast_peers decides",
	"old_unicast_checksum":       "hawatch sends the RFC 5798 checksum and accepts both forms",
	"skip_check_adv_addr":        "not supported",
	"garp_master_refresh_repeat": "not configurable in hawatch",
	"garp_extra_if":              "not supported",
	"garp_extra_if_vmac":         "not supported",
	"track_bfd":                  "no BFD in hawatch",
	"notify_deleted":             "hawatch does not report DELETED",
	"notify_master_rx_lower_pri": "hawatch resolves a second master itself (see the splitbrain plugin)",
	"notify_priority_changes":    "priority changes are in `hawatch events` and the metrics",
	"notify_fifo":                "use `hawatch events` (JSON lines) or a notify action",
	"kernel_rx_buf_size":         "not supported",
	"debug":                      "use node.log_level",
	"vrf":                        "not supported",
	"lvs_sync_daemon_interface":  "LVS/IPVS is not part of hawatch",
}

func (c *converter) instance(s *stmt) {
	args := s.Args()
	if len(args) != 1 {
		c.warn(&c.dropped, s.Line, "vrrp_instance needs exactly one name; block skipped")
		return
	}
	name := args[0]
	if _, dup := c.instByName[name]; dup {
		c.warn(&c.dropped, s.Line, "vrrp_instance %s defined twice; the second one is skipped", name)
		return
	}
	in := &instance{name: name, line: s.Line, end: s.EndLine, prio: keepalivedPriority}
	c.instByName[name] = in
	c.insts = append(c.insts, in)
	if !s.Block {
		c.warn(&in.notes, s.Line, "vrrp_instance %s has no { } block", name)
	}
	notes := &in.notes
	for _, e := range s.Children {
		if c.special(notes, e) || c.linkKeyword(notes, in, nil, e) {
			continue
		}
		eargs := e.Args()
		switch kw := e.Keyword(); kw {
		case "interface":
			if v, ok := c.oneArg(notes, e); ok {
				in.iface = v
			}
		case "virtual_router_id":
			if v, ok := c.oneArg(notes, e); ok {
				in.vrid, in.vridLine = v, e.Line
			}
		case "priority":
			if n, ok := c.integer(notes, e); ok {
				in.prio, in.prioSet, in.prioLine = n, true, e.Line
			}
		case "state":
			if v, ok := c.oneArg(notes, e); ok {
				in.state, in.stateLine = strings.ToUpper(v), e.Line
			}
		case "version":
			if n, ok := c.integer(notes, e); ok {
				if n != 2 && n != 3 {
					c.warn(notes, e.Line, "version %d is not 2 or 3; ignored", n)
					continue
				}
				in.version, in.versionLine = n, e.Line
			}
		case "advert_int":
			if d, ok := c.seconds(notes, e); ok {
				in.advert, in.advertLine = d, e.Line
			}
		case "authentication":
			c.authentication(in, e)
		case "virtual_ipaddress":
			for _, a := range e.Children {
				c.vip(in, a)
			}
			if len(eargs) > 0 {
				c.vip(in, &stmt{Words: e.Words[1:], Line: e.Line})
			}
		case "virtual_ipaddress_excluded":
			for _, a := range e.Children {
				if l := c.parseAddrLine(notes, a.Line, a.Args0(), false); l != nil {
					l.excluded = true
					in.excluded = append(in.excluded, l)
				}
			}
		case "virtual_routes", "virtual_rules":
			c.instanceRoutes(in, e)
		case "mcast_src_ip":
			if v, ok := c.oneArg(notes, e); ok {
				in.mcastSrc, in.mcastLine = stripZone(c, notes, e.Line, v), e.Line
			}
		case "unicast_src_ip":
			if v, ok := c.oneArg(notes, e); ok {
				in.unicastSrc = stripZone(c, notes, e.Line, v)
			}
		case "unicast_peer":
			for _, a := range e.Children {
				c.peer(in, a)
			}
		case "unicast_ttl":
			if n, ok := c.integer(notes, e); ok {
				if n < 1 || n > 255 {
					c.warn(notes, e.Line, "unicast_ttl %d is outside 1..255; dropped", n)
					continue
				}
				in.unicastTTL = n
			}
		case "auth_hmac":
			in.hmac = c.authHMAC(notes, e)
		case "accept", "no_accept", "strict_mode":
			c.strictKeyword(in, e)
		case "use_vmac", "vmac_xmit_base", "use_ipvlan":
			c.vmacStmt(in, e)
		case "nopreempt", "no_preempt":
			in.nopreempt = true
		case "preempt":
			in.nopreempt = false
		case "preempt_delay":
			if d, ok := c.seconds(notes, e); ok {
				in.preemptDelay = &d
			}
		case "garp_master_delay":
			if d, ok := c.seconds(notes, e); ok {
				in.garp.delay, in.garpLine = &d, e.Line
			}
		case "garp_master_repeat":
			if n, ok := c.integer(notes, e); ok {
				in.garp.repeat, in.garpLine = &n, e.Line
			}
		case "garp_master_refresh":
			if d, ok := c.seconds(notes, e); ok {
				in.garp.refresh, in.garpLine = &d, e.Line
			}
		case "track_script", "track_process":
			for _, a := range e.Children {
				if t := c.trackEntry(notes, a, kw == "track_process", ""); t != nil {
					in.tracks = append(in.tracks, t)
				}
			}
		case "notify", "notify_master", "notify_backup", "notify_fault", "notify_stop":
			if n := c.notifyEntry(notes, e); n != nil {
				in.notifies = append(in.notifies, n)
			}
		case "smtp_alert":
			b, ok := parseBool(eargs)
			if !ok {
				c.warn(notes, e.Line, "smtp_alert %q is not a boolean; ignored", eargs[0])
				continue
			}
			in.smtpAlert = &b
		default:
			if c.instanceExtra(in, e) {
				continue
			}
			if how, ok := instanceBuiltIn[kw]; ok {
				note(notes, e.Line, "%s: %s", kw, how)
				continue
			}
			c.dropStmt(notes, e, instanceDropped[kw])
		}
	}
}

// authentication reads `authentication { auth_type PASS; auth_pass X }`.
func (c *converter) authentication(in *instance, e *stmt) {
	in.authLine = e.Line
	for _, a := range e.Children {
		if c.special(&in.notes, a) {
			continue
		}
		switch a.Keyword() {
		case "auth_type":
			if v, ok := c.oneArg(&in.notes, a); ok {
				in.authType = strings.ToUpper(v)
			}
		case "auth_pass":
			// The password may contain blanks only when quoted, which
			// keeps it one word; oneArg warns about anything else.
			if v, ok := c.oneArg(&in.notes, a); ok {
				in.authPass = v
			}
		default:
			c.dropStmt(&in.notes, a, "")
		}
	}
}

// vip reads one virtual_ipaddress line: addresses and their options.
func (c *converter) vip(in *instance, e *stmt) {
	a := c.parseAddrLine(&in.notes, e.Line, e.Args0(), false)
	if a == nil {
		return
	}
	if a.dev != "" || len(a.attrs) > 0 {
		// Judged once the instance's interface is known.
		in.addrOpts = append(in.addrOpts, a)
	}
	for _, s := range a.addrs {
		c.addVIP(in, e.Line, s)
	}
}

func looksLikeAddr(s string) bool {
	a, _, _ := strings.Cut(s, "/")
	_, err := netip.ParseAddr(a)
	return err == nil
}

func (c *converter) addVIP(in *instance, line int, s string) {
	notes := &in.notes
	var p netip.Prefix
	if strings.Contains(s, "/") {
		addr, bits, _ := strings.Cut(s, "/")
		var err error
		p, err = netip.ParsePrefix(stripZone(c, notes, line, addr) + "/" + bits)
		if err != nil {
			c.warn(notes, line, "virtual IP %q is not an address with a prefix length; skipped", s)
			return
		}
	} else {
		a, err := netip.ParseAddr(stripZone(c, notes, line, s))
		if err != nil {
			c.warn(notes, line, "virtual IP %q is not an IP address; skipped", s)
			return
		}
		// keepalived adds a bare address as a host route, and so does
		// hawatch; the /32 only makes it visible.
		p = netip.PrefixFrom(a, a.BitLen())
	}
	fam := 4
	if p.Addr().Is6() && !p.Addr().Is4In6() {
		fam = 6
	}
	if in.vipFamily == 0 {
		in.vipFamily, in.vipLine = fam, line
	} else if fam != in.vipFamily {
		c.warn(notes, line, "virtual IP %s is IPv%d but the instance's first VIP is IPv%d; skipped (make a second vrrp_instance for it)",
			p, fam, in.vipFamily)
		return
	}
	for _, have := range in.vips {
		if hp, err := netip.ParsePrefix(have); err == nil && hp.Addr() == p.Addr() {
			c.warn(notes, line, "virtual IP %s is listed twice; kept once", p.Addr())
			return
		}
	}
	in.vips = append(in.vips, p.String())
}

// stripZone drops an IPv6 zone (fe80::1%eth0): the instance's interface
// is the zone.
func stripZone(c *converter, notes *[]string, line int, s string) string {
	if a, z, ok := strings.Cut(s, "%"); ok {
		c.warn(notes, line, "zone %%%s dropped from %s: the instance's interface is implied", z, a)
		return a
	}
	return s
}

// peer reads one unicast_peer line: an address, optionally with min_ttl
// and max_ttl (keepalived 2.2+).
func (c *converter) peer(in *instance, e *stmt) {
	words := e.Args0()
	var addr string
	ttl := [2]int{0, 255}
	bounded := false
	for i := 0; i < len(words); i++ {
		w := words[i]
		switch {
		case (w == "min_ttl" || w == "max_ttl") && i+1 < len(words):
			n, ok := parseInt(words[i+1])
			if !ok || n < 0 || n > 255 {
				c.warn(&in.notes, e.Line, "unicast_peer %s %q is not 0..255; dropped", w, words[i+1])
			} else if w == "min_ttl" {
				ttl[0], bounded = n, true
			} else {
				ttl[1], bounded = n, true
			}
			i++
		case addr == "" && looksLikeAddr(w) && !strings.Contains(w, "/"):
			addr = stripZone(c, &in.notes, e.Line, w)
			in.peers = append(in.peers, addr)
		default:
			c.warn(&in.notes, e.Line, "unicast_peer entry %q is not an IP address; skipped", w)
		}
	}
	if addr != "" && bounded {
		if in.peerTTL == nil {
			in.peerTTL = map[string][2]int{}
		}
		in.peerTTL[addr] = ttl
	}
}

// trackEntry reads `NAME [weight W [reverse|noreverse]]`.
func (c *converter) trackEntry(notes *[]string, e *stmt, proc bool, via string) *trackRef {
	words := e.Args0()
	if len(words) == 0 || c.special(notes, e) {
		return nil
	}
	t := &trackRef{name: words[0], line: e.Line, proc: proc, via: via}
	rest := words[1:]
	if len(rest) >= 2 && rest[0] == "weight" {
		n, ok := parseInt(rest[1])
		if !ok {
			c.warn(notes, e.Line, "track %s: weight %q is not a whole number; the script's own weight is used", t.name, rest[1])
		} else {
			t.weight = &n
		}
		rest = rest[2:]
	}
	if len(rest) >= 1 {
		switch rest[0] {
		case "reverse":
			r := true
			t.reverse, rest = &r, rest[1:]
		case "noreverse", "no_reverse":
			r := false
			t.reverse, rest = &r, rest[1:]
		}
	}
	if len(rest) > 0 {
		c.warn(notes, e.Line, "track %s: %q not understood; ignored", t.name, strings.Join(rest, " "))
	}
	return t
}

// finishInstance settles the values that depend on other blocks and on
// global_defs, and renders the instance's attributes.
func (c *converter) finishInstance(in *instance) {
	notes := &in.notes
	g := &c.global

	if in.state != "" {
		switch in.state {
		case "MASTER", "BACKUP":
			note(notes, in.stateLine, "keepalived `state %s` is not carried over: hawatch has no initial state and "+
				"elects by priority alone (the highest priority is MASTER while healthy).", in.state)
		default:
			c.warn(notes, in.stateLine, "state %q is neither MASTER nor BACKUP; ignored", in.state)
		}
	}
	if in.iface == "" {
		c.warn(notes, in.line, "vrrp_instance %s has no interface; hawatch needs one (fill in interface)", in.name)
		in.out = append(in.out, kv{comment: `TODO interface = "eth0"`})
	} else {
		in.out = append(in.out, kv{k: "interface", v: quote(in.iface)})
	}

	switch n, ok := parseInt(in.vrid); {
	case in.vrid == "":
		c.warn(notes, in.line, "vrrp_instance %s has no virtual_router_id; hawatch needs one", in.name)
		in.out = append(in.out, kv{comment: "TODO virtual_router_id = 51"})
	case !ok:
		c.warn(notes, in.vridLine, "virtual_router_id %q is not a number", in.vrid)
		in.out = append(in.out, kv{comment: "TODO virtual_router_id = " + cleanComment(in.vrid)})
	default:
		if n < 1 || n > 255 {
			c.warn(notes, in.vridLine, "virtual_router_id %d is outside 1..255", n)
		}
		in.out = append(in.out, kv{k: "virtual_router_id", v: fmt.Sprint(n)})
	}

	prioNote := ""
	if !in.prioSet {
		prioNote = "keepalived's default"
	}
	if in.prio < 1 || in.prio > 255 {
		c.warn(notes, in.prioLine, "priority %d is outside 1..255", in.prio)
	}
	in.out = append(in.out, kv{k: "priority", v: fmt.Sprint(in.prio), note: prioNote})
	if in.prio == ownerPriority {
		// keepalived treats priority 255 as the address owner whatever
		// the state says; hawatch wants it spelled out.
		if in.state != "MASTER" {
			c.warn(notes, in.prioLine, "priority 255 makes this node the address owner (keepalived starts it as MASTER whatever its state)")
		}
		in.out = append(in.out, kv{k: "address_owner", v: "true", note: "priority 255: the VIPs are this node's own addresses"})
	}

	version, vnote := in.version, ""
	switch {
	case version != 0:
	case g.version != 0:
		version, vnote = g.version, "global_defs vrrp_version"
	default:
		version, vnote = keepalivedVersion, "keepalived's default; hawatch's is 3"
	}
	if in.vipFamily == 6 && version == 2 {
		if in.version == 2 || g.version == 2 {
			c.warn(notes, in.vipLine, "VRRPv2 carries IPv4 only; this IPv6 instance uses version 3, as keepalived does")
		}
		version, vnote = 3, "IPv6 needs VRRPv3"
	}
	in.version2 = version == 2
	in.out = append(in.out, kv{k: "version", v: fmt.Sprint(version), note: vnote})

	in.out = append(in.out, kv{k: "advert_interval", v: dur(c.advert(in))})

	c.strictInstance(in)
	c.auth(in)

	if len(in.vips) == 0 {
		c.warn(notes, in.line, "vrrp_instance %s has no virtual IPs; hawatch needs at least one", in.name)
		in.out = append(in.out, kv{k: "virtual_ips", v: "[]", note: "TODO: no virtual_ipaddress in keepalived"})
	} else {
		in.out = append(in.out, kv{k: "virtual_ips", v: list(in.vips)})
	}
	in.out = append(in.out, c.finishAddresses(in)...)
	if in.unicastSrc != "" {
		in.out = append(in.out, kv{k: "unicast_source", v: quote(in.unicastSrc)})
	}
	var plain []string
	for _, p := range in.peers {
		if _, ok := in.peerTTL[p]; !ok {
			plain = append(plain, p)
		}
	}
	if len(plain) > 0 {
		in.out = append(in.out, kv{k: "unicast_peers", v: list(plain)})
	}
	for _, p := range in.peers {
		if ttl, ok := in.peerTTL[p]; ok {
			in.out = append(in.out, kv{k: "unicast_peer " + quote(p), sub: []kv{
				{k: "min_ttl", v: fmt.Sprint(ttl[0])}, {k: "max_ttl", v: fmt.Sprint(ttl[1])}}})
		}
	}
	if in.unicastTTL != 0 {
		in.out = append(in.out, kv{k: "unicast_ttl", v: fmt.Sprint(in.unicastTTL)})
	}
	in.out = append(in.out, c.mcastSource(in)...)

	if in.nopreempt {
		in.out = append(in.out, kv{k: "preempt", v: "false", note: "nopreempt"})
	}
	if in.preemptDelay != nil {
		in.out = append(in.out, kv{k: "preempt_delay", v: dur(*in.preemptDelay)})
	}

	if garp := c.garp(in); garp != nil {
		in.out = append(in.out, kv{k: "garp", sub: garp})
	}
	in.out = append(in.out, in.routeOut...)
	c.acceptOut(in)
	c.renderVMAC(in)

	c.renderTracks(in)
	c.finishExtras(in)
	c.renderIfaceTracks(in)
	c.instanceNotify(in)
}

// advert converts advert_int: whole seconds for VRRPv2, 10 ms steps for v3.
func (c *converter) advert(in *instance) time.Duration {
	d := in.advert
	if d == 0 {
		d = keepalivedAdvert
		if in.advertLine != 0 {
			c.warn(&in.notes, in.advertLine, "advert_int 0 is invalid; keepalived's default 1s is used")
		}
	}
	var r time.Duration
	if in.version2 {
		r = time.Duration(math.Round(d.Seconds())) * time.Second
		r = min(max(r, time.Second), 255*time.Second)
	} else {
		r = d.Round(10 * time.Millisecond)
		r = min(max(r, 10*time.Millisecond), 40950*time.Millisecond)
	}
	if r != d {
		how := "VRRPv3 advertises in 10ms steps from 10ms to 40.95s"
		if in.version2 {
			how = "VRRPv2 advertises in whole seconds from 1s to 255s"
		}
		c.warn(&in.notes, in.advertLine, "advert_int %s: %s; %s is used", d, how, r)
	}
	return r
}

func (c *converter) auth(in *instance) {
	notes := &in.notes
	if in.hmac != nil {
		if in.authLine != 0 {
			c.warn(notes, in.authLine, "authentication dropped: keepalived refuses it next to auth_hmac, and so does hawatch")
		}
		in.out = append(in.out, kv{k: "auth_hmac", sub: in.hmac.out})
		return
	}
	switch {
	case in.authLine == 0:
		return
	case !in.version2:
		c.warn(notes, in.authLine, "authentication dropped: VRRPv3 has none (keepalived ignores it for version 3 too)")
		return
	case in.authType == "AH":
		c.warn(notes, in.authLine, "auth_type AH is not supported by hawatch; authentication dropped, so a keepalived peer using AH will not accept hawatch's adverts")
		return
	case in.authType != "PASS" && in.authType != "":
		c.warn(notes, in.authLine, "auth_type %q is not PASS or AH; authentication dropped", in.authType)
		return
	case in.authPass == "":
		c.warn(notes, in.authLine, "authentication without auth_pass dropped")
		return
	}
	if in.authType == "" {
		c.warn(notes, in.authLine, "authentication has auth_pass but no auth_type; treated as PASS")
	}
	pass := in.authPass
	if len(pass) > maxAuthPass {
		// The wire carries 8 bytes; keepalived sends the first 8, so
		// that is what a keepalived peer expects.
		c.warn(notes, in.authLine, "auth_pass is longer than %d bytes; keepalived used only the first %d, and so does the policy", maxAuthPass, maxAuthPass)
		pass = pass[:maxAuthPass]
		for !isValidUTF8Prefix(pass) {
			pass = pass[:len(pass)-1]
		}
	}
	in.out = append(in.out, kv{k: "auth_pass", v: quote(pass), note: "authentication { auth_type PASS }"})
}

func isValidUTF8Prefix(s string) bool { return strings.ToValidUTF8(s, "") == s }

// garp merges global_defs and instance GARP settings into garp {}.
func (c *converter) garp(in *instance) []kv {
	g := c.global.garp.over(in.garp)
	if g.empty() {
		return nil
	}
	notes := &in.notes
	line := firstNonZero(in.garpLine, c.global.line)
	var out []kv
	if g.repeat != nil {
		n := *g.repeat
		if n < 1 || n > maxGARPRepeat {
			c.warn(notes, line, "garp_master_repeat %d is outside 1..%d; %d is used", n, maxGARPRepeat, min(max(n, 1), maxGARPRepeat))
			n = min(max(n, 1), maxGARPRepeat)
		}
		out = append(out, kv{k: "repeat", v: fmt.Sprint(n)})
	}
	if g.interval != nil {
		out = append(out, kv{k: "interval", v: dur(*g.interval)})
	}
	if g.delay != nil {
		out = append(out, kv{k: "delay", v: dur(*g.delay), note: zeroNote(*g.delay, "no second burst")})
	}
	if g.refresh != nil {
		r := *g.refresh
		if r > 0 && r < time.Second {
			c.warn(notes, line, "garp_master_refresh %s is below hawatch's 1s minimum; 1s is used", r)
			r = time.Second
		}
		out = append(out, kv{k: "refresh", v: dur(r), note: zeroNote(r, "off")})
	}
	return out
}

func zeroNote(d time.Duration, s string) string {
	if d == 0 {
		return s
	}
	return ""
}
