package vip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/rs/zerolog"
)

// A virtual MAC interface (keepalived's use_vmac) is a macvlan in private
// mode on the instance's interface that carries the virtual router MAC of
// RFC 5798 §7.3, 00-00-5E-00-01-{VRID} (IPv4) or 00-00-5E-00-02-{VRID}
// (IPv6). The VIPs live on it, and its announcements go out with that MAC
// as source, so on a failover the switch relearns the MAC on the new
// master's port and the clients' neighbour entries stay right: no GARP
// race.
//
// Why private mode: a multicast frame whose source MAC is that of a local
// private macvlan is handed to that macvlan only (the kernel takes it for
// one of its own, looped back by the switch). The other node's adverts,
// sent from the same virtual MAC, therefore arrive on this node's macvlan,
// not on the interface below it: whoever reads adverts must read them on
// the macvlan.
//
// What the kernel needs, for IPv4 (the same settings keepalived makes):
//   - on the macvlan: arp_ignore=1 (answer ARP only for its own addresses,
//     the VIPs, never for the parent's), accept_local=1 and rp_filter=0
//     (it has no address of its own while backup, and must still take the
//     peer's adverts), and disable_ipv6=1 so that a backup's macvlan sends
//     nothing (no link-local address, no DAD, no MLD) from the shared MAC:
//     a frame from it would move the MAC to the backup's switch port.
//   - for the namespace: igmp_link_local_mcast_reports=0. The socket that
//     reads adverts on the macvlan joins 224.0.0.18 there, and the kernel
//     reports the join and, when the socket closes (a stop, a crash), the
//     leave, from the shared MAC: each report moves the MAC to this
//     node's switch port, a backup's for good until the master's next
//     advert, a dead master's after the new one took over (seen in the
//     e2e test: pings answered by the dead node's kernel). Reports for
//     224.0.0.x are useless anyway: switches flood that range whatever
//     they snoop (RFC 4541 §2.1.2). keepalived, for the same reason, has
//     an nftables rule re-send IGMP from the parent instead. The old value
//     is put back at Close.
//   - rp_filter: the kernel uses the larger of all.rp_filter and the
//     interface's own, so the macvlan's 0 means nothing while
//     all.rp_filter is 1 (strict), and a backup's macvlan, which has no
//     route back to the peer, drops the master's adverts: two masters.
//     As keepalived does, every interface (and default) is raised to at
//     least all's value, and all is set to 0; the old values are put back
//     at Close.
//   - on the parent: arp_ignore=1 and arp_filter=1, so the parent never
//     answers an ARP for a VIP (it would with the parent's own MAC: the
//     client's entry would flip away from the virtual MAC); and, beyond
//     what keepalived sets (its VMAC note asks the operator for
//     arp_announce), arp_announce=2: a reply to a client, sent from the
//     VIP through the parent, needs the client's MAC, and the parent's
//     ARP request would otherwise name the VIP as its sender, which moves
//     the client's entry for the VIP to the parent's MAC (seen in the e2e
//     test). The old values are put back when the last macvlan of that
//     parent is removed.

// VirtualMAC is the virtual router MAC of vrid for family 4 or 6 (RFC 5798
// §7.3).
func VirtualMAC(family int, vrid uint8) net.HardwareAddr {
	kind := byte(0x01)
	if family == 6 {
		kind = 0x02
	}
	return net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, kind, vrid}
}

// IsVirtualRouterMAC reports whether mac is a virtual router MAC of either
// family (00:00:5e:00:01:xx or 00:00:5e:00:02:xx).
func IsVirtualRouterMAC(mac net.HardwareAddr) bool {
	return len(mac) == 6 && mac[0] == 0 && mac[1] == 0 && mac[2] == 0x5e && mac[3] == 0 && (mac[4] == 1 || mac[4] == 2)
}

// DefaultVMACName is the macvlan's name when none is configured,
// keepalived's default: "vrrp.51" for VRID 51.
func DefaultVMACName(vrid uint8) string { return fmt.Sprintf("vrrp.%d", vrid) }

// VMACSpec is one virtual MAC interface.
type VMACSpec struct {
	Name   string // the macvlan
	Parent string // the interface below it (the instance's interface)
	MAC    net.HardwareAddr
	Family int // 4 or 6: which sysctls are set
}

