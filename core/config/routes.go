package config

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Address is a virtual_ip block, an excluded_ips entry, or a static
// address: an address this node puts on an interface, with its options.
type Address struct {
	Prefix netip.Prefix
	// Dev is the interface the address goes on; empty: the instance's.
	Dev string
	// Label is the IPv4 address label; empty: the instance's default
	// ("<dev>:vip" when it fits).
	Label string
	// Scope is one of AddressScopes; empty: global.
	Scope string
	// Broadcast is the IPv4 broadcast address; zero: the kernel's.
	Broadcast netip.Addr
	// NoTrack: the address's interface (Dev) going down does not fault
	// the instance.
	NoTrack bool
	// Excluded: owned while master but not listed in the adverts
	// (keepalived's virtual_ipaddress_excluded); it may be of the other
	// family.
	Excluded bool
	DefRange hcl.Range
}

// Route is a virtual_route block (installed while master) or a static
// route (installed for as long as the daemon runs).
type Route struct {
	To  netip.Prefix
	Via netip.Addr // gateway; zero: none
	// Nexthops are the gateways of a multipath route (2 to
	// MaxNexthops); Via is then zero.
	Nexthops []netip.Addr
	Src      netip.Addr // preferred source; zero: none
	Dev      string
	Metric   int
	Table    int    // 0: main
	Scope    string // one of RouteScopes; filled in: "link" without a gateway, else "global"
	Type     string // one of RouteTypes; default "unicast"
	Protocol int    // 0..255; 0: the kernel's default (boot)
	OnLink   bool
	// NoTrack: the route's interface going down does not fault the
	// instance.
	NoTrack  bool
	DefRange hcl.Range
}

// Rule is a virtual_rule block or a static rule: a policy routing rule.
type Rule struct {
	Family   int          // 4 or 6
	From, To netip.Prefix // zero: any
	Table    int
	Priority int // 0: the kernel picks
	IIF, OIF string
	FWMark   uint32
	FWMask   uint32 // 0: the whole mark
	HasMark  bool
	NoTrack  bool
	DefRange hcl.Range
}

// Static is the `static {}` block: addresses, routes and rules installed
// when the daemon starts and kept whatever the VRRP state (keepalived's
// static_ipaddress, static_routes, static_rules).
type Static struct {
	Addresses []*Address
	Routes    []*Route
	Rules     []*Rule
	DefRange  hcl.Range
}

// MaxNexthops bounds a multipath route's gateways.
const MaxNexthops = 8

// Accepted values.
var (
	AddressScopes = []string{"global", "site", "link", "host", "nowhere"}
	RouteScopes   = []string{"global", "site", "link", "host"}
	RouteTypes    = []string{"unicast", "blackhole", "unreachable", "prohibit"}
	// routeProtocols are the names ip(8) knows for rtm_protocol numbers.
	routeProtocols = map[string]int{"redirect": 1, "kernel": 2, "boot": 3, "static": 4, "ra": 9, "dhcp": 16, "keepalived": 18}
)

// Owned is every address the instance puts on an interface while master,
// with its options: the advertised ones (VirtualIPs, options from a
// virtual_ip block where there is one) and then the excluded ones.
func (i *Instance) Owned() []*Address {
	var out []*Address
	for _, p := range i.VirtualIPs {
		a := &Address{Prefix: p}
		for _, o := range i.Addresses {
			if o.Prefix == p && !o.Excluded {
				a = o
			}
		}
		out = append(out, a)
	}
	for _, o := range i.Addresses {
		if o.Excluded {
			out = append(out, o)
		}
	}
	return out
}

type virtualIPBlock struct {
	Address   string         `hcl:"address,label"`
	Dev       *hcl.Attribute `hcl:"dev,attr"`
	Label     *hcl.Attribute `hcl:"label,attr"`
	Scope     *hcl.Attribute `hcl:"scope,attr"`
	Broadcast *hcl.Attribute `hcl:"broadcast,attr"`
	NoTrack   *hcl.Attribute `hcl:"no_track,attr"`
	Excluded  *hcl.Attribute `hcl:"excluded,attr"`
	DefRange  hcl.Range      `hcl:",def_range"`
}

