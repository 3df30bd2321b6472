package splitbrain

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdlayher/ndp"

	"github.com/hawatch/hawatch/sdk"
)

var (
	vip6    = netip.MustParseAddr("2001:db8::50")
	ownLL   = netip.MustParseAddr("fe80::1")
	peerLL  = netip.MustParseAddr("fe80::2")
	thirdLL = netip.MustParseAddr("fe80::3")
	allNode = netip.MustParseAddr("ff02::1")
)

// ndFrame wraps an NDP message in IPv6 and Ethernet as the wire carries
// it, hop limit 255. The ICMPv6 body and its checksum come from
// mdlayher/ndp, an encoder independent of the one under test.
func ndFrame(t testing.TB, ethSrc net.HardwareAddr, src, dst netip.Addr, m ndp.Message) []byte {
	t.Helper()
	body, err := ndp.MarshalMessageChecksum(m, src, dst)
	if err != nil {
		t.Fatal(err)
	}
	ethDst := ownMAC
	if dst.IsMulticast() {
		ethDst = ipv6MulticastMAC(dst)
	}
	f := append(append([]byte{}, ethDst...), ethSrc...)
	f = append(f, 0x86, 0xdd, 0x60, 0, 0, 0)
	f = binary.BigEndian.AppendUint16(f, uint16(len(body)))
	f = append(f, protoICMPv6, 255)
	f = append(f, src.AsSlice()...)
	f = append(f, dst.AsSlice()...)
	return append(f, body...)
}

// advert is the neighbour advertisement mac's owner sends for target
// from src to dst, with the target link-layer option unless bare.
func advert(t testing.TB, mac net.HardwareAddr, src, dst, target netip.Addr, bare bool) []byte {
	t.Helper()
	na := &ndp.NeighborAdvertisement{Solicited: !dst.IsMulticast(), Override: true, TargetAddress: target}
	if !bare {
		na.Options = []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: mac}}
	}
	return ndFrame(t, mac, src, dst, na)
}

// solicitation is the neighbour solicitation mac's owner sends for target
// from src (with the source link-layer option unless src is ::).
func solicitation(t testing.TB, mac net.HardwareAddr, src, target netip.Addr) []byte {
	t.Helper()
	ns := &ndp.NeighborSolicitation{TargetAddress: target}
	if !src.IsUnspecified() {
		ns.Options = []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: mac}}
	}
	sn, err := ndp.SolicitedNodeMulticast(target)
	if err != nil {
		t.Fatal(err)
	}
	return ndFrame(t, mac, src, sn, ns)
}

// patched copies f with bytes at off replaced.
func patched(f []byte, off int, b ...byte) []byte {
	g := append([]byte{}, f...)
	copy(g[off:], b)
	return g
}

// reChecksum recomputes the ICMPv6 checksum of a frame, so a test can
// change a field behind the checksum and still reach the check it means.
func reChecksum(f []byte) []byte {
	g := append([]byte{}, f...)
	body := g[etherHdrLen+ipv6HdrLen:]
	body[2], body[3] = 0, 0
	binary.BigEndian.PutUint16(body[2:4], icmpv6Checksum([16]byte(g[22:38]), [16]byte(g[38:54]), body))
	return g
}

