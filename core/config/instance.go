package config

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// VRRP limits enforced on instances.
const (
	// OwnerPriority is reserved for the node that owns the VIPs as real
	// addresses (RFC 5798 §5.2.4).
	OwnerPriority = 255
	// MaxAuthPass is the length of the VRRPv2 authentication data field;
	// keepalived silently truncates longer passwords, hawatch refuses them.
	MaxAuthPass = 8

	minAdvertV3  = 10 * time.Millisecond // one centisecond, the v3 unit
	maxAdvertV3  = 4095 * time.Millisecond * 10
	maxAdvertV2  = 255 * time.Second
	maxInterface = 15 // IFNAMSIZ - 1
)

// instanceInfo keeps what the cross-instance checks need to know about which
// fields decoded cleanly and where they were written.
type instanceInfo struct {
	inst      *Instance
	block     *instanceBlock
	vridOK    bool
	ifaceOK   bool
	family    int // 4 or 6; 0 when no VIP decoded
	vipRanges []hcl.Range
	// excludedRanges are where the excluded addresses were written, in
	// the order of the excluded entries of inst.Addresses.
	excludedRanges []hcl.Range
	vipItems       int // entries written in virtual_ips, valid or not
}

func (b *builder) instance(r *instanceBlock) *instanceInfo {
	inst := &Instance{
		Name:           r.Name,
		Version:        DefaultVersion,
		AdvertInterval: DefaultAdvertInterval,
		Preempt:        true,
		UnicastTTL:     DefaultUnicastTTL,
		GARP: GARP{
			Repeat:   DefaultGARPRepeat,
			Interval: DefaultGARPInterval,
			Delay:    DefaultGARPDelay,
		},
		DefRange: r.DefRange,
	}
	info := &instanceInfo{inst: inst, block: r}
	owner := fmt.Sprintf("vrrp_instance %q", r.Name)

	b.require(r.Interface, "interface", r.DefRange)
	b.require(r.VRID, "virtual_router_id", r.DefRange)
	b.require(r.Priority, "priority", r.DefRange)
	if len(r.VirtualIP) == 0 {
		b.require(r.VirtualIPs, "virtual_ips", r.DefRange)
	}

	if b.nonEmpty(r.Interface, &inst.Interface) {
		if err := checkInterfaceName(inst.Interface); err != nil {
			b.errorf(r.Interface.Range, "Invalid value for interface", "%q %v.", inst.Interface, err)
		} else {
			info.ifaceOK = true
		}
	}

	var n int
	if b.intRange(r.VRID, &n, 1, 255) {
		inst.VRID, info.vridOK = uint8(n), true
	}
	prioOK := b.intRange(r.Priority, &n, 1, 255)
	if prioOK {
		inst.Priority = uint8(n)
	}
	versionOK := r.Version == nil
	if r.Version != nil && b.intRange(r.Version, &n, 2, 3) {
		inst.Version, versionOK = n, true
	}

	b.bool(r.AddressOwner, &inst.AddressOwner)
	switch {
	case prioOK && inst.Priority == OwnerPriority && !inst.AddressOwner:
		b.errorf(r.Priority.Range, "Priority 255 is reserved for the address owner",
			"Only the router whose interface already carries the virtual IPs as real addresses may use priority 255; "+
				"set address_owner = true if that is this node, otherwise use 1 to 254.")
	case inst.AddressOwner && prioOK && inst.Priority != OwnerPriority:
		b.errorf(r.AddressOwner.Range, "Address owner must use priority 255",
			"address_owner = true means this node owns the virtual IPs, which RFC 5798 requires to advertise priority 255; "+
				"set priority = 255 or remove address_owner.")
	}

	if b.duration(r.AdvertInterval, &inst.AdvertInterval, false) && versionOK {
		b.checkAdvert(r.AdvertInterval, inst.Version, inst.AdvertInterval)
	}

	if b.string(r.AuthPass, &inst.AuthPass) {
		// The password itself is never quoted in a diagnostic.
		switch {
		case versionOK && inst.Version != 2:
			b.errorf(r.AuthPass.Range, "auth_pass needs VRRP version 2",
				"VRRPv3 (the default) has no authentication; set version = 2 to talk to a keepalived peer that uses auth_pass, or remove auth_pass.")
		case inst.AuthPass == "":
			b.errorf(r.AuthPass.Range, "Invalid value for auth_pass", "auth_pass must not be empty; remove it to disable authentication.")
		case len(inst.AuthPass) > MaxAuthPass:
			b.errorf(r.AuthPass.Range, "auth_pass is too long",
				"auth_pass is %d bytes; VRRPv2 carries at most %d (keepalived would silently truncate it).", len(inst.AuthPass), MaxAuthPass)
		}
	}

	b.vips(r, info, versionOK)
	b.unicast(r, info)
	b.instanceRoutes(r, info)
	b.authHMAC(r, inst)
	b.vmac(r, info)

	b.bool(r.Preempt, &inst.Preempt)
	b.duration(r.PreemptDelay, &inst.PreemptDelay, true)

	if g := r.GARP; g != nil {
		b.intRange(g.Repeat, &inst.GARP.Repeat, 1, maxGARPRepeat)
		b.duration(g.Interval, &inst.GARP.Interval, true)
		b.duration(g.Delay, &inst.GARP.Delay, true)
		b.duration(g.Refresh, &inst.GARP.Refresh, true)
		// The announcer's schedule rules (core/vip Policy.Validate), checked
		// here so a mistake is a diagnostic, not a surprise at takeover.
		gp := inst.GARP
		burst := time.Duration(gp.Repeat-1) * gp.Interval
		if g.Delay != nil && gp.Delay > 0 && gp.Delay <= burst {
			b.errorf(g.Delay.Range, "garp delay too short",
				"The second burst (delay %s) must start after the first one ends (%d packets %s apart = %s).", gp.Delay, gp.Repeat, gp.Interval, burst)
		}
		if g.Refresh != nil && gp.Refresh > 0 && (gp.Refresh < minGARPRefresh || gp.Refresh <= burst) {
			b.errorf(g.Refresh.Range, "garp refresh too short",
				"refresh is 0 (off) or at least %s and longer than a burst (%s), not %s.", minGARPRefresh, burst, gp.Refresh)
		}
	}

	if b.nonEmpty(r.Witness, &inst.Witness) {
		b.addRef("witness", listItem{inst.Witness, r.Witness.Range}, owner)
	}
	inst.OnWitnessLost = OnWitnessLostRelease
	if r.OnWitnessLost != nil {
		if r.Witness == nil {
			b.errorf(r.OnWitnessLost.Range, "on_witness_lost without witness", "Set witness = \"NAME\" or remove on_witness_lost.")
		}
		b.oneOf(r.OnWitnessLost, &inst.OnWitnessLost, OnWitnessLostRelease, OnWitnessLostKeep)
	}
	b.tracks(r, inst, owner)
	b.trackInterfaces(r, inst, owner)
	inst.Notify = b.notify(r.Notify, owner)
	return info
}