type routeBlock struct {
	To       *hcl.Attribute `hcl:"to,attr"`
	Via      *hcl.Attribute `hcl:"via,attr"`
	Nexthops *hcl.Attribute `hcl:"nexthops,attr"`
	Src      *hcl.Attribute `hcl:"src,attr"`
	Dev      *hcl.Attribute `hcl:"dev,attr"`
	Metric   *hcl.Attribute `hcl:"metric,attr"`
	Table    *hcl.Attribute `hcl:"table,attr"`
	Scope    *hcl.Attribute `hcl:"scope,attr"`
	Type     *hcl.Attribute `hcl:"type,attr"`
	Protocol *hcl.Attribute `hcl:"protocol,attr"`
	OnLink   *hcl.Attribute `hcl:"onlink,attr"`
	NoTrack  *hcl.Attribute `hcl:"no_track,attr"`
	DefRange hcl.Range      `hcl:",def_range"`
}

type ruleBlock struct {
	Family   *hcl.Attribute `hcl:"family,attr"`
	From     *hcl.Attribute `hcl:"from,attr"`
	To       *hcl.Attribute `hcl:"to,attr"`
	Table    *hcl.Attribute `hcl:"table,attr"`
	Priority *hcl.Attribute `hcl:"priority,attr"`
	IIF      *hcl.Attribute `hcl:"iif,attr"`
	OIF      *hcl.Attribute `hcl:"oif,attr"`
	FWMark   *hcl.Attribute `hcl:"fwmark,attr"`
	NoTrack  *hcl.Attribute `hcl:"no_track,attr"`
	DefRange hcl.Range      `hcl:",def_range"`
}

type staticBlock struct {
	Addresses []*virtualIPBlock `hcl:"address,block"`
	Routes    []*routeBlock     `hcl:"route,block"`
	Rules     []*ruleBlock      `hcl:"rule,block"`
	DefRange  hcl.Range         `hcl:",def_range"`
}

// addressOptions decodes the options of one virtual_ip or static address
// block; iface is the interface the address goes on when dev is not given
// ("" for a static address, where dev is required).
func (b *builder) addressOptions(v *virtualIPBlock, iface string, static bool) (*Address, bool) {
	a := &Address{DefRange: v.DefRange}
	p, err := parseVIP(v.Address)
	if err != nil {
		b.errorf(v.DefRange, "Invalid address", "%q %v.", v.Address, err)
		return nil, false
	}
	a.Prefix = p
	ok := true
	if b.nonEmpty(v.Dev, &a.Dev) {
		if err := checkInterfaceName(a.Dev); err != nil {
			b.errorf(v.Dev.Range, "Invalid value for dev", "%q %v.", a.Dev, err)
			ok = false
		} else {
			iface = a.Dev
		}
	} else if static {
		b.errorf(v.DefRange, "Missing required argument", "A static address needs dev = \"IFNAME\": the interface it goes on.")
		ok = false
	}
	if b.string(v.Label, &a.Label) {
		switch {
		case !p.Addr().Is4():
			b.errorf(v.Label.Range, "label on an IPv6 address", "Only IPv4 addresses carry a label; remove it from %s.", p)
			ok = false
		case len(a.Label) > maxInterface || (iface != "" && !strings.HasPrefix(a.Label, iface)):
			b.errorf(v.Label.Range, "Invalid value for label",
				"%q must start with the interface name %q and be at most %d bytes (the kernel's limit).", a.Label, iface, maxInterface)
			ok = false
		}
	}
	b.oneOf(v.Scope, &a.Scope, AddressScopes...)
	var brd string
	if b.string(v.Broadcast, &brd) {
		if x, err := netip.ParseAddr(brd); err != nil || !x.Is4() || !p.Addr().Is4() {
			b.errorf(v.Broadcast.Range, "Invalid value for broadcast", "%q: broadcast is an IPv4 address, for an IPv4 address.", brd)
			ok = false
		} else {
			a.Broadcast = x
		}
	}
	if static {
		for _, x := range []*hcl.Attribute{v.NoTrack, v.Excluded} {
			if x != nil {
				b.errorf(x.Range, "Unsupported argument", "%s applies to a vrrp_instance's virtual_ip, not to a static address.", x.Name)
				ok = false
			}
		}
	} else {
		b.bool(v.NoTrack, &a.NoTrack)
		b.bool(v.Excluded, &a.Excluded)
	}
	return a, ok
}

