package config

import (
	"net/netip"
	"testing"
)

// The rules of routes.go join the table of TestValidationRules (and the
// fuzz seeds): one mistake each, its message and where it points.
func init() {
	badCases = append(badCases, routeBadCases...)
}

var routeBadCases = []badCase{
	{"virtual_ip bad address", vi(iface, vrid, prio, vip4, `virtual_ip "198.51.100.300" {}`),
		"Invalid address", "not an IP address", 6, 3},
	{"virtual_ip twice", vi(iface, vrid, prio, vip4, `virtual_ip "198.51.100.50/24" {}`, `virtual_ip "198.51.100.50/24" {}`),
		"Duplicate virtual IP", "listed twice", 7, 3},
	{"virtual_ip other length than list", vi(iface, vrid, prio, vip4, `virtual_ip "198.51.100.50" {}`),
		"virtual_ip differs from virtual_ips", "198.51.100.50/24", 6, 3},
	{"virtual_ip in list excluded", vi(iface, vrid, prio, vip4, `virtual_ip "198.51.100.50/24" {`, `  excluded = true`, `}`),
		"Excluded address in virtual_ips", "remove it there", 7, 5},
	{"virtual_ip other family", vi(iface, vrid, prio, vip4, `virtual_ip "2001:db8::5" {}`),
		"Mixed address families", "excluded = true", 6, 3},
	{"label not starting with dev", vi(iface, vrid, prio, vip4, `virtual_ip "198.51.100.60" {`, `  dev = "eth1"`, `  label = "eth0:web"`, `}`),
		"Invalid value for label", `interface name "eth1"`, 8, 5},
	{"label on IPv6", vi(iface, vrid, prio, vip4, `virtual_ip "2001:db8::5" {`, `  excluded = true`, `  label = "eth0:web"`, `}`),
		"label on an IPv6 address", "Only IPv4", 8, 5},
	{"bad scope", vi(iface, vrid, prio, vip4, `virtual_ip "198.51.100.60" {`, `  scope = "lnk"`, `}`),
		"Invalid value for scope", `Did you mean "link"`, 7, 5},
	{"broadcast IPv6", vi(iface, vrid, prio, vip4, `virtual_ip "198.51.100.60/24" {`, `  broadcast = "2001:db8::ff"`, `}`),
		"Invalid value for broadcast", "IPv4", 7, 5},
	{"bad dev", vi(iface, vrid, prio, vip4, `virtual_ip "198.51.100.60" {`, `  dev = "eth1:0"`, `}`),
		"Invalid value for dev", "not a valid interface name", 7, 5},
	{"all excluded", vi(iface, vrid, prio, `virtual_ip "198.51.100.60" {`, `  excluded = true`, `}`),
		"No advertised virtual IP", "at least one address", 1, 1},
	{"excluded duplicate", vi(iface, vrid, prio, vip4, `excluded_ips = ["198.51.100.50"]`),
		"Duplicate virtual IP", "listed twice", 6, 19},
	{"excluded in two instances", vi(iface, vrid, prio, vip4, `excluded_ips = ["2001:db8::5"]`) +
		block(`vrrp_instance "VI_2"`, iface, `virtual_router_id = 52`, prio, `virtual_ips = ["198.51.100.51"]`, `excluded_ips = ["2001:db8::5"]`),
		"Virtual IP in two instances", `vrrp_instance "VI_1"`, 13, 19},
	{"route without to", vi(iface, vrid, prio, vip4, `virtual_route {`, `  dev = "eth0"`, `}`),
		"Missing required argument", `"to"`, 6, 3},
	{"route host bits", vi(iface, vrid, prio, vip4, `virtual_route {`, `  to = "198.51.100.130/25"`, `  dev = "eth0"`, `}`),
		"Invalid value for to", "198.51.100.128/25", 7, 5},
	{"route neither via nor dev", vi(iface, vrid, prio, vip4, `virtual_route {`, `  to = "198.51.100.128/25"`, `}`),
		"Route needs via or dev", "gateway", 6, 3},
	{"blackhole with via", vi(iface, vrid, prio, vip4, `virtual_route {`, `  to = "198.51.100.128/25"`, `  type = "blackhole"`, `  via = "198.51.100.1"`, `}`),
		"via or dev on a blackhole route", "drop the packets", 6, 3},
	{"via other family", vi(iface, vrid, prio, vip4, `virtual_route {`, `  to = "198.51.100.128/25"`, `  via = "2001:db8::1"`, `}`),
		"via of the wrong family", "IPv4", 8, 5},
	{"onlink without via", vi(iface, vrid, prio, vip4, `virtual_route {`, `  to = "198.51.100.128/25"`, `  dev = "eth0"`, `  onlink = true`, `}`),
		"onlink without via", "needs via", 9, 5},
	{"bad protocol", vi(iface, vrid, prio, vip4, `virtual_route {`, `  to = "198.51.100.128/25"`, `  dev = "eth0"`, `  protocol = "bgpd"`, `}`),
		"Invalid value for protocol", "0-255", 9, 5},
	{"table zero", vi(iface, vrid, prio, vip4, `virtual_route {`, `  to = "198.51.100.128/25"`, `  dev = "eth0"`, `  table = 0`, `}`),
		"Invalid value for table", "between 1 and", 9, 5},
	{"via and nexthops", vi(iface, vrid, prio, vip4, `virtual_route {`, `  to = "198.51.100.128/25"`, `  via = "198.51.100.1"`, `  nexthops = ["198.51.100.2", "198.51.100.3"]`, `}`),
		"via and nexthops together", "not both", 9, 5},
	{"one nexthop", vi(iface, vrid, prio, vip4, `virtual_route {`, `  to = "198.51.100.128/25"`, `  nexthops = ["198.51.100.2"]`, `}`),
		"Invalid value for nexthops", "2 to 8", 8, 5},
	{"nexthop other family", vi(iface, vrid, prio, vip4, `virtual_route {`, `  to = "198.51.100.128/25"`, `  nexthops = ["2001:db8::2", "2001:db8::3"]`, `}`),
		"nexthops of the wrong family", "IPv6", 8, 5},
	{"rule without table", vi(iface, vrid, prio, vip4, `virtual_rule {`, `  from = "198.51.100.50"`, `}`),
		"Missing required argument", `"table"`, 6, 3},
	{"rule mixed family", vi(iface, vrid, prio, vip4, `virtual_rule {`, `  from = "198.51.100.50"`, `  to = "2001:db8::/32"`, `  table = 100`, `}`),
		"to of the wrong family", "IPv4", 8, 5},
	{"rule bad fwmark", vi(iface, vrid, prio, vip4, `virtual_rule {`, `  fwmark = "0x10/0"`, `  table = 100`, `}`),
		"Invalid value for fwmark", "mask", 7, 5},
	{"rule bad iif", vi(iface, vrid, prio, vip4, `virtual_rule {`, `  iif = "a b"`, `  table = 100`, `}`),
		"Invalid value for iif", "not a valid interface name", 7, 5},
	{"mcast_source other family", vi(iface, vrid, prio, vip4, `mcast_source = "2001:db8::1"`),
		"mcast_source of the wrong family", "IPv6", 6, 3},
	{"mcast_source unicast", vi(iface, vrid, prio, vip4, `unicast_peers = ["198.51.100.12"]`, `mcast_source = "198.51.100.11"`),
		"mcast_source on a unicast instance", "unicast_source", 7, 3},
	{"static address without dev", block("static", `address "198.51.100.5/24" {}`),
		"Missing required argument", "dev", 2, 3},
	{"static address no_track", block("static", `address "198.51.100.5/24" {`, `  dev = "eth0"`, `  no_track = true`, `}`),
		"Unsupported argument", "not to a static address", 4, 5},
	{"static address is a VIP", vi(iface, vrid, prio, vip4) + block("static", `address "198.51.100.50/24" {`, `  dev = "eth0"`, `}`),
		"Static address is also a virtual IP", `"VI_1"`, 8, 3},
}