func checkInterfaceName(s string) error {
	switch {
	case len(s) > maxInterface:
		return fmt.Errorf("is longer than %d bytes, the kernel's limit for interface names", maxInterface)
	case s == "." || s == ".." || strings.ContainsAny(s, "/: \t\n"):
		return errors.New("is not a valid interface name")
	}
	return nil
}

func (b *builder) checkAdvert(a *hcl.Attribute, version int, d time.Duration) {
	switch version {
	case 2:
		if d%time.Second != 0 || d > maxAdvertV2 {
			b.errorf(a.Range, "Invalid advert_interval for VRRP version 2",
				"VRRPv2 advertises in whole seconds from 1s to 255s, not %s; use version = 3 for sub-second intervals.", d)
		}
	case 3:
		if d < minAdvertV3 || d > maxAdvertV3 || d%minAdvertV3 != 0 {
			b.errorf(a.Range, "Invalid advert_interval for VRRP version 3",
				"VRRPv3 advertises in steps of 10ms from 10ms to 40.95s, not %s.", d)
		}
	}
}

// parseVIP accepts "addr/len" or a bare address, which means a host route.
func parseVIP(s string) (netip.Prefix, error) {
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return p, errors.New("is not an address with prefix length such as \"198.51.100.50/24\"")
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return p, errors.New("is not an IP address")
		}
		if a.Zone() != "" {
			return p, errors.New("must not carry a zone; the instance's interface is implied")
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if err := checkUsable(p.Addr()); err != nil {
		return p, err
	}
	return p, nil
}