// virtualIPBlocks reads the instance's virtual_ip blocks and excluded_ips;
// seen holds the addresses of virtual_ips already read.
func (b *builder) virtualIPBlocks(r *instanceBlock, info *instanceInfo, versionOK bool, seen map[netip.Addr]bool) {
	inst := info.inst
	listed := slices.Clone(inst.VirtualIPs)
	blocked := map[netip.Addr]bool{}
	for _, v := range r.VirtualIP {
		a, ok := b.addressOptions(v, inst.Interface, false)
		if !ok {
			continue
		}
		// A block for an address of virtual_ips gives that address its
		// options; it keeps its place in the adverts.
		if i := slices.IndexFunc(listed, func(p netip.Prefix) bool { return p.Addr() == a.Prefix.Addr() }); i >= 0 && !blocked[a.Prefix.Addr()] {
			switch {
			case listed[i] != a.Prefix:
				b.errorf(v.DefRange, "virtual_ip differs from virtual_ips", "virtual_ips has %s; write the block's address the same way to give it options.", listed[i])
			case a.Excluded:
				b.errorf(v.Excluded.Range, "Excluded address in virtual_ips", "%s is advertised (it is in virtual_ips); remove it there to exclude it.", a.Prefix)
			default:
				blocked[a.Prefix.Addr()] = true
				inst.Addresses = append(inst.Addresses, a)
			}
			continue
		}
		if seen[a.Prefix.Addr()] {
			b.errorf(v.DefRange, "Duplicate virtual IP", "%s is listed twice.", a.Prefix.Addr())
			continue
		}
		if !a.Excluded {
			fam := family(a.Prefix.Addr())
			switch {
			case info.family == 0:
				info.family = fam
				if fam == 6 && versionOK && inst.Version == 2 {
					b.errorf(v.DefRange, "IPv6 virtual IP needs VRRP version 3", "VRRPv2 carries IPv4 only; set version = 3 (the default) for %s.", a.Prefix)
					continue
				}
			case fam != info.family:
				b.errorf(v.DefRange, "Mixed address families in virtual IPs",
					"%s is IPv%d but this instance's virtual IPs are IPv%d; set excluded = true to own it without advertising it, or use a second instance.",
					a.Prefix, fam, info.family)
				continue
			}
			inst.VirtualIPs = append(inst.VirtualIPs, a.Prefix)
			info.vipRanges = append(info.vipRanges, v.DefRange)
		} else {
			info.excludedRanges = append(info.excludedRanges, v.DefRange)
		}
		seen[a.Prefix.Addr()] = true
		inst.Addresses = append(inst.Addresses, a)
	}
	items, _ := b.stringList(r.ExcludedIPs)
	for _, it := range items {
		p, err := parseVIP(it.Value)
		switch {
		case err != nil:
			b.errorf(it.Range, "Invalid excluded IP", "%q %v.", it.Value, err)
		case seen[p.Addr()]:
			b.errorf(it.Range, "Duplicate virtual IP", "%s is listed twice.", p.Addr())
		default:
			seen[p.Addr()] = true
			inst.Addresses = append(inst.Addresses, &Address{Prefix: p, Excluded: true, DefRange: it.Range})
			info.excludedRanges = append(info.excludedRanges, it.Range)
		}
	}
	if len(inst.VirtualIPs) == 0 && info.vipItems == 0 && len(r.VirtualIP) > 0 {
		b.errorf(r.DefRange, "No advertised virtual IP",
			"Every virtual_ip block of vrrp_instance %q is excluded; an advert needs at least one address, so list one in virtual_ips or a virtual_ip block without excluded.", inst.Name)
	}
}

// routes reads route blocks; fam is the family "default" means when the
// route itself does not say (the instance's; 4 for static routes).
func (b *builder) routes(blocks []*routeBlock, fam int) []*Route {
	var out []*Route
	for _, r := range blocks {
		if rt, ok := b.route(r, fam); ok {
			out = append(out, rt)
		}
	}
	return out
}

