package vip

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv6"
)

const etherTypeARP = 0x0806

// allNodes is where unsolicited neighbour advertisements go (RFC 4861 §7.2.6).
var allNodes = netip.MustParseAddr("ff02::1")

// packetSender writes announcements on one interface. Its sockets are opened
// on first use (an IPv4-only interface never opens the ICMPv6 one) in the
// interface's namespace and only ever written: both carry a filter that
// drops everything inbound so they do not queue the segment's traffic.
type packetSender struct {
	ifindex int
	mac     net.HardwareAddr
	netns   string

	mu     sync.Mutex
	closed bool
	arp    *packet.Conn
	nd     *ipv6.PacketConn
}

func (s *packetSender) send(a announcement) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	switch a.kind {
	case kindARPRequest, kindARPReply:
		op := arp.OperationRequest
		if a.kind == kindARPReply {
			op = arp.OperationReply
		}
		frame, err := garpFrame(op, s.mac, a.addr)
		if err != nil {
			return err
		}
		if s.arp == nil {
			if err := inNetNS(s.netns, s.openARP); err != nil {
				return err
			}
		}
		_, err = s.arp.WriteTo(frame, &packet.Addr{HardwareAddr: ethernet.Broadcast})
		return err
	case kindNA:
		msg, err := unsolicitedNA(s.mac, a.addr)
		if err != nil {
			return err
		}
		if s.nd == nil {
			if err := inNetNS(s.netns, s.openND); err != nil {
				return err
			}
		}
		// The source is the VIP itself, as the kernel does for its own
		// unsolicited advertisements; the interface index in the control
		// message picks the link, so no zone name is resolved (names can
		// mean another interface in another namespace).
		cm := &ipv6.ControlMessage{HopLimit: 255, Src: a.addr.AsSlice(), IfIndex: s.ifindex}
		_, err = s.nd.WriteTo(msg, cm, &net.IPAddr{IP: allNodes.AsSlice()})
		return err
	}
	return fmt.Errorf("unknown announcement kind %v", a.kind)
}

// dropAll is a socket filter that accepts no packet.
func dropAll() ([]bpf.RawInstruction, error) {
	return bpf.Assemble([]bpf.Instruction{bpf.RetConstant{Val: 0}})
}

func (s *packetSender) openARP() error {
	filter, err := dropAll()
	if err != nil {
		return err
	}
	c, err := packet.Listen(&net.Interface{Index: s.ifindex}, packet.Raw, etherTypeARP, &packet.Config{Filter: filter})
	if err != nil {
		return fmt.Errorf("open ARP socket: %w", err)
	}
	s.arp = c
	return nil
}

func (s *packetSender) openND() error {
	c, err := icmp.ListenPacket("ip6:ipv6-icmp", "::")
	if err != nil {
		return fmt.Errorf("open ICMPv6 socket: %w", err)
	}
	pc := c.IPv6PacketConn()
	var block ipv6.ICMPFilter
	block.SetAll(true)
	// RFC 4861 §7.1.2: neighbours drop ND messages with a hop limit
	// other than 255.
	if err := errors.Join(
		pc.SetHopLimit(255),
		pc.SetMulticastHopLimit(255),
		pc.SetChecksum(true, 2),
		pc.SetICMPFilter(&block),
		pc.SetMulticastInterface(&net.Interface{Index: s.ifindex}),
	); err != nil {
		_ = c.Close()
		return fmt.Errorf("set up ICMPv6 socket: %w", err)
	}
	s.nd = pc
	return nil
}

func (s *packetSender) rebind(index int, mac net.HardwareAddr) (func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	// Both sockets name the old index (the packet socket is bound to it,
	// the ICMPv6 one sends there); the next send opens new ones. Closing a
	// socket of a vanished device fails for no reason worth reporting.
	arpConn, nd := s.arp, s.nd
	s.arp, s.nd = nil, nil
	s.ifindex, s.mac = index, mac
	return func() {
		if arpConn != nil {
			_ = arpConn.Close()
		}
		if nd != nil {
			_ = nd.Close()
		}
	}, nil
}

func (s *packetSender) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	var errs []error
	if s.arp != nil {
		errs = append(errs, s.arp.Close())
	}
	if s.nd != nil {
		errs = append(errs, s.nd.Close())
	}
	return errors.Join(errs...)
}
