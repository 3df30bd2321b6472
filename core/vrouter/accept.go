package vrouter

// Fencing is what should happen to the rule that keeps a master without
// accept mode from accepting traffic addressed to its VIPs.
type Fencing uint8

const (
	FenceKeep Fencing = iota // leave it as it is
	FenceDrop                // drop traffic to (and from) the instance's VIPs
	FenceLift                // accept it again
)

// fencing decides the fence for a VIP intent: acquire says the intent takes
// the addresses (becoming master), otherwise it releases them.
//
// RFC 5798 §6.1 Accept_Mode: a master that is not the address owner
// accepts packets addressed to the virtual addresses only when Accept_Mode
// is True; §6.4.3 has the master drop them otherwise (RFC 3768 §6.4.3 for
// VRRPv2, which has no accept mode at all). The address owner (priority
// 255) always accepts: the addresses are its own (§6.4.3, "MUST accept
// ... if it is the IPvX address owner"). The fence goes up with the
// addresses, before any packet can reach them, and comes down when they
// are released: a backup holds no VIP, so there is nothing to fence.
func (r *Router) fencing(acquire bool) Fencing {
	switch {
	case !r.noAccept || r.m.Owner():
		return FenceKeep
	case acquire:
		return FenceDrop
	default:
		return FenceLift
	}
}
