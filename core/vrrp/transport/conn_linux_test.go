package transport_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"

	"github.com/hawatch/hawatch/core/vrrp/transport"
	"github.com/hawatch/hawatch/internal/netlab"
)

const ioTimeout = 5 * time.Second

func listen(t *testing.T, n *netlab.Node, opts transport.Options) *transport.Conn {
	t.Helper()
	if opts.Interface == "" {
		opts.Interface = "eth0"
	}
	var c *transport.Conn
	if err := n.Do(func() (err error) {
		c, err = transport.Listen(opts)
		return err
	}); err != nil {
		t.Fatalf("%s: Listen: %v", n, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

type readResult struct {
	pkt transport.Packet
	err error
}

// readWithin reads one packet or fails the test after ioTimeout; the
// reading goroutine ends when the test's cleanup closes the Conn.
func readWithin(t *testing.T, c *transport.Conn) transport.Packet {
	t.Helper()
	ch := make(chan readResult, 1)
	go func() {
		buf := make([]byte, 1500)
		p, err := c.ReadPacket(buf)
		ch <- readResult{p, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("ReadPacket: %v", r.err)
		}
		return r.pkt
	case <-time.After(ioTimeout):
		t.Fatalf("no packet within %v", ioTimeout)
		return transport.Packet{}
	}
}

func ifIndex(t *testing.T, n *netlab.Node) int {
	t.Helper()
	var idx int
	if err := n.Do(func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err == nil {
			idx = ifi.Index
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return idx
}

// sniffer captures whole Ethernet frames on n's eth0 (AF_PACKET), i.e. what
// is on the wire.
func sniffer(t *testing.T, n *netlab.Node) *packet.Conn {
	t.Helper()
	var c *packet.Conn
	if err := n.Do(func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		c, err = packet.Listen(ifi, packet.Raw, unix.ETH_P_ALL, nil)
		return err
	}); err != nil {
		t.Fatalf("%s: sniffer: %v", n, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// nextVRRPFrame returns the next captured frame carrying IP protocol 112.
func nextVRRPFrame(t *testing.T, c *packet.Conn) []byte {
	t.Helper()
	buf := make([]byte, 2048)
	_ = c.SetReadDeadline(time.Now().Add(ioTimeout))
	for {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			t.Fatalf("sniff: %v", err)
		}
		f := buf[:n]
		if len(f) < 14 {
			continue
		}
		switch binary.BigEndian.Uint16(f[12:14]) {
		case 0x0800:
			if len(f) >= 34 && f[23] == transport.Protocol {
				return append([]byte(nil), f...)
			}
		case 0x86dd:
			if len(f) >= 54 && f[20] == transport.Protocol {
				return append([]byte(nil), f...)
			}
		}
	}
}

// referenceFrame parses the hex dump at the end of a tshark -x decode.
func referenceFrame(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`(?m)^[0-9a-f]{4}  ((?:[0-9a-f]{2} )+)`)
	var frame []byte
	for _, m := range line.FindAllStringSubmatch(string(b), -1) {
		h, err := hex.DecodeString(strings.ReplaceAll(m[1], " ", ""))
		if err != nil {
			t.Fatal(err)
		}
		frame = append(frame, h...)
	}
	if len(frame) == 0 {
		t.Fatalf("%s: no hex dump found", path)
	}
	return frame
}

func ipv4HeaderChecksumOK(h []byte) bool {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return sum == 0xffff
}

func TestMulticast(t *testing.T) {
	lab := netlab.New(t, netlab.Options{Nodes: 2, IPv6: true})
	a, b := lab.Nodes[0], lab.Nodes[1]
	tests := []struct {
		family transport.Family
		group  netip.Addr
		srcA   netip.Addr
		srcB   netip.Addr
	}{
		{transport.IPv4, transport.GroupIPv4, a.Addr4, b.Addr4},
		{transport.IPv6, transport.GroupIPv6, a.LinkLocal, b.LinkLocal},
	}
	for _, tt := range tests {
		t.Run(tt.family.String(), func(t *testing.T) {
			ca := listen(t, a, transport.Options{Family: tt.family})
			cb := listen(t, b, transport.Options{Family: tt.family})
			if ca.LocalAddr() != tt.srcA || ca.Group() != tt.group {
				t.Fatalf("LocalAddr, Group = %v, %v; want %v, %v", ca.LocalAddr(), ca.Group(), tt.srcA, tt.group)
			}
			msg := []byte("advert from A")
			if err := ca.WriteTo(msg, ca.Group()); err != nil {
				t.Fatal(err)
			}
			got := readWithin(t, cb)
			want := transport.Packet{Payload: msg, Src: tt.srcA, Dst: tt.group, TTL: 255, IfIndex: ifIndex(t, b)}
			if !bytes.Equal(got.Payload, want.Payload) || got.Src != want.Src || got.Dst != want.Dst ||
				got.TTL != want.TTL || got.IfIndex != want.IfIndex {
				t.Fatalf("B read %+v (%q), want %+v", got, got.Payload, want)
			}
			// A's own advert must not come back to A (multicast loop off):
			// the first thing A reads is B's answer.
			if err := cb.WriteTo([]byte("advert from B"), cb.Group()); err != nil {
				t.Fatal(err)
			}
			if got := readWithin(t, ca); got.Src != tt.srcB || string(got.Payload) != "advert from B" {
				t.Fatalf("A read %+v (%q), want B's advert", got, got.Payload)
			}
			if d := ca.Drops(); d[transport.DropOwn] != 0 {
				t.Errorf("own packets looped back: %v", d)
			}
		})
	}
}

// TestIPv4HeaderMatchesKeepalived sends the payload of a captured keepalived
// advert and compares the frame on the wire with the captured one: every byte
// equal except the IPv4 source (192.0.2.11 there, 198.51.100.11 here) and
// so the header checksum, which must still be valid.
func TestIPv4HeaderMatchesKeepalived(t *testing.T) {
	ref := referenceFrame(t, "testdata/vrrp-advert-v2-1.txt")
	lab := netlab.New(t, netlab.Options{Nodes: 1})
	a := lab.Nodes[0]
	sniff := sniffer(t, lab.Client)
	c := listen(t, a, transport.Options{Family: transport.IPv4})
	if err := c.WriteTo(ref[34:], c.Group()); err != nil {
		t.Fatal(err)
	}
	got := nextVRRPFrame(t, sniff)
	if len(got) != len(ref) {
		t.Fatalf("frame length %d, keepalived's %d\ngot % x\nref % x", len(got), len(ref), got, ref)
	}
	masked := func(f []byte) []byte {
		f = append([]byte(nil), f...)
		copy(f[24:26], []byte{0, 0})       // header checksum
		copy(f[26:30], []byte{0, 0, 0, 0}) // source address
		return f
	}
	if !bytes.Equal(masked(got), masked(ref)) {
		t.Errorf("frame differs from keepalived's (checksum and source masked)\ngot % x\nref % x", got, ref)
	}
	if src := netip.AddrFrom4([4]byte(got[26:30])); src != a.Addr4 {
		t.Errorf("source %v, want %v", src, a.Addr4)
	}
	if !ipv4HeaderChecksumOK(got[14:34]) {
		t.Errorf("bad IPv4 header checksum in % x", got[14:34])
	}
}

func TestIPv6Header(t *testing.T) {
	lab := netlab.New(t, netlab.Options{Nodes: 1, IPv6: true})
	a := lab.Nodes[0]
	sniff := sniffer(t, lab.Client)
	c := listen(t, a, transport.Options{Family: transport.IPv6})
	if err := c.WriteTo([]byte{0x31, 51, 100, 1, 0, 100, 0, 0}, c.Group()); err != nil {
		t.Fatal(err)
	}
	f := nextVRRPFrame(t, sniff)
	ip := f[14:]
	checks := []struct {
		what      string
		got, want any
	}{
		{"dst MAC", net.HardwareAddr(f[0:6]).String(), "33:33:00:00:00:12"},
		{"src MAC", net.HardwareAddr(f[6:12]).String(), a.MAC.String()},
		{"version", ip[0] >> 4, byte(6)},
		{"traffic class", byte(binary.BigEndian.Uint16(ip[0:2]) >> 4), byte(transport.TrafficClass)},
		{"next header", ip[6], byte(transport.Protocol)},
		{"hop limit", ip[7], byte(255)},
		{"src", netip.AddrFrom16([16]byte(ip[8:24])), a.LinkLocal},
		{"dst", netip.AddrFrom16([16]byte(ip[24:40])), transport.GroupIPv6},
		{"payload length", binary.BigEndian.Uint16(ip[4:6]), uint16(8)},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %v, want %v", ck.what, ck.got, ck.want)
		}
	}
}

// TestUnicastAllowList: B accepts only A. C's packet is dropped and counted,
// A's arrives with B's own address as destination and TTL 255.
func TestUnicastAllowList(t *testing.T) {
	lab := netlab.New(t, netlab.Options{Nodes: 3, NoClient: true, IPv6: true})
	a, b, c := lab.Nodes[0], lab.Nodes[1], lab.Nodes[2]
	tests := []struct {
		family     transport.Family
		network    string
		srcA, srcC netip.Addr // Source option (unicast_src); invalid = default
		wantSrcA   netip.Addr
		dstB       netip.Addr
	}{
		{transport.IPv4, "ip4:112", netip.Addr{}, netip.Addr{}, a.Addr4, b.Addr4},
		{transport.IPv6, "ip6:112", a.Addr6, c.Addr6, a.Addr6, b.Addr6},
	}
	for _, tt := range tests {
		t.Run(tt.family.String(), func(t *testing.T) {
			ca := listen(t, a, transport.Options{Family: tt.family, Unicast: true, Source: tt.srcA, Peers: []netip.Addr{tt.dstB}})
			cc := listen(t, c, transport.Options{Family: tt.family, Unicast: true, Source: tt.srcC})
			cb := listen(t, b, transport.Options{Family: tt.family, Unicast: true, Peers: []netip.Addr{tt.wantSrcA}})
			// A plain raw socket on B proves C's packet reached B before A
			// sends: raw delivery queues to all matching sockets at once.
			var spy net.PacketConn
			if err := b.Do(func() (err error) { spy, err = net.ListenPacket(tt.network, ""); return err }); err != nil {
				t.Fatal(err)
			}
			defer spy.Close()

			if err := cc.WriteTo([]byte("from C"), tt.dstB); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 1500)
			_ = spy.SetReadDeadline(time.Now().Add(ioTimeout))
			if n, _, err := spy.ReadFrom(buf); err != nil || !bytes.HasSuffix(buf[:n], []byte("from C")) {
				t.Fatalf("spy: %q %v", buf[:n], err)
			}
			if err := ca.WriteTo([]byte("from A"), tt.dstB); err != nil {
				t.Fatal(err)
			}
			got := readWithin(t, cb)
			if string(got.Payload) != "from A" || got.Src != tt.wantSrcA || got.Dst != tt.dstB || got.TTL != 255 {
				t.Fatalf("B read %+v (%q), want A's packet to %v with TTL 255", got, got.Payload, tt.dstB)
			}
			if d := cb.Drops(); d[transport.DropPeer] != 1 {
				t.Errorf("drops = %v, want peer=1", d)
			}
		})
	}
}

// TestTruncatedDropped: a packet larger than the read buffer is dropped and
// counted, never handed up cut short.
func TestTruncatedDropped(t *testing.T) {
	lab := netlab.New(t, netlab.Options{Nodes: 2, NoClient: true, IPv6: true})
	for _, f := range []transport.Family{transport.IPv4, transport.IPv6} {
		t.Run(f.String(), func(t *testing.T) {
			ca := listen(t, lab.Nodes[0], transport.Options{Family: f})
			cb := listen(t, lab.Nodes[1], transport.Options{Family: f})
			for _, msg := range []string{strings.Repeat("x", 100), "small"} {
				if err := ca.WriteTo([]byte(msg), ca.Group()); err != nil {
					t.Fatal(err)
				}
			}
			bufSize := 10
			if f == transport.IPv4 {
				bufSize += 20 // the IPv4 header is read too
			}
			done := make(chan readResult, 1)
			go func() {
				p, err := cb.ReadPacket(make([]byte, bufSize))
				done <- readResult{p, err}
			}()
			select {
			case r := <-done:
				if r.err != nil || string(r.pkt.Payload) != "small" {
					t.Fatalf("read %q, %v; want \"small\"", r.pkt.Payload, r.err)
				}
			case <-time.After(ioTimeout):
				t.Fatal("no packet")
			}
			if d := cb.Drops(); d[transport.DropTruncated] != 1 {
				t.Errorf("drops = %v, want truncated=1", d)
			}
		})
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	lab := netlab.New(t, netlab.Options{Nodes: 1, NoClient: true, IPv6: true})
	for _, f := range []transport.Family{transport.IPv4, transport.IPv6} {
		t.Run(f.String(), func(t *testing.T) {
			c := listen(t, lab.Nodes[0], transport.Options{Family: f})
			errc := make(chan error, 1)
			go func() {
				_, err := c.ReadPacket(make([]byte, 1500))
				errc <- err
			}()
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-errc:
				if !errors.Is(err, net.ErrClosed) {
					t.Fatalf("ReadPacket after Close: %v, want net.ErrClosed", err)
				}
			case <-time.After(ioTimeout):
				t.Fatal("ReadPacket still blocked after Close")
			}
			if err := c.WriteTo([]byte("x"), c.Group()); !errors.Is(err, net.ErrClosed) {
				t.Errorf("WriteTo after Close: %v, want net.ErrClosed", err)
			}
		})
	}
}

func TestListenErrors(t *testing.T) {
	lab := netlab.New(t, netlab.Options{Nodes: 1, NoClient: true})
	n := lab.Nodes[0]
	tests := []struct {
		name string
		opts transport.Options
		want error
	}{
		{"family", transport.Options{Interface: "eth0", Family: 5}, transport.ErrFamily},
		{"peer family", transport.Options{Interface: "eth0", Family: transport.IPv4, Peers: []netip.Addr{netip.MustParseAddr("2001:db8::1")}}, transport.ErrAddressFamily},
		{"source family", transport.Options{Interface: "eth0", Family: transport.IPv6, Source: netip.MustParseAddr("198.51.100.1")}, transport.ErrAddressFamily},
		{"no IPv4 on lo", transport.Options{Interface: "lo", Family: transport.IPv6}, transport.ErrNoSource},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := n.Do(func() error {
				c, err := transport.Listen(tt.opts)
				if err == nil {
					c.Close()
				}
				return err
			})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Listen(%+v) = %v, want %v", tt.opts, err, tt.want)
			}
		})
	}
}

