package config

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// maxStrictVIPs is what an advert's 8-bit Count IPvX Addr field can list
// (RFC 5798 §5.2.6).
const maxStrictVIPs = 255

// strictMode decodes node.strict and each instance's accept, and applies
// what strict mode forbids. Each rule mirrors a check keepalived 2.2.7
// makes under vrrp_strict; where keepalived quietly resets a setting
// ("resetting", "ignoring"), hawatch refuses it instead: the operator wrote
// both, and which one wins should not be a surprise at takeover. hawatch
// convert applies keepalived's resets itself and says so in its warnings.
func (b *builder) strictMode(n *nodeBlock, node *Node, insts []*instanceInfo) {
	var strictAttr *hcl.Attribute
	if n != nil && n.Strict != nil {
		strictAttr = n.Strict
		b.bool(n.Strict, &node.Strict)
	}
	for _, info := range insts {
		inst, r := info.inst, info.block
		// keepalived's default: accept unless strict (its own comment calls
		// the non-strict default a departure from the RFCs it keeps for
		// compatibility; hawatch keeps it too, so a file without strict
		// behaves as before).
		accept := !node.Strict
		if r.Accept != nil {
			b.bool(r.Accept, &accept)
			if !accept && inst.AddressOwner {
				b.warnf(r.Accept.Range, "accept = false has no effect on an address owner",
					"The VIPs are this node's own addresses: the owner always accepts traffic to them (RFC 5798 §6.4.3).")
			}
		}
		inst.NoAccept = !accept
		if node.Strict {
			b.strictInstance(info, strictAttr)
		}
	}
}

// strictInstance checks one instance against strict mode.
func (b *builder) strictInstance(info *instanceInfo, strictAttr *hcl.Attribute) {
	inst, r := info.inst, info.block
	why := "node.strict = true allows only what RFC 5798 (VRRPv3) and RFC 3768 (VRRPv2) define"
	if strictAttr != nil {
		why += fmt.Sprintf(" (set at %s)", strictAttr.Range)
	}
	if r.AuthPass != nil {
		b.errorf(r.AuthPass.Range, "auth_pass is not allowed in strict mode",
			"%s; VRRPv3 has no authentication and RFC 3768 deprecates it. keepalived ignores it under vrrp_strict (and sends adverts without it): remove auth_pass here too.", why)
	}
	if r.AuthHMAC != nil {
		b.errorf(r.AuthHMAC.DefRange, "auth_hmac is not allowed in strict mode",
			"%s; auth_hmac is a keepalived 2.4 extension that adds a trailer to the advert. Remove it or node.strict.", why)
	}
	if r.UnicastPeers != nil {
		b.errorf(r.UnicastPeers.Range, "Unicast peers are not allowed in strict mode",
			"%s: adverts go to the VRRP multicast group (keepalived refuses unicast peers under vrrp_strict too).", why)
	}
	for _, p := range r.UnicastPeer {
		b.errorf(p.DefRange, "Unicast peers are not allowed in strict mode",
			"%s: adverts go to the VRRP multicast group (keepalived refuses unicast peers under vrrp_strict too).", why)
	}
	if r.PreemptDelay != nil && inst.PreemptDelay > 0 {
		b.errorf(r.PreemptDelay.Range, "preempt_delay is not allowed in strict mode",
			"%s; the RFCs have no preemption delay (keepalived resets it to 0 under vrrp_strict). Remove it or set \"0s\".", why)
	}
	if r.Accept != nil && !inst.NoAccept && inst.Version == 2 {
		b.errorf(r.Accept.Range, "accept = true is not allowed with VRRP version 2 in strict mode",
			"%s; RFC 3768 has no Accept_Mode: a VRRPv2 master that is not the address owner must not accept packets to the virtual addresses (keepalived resets accept under vrrp_strict). Use version = 3 or remove accept.", why)
	}
	if len(inst.VirtualIPs) > maxStrictVIPs {
		b.errorf(r.VirtualIPs.Range, "Too many virtual IPs for strict mode",
			"%s; an advert lists at most %d addresses (Count IPvX Addr is 8 bits), not %d.", why, maxStrictVIPs, len(inst.VirtualIPs))
	}
	if len(inst.VirtualIPs) > 0 && inst.Family() == 6 && !inst.VirtualIPs[0].Addr().IsLinkLocalUnicast() && len(info.vipRanges) > 0 {
		b.warnf(info.vipRanges[0], "First IPv6 virtual IP is not link-local",
			"RFC 5798 §5.2.9 wants an IPv6 advert's first address to be the virtual router's link-local address; %s is not. keepalived does not insist under vrrp_strict and neither does hawatch, but a strictly conforming peer may log a mismatch.",
			inst.VirtualIPs[0].Addr())
	}
	b.strictGARP(r, inst, why)
	b.strictTiming(r, inst, why)
}