func parsePeer(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return a, errors.New("is not an IP address")
	}
	if a.Zone() != "" {
		return a, errors.New("must not carry a zone; the instance's interface is implied")
	}
	return a, checkUsable(a)
}

func checkUsable(a netip.Addr) error {
	switch {
	case a.Is4In6():
		return errors.New("is an IPv4-mapped IPv6 address; write the IPv4 address")
	case a.IsUnspecified():
		return errors.New("is the unspecified address")
	case a.IsMulticast():
		return errors.New("is a multicast address")
	}
	return nil
}

func family(a netip.Addr) int {
	if a.Is4() {
		return 4
	}
	return 6
}

func (b *builder) vips(r *instanceBlock, info *instanceInfo, versionOK bool) {
	seen := map[netip.Addr]bool{}
	defer b.virtualIPBlocks(r, info, versionOK, seen)
	items, ok := b.stringList(r.VirtualIPs)
	if !ok {
		return
	}
	info.vipItems = len(items)
	if len(items) == 0 && len(r.VirtualIP) == 0 {
		b.errorf(r.VirtualIPs.Range, "Invalid value for virtual_ips", "An instance needs at least one virtual IP.")
		return
	}
	inst := info.inst
	for _, it := range items {
		p, err := parseVIP(it.Value)
		if err != nil {
			b.errorf(it.Range, "Invalid virtual IP", "%q %v.", it.Value, err)
			continue
		}
		fam := family(p.Addr())
		if info.family == 0 {
			info.family = fam
			if fam == 6 && versionOK && inst.Version == 2 {
				b.errorf(it.Range, "IPv6 virtual IP needs VRRP version 3",
					"VRRPv2 carries IPv4 only; set version = 3 (the default) for %s.", p)
			}
		} else if fam != info.family {
			b.errorf(it.Range, "Mixed address families in virtual_ips",
				"%s is IPv%d but this instance's first virtual IP is IPv%d; a VRRP instance serves one family, so use a second instance.",
				p, fam, info.family)
			continue
		}
		if seen[p.Addr()] {
			b.errorf(it.Range, "Duplicate virtual IP", "%s is listed twice.", p.Addr())
			continue
		}
		seen[p.Addr()] = true
		inst.VirtualIPs = append(inst.VirtualIPs, p)
		info.vipRanges = append(info.vipRanges, it.Range)
	}
}

