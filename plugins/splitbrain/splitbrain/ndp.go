package splitbrain

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
)

// The IPv6 path asks the segment who owns the VIP with a neighbour
// solicitation (RFC 4861 §7.2.2) sent to the VIP's solicited-node
// multicast group; the owner's kernel answers with a neighbour
// advertisement carrying its link-layer address. Frames are built and read
// whole (Ethernet, IPv6, ICMPv6) on an AF_PACKET socket, as the ARP path
// does: below netfilter, and with the Ethernet source in view.

const (
	etherTypeIPv6 = 0x86dd
	ipv6HdrLen    = 40
	protoICMPv6   = 58

	icmpNS = 135 // neighbour solicitation
	icmpNA = 136 // neighbour advertisement

	// An NS or NA body: type, code, checksum, 4 bytes of flags/reserved,
	// the 16-byte target (RFC 4861 §4.3, §4.4).
	ndBodyLen = 24

	optSourceLL = 1 // source link-layer address option
	optTargetLL = 2 // target link-layer address option

	// ndHopLimit is the only hop limit a node accepts NDP with (RFC 4861
	// §7.1.1, §7.1.2): proof the packet was not forwarded by a router.
	ndHopLimit = 255
)

// ndpPacket is what the guard reads from a neighbour solicitation or
// advertisement frame.
type ndpPacket struct {
	ethSrc net.HardwareAddr // the frame's Ethernet source
	src    netip.Addr       // IPv6 source (:: for a DAD probe)
	typ    uint8            // icmpNS or icmpNA
	target netip.Addr
	// lladdr is the source link-layer option of an NS, or the target
	// link-layer option of an NA; nil when absent.
	lladdr net.HardwareAddr
}

// parseNDP decodes an Ethernet frame carrying an ICMPv6 neighbour
// solicitation or advertisement. Errors name the byte offset in the
// frame of what is wrong. Extension headers are not followed: NDP is sent
// without them. The ICMPv6 checksum is verified, as the kernel does
// before it believes an advertisement.
func parseNDP(frame []byte) (ndpPacket, error) {
	var p ndpPacket
	if len(frame) < etherHdrLen+ipv6HdrLen+ndBodyLen {
		return p, fmt.Errorf("ndp: frame of %d bytes, want at least %d", len(frame), etherHdrLen+ipv6HdrLen+ndBodyLen)
	}
	if et := binary.BigEndian.Uint16(frame[12:14]); et != etherTypeIPv6 {
		return p, fmt.Errorf("ndp: byte 12: ethertype %#04x, not IPv6", et)
	}
	ip := frame[etherHdrLen:]
	if v := ip[0] >> 4; v != 6 {
		return p, fmt.Errorf("ndp: byte %d: IP version %d, not 6", etherHdrLen, v)
	}
	if nh := ip[6]; nh != protoICMPv6 {
		return p, fmt.Errorf("ndp: byte %d: next header %d, not ICMPv6", etherHdrLen+6, nh)
	}
	if hl := ip[7]; hl != ndHopLimit {
		return p, fmt.Errorf("ndp: byte %d: hop limit %d, not 255 (off-link or forwarded)", etherHdrLen+7, hl)
	}
	plen := int(binary.BigEndian.Uint16(ip[4:6]))
	if plen > len(ip)-ipv6HdrLen {
		return p, fmt.Errorf("ndp: byte %d: payload length %d, but only %d bytes follow the IPv6 header",
			etherHdrLen+4, plen, len(ip)-ipv6HdrLen)
	}
	// Ethernet may pad a short frame; the payload length says where the
	// message ends.
	body := ip[ipv6HdrLen : ipv6HdrLen+plen]
	bodyAt := etherHdrLen + ipv6HdrLen
	if len(body) < ndBodyLen {
		return p, fmt.Errorf("ndp: byte %d: ICMPv6 message of %d bytes, want at least %d", bodyAt, len(body), ndBodyLen)
	}
	p.typ = body[0]
	if p.typ != icmpNS && p.typ != icmpNA {
		return p, fmt.Errorf("ndp: byte %d: ICMPv6 type %d, not a neighbour solicitation or advertisement", bodyAt, p.typ)
	}
	if body[1] != 0 {
		return p, fmt.Errorf("ndp: byte %d: ICMPv6 code %d, want 0", bodyAt+1, body[1])
	}
	src, dst := [16]byte(ip[8:24]), [16]byte(ip[24:40])
	if sum := icmpv6Checksum(src, dst, body); sum != 0 {
		return p, fmt.Errorf("ndp: byte %d: bad ICMPv6 checksum %#04x", bodyAt+2, binary.BigEndian.Uint16(body[2:4]))
	}
	p.src = netip.AddrFrom16(src)
	p.target = netip.AddrFrom16([16]byte(body[8:24]))
	if p.target.IsMulticast() {
		return p, fmt.Errorf("ndp: byte %d: multicast target %s", bodyAt+8, p.target)
	}
	want := uint8(optTargetLL)
	if p.typ == icmpNS {
		want = optSourceLL
	}
	for off := ndBodyLen; off < len(body); {
		if len(body)-off < 2 {
			return p, fmt.Errorf("ndp: byte %d: truncated option", bodyAt+off)
		}
		n := int(body[off+1]) * 8
		if n == 0 {
			return p, fmt.Errorf("ndp: byte %d: option of length 0", bodyAt+off+1)
		}
		if off+n > len(body) {
			return p, fmt.Errorf("ndp: byte %d: option of %d bytes, only %d left", bodyAt+off, n, len(body)-off)
		}
		// An Ethernet link-layer option is 8 bytes: type, length, MAC.
		if body[off] == want && n == 8 && p.lladdr == nil {
			p.lladdr = net.HardwareAddr(append([]byte(nil), body[off+2:off+8]...))
		}
		off += n
	}
	if p.typ == icmpNS && p.src.IsUnspecified() && p.lladdr != nil {
		// RFC 4861 §7.1.1: a DAD probe carries no source link-layer option.
		return p, fmt.Errorf("ndp: byte %d: solicitation from :: with a source link-layer option", bodyAt)
	}
	p.ethSrc = net.HardwareAddr(append([]byte(nil), frame[6:12]...))
	return p, nil
}

