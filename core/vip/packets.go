package vip

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
)

// packetKind is one of the three announcements.
type packetKind uint8

const (
	kindARPRequest packetKind = iota + 1 // gratuitous ARP, request form
	kindARPReply                         // gratuitous ARP, reply form
	kindNA                               // unsolicited neighbour advertisement
)

func (k packetKind) String() string {
	switch k {
	case kindARPRequest:
		return "garp-request"
	case kindARPReply:
		return "garp-reply"
	case kindNA:
		return "unsolicited-na"
	}
	return fmt.Sprintf("packetKind(%d)", uint8(k))
}

// announcement is one packet to send: what and for which address.
type announcement struct {
	kind packetKind
	addr netip.Addr
}

// announcementsFor lists the packets of one send for a set of prefixes.
// Both ARP forms go out because neighbours differ in which one they learn
// from: some only update their cache from requests, some only from replies;
// with replyOnly (Options.GARPReplyOnly) only the reply.
func announcementsFor(prefixes []netip.Prefix, replyOnly bool) []announcement {
	out := make([]announcement, 0, 2*len(prefixes))
	for _, p := range prefixes {
		a := p.Addr()
		switch {
		case a.Is4() && replyOnly:
			out = append(out, announcement{kindARPReply, a})
		case a.Is4():
			out = append(out, announcement{kindARPRequest, a}, announcement{kindARPReply, a})
		default:
			out = append(out, announcement{kindNA, a})
		}
	}
	return out
}

// garpFrame builds a broadcast Ethernet frame carrying a gratuitous ARP for
// vip: sender and target protocol address are both the VIP, the sender
// hardware address is the interface's. The target hardware address of the
// request is the broadcast address, byte for byte what keepalived sends; the
// reply carries the sender's own MAC there (as `arping -A` does), because
// Linux only treats a reply as gratuitous, and lets it override a fresh
// entry or create one under arp_accept, when target and sender MAC match.
func garpFrame(op arp.Operation, mac net.HardwareAddr, vip netip.Addr) ([]byte, error) {
	tha := ethernet.Broadcast
	if op == arp.OperationReply {
		tha = mac
	}
	p, err := arp.NewPacket(op, mac, vip, tha, vip)
	if err != nil {
		return nil, err
	}
	pb, err := p.MarshalBinary()
	if err != nil {
		return nil, err
	}
	f := ethernet.Frame{
		Destination: ethernet.Broadcast,
		Source:      mac,
		EtherType:   ethernet.EtherTypeARP,
		Payload:     pb,
	}
	return f.MarshalBinary()
}

// unsolicitedNA builds the ICMPv6 body of an unsolicited neighbour
// advertisement for vip (RFC 4861 §7.2.6): not solicited, override set so
// that neighbours replace the link-layer address they have cached, and the
// target link-layer address option carrying the interface's MAC. The
// checksum is left to the kernel.
func unsolicitedNA(mac net.HardwareAddr, vip netip.Addr) ([]byte, error) {
	na := &ndp.NeighborAdvertisement{
		Override:      true,
		TargetAddress: vip,
		Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: mac}},
	}
	return ndp.MarshalMessage(na)
}