func (b *builder) route(r *routeBlock, fam int) (*Route, bool) {
	rt := &Route{Type: "unicast", DefRange: r.DefRange}
	ok := true
	addr := func(a *hcl.Attribute, dst *netip.Addr) {
		var s string
		if !b.string(a, &s) {
			return
		}
		x, err := parsePeer(s)
		if err != nil {
			b.errorf(a.Range, "Invalid value for "+a.Name, "%q %v.", s, err)
			ok = false
			return
		}
		*dst = x
	}
	addr(r.Via, &rt.Via)
	addr(r.Src, &rt.Src)
	if items, listed := b.stringList(r.Nexthops); listed {
		for _, it := range items {
			x, err := parsePeer(it.Value)
			switch {
			case err != nil:
				b.errorf(it.Range, "Invalid nexthop", "%q %v.", it.Value, err)
				ok = false
			case slices.Contains(rt.Nexthops, x):
				b.errorf(it.Range, "Duplicate nexthop", "%s is listed twice.", x)
				ok = false
			case len(rt.Nexthops) > 0 && family(x) != family(rt.Nexthops[0]):
				b.errorf(it.Range, "Mixed families in nexthops", "%s is IPv%d but %s is IPv%d.", x, family(x), rt.Nexthops[0], family(rt.Nexthops[0]))
				ok = false
			default:
				rt.Nexthops = append(rt.Nexthops, x)
			}
		}
		switch {
		case r.Via != nil:
			b.errorf(r.Nexthops.Range, "via and nexthops together", "A route goes through one gateway (via) or several (nexthops), not both.")
			ok = false
		case ok && (len(rt.Nexthops) < 2 || len(rt.Nexthops) > MaxNexthops):
			b.errorf(r.Nexthops.Range, "Invalid value for nexthops", "A multipath route has 2 to %d gateways, not %d; use via for one.", MaxNexthops, len(rt.Nexthops))
			ok = false
		}
	}
	switch {
	case rt.Via.IsValid():
		fam = family(rt.Via)
	case len(rt.Nexthops) > 0:
		fam = family(rt.Nexthops[0])
	case rt.Src.IsValid():
		fam = family(rt.Src)
	}
	b.require(r.To, "to", r.DefRange)
	var to string
	if b.string(r.To, &to) {
		p, err := parseDest(to, fam)
		if err != nil {
			b.errorf(r.To.Range, "Invalid value for to", "%q %v.", to, err)
			ok = false
		}
		rt.To = p
	}
	if rt.To.IsValid() && len(rt.Nexthops) > 0 && family(rt.Nexthops[0]) != family(rt.To.Addr()) {
		b.errorf(r.Nexthops.Range, "nexthops of the wrong family", "%s is IPv%d but the destination %s is IPv%d.",
			rt.Nexthops[0], family(rt.Nexthops[0]), rt.To, family(rt.To.Addr()))
		ok = false
	}
	if rt.To.IsValid() {
		for _, x := range []struct {
			a    *hcl.Attribute
			addr netip.Addr
		}{{r.Via, rt.Via}, {r.Src, rt.Src}} {
			if x.addr.IsValid() && family(x.addr) != family(rt.To.Addr()) {
				b.errorf(x.a.Range, x.a.Name+" of the wrong family", "%s is IPv%d but the destination %s is IPv%d.",
					x.addr, family(x.addr), rt.To, family(rt.To.Addr()))
				ok = false
			}
		}
	}
	if b.nonEmpty(r.Dev, &rt.Dev) {
		if err := checkInterfaceName(rt.Dev); err != nil {
			b.errorf(r.Dev.Range, "Invalid value for dev", "%q %v.", rt.Dev, err)
			ok = false
		}
	}
	b.intRange(r.Metric, &rt.Metric, 0, 1<<32-1)
	b.intRange(r.Table, &rt.Table, 1, 1<<32-1)
	b.oneOf(r.Type, &rt.Type, RouteTypes...)
	b.oneOf(r.Scope, &rt.Scope, RouteScopes...)
	b.bool(r.OnLink, &rt.OnLink)
	b.bool(r.NoTrack, &rt.NoTrack)
	var proto string
	if b.string(r.Protocol, &proto) {
		n, known := routeProtocols[proto]
		if !known {
			v, err := strconv.ParseUint(proto, 10, 8)
			if err != nil {
				b.errorf(r.Protocol.Range, "Invalid value for protocol", "%q is not a number 0-255 or one of redirect, kernel, boot, static, ra, dhcp, keepalived.", proto)
				ok = false
			}
			n = int(v)
		}
		rt.Protocol = n
	}
	switch {
	case rt.Type == "unicast" && !rt.Via.IsValid() && len(rt.Nexthops) == 0 && rt.Dev == "":
		b.errorf(r.DefRange, "Route needs via or dev", "A unicast route goes through a gateway (via) or out of an interface (dev).")
		ok = false
	case rt.Type != "unicast" && (r.Via != nil || r.Nexthops != nil || r.Dev != nil):
		b.errorf(r.DefRange, "via or dev on a "+rt.Type+" route", "%s routes drop the packets; they have no gateway or interface.", rt.Type)
		ok = false
	case rt.OnLink && !rt.Via.IsValid() && len(rt.Nexthops) == 0:
		b.errorf(r.OnLink.Range, "onlink without via", "onlink says the gateway is on the link; it needs via.")
		ok = false
	}
	if rt.Scope == "" {
		// ip(8)'s default: a route without a gateway reaches its
		// destination on the link.
		rt.Scope = "global"
		if rt.Type == "unicast" && !rt.Via.IsValid() && len(rt.Nexthops) == 0 {
			rt.Scope = "link"
		}
	}
	return rt, ok
}

