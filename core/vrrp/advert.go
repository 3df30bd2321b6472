package vrrp

import (
	"bytes"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"
)

// Wire constants (RFC 5798 §5.1, RFC 3768 §5.2).
const (
	// Protocol is the IP protocol number of VRRP.
	Protocol = 112
	// TTL is the only IPv4 TTL / IPv6 hop limit a VRRP advert may carry.
	TTL = 255
	// TypeAdvertisement is the only VRRP packet type.
	TypeAdvertisement = 1

	headerLen   = 8
	authDataLen = 8 // v2 only: Authentication Data follows the addresses

	// An Ethernet frame carries at least 46 bytes of payload; with a 20-byte
	// IPv4 header the smallest messages (a v3 advert with one address is 12
	// bytes) can arrive padded up to this many bytes. An IPv6 advert is never
	// below the minimum, so it is never padded.
	maxPaddedV4 = 46 - 20
)

// Multicast destinations of adverts (RFC 5798 §5.1.1.2, §5.1.2.2).
var (
	MulticastGroup4 = netip.AddrFrom4([4]byte{224, 0, 0, 18})
	MulticastGroup6 = netip.MustParseAddr("ff02::12")
)

// AuthType is the VRRPv2 Auth Type field (RFC 3768 §5.3.6; RFC 2338 §5.3.6
// for the values keepalived still uses).
type AuthType uint8

const (
	AuthNone AuthType = 0 // no authentication
	AuthPass AuthType = 1 // simple text password (keepalived auth_type PASS)
	AuthAH   AuthType = 2 // IPsec AH; not supported, decoding rejects it
)

func (t AuthType) String() string {
	switch t {
	case AuthNone:
		return "none"
	case AuthPass:
		return "pass"
	case AuthAH:
		return "ah"
	}
	return fmt.Sprintf("auth(%d)", uint8(t))
}

// Advert is one VRRP advertisement, v2 (RFC 3768) or v3 (RFC 5798), IPv4 or
// IPv6. It is the VRRP message only: the IP header is the transport's, except
// that Src and Dst, which the v3 checksum covers, travel with the message.
//
// UnmarshalBinary reads Src and Dst from the receiver, so set them (from the
// received packet's IP header) before decoding; ParseAdvert does both.
type Advert struct {
	Version  uint8 // 2 or 3
	Type     uint8 // 1 = advertisement
	VRID     uint8
	Priority uint8
	// Interval is the wire value: v3 Max Adver Int in centiseconds (12 bits),
	// v2 Adver Int in whole seconds (8 bits). See IntervalDuration.
	Interval uint16
	AuthType AuthType // v2 only
	AuthData [8]byte  // v2 PASS password, NUL padded; zero unless AuthPass
	// Addresses are the virtual addresses, all of Src's family.
	Addresses []netip.Addr
	// Checksum is the value as received. MarshalBinary computes its own and
	// ignores this field.
	Checksum uint16
	// Src and Dst are the IP header addresses. They are never encoded; v3
	// checksums cover them (pseudo-header), and Src fixes the address family.
	Src, Dst netip.Addr
	// Trailer is the auth_hmac trailer (keepalived 2.4), nil when the
	// advert has none. MarshalBinary encodes it with its MAC as given;
	// AppendSigned computes the MAC. Decoding and signing point it at
	// storage inside the Advert.
	Trailer *Trailer

	// trailer is where decoding and signing keep the trailer, so that
	// neither allocates one.
	trailer Trailer
	// signed keeps the received PDU and trailer for VerifyHMAC.
	signed []byte
}

// ParseAdvert decodes the VRRP message b that arrived from src to dst.
func ParseAdvert(b []byte, src, dst netip.Addr) (*Advert, error) {
	a := &Advert{Src: src, Dst: dst}
	if err := a.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	return a, nil
}