func TestParseNDP(t *testing.T) {
	na := advert(t, peerMAC, peerLL, ownLL, vip6, false)
	if p, err := parseNDP(na); err != nil || p.typ != icmpNA || p.src != peerLL || p.target != vip6 ||
		p.lladdr.String() != peerMAC.String() || p.ethSrc.String() != peerMAC.String() {
		t.Fatalf("parseNDP(NA) = %+v, %v", p, err)
	}
	bare := advert(t, thirdMAC, peerLL, ownLL, vip6, true)
	if p, err := parseNDP(bare); err != nil || p.lladdr != nil || p.ethSrc.String() != thirdMAC.String() {
		t.Fatalf("parseNDP(NA without option) = %+v, %v", p, err)
	}
	ns := solicitation(t, peerMAC, vip6, otherIP6)
	if p, err := parseNDP(ns); err != nil || p.typ != icmpNS || p.src != vip6 || p.target != otherIP6 || p.lladdr.String() != peerMAC.String() {
		t.Fatalf("parseNDP(NS) = %+v, %v", p, err)
	}
	dad := solicitation(t, peerMAC, netip.IPv6Unspecified(), vip6)
	if p, err := parseNDP(dad); err != nil || !p.src.IsUnspecified() || p.lladdr != nil {
		t.Fatalf("parseNDP(DAD NS) = %+v, %v", p, err)
	}
	// Ethernet padding after the payload is not part of the message.
	if p, err := parseNDP(append(append([]byte{}, na...), 0, 0, 0, 0)); err != nil || p.target != vip6 {
		t.Fatalf("parseNDP(padded NA) = %+v, %v", p, err)
	}
	// An unknown option is skipped; the link-layer option after it read.
	withNonce := &ndp.NeighborAdvertisement{TargetAddress: vip6, Options: []ndp.Option{
		ndp.NewNonce(), &ndp.LinkLayerAddress{Direction: ndp.Target, Addr: peerMAC}}}
	if p, err := parseNDP(ndFrame(t, thirdMAC, peerLL, allNode, withNonce)); err != nil || p.lladdr.String() != peerMAC.String() {
		t.Fatalf("parseNDP(NA with a nonce first) = %+v, %v", p, err)
	}

	const icmp = etherHdrLen + ipv6HdrLen
	for _, tt := range []struct {
		name  string
		frame []byte
		want  string
	}{
		{"empty", nil, "frame of 0 bytes"},
		{"short", na[:70], "frame of 70 bytes"},
		{"ARP", patched(na, 12, 0x08, 0x06), "byte 12: ethertype 0x0806"},
		{"IPv4 version", patched(na, 14, 0x45), "byte 14: IP version 4"},
		{"UDP", patched(na, 20, 17), "byte 20: next header 17"},
		{"forwarded", patched(na, 21, 64), "byte 21: hop limit 64"},
		{"payload length past the frame", patched(na, 18, 0x01, 0x00), "byte 18: payload length 256"},
		{"payload length cut", patched(na, 18, 0, 8), "byte 54: ICMPv6 message of 8 bytes"},
		{"router advert", reChecksum(patched(na, icmp, 134)), "byte 54: ICMPv6 type 134"},
		{"code 1", reChecksum(patched(na, icmp+1, 1)), "byte 55: ICMPv6 code 1"},
		{"bad checksum", patched(na, icmp+2, na[icmp+2]^0xff), "byte 56: bad ICMPv6 checksum"},
		{"bit flip in the target", patched(na, icmp+23, na[icmp+23]^1), "bad ICMPv6 checksum"},
		{"multicast target", reChecksum(patched(na, icmp+8, 0xff, 0x02)), "byte 62: multicast target ff02:"},
		{"option of length 0", reChecksum(patched(na, icmp+25, 0)), "byte 79: option of length 0"},
		{"option past the end", reChecksum(patched(na, icmp+25, 2)), "byte 78: option of 16 bytes, only 8 left"},
		{"truncated option", reChecksum(append(patched(na, 18, 0, 33), 1)), "byte 86: truncated option"},
		{"DAD probe with a source option", reChecksum(patched(ns, 22, make([]byte, 16)...)), "solicitation from :: with a source link-layer option"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parseNDP(tt.frame)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("parseNDP = %+v, %v; want an error containing %q", p, err, tt.want)
			}
		})
	}
}

var otherIP6 = netip.MustParseAddr("2001:db8::51")

func TestClaimant(t *testing.T) {
	for _, tt := range []struct {
		name  string
		frame []byte
		want  net.HardwareAddr // nil: no claim
	}{
		{"answer to our probe", advert(t, peerMAC, peerLL, ownLL, vip6, false), peerMAC},
		{"answer without the option: the Ethernet source", advert(t, peerMAC, peerLL, ownLL, vip6, true), peerMAC},
		{"unsolicited advert of a new master", advert(t, thirdMAC, thirdLL, allNode, vip6, false), thirdMAC},
		{"answer to a DAD probe (to all nodes)", advert(t, peerMAC, vip6, allNode, vip6, false), peerMAC},
		{"advert for another address", advert(t, peerMAC, peerLL, ownLL, otherIP6, false), nil},
		{"solicitation sent from the VIP", solicitation(t, thirdMAC, vip6, otherIP6), thirdMAC},
		{"solicitation for the VIP from elsewhere", solicitation(t, peerMAC, peerLL, vip6), nil},
		{"DAD probe for the VIP: not an owner yet", solicitation(t, peerMAC, netip.IPv6Unspecified(), vip6), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parseNDP(tt.frame)
			if err != nil {
				t.Fatal(err)
			}
			mac, ok := claimant(p, vip6)
			if ok != (tt.want != nil) || !bytes.Equal(mac, tt.want) {
				t.Fatalf("claimant = %v %v, want %v", mac, ok, tt.want)
			}
		})
	}
}

