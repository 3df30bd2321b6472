package transport

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// Conn is a raw VRRP socket on one interface for one address family.
// ReadPacket and WriteTo may run concurrently (one reader, any writers).
type Conn struct {
	family Family
	ifi    *net.Interface
	local  netip.Addr
	group  netip.Addr
	peers  map[netip.Addr]struct{}

	pc net.PacketConn
	v4 *ipv4.RawConn    // IPv4: IP_HDRINCL, we write the header ourselves
	v6 *ipv6.PacketConn // IPv6: the kernel writes the header

	ipID   atomic.Uint32 // IPv4 identification, like keepalived: 1, 2, 3, ...
	closed atomic.Bool
	drops  dropCounters
}

type dropCounters struct {
	peer, ifIndex, own, truncated, header atomic.Uint64
}

// Listen opens the raw socket for opts. It must run in the network namespace
// of the interface (the socket stays there for its whole life).
func Listen(opts Options) (*Conn, error) {
	if opts.Family != IPv4 && opts.Family != IPv6 {
		return nil, fmt.Errorf("listen %s: %w", opts.Interface, ErrFamily)
	}
	ifi, err := net.InterfaceByName(opts.Interface)
	if err != nil {
		return nil, fmt.Errorf("listen %s %s: %w", opts.Family, opts.Interface, err)
	}
	c := &Conn{family: opts.Family, ifi: ifi, peers: make(map[netip.Addr]struct{}, len(opts.Peers))}
	for _, p := range opts.Peers {
		p = p.WithZone("").Unmap()
		if p.Is4() != (opts.Family == IPv4) {
			return nil, fmt.Errorf("listen %s %s: peer %s: %w", opts.Family, opts.Interface, p, ErrAddressFamily)
		}
		c.peers[p] = struct{}{}
	}
	if opts.Source.IsValid() {
		c.local = opts.Source.WithZone("").Unmap()
		if c.local.Is4() != (opts.Family == IPv4) {
			return nil, fmt.Errorf("listen %s %s: source %s: %w", opts.Family, opts.Interface, c.local, ErrAddressFamily)
		}
	} else if c.local, err = sourceAddr(ifi, opts.Family); err != nil {
		return nil, fmt.Errorf("listen %s %s: %w", opts.Family, opts.Interface, err)
	}

	if opts.Family == IPv4 {
		c.group = GroupIPv4
		err = c.openIPv4(opts.Unicast)
	} else {
		c.group = GroupIPv6
		err = c.openIPv6(opts.Unicast)
	}
	if err != nil {
		if c.pc != nil {
			c.pc.Close()
		}
		return nil, fmt.Errorf("listen %s %s: %w", opts.Family, opts.Interface, err)
	}
	return c, nil
}

func (c *Conn) openIPv4(unicast bool) error {
	pc, err := net.ListenPacket("ip4:112", "0.0.0.0")
	if err != nil {
		return err
	}
	c.pc = pc
	if err := c.socketOptions(unix.IPPROTO_IP, unix.IP_MULTICAST_ALL); err != nil {
		return err
	}
	// NewRawConn turns on IP_HDRINCL: the header keepalived sends (TOS,
	// TTL 255, no DF, counting ID) is only reachable by writing it ourselves.
	rc, err := ipv4.NewRawConn(pc)
	if err != nil {
		return fmt.Errorf("raw conn: %w", err)
	}
	c.v4 = rc
	if err := rc.SetControlMessage(ipv4.FlagInterface, true); err != nil {
		return fmt.Errorf("IP_PKTINFO: %w", err)
	}
	if err := rc.SetMulticastInterface(c.ifi); err != nil {
		return fmt.Errorf("IP_MULTICAST_IF: %w", err)
	}
	if err := rc.SetMulticastLoopback(false); err != nil {
		return fmt.Errorf("IP_MULTICAST_LOOP: %w", err)
	}
	if !unicast {
		if err := rc.JoinGroup(c.ifi, &net.IPAddr{IP: c.group.AsSlice()}); err != nil {
			return fmt.Errorf("join %s: %w", c.group, err)
		}
	}
	return nil
}

