package convert

import "strings"

// vmacConf is what use_vmac and vmac_xmit_base said in one instance.
type vmacConf struct {
	line     int
	name     string // "" = keepalived's default, vrrp.VRID (also hawatch's)
	xmitBase bool
	xmitLine int
}

// vmacStmt reads use_vmac [NAME [MAC]], vmac_xmit_base and use_ipvlan.
func (c *converter) vmacStmt(in *instance, e *stmt) {
	notes := &in.notes
	args := e.Args()
	switch e.Keyword() {
	case "use_vmac":
		if in.vmac == nil {
			in.vmac = &vmacConf{}
		}
		in.vmac.line = e.Line
		if len(args) > 0 {
			in.vmac.name = args[0]
		}
		if len(args) > 1 {
			c.warn(notes, e.Line, "use_vmac MAC %s not converted: hawatch always uses the RFC 5798 virtual router MAC 00:00:5e:00:01:VRID", args[1])
		}
		if len(args) > 2 {
			c.warn(notes, e.Line, "use_vmac: %q not understood; ignored", strings.Join(args[2:], " "))
		}
	case "vmac_xmit_base":
		if in.vmac == nil {
			in.vmac = &vmacConf{}
		}
		in.vmac.xmitBase, in.vmac.xmitLine = true, e.Line
	case "use_ipvlan":
		c.warn(notes, e.Line, "use_ipvlan not converted: an ipvlan shares its parent's MAC, so it moves nothing on a failover; "+
			"hawatch keeps the VIPs on the instance's interface (use a vmac block for a MAC that moves with the VIPs)")
	}
}

// renderVMAC writes the vmac {} block, or says why it cannot be one.
func (c *converter) renderVMAC(in *instance) {
	v := in.vmac
	if v == nil {
		return
	}
	notes := &in.notes
	if v.line == 0 {
		c.warn(notes, v.xmitLine, "vmac_xmit_base without use_vmac has no effect (keepalived ignores it too); dropped")
		return
	}
	switch {
	case in.vipFamily == 6:
		c.warn(notes, v.line, "use_vmac not converted: hawatch has no virtual MAC for IPv6 instances yet; the VIPs stay on %s", in.iface)
		return
	case in.prio == ownerPriority:
		c.warn(notes, v.line, "use_vmac not converted: the address owner's VIPs are its own addresses on %s and stay there", in.iface)
		return
	}
	sub := []kv{} // an empty vmac {} is a block too
	if v.name != "" {
		sub = append(sub, kv{k: "name", v: quote(v.name)})
	}
	xmit := v.xmitBase
	if len(in.peers) > 0 && !xmit {
		c.warn(notes, v.line, "use_vmac with unicast peers: xmit_base = true added (keepalived requires vmac_xmit_base there, and so does hawatch)")
		xmit = true
	}
	if xmit {
		sub = append(sub, kv{k: "xmit_base", v: "true"})
	}
	in.out = append(in.out, kv{k: "vmac", sub: sub})
}