// parsePrefix reads a route destination or rule selector: a prefix, or a
// bare address meaning one host. Unlike an address this node owns, any
// network may be routed (0.0.0.0/0, multicast ranges).
func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, errors.New("is not an IP address or prefix")
		}
		s = netip.PrefixFrom(a, a.BitLen()).String()
	}
	p, err := netip.ParsePrefix(s)
	switch {
	case err != nil:
		return p, errors.New("is not a prefix such as \"198.51.100.0/24\"")
	case p.Addr().Is4In6():
		return p, errors.New("is an IPv4-mapped IPv6 prefix; write the IPv4 prefix")
	}
	return p, nil
}

// parseDest reads a route destination: a prefix, a bare address (a host
// route) or "default" (of family fam).
func parseDest(s string, fam int) (netip.Prefix, error) {
	if s == "default" {
		if fam == 6 {
			return netip.MustParsePrefix("::/0"), nil
		}
		return netip.MustParsePrefix("0.0.0.0/0"), nil
	}
	p, err := parsePrefix(s)
	if err != nil {
		return p, err
	}
	if p.Masked() != p {
		return p, fmt.Errorf("has host bits set; the network is %s", p.Masked())
	}
	return p, nil
}

func (b *builder) rules(blocks []*ruleBlock, fam int) []*Rule {
	var out []*Rule
	for _, r := range blocks {
		if ru, ok := b.rule(r, fam); ok {
			out = append(out, ru)
		}
	}
	return out
}

func (b *builder) rule(r *ruleBlock, fam int) (*Rule, bool) {
	ru := &Rule{DefRange: r.DefRange}
	ok := true
	famSet := b.intRange(r.Family, &ru.Family, 4, 6)
	if famSet && ru.Family == 5 {
		b.errorf(r.Family.Range, "Invalid value for family", "family is 4 or 6.")
		ok = false
	}
	prefix := func(a *hcl.Attribute, dst *netip.Prefix) {
		var s string
		if !b.string(a, &s) || s == "all" {
			return
		}
		p, err := parsePrefix(s)
		if err == nil && p.Masked() != p {
			err = fmt.Errorf("has host bits set; the network is %s", p.Masked())
		}
		if err != nil {
			b.errorf(a.Range, "Invalid value for "+a.Name, "%q %v.", s, err)
			ok = false
			return
		}
		*dst = p
	}
	prefix(r.From, &ru.From)
	prefix(r.To, &ru.To)
	if !famSet {
		ru.Family = fam
		if ru.From.IsValid() {
			ru.Family = family(ru.From.Addr())
		} else if ru.To.IsValid() {
			ru.Family = family(ru.To.Addr())
		}
	}
	for _, x := range []struct {
		a *hcl.Attribute
		p netip.Prefix
	}{{r.From, ru.From}, {r.To, ru.To}} {
		if x.p.IsValid() && family(x.p.Addr()) != ru.Family {
			b.errorf(x.a.Range, x.a.Name+" of the wrong family", "%s is not IPv%d like the rest of the rule.", x.p, ru.Family)
			ok = false
		}
	}
	b.require(r.Table, "table", r.DefRange)
	if r.Table != nil && !b.intRange(r.Table, &ru.Table, 1, 1<<32-1) {
		ok = false
	}
	b.intRange(r.Priority, &ru.Priority, 1, 1<<32-1)
	for _, x := range []struct {
		a   *hcl.Attribute
		dst *string
	}{{r.IIF, &ru.IIF}, {r.OIF, &ru.OIF}} {
		if b.nonEmpty(x.a, x.dst) {
			if err := checkInterfaceName(*x.dst); err != nil {
				b.errorf(x.a.Range, "Invalid value for "+x.a.Name, "%q %v.", *x.dst, err)
				ok = false
			}
		}
	}
	var mark string
	if b.string(r.FWMark, &mark) {
		m, mask, err := parseMark(mark)
		if err != nil {
			b.errorf(r.FWMark.Range, "Invalid value for fwmark", "%q %v.", mark, err)
			ok = false
		}
		ru.FWMark, ru.FWMask, ru.HasMark = m, mask, true
	}
	b.bool(r.NoTrack, &ru.NoTrack)
	return ru, ok
}