// IntervalDuration returns the advert interval as a duration.
func (a *Advert) IntervalDuration() time.Duration {
	return IntervalFromWire(a.Version, a.Interval)
}

// PassMatches reports whether the advert's Authentication Data equals pass
// the way keepalived compares it: the first 8 bytes, NUL padded, in constant
// time so a sender cannot probe the password byte by byte.
func (a *Advert) PassMatches(pass string) bool {
	want := passData(pass)
	return subtle.ConstantTimeCompare(a.AuthData[:], want[:]) == 1
}

// passData is the 8-byte Authentication Data for a password; longer
// passwords are cut at 8 bytes, as keepalived does.
func passData(pass string) [8]byte {
	var d [8]byte
	copy(d[:], pass)
	return d
}

// family returns 4, 6, or 0 for an invalid address; IPv4-mapped IPv6
// addresses count as IPv4.
func family(a netip.Addr) int {
	switch {
	case !a.IsValid():
		return 0
	case a.Unmap().Is4():
		return 4
	}
	return 6
}

func addrLen(fam int) int {
	if fam == 4 {
		return 4
	}
	return 16
}

// MarshalBinary encodes the advert with a freshly computed checksum: v2 over
// the message; v3 with the IPv4 or IPv6 pseudo-header built from Src and Dst
// (RFC 5798 §5.2.8; for IPv4 this is the form keepalived 2.2 verifies, not
// RFC 9568's message-only form).
//
// Encoding is strict about what the layout needs (version, family, counts
// and intervals that fit their fields) and lenient about semantics: a Type
// other than 1 or a zero interval encode as given, so tests can build
// packets a receiver must reject.
func (a *Advert) MarshalBinary() ([]byte, error) {
	return a.AppendBinary(nil)
}

// AppendBinary appends the encoding of the advert to b (see MarshalBinary).
func (a *Advert) AppendBinary(b []byte) ([]byte, error) {
	return a.appendBinary(b, nil)
}