// TestKeepalivedAdvertReceivedAndMatched: a real keepalived 2.2.7 master's
// advert reaches our socket as keepalived sent it, and the frame we send
// with the same payload from the same node is identical on the wire except
// for the IP identification and header checksum.
func TestKeepalivedAdvertReceivedAndMatched(t *testing.T) {
	lab := netlab.New(t, netlab.Options{Nodes: 2})
	a, b := lab.Nodes[0], lab.Nodes[1]
	sniff := sniffer(t, lab.Client)
	cb := listen(t, b, transport.Options{Family: transport.IPv4})
	ka := netlab.StartKeepalived(t, a, netlab.KeepalivedConfig{
		VRID: 51, Priority: 100, State: "MASTER", Version: 2, AuthPass: "1111",
		VIPs: []string{"198.51.100.50/24"},
	})
	got := readWithin(t, cb)
	if got.Src != a.Addr4 || got.Dst != transport.GroupIPv4 || got.TTL != 255 {
		t.Fatalf("read %+v from keepalived", got)
	}
	if len(got.Payload) < 2 || got.Payload[0] != 0x21 || got.Payload[1] != 51 {
		t.Fatalf("payload % x is not a VRRPv2 advert for VRID 51", got.Payload)
	}
	kaFrame := nextVRRPFrame(t, sniff)
	ka.Kill()
	_ = ka.Wait(ioTimeout)

	// A fresh sniffer sees nothing keepalived sent: it is dead by now.
	sniff2 := sniffer(t, lab.Client)
	ca := listen(t, a, transport.Options{Family: transport.IPv4})
	if err := ca.WriteTo(kaFrame[34:], ca.Group()); err != nil {
		t.Fatal(err)
	}
	ours := nextVRRPFrame(t, sniff2)
	masked := func(f []byte) []byte {
		f = append([]byte(nil), f...)
		copy(f[18:20], []byte{0, 0}) // identification
		copy(f[24:26], []byte{0, 0}) // header checksum
		return f
	}
	if !bytes.Equal(masked(ours), masked(kaFrame)) {
		t.Errorf("our frame differs from keepalived's (ID and checksum masked)\nours % x\nka   % x", ours, kaFrame)
	}
}