func (b *builder) unicast(r *instanceBlock, info *instanceInfo) {
	inst := info.inst
	var src string
	if b.string(r.UnicastSource, &src) {
		if a, err := parsePeer(src); err != nil {
			b.errorf(r.UnicastSource.Range, "Invalid value for unicast_source", "%q %v.", src, err)
		} else if info.family != 0 && family(a) != info.family {
			b.errorf(r.UnicastSource.Range, "unicast_source of the wrong family",
				"%s is IPv%d but the virtual IPs are IPv%d.", a, family(a), info.family)
		} else {
			inst.UnicastSource = a
		}
	}
	var n int
	if b.intRange(r.UnicastTTL, &n, 1, 255) {
		inst.UnicastTTL = uint8(n)
	}
	seen := map[netip.Addr]bool{}
	defer b.unicastPeerBlocks(r, info, seen)
	items, ok := b.stringList(r.UnicastPeers)
	if !ok {
		return
	}
	for _, it := range items {
		a, err := parsePeer(it.Value)
		switch {
		case err != nil:
			b.errorf(it.Range, "Invalid unicast peer", "%q %v.", it.Value, err)
		case info.family != 0 && family(a) != info.family:
			b.errorf(it.Range, "Unicast peer of the wrong family",
				"%s is IPv%d but the virtual IPs are IPv%d.", a, family(a), info.family)
		case inst.UnicastSource.IsValid() && a == inst.UnicastSource:
			b.errorf(it.Range, "Unicast peer is this node",
				"%s is also unicast_source; list only the other routers.", a)
		case seen[a]:
			b.errorf(it.Range, "Duplicate unicast peer", "%s is listed twice.", a)
		default:
			seen[a] = true
			inst.UnicastPeers = append(inst.UnicastPeers, a)
		}
	}
}

func (b *builder) tracks(r *instanceBlock, inst *Instance, owner string) {
	seen := map[string]bool{}
	for _, t := range r.Tracks {
		if seen[t.Check] {
			b.errorf(t.DefRange, "Duplicate track", "%s already tracks check %q.", owner, t.Check)
			continue
		}
		seen[t.Check] = true
		out := &Track{Check: t.Check, Effect: EffectFault, DefRange: t.DefRange}
		b.addRef("check", listItem{t.Check, t.DefRange}, owner)

		hasWeight := b.intRange(t.Weight, &out.Weight, -254, 254)
		if hasWeight && out.Weight == 0 {
			b.errorf(t.Weight.Range, "Invalid value for weight",
				"weight = 0 changes nothing; omit weight to make a failing check mean FAULT.")
			hasWeight = false
		}
		if hasWeight {
			out.Effect = EffectWeight
		}
		var effect string
		if b.string(t.Effect, &effect) {
			switch {
			case effect != EffectYield:
				b.errorf(t.Effect.Range, "Invalid value for effect",
					"effect can only be %q (the split-brain guard); omit it for FAULT on failure, or set weight to adjust the priority.%s",
					EffectYield, didYouMean(effect, []string{EffectYield}))
			case t.Weight != nil:
				b.errorf(t.Effect.Range, "effect and weight together",
					"A yield track does not change the priority; remove weight or effect.")
			default:
				out.Effect = EffectYield
			}
		}
		inst.Tracks = append(inst.Tracks, out)
	}
}

// crossInstance finds clashes between instances: two routers with the same
// VRID on one link and family would be one router on the wire, and a VIP
// owned by two instances would flap between them.
func (b *builder) crossInstance(insts []*instanceInfo) {
	type key struct {
		iface  string
		vrid   uint8
		family int
	}
	byKey := map[key]*instanceInfo{}
	vipOwner := map[netip.Addr]string{}
	for _, info := range insts {
		inst := info.inst
		if info.vridOK && info.ifaceOK && info.family != 0 {
			k := key{inst.Interface, inst.VRID, info.family}
			if first, dup := byKey[k]; dup {
				b.errorf(info.block.VRID.Range, "Duplicate virtual_router_id",
					"vrrp_instance %q (%s) already uses virtual_router_id %d for IPv%d on %s; each instance on a link needs its own VRID.",
					first.inst.Name, first.inst.DefRange, inst.VRID, info.family, inst.Interface)
			} else {
				byKey[k] = info
			}
		}
		ranges := slices.Concat(info.vipRanges, info.excludedRanges)
		for i, a := range inst.Owned() {
			p := a.Prefix
			if first, dup := vipOwner[p.Addr()]; dup {
				b.errorf(ranges[i], "Virtual IP in two instances",
					"%s is already a virtual IP of vrrp_instance %q.", p.Addr(), first)
				continue
			}
			vipOwner[p.Addr()] = inst.Name
		}
	}
}