// appendBinary encodes the advert; with a trailer and a key, the trailer's
// MAC is computed (and stored in a.Trailer).
//
// Checksums with a trailer are keepalived 2.4's: an IPv4 advert's (v2 and
// v3) covers the PDU only; an IPv6 advert's covers the PDU and the trailer,
// with the pseudo-header length counting both.
func (a *Advert) appendBinary(b []byte, key *HMACKey) ([]byte, error) {
	if a.Version != 2 && a.Version != 3 {
		return b, fmt.Errorf("encode: version %d: %w", a.Version, ErrVersion)
	}
	if a.Type > 0x0f {
		return b, fmt.Errorf("encode: type %d does not fit 4 bits: %w", a.Type, ErrType)
	}
	n := len(a.Addresses)
	if n == 0 || n > 255 {
		return b, fmt.Errorf("encode: %d addresses: %w", n, ErrAddrCount)
	}
	fam := family(a.Src)
	if fam == 0 {
		fam = family(a.Addresses[0])
	}
	for _, ip := range a.Addresses {
		// An IPv6 advert may carry any 16 bytes, IPv4-mapped ones included.
		if fam == 4 && !ip.Unmap().Is4() || fam == 6 && !ip.Is6() {
			return b, fmt.Errorf("encode: address %s in an IPv%d advert: %w", ip, fam, ErrFamily)
		}
	}
	switch a.Version {
	case 2:
		if fam != 4 {
			return b, fmt.Errorf("encode: VRRPv2 is IPv4 only: %w", ErrFamily)
		}
		if a.Interval > 0xff {
			return b, fmt.Errorf("encode: v2 interval %ds does not fit 8 bits: %w", a.Interval, ErrInterval)
		}
		if a.AuthType != AuthNone && a.AuthType != AuthPass {
			return b, fmt.Errorf("encode: auth type %s: %w", a.AuthType, ErrAuthType)
		}
	case 3:
		if a.Interval > 0x0fff {
			return b, fmt.Errorf("encode: v3 interval %dcs does not fit 12 bits: %w", a.Interval, ErrInterval)
		}
		if family(a.Src) != fam || family(a.Dst) != fam {
			return b, fmt.Errorf("encode: v3 checksum needs IPv%d source and destination (have %v, %v): %w",
				fam, a.Src, a.Dst, ErrFamily)
		}
	}

	start := len(b)
	b = append(b, a.Version<<4|a.Type, a.VRID, a.Priority, uint8(n))
	if a.Version == 2 {
		b = append(b, uint8(a.AuthType), uint8(a.Interval))
	} else {
		b = binary.BigEndian.AppendUint16(b, a.Interval&0x0fff) // reserved bits sent as 0 (§5.2.6)
	}
	b = append(b, 0, 0) // checksum, filled below
	for _, ip := range a.Addresses {
		b = appendAddr(b, ip, fam)
	}
	if a.Version == 2 {
		if a.AuthType == AuthPass {
			b = append(b, a.AuthData[:]...)
		} else {
			b = append(b, make([]byte, authDataLen)...) // zero on transmit (RFC 3768 §5.3.7)
		}
	}
	pduLen := len(b) - start
	if a.Trailer != nil {
		if key != nil && family(a.Src) == 0 {
			return b[:start], fmt.Errorf("encode: signing needs the source address: %w", ErrFamily)
		}
		b = a.Trailer.appendTo(b)
		if key != nil {
			a.Trailer.MAC = key.mac(a.Version, a.VRID, a.Src.Unmap(), b[start:])
			copy(b[start+pduLen+12:], a.Trailer.MAC[:])
		}
	}
	msg := b[start:]
	covered := msg[:pduLen]
	if a.Version == 3 && fam == 6 {
		covered = msg
	}
	var sum uint32
	if a.Version == 3 {
		sum = pseudoSum(a.Src.Unmap(), a.Dst.Unmap(), len(covered))
	}
	binary.BigEndian.PutUint16(msg[6:], ^fold(sumBytes(sum, covered)))
	return b, nil
}

func appendAddr(b []byte, ip netip.Addr, fam int) []byte {
	if fam == 4 {
		v := ip.Unmap().As4()
		return append(b, v[:]...)
	}
	v := ip.As16()
	return append(b, v[:]...)
}