// claimant returns the link-layer address with which p claims vip: an
// advertisement for it (the answer to our probe, or the unsolicited one a
// new master sends), or a solicitation sent from it (its owner resolving a
// neighbour). ok is false when p says nothing about who owns vip; a DAD
// probe for it comes from a node that does not own it yet.
func claimant(p ndpPacket, vip netip.Addr) (mac net.HardwareAddr, ok bool) {
	switch {
	case p.typ == icmpNA && p.target == vip:
	case p.typ == icmpNS && p.src == vip:
	default:
		return nil, false
	}
	if p.lladdr != nil {
		return p.lladdr, true
	}
	// A solicited advertisement sent to a unicast address may leave the
	// option out; the frame's source is then the owner's address.
	return p.ethSrc, true
}

// solicitedNode is the solicited-node multicast address of a (RFC 4291
// §2.7.1): ff02::1:ff and a's last 24 bits.
func solicitedNode(a netip.Addr) netip.Addr {
	b := a.As16()
	return netip.AddrFrom16([16]byte{0xff, 0x02, 10: 0, 11: 0x01, 12: 0xff, 13: b[13], 14: b[14], 15: b[15]})
}

// ipv6MulticastMAC is the Ethernet group address for an IPv6 multicast
// address (RFC 2464 §7): 33:33 and its last 32 bits.
func ipv6MulticastMAC(a netip.Addr) net.HardwareAddr {
	b := a.As16()
	return net.HardwareAddr{0x33, 0x33, b[12], b[13], b[14], b[15]}
}

// buildNS builds the frame of a neighbour solicitation for target from
// src (a link-local or other address of the interface, or :: for a DAD
// style probe) and mac, to target's solicited-node group, hop limit 255.
// A solicitation from an address carries the source link-layer option, so
// the owner can answer it at once; one from :: must not (RFC 4861 §4.3),
// and the owner answers it to all nodes (RFC 4862 §5.4.3).
func buildNS(mac net.HardwareAddr, src, target netip.Addr) []byte {
	dst := solicitedNode(target)
	body := make([]byte, ndBodyLen, ndBodyLen+8)
	body[0] = icmpNS
	t := target.As16()
	copy(body[8:24], t[:])
	if !src.IsUnspecified() {
		body = append(body, optSourceLL, 1)
		body = append(body, mac[:6]...)
	}
	s, d := src.As16(), dst.As16()
	binary.BigEndian.PutUint16(body[2:4], icmpv6Checksum(s, d, body))

	f := make([]byte, 0, etherHdrLen+ipv6HdrLen+len(body))
	f = append(f, ipv6MulticastMAC(dst)...)
	f = append(f, mac[:6]...)
	f = binary.BigEndian.AppendUint16(f, etherTypeIPv6)
	f = append(f, 0x60, 0, 0, 0) // version 6, traffic class and flow label 0
	f = binary.BigEndian.AppendUint16(f, uint16(len(body)))
	f = append(f, protoICMPv6, ndHopLimit)
	f = append(f, s[:]...)
	f = append(f, d[:]...)
	return append(f, body...)
}

// icmpv6Checksum is the ICMPv6 checksum over the pseudo-header of src and
// dst (RFC 8200 §8.1) and msg. Computed over a message with its checksum
// field zero it is the value to put there; over a received message it is
// zero when the checksum is right.
func icmpv6Checksum(src, dst [16]byte, msg []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for len(b) >= 2 {
			sum += uint32(b[0])<<8 | uint32(b[1])
			b = b[2:]
		}
		if len(b) == 1 {
			sum += uint32(b[0]) << 8
		}
	}
	add(src[:])
	add(dst[:])
	sum += uint32(len(msg)>>16) + uint32(len(msg)&0xffff)
	sum += protoICMPv6
	add(msg)
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// probeSource picks the solicitation's source among the interface's
// addresses: its link-local address (the scope neighbour discovery lives
// in; the owner answers it with a unicast advertisement only we see), else
// another IPv6 address of it other than the VIP (an owner would take an
// NS from the VIP for its own), else :: (a DAD style probe; the owner
// answers it to all nodes, with the override flag, so hosts that have the
// VIP cached relearn it from whichever owner answers: the last resort).
func probeSource(addrs []netip.Addr, vip netip.Addr) netip.Addr {
	other := netip.IPv6Unspecified()
	for _, a := range addrs {
		if !a.Is6() || a.Is4In6() || a == vip || a.IsMulticast() || a.IsLoopback() || a.IsUnspecified() {
			continue
		}
		if a.IsLinkLocalUnicast() {
			return a.WithZone("")
		}
		if other.IsUnspecified() {
			other = a
		}
	}
	return other
}
