package convert

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Address options, routes and rules: virtual_ipaddress options,
// virtual_ipaddress_excluded, virtual_routes, virtual_rules, mcast_src_ip
// and the static_ipaddress / static_routes / static_rules blocks.

// addrLine is one address line of virtual_ipaddress, its _excluded form
// or static_ipaddress, as read.
type addrLine struct {
	line     int
	addrs    []string // as written; a line may carry several
	dev      string
	attrs    []kv // label, scope, broadcast, no_track
	excluded bool
}

// addrValued are address options that take a value; addrFlags take none.
var (
	addrValued = map[string]bool{"brd": true, "broadcast": true, "dev": true, "scope": true, "label": true,
		"peer": true, "preferred_lft": true, "metric": true, "track_group": true}
	addrFlags = map[string]bool{"home": true, "-nodad": true, "nodad": true, "mngtmpaddr": true, "noprefixroute": true,
		"autojoin": true, "use_vmac": true}
	addrScopes = map[string]bool{"global": true, "site": true, "link": true, "host": true, "nowhere": true}
)

// parseAddrLine reads an address line's words; what hawatch has no
// attribute for is warned about, the rest kept. static: no_track does not
// apply.
func (c *converter) parseAddrLine(notes *[]string, line int, words []string, static bool) *addrLine {
	a := &addrLine{line: line}
	if len(words) == 0 {
		return nil
	}
	a.addrs = []string{words[0]}
	for i := 1; i < len(words); i++ {
		w := words[i]
		val := ""
		if addrValued[w] {
			if i+1 >= len(words) {
				c.warn(notes, line, "%s: %s without a value ignored", words[0], w)
				break
			}
			val = words[i+1]
			i++
		}
		switch {
		case w == "dev" && !ifaceName(val):
			c.warn(notes, line, "%s: dev %q is not an interface name; the line is skipped", words[0], val)
			return nil
		case w == "dev":
			a.dev = val
		case w == "label":
			a.attrs = append(a.attrs, kv{k: "label", v: quote(val)})
		case w == "scope" && addrScopes[val]:
			a.attrs = append(a.attrs, kv{k: "scope", v: quote(val)})
		case w == "scope":
			c.warn(notes, line, "%s: scope %q is not one of global, site, link, host, nowhere; dropped", words[0], val)
		case w == "brd" || w == "broadcast":
			if b, err := netip.ParseAddr(val); err == nil && b.Is4() {
				a.attrs = append(a.attrs, kv{k: "broadcast", v: quote(val)})
			} else {
				c.warn(notes, line, "%s: broadcast %q is not an IPv4 address; dropped", words[0], val)
			}
		case w == "no_track" && !static:
			a.attrs = append(a.attrs, kv{k: "no_track", v: "true"})
		case val != "":
			c.warn(notes, line, "%s: option %q not converted (hawatch adds the address without it)", words[0], w+" "+val)
		case addrFlags[w]:
			c.warn(notes, line, "%s: option %q not converted (hawatch adds the address without it)", words[0], w)
		case looksLikeAddr(w):
			a.addrs = append(a.addrs, w)
		default:
			c.warn(notes, line, "%s: %q not understood; ignored", words[0], w)
		}
	}
	return a
}

// ifaceName reports whether s can name an interface (the kernel's and the
// loader's rules: at most 15 bytes, no slash, colon or blank).
func ifaceName(s string) bool {
	return s != "" && len(s) <= 15 && s != "." && s != ".." && !strings.ContainsAny(s, "/: \t\n")
}

// usable reports whether a can be a gateway, a source or an owned address
// (the loader refuses the unspecified address, multicast, IPv4-mapped IPv6
// and zones).
func usable(a netip.Addr) bool {
	return a.IsValid() && !a.IsUnspecified() && !a.IsMulticast() && !a.Is4In6() && a.Zone() == ""
}