// UnmarshalBinary decodes a VRRP message received from a.Src to a.Dst (set
// both first). It rejects, with the matching sentinel: a version other than 2
// or 3; a type other than 1; a message shorter than its address count needs,
// or longer by more than Ethernet padding; a family that disagrees with Src
// (or v2 over IPv6); a zero address count; a zero interval; an unknown or
// IPsec-AH v2 auth type; a bad checksum. Checksums: v2 over the message; v3
// IPv6 with the pseudo-header; v3 IPv4 in either form: RFC 5798's
// pseudo-header (keepalived) or RFC 9568's message only; keepalived's old
// unicast form (the multicast group as pseudo-header destination) is also
// accepted.
//
// Instance-level checks (configured version, VRID, auth, interval, address
// list) are Config.Check's job.
//
// Decoding again into the same Advert reuses its storage (the Addresses
// array, the trailer, the bytes kept for VerifyHMAC), so a receive loop that
// keeps one Advert per socket decodes without allocating; whoever keeps an
// earlier decoding's Addresses or Trailer past the next decode must copy
// them. Nothing of b is kept.
func (a *Advert) UnmarshalBinary(b []byte) error {
	src, dst := a.Src.Unmap(), a.Dst.Unmap()
	addrs, kept := a.Addresses[:0], a.signed[:0]
	*a = Advert{Src: src, Dst: dst, Addresses: addrs, signed: kept}
	if len(b) < headerLen {
		return fmt.Errorf("decode: %d bytes, header needs %d: %w", len(b), headerLen, ErrTruncated)
	}
	version, typ := b[0]>>4, b[0]&0x0f
	if version != 2 && version != 3 {
		return fmt.Errorf("decode: version %d: %w", version, ErrVersion)
	}
	if typ != TypeAdvertisement {
		return fmt.Errorf("decode: type %d: %w", typ, ErrType)
	}
	fam := family(src)
	switch {
	case fam == 0:
		return fmt.Errorf("decode: no source address to tell the family: %w", ErrFamily)
	case version == 2 && fam != 4:
		return fmt.Errorf("decode: VRRPv2 from IPv6 source %s: %w", src, ErrFamily)
	case version == 3 && family(dst) != fam:
		return fmt.Errorf("decode: v3 checksum needs an IPv%d destination, have %v: %w", fam, dst, ErrFamily)
	}
	count := int(b[3])
	if count == 0 {
		return fmt.Errorf("decode: %w", ErrAddrCount)
	}
	alen := addrLen(fam)
	want := headerLen + count*alen
	if version == 2 {
		want += authDataLen
	}
	signed := len(b) == want+TrailerLen
	switch {
	case len(b) < want:
		return fmt.Errorf("decode: %d bytes, %d addresses need %d: %w", len(b), count, want, ErrTruncated)
	case len(b) > want && !signed && (fam != 4 || len(b) > maxPaddedV4):
		return fmt.Errorf("decode: %d bytes, %d addresses need %d: %w", len(b), count, want, ErrLength)
	}
	msg := b[:want]
	covered := msg
	if signed && version == 3 && fam == 6 {
		covered = b[:want+TrailerLen]
	}
	if !checksumOK(version, src, dst, covered) {
		return fmt.Errorf("decode: checksum %#04x: %w", binary.BigEndian.Uint16(msg[6:]), ErrChecksum)
	}
	if signed {
		if err := a.trailer.parse(b[want : want+TrailerLen]); err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		a.Trailer = &a.trailer
		a.signed = append(kept, b[:want+TrailerLen]...)
	}

	a.Version, a.Type = version, typ
	a.VRID, a.Priority = msg[1], msg[2]
	a.Checksum = binary.BigEndian.Uint16(msg[6:])
	if version == 2 {
		a.AuthType = AuthType(msg[4])
		a.Interval = uint16(msg[5])
	} else {
		a.Interval = binary.BigEndian.Uint16(msg[4:]) & 0x0fff // reserved bits ignored (§5.2.6)
	}
	if a.Interval == 0 {
		return fmt.Errorf("decode: %w", ErrZeroInterval)
	}
	if version == 2 {
		switch a.AuthType {
		case AuthNone:
			// Auth Data is ignored on receipt; keep it zero so equal adverts compare equal.
		case AuthPass:
			copy(a.AuthData[:], msg[want-authDataLen:])
		default:
			return fmt.Errorf("decode: auth type %s: %w", a.AuthType, ErrAuthType)
		}
	}
	for i := range count {
		p := msg[headerLen+i*alen:]
		if fam == 4 {
			addrs = append(addrs, netip.AddrFrom4([4]byte(p[:4])))
		} else {
			addrs = append(addrs, netip.AddrFrom16([16]byte(p[:16])))
		}
	}
	a.Addresses = addrs
	return nil
}

func checksumOK(version uint8, src, dst netip.Addr, msg []byte) bool {
	const ok = 0xffff
	if version == 2 {
		return fold(sumBytes(0, msg)) == ok
	}
	if fold(sumBytes(pseudoSum(src, dst, len(msg)), msg)) == ok {
		return true
	}
	if !src.Is4() {
		return false
	}
	body := sumBytes(0, msg)
	if fold(body) == ok { // RFC 9568 §5.2.8: IPv4 v3 checksum without pseudo-header
		return true
	}
	// keepalived's unicast_chksum_compat: old releases put the multicast
	// group, not the unicast peer, in the pseudo-header.
	return dst != MulticastGroup4 && fold(pseudoSum(src, MulticastGroup4, len(msg))+body) == ok
}

