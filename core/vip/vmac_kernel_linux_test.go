package vip

import (
	"context"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// readNS reads /proc/sys/net/<path> inside the node's namespace.
func readNS(t *testing.T, ns string, path string) string {
	t.Helper()
	be := &netlinkVMACs{nsPath: ns}
	v, err := be.readSysctl(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

// TestKernelVMAC: in a namespace, Ensure creates a private macvlan with
// the virtual router MAC on eth0, up, with the sysctls set; a second
// VMACs (a restarted daemon) adopts it as it is (same index, its VIP
// kept); Close deletes it and puts every sysctl back.
func TestKernelVMAC(t *testing.T) {
	lab := newKernelLab(t)
	n := lab.Nodes[0]
	ns := nsPath(n)
	before := map[string]string{}
	watched := []string{"ipv4/conf/eth0/arp_ignore", "ipv4/conf/eth0/arp_filter", "ipv4/conf/eth0/arp_announce",
		"ipv4/igmp_link_local_mcast_reports", "ipv4/conf/all/rp_filter"}
	for _, p := range watched {
		before[p] = readNS(t, ns, p)
	}
	log := zerolog.New(zerolog.NewTestWriter(t))
	spec := VMACSpec{Name: "vrrp.51", Parent: "eth0", MAC: VirtualMAC(4, 51), Family: 4}

	v, err := NewVMACs(log, ns)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Ensure(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	h := nsHandle(t, ns)
	link, err := h.LinkByName("vrrp.51")
	if err != nil {
		t.Fatal(err)
	}
	mv, ok := link.(*netlink.Macvlan)
	eth0, _ := h.LinkByName("eth0")
	if !ok || mv.Mode != netlink.MACVLAN_MODE_PRIVATE || mv.Attrs().HardwareAddr.String() != "00:00:5e:00:01:33" ||
		mv.Attrs().ParentIndex != eth0.Attrs().Index || mv.Attrs().Flags&1 == 0 {
		t.Fatalf("macvlan %T %+v", link, link.Attrs())
	}
	for path, want := range map[string]string{
		"ipv4/conf/vrrp.51/arp_ignore": "1", "ipv4/conf/vrrp.51/accept_local": "1", "ipv4/conf/vrrp.51/rp_filter": "0",
		"ipv6/conf/vrrp.51/disable_ipv6": "1", "ipv4/conf/eth0/arp_ignore": "1", "ipv4/conf/eth0/arp_filter": "1",
		"ipv4/conf/eth0/arp_announce": "2", "ipv4/igmp_link_local_mcast_reports": "0",
	} {
		if got := readNS(t, ns, path); got != want {
			t.Errorf("%s = %s, want %s", path, got, want)
		}
	}
	// A VIP on it, then a "restart": the new owner adopts the macvlan.
	vipAddr, _ := netlink.ParseAddr("198.51.100.50/24")
	if err := h.AddrAdd(link, vipAddr); err != nil {
		t.Fatal(err)
	}
	v2, err := NewVMACs(log, ns)
	if err != nil {
		t.Fatal(err)
	}
	if err := v2.Ensure(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	again, err := h.LinkByName("vrrp.51")
	if err != nil || again.Attrs().Index != link.Attrs().Index {
		t.Fatalf("adopted macvlan: %v, index %d, want %d", err, again.Attrs().Index, link.Attrs().Index)
	}
	if addrs, _ := h.AddrList(again, netlink.FAMILY_V4); len(addrs) != 1 {
		t.Errorf("adopted macvlan lost its VIP: %v", addrs)
	}
	// The first owner goes away without closing (a crash); the second
	// closes: the macvlan is gone and the sysctls are back.
	_ = v.be.close()
	if err := v2.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := h.LinkByName("vrrp.51"); err == nil {
		t.Error("macvlan still there after Close")
	}
	for _, p := range watched {
		if p == "ipv4/conf/eth0/arp_ignore" || p == "ipv4/conf/eth0/arp_filter" || p == "ipv4/conf/eth0/arp_announce" ||
			p == "ipv4/igmp_link_local_mcast_reports" {
			// v2 saw v's values (1/1/2/0) as the old ones: a crashed
			// daemon's settings are not known to its successor.
			continue
		}
		if got := readNS(t, ns, p); got != before[p] {
			t.Errorf("%s = %s after Close, was %s", p, got, before[p])
		}
	}

	// A real interface under the name is refused and left alone.
	real := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "vrrp.52"}}
	if err := h.LinkAdd(real); err != nil {
		t.Fatal(err)
	}
	v3, err := NewVMACs(log, ns)
	if err != nil {
		t.Fatal(err)
	}
	defer v3.Close()
	err = v3.Ensure(context.Background(), VMACSpec{Name: "vrrp.52", Parent: "eth0", MAC: VirtualMAC(4, 52), Family: 4})
	if err == nil || !strings.Contains(err.Error(), "not a macvlan") {
		t.Errorf("Ensure over a bridge = %v", err)
	}
	if _, err := h.LinkByName("vrrp.52"); err != nil {
		t.Errorf("the bridge is gone: %v", err)
	}
}

func nsHandle(t *testing.T, path string) *netlink.Handle {
	t.Helper()
	ns, err := netns.GetFromPath(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}
