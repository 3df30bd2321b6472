package vrrp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hawatch/hawatch/internal/capture"
)

// loadCapture reads one keepalived advert from testdata/keepalived.
func loadCapture(t testing.TB, name string) capture.Packet {
	t.Helper()
	c, err := capture.Load(filepath.Join("testdata", "keepalived", name))
	if err != nil {
		t.Fatal(err)
	}
	if c.Protocol != Protocol {
		t.Fatalf("%s: IP protocol %d, want %d", name, c.Protocol, Protocol)
	}
	return c
}

var (
	kaSrc = netip.MustParseAddr("192.0.2.11") // the capture lab's addresses (test data only)
	kaVIP = netip.MustParseAddr("192.0.2.50")
)

func TestKeepalivedCaptures(t *testing.T) {
	pass := passData("1111")
	tests := []struct {
		file     string
		version  uint8
		prio     uint8
		interval uint16
		auth     AuthType
		authData [8]byte
		checksum uint16
		duration time.Duration
	}{
		{"vrrp-advert-v2-1.txt", 2, 100, 1, AuthPass, pass, 0x5535, time.Second},
		{"vrrp-advert-prio0-v2-1.txt", 2, 0, 1, AuthPass, pass, 0xb935, time.Second},
		{"vrrp-advert-v3-1.txt", 3, 100, 100, AuthNone, [8]byte{}, 0x059a, time.Second},
		{"vrrp-advert-v3-0.1.txt", 3, 100, 10, AuthNone, [8]byte{}, 0x05f4, 100 * time.Millisecond},
		{"vrrp-advert-v3-0.01.txt", 3, 100, 1, AuthNone, [8]byte{}, 0x05fd, 10 * time.Millisecond},
		{"vrrp-advert-prio0-v3-1.txt", 3, 0, 100, AuthNone, [8]byte{}, 0x699a, time.Second},
		{"vrrp-advert-prio0-v3-0.1.txt", 3, 0, 10, AuthNone, [8]byte{}, 0x69f4, 100 * time.Millisecond},
		{"vrrp-advert-prio0-v3-0.01.txt", 3, 0, 1, AuthNone, [8]byte{}, 0x69fd, 10 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			c := loadCapture(t, tc.file)
			if c.TTL != TTL {
				t.Errorf("keepalived sent TTL %d, want %d", c.TTL, TTL)
			}
			a, err := ParseAdvert(c.Payload, c.Src, c.Dst)
			if err != nil {
				t.Fatalf("ParseAdvert: %v", err)
			}
			want := &Advert{
				Version: tc.version, Type: TypeAdvertisement, VRID: 51, Priority: tc.prio,
				Interval: tc.interval, AuthType: tc.auth, AuthData: tc.authData,
				Addresses: []netip.Addr{kaVIP}, Checksum: tc.checksum,
				Src: kaSrc, Dst: MulticastGroup4,
			}
			if !a.Equal(want) || a.Checksum != want.Checksum {
				t.Errorf("decoded\n %+v\nwant\n %+v", a, want)
			}
			if got := a.IntervalDuration(); got != tc.duration {
				t.Errorf("IntervalDuration = %s, want %s", got, tc.duration)
			}
			if tc.auth == AuthPass && !a.PassMatches("1111") {
				t.Error("PassMatches(\"1111\") = false on keepalived's own advert")
			}
			b, err := a.MarshalBinary()
			if err != nil {
				t.Fatalf("MarshalBinary: %v", err)
			}
			if !bytes.Equal(b, c.Payload) {
				t.Errorf("re-encoded\n % x\nkeepalived sent\n % x", b, c.Payload)
			}
			// What the machine would send with the same settings is
			// keepalived's packet, byte for byte.
			cfg := Config{VRID: 51, Version: tc.version, Priority: 100, AdvertInterval: tc.duration,
				LocalAddr: kaSrc, Addresses: []netip.Addr{kaVIP}}
			if tc.auth == AuthPass {
				cfg.AuthPass = "1111"
			}
			own, err := cfg.Advert(tc.prio).MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(own, c.Payload) {
				t.Errorf("Config.Advert encoded\n % x\nkeepalived sent\n % x", own, c.Payload)
			}
		})
	}
}

