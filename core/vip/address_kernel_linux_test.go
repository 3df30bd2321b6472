package vip

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The kernel stores each address's own options, also when the reconciler
// puts a deleted one back.
func TestKernelAddressOptions(t *testing.T) {
	lab := newKernelLab(t)
	lb1 := lab.Nodes[0]
	h, link := handleIn(t, lb1)
	m := newKernelManager(t, lb1, Options{})
	runManager(t, m)
	ctx := context.Background()
	brd := netip.MustParseAddr("198.51.100.127")
	// A /32: an address in the subnet of eth0's own 198.51.100.x/24 would
	// be its secondary, and the kernel wants a secondary in its primary's
	// scope (EINVAL otherwise).
	p4 := netip.MustParsePrefix("198.51.100.50/32")
	err := m.AcquireAddresses(ctx, "vi_1", []Address{
		{Prefix: p4, AddrOptions: AddrOptions{Label: "eth0:web", Scope: ScopeLink, Broadcast: brd}},
		{Prefix: kv6, AddrOptions: AddrOptions{Scope: ScopeSite}},
	})
	if err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		a4 := addrOf(t, h, link, p4)
		if a4 == nil || a4.Label != "eth0:web" || a4.Scope != unix.RT_SCOPE_LINK || a4.Broadcast.String() != brd.String() {
			t.Fatalf("%s: IPv4 entry %+v, want label eth0:web, scope link, brd %s", when, a4, brd)
		}
		// The kernel derives an IPv6 address's scope from the address
		// and ignores the one asked for; the add must still succeed.
		if a6 := addrOf(t, h, link, kv6); a6 == nil {
			t.Fatalf("%s: IPv6 address missing", when)
		}
	}
	check("acquired")
	ipIn(t, lb1, "addr", "del", p4.String(), "dev", "eth0")
	deadline := time.Now().Add(2 * time.Second)
	for addrOf(t, h, link, p4) == nil {
		if time.Now().After(deadline) {
			t.Fatal("not put back")
		}
		time.Sleep(time.Millisecond)
	}
	check("put back")
}
