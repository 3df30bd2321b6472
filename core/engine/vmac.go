package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/hawatch/hawatch/core/config"
	"github.com/hawatch/hawatch/core/vip"
)

// VMACOwner creates and removes the instances' virtual MAC macvlans
// (vip.VMACs). Its calls block on the kernel: a few netlink calls each,
// made from the loop only at attach, at stop and when an interface comes
// back, never on the advert path.
type VMACOwner interface {
	Ensure(ctx context.Context, spec vip.VMACSpec) error
	Close() error
}

// An instance with a vmac block lives on two interfaces: the macvlan
// carries its VIPs (and, unless xmit_base, its adverts), created on the
// instance's interface. Both are followed as links: a macvlan deleted by
// hand, or gone with its parent, faults the instance and is created again
// (here) as soon as its parent is there; the link code then re-opens the
// sockets and re-binds the VIP manager to the new index as for any
// re-created interface.

// vmacSpec is the instance's macvlan.
func vmacSpec(ic *config.Instance) vip.VMACSpec {
	return vip.VMACSpec{Name: ic.VMAC.Name, Parent: ic.Interface, MAC: vip.VirtualMAC(ic.Family(), ic.VRID), Family: ic.Family()}
}

// ensureVMAC creates (or adopts) the instance's macvlan; without a
// VMACOwner (sockets that are not the kernel's) it is taken as there.
func (e *Engine) ensureVMAC(ctx context.Context, ic *config.Instance) error {
	if ic.VMAC == nil {
		return nil
	}
	if e.opts.VMACs == nil {
		if !e.realKernel {
			return nil
		}
		v, err := vip.NewVMACs(e.log, "")
		if err != nil {
			return fmt.Errorf("instance %s: vmac: %w", ic.Name, err)
		}
		e.opts.VMACs = v
	}
	rctx, cancel := context.WithTimeout(ctx, e.opts.VIPTimeout)
	defer cancel()
	if err := e.opts.VMACs.Ensure(rctx, vmacSpec(ic)); err != nil {
		return fmt.Errorf("instance %s: %w", ic.Name, err)
	}
	return nil
}

// usesLink reports whether the instance depends on interface name.
func usesLink(ic *config.Instance, name string) bool {
	return ic.Interface == name || (ic.VMAC != nil && ic.VMAC.Name == name)
}

// revivedVMACs creates again the macvlans that are gone while their
// parent is there, after the watcher's word on interface name (the
// parent came back, or the macvlan was deleted).
func (e *Engine) reviveVMACs(now time.Time, name string) {
	if e.opts.VMACs == nil {
		return
	}
	for _, b := range e.bindings {
		ic := b.cfg
		if ic.VMAC == nil || !usesLink(ic, name) {
			continue
		}
		parent, mac := e.links[ic.Interface], e.links[ic.VMAC.Name]
		if parent == nil || mac == nil || parent.seen.Index == 0 || mac.seen.Index != 0 {
			continue
		}
		if err := e.ensureVMAC(e.runCtx, ic); err != nil {
			if e.limiter.allow("vmac:" + ic.VMAC.Name) {
				e.log.Error().Str("interface", ic.VMAC.Name).Err(err).Msg("virtual MAC interface could not be created again")
			}
			continue
		}
		e.log.Warn().Str("instance", ic.Name).Str("interface", ic.VMAC.Name).Msg("virtual MAC interface was gone: created again")
	}
}

// closeVMACs removes the macvlans (after the VIP workers released their
// addresses and stopped).
func (e *Engine) closeVMACs() {
	if e.opts.VMACs == nil {
		return
	}
	if err := e.opts.VMACs.Close(); err != nil {
		e.log.Error().Err(err).Msg("remove virtual MAC interfaces")
	}
}