// hostPrefix reads "addr[/len]" as keepalived does (a bare address is a
// host route); ok false when it is not an address.
func hostPrefix(s string) (netip.Prefix, bool) {
	if a, _, ok := strings.Cut(s, "%"); ok {
		s = a
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p, err == nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}

// labelFits drops a label that hawatch would refuse: IPv6 addresses carry
// none, and it must start with the interface's name.
func (c *converter) labelFits(notes *[]string, a *addrLine, p netip.Prefix, dev string) []kv {
	var out []kv
	for _, x := range a.attrs {
		if x.k == "label" {
			l, _ := strconv.Unquote(x.v)
			switch {
			case p.Addr().Is6():
				c.warn(notes, a.line, "%s: label %s dropped: IPv6 addresses carry no label", p, l)
				continue
			case dev != "" && (!strings.HasPrefix(l, dev) || len(l) > 15):
				c.warn(notes, a.line, "%s: label %s dropped: a label starts with the interface name (%s) and has at most 15 bytes", p, l, dev)
				continue
			}
		}
		out = append(out, x)
	}
	return out
}

// finishAddresses renders the options of the instance's addresses as
// virtual_ip blocks (the addresses stay in virtual_ips, in keepalived's
// advert order) and its excluded ones as excluded_ips or virtual_ip blocks
// with excluded = true.
func (c *converter) finishAddresses(in *instance) []kv {
	notes := &in.notes
	var blocks []kv
	opts := map[netip.Addr]*addrLine{}
	for _, o := range in.addrOpts {
		for _, s := range o.addrs {
			if p, ok := hostPrefix(s); ok {
				opts[p.Addr()] = o // a later line about the same address wins, as in keepalived
			}
		}
	}
	seen := map[netip.Addr]bool{}
	for _, s := range in.vips {
		p := netip.MustParsePrefix(s)
		seen[p.Addr()] = true
		o := opts[p.Addr()]
		if o == nil || ((o.dev == "" || o.dev == in.iface) && len(o.attrs) == 0) {
			continue
		}
		if b := c.addrBlock(in, o, p, false); len(b.sub) > 0 {
			blocks = append(blocks, b)
		}
	}

	var excl []string
	for _, o := range in.excluded {
		for _, s := range o.addrs {
			p, ok := hostPrefix(s)
			if !ok || !usable(p.Addr()) {
				c.warn(notes, o.line, "excluded address %q is not a unicast IP address; skipped", s)
				continue
			}
			if seen[p.Addr()] {
				c.warn(notes, o.line, "excluded address %s is already a virtual IP; kept once", p.Addr())
				continue
			}
			seen[p.Addr()] = true
			if o.dev == "" && len(o.attrs) == 0 {
				excl = append(excl, p.String())
			} else {
				blocks = append(blocks, c.addrBlock(in, o, p, true))
			}
		}
	}
	if len(excl) > 0 {
		blocks = append([]kv{{k: "excluded_ips", v: list(excl), note: "virtual_ipaddress_excluded: owned, not advertised"}}, blocks...)
	}
	return blocks
}

func (c *converter) addrBlock(in *instance, o *addrLine, p netip.Prefix, excluded bool) kv {
	dev := in.iface
	var sub []kv
	if o.dev != "" && o.dev != in.iface {
		dev = o.dev
		sub = append(sub, kv{k: "dev", v: quote(o.dev)})
	}
	sub = append(sub, c.labelFits(&in.notes, o, p, dev)...)
	for i, x := range sub {
		if x.k == "broadcast" && p.Addr().Is6() {
			c.warn(&in.notes, o.line, "%s: broadcast dropped: IPv4 only", p)
			sub = append(sub[:i], sub[i+1:]...)
			break
		}
	}
	if excluded {
		sub = append(sub, kv{k: "excluded", v: "true"})
	}
	if sub == nil {
		sub = []kv{}
	}
	return kv{k: "virtual_ip " + quote(p.String()), sub: sub}
}

// Route and rule options hawatch has no attribute for: those that take a
// value (skipped with it) and route types it does not install.
var (
	routeValued = map[string]bool{"tos": true, "dsfield": true, "mtu": true, "advmss": true, "rtt": true, "rttvar": true,
		"reordering": true, "window": true, "cwnd": true, "initcwnd": true, "initrwnd": true, "ssthresh": true, "realms": true,
		"rto_min": true, "hoplimit": true, "features": true, "quickack": true, "congctl": true, "pref": true, "expires": true,
		"fastopen_no_cookie": true, "vrf": true, "encap": true, "weight": true, "track_group": true, "as": true, "ttl-propagate": true}
	routeTypes      = map[string]bool{"unicast": true, "blackhole": true, "unreachable": true, "prohibit": true}
	otherRouteTypes = map[string]bool{"local": true, "broadcast": true, "anycast": true, "multicast": true, "throw": true, "nat": true}
	routeScopes     = map[string]string{"global": "global", "universe": "global", "site": "site", "link": "link", "host": "host"}
	ruleValued      = map[string]bool{"tos": true, "dsfield": true, "realms": true, "uidrange": true, "ipproto": true, "ip_proto": true,
		"sport": true, "dport": true, "suppress_prefixlength": true, "suppress_ifgroup": true, "protocol": true, "track_group": true}
	knownProtocols = map[string]bool{"redirect": true, "kernel": true, "boot": true, "static": true, "ra": true, "dhcp": true, "keepalived": true}
)

// routeTable reads a table given by number or by one of the kernel's
// names; main is the default and gives "".
func routeTable(s string) (string, bool) {
	switch s {
	case "main":
		return "", true
	case "local":
		return "255", true
	case "default":
		return "253", true
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return "", false
	}
	if n == 254 {
		return "", true
	}
	return strconv.FormatUint(n, 10), true
}

// networkOf reads a destination or selector prefix; a prefix with host bits
// set becomes its network, with a warning (ip(8) does the same silently).
func (c *converter) networkOf(notes *[]string, line int, what, s string) (netip.Prefix, bool) {
	if s == "default" {
		return netip.Prefix{}, true
	}
	p, ok := hostPrefix(s)
	if !ok || p.Addr().Is4In6() {
		c.warn(notes, line, "%s %q is not an address; the line is skipped", what, s)
		return p, false
	}
	if m := p.Masked(); m != p {
		c.warn(notes, line, "%s %s has host bits set; %s is used", what, p, m)
		p = m
	}
	return p, true
}

// route reads one virtual_routes / static_routes line into the body of a
// virtual_route / route block; nil when it is skipped.
func (c *converter) route(notes *[]string, e *stmt, static bool) []kv {
	words := e.Args0()
	var to, via, src, dev, scope, table, metric, proto, typ string
	var onlink, noTrack bool
	var ors []string // further gateways: "via A or B" is a multipath route
	var dest netip.Prefix
	destSet := false
	for i := 0; i < len(words); i++ {
		w := words[i]
		next := func() (string, bool) {
			if i+1 >= len(words) {
				c.warn(notes, e.Line, "route: %s without a value; the line is skipped", w)
				return "", false
			}
			i++
			if words[i] == "lock" && i+1 < len(words) {
				i++
			}
			return words[i], true
		}
		var ok bool
		switch {
		case w == "src":
			if src, ok = next(); !ok {
				return nil
			}
		case w == "to":
			if to, ok = next(); !ok {
				return nil
			}
		case w == "via" || w == "gw":
			if via, ok = next(); !ok {
				return nil
			}
			if via == "inet" || via == "inet6" {
				if via, ok = next(); !ok {
					return nil
				}
			}
		case w == "or":
			v, ok := next()
			if !ok {
				return nil
			}
			if v == via || slices.Contains(ors, v) {
				c.warn(notes, e.Line, "route: gateway %s given twice; kept once", v)
				continue
			}
			ors = append(ors, v)
		case w == "nexthop":
			c.warn(notes, e.Line, "route: nexthop lists (weights, a device per hop) are not supported; write it as \"via A or B\" with one dev; the line is skipped")
			return nil
		case w == "dev" || w == "oif":
			if dev, ok = next(); !ok {
				return nil
			}
			if !ifaceName(dev) {
				c.warn(notes, e.Line, "route: dev %q is not an interface name; the line is skipped", dev)
				return nil
			}
		case w == "scope":
			v, ok := next()
			if !ok {
				return nil
			}
			if scope = routeScopes[v]; scope == "" {
				c.warn(notes, e.Line, "route: scope %q dropped (hawatch knows global, site, link, host)", v)
			}
		case w == "table":
			v, ok := next()
			if !ok {
				return nil
			}
			if table, ok = routeTable(v); !ok {
				c.warn(notes, e.Line, "route: table %q is not a number (hawatch does not read rt_tables names); the line is skipped", v)
				return nil
			}
		case w == "metric" || w == "priority" || w == "preference":
			v, ok := next()
			if !ok {
				return nil
			}
			if _, err := strconv.ParseUint(v, 10, 32); err != nil {
				c.warn(notes, e.Line, "route: %s %q is not a number; dropped", w, v)
			} else {
				metric = v
			}
		case w == "proto" || w == "protocol":
			v, ok := next()
			if !ok {
				return nil
			}
			if n, err := strconv.ParseUint(v, 10, 8); err == nil || knownProtocols[v] {
				proto = v
				if err == nil {
					proto = strconv.FormatUint(n, 10)
				}
			} else {
				c.warn(notes, e.Line, "route: protocol %q is not a number or a name hawatch knows; dropped", v)
			}
		case w == "onlink":
			onlink = true
		case w == "no_track" && !static:
			noTrack = true
		case routeTypes[w]:
			typ = w
		case otherRouteTypes[w]:
			c.warn(notes, e.Line, "route: type %s not supported by hawatch; the line is skipped", w)
			return nil
		case routeValued[w]:
			v, ok := next()
			if !ok {
				return nil
			}
			c.warn(notes, e.Line, "route: option %q not converted (hawatch installs the route without it)", w+" "+v)
		case to == "" && (looksLikeAddr(w) || w == "default"):
			to = w
		default:
			c.warn(notes, e.Line, "route: %q not understood; ignored", w)
		}
	}
	if to == "" {
		c.warn(notes, e.Line, "route without a destination; skipped")
		return nil
	}
	var ok bool
	if dest, ok = c.networkOf(notes, e.Line, "route destination", to); !ok {
		return nil
	}
	destSet = dest.IsValid()
	gws := []struct{ what, v string }{{"gateway", via}, {"source", src}}
	for _, o := range ors {
		gws = append(gws, struct{ what, v string }{"gateway", o})
	}
	if len(ors) > 0 && via == "" {
		c.warn(notes, e.Line, "route %s: \"or\" without a first gateway (via); the line is skipped", to)
		return nil
	}
	if len(ors)+1 > 8 {
		c.warn(notes, e.Line, "route %s: more than 8 gateways; the line is skipped", to)
		return nil
	}
	for _, x := range gws {
		if x.v == "" {
			continue
		}
		a, err := netip.ParseAddr(x.v)
		if err != nil || !usable(a) || (destSet && a.Is4() != dest.Addr().Is4()) {
			c.warn(notes, e.Line, "route %s: %s %q is not an address of the destination's family; the line is skipped", to, x.what, x.v)
			return nil
		}
	}
	if typ == "" {
		typ = "unicast"
	}
	switch {
	case typ == "unicast" && via == "" && dev == "":
		c.warn(notes, e.Line, "route %s has neither a gateway nor a device; skipped", to)
		return nil
	case typ != "unicast" && (via != "" || dev != ""):
		c.warn(notes, e.Line, "route %s: %s routes have no gateway or device; those are dropped", to, typ)
		via, dev, ors = "", "", nil
	}
	if onlink && via == "" {
		c.warn(notes, e.Line, "route %s: onlink without a gateway dropped", to)
		onlink = false
	}
	out := []kv{}
	if destSet {
		out = append(out, kv{k: "to", v: quote(dest.String())})
	} else {
		out = append(out, kv{k: "to", v: quote("default")})
	}
	add := func(k, v string, q bool) {
		if v == "" {
			return
		}
		if q {
			v = quote(v)
		}
		out = append(out, kv{k: k, v: v})
	}
	if typ != "unicast" {
		add("type", typ, true)
	}
	if len(ors) > 0 {
		out = append(out, kv{k: "nexthops", v: list(append([]string{via}, ors...))})
		via = ""
	}
	add("via", via, true)
	add("src", src, true)
	add("dev", dev, true)
	add("scope", scope, true)
	add("table", table, false)
	add("metric", metric, false)
	add("protocol", proto, true)
	if onlink {
		add("onlink", "true", false)
	}
	if noTrack {
		add("no_track", "true", false)
	}
	return out
}

// rule reads one virtual_rules / static_rules line into the body of a
// virtual_rule / rule block; nil when it is skipped.
func (c *converter) rule(notes *[]string, e *stmt, static bool) []kv {
	words := e.Args0()
	var out []kv
	var table, prio, iif, oif, mark string
	var from, to netip.Prefix
	v6, noTrack := false, false
	for i := 0; i < len(words); i++ {
		w := words[i]
		next := func() (string, bool) {
			if i+1 >= len(words) {
				c.warn(notes, e.Line, "rule: %s without a value; the line is skipped", w)
				return "", false
			}
			i++
			return words[i], true
		}
		var v string
		var ok bool
		switch w {
		case "from", "to":
			if v, ok = next(); !ok {
				return nil
			}
			if v == "all" {
				continue
			}
			p, ok := c.networkOf(notes, e.Line, "rule "+w, v)
			if !ok || !p.IsValid() {
				return nil
			}
			if w == "from" {
				from = p
			} else {
				to = p
			}
		case "table", "lookup":
			if v, ok = next(); !ok {
				return nil
			}
			t, ok := routeTable(v)
			if !ok {
				c.warn(notes, e.Line, "rule: table %q is not a number (hawatch does not read rt_tables names); the line is skipped", v)
				return nil
			}
			if t == "" {
				t = "254"
			}
			table = t
		case "priority", "preference", "prio", "order":
			if v, ok = next(); !ok {
				return nil
			}
			if n, err := strconv.ParseUint(v, 10, 32); err != nil || n == 0 {
				c.warn(notes, e.Line, "rule: %s %q is not a number from 1; dropped", w, v)
			} else {
				prio = v
			}
		case "iif", "dev", "oif":
			if v, ok = next(); !ok {
				return nil
			}
			if !ifaceName(v) {
				c.warn(notes, e.Line, "rule: %s %q is not an interface name; the line is skipped", w, v)
				return nil
			}
			if w == "oif" {
				oif = v
			} else {
				iif = v
			}
		case "fwmark":
			if mark, ok = next(); !ok {
				return nil
			}
			m, k, masked := strings.Cut(mark, "/")
			_, err := strconv.ParseUint(m, 0, 32)
			if masked && err == nil {
				var n uint64
				if n, err = strconv.ParseUint(k, 0, 32); err == nil && n == 0 {
					err = strconv.ErrRange
				}
			}
			if err != nil {
				c.warn(notes, e.Line, "rule: fwmark %q is not a mark such as 0x10 or 0x10/0xff; the line is skipped", mark)
				return nil
			}
		case "no_track":
			if !static {
				noTrack = true
			}
		case "inet6":
			v6 = true
		case "inet":
		case "not", "goto", "nop", "blackhole", "unreachable", "prohibit", "l3mdev":
			c.warn(notes, e.Line, "rule: %q not supported by hawatch; the line is skipped", w)
			return nil
		default:
			if ruleValued[w] {
				if v, ok = next(); !ok {
					return nil
				}
				c.warn(notes, e.Line, "rule: option %q not converted (hawatch installs the rule without it)", w+" "+v)
				continue
			}
			c.warn(notes, e.Line, "rule: %q not understood; ignored", w)
		}
	}
	if table == "" {
		c.warn(notes, e.Line, "rule without a table; skipped")
		return nil
	}
	fam := 0
	for _, p := range []netip.Prefix{from, to} {
		if !p.IsValid() {
			continue
		}
		f := 4
		if p.Addr().Is6() {
			f = 6
		}
		if fam != 0 && f != fam {
			c.warn(notes, e.Line, "rule: from and to of different families; skipped")
			return nil
		}
		fam = f
	}
	if fam == 0 && v6 {
		out = append(out, kv{k: "family", v: "6"})
	}
	if from.IsValid() {
		out = append(out, kv{k: "from", v: quote(from.String())})
	}
	if to.IsValid() {
		out = append(out, kv{k: "to", v: quote(to.String())})
	}
	out = append(out, kv{k: "table", v: table})
	for _, x := range []struct{ k, v string }{{"priority", prio}, {"iif", iif}, {"oif", oif}, {"fwmark", mark}} {
		if x.v == "" {
			continue
		}
		if x.k == "priority" {
			out = append(out, kv{k: x.k, v: x.v})
		} else {
			out = append(out, kv{k: x.k, v: quote(x.v)})
		}
	}
	if noTrack {
		out = append(out, kv{k: "no_track", v: "true"})
	}
	return out
}

// instanceRoutes reads a virtual_routes or virtual_rules block.
func (c *converter) instanceRoutes(in *instance, e *stmt) {
	for _, a := range e.Children {
		if c.special(&in.notes, a) {
			continue
		}
		if e.Keyword() == "virtual_routes" {
			if body := c.route(&in.notes, a, false); body != nil {
				in.routeOut = append(in.routeOut, kv{k: "virtual_route", sub: body})
			}
		} else if body := c.rule(&in.notes, a, false); body != nil {
			in.routeOut = append(in.routeOut, kv{k: "virtual_rule", sub: body})
		}
	}
}

// mcastSource settles mcast_src_ip: keepalived keeps one source address
// for both modes, so on a unicast instance it is the unicast source.
func (c *converter) mcastSource(in *instance) []kv {
	if in.mcastSrc == "" {
		return nil
	}
	switch {
	case len(in.peers) == 0:
		return []kv{{k: "mcast_source", v: quote(in.mcastSrc), note: "mcast_src_ip"}}
	case in.unicastSrc == "":
		return []kv{{k: "unicast_source", v: quote(in.mcastSrc), note: "mcast_src_ip: keepalived sends unicast adverts from it too"}}
	}
	note(&in.notes, in.mcastLine, "mcast_src_ip %s is not used: this instance sends unicast adverts, from unicast_src_ip %s (as keepalived does).", in.mcastSrc, in.unicastSrc)
	return nil
}

// staticBlock reads static_ipaddress, static_routes or static_rules.
func (c *converter) staticBlock(s *stmt) {
	notes := &c.staticNotes
	for _, e := range s.Children {
		if c.special(notes, e) {
			continue
		}
		switch s.Keyword() {
		case "static_ipaddress":
			a := c.parseAddrLine(notes, e.Line, e.Args0(), true)
			if a == nil {
				continue
			}
			for _, w := range a.addrs {
				p, ok := hostPrefix(w)
				switch {
				case !ok || !usable(p.Addr()):
					c.warn(notes, e.Line, "static address %q is not a unicast IP address; skipped", w)
				case a.dev == "":
					c.warn(notes, e.Line, "static address %s has no dev; hawatch needs the interface, so it is skipped", p)
				default:
					sub := append([]kv{{k: "dev", v: quote(a.dev)}}, c.labelFits(notes, a, p, a.dev)...)
					c.static = append(c.static, kv{k: "address " + quote(p.String()), sub: sub})
				}
			}
		case "static_routes":
			if body := c.route(notes, e, true); body != nil {
				c.static = append(c.static, kv{k: "route", sub: body})
			}
		default:
			if body := c.rule(notes, e, true); body != nil {
				c.static = append(c.static, kv{k: "rule", sub: body})
			}
		}
	}
	if c.staticLine == 0 {
		c.staticLine = s.Line
	}
}

func (c *converter) emitStatic(o *hclOut) {
	if len(c.static) == 0 && len(c.staticNotes) == 0 {
		return
	}
	o.comment(fmt.Sprintf("static_ipaddress, static_routes, static_rules (from line %d): installed at start, kept whatever the VRRP state.", c.staticLine))
	o.open("static")
	notesComment(o, c.staticNotes)
	writeKVs(o, c.static)
	o.close()
	o.blank()
}
