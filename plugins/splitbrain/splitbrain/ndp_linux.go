package splitbrain

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"
)

// packetNDP is an ndpConn on an AF_PACKET socket bound to IPv6 on one
// interface (needs CAP_NET_RAW). A raw ICMPv6 socket would sit behind
// netfilter and hide the Ethernet source; this one sees what the wire
// carries, as the ARP path does.
type packetNDP struct {
	ifi  *net.Interface
	src  netip.Addr
	conn *packet.Conn
	buf  []byte
}

// ndpFilter lets only ICMPv6 neighbour solicitations and advertisements
// (without extension headers) through, so the rest of the IPv6 traffic
// stays in the kernel.
var ndpFilter = mustAssemble([]bpf.Instruction{
	bpf.LoadAbsolute{Off: 12, Size: 2},
	bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: etherTypeIPv6, SkipTrue: 5},
	bpf.LoadAbsolute{Off: etherHdrLen + 6, Size: 1}, // next header
	bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: protoICMPv6, SkipTrue: 3},
	bpf.LoadAbsolute{Off: etherHdrLen + ipv6HdrLen, Size: 1}, // ICMPv6 type
	bpf.JumpIf{Cond: bpf.JumpLessThan, Val: icmpNS, SkipTrue: 1},
	bpf.JumpIf{Cond: bpf.JumpLessOrEqual, Val: icmpNA, SkipTrue: 1},
	bpf.RetConstant{Val: 0},
	bpf.RetConstant{Val: 0xffff},
})

func mustAssemble(prog []bpf.Instruction) []bpf.RawInstruction {
	raw, err := bpf.Assemble(prog)
	if err != nil {
		panic(err)
	}
	return raw
}

func dialNDP(iface string, vip netip.Addr) (ndpConn, error) {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("interface %s: %w", iface, err)
	}
	if len(ifi.HardwareAddr) != 6 {
		return nil, fmt.Errorf("interface %s: no Ethernet address", iface)
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil, fmt.Errorf("interface %s: addresses: %w", iface, err)
	}
	var own []netip.Addr
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				own = append(own, ip)
			}
		}
	}
	c, err := packet.Listen(ifi, packet.Raw, etherTypeIPv6, &packet.Config{Filter: ndpFilter})
	if err != nil {
		return nil, fmt.Errorf("ndp socket on %s: %w", iface, err)
	}
	return &packetNDP{ifi: ifi, src: probeSource(own, vip), conn: c, buf: make([]byte, 1500)}, nil
}

func (n *packetNDP) Solicit(ip netip.Addr) error {
	frame := buildNS(n.ifi.HardwareAddr, n.src, ip)
	_, err := n.conn.WriteTo(frame, &packet.Addr{HardwareAddr: frame[0:6]})
	return err
}

func (n *packetNDP) ReadFrame() ([]byte, error) {
	k, _, err := n.conn.ReadFrom(n.buf)
	if err != nil {
		return nil, err
	}
	return n.buf[:k], nil
}

func (n *packetNDP) Source() netip.Addr                { return n.src }
func (n *packetNDP) SetReadDeadline(t time.Time) error { return n.conn.SetReadDeadline(t) }
func (n *packetNDP) HardwareAddr() net.HardwareAddr    { return n.ifi.HardwareAddr }
func (n *packetNDP) Close() error                      { return n.conn.Close() }
