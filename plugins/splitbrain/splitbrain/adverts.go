package splitbrain

import (
	"net"
	"net/netip"
	"time"
)

// etherHdrLen is an Ethernet header's length (no VLAN tag: AF_PACKET hands
// frames over with the tag stripped).
const etherHdrLen = 14

// seenAdvert is one VRRP advert seen on the wire: the Ethernet source (the
// sender's interface, or its virtual MAC), the IP source, VRID, priority,
// and the kernel's receive time.
type seenAdvert struct {
	mac  net.HardwareAddr
	from netip.Addr
	vrid uint8
	prio uint8
	at   time.Time
}

// advertSource is a listener for VRRP adverts on the interface, opened
// once and drained at every check: the kernel queues what arrives between
// checks, so a check sees every advert (a hung daemon sends none), even at
// advert intervals shorter than its ARP window.
type advertSource interface {
	// Drain returns the adverts queued since the last call, without
	// waiting.
	Drain() ([]seenAdvert, error)
	Close() error
}

// parseVRRP reads an advert's source, VRID and priority from an Ethernet
// frame carrying IPv4 or IPv6 protocol 112 (the socket's filter lets only
// those through). Only the fields the guard needs are read: the engine's
// codec judges the rest.
func parseVRRP(frame []byte) (mac net.HardwareAddr, from netip.Addr, vrid, prio uint8, ok bool) {
	if len(frame) < etherHdrLen {
		return nil, netip.Addr{}, 0, 0, false
	}
	mac = net.HardwareAddr(frame[6:12])
	ip := frame[etherHdrLen:]
	var vrrp []byte
	switch uint16(frame[12])<<8 | uint16(frame[13]) {
	case 0x0800:
		if len(ip) < 20 || ip[0]>>4 != 4 || ip[9] != 112 {
			return nil, netip.Addr{}, 0, 0, false
		}
		hl := int(ip[0]&0x0f) * 4
		if hl < 20 || len(ip) < hl+4 {
			return nil, netip.Addr{}, 0, 0, false
		}
		from = netip.AddrFrom4([4]byte(ip[12:16]))
		vrrp = ip[hl:]
	case 0x86dd:
		// No extension headers: VRRP over IPv6 is sent without them.
		if len(ip) < 40+4 || ip[0]>>4 != 6 || ip[6] != 112 {
			return nil, netip.Addr{}, 0, 0, false
		}
		from = netip.AddrFrom16([16]byte(ip[8:24]))
		vrrp = ip[40:]
	default:
		return nil, netip.Addr{}, 0, 0, false
	}
	if v := vrrp[0] >> 4; (v != 2 && v != 3) || vrrp[0]&0x0f != 1 {
		return nil, netip.Addr{}, 0, 0, false // not an advertisement
	}
	return mac, from, vrrp[1], vrrp[2], true
}
