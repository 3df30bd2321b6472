package vrrp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"
)

// The auth_hmac extension (keepalived 2.4, draft-cassen-vrrp-auth-hmac): a
// 28-byte trailer after the whole VRRP PDU carrying a key id, a 64-bit
// sequence and the first 16 bytes of an HMAC-SHA256 over a pseudo-header,
// the PDU (checksum zeroed) and the trailer (MAC zeroed).
const (
	// TrailerLen is the size of the auth_hmac trailer.
	TrailerLen = 28
	// ExtHMACSHA256 is the only trailer type: HMAC-SHA256 truncated to 128
	// bits.
	ExtHMACSHA256 = 1

	macLen    = 16
	pseudoLen = 20
)

// Seq is the trailer's sequence: UTC seconds, a binary fraction of the
// second and a counter, sec<<32 | subsec<<16 | ctr.
type Seq uint64

// SeqAt is the sequence for wall-clock time t with a zero counter.
func SeqAt(t time.Time) Seq {
	sec, nsec := uint64(uint32(t.Unix())), uint64(t.Nanosecond())
	return Seq(sec<<32 | (nsec<<16/1e9)<<16)
}

// Sec is the sequence's seconds field.
func (s Seq) Sec() uint32 { return uint32(s >> 32) }

// After reports whether s comes after o in RFC 1982 serial arithmetic on 64
// bits, so the order survives the seconds field wrapping.
func (s Seq) After(o Seq) bool { return int64(s-o) > 0 }

// Time is the sequence's timestamp (the counter dropped), taking the
// seconds field to be the one nearest to now (the field holds only the low
// 32 bits).
func (s Seq) Time(now time.Time) time.Time {
	sec := int64(s.Sec()) - int64(uint32(now.Unix())) // wraps into the nearest 2^32 window
	sec = int64(int32(sec)) + now.Unix()
	return time.Unix(sec, int64(uint64(uint16(s>>16))*1e9>>16))
}

func (s Seq) String() string {
	return fmt.Sprintf("%d.%04x#%d", s.Sec(), uint16(s>>16), uint16(s))
}

// Trailer is a decoded or to-be-signed auth_hmac trailer.
type Trailer struct {
	Type     uint8 // ExtHMACSHA256
	KeyID    uint8
	Reserved uint16 // sent as 0; kept as received because the MAC covers it
	Seq      Seq
	MAC      [macLen]byte
}

// appendTo appends the trailer with its fields as given.
func (t *Trailer) appendTo(b []byte) []byte {
	b = append(b, t.Type, t.KeyID)
	b = binary.BigEndian.AppendUint16(b, t.Reserved)
	b = binary.BigEndian.AppendUint64(b, uint64(t.Seq))
	return append(b, t.MAC[:]...)
}

// parseTrailer reads the 28 bytes after the PDU.
func parseTrailer(b []byte) (*Trailer, error) {
	t := &Trailer{Type: b[0], KeyID: b[1], Reserved: binary.BigEndian.Uint16(b[2:4]), Seq: Seq(binary.BigEndian.Uint64(b[4:12]))}
	copy(t.MAC[:], b[12:])
	switch {
	case t.Type != ExtHMACSHA256:
		return nil, fmt.Errorf("trailer type %d: %w", t.Type, ErrHMACMalformed)
	case t.KeyID == 0:
		return nil, fmt.Errorf("trailer key id 0: %w", ErrHMACMalformed)
	}
	return t, nil
}

// hmacMAC computes the truncated HMAC for a message of pdu+trailer bytes
// (whatever their checksum and MAC fields hold) sent from src.
func hmacMAC(key []byte, version, vrid uint8, src netip.Addr, msg []byte) [macLen]byte {
	var pseudo [pseudoLen]byte
	pseudo[0], pseudo[1], pseudo[2] = 4, version, vrid
	if src.Is4() {
		a := src.As4()
		copy(pseudo[4:], a[:])
	} else {
		pseudo[0] = 6
		a := src.As16()
		copy(pseudo[4:], a[:])
	}
	m := hmac.New(sha256.New, key)
	m.Write(pseudo[:])
	pdu := len(msg) - TrailerLen
	m.Write(msg[:6])
	m.Write([]byte{0, 0}) // checksum zeroed
	m.Write(msg[8:pdu])
	m.Write(msg[pdu : pdu+12])
	var zero [macLen]byte
	m.Write(zero[:])
	var out [macLen]byte
	copy(out[:], m.Sum(nil))
	return out
}

// VerifyHMAC reports, in constant time, whether the advert's trailer MAC is
// the one key gives for the bytes that were received. It is false for an
// advert without a trailer or one not produced by UnmarshalBinary.
func (a *Advert) VerifyHMAC(key []byte) bool {
	if a.Trailer == nil || len(a.signed) < headerLen+TrailerLen {
		return false
	}
	want := hmacMAC(key, a.Version, a.VRID, a.Src, a.signed)
	return hmac.Equal(want[:], a.Trailer.MAC[:])
}

// AppendSigned appends the advert with an auth_hmac trailer of the given key
// id and sequence, signed with key, and the checksum computed the way
// keepalived 2.4 does (see MarshalBinary). a.Trailer is set to the trailer
// sent.
func (a *Advert) AppendSigned(b []byte, key []byte, keyID uint8, seq Seq) ([]byte, error) {
	a.Trailer = &Trailer{Type: ExtHMACSHA256, KeyID: keyID, Seq: seq}
	return a.appendBinary(b, key)
}