// parseMark reads "MARK" or "MARK/MASK", each decimal or 0x hex.
func parseMark(s string) (mark, mask uint32, err error) {
	m, k, hasMask := strings.Cut(s, "/")
	v, err := strconv.ParseUint(m, 0, 32)
	if err != nil {
		return 0, 0, errors.New("is not a mark such as \"0x10\" or \"0x10/0xff\"")
	}
	if hasMask {
		w, err := strconv.ParseUint(k, 0, 32)
		if err != nil || w == 0 {
			return 0, 0, errors.New("has a mask that is not a non-zero number such as \"0xff\"")
		}
		mask = uint32(w)
	}
	return uint32(v), mask, nil
}

// static reads the static {} block.
func (b *builder) static(s *staticBlock) *Static {
	if s == nil {
		return nil
	}
	out := &Static{DefRange: s.DefRange}
	seen := map[netip.Addr]bool{}
	for _, v := range s.Addresses {
		a, ok := b.addressOptions(v, "", true)
		if !ok {
			continue
		}
		if seen[a.Prefix.Addr()] {
			b.errorf(v.DefRange, "Duplicate static address", "%s is listed twice.", a.Prefix.Addr())
			continue
		}
		seen[a.Prefix.Addr()] = true
		out.Addresses = append(out.Addresses, a)
	}
	out.Routes = b.routes(s.Routes, 4)
	out.Rules = b.rules(s.Rules, 4)
	return out
}

// instanceRoutes reads the instance's virtual_route, virtual_rule and
// mcast_source.
func (b *builder) instanceRoutes(r *instanceBlock, info *instanceInfo) {
	inst := info.inst
	fam := info.family
	if fam == 0 {
		fam = 4
	}
	inst.Routes = b.routes(r.VirtualRoutes, fam)
	inst.Rules = b.rules(r.VirtualRules, fam)
	var src string
	if b.string(r.McastSource, &src) {
		a, err := parsePeer(src)
		switch {
		case err != nil:
			b.errorf(r.McastSource.Range, "Invalid value for mcast_source", "%q %v.", src, err)
		case info.family != 0 && family(a) != info.family:
			b.errorf(r.McastSource.Range, "mcast_source of the wrong family", "%s is IPv%d but the virtual IPs are IPv%d.", a, family(a), info.family)
		case r.UnicastPeers != nil || len(r.UnicastPeer) > 0:
			b.errorf(r.McastSource.Range, "mcast_source on a unicast instance", "This instance sends to unicast peers; its source is unicast_source.")
		default:
			inst.McastSource = a
		}
	}
}

// crossStatic refuses an address that is both static and an instance's:
// one owner would delete what the other holds.
func (b *builder) crossStatic(st *Static, insts []*instanceInfo) {
	if st == nil {
		return
	}
	for _, a := range st.Addresses {
		for _, info := range insts {
			for _, o := range info.inst.Owned() {
				if o.Prefix.Addr() == a.Prefix.Addr() {
					b.errorf(a.DefRange, "Static address is also a virtual IP",
						"%s is a virtual IP of vrrp_instance %q; an address is either static or virtual.", a.Prefix.Addr(), info.inst.Name)
				}
			}
		}
	}
}