// fixChecksum recomputes the checksum of a hand-patched message the way
// MarshalBinary would, so a test reaches the check it means to test.
func fixChecksum(msg []byte, src, dst netip.Addr) []byte {
	msg = bytes.Clone(msg)
	msg[6], msg[7] = 0, 0
	var sum uint32
	if msg[0]>>4 == 3 {
		sum = pseudoSum(src, dst, len(msg))
	}
	binary.BigEndian.PutUint16(msg[6:], ^fold(sumBytes(sum, msg)))
	return msg
}

func mustMarshal(t testing.TB, a *Advert) []byte {
	t.Helper()
	b, err := a.MarshalBinary()
	if err != nil {
		t.Fatalf("MarshalBinary(%v): %v", a, err)
	}
	return b
}

var (
	src4 = netip.MustParseAddr("198.51.100.12")
	src6 = netip.MustParseAddr("fe80::12")
	vip4 = netip.MustParseAddr("198.51.100.50")
	vip6 = netip.MustParseAddr("fe80::50")
	gvip = netip.MustParseAddr("2001:db8::50")
)

func v3advert4() *Advert {
	return &Advert{Version: 3, Type: 1, VRID: 7, Priority: 100, Interval: 100,
		Addresses: []netip.Addr{vip4}, Src: src4, Dst: MulticastGroup4}
}

func v3advert6() *Advert {
	return &Advert{Version: 3, Type: 1, VRID: 7, Priority: 150, Interval: 1,
		Addresses: []netip.Addr{vip6, gvip}, Src: src6, Dst: MulticastGroup6}
}

func v2advert() *Advert {
	return &Advert{Version: 2, Type: 1, VRID: 7, Priority: 100, Interval: 1, AuthType: AuthPass,
		AuthData: passData("secret"), Addresses: []netip.Addr{vip4}, Src: src4, Dst: MulticastGroup4}
}

