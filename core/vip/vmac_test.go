package vip

import (
	"bytes"
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// fakeVMACBackend is an in-memory kernel: interfaces by name and sysctls
// by path.
type fakeVMACBackend struct {
	links   map[string]*vmacLink
	sysctl  map[string]string
	next    int
	calls   []string
	failAdd error
}

func newFakeVMACBackend() *fakeVMACBackend {
	f := &fakeVMACBackend{links: map[string]*vmacLink{}, sysctl: map[string]string{}, next: 10}
	f.links["eth0"] = &vmacLink{Index: 2, MAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, Up: true}
	f.sysctl["ipv4/conf/eth0/arp_ignore"] = "0"
	f.sysctl["ipv4/conf/eth0/arp_filter"] = "0"
	f.sysctl["ipv4/conf/eth0/arp_announce"] = "0"
	f.sysctl["ipv4/igmp_link_local_mcast_reports"] = "1"
	f.sysctl["ipv4/conf/all/rp_filter"] = "0"
	return f
}

func (f *fakeVMACBackend) link(name string) (vmacLink, bool, error) {
	l := f.links[name]
	if l == nil {
		return vmacLink{}, false, nil
	}
	return *l, true, nil
}

func (f *fakeVMACBackend) create(name string, parent int, mac net.HardwareAddr) error {
	f.calls = append(f.calls, "create "+name)
	if f.failAdd != nil {
		return f.failAdd
	}
	if f.links[name] != nil {
		return errors.New("exists")
	}
	f.next++
	f.links[name] = &vmacLink{Index: f.next, Macvlan: true, Private: true, MAC: mac, ParentIndex: parent}
	return nil
}

func (f *fakeVMACBackend) remove(name string) error {
	f.calls = append(f.calls, "remove "+name)
	delete(f.links, name)
	return nil
}

func (f *fakeVMACBackend) setUp(name string) error {
	f.calls = append(f.calls, "up "+name)
	l := f.links[name]
	if l == nil {
		return errors.New("no such device")
	}
	l.Up = true
	return nil
}

func (f *fakeVMACBackend) readSysctl(path string) (string, error) {
	v, ok := f.sysctl[path]
	if !ok {
		return "", errNoSysctl
	}
	return v, nil
}

func (f *fakeVMACBackend) writeSysctl(path, value string) error {
	f.calls = append(f.calls, "sysctl "+path+"="+value)
	f.sysctl[path] = value
	return nil
}

func (f *fakeVMACBackend) interfaces() ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for path := range f.sysctl {
		if rest, ok := strings.CutPrefix(path, "ipv4/conf/"); ok {
			name, _, _ := strings.Cut(rest, "/")
			if !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		}
	}
	return out, nil
}

func (f *fakeVMACBackend) close() error { return nil }

func spec51() VMACSpec {
	return VMACSpec{Name: "vrrp.51", Parent: "eth0", MAC: VirtualMAC(4, 51), Family: 4}
}

func TestVirtualMAC(t *testing.T) {
	for _, c := range []struct {
		family int
		vrid   uint8
		want   string
	}{{4, 51, "00:00:5e:00:01:33"}, {6, 51, "00:00:5e:00:02:33"}, {4, 255, "00:00:5e:00:01:ff"}, {6, 1, "00:00:5e:00:02:01"}} {
		if got := VirtualMAC(c.family, c.vrid).String(); got != c.want {
			t.Errorf("VirtualMAC(%d, %d) = %s, want %s", c.family, c.vrid, got, c.want)
		}
	}
	for mac, want := range map[string]bool{"00:00:5e:00:01:33": true, "00:00:5e:00:02:01": true,
		"00:00:5e:00:03:33": false, "02:00:00:00:00:11": false, "00:00:5e:01:01:33": false} {
		hw, _ := net.ParseMAC(mac)
		if got := IsVirtualRouterMAC(hw); got != want {
			t.Errorf("IsVirtualRouterMAC(%s) = %v", mac, got)
		}
	}
	if got := DefaultVMACName(51); got != "vrrp.51" {
		t.Errorf("DefaultVMACName(51) = %q", got)
	}
}

