package transport

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// Conn is a raw VRRP socket on one interface for one address family.
// It is safe for concurrent use; reads are serialised, as are writes.
//
// x/net sets the socket up; packets move through recvmsg/sendmsg on the raw
// descriptor with reused buffers, so the hot path allocates next to nothing
// (x/net's own path costs tens of allocations per packet, and resolves IPv6
// zones with an interface dump).
type Conn struct {
	family Family
	ifi    *net.Interface
	local  netip.Addr
	group  netip.Addr
	peers  map[netip.Addr]struct{}
	ttl    uint8 // for unicast destinations

	pc  net.PacketConn
	raw syscall.RawConn
	v4  *ipv4.RawConn    // IPv4 setup: IP_HDRINCL, we write the header ourselves
	v6  *ipv6.PacketConn // IPv6 setup: the kernel writes the header

	ipID   atomic.Uint32 // IPv4 identification, like keepalived: 1, 2, 3, ...
	closed atomic.Bool
	drops  dropCounters

	// polled: the descriptor fd is outside the Go runtime's poller
	// (Options.Polled); pc is closed and raw is not used.
	polled bool
	fd     int

	rmu    sync.Mutex
	rx     recvState
	rbuf   []byte
	rn     int
	roobn  int
	rflags int
	rerr   error
	readFn func(fd uintptr) bool

	wmu      sync.Mutex
	wbuf     []byte // what goes out: IPv4 header + payload, or IPv6 payload
	woob     []byte // IPv6: IPV6_PKTINFO with our source and interface
	tx       sendState
	wscratch []byte // IPv4 header + payload
	werr     error
	writeFn  func(fd uintptr) bool
}

// sendState is sendmsg's header and destination, reused for every send.
type sendState struct {
	msg unix.Msghdr
	iov unix.Iovec
	to4 unix.RawSockaddrInet4
	to6 unix.RawSockaddrInet6
}

// sendmsg sends c.wbuf to the destination set in c.tx (to4 or to6 by
// family). Like recvmsg it is a raw system call: the descriptor is
// non-blocking, so the call never blocks, and skipping the Go runtime's
// system-call bookkeeping spares a wake-up of its monitor thread after
// each idle period.
func (c *Conn) sendmsg(fd int) error {
	w := &c.tx
	w.iov.Base = &c.wbuf[0]
	w.iov.SetLen(len(c.wbuf))
	w.msg.Iov = &w.iov
	w.msg.SetIovlen(1)
	if c.family == IPv4 {
		w.msg.Name = (*byte)(unsafe.Pointer(&w.to4))
		w.msg.Namelen = unix.SizeofSockaddrInet4
	} else {
		w.msg.Name = (*byte)(unsafe.Pointer(&w.to6))
		w.msg.Namelen = unix.SizeofSockaddrInet6
	}
	w.msg.Control = nil
	w.msg.SetControllen(0)
	if len(c.woob) > 0 {
		w.msg.Control = &c.woob[0]
		w.msg.SetControllen(len(c.woob))
	}
	_, _, errno := unix.RawSyscall(unix.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&w.msg)), 0)
	w.iov.Base = nil
	if errno != 0 {
		return errno
	}
	return nil
}

// recvState is what recvmsg fills in, kept with the Conn so a read
// allocates nothing (unix.Recvmsg allocates the source address).
type recvState struct {
	msg  unix.Msghdr
	iov  unix.Iovec
	from unix.RawSockaddrAny
	oob  [128]byte
}

// recvmsg reads one datagram into buf with the reused header. The
// descriptor is non-blocking in both modes (the Go poller's and a polled
// one), so this is a raw system call (see sendmsg).
func (c *Conn) recvmsg(fd int, buf []byte) (n, oobn, flags int, err error) {
	r := &c.rx
	r.iov.Base = &buf[0]
	r.iov.SetLen(len(buf))
	r.msg.Name = (*byte)(unsafe.Pointer(&r.from))
	r.msg.Namelen = unix.SizeofSockaddrAny
	r.msg.Iov = &r.iov
	r.msg.SetIovlen(1)
	r.msg.Control = &r.oob[0]
	r.msg.SetControllen(len(r.oob))
	rn, _, errno := unix.RawSyscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&r.msg)), 0)
	r.iov.Base = nil // do not keep the caller's buffer alive
	if errno != 0 {
		return 0, 0, 0, errno
	}
	return int(rn), int(r.msg.Controllen), int(r.msg.Flags), nil
}

