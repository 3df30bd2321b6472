package splitbrain

import (
	"testing"

	"github.com/hawatch/hawatch/sdk"
)

const labVIP6 = "2001:db8::50"

// TestGuardIPv6InNamespaces runs the IPv6 path against real kernels: the
// owner's kernel must take our solicitation (hop limit, checksum, group)
// and answer it, from each source the probe may use.
func TestGuardIPv6InNamespaces(t *testing.T) {
	l := newLab(t)
	for i, ns := range []string{l.a, l.b} {
		l.ip("-n", ns, "addr", "add", []string{"2001:db8::1/64", "2001:db8::2/64"}[i], "dev", "veth0", "nodad")
	}
	hold := func(ns string) { l.ip("-n", ns, "addr", "add", labVIP6+"/128", "dev", "veth0", "nodad") }
	release := func(ns string) { l.ip("-n", ns, "addr", "del", labVIP6+"/128", "dev", "veth0") }
	cfg := map[string]any{"interface": "veth0", "vip": labVIP6, "probe_timeout": "200ms"}

	type expect struct {
		ns       string
		status   sdk.Status
		otherMAC string
		source   string // "link-local", or the address
	}
	steps := []struct {
		name   string
		setup  func()
		expect []expect
	}{
		{"nobody holds the VIP", func() {}, []expect{
			{l.a, sdk.StatusOK, "", "link-local"},
			{l.b, sdk.StatusOK, "", "link-local"},
		}},
		{"only the peer holds it", func() { hold(l.b) }, []expect{
			{l.a, sdk.StatusFail, l.macB, "link-local"},
			{l.b, sdk.StatusOK, "", "link-local"},
		}},
		{"both hold it: split brain", func() { hold(l.a) }, []expect{
			{l.a, sdk.StatusFail, l.macB, "link-local"},
			{l.b, sdk.StatusFail, l.macA, "link-local"},
		}},
		{"only we hold it", func() { release(l.b) }, []expect{
			{l.a, sdk.StatusOK, "", "link-local"},
			{l.b, sdk.StatusFail, l.macA, "link-local"},
		}},
		// Without a link-local address the probe goes out from the
		// interface's other address, and without any from :: (the owner
		// answers that to all nodes).
		{"no link-local address: from the global one", func() {
			release(l.a)
			hold(l.b)
			l.ip("-n", l.a, "-6", "addr", "flush", "dev", "veth0", "scope", "link")
		}, []expect{
			{l.a, sdk.StatusFail, l.macB, "2001:db8::1"},
		}},
		{"no IPv6 address at all: DAD style", func() {
			l.ip("-n", l.a, "-6", "addr", "flush", "dev", "veth0")
		}, []expect{
			{l.a, sdk.StatusFail, l.macB, "::"},
		}},
	}
	for _, st := range steps {
		st.setup()
		for _, e := range st.expect {
			r := l.check(e.ns, cfg)
			who := "A"
			if e.ns == l.b {
				who = "B"
			}
			src := r.Detail["ns_source"]
			okSource := src == e.source || e.source == "link-local" && len(src) > 5 && src[:5] == "fe80:"
			if r.Status != e.status || r.Detail["other_mac"] != e.otherMAC || !okSource {
				t.Errorf("%s, seen from %s: %v %q %v; want %v other_mac=%q from %s",
					st.name, who, r.Status, r.Reason, r.Detail, e.status, e.otherMAC, e.source)
			}
		}
	}
}