func TestVMACEnsureCreatesConfiguresAndCloseRemoves(t *testing.T) {
	be := newFakeVMACBackend()
	v := newVMACs(zerolog.Nop(), be)
	if err := v.Ensure(context.Background(), spec51()); err != nil {
		t.Fatal(err)
	}
	l := be.links["vrrp.51"]
	if l == nil || !l.Macvlan || !l.Private || l.ParentIndex != 2 || !l.Up || !bytes.Equal(l.MAC, VirtualMAC(4, 51)) {
		t.Fatalf("macvlan = %+v", l)
	}
	for path, want := range map[string]string{
		"ipv4/conf/vrrp.51/arp_ignore": "1", "ipv4/conf/vrrp.51/accept_local": "1", "ipv4/conf/vrrp.51/rp_filter": "0",
		"ipv6/conf/vrrp.51/disable_ipv6": "1", "ipv4/conf/eth0/arp_ignore": "1", "ipv4/conf/eth0/arp_filter": "1", "ipv4/conf/eth0/arp_announce": "2",
		"ipv4/igmp_link_local_mcast_reports": "0",
	} {
		if be.sysctl[path] != want {
			t.Errorf("%s = %q, want %q", path, be.sysctl[path], want)
		}
	}
	// IPv6 goes off before the link comes up: no DAD from the shared MAC.
	if i, j := slices.Index(be.calls, "sysctl ipv6/conf/vrrp.51/disable_ipv6=1"), slices.Index(be.calls, "up vrrp.51"); i < 0 || j < i {
		t.Errorf("calls %v: disable_ipv6 must precede up", be.calls)
	}
	// Ensure again (reload): nothing is re-created, the link stays.
	be.calls = nil
	if err := v.Ensure(context.Background(), spec51()); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(be.calls, "create vrrp.51") || slices.Contains(be.calls, "remove vrrp.51") || slices.Contains(be.calls, "up vrrp.51") {
		t.Errorf("second Ensure flapped the link: %v", be.calls)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if be.links["vrrp.51"] != nil {
		t.Error("Close left the macvlan")
	}
	if be.sysctl["ipv4/conf/eth0/arp_ignore"] != "0" || be.sysctl["ipv4/conf/eth0/arp_filter"] != "0" || be.sysctl["ipv4/conf/eth0/arp_announce"] != "0" {
		t.Errorf("parent sysctls not restored: %v", be.sysctl)
	}
	if be.sysctl["ipv4/igmp_link_local_mcast_reports"] != "1" {
		t.Errorf("igmp_link_local_mcast_reports not restored: %v", be.sysctl)
	}
	if err := v.Ensure(context.Background(), spec51()); !errors.Is(err, ErrClosed) {
		t.Errorf("Ensure after Close = %v", err)
	}
}

func TestVMACAdoptsMatchingReplacesMismatched(t *testing.T) {
	be := newFakeVMACBackend()
	be.links["vrrp.51"] = &vmacLink{Index: 7, Macvlan: true, Private: true, MAC: VirtualMAC(4, 51), ParentIndex: 2, Up: true}
	v := newVMACs(zerolog.Nop(), be)
	if err := v.Ensure(context.Background(), spec51()); err != nil {
		t.Fatal(err)
	}
	if be.links["vrrp.51"].Index != 7 || slices.Contains(be.calls, "remove vrrp.51") {
		t.Errorf("matching macvlan not adopted: %v", be.calls)
	}

	for name, l := range map[string]*vmacLink{
		"mac":    {Index: 8, Macvlan: true, Private: true, MAC: VirtualMAC(4, 52), ParentIndex: 2},
		"parent": {Index: 8, Macvlan: true, Private: true, MAC: VirtualMAC(4, 51), ParentIndex: 3},
		"mode":   {Index: 8, Macvlan: true, Private: false, MAC: VirtualMAC(4, 51), ParentIndex: 2},
	} {
		be := newFakeVMACBackend()
		be.links["vrrp.51"] = l
		v := newVMACs(zerolog.Nop(), be)
		if err := v.Ensure(context.Background(), spec51()); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := be.links["vrrp.51"]
		if got.Index == 8 || !bytes.Equal(got.MAC, VirtualMAC(4, 51)) || got.ParentIndex != 2 || !got.Private {
			t.Errorf("%s: mismatched macvlan not replaced: %+v", name, got)
		}
	}
}

func TestVMACNeverTouchesARealInterface(t *testing.T) {
	be := newFakeVMACBackend()
	be.links["vrrp.51"] = &vmacLink{Index: 9, MAC: net.HardwareAddr{2, 0, 0, 0, 0, 9}}
	v := newVMACs(zerolog.Nop(), be)
	err := v.Ensure(context.Background(), spec51())
	if !errors.Is(err, ErrVMACConflict) {
		t.Fatalf("Ensure over a non-macvlan = %v, want ErrVMACConflict", err)
	}
	if be.links["vrrp.51"].Index != 9 || len(be.calls) != 0 {
		t.Errorf("real interface touched: %v", be.calls)
	}
	if err := v.Ensure(context.Background(), VMACSpec{Name: "vrrp.9", Parent: "eth9", MAC: VirtualMAC(4, 9), Family: 4}); !errors.Is(err, ErrNoInterface) {
		t.Errorf("missing parent = %v", err)
	}
}

func TestVMACParentSysctlsRefcounted(t *testing.T) {
	be := newFakeVMACBackend()
	v := newVMACs(zerolog.Nop(), be)
	s52 := VMACSpec{Name: "vrrp.52", Parent: "eth0", MAC: VirtualMAC(4, 52), Family: 4}
	for _, s := range []VMACSpec{spec51(), s52} {
		if err := v.Ensure(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.Remove("vrrp.51"); err != nil {
		t.Fatal(err)
	}
	if be.sysctl["ipv4/conf/eth0/arp_ignore"] != "1" {
		t.Error("parent sysctl restored while another macvlan still uses it")
	}
	// A name taken over by someone else since is not ours to delete.
	be.links["vrrp.52"].MAC = net.HardwareAddr{2, 0, 0, 0, 0, 5}
	if err := v.Remove("vrrp.52"); err != nil {
		t.Fatal(err)
	}
	if be.links["vrrp.52"] == nil {
		t.Error("removed an interface whose MAC is no longer ours")
	}
	if be.sysctl["ipv4/conf/eth0/arp_ignore"] != "0" {
		t.Error("parent sysctl not restored after the last macvlan")
	}
	if err := v.Remove("never"); err != nil {
		t.Errorf("Remove of an unknown name = %v", err)
	}
}

func TestVMACRecreatesAfterParentReturns(t *testing.T) {
	be := newFakeVMACBackend()
	v := newVMACs(zerolog.Nop(), be)
	if err := v.Ensure(context.Background(), spec51()); err != nil {
		t.Fatal(err)
	}
	// The parent is deleted and created again: the macvlan went with it.
	delete(be.links, "vrrp.51")
	be.links["eth0"].Index = 20
	if err := v.Ensure(context.Background(), spec51()); err != nil {
		t.Fatal(err)
	}
	if l := be.links["vrrp.51"]; l == nil || l.ParentIndex != 20 || !l.Up {
		t.Fatalf("macvlan after the parent came back = %+v", l)
	}
	if err := v.Ensure(context.Background(), VMACSpec{Name: "vrrp.51", Parent: "eth1", MAC: VirtualMAC(4, 51), Family: 4}); err == nil {
		t.Error("the same name on another parent was accepted")
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
}

// A strict all.rp_filter would overrule the macvlan's 0: it moves onto
// every interface (never lowering one) and all goes to 0, until Close.
func TestVMACRPFilterAll(t *testing.T) {
	be := newFakeVMACBackend()
	be.sysctl["ipv4/conf/all/rp_filter"] = "1"
	be.sysctl["ipv4/conf/default/rp_filter"] = "0"
	be.sysctl["ipv4/conf/eth0/rp_filter"] = "0"
	be.sysctl["ipv4/conf/eth1/rp_filter"] = "2"
	v := newVMACs(zerolog.Nop(), be)
	if err := v.Ensure(context.Background(), spec51()); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"ipv4/conf/all/rp_filter": "0", "ipv4/conf/default/rp_filter": "1", "ipv4/conf/eth0/rp_filter": "1",
		"ipv4/conf/eth1/rp_filter": "2", "ipv4/conf/vrrp.51/rp_filter": "0",
	} {
		if be.sysctl[path] != want {
			t.Errorf("%s = %q, want %q", path, be.sysctl[path], want)
		}
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"ipv4/conf/all/rp_filter": "1", "ipv4/conf/default/rp_filter": "0", "ipv4/conf/eth0/rp_filter": "0", "ipv4/conf/eth1/rp_filter": "2",
	} {
		if be.sysctl[path] != want {
			t.Errorf("after Close: %s = %q, want %q", path, be.sysctl[path], want)
		}
	}
}