func TestUnmarshalRejects(t *testing.T) {
	v3 := mustMarshal(t, v3advert4())
	v6 := mustMarshal(t, v3advert6())
	v2 := mustMarshal(t, v2advert())
	patch := func(b []byte, i int, v byte, src, dst netip.Addr) []byte {
		b = bytes.Clone(b)
		b[i] = v
		return fixChecksum(b, src, dst)
	}
	zeroInterval := v3advert4()
	zeroInterval.Interval = 0
	zeroInterval2 := v2advert()
	zeroInterval2.Interval = 0
	badType := v3advert4()
	badType.Type = 2

	tests := []struct {
		name     string
		msg      []byte
		src, dst netip.Addr
		want     error
	}{
		{"empty", nil, src4, MulticastGroup4, ErrTruncated},
		{"short header", v3[:7], src4, MulticastGroup4, ErrTruncated},
		{"v3 address cut", v3[:11], src4, MulticastGroup4, ErrTruncated},
		{"v2 auth data cut", v2[:len(v2)-1], src4, MulticastGroup4, ErrTruncated},
		{"count says 2", patch(v3, 3, 2, src4, MulticastGroup4), src4, MulticastGroup4, ErrTruncated},
		{"v6 address cut", v6[:len(v6)-2], src6, MulticastGroup6, ErrTruncated},
		{"version 1", patch(v3, 0, 0x11, src4, MulticastGroup4), src4, MulticastGroup4, ErrVersion},
		{"version 4", patch(v3, 0, 0x41, src4, MulticastGroup4), src4, MulticastGroup4, ErrVersion},
		{"type 2", mustMarshal(t, badType), src4, MulticastGroup4, ErrType},
		{"type 0", patch(v3, 0, 0x30, src4, MulticastGroup4), src4, MulticastGroup4, ErrType},
		{"over-long v4", append(bytes.Clone(v3), make([]byte, 20)...), src4, MulticastGroup4, ErrLength},
		{"over-long v6", append(bytes.Clone(v6), 0), src6, MulticastGroup6, ErrLength},
		{"bad checksum v3", func() []byte { b := bytes.Clone(v3); b[7] ^= 1; return b }(), src4, MulticastGroup4, ErrChecksum},
		{"bad checksum v6", func() []byte { b := bytes.Clone(v6); b[2] ^= 0x80; return b }(), src6, MulticastGroup6, ErrChecksum},
		{"bad checksum v2", func() []byte { b := bytes.Clone(v2); b[len(b)-1] ^= 1; return b }(), src4, MulticastGroup4, ErrChecksum},
		{"v3 from another source", v3, netip.MustParseAddr("198.51.100.13"), MulticastGroup4, ErrChecksum},
		{"zero count", patch(v3[:8], 3, 0, src4, MulticastGroup4), src4, MulticastGroup4, ErrAddrCount},
		{"zero interval v3", mustMarshal(t, zeroInterval), src4, MulticastGroup4, ErrZeroInterval},
		{"zero interval v2", mustMarshal(t, zeroInterval2), src4, MulticastGroup4, ErrZeroInterval},
		{"v2 auth AH", patch(v2, 4, 2, src4, MulticastGroup4), src4, MulticastGroup4, ErrAuthType},
		{"v2 auth 9", patch(v2, 4, 9, src4, MulticastGroup4), src4, MulticastGroup4, ErrAuthType},
		{"v2 over IPv6", v2, src6, MulticastGroup6, ErrFamily},
		{"no source", v3, netip.Addr{}, MulticastGroup4, ErrFamily},
		{"v3 v4 source v6 destination", v3, src4, MulticastGroup6, ErrFamily},
		{"v6 message from v4 source", v6, src4, MulticastGroup4, ErrLength},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := &Advert{Src: tc.src, Dst: tc.dst}
			err := a.UnmarshalBinary(tc.msg)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if a.Src != tc.src.Unmap() || a.Dst != tc.dst.Unmap() {
				t.Errorf("Src/Dst lost: %v %v", a.Src, a.Dst)
			}
			if DropReason(err) == "other" {
				t.Errorf("DropReason(%v) = other", err)
			}
		})
	}
}

func TestUnmarshalAccepts(t *testing.T) {
	base := v3advert4()
	v3 := mustMarshal(t, base)

	// RFC 9568 §5.2.8: IPv4 VRRPv3 checksum over the message alone.
	rfc9568 := bytes.Clone(v3)
	rfc9568[6], rfc9568[7] = 0, 0
	binary.BigEndian.PutUint16(rfc9568[6:], ^fold(sumBytes(0, rfc9568)))

	// keepalived unicast_chksum_compat: the multicast group in the
	// pseudo-header although the packet went to a unicast peer.
	peer := netip.MustParseAddr("198.51.100.11")

	reserved := bytes.Clone(v3)
	reserved[4] |= 0xf0 // reserved bits must be ignored on receipt (§5.2.6)
	reserved = fixChecksum(reserved, src4, MulticastGroup4)

	// A v2 advert without auth: Auth Data is ignored on receipt.
	noauth := v2advert()
	noauth.AuthType, noauth.AuthData = AuthNone, [8]byte{}
	noauthMsg := mustMarshal(t, noauth)
	copy(noauthMsg[len(noauthMsg)-8:], "garbage!")
	noauthMsg = fixChecksum(noauthMsg, src4, MulticastGroup4)

	tests := []struct {
		name     string
		msg      []byte
		src, dst netip.Addr
		want     *Advert
	}{
		{"rfc5798 pseudo-header", v3, src4, MulticastGroup4, base},
		{"rfc9568 message only", rfc9568, src4, MulticastGroup4, base},
		{"keepalived old unicast form", v3, src4, peer, func() *Advert { a := v3advert4(); a.Dst = peer; return a }()},
		{"ethernet padding", append(bytes.Clone(v3), make([]byte, maxPaddedV4-len(v3))...), src4, MulticastGroup4, base},
		{"reserved bits set", reserved, src4, MulticastGroup4, base},
		{"v4-mapped source", v3, netip.AddrFrom16(src4.As16()), MulticastGroup4, base},
		{"v2 no auth", noauthMsg, src4, MulticastGroup4, noauth},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseAdvert(tc.msg, tc.src, tc.dst)
			if err != nil {
				t.Fatal(err)
			}
			if !a.Equal(tc.want) {
				t.Errorf("got %+v\nwant %+v", a, tc.want)
			}
		})
	}

	// The message-only form is an IPv4 allowance; IPv6 always has the
	// pseudo-header.
	v6 := v3advert6()
	msg := mustMarshal(t, v6)
	msg[6], msg[7] = 0, 0
	binary.BigEndian.PutUint16(msg[6:], ^fold(sumBytes(0, msg)))
	if _, err := ParseAdvert(msg, v6.Src, v6.Dst); !errors.Is(err, ErrChecksum) {
		t.Errorf("IPv6 without pseudo-header: err = %v, want ErrChecksum", err)
	}
}

