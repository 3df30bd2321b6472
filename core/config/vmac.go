package config

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// vmacBlock is an instance's `vmac {}` block (keepalived's use_vmac and
// vmac_xmit_base).
type vmacBlock struct {
	Name     *hcl.Attribute `hcl:"name,attr"`
	XmitBase *hcl.Attribute `hcl:"xmit_base,attr"`
	DefRange hcl.Range      `hcl:",def_range"`
}

// VMAC puts an instance's VIPs on a macvlan carrying the virtual router
// MAC of RFC 5798 §7.3 (00:00:5e:00:01:VRID), created on the instance's
// interface while hawatch runs.
type VMAC struct {
	// Name of the macvlan; default "vrrp.VRID", keepalived's.
	Name string
	// XmitBase sends and receives adverts on the instance's interface
	// (with its MAC) instead of the macvlan; the VIPs stay on the macvlan.
	XmitBase bool
}

// VIPInterface is where the instance's VIPs live: its vmac when it has
// one, else its interface.
func (i *Instance) VIPInterface() string {
	if i.VMAC != nil {
		return i.VMAC.Name
	}
	return i.Interface
}

// AdvertInterface is where the instance's adverts are sent and received:
// its vmac unless xmit_base, else its interface.
func (i *Instance) AdvertInterface() string {
	if i.VMAC != nil && !i.VMAC.XmitBase {
		return i.VMAC.Name
	}
	return i.Interface
}

func (b *builder) vmac(r *instanceBlock, info *instanceInfo) {
	v := r.VMAC
	if v == nil {
		return
	}
	inst := info.inst
	out := &VMAC{}
	if info.vridOK {
		out.Name = fmt.Sprintf("vrrp.%d", inst.VRID)
	}
	if b.nonEmpty(v.Name, &out.Name) {
		// A clash with an instance's interface is found by crossVMAC.
		if err := checkInterfaceName(out.Name); err != nil {
			b.errorf(v.Name.Range, "Invalid value for vmac name", "%q %v.", out.Name, err)
		}
	}
	b.bool(v.XmitBase, &out.XmitBase)
	if info.family == 6 {
		b.errorf(v.DefRange, "vmac needs IPv4 virtual IPs",
			"A virtual MAC for an IPv6 instance (00:00:5e:00:02:VRID) is not supported yet; remove the vmac block.")
	}
	if len(inst.UnicastPeers) > 0 && !out.XmitBase {
		b.errorf(v.DefRange, "vmac with unicast peers needs xmit_base",
			"Unicast adverts go to the peers from the instance's interface; set xmit_base = true in the vmac block (keepalived requires vmac_xmit_base with unicast peers too).")
	}
	if r.AddressOwner != nil && inst.AddressOwner {
		b.errorf(v.DefRange, "vmac and address_owner together",
			"The address owner's VIPs are its interface's own addresses and cannot move to a macvlan; remove the vmac block or address_owner.")
	}
	inst.VMAC = out
}

// crossVMAC finds vmac names used twice, or used as another instance's
// interface: one macvlan carries one virtual router.
func (b *builder) crossVMAC(insts []*instanceInfo) {
	first := map[string]string{}
	ifaces := map[string]bool{}
	for _, info := range insts {
		ifaces[info.inst.Interface] = true
	}
	for _, info := range insts {
		v := info.inst.VMAC
		if v == nil || v.Name == "" {
			continue
		}
		rng := info.block.VMAC.DefRange
		if info.block.VMAC.Name != nil {
			rng = info.block.VMAC.Name.Range
		}
		if other, dup := first[v.Name]; dup {
			b.errorf(rng, "Duplicate vmac name", "vrrp_instance %q already uses the macvlan %s; give this one another name.", other, v.Name)
			continue
		}
		first[v.Name] = info.inst.Name
		if ifaces[v.Name] {
			b.errorf(rng, "vmac name is an instance's interface",
				"%s is the interface of an instance; the macvlan is created on its instance's interface and needs a name of its own, such as %q.",
				v.Name, fmt.Sprintf("vrrp.%d", info.inst.VRID))
		}
	}
}