func (c *Conn) openIPv6(unicast bool) error {
	pc, err := net.ListenPacket("ip6:112", "::")
	if err != nil {
		return err
	}
	c.pc = pc
	if err := c.socketOptions(unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_ALL); err != nil {
		return err
	}
	// No IPV6_CHECKSUM: the kernel would then drop bad checksums silently,
	// and the layer above must see and count them.
	p := ipv6.NewPacketConn(pc)
	c.v6 = p
	if err := p.SetControlMessage(ipv6.FlagDst|ipv6.FlagHopLimit|ipv6.FlagInterface, true); err != nil {
		return fmt.Errorf("IPV6_RECVPKTINFO/HOPLIMIT: %w", err)
	}
	if err := p.SetTrafficClass(TrafficClass); err != nil {
		return fmt.Errorf("IPV6_TCLASS: %w", err)
	}
	if err := p.SetHopLimit(HopLimit); err != nil {
		return fmt.Errorf("IPV6_UNICAST_HOPS: %w", err)
	}
	if err := p.SetMulticastHopLimit(HopLimit); err != nil {
		return fmt.Errorf("IPV6_MULTICAST_HOPS: %w", err)
	}
	if err := p.SetMulticastInterface(c.ifi); err != nil {
		return fmt.Errorf("IPV6_MULTICAST_IF: %w", err)
	}
	if err := p.SetMulticastLoopback(false); err != nil {
		return fmt.Errorf("IPV6_MULTICAST_LOOP: %w", err)
	}
	if !unicast {
		if err := p.JoinGroup(c.ifi, &net.IPAddr{IP: c.group.AsSlice()}); err != nil {
			return fmt.Errorf("join %s: %w", c.group, err)
		}
	}
	return nil
}

// socketOptions binds the socket to the interface and turns off
// IP(V6)_MULTICAST_ALL, which would otherwise deliver every group any socket
// on the host joined (another instance's, keepalived's) to this one too.
func (c *Conn) socketOptions(level, multicastAll int) error {
	ipc, ok := c.pc.(*net.IPConn)
	if !ok {
		return fmt.Errorf("unexpected socket type %T", c.pc)
	}
	raw, err := ipc.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = raw.Control(func(fd uintptr) {
		if serr = unix.BindToDevice(int(fd), c.ifi.Name); serr != nil {
			serr = fmt.Errorf("SO_BINDTODEVICE %s: %w", c.ifi.Name, serr)
			return
		}
		if serr = unix.SetsockoptInt(int(fd), level, multicastAll, 0); serr != nil {
			serr = fmt.Errorf("MULTICAST_ALL: %w", serr)
		}
	})
	if err != nil {
		return err
	}
	return serr
}

// sourceAddr picks the interface's first IPv4 address (the kernel lists the
// oldest primary first, so an added VIP never displaces it) or its IPv6
// link-local address.
func sourceAddr(ifi *net.Interface, f Family) (netip.Addr, error) {
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("addresses: %w", err)
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(ipn.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		switch {
		case f == IPv4 && ip.Is4():
			return ip, nil
		case f == IPv6 && ip.Is6() && ip.IsLinkLocalUnicast():
			return ip, nil
		}
	}
	if f == IPv6 {
		return netip.Addr{}, fmt.Errorf("%w: no IPv6 link-local address", ErrNoSource)
	}
	return netip.Addr{}, fmt.Errorf("%w: no IPv4 address", ErrNoSource)
}

// ReadPacket blocks until a packet for this socket arrives and returns it.
// Payload aliases buf; a buffer of at least the interface MTU avoids
// truncation. After Close it returns net.ErrClosed.
func (c *Conn) ReadPacket(buf []byte) (Packet, error) {
	for {
		pkt, ok, err := c.readOne(buf)
		if err != nil {
			if c.closed.Load() || errors.Is(err, net.ErrClosed) {
				return Packet{}, net.ErrClosed
			}
			return Packet{}, fmt.Errorf("vrrp transport %s %s: read: %w", c.family, c.ifi.Name, err)
		}
		if ok && c.accept(&pkt) {
			return pkt, nil
		}
	}
}

// readOne reads one datagram; ok=false means it was dropped (and counted).
func (c *Conn) readOne(buf []byte) (Packet, bool, error) {
	if c.v4 != nil {
		h, payload, cm, err := c.v4.ReadFrom(buf)
		if err != nil {
			if isHeaderErr(err) {
				c.drops.header.Add(1)
				return Packet{}, false, nil
			}
			return Packet{}, false, err
		}
		if h.Len+len(payload) < h.TotalLen {
			c.drops.truncated.Add(1)
			return Packet{}, false, nil
		}
		if h.TotalLen >= h.Len && h.TotalLen-h.Len < len(payload) {
			payload = payload[:h.TotalLen-h.Len] // link-layer padding
		}
		src, _ := netip.AddrFromSlice(h.Src.To4())
		dst, _ := netip.AddrFromSlice(h.Dst.To4())
		pkt := Packet{Payload: payload, Src: src, Dst: dst, TTL: h.TTL}
		if cm != nil {
			pkt.IfIndex = cm.IfIndex
		}
		return pkt, true, nil
	}
	n, cm, from, err := c.v6.ReadFrom(buf)
	if err != nil {
		return Packet{}, false, err
	}
	pkt := Packet{Payload: buf[:n]}
	if ipa, ok := from.(*net.IPAddr); ok {
		pkt.Src, _ = netip.AddrFromSlice(ipa.IP)
	}
	if cm != nil {
		pkt.Dst, _ = netip.AddrFromSlice(cm.Dst)
		pkt.TTL = cm.HopLimit
		pkt.IfIndex = cm.IfIndex
	}
	return pkt, true, nil
}

