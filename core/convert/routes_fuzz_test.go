package convert

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/hawatch/hawatch/core/config"
)

// FuzzRouteLine: whatever a virtual_routes, virtual_rules or
// static_ipaddress line says, what the converter keeps of it loads without
// an error (it skips, with a warning, what hawatch would refuse), and
// nothing panics.
func FuzzRouteLine(f *testing.F) {
	for _, s := range []string{
		"src 198.51.100.50 to 198.51.100.128/25 via 198.51.100.254 dev eth1",
		"198.51.100.130/25 dev eth0 scope link table 100 metric 5 proto static onlink",
		"198.51.100.32/27 via 198.51.100.254 or 198.51.100.253 or 198.51.100.252",
		"blackhole 198.51.100.16/28",
		"0.0.0.0/0 gw 198.51.100.1 table main mtu lock 1400",
		"2001:db8:7::/48 via 2001:db8::1 table 200 no_track",
		"from 198.51.100.50 to all table 100 priority 100 iif eth1 oif eth0 fwmark 0x10/0xff",
		"inet6 fwmark 7 lookup 102",
		"from 2001:db8::/32 to 198.51.100.0/24 table 1",
		"198.51.100.51/24 dev eth1 label eth1:web scope link brd 198.51.100.255 no_track home",
		"2001:db8::60/64 dev eth1 label eth1:x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if strings.ContainsAny(line, "\n\r{}\"#!") {
			return // one statement of plain words
		}
		// Convert makes its input valid UTF-8 before anything reads it.
		line = strings.ToValidUTF8(line, "\uFFFD")
		words := strings.Fields(line)
		if len(words) == 0 {
			return
		}
		e := &stmt{Line: 1}
		for _, w := range words {
			e.Words = append(e.Words, word{Text: w})
		}
		c := newConverter("fuzz.conf")
		var items []kv
		if body := c.route(&c.staticNotes, e, false); body != nil {
			items = append(items, kv{k: "virtual_route", sub: body})
		}
		if body := c.rule(&c.staticNotes, e, false); body != nil {
			items = append(items, kv{k: "virtual_rule", sub: body})
		}
		in := &instance{iface: "eth0"}
		if a := c.parseAddrLine(&in.notes, 1, words, false); a != nil {
			seen := map[netip.Addr]bool{netip.MustParseAddr("198.51.100.9"): true}
			for _, s := range a.addrs {
				// finishAddresses drops repeats; this renders each once.
				if p, ok := hostPrefix(s); ok && p.Addr().Is4() && usable(p.Addr()) && !seen[p.Addr()] {
					seen[p.Addr()] = true
					items = append(items, c.addrBlock(in, a, p, true))
				}
			}
		}
		o := &hclOut{}
		o.open(`vrrp_instance "VI_1"`)
		writeKVs(o, append([]kv{{k: "interface", v: `"eth0"`}, {k: "virtual_router_id", v: "51"}, {k: "priority", v: "100"},
			{k: "virtual_ips", v: `["198.51.100.9/24"]`}}, items...))
		o.close()
		src := o.bytes()
		if _, diags := config.Parse(src, "fuzz.hcl"); diags.HasErrors() {
			t.Fatalf("converted %q does not load: %v\n%s", line, diags, src)
		}
	})
}
