package config

import (
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Link tracking: every instance follows its own interface (gone, set
// down or without carrier: FAULT); track_interface blocks follow others,
// as keepalived's track_interface; interface blocks debounce an
// interface, as keepalived's interface_up_down_delays.

// MaxLinkDelay bounds an interface's down_delay and up_delay (keepalived's
// limit, 255 s).
const MaxLinkDelay = 255 * time.Second

// TrackInterface is a `track_interface "eth1" {}` block of an instance:
// while eth1 is gone, down or without carrier the instance is in FAULT,
// or, with a weight, its priority moves by Weight (keepalived: a positive
// weight is added while the interface is up, a negative one while it is
// down).
type TrackInterface struct {
	Name     string
	Weight   int // 0: FAULT while down
	DefRange hcl.Range
}

// Interface is an `interface "eth0" {}` block: settings of one network
// interface for every instance on it or tracking it.
type Interface struct {
	Name string
	// DownDelay and UpDelay: a change of the interface's state reaches
	// the instances only once it held that long; a flap inside the delay
	// moves nothing. UpDelay defaults to DownDelay.
	DownDelay, UpDelay time.Duration
	DefRange           hcl.Range
}

type trackInterfaceBlock struct {
	Name     string         `hcl:"name,label"`
	Weight   *hcl.Attribute `hcl:"weight,attr"`
	DefRange hcl.Range      `hcl:",def_range"`
}

type interfaceBlock struct {
	Name      string         `hcl:"name,label"`
	DownDelay *hcl.Attribute `hcl:"down_delay,attr"`
	UpDelay   *hcl.Attribute `hcl:"up_delay,attr"`
	DefRange  hcl.Range      `hcl:",def_range"`
}

// trackInterfaces reads an instance's track_interface blocks.
func (b *builder) trackInterfaces(r *instanceBlock, inst *Instance, owner string) {
	seen := map[string]bool{}
	for _, t := range r.TrackIfaces {
		if err := checkInterfaceName(t.Name); err != nil {
			b.errorf(t.DefRange, "Invalid interface name in track_interface", "%q %v.", t.Name, err)
			continue
		}
		if t.Name == inst.Interface {
			b.errorf(t.DefRange, "track_interface names the instance's own interface",
				"%s runs on %s, and an instance always follows its own interface (gone, down or without carrier means FAULT); "+
					"remove this block. To ride out flaps, add interface %q { down_delay = \"…\" }.", owner, t.Name, t.Name)
			continue
		}
		if seen[t.Name] {
			b.errorf(t.DefRange, "Duplicate track_interface", "%s already tracks interface %q.", owner, t.Name)
			continue
		}
		seen[t.Name] = true
		ti := &TrackInterface{Name: t.Name, DefRange: t.DefRange}
		if b.intRange(t.Weight, &ti.Weight, -254, 254) && ti.Weight == 0 {
			b.errorf(t.Weight.Range, "Invalid value for weight",
				"weight = 0 changes nothing; omit weight to make a down interface mean FAULT.")
		}
		inst.TrackInterfaces = append(inst.TrackInterfaces, ti)
	}
}

// interfaces reads the interface blocks and checks their delays against
// the instances running on each interface.
func (b *builder) interfaces(raw []*interfaceBlock, insts []*instanceInfo) []*Interface {
	var out []*Interface
	for _, r := range raw {
		if !b.define("interface", r.Name, r.DefRange) {
			continue
		}
		if err := checkInterfaceName(r.Name); err != nil {
			b.errorf(r.DefRange, "Invalid interface name", "%q %v.", r.Name, err)
			continue
		}
		ifc := &Interface{Name: r.Name, DefRange: r.DefRange}
		downOK := b.linkDelay(r.DownDelay, &ifc.DownDelay)
		if !b.linkDelay(r.UpDelay, &ifc.UpDelay) && r.UpDelay == nil {
			ifc.UpDelay = ifc.DownDelay // keepalived: up_delay omitted = down_delay
		}
		if downOK {
			b.checkDownDelay(r, ifc, insts)
		}
		out = append(out, ifc)
	}
	return out
}

func (b *builder) linkDelay(a *hcl.Attribute, dst *time.Duration) bool {
	if !b.duration(a, dst, true) {
		return false
	}
	if *dst > MaxLinkDelay {
		b.errorf(a.Range, "Invalid duration for "+a.Name, "%s must be at most %s, not %s.", a.Name, MaxLinkDelay, *dst)
		*dst = 0
		return false
	}
	return true
}

// checkDownDelay warns when an instance on the interface has a
// Master_Down_Interval shorter than the down delay (keepalived: the delay
// must stay under two advert intervals): while this node's own link is
// dead but not yet counted down, it still thinks it is master and the
// backup takes over anyway; when the link returns the two masters meet.
func (b *builder) checkDownDelay(r *interfaceBlock, ifc *Interface, insts []*instanceInfo) {
	for _, info := range insts {
		in := info.inst
		if in.Interface != ifc.Name || ifc.DownDelay < 2*in.AdvertInterval {
			continue
		}
		b.diags = append(b.diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "down_delay longer than two advert intervals",
			Detail: fmt.Sprintf("vrrp_instance %q advertises every %s on %s; with down_delay %s its backup takes over before this node counts a dead link as down, "+
				"and the node keeps the VIP on the dead link until then. Keep down_delay under %s.", in.Name, in.AdvertInterval, ifc.Name, ifc.DownDelay, 2*in.AdvertInterval),
			Subject: r.DownDelay.Range.Ptr(),
		})
	}
}

// Interface returns the interface block for name, nil when there is none.
func (c *Config) Interface(name string) *Interface {
	for _, i := range c.Interfaces {
		if i.Name == name {
			return i
		}
	}
	return nil
}