func TestBuildNS(t *testing.T) {
	for _, src := range []netip.Addr{ownLL, netip.MustParseAddr("2001:db8::1"), netip.IPv6Unspecified()} {
		t.Run(src.String(), func(t *testing.T) {
			target := netip.MustParseAddr("2001:db8::12:3456")
			f := buildNS(ownMAC, src, target)
			// Addressed to the target's solicited-node group, on the wire
			// and in IPv6 (RFC 4291 §2.7.1, RFC 2464 §7).
			sn, _ := ndp.SolicitedNodeMulticast(target)
			if got := solicitedNode(target); got != sn || got.String() != "ff02::1:ff12:3456" {
				t.Errorf("solicited-node group %s, want %s", got, sn)
			}
			if got := net.HardwareAddr(f[0:6]).String(); got != "33:33:ff:12:34:56" {
				t.Errorf("Ethernet destination %s", got)
			}
			if !bytes.Equal(f[6:12], ownMAC) || netip.AddrFrom16([16]byte(f[38:54])) != sn {
				t.Errorf("Ethernet source %v, IPv6 destination %v", net.HardwareAddr(f[6:12]), netip.AddrFrom16([16]byte(f[38:54])))
			}
			p, err := parseNDP(f)
			if err != nil {
				t.Fatalf("our own NS does not decode: %v", err)
			}
			wantLL := ownMAC
			if src.IsUnspecified() {
				wantLL = nil // RFC 4861 §4.3: none from ::
			}
			if p.typ != icmpNS || p.src != src || p.target != target || !bytes.Equal(p.lladdr, wantLL) {
				t.Errorf("decoded %+v", p)
			}
			// An independent decoder and checksum agree.
			body := f[etherHdrLen+ipv6HdrLen:]
			want, err := ndp.MarshalMessageChecksum(&ndp.NeighborSolicitation{TargetAddress: target, Options: func() []ndp.Option {
				if wantLL == nil {
					return nil
				}
				return []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: ownMAC}}
			}()}, src, sn)
			if err != nil || !bytes.Equal(body, want) {
				t.Errorf("ICMPv6 body\n got %x\nwant %x (%v)", body, want, err)
			}
		})
	}
}

func TestProbeSource(t *testing.T) {
	a := netip.MustParseAddr
	for _, tt := range []struct {
		name  string
		addrs []netip.Addr
		want  netip.Addr
	}{
		{"link-local first", []netip.Addr{a("198.51.100.1"), a("2001:db8::1"), a("fe80::1")}, a("fe80::1")},
		{"another address, never the VIP", []netip.Addr{vip6, a("2001:db8::1")}, a("2001:db8::1")},
		{"a link-local VIP is no source", []netip.Addr{a("fe80::50"), a("2001:db8::1")}, a("2001:db8::1")},
		{"nothing but IPv4 and the VIP: DAD style", []netip.Addr{a("198.51.100.1"), vip6}, netip.IPv6Unspecified()},
		{"none", nil, netip.IPv6Unspecified()},
	} {
		vip := vip6
		if strings.Contains(tt.name, "link-local VIP") {
			vip = a("fe80::50")
		}
		if got := probeSource(tt.addrs, vip); got != tt.want {
			t.Errorf("%s: probeSource = %s, want %s", tt.name, got, tt.want)
		}
	}
}

// fakeNDP replays frames, then times out like a socket at its deadline.
type fakeNDP struct {
	mu       sync.Mutex
	frames   [][]byte
	readErr  error
	probeErr error
	probed   []netip.Addr
	deadline time.Time
	closed   bool
}

func (f *fakeNDP) Solicit(ip netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.probed = append(f.probed, ip)
	return f.probeErr
}

func (f *fakeNDP) ReadFrame() ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.frames) > 0 {
		b := f.frames[0]
		f.frames = f.frames[1:]
		return b, nil
	}
	if f.readErr != nil {
		return nil, f.readErr
	}
	return nil, os.ErrDeadlineExceeded
}

func (f *fakeNDP) Source() netip.Addr { return ownLL }
func (f *fakeNDP) SetReadDeadline(t time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deadline = t
	return nil
}
func (f *fakeNDP) HardwareAddr() net.HardwareAddr { return ownMAC }
func (f *fakeNDP) Close() error                   { f.closed = true; return nil }