// ErrVMACConflict: an interface with the macvlan's name exists and is not
// a macvlan; it is never touched.
var ErrVMACConflict = errors.New("vip: interface exists and is not a macvlan")

// vmacLink is an interface as the vmac backend reports it.
type vmacLink struct {
	Index       int
	Macvlan     bool
	Private     bool // macvlan mode private
	MAC         net.HardwareAddr
	ParentIndex int
	Up          bool
}

// vmacBackend is what VMACs needs from the kernel.
type vmacBackend interface {
	// link returns the named interface; ok false when there is none.
	link(name string) (l vmacLink, ok bool, err error)
	// create adds a private macvlan on parentIndex, down.
	create(name string, parentIndex int, mac net.HardwareAddr) error
	// remove deletes the named interface.
	remove(name string) error
	setUp(name string) error
	// readSysctl and writeSysctl work on /proc/sys/net/<path>.
	readSysctl(path string) (string, error)
	writeSysctl(path, value string) error
	// interfaces lists the names under /proc/sys/net/ipv4/conf (the
	// interfaces, "all" and "default").
	interfaces() ([]string, error)
	close() error
}

// parentSaved is what was on a parent before the first macvlan on it set
// its ARP sysctls, and how many macvlans of ours use it.
type parentSaved struct {
	users int
	old   map[string]string // sysctl path -> value before
}

// VMACs owns the virtual MAC interfaces of one node: Ensure creates (or
// adopts) one, Remove deletes one, Close deletes every one it ensured and
// puts the parents' sysctls back. Its methods are safe for concurrent use;
// they block on the kernel (a few netlink calls and sysctl writes each).
type VMACs struct {
	log zerolog.Logger
	be  vmacBackend

	mu      sync.Mutex
	owned   map[string]VMACSpec     // by macvlan name
	parents map[string]*parentSaved // by parent name
	// igmpOld is igmp_link_local_mcast_reports before the first Ensure
	// ("" while unchanged).
	igmpOld string
	// rpOld are the rp_filter values changed by relaxRPFilter, by sysctl
	// path (nil while nothing changed).
	rpOld  map[string]string
	closed bool
}

func newVMACs(log zerolog.Logger, be vmacBackend) *VMACs {
	return &VMACs{log: log, be: be, owned: map[string]VMACSpec{}, parents: map[string]*parentSaved{}}
}

// Ensure makes spec's macvlan exist, up, with the right MAC, parent and
// sysctls. One already there with that MAC on that parent (left by a
// crash, or by keepalived) is adopted as it is: its addresses stay, which
// is what keeps a running master's VIPs in place across a restart or a
// reload. A macvlan with another MAC or parent is replaced; any other kind
// of interface under the name is an error (ErrVMACConflict), never
// deleted. Calling Ensure again for a spec it already holds re-checks and
// repairs (after the parent came back, the macvlan went with it).
func (v *VMACs) Ensure(ctx context.Context, spec VMACSpec) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return ErrClosed
	}
	if old, ok := v.owned[spec.Name]; ok && (old.Parent != spec.Parent || !bytes.Equal(old.MAC, spec.MAC)) {
		return &Error{Op: "vmac", Interface: spec.Name, Err: fmt.Errorf("already in use on %s with MAC %s", old.Parent, old.MAC)}
	}
	parent, ok, err := v.be.link(spec.Parent)
	switch {
	case err != nil:
		return &Error{Op: "vmac: find parent " + spec.Parent, Interface: spec.Name, Err: err}
	case !ok:
		return &Error{Op: "vmac: find parent " + spec.Parent, Interface: spec.Name, Err: ErrNoInterface}
	}
	cur, exists, err := v.be.link(spec.Name)
	if err != nil {
		return &Error{Op: "vmac: find", Interface: spec.Name, Err: err}
	}
	create := !exists
	if exists {
		switch {
		case !cur.Macvlan:
			return &Error{Op: "vmac", Interface: spec.Name, Err: ErrVMACConflict}
		case !bytes.Equal(cur.MAC, spec.MAC) || cur.ParentIndex != parent.Index || !cur.Private:
			v.log.Warn().Str("interface", spec.Name).Str("mac", cur.MAC.String()).Str("want", spec.MAC.String()).
				Msg("virtual MAC interface has another MAC, parent or mode: replacing it")
			if err := v.be.remove(spec.Name); err != nil {
				return &Error{Op: "vmac: remove mismatched", Interface: spec.Name, Err: err}
			}
			create = true
		}
	}
	if create {
		if err := v.be.create(spec.Name, parent.Index, spec.MAC); err != nil {
			return &Error{Op: "vmac: create on " + spec.Parent, Interface: spec.Name, Err: err}
		}
		v.log.Info().Str("interface", spec.Name).Str("parent", spec.Parent).Str("mac", spec.MAC.String()).Msg("virtual MAC interface created")
	} else if _, held := v.owned[spec.Name]; !held {
		v.log.Info().Str("interface", spec.Name).Str("mac", spec.MAC.String()).Msg("virtual MAC interface adopted")
	}
	// Sysctls before up: with IPv6 off before the link comes up, a
	// backup's macvlan never sends a DAD probe from the shared MAC.
	if err := v.relaxRPFilter(); err != nil {
		return &Error{Op: "vmac: sysctl", Interface: spec.Name, Err: err}
	}
	if err := v.quietIGMP(); err != nil {
		return &Error{Op: "vmac: sysctl", Interface: spec.Name, Err: err}
	}
	if err := v.configure(spec); err != nil {
		return &Error{Op: "vmac: sysctl", Interface: spec.Name, Err: err}
	}
	if _, held := v.owned[spec.Name]; !held {
		if err := v.holdParent(spec.Parent); err != nil {
			return &Error{Op: "vmac: parent sysctl " + spec.Parent, Interface: spec.Name, Err: err}
		}
	}
	v.owned[spec.Name] = spec
	if cur, _, err := v.be.link(spec.Name); err != nil || !cur.Up {
		if err := v.be.setUp(spec.Name); err != nil {
			return &Error{Op: "vmac: set up", Interface: spec.Name, Err: err}
		}
	}
	return nil
}