// strictTiming holds the timing knobs to the RFC: Master_Down_Interval of
// 3 intervals, and a master that hears a lower priority discards the
// advert (RFC 5798 §6.4.3) — no advert in answer, no announcement again —
// and yields to a higher one without a last advert. keepalived resets
// down_timer_adverts, lower_prio_no_advert and higher_prio_send_advert
// under vrrp_strict; hawatch's defaults become these and an explicit other
// value is an error.
func (b *builder) strictTiming(r *instanceBlock, inst *Instance, why string) {
	if r.DownTimerAdverts != nil && inst.DownTimerAdverts != 3 {
		b.errorf(r.DownTimerAdverts.Range, "down_timer_adverts is not allowed in strict mode",
			"%s: Master_Down_Interval is 3 advert intervals plus Skew_Time, not %d (keepalived resets it under vrrp_strict).", why, inst.DownTimerAdverts)
	}
	if r.LowerPrioNoAdvert == nil {
		inst.LowerPrioNoAdvert = true
	} else if !inst.LowerPrioNoAdvert {
		b.errorf(r.LowerPrioNoAdvert.Range, "lower_prio_no_advert = false is not allowed in strict mode",
			"%s: a master discards an advert of lower priority instead of answering it (RFC 5798 §6.4.3; keepalived sets lower_prio_no_advert under vrrp_strict).", why)
	}
	if r.HigherPrioSendAdvert != nil && inst.HigherPrioSendAdvert {
		b.errorf(r.HigherPrioSendAdvert.Range, "higher_prio_send_advert is not allowed in strict mode",
			"%s: a master yields to a higher priority without a last advert (keepalived clears higher_prio_send_advert under vrrp_strict).", why)
	}
	g := r.GARP
	if g == nil || g.LowerPrioRepeat == nil {
		inst.GARP.LowerPrioRepeat = 0
	} else if inst.GARP.LowerPrioRepeat != 0 {
		b.errorf(g.LowerPrioRepeat.Range, "garp lower_prio_repeat must be 0 in strict mode",
			"%s: a master that hears a lower priority discards the advert and announces nothing (RFC 5798 §6.4.3), not %d packets.", why, inst.GARP.LowerPrioRepeat)
	}
	if g == nil || g.LowerPrioDelay == nil {
		inst.GARP.LowerPrioDelay = 0
	} else if inst.GARP.LowerPrioDelay != 0 {
		b.errorf(g.LowerPrioDelay.Range, "garp lower_prio_delay must be 0 in strict mode",
			"%s: no announcement on hearing a lower priority, so no second burst of it (%s here).", why, inst.GARP.LowerPrioDelay)
	}
}

// strictGARP makes one announcement per address on takeover, as RFC 5798
// §6.4.1 / RFC 3768 §6.4.1 describe: a single burst of one packet, no
// delayed second burst, no periodic refresh. keepalived resets its repeat
// and refresh settings under vrrp_strict; hawatch's defaults become these
// values and an explicit other value is an error.
func (b *builder) strictGARP(r *instanceBlock, inst *Instance, why string) {
	g := r.GARP
	if g == nil {
		g = &garpBlock{}
	}
	if g.Repeat == nil {
		inst.GARP.Repeat = 1
	} else if inst.GARP.Repeat != 1 {
		b.errorf(g.Repeat.Range, "garp repeat must be 1 in strict mode",
			"%s: one gratuitous ARP / unsolicited NA per address on takeover, not %d (keepalived resets it under vrrp_strict).", why, inst.GARP.Repeat)
	}
	if g.Delay == nil {
		inst.GARP.Delay = 0
	} else if inst.GARP.Delay != 0 {
		b.errorf(g.Delay.Range, "garp delay must be 0 in strict mode",
			"%s: no delayed second burst of announcements (%s here); set \"0s\" or remove it.", why, inst.GARP.Delay)
	}
	if g.Refresh == nil {
		inst.GARP.Refresh = 0
	} else if inst.GARP.Refresh != 0 {
		b.errorf(g.Refresh.Range, "garp refresh must be 0 in strict mode",
			"%s: no periodic re-announcement while master (%s here; keepalived resets it under vrrp_strict); set \"0s\" or remove it.", why, inst.GARP.Refresh)
	}
}

func (b *builder) warnf(subject hcl.Range, summary, format string, args ...any) {
	b.diags = append(b.diags, &hcl.Diagnostic{
		Severity: hcl.DiagWarning,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  subject.Ptr(),
	})
}