// pseudoSum is the un-folded ones'-complement sum of the IPv4 (RFC 791/768
// style) or IPv6 (RFC 8200 §8.1) pseudo-header for a VRRP message of n bytes.
func pseudoSum(src, dst netip.Addr, n int) uint32 {
	var buf [40]byte
	var p []byte
	if src.Is4() {
		s, d := src.As4(), dst.Unmap().As4()
		p = append(buf[:0], s[:]...)
		p = append(p, d[:]...)
		p = append(p, 0, Protocol, byte(n>>8), byte(n))
	} else {
		s, d := src.As16(), dst.As16()
		p = append(buf[:0], s[:]...)
		p = append(p, d[:]...)
		p = binary.BigEndian.AppendUint32(p, uint32(n))
		p = append(p, 0, 0, 0, Protocol)
	}
	return sumBytes(0, p)
}

// sumBytes adds b, as big-endian 16-bit words, to acc. Messages are at most a
// few kilobytes, far from overflowing 32 bits.
func sumBytes(acc uint32, b []byte) uint32 {
	for len(b) >= 2 {
		acc += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint32(b[0]) << 8
	}
	return acc
}

func fold(acc uint32) uint16 {
	for acc > 0xffff {
		acc = acc&0xffff + acc>>16
	}
	return uint16(acc)
}

// Equal reports whether two adverts carry the same fields, trailers
// included, ignoring Checksum (which depends on the checksum form the sender
// chose).
func (a *Advert) Equal(b *Advert) bool {
	if a.Version != b.Version || a.Type != b.Type || a.VRID != b.VRID || a.Priority != b.Priority ||
		a.Interval != b.Interval || a.AuthType != b.AuthType || a.AuthData != b.AuthData ||
		a.Src != b.Src || a.Dst != b.Dst || len(a.Addresses) != len(b.Addresses) {
		return false
	}
	for i := range a.Addresses {
		if a.Addresses[i] != b.Addresses[i] {
			return false
		}
	}
	if (a.Trailer == nil) != (b.Trailer == nil) {
		return false
	}
	return a.Trailer == nil || *a.Trailer == *b.Trailer
}

// String renders the advert for logs. The v2 password is never shown.
func (a *Advert) String() string {
	var w bytes.Buffer
	fmt.Fprintf(&w, "vrrpv%d vrid=%d prio=%d interval=%s", a.Version, a.VRID, a.Priority, a.IntervalDuration())
	if a.Version == 2 {
		fmt.Fprintf(&w, " auth=%s", a.AuthType)
	}
	fmt.Fprintf(&w, " src=%v addrs=%v", a.Src, a.Addresses)
	return w.String()
}

// WireInterval converts an advert interval to the wire field the way
// keepalived does: v3 rounds to the nearest centisecond and clamps to
// 1–4095 (10 ms – 40.95 s); v2 rounds to the nearest second and clamps to
// 1–255.
func WireInterval(version uint8, d time.Duration) uint16 {
	unit, maxv := 10*time.Millisecond, int64(0x0fff)
	if version == 2 {
		unit, maxv = time.Second, 0xff
	}
	v := int64((d + unit/2) / unit)
	return uint16(min(max(v, 1), maxv))
}

// IntervalFromWire converts a wire interval field to a duration: v3
// centiseconds, v2 seconds.
func IntervalFromWire(version uint8, v uint16) time.Duration {
	if version == 2 {
		return time.Duration(v) * time.Second
	}
	return time.Duration(v) * 10 * time.Millisecond
}

// NormalizeInterval returns the interval that actually goes on the wire for
// d: rounded and clamped as WireInterval does.
func NormalizeInterval(version uint8, d time.Duration) time.Duration {
	return IntervalFromWire(version, WireInterval(version, d))
}