func TestCheckIPv6(t *testing.T) {
	base := map[string]any{"interface": "eth0", "vip": vip6.String()}
	withPeer := map[string]any{"interface": "eth0", "vip": vip6.String(), "peer_app": []string{"[2001:db8::12]:80"}}
	fromPeer := advert(t, peerMAC, peerLL, ownLL, vip6, false)
	tests := []struct {
		name       string
		cfg        map[string]any
		frames     [][]byte
		readErr    error
		probeErr   error
		dialErr    error
		appUp      map[string]bool
		wantStatus sdk.Status
		wantReason string
		wantMAC    string
	}{
		{"nobody answers", base, nil, nil, nil, nil, nil, sdk.StatusOK, "2001:db8::50: no other owner on eth0", ""},
		{"another owner answers", base, [][]byte{fromPeer}, nil, nil, nil, nil,
			sdk.StatusFail, "2001:db8::50: another owner on eth0: 02:00:00:00:00:02", "02:00:00:00:00:02"},
		{"our own answer is ignored", base, [][]byte{advert(t, ownMAC, ownLL, peerLL, vip6, false)}, nil, nil, nil, nil,
			sdk.StatusOK, "no other owner", ""},
		{"a frame we sent is ignored whatever it claims", base, [][]byte{ndFrame(t, ownMAC, ownLL, allNode,
			&ndp.NeighborAdvertisement{TargetAddress: vip6, Options: []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: thirdMAC}}})},
			nil, nil, nil, nil, sdk.StatusOK, "no other owner", ""},
		{"our probe echoed back is ignored", base, [][]byte{buildNS(ownMAC, ownLL, vip6)}, nil, nil, nil, nil,
			sdk.StatusOK, "no other owner", ""},
		{"adverts for other addresses are ignored", base, [][]byte{advert(t, peerMAC, peerLL, ownLL, otherIP6, false)}, nil, nil, nil, nil,
			sdk.StatusOK, "no other owner", ""},
		{"an unsolicited advert counts", base, [][]byte{advert(t, peerMAC, peerLL, allNode, vip6, false)}, nil, nil, nil, nil,
			sdk.StatusFail, "another owner", "02:00:00:00:00:02"},
		{"a solicitation from the VIP counts", base, [][]byte{solicitation(t, peerMAC, vip6, otherIP6)}, nil, nil, nil, nil,
			sdk.StatusFail, "another owner", "02:00:00:00:00:02"},
		{"a DAD probe does not", base, [][]byte{solicitation(t, peerMAC, netip.IPv6Unspecified(), vip6)}, nil, nil, nil, nil,
			sdk.StatusOK, "no other owner", ""},
		{"a forwarded advert is no neighbour's", base, [][]byte{patched(fromPeer, 21, 64)}, nil, nil, nil, nil,
			sdk.StatusOK, "no other owner", ""},
		{"garbage is skipped, the owner after it seen", base, [][]byte{{1, 2, 3}, patched(fromPeer, 60, 0xff), fromPeer}, nil, nil, nil, nil,
			sdk.StatusFail, "another owner", "02:00:00:00:00:02"},
		{"a multicast link-layer address is no owner", base, [][]byte{advert(t, net.HardwareAddr{0x33, 0x33, 0, 0, 0, 1}, peerLL, ownLL, vip6, false)}, nil, nil, nil, nil,
			sdk.StatusOK, "no other owner", ""},
		{"several owners, each once, sorted", base, [][]byte{advert(t, thirdMAC, thirdLL, ownLL, vip6, false), fromPeer, fromPeer,
			advert(t, thirdMAC, thirdLL, allNode, vip6, true)}, nil, nil, nil, nil,
			sdk.StatusFail, "02:00:00:00:00:02,02:00:00:00:00:03", "02:00:00:00:00:02,02:00:00:00:00:03"},
		{"peer app up: a second master", withPeer, [][]byte{fromPeer}, nil, nil, nil, map[string]bool{"[2001:db8::12]:80": true},
			sdk.StatusFail, "peer app up ([2001:db8::12]:80)", "02:00:00:00:00:02"},
		{"peer app down: not counted", withPeer, [][]byte{fromPeer}, nil, nil, nil, nil,
			sdk.StatusOK, "peer app is down", "02:00:00:00:00:02"},
		{"no interface: unknown", base, nil, nil, nil, errors.New("interface eth0: no such network interface"), nil,
			sdk.StatusUnknown, "no such network interface", ""},
		{"probe fails: unknown", base, nil, nil, errors.New("operation not permitted"), nil, nil,
			sdk.StatusUnknown, "ndp probe on eth0: operation not permitted", ""},
		{"read fails: unknown", base, [][]byte{fromPeer}, errors.New("network is down"), nil, nil, nil,
			sdk.StatusUnknown, "ndp read: network is down", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := &fakeNDP{frames: tt.frames, readErr: tt.readErr, probeErr: tt.probeErr}
			p, _ := configured(t, tt.cfg, nil, nil, tt.appUp)
			p.dialARP = func(string) (arpConn, error) { t.Error("ARP used for an IPv6 VIP"); return nil, errors.New("no") }
			p.dialNDP = func(iface string, vip netip.Addr) (ndpConn, error) {
				if iface != "eth0" || vip != vip6 {
					t.Errorf("dialNDP(%q, %s)", iface, vip)
				}
				if tt.dialErr != nil {
					return nil, tt.dialErr
				}
				return conn, nil
			}
			r := p.Check(context.Background())
			if r.Status != tt.wantStatus || !strings.Contains(r.Reason, tt.wantReason) || r.Detail["other_mac"] != tt.wantMAC {
				t.Fatalf("Check = %v %q %v, want %v containing %q, other_mac %q", r.Status, r.Reason, r.Detail, tt.wantStatus, tt.wantReason, tt.wantMAC)
			}
			if r.Detail["vip"] != vip6.String() {
				t.Errorf("detail vip %q", r.Detail["vip"])
			}
			if tt.dialErr == nil {
				if len(conn.probed) != 1 || conn.probed[0] != vip6 || !conn.closed || r.Detail["ns_source"] != ownLL.String() {
					t.Errorf("probed %v closed %v ns_source %q; want one solicitation for %s from %s, socket closed",
						conn.probed, conn.closed, r.Detail["ns_source"], vip6, ownLL)
				}
			}
		})
	}
}