// source is the sender's address recvmsg reported (IPv6; an IPv4 raw
// socket has it in the header).
func (r *recvState) source() netip.Addr {
	if r.from.Addr.Family != unix.AF_INET6 {
		return netip.Addr{}
	}
	sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(&r.from))
	return netip.AddrFrom16(sa.Addr)
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
	c := &Conn{family: opts.Family, ifi: ifi, peers: make(map[netip.Addr]struct{}, len(opts.Peers)), ttl: opts.UnicastTTL}
	if c.ttl == 0 {
		c.ttl = HopLimit
	}
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
	} else {
		srcIfi := ifi
		if opts.SourceInterface != "" && opts.SourceInterface != opts.Interface {
			if srcIfi, err = net.InterfaceByName(opts.SourceInterface); err != nil {
				return nil, fmt.Errorf("listen %s %s: source interface: %w", opts.Family, opts.Interface, err)
			}
		}
		if c.local, err = sourceAddr(srcIfi, opts.Family); err != nil {
			return nil, fmt.Errorf("listen %s %s: %w", opts.Family, opts.Interface, err)
		}
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
	c.readFn = func(fd uintptr) bool {
		c.rn, c.roobn, c.rflags, c.rerr = c.recvmsg(int(fd), c.rbuf)
		return c.rerr != unix.EAGAIN
	}
	c.writeFn = func(fd uintptr) bool {
		c.werr = c.sendmsg(int(fd))
		return c.werr != unix.EAGAIN
	}
	if opts.Family == IPv6 {
		c.woob = unix.PktInfo6(&unix.Inet6Pktinfo{Addr: c.local.As16(), Ifindex: uint32(ifi.Index)})
	}
	if opts.Polled {
		if err := c.detach(); err != nil {
			c.pc.Close()
			return nil, fmt.Errorf("listen %s %s: %w", opts.Family, opts.Interface, err)
		}
	}
	return c, nil
}