func TestRoutesAndAddressOptions(t *testing.T) {
	src := vi(iface, vrid, prio, vip4,
		`virtual_ip "198.51.100.50/24" {`, `  label = "eth0:web"`, `}`,
		`excluded_ips = ["2001:db8::50/64"]`,
		`mcast_source = "198.51.100.11"`,
		`virtual_ip "198.51.100.60/24" {`, `  dev = "eth1"`, `  label = "eth1:web"`, `  scope = "link"`, `  broadcast = "198.51.100.255"`, `  no_track = true`, `}`,
		`virtual_ip "198.51.100.61" {`, `  excluded = true`, `}`,
		`virtual_route {`, `  to = "198.51.100.128/25"`, `  via = "198.51.100.1"`, `  table = 100`, `  metric = 5`, `  protocol = "static"`, `  onlink = true`, `}`,
		`virtual_route {`, `  to = "198.51.100.64/26"`, `  type = "blackhole"`, `}`,
		`virtual_route {`, `  to = "198.51.100.32/28"`, `  nexthops = ["198.51.100.2", "198.51.100.3"]`, `  dev = "eth0"`, `}`,
		`virtual_route {`, `  to = "default"`, `  dev = "eth1"`, `  src = "198.51.100.60"`, `  no_track = true`, `}`,
		`virtual_rule {`, `  from = "198.51.100.50"`, `  table = 100`, `  priority = 100`, `}`,
		`virtual_rule {`, `  fwmark = "0x10/0xff"`, `  iif = "eth1"`, `  table = 7`, `}`,
	) + block("static",
		`address "198.51.100.5/24" {`, `  dev = "eth0"`, `}`,
		`route {`, `  to = "2001:db8:1::/48"`, `  via = "2001:db8::1"`, `}`,
		`rule {`, `  family = 6`, `  table = 200`, `}`,
	)
	cfg, diags := Parse([]byte(src), "ok.hcl")
	if diags.HasErrors() {
		t.Fatalf("%s", dump(diags))
	}
	in := cfg.Instances[0]
	p := netip.MustParsePrefix
	a := netip.MustParseAddr
	if want := []netip.Prefix{p("198.51.100.50/24"), p("198.51.100.60/24")}; !equal(in.VirtualIPs, want) {
		t.Errorf("advertised %v, want %v", in.VirtualIPs, want)
	}
	var owned []string
	for _, o := range in.Owned() {
		owned = append(owned, o.Prefix.String()+" "+o.Dev+" "+o.Label+" "+o.Scope+" "+o.Broadcast.String()+" "+boolStr(o.NoTrack, "no_track")+boolStr(o.Excluded, "excluded"))
	}
	want := []string{
		"198.51.100.50/24  eth0:web  invalid IP ",
		"198.51.100.60/24 eth1 eth1:web link 198.51.100.255 no_track",
		"198.51.100.61/32    invalid IP excluded",
		"2001:db8::50/64    invalid IP excluded",
	}
	if !equal(owned, want) {
		t.Errorf("owned\n%q\nwant\n%q", owned, want)
	}
	if in.McastSource != a("198.51.100.11") {
		t.Errorf("mcast_source %v", in.McastSource)
	}
	if r := in.Routes[2]; len(r.Nexthops) != 2 || r.Nexthops[1] != a("198.51.100.3") || r.Scope != "global" {
		t.Errorf("multipath route %+v", r)
	}
	in.Routes = append(in.Routes[:2], in.Routes[3:]...)
	if len(in.Routes) != 3 || len(in.Rules) != 2 {
		t.Fatalf("routes %d rules %d", len(in.Routes), len(in.Rules))
	}
	r := in.Routes[0]
	if r.To != p("198.51.100.128/25") || r.Via != a("198.51.100.1") || r.Table != 100 || r.Metric != 5 || r.Protocol != 4 || !r.OnLink || r.Scope != "global" || r.Type != "unicast" {
		t.Errorf("route 0 %+v", r)
	}
	if r := in.Routes[1]; r.Type != "blackhole" || r.Scope != "global" {
		t.Errorf("route 1 %+v", r)
	}
	if r := in.Routes[2]; r.To != p("0.0.0.0/0") || r.Scope != "link" || !r.NoTrack || r.Src != a("198.51.100.60") {
		t.Errorf("route 2 %+v", r)
	}
	if u := in.Rules[0]; u.Family != 4 || u.From != p("198.51.100.50/32") || u.Table != 100 || u.Priority != 100 {
		t.Errorf("rule 0 %+v", u)
	}
	if u := in.Rules[1]; !u.HasMark || u.FWMark != 0x10 || u.FWMask != 0xff || u.IIF != "eth1" || u.Family != 4 {
		t.Errorf("rule 1 %+v", u)
	}
	st := cfg.Static
	if st == nil || len(st.Addresses) != 1 || st.Addresses[0].Dev != "eth0" || len(st.Routes) != 1 || st.Routes[0].To != p("2001:db8:1::/48") ||
		len(st.Rules) != 1 || st.Rules[0].Family != 6 {
		t.Errorf("static %+v", st)
	}
}

// Only virtual_ip blocks, no virtual_ips list: the blocks are the
// advertised addresses.
func TestVirtualIPBlocksAlone(t *testing.T) {
	cfg, diags := Parse([]byte(vi(iface, vrid, prio, `virtual_ip "2001:db8::5" {}`, `virtual_ip "2001:db8::6" {`, `  dev = "eth1"`, `}`)), "ok.hcl")
	if diags.HasErrors() {
		t.Fatalf("%s", dump(diags))
	}
	if in := cfg.Instances[0]; in.Family() != 6 || len(in.VirtualIPs) != 2 || len(in.Owned()) != 2 || in.Owned()[1].Dev != "eth1" {
		t.Errorf("%+v", in)
	}
}

func boolStr(b bool, s string) string {
	if b {
		return s
	}
	return ""
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