// TestIPv6Checksum checks the IPv6 pseudo-header (RFC 8200 §8.1) against a
// straightforward construction, independent of pseudoSum.
func TestIPv6Checksum(t *testing.T) {
	a := v3advert6()
	msg := mustMarshal(t, a)
	if len(msg) != 8+2*16 {
		t.Fatalf("len = %d, want 40", len(msg))
	}
	var ph []byte
	s, d := a.Src.As16(), a.Dst.As16()
	ph = append(ph, s[:]...)
	ph = append(ph, d[:]...)
	ph = append(ph, 0, 0, 0, byte(len(msg)), 0, 0, 0, 112)
	all := append(ph, msg...)
	var sum uint64
	for i := 0; i < len(all); i += 2 {
		sum += uint64(all[i])<<8 | uint64(all[i+1])
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	if sum != 0xffff {
		t.Fatalf("IPv6 pseudo-header checksum does not verify: sum %#x", sum)
	}
	back, err := ParseAdvert(msg, a.Src, a.Dst)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Equal(a) {
		t.Errorf("round trip: %+v, want %+v", back, a)
	}
	again := mustMarshal(t, back)
	if !bytes.Equal(again, msg) {
		t.Errorf("re-encoding differs:\n% x\n% x", again, msg)
	}
}

func TestMarshalRejects(t *testing.T) {
	mod := func(base *Advert, f func(*Advert)) *Advert { f(base); return base }
	many := make([]netip.Addr, 256)
	for i := range many {
		many[i] = netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})
	}
	tests := []struct {
		name string
		a    *Advert
		want error
	}{
		{"version 4", mod(v3advert4(), func(a *Advert) { a.Version = 4 }), ErrVersion},
		{"type 16", mod(v3advert4(), func(a *Advert) { a.Type = 16 }), ErrType},
		{"no addresses", mod(v3advert4(), func(a *Advert) { a.Addresses = nil }), ErrAddrCount},
		{"256 addresses", mod(v3advert4(), func(a *Advert) { a.Addresses = many }), ErrAddrCount},
		{"mixed families", mod(v3advert4(), func(a *Advert) { a.Addresses = append(a.Addresses, gvip) }), ErrFamily},
		{"v2 IPv6", mod(v2advert(), func(a *Advert) { a.Src, a.Dst, a.Addresses = src6, MulticastGroup6, []netip.Addr{vip6} }), ErrFamily},
		{"v3 without destination", mod(v3advert4(), func(a *Advert) { a.Dst = netip.Addr{} }), ErrFamily},
		{"v3 without source", mod(v3advert4(), func(a *Advert) { a.Src = netip.Addr{} }), ErrFamily},
		{"v2 interval 256s", mod(v2advert(), func(a *Advert) { a.Interval = 256 }), ErrInterval},
		{"v3 interval 4096cs", mod(v3advert4(), func(a *Advert) { a.Interval = 4096 }), ErrInterval},
		{"v2 AH", mod(v2advert(), func(a *Advert) { a.AuthType = AuthAH }), ErrAuthType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if b, err := tc.a.MarshalBinary(); !errors.Is(err, tc.want) {
				t.Fatalf("MarshalBinary = % x, %v; want %v", b, err, tc.want)
			}
		})
	}
}

