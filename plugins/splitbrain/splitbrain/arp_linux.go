package splitbrain

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/packet"
)

const etherTypeARP = 0x0806

var broadcastMAC = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// packetARP is an arpConn on an AF_PACKET socket bound to ARP on one
// interface (needs CAP_NET_RAW). It builds frames itself rather than use
// arp.Client, which insists on an IPv4 address on the interface and sends
// requests from it.
type packetARP struct {
	ifi  *net.Interface
	conn *packet.Conn
	buf  []byte
}

func dialARP(iface string) (arpConn, error) {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("interface %s: %w", iface, err)
	}
	if len(ifi.HardwareAddr) != 6 {
		return nil, fmt.Errorf("interface %s: no Ethernet address", iface)
	}
	c, err := packet.Listen(ifi, packet.Raw, etherTypeARP, nil)
	if err != nil {
		return nil, fmt.Errorf("arp socket on %s: %w", iface, err)
	}
	return &packetARP{ifi: ifi, conn: c, buf: make([]byte, 1500)}, nil
}

func (a *packetARP) Probe(ip netip.Addr) error {
	p, err := arp.NewPacket(arp.OperationRequest, a.ifi.HardwareAddr, netip.IPv4Unspecified(),
		net.HardwareAddr{0, 0, 0, 0, 0, 0}, ip)
	if err != nil {
		return err
	}
	body, err := p.MarshalBinary()
	if err != nil {
		return err
	}
	frame := make([]byte, etherHdrLen, etherHdrLen+len(body))
	copy(frame[0:6], broadcastMAC)
	copy(frame[6:12], a.ifi.HardwareAddr)
	binary.BigEndian.PutUint16(frame[12:14], etherTypeARP)
	frame = append(frame, body...)
	_, err = a.conn.WriteTo(frame, &packet.Addr{HardwareAddr: broadcastMAC})
	return err
}

func (a *packetARP) Read() (*arp.Packet, error) {
	for {
		n, _, err := a.conn.ReadFrom(a.buf)
		if err != nil {
			return nil, err
		}
		if n < etherHdrLen || binary.BigEndian.Uint16(a.buf[12:14]) != etherTypeARP {
			continue
		}
		p := new(arp.Packet)
		if err := p.UnmarshalBinary(a.buf[etherHdrLen:n]); err != nil {
			continue // not Ethernet/IPv4 ARP
		}
		return p, nil
	}
}

func (a *packetARP) SetReadDeadline(t time.Time) error { return a.conn.SetReadDeadline(t) }
func (a *packetARP) HardwareAddr() net.HardwareAddr    { return a.ifi.HardwareAddr }
func (a *packetARP) Close() error                      { return a.conn.Close() }