// igmpSysctl silences IGMP reports for 224.0.0.x (see the package
// comment).
const igmpSysctl = "ipv4/igmp_link_local_mcast_reports"

func (v *VMACs) quietIGMP() error {
	if v.igmpOld != "" {
		return nil
	}
	old, err := v.be.readSysctl(igmpSysctl)
	if err != nil {
		return fmt.Errorf("%s: %w", igmpSysctl, err)
	}
	if old != "0" {
		if err := v.be.writeSysctl(igmpSysctl, "0"); err != nil {
			return fmt.Errorf("%s: %w", igmpSysctl, err)
		}
	}
	v.igmpOld = old
	return nil
}

// relaxRPFilter moves a non-zero all.rp_filter onto every interface (see
// the package comment), once.
func (v *VMACs) relaxRPFilter() error {
	if v.rpOld != nil {
		return nil
	}
	const all = "ipv4/conf/all/rp_filter"
	cur, err := v.be.readSysctl(all)
	if err != nil {
		return fmt.Errorf("%s: %w", all, err)
	}
	v.rpOld = map[string]string{}
	if cur == "0" {
		return nil
	}
	names, err := v.be.interfaces()
	if err != nil {
		return fmt.Errorf("list interfaces: %w", err)
	}
	for _, name := range names {
		if name == "all" {
			continue
		}
		path := "ipv4/conf/" + name + "/rp_filter"
		old, err := v.be.readSysctl(path)
		if errors.Is(err, errNoSysctl) {
			continue // gone meanwhile
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if old >= cur { // one digit each: 0, 1 or 2
			continue
		}
		if err := v.be.writeSysctl(path, cur); err != nil && !errors.Is(err, errNoSysctl) {
			return fmt.Errorf("%s: %w", path, err)
		}
		v.rpOld[path] = old
	}
	if err := v.be.writeSysctl(all, "0"); err != nil {
		return fmt.Errorf("%s: %w", all, err)
	}
	v.rpOld[all] = cur
	v.log.Info().Str("all.rp_filter", cur).Msg("rp_filter moved from all to each interface, so the virtual MAC interface can take adverts")
	return nil
}

// configure sets the macvlan's own sysctls (see the package comment).
func (v *VMACs) configure(spec VMACSpec) error {
	var sets [][2]string
	if spec.Family == 6 {
		return errors.New("IPv6 virtual MAC is not supported yet")
	}
	ip4 := "ipv4/conf/" + spec.Name + "/"
	sets = append(sets,
		[2]string{ip4 + "arp_ignore", "1"},
		[2]string{ip4 + "accept_local", "1"},
		[2]string{ip4 + "rp_filter", "0"},
		[2]string{"ipv6/conf/" + spec.Name + "/disable_ipv6", "1"},
	)
	for _, s := range sets {
		err := v.be.writeSysctl(s[0], s[1])
		if errors.Is(err, errNoSysctl) && strings.HasPrefix(s[0], "ipv6/") {
			continue // IPv6 is off on this host: nothing to silence
		}
		if err != nil {
			return fmt.Errorf("%s: %w", s[0], err)
		}
	}
	return nil
}

// parentSysctls are what a parent gets while it carries macvlans.
var parentSysctls = [][2]string{{"arp_ignore", "1"}, {"arp_filter", "1"}, {"arp_announce", "2"}}

// holdParent sets the parent's ARP sysctls for one more macvlan, saving
// the old values for the first.
func (v *VMACs) holdParent(parent string) error {
	if p := v.parents[parent]; p != nil {
		p.users++
		return nil
	}
	saved := &parentSaved{users: 1, old: map[string]string{}}
	for _, kv := range parentSysctls {
		path := "ipv4/conf/" + parent + "/" + kv[0]
		old, err := v.be.readSysctl(path)
		if err != nil {
			return err
		}
		saved.old[path] = old
	}
	var errs []error
	for _, kv := range parentSysctls {
		errs = append(errs, v.be.writeSysctl("ipv4/conf/"+parent+"/"+kv[0], kv[1]))
	}
	v.parents[parent] = saved
	return errors.Join(errs...)
}

// releaseParent undoes holdParent; the last user puts the old values back.
func (v *VMACs) releaseParent(parent string) error {
	p := v.parents[parent]
	if p == nil {
		return nil
	}
	if p.users--; p.users > 0 {
		return nil
	}
	delete(v.parents, parent)
	var errs []error
	for path, old := range p.old {
		// A parent that is gone took its settings with it.
		if err := v.be.writeSysctl(path, old); err != nil && !errors.Is(err, errNoSysctl) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// errNoSysctl is what a backend says for a sysctl whose interface is gone.
var errNoSysctl = errors.New("no such sysctl")

// Remove deletes a macvlan Ensure made or adopted, and puts its parent's
// sysctls back if it was the last on it. Removing one already gone, or
// never ensured, is not an error.
func (v *VMACs) Remove(name string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.remove(name)
}

func (v *VMACs) remove(name string) error {
	spec, ok := v.owned[name]
	if !ok {
		return nil
	}
	delete(v.owned, name)
	var errs []error
	// Only a macvlan with our MAC is ours to delete: a name re-used since
	// (by hand, by another tool) is left alone.
	if cur, exists, err := v.be.link(name); err != nil {
		errs = append(errs, err)
	} else if exists && cur.Macvlan && bytes.Equal(cur.MAC, spec.MAC) {
		if err := v.be.remove(name); err != nil {
			errs = append(errs, err)
		} else {
			v.log.Info().Str("interface", name).Msg("virtual MAC interface removed")
		}
	}
	if err := v.releaseParent(spec.Parent); err != nil {
		errs = append(errs, fmt.Errorf("parent %s sysctl: %w", spec.Parent, err))
	}
	if err := errors.Join(errs...); err != nil {
		return &Error{Op: "vmac: remove", Interface: name, Err: err}
	}
	return nil
}

// Names are the macvlans held now.
func (v *VMACs) Names() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]string, 0, len(v.owned))
	for n := range v.owned {
		out = append(out, n)
	}
	return out
}

// Close removes every macvlan held and releases the backend.
func (v *VMACs) Close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return nil
	}
	v.closed = true
	var errs []error
	for name := range v.owned {
		errs = append(errs, v.remove(name))
	}
	// After the macvlans are gone (their sockets closed before): no leave
	// report can go out from a shared MAC any more.
	if v.igmpOld != "" && v.igmpOld != "0" {
		errs = append(errs, v.be.writeSysctl(igmpSysctl, v.igmpOld))
	}
	for path, old := range v.rpOld {
		if err := v.be.writeSysctl(path, old); err != nil && !errors.Is(err, errNoSysctl) {
			errs = append(errs, err)
		}
	}
	errs = append(errs, v.be.close())
	return errors.Join(errs...)
}