// BenchmarkSendReceive measures one 20-byte advert sent by A and read by B
// over the lab bridge (both sockets in multicast mode), with the sockets in
// the Go poller and polled by their owner.
func BenchmarkSendReceive(b *testing.B) {
	for _, f := range []transport.Family{transport.IPv4, transport.IPv6} {
		b.Run(f.String(), func(b *testing.B) {
			benchSendReceive(b, f, false)
		})
		b.Run(f.String()+"/polled", func(b *testing.B) {
			benchSendReceive(b, f, true)
		})
	}
}

func benchSendReceive(b *testing.B, f transport.Family, polled bool) {
	{
		{
			lab := netlab.New(b, netlab.Options{Nodes: 2, NoClient: true, IPv6: true})
			var ca, cb *transport.Conn
			for i, n := range lab.Nodes {
				if err := n.Do(func() (err error) {
					c, err := transport.Listen(transport.Options{Interface: "eth0", Family: f, Polled: polled})
					if i == 0 {
						ca = c
					} else {
						cb = c
					}
					return err
				}); err != nil {
					b.Fatal(err)
				}
			}
			defer ca.Close()
			defer cb.Close()
			msg := make([]byte, 20)
			buf := make([]byte, 1500)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := ca.WriteTo(msg, ca.Group()); err != nil {
					b.Fatal(err)
				}
				if polled {
					waitReadable(b, cb.FD())
					if _, err := cb.TryReadPacket(buf); err != nil {
						b.Fatal(err)
					}
				} else if _, err := cb.ReadPacket(buf); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}