func TestAppendBinaryKeepsPrefix(t *testing.T) {
	prefix := []byte{0xde, 0xad}
	b, err := v3advert4().AppendBinary(bytes.Clone(prefix))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b[:2], prefix) || !bytes.Equal(b[2:], mustMarshal(t, v3advert4())) {
		t.Errorf("AppendBinary = % x", b)
	}
}

func TestPassMatches(t *testing.T) {
	a := &Advert{AuthData: passData("12345678")}
	tests := []struct {
		pass string
		want bool
	}{
		{"12345678", true},
		{"123456789", true}, // keepalived compares the first 8 bytes only
		{"1234567", false},
		{"12345679", false},
		{"", false},
	}
	for _, tc := range tests {
		if got := a.PassMatches(tc.pass); got != tc.want {
			t.Errorf("PassMatches(%q) = %v, want %v", tc.pass, got, tc.want)
		}
	}
	short := &Advert{AuthData: passData("1111")}
	if !short.PassMatches("1111") || short.PassMatches("1111\x00\x00\x00x") {
		t.Error("NUL padding compare is wrong")
	}
}

func TestAdvertStringHidesPassword(t *testing.T) {
	s := v2advert().String()
	if strings.Contains(s, "secret") {
		t.Errorf("String() leaks the password: %s", s)
	}
	if !strings.Contains(s, "auth=pass") || !strings.Contains(s, "prio=100") {
		t.Errorf("String() = %s", s)
	}
}

func TestWireInterval(t *testing.T) {
	tests := []struct {
		version uint8
		d       time.Duration
		want    uint16
	}{
		{3, time.Second, 100},
		{3, 100 * time.Millisecond, 10},
		{3, 10 * time.Millisecond, 1},
		{3, 14 * time.Millisecond, 1},
		{3, 15 * time.Millisecond, 2}, // half rounds up
		{3, 1234 * time.Millisecond, 123},
		{3, 0, 1},
		{3, -time.Second, 1},
		{3, 4095 * 10 * time.Millisecond, 4095},
		{3, time.Minute, 4095},
		{2, time.Second, 1},
		{2, 400 * time.Millisecond, 1}, // keepalived #1615 sent 0 here; 0 is invalid
		{2, 1500 * time.Millisecond, 2},
		{2, 255 * time.Second, 255},
		{2, time.Hour, 255},
	}
	for _, tc := range tests {
		if got := WireInterval(tc.version, tc.d); got != tc.want {
			t.Errorf("WireInterval(v%d, %s) = %d, want %d", tc.version, tc.d, got, tc.want)
		}
	}
	if got := NormalizeInterval(3, 1234*time.Millisecond); got != 1230*time.Millisecond {
		t.Errorf("NormalizeInterval = %s", got)
	}
}

func TestDropReason(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range dropLabels {
		wrapped := errors.Join(errors.New("context"), d.err)
		if got := DropReason(wrapped); got != d.label {
			t.Errorf("DropReason(%v) = %q, want %q", d.err, got, d.label)
		}
		if seen[d.label] {
			t.Errorf("label %q used twice", d.label)
		}
		seen[d.label] = true
	}
	if DropReason(nil) != "" || DropReason(errors.New("x")) != "other" {
		t.Error("DropReason(nil / foreign error) wrong")
	}
	if n := len(DropReasons()); n != len(dropLabels)+1 {
		t.Errorf("DropReasons has %d labels", n)
	}
}
