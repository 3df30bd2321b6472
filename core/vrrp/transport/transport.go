// Package transport moves VRRP messages on and off the wire: one raw IP
// protocol 112 socket per interface and address family, bound to the
// interface, in multicast (224.0.0.18 / ff02::12) or unicast mode.
//
// It is byte-level on purpose: it neither parses nor validates VRRP. It hands
// up each message with the facts only the socket knows (source, destination,
// TTL / hop limit, arrival interface) and drops only what is not meant for
// this socket (our own packets, sources outside the unicast allow-list),
// counting each drop by reason. Demultiplexing by VRID and every RFC check,
// including the TTL 255 rule, happen above.
//
// On send it produces the IP header keepalived 2.2.7 produces: TOS / traffic
// class 0xc0 (DSCP CS6), TTL / hop limit 255 (also for unicast), IPv4 without
// the DF bit. The source is the interface's primary IPv4 or its IPv6
// link-local address unless Options.Source overrides it. The kernel never
// computes or checks the VRRP checksum (no IPV6_CHECKSUM): the codec does
// both, with LocalAddr for the pseudo-header, so bad checksums stay visible
// and countable above.
package transport

import (
	"errors"
	"net/netip"
	"time"
)

// Family selects IPv4 or IPv6.
type Family int

// Families.
const (
	IPv4 Family = 4
	IPv6 Family = 6
)

func (f Family) String() string {
	switch f {
	case IPv4:
		return "IPv4"
	case IPv6:
		return "IPv6"
	}
	return "Family(?)"
}

// Protocol is VRRP's IP protocol number.
const Protocol = 112

// HopLimit is the TTL / hop limit VRRP packets are sent with (RFC 5798 §5.1.1.3).
const HopLimit = 255

// TrafficClass is the TOS / IPv6 traffic class byte keepalived uses: DSCP CS6.
const TrafficClass = 0xc0

// The VRRP multicast groups (RFC 5798 §5.1.1.2, §5.1.2.2).
var (
	GroupIPv4 = netip.MustParseAddr("224.0.0.18")
	GroupIPv6 = netip.MustParseAddr("ff02::12")
)

// Drop reasons reported by Conn.Drops.
const (
	DropPeer      = "peer"      // source not in the unicast allow-list
	DropIfIndex   = "ifindex"   // arrived on another interface
	DropOwn       = "own"       // our own packet (source = our address)
	DropTruncated = "truncated" // buffer shorter than the IPv4 datagram
	DropHeader    = "header"    // unparsable IPv4 header from the kernel
)

// Exported sentinel errors.
var (
	// ErrUnsupported is returned on systems without the Linux raw socket API.
	ErrUnsupported = errors.New("vrrp transport: raw IP sockets are only supported on Linux")
	// ErrFamily is returned for a Family other than IPv4 or IPv6.
	ErrFamily = errors.New("vrrp transport: family must be 4 or 6")
	// ErrNoSource is returned when the interface has no address to send from.
	ErrNoSource = errors.New("vrrp transport: no source address on interface")
	// ErrAddressFamily is returned when an address does not match the socket's family.
	ErrAddressFamily = errors.New("vrrp transport: address of the wrong family")
	// ErrWouldBlock is returned by TryReadPacket when no packet is queued.
	ErrWouldBlock = errors.New("vrrp transport: no packet queued")
	// ErrPolled is returned by ReadPacket on a polled socket.
	ErrPolled = errors.New("socket is polled by its owner: use TryReadPacket")
	// ErrNotPolled is returned by TryReadPacket on a socket in the Go poller.
	ErrNotPolled = errors.New("socket is not polled (Options.Polled): use ReadPacket")
)

// Options configures Listen.
type Options struct {
	Interface string
	Family    Family
	// Unicast skips joining the multicast group; packets go to the peers
	// the caller names in WriteTo.
	Unicast bool
	// Source overrides the source address (keepalived's unicast_src_ip).
	Source netip.Addr
	// SourceInterface is the interface whose address is the source when
	// Source is not set; empty means Interface. A socket on a virtual MAC
	// macvlan, which has no address of its own, sends from its parent's
	// primary address, as keepalived does.
	SourceInterface string
	// Peers, when not empty, is an allow-list: packets from other sources
	// are dropped and counted as DropPeer. Meant for unicast mode, applied in
	// either mode. IPv6 zones are ignored when comparing.
	Peers []netip.Addr
	// Polled leaves the socket out of the Go runtime's network poller: its
	// owner waits for FD with its own epoll and reads with TryReadPacket
	// (ReadPacket is refused). A loop that owns its sockets then wakes once
	// per packet, where a reading goroutine costs a wake-up in the poller and
	// another in the goroutine it hands the packet to.
	Polled bool
	// UnicastTTL is the TTL / hop limit of packets sent to unicast
	// destinations (keepalived's unicast_ttl); 0 means HopLimit. Packets to
	// the multicast group always carry HopLimit.
	UnicastTTL uint8
}

// Packet is one received VRRP message.
type Packet struct {
	// Payload is the VRRP message with the IP header stripped; it aliases
	// the buffer passed to ReadPacket.
	Payload []byte
	// Src and Dst come from the IP header (IPv4) or the socket's control
	// messages (IPv6); Src carries no IPv6 zone, IfIndex says where it came from.
	Src, Dst netip.Addr
	// TTL is the IPv4 TTL or the IPv6 hop limit as received.
	TTL     int
	IfIndex int
	// At is when the kernel received the packet (SO_TIMESTAMPNS), on the
	// monotonic clock of time.Now: a packet that waited in the socket queue
	// while its reader was late carries the time it arrived.
	At time.Time
}
