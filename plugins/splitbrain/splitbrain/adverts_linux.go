package splitbrain

import (
	"errors"
	"fmt"
	"net"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// packetAdverts is an advertSource on an AF_PACKET socket on one interface
// (needs CAP_NET_RAW). It sees frames before netfilter, so a VRRP path cut
// by a firewall rule on this node still shows the other router's adverts;
// a hung daemon's are missing because they are never sent.
type packetAdverts struct {
	fd  int
	buf []byte
	oob []byte
}

// vrrpFilter accepts IPv4 and IPv6 frames carrying protocol 112 (VRRP) and
// drops everything else in the kernel, so nothing else fills the queue
// between checks.
var vrrpFilter = []unix.SockFilter{
	/* 0 */ {Code: unix.BPF_LD | unix.BPF_H | unix.BPF_ABS, K: 12}, // ethertype
	/* 1 */ {Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: 0x0800, Jt: 0, Jf: 2}, // IPv4, else 4
	/* 2 */ {Code: unix.BPF_LD | unix.BPF_B | unix.BPF_ABS, K: 23}, // IPv4 protocol
	/* 3 */ {Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: 112, Jt: 3, Jf: 4}, // 7 or 8
	/* 4 */ {Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: 0x86dd, Jt: 0, Jf: 3}, // IPv6, else 8
	/* 5 */ {Code: unix.BPF_LD | unix.BPF_B | unix.BPF_ABS, K: 20}, // IPv6 next header
	/* 6 */ {Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: 112, Jt: 0, Jf: 1}, // 7 or 8
	/* 7 */ {Code: unix.BPF_RET | unix.BPF_K, K: 0xffff}, // accept
	/* 8 */ {Code: unix.BPF_RET | unix.BPF_K, K: 0}, // drop
}

func listenAdverts(iface string) (advertSource, error) {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("interface %s: %w", iface, err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return nil, fmt.Errorf("advert socket on %s: %w", iface, err)
	}
	fail := func(what string, err error) (advertSource, error) {
		unix.Close(fd)
		return nil, fmt.Errorf("advert socket on %s: %s: %w", iface, what, err)
	}
	prog := unix.SockFprog{Len: uint16(len(vrrpFilter)), Filter: &vrrpFilter[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &prog); err != nil {
		return fail("filter", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return fail("SO_TIMESTAMPNS", err)
	}
	// Room for a few seconds of 10 ms adverts between checks.
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20); err != nil {
		return fail("SO_RCVBUF", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
		return fail("bind", err)
	}
	return &packetAdverts{fd: fd, buf: make([]byte, 2048), oob: make([]byte, 128)}, nil
}

func (p *packetAdverts) Drain() ([]seenAdvert, error) {
	var out []seenAdvert
	for {
		n, oobn, _, from, err := unix.Recvmsg(p.fd, p.buf, p.oob, unix.MSG_DONTWAIT)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("advert read: %w", err)
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue // our own
		}
		mac, src, vrid, prio, ok := parseVRRP(p.buf[:n])
		if !ok {
			continue
		}
		at := time.Now()
		if ts, ok := kernelTime(p.oob[:oobn]); ok {
			at = ts
		}
		out = append(out, seenAdvert{mac: append(net.HardwareAddr(nil), mac...), from: src, vrid: vrid, prio: prio, at: at})
	}
}

// kernelTime is the SO_TIMESTAMPNS receive time in a control message.
func kernelTime(oob []byte) (time.Time, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return time.Time{}, false
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= int(unsafe.Sizeof(unix.Timespec{})) {
			ts := (*unix.Timespec)(unsafe.Pointer(&m.Data[0]))
			return time.Unix(ts.Unix()), true
		}
	}
	return time.Time{}, false
}

func (p *packetAdverts) Close() error { return unix.Close(p.fd) }

func htons(v uint16) uint16 { return v<<8 | v>>8 }