func FuzzParseNDP(f *testing.F) {
	f.Add(advert(f, peerMAC, peerLL, ownLL, vip6, false))
	f.Add(advert(f, peerMAC, peerLL, allNode, vip6, true))
	f.Add(solicitation(f, peerMAC, vip6, otherIP6))
	f.Add(solicitation(f, peerMAC, netip.IPv6Unspecified(), vip6))
	f.Add(buildNS(ownMAC, ownLL, vip6))
	f.Fuzz(func(t *testing.T, frame []byte) {
		p, err := parseNDP(frame)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "ndp: ") {
				t.Fatalf("error %q does not say what failed", err)
			}
			return
		}
		if len(p.ethSrc) != 6 || p.lladdr != nil && len(p.lladdr) != 6 || (p.typ != icmpNS && p.typ != icmpNA) ||
			!p.src.Is6() || !p.target.Is6() || p.target.IsMulticast() {
			t.Fatalf("parsed %+v from %x", p, frame)
		}
		// What was decoded is copied out: the caller may reuse the buffer.
		clear(frame)
		if mac, ok := claimant(p, p.target); p.typ == icmpNA && (!ok || len(mac) != 6) {
			t.Fatalf("claimant of an NA for its own target = %v %v", mac, ok)
		}
	})
}

// FuzzBuildNS: every solicitation we build decodes to what was asked.
func FuzzBuildNS(f *testing.F) {
	f.Add([]byte(ownMAC), ownLL.AsSlice(), vip6.AsSlice())
	f.Add([]byte(ownMAC), netip.IPv6Unspecified().AsSlice(), vip6.AsSlice())
	f.Fuzz(func(t *testing.T, mac, src, target []byte) {
		if len(mac) != 6 || len(src) != 16 || len(target) != 16 {
			return
		}
		s, tg := netip.AddrFrom16([16]byte(src)), netip.AddrFrom16([16]byte(target))
		p, err := parseNDP(buildNS(mac, s, tg))
		if tg.IsMulticast() {
			if err == nil {
				t.Fatalf("NS for multicast %s decoded", tg)
			}
			return
		}
		if err != nil || p.typ != icmpNS || p.src != s || p.target != tg || !bytes.Equal(p.ethSrc, mac) ||
			(s.IsUnspecified() != (p.lladdr == nil)) || p.lladdr != nil && !bytes.Equal(p.lladdr, mac) {
			t.Fatalf("buildNS(%x, %s, %s) decodes to %+v, %v", mac, s, tg, p, err)
		}
	})
}