// detach moves the socket out of the Go runtime's poller: a duplicate of
// the descriptor (same socket, options, group membership) is kept and the
// registered one closed, so readiness wakes only the owner's own epoll.
func (c *Conn) detach() error {
	var fd int
	var derr error
	if err := c.raw.Control(func(s uintptr) { fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return err
	}
	if derr != nil {
		return fmt.Errorf("dup: %w", derr)
	}
	c.pc.Close()
	c.fd, c.polled = fd, true
	return nil
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
	if err := p.SetHopLimit(int(c.ttl)); err != nil {
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
	c.raw = raw
	var serr error
	err = raw.Control(func(fd uintptr) {
		if serr = unix.BindToDevice(int(fd), c.ifi.Name); serr != nil {
			serr = fmt.Errorf("SO_BINDTODEVICE %s: %w", c.ifi.Name, serr)
			return
		}
		if serr = unix.SetsockoptInt(int(fd), level, multicastAll, 0); serr != nil {
			serr = fmt.Errorf("MULTICAST_ALL: %w", serr)
			return
		}
		// The kernel's receive time of each packet (Packet.At).
		if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); serr != nil {
			serr = fmt.Errorf("SO_TIMESTAMPNS: %w", serr)
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
// truncation (truncated packets are dropped and counted). After Close it
// returns net.ErrClosed. A polled socket (Options.Polled) has no blocking
// read: use TryReadPacket.
func (c *Conn) ReadPacket(buf []byte) (Packet, error) {
	if c.polled {
		return Packet{}, fmt.Errorf("vrrp transport %s %s: read: %w", c.family, c.ifi.Name, ErrPolled)
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for {
		c.rbuf = buf
		err := c.raw.Read(c.readFn)
		if err == nil {
			err = c.rerr
		}
		c.rbuf = nil
		if err != nil {
			if c.closed.Load() || errors.Is(err, net.ErrClosed) {
				return Packet{}, net.ErrClosed
			}
			return Packet{}, fmt.Errorf("vrrp transport %s %s: read: %w", c.family, c.ifi.Name, err)
		}
		if pkt, ok := c.packet(buf); ok {
			return pkt, nil
		}
	}
}

// TryReadPacket returns the next queued packet of a polled socket, or
// ErrWouldBlock when none is queued (wait for FD to be readable). Payload
// aliases buf. It allocates nothing.
func (c *Conn) TryReadPacket(buf []byte) (Packet, error) {
	if !c.polled {
		return Packet{}, fmt.Errorf("vrrp transport %s %s: read: %w", c.family, c.ifi.Name, ErrNotPolled)
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for {
		if c.closed.Load() {
			return Packet{}, net.ErrClosed
		}
		var err error
		c.rn, c.roobn, c.rflags, err = c.recvmsg(c.fd, buf)
		switch {
		case err == unix.EAGAIN:
			return Packet{}, ErrWouldBlock
		case err == unix.EINTR:
			continue
		case err != nil:
			return Packet{}, fmt.Errorf("vrrp transport %s %s: read: %w", c.family, c.ifi.Name, err)
		}
		if pkt, ok := c.packet(buf); ok {
			return pkt, nil
		}
	}
}

// FD is the descriptor of a polled socket, for the owner's epoll; -1 for
// a socket in the Go runtime's poller.
func (c *Conn) FD() int {
	if !c.polled {
		return -1
	}
	return c.fd
}

// packet turns the datagram recvmsg just read into buf into a Packet, or
// counts why it is not one for this socket.
func (c *Conn) packet(buf []byte) (Packet, bool) {
	if c.rflags&unix.MSG_TRUNC != 0 {
		c.drops.truncated.Add(1)
		return Packet{}, false
	}
	oob := c.rx.oob[:c.roobn]
	var pkt Packet
	var ok bool
	if c.family == IPv4 {
		pkt, ok = c.parseIPv4(buf[:c.rn], oob)
	} else {
		pkt, ok = c.parseIPv6(buf[:c.rn], oob, c.rx.source())
	}
	if !ok || !c.accept(&pkt) {
		return Packet{}, false
	}
	pkt.At = arrival(oob, time.Now())
	return pkt, true
}

// maxQueueAge bounds how long ago a kernel receive timestamp may lie: the
// wall clock it is taken on can be stepped while a packet waits, and a
// stamp beyond this (or in the future) is not believed.
const maxQueueAge = 10 * time.Second

// arrival is when the kernel received the packet whose control messages
// are oob, on now's monotonic clock: now less the time the packet waited
// in the socket queue (SO_TIMESTAMPNS). Without a usable stamp it is now.
func arrival(oob []byte, now time.Time) time.Time {
	var age time.Duration
	forEachCmsg(oob, func(level, typ int32, data []byte) {
		if level != unix.SOL_SOCKET || typ != unix.SCM_TIMESTAMPNS || len(data) < 16 {
			return
		}
		sec := int64(binary.NativeEndian.Uint64(data[0:8]))
		nsec := int64(binary.NativeEndian.Uint64(data[8:16]))
		// now.Sub of a time without a monotonic reading compares wall
		// clocks, which is what the stamp is on.
		if a := now.Sub(time.Unix(sec, nsec)); a > 0 && a <= maxQueueAge {
			age = a
		}
	})
	return now.Add(-age)
}

// parseIPv4 splits what a raw IPv4 socket hands over (header included, as
// on the wire) and takes the arrival interface from IP_PKTINFO.
func (c *Conn) parseIPv4(b, oob []byte) (Packet, bool) {
	if len(b) < ipv4.HeaderLen || b[0]>>4 != 4 {
		c.drops.header.Add(1)
		return Packet{}, false
	}
	hlen := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:4]))
	if hlen < ipv4.HeaderLen || hlen > len(b) || total < hlen {
		c.drops.header.Add(1)
		return Packet{}, false
	}
	if total > len(b) {
		c.drops.truncated.Add(1)
		return Packet{}, false
	}
	pkt := Packet{
		Payload: b[hlen:total], // total < len(b) only with link-layer padding
		Src:     netip.AddrFrom4([4]byte(b[12:16])),
		Dst:     netip.AddrFrom4([4]byte(b[16:20])),
		TTL:     int(b[8]),
	}
	forEachCmsg(oob, func(level, typ int32, data []byte) {
		if level == unix.IPPROTO_IP && typ == unix.IP_PKTINFO && len(data) >= unix.SizeofInet4Pktinfo {
			pkt.IfIndex = int(int32(binary.NativeEndian.Uint32(data[0:4])))
		}
	})
	return pkt, true
}

// parseIPv6 reads source from the socket address and destination, hop
// limit and interface from IPV6_PKTINFO / IPV6_HOPLIMIT (raw IPv6 sockets
// strip the header).
func (c *Conn) parseIPv6(b, oob []byte, src netip.Addr) (Packet, bool) {
	pkt := Packet{Payload: b, TTL: -1, Src: src}
	forEachCmsg(oob, func(level, typ int32, data []byte) {
		if level != unix.IPPROTO_IPV6 {
			return
		}
		switch {
		case typ == unix.IPV6_PKTINFO && len(data) >= unix.SizeofInet6Pktinfo:
			pkt.Dst = netip.AddrFrom16([16]byte(data[0:16]))
			pkt.IfIndex = int(binary.NativeEndian.Uint32(data[16:20]))
		case typ == unix.IPV6_HOPLIMIT && len(data) >= 4:
			pkt.TTL = int(int32(binary.NativeEndian.Uint32(data[0:4])))
		}
	})
	if !pkt.Src.IsValid() || !pkt.Dst.IsValid() || pkt.TTL < 0 {
		c.drops.header.Add(1) // the kernel always sends these; be safe anyway
		return Packet{}, false
	}
	return pkt, true
}

// forEachCmsg walks control messages without allocating.
func forEachCmsg(oob []byte, fn func(level, typ int32, data []byte)) {
	// struct cmsghdr is {size_t len; int level; int type}: the length
	// field is 8 bytes on 64-bit systems, 4 on 32-bit ones.
	lenSize := unix.SizeofCmsghdr - 8
	for len(oob) >= unix.SizeofCmsghdr {
		var l int
		if lenSize == 8 {
			l = int(binary.NativeEndian.Uint64(oob[0:8]))
		} else {
			l = int(binary.NativeEndian.Uint32(oob[0:4]))
		}
		level := int32(binary.NativeEndian.Uint32(oob[lenSize : lenSize+4]))
		typ := int32(binary.NativeEndian.Uint32(oob[lenSize+4 : lenSize+8]))
		if l < unix.CmsgLen(0) || l > len(oob) {
			return
		}
		fn(level, typ, oob[unix.CmsgLen(0):l])
		next := unix.CmsgSpace(l - unix.CmsgLen(0))
		if next > len(oob) {
			return
		}
		oob = oob[next:]
	}
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
	dst = dst.WithZone("").Unmap()
	if dst.Is4() != (c.family == IPv4) {
		return fmt.Errorf("vrrp transport %s %s: send to %s: %w", c.family, c.ifi.Name, dst, ErrAddressFamily)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.family == IPv4 {
		c.wbuf = c.ipv4Datagram(payload, dst)
		c.tx.to4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: dst.As4()}
	} else {
		c.wbuf = payload
		// The interface comes from IPV6_PKTINFO (and SO_BINDTODEVICE), so
		// link-local destinations need no zone here.
		c.tx.to6 = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: dst.As16()}
	}
	var err error
	if c.polled {
		// A raw socket's send buffer is rarely full; when it is, the
		// advert is lost like one dropped on the wire (EAGAIN returned).
		if c.closed.Load() {
			err = net.ErrClosed
		} else {
			err = c.sendmsg(c.fd)
		}
	} else if err = c.raw.Write(c.writeFn); err == nil {
		err = c.werr
	}
	c.wbuf = nil
	if err != nil {
		if c.closed.Load() || errors.Is(err, net.ErrClosed) {
			return net.ErrClosed
		}
		return fmt.Errorf("vrrp transport %s %s: send to %s: %w", c.family, c.ifi.Name, dst, err)
	}
	return nil
}

// ipv4Datagram builds header + payload the way keepalived does: TOS 0xc0,
// no DF, TTL 255, protocol 112, IDs counting from 1. The kernel fills in the
// header checksum (and picks an ID when ours wraps to 0).
func (c *Conn) ipv4Datagram(payload []byte, dst netip.Addr) []byte {
	total := ipv4.HeaderLen + len(payload)
	if cap(c.wscratch) < total {
		c.wscratch = make([]byte, total, max(total, 128))
	}
	b := c.wscratch[:total]
	b[0] = 4<<4 | ipv4.HeaderLen/4
	b[1] = TrafficClass
	binary.BigEndian.PutUint16(b[2:4], uint16(total))
	binary.BigEndian.PutUint16(b[4:6], uint16(c.ipID.Add(1)))
	binary.BigEndian.PutUint16(b[6:8], 0) // flags and fragment offset
	b[8] = HopLimit
	if !dst.IsMulticast() {
		b[8] = c.ttl
	}
	b[9] = Protocol
	binary.BigEndian.PutUint16(b[10:12], 0)
	src, d := c.local.As4(), dst.As4()
	copy(b[12:16], src[:])
	copy(b[16:20], d[:])
	copy(b[20:], payload)
	return b
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
	if c.polled {
		// Under rmu: a TryReadPacket in progress must not read a
		// descriptor number the kernel may already have reused.
		c.rmu.Lock()
		defer c.rmu.Unlock()
		if err := unix.Close(c.fd); err != nil {
			return fmt.Errorf("vrrp transport %s %s: close: %w", c.family, c.ifi.Name, err)
		}
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