// isHeaderErr tells a header that x/net could not parse (count it, read
// on) from a socket failure (return it). Socket failures carry an
// os.SyscallError or net.ErrClosed.
func isHeaderErr(err error) bool {
	var sysErr *os.SyscallError
	return !errors.As(err, &sysErr) && !errors.Is(err, net.ErrClosed)
}

// accept applies the socket-level filters and normalises the addresses.
func (c *Conn) accept(p *Packet) bool {
	p.Src = p.Src.WithZone("").Unmap()
	p.Dst = p.Dst.WithZone("").Unmap()
	if p.IfIndex != 0 && p.IfIndex != c.ifi.Index {
		c.drops.ifIndex.Add(1)
		return false
	}
	if p.Src == c.local {
		c.drops.own.Add(1)
		return false
	}
	if len(c.peers) > 0 {
		if _, ok := c.peers[p.Src]; !ok {
			c.drops.peer.Add(1)
			return false
		}
	}
	return true
}

// WriteTo sends one VRRP message to dst: the group or a unicast peer.
func (c *Conn) WriteTo(payload []byte, dst netip.Addr) error {
	dst = dst.Unmap()
	if dst.Is4() != (c.family == IPv4) {
		return fmt.Errorf("vrrp transport %s %s: send to %s: %w", c.family, c.ifi.Name, dst, ErrAddressFamily)
	}
	var err error
	if c.v4 != nil {
		h := &ipv4.Header{
			Version:  ipv4.Version,
			Len:      ipv4.HeaderLen,
			TOS:      TrafficClass,
			TotalLen: ipv4.HeaderLen + len(payload),
			// Wraps to 0 after 65535 sends; the kernel then picks one.
			ID:       int(uint16(c.ipID.Add(1))),
			TTL:      HopLimit,
			Protocol: Protocol,
			Src:      c.local.AsSlice(),
			Dst:      dst.AsSlice(),
		}
		err = c.v4.WriteTo(h, payload, nil)
	} else {
		to := &net.IPAddr{IP: dst.AsSlice()}
		if dst.IsLinkLocalUnicast() || dst.IsLinkLocalMulticast() {
			// A numeric zone: a name would be resolved in the calling
			// thread's network namespace, which need not be the socket's.
			to.Zone = strconv.Itoa(c.ifi.Index)
		}
		cm := &ipv6.ControlMessage{Src: c.local.AsSlice(), IfIndex: c.ifi.Index}
		_, err = c.v6.WriteTo(payload, cm, to)
	}
	if err != nil {
		if c.closed.Load() {
			return net.ErrClosed
		}
		return fmt.Errorf("vrrp transport %s %s: send to %s: %w", c.family, c.ifi.Name, dst, err)
	}
	return nil
}

// LocalAddr is the source address written into the IP header (needed for
// the VRRPv3 checksum pseudo-header).
func (c *Conn) LocalAddr() netip.Addr { return c.local }

// Group is the VRRP multicast group of the socket's family.
func (c *Conn) Group() netip.Addr { return c.group }

// Family is the socket's address family.
func (c *Conn) Family() Family { return c.family }

// Interface is the interface the socket is bound to.
func (c *Conn) Interface() *net.Interface { return c.ifi }

// Close closes the socket; a blocked ReadPacket returns net.ErrClosed.
func (c *Conn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	if err := c.pc.Close(); err != nil {
		return fmt.Errorf("vrrp transport %s %s: close: %w", c.family, c.ifi.Name, err)
	}
	return nil
}

// Drops returns a snapshot of the transport-level drop counters by reason
// (DropPeer, DropIfIndex, DropOwn, DropTruncated, DropHeader); every reason
// is present, zero or not.
func (c *Conn) Drops() map[string]uint64 {
	return map[string]uint64{
		DropPeer:      c.drops.peer.Load(),
		DropIfIndex:   c.drops.ifIndex.Load(),
		DropOwn:       c.drops.own.Load(),
		DropTruncated: c.drops.truncated.Load(),
		DropHeader:    c.drops.header.Load(),
	}
}
