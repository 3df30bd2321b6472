package vrrp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
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

// parse reads the 28 bytes after the PDU into t.
func (t *Trailer) parse(b []byte) error {
	*t = Trailer{Type: b[0], KeyID: b[1], Reserved: binary.BigEndian.Uint16(b[2:4]), Seq: Seq(binary.BigEndian.Uint64(b[4:12]))}
	copy(t.MAC[:], b[12:])
	switch {
	case t.Type != ExtHMACSHA256:
		return fmt.Errorf("trailer type %d: %w", t.Type, ErrHMACMalformed)
	case t.KeyID == 0:
		return fmt.Errorf("trailer key id 0: %w", ErrHMACMalformed)
	}
	return nil
}

// HMACKey is an auth_hmac key ready to sign and verify: it keeps the HMAC
// state keyed once (crypto/hmac saves the padded key's hash state on the
// first Reset) and the scratch the MAC needs, so signing and verifying with
// it allocate nothing. It is not safe for concurrent use: give each
// goroutine (each router) its own.
type HMACKey struct {
	m      hash.Hash
	pseudo [pseudoLen]byte
	sum    [sha256.Size]byte
}

// NewHMACKey prepares key for AppendSignedKey and VerifyHMACKey.
func NewHMACKey(key []byte) *HMACKey {
	return &HMACKey{m: hmac.New(sha256.New, key)}
}

// zeros stands in for the checksum and MAC fields the MAC does not cover.
var zeros [macLen]byte

// mac computes the truncated HMAC for a message of pdu+trailer bytes
// (whatever their checksum and MAC fields hold) sent from src.
func (k *HMACKey) mac(version, vrid uint8, src netip.Addr, msg []byte) [macLen]byte {
	p := &k.pseudo
	*p = [pseudoLen]byte{0: 4, 1: version, 2: vrid}
	if src.Is4() {
		a := src.As4()
		copy(p[4:], a[:])
	} else {
		p[0] = 6
		a := src.As16()
		copy(p[4:], a[:])
	}
	m := k.m
	m.Reset()
	m.Write(p[:])
	pdu := len(msg) - TrailerLen
	m.Write(msg[:6])
	m.Write(zeros[:2]) // checksum zeroed
	m.Write(msg[8:pdu])
	m.Write(msg[pdu : pdu+12])
	m.Write(zeros[:])
	return [macLen]byte(m.Sum(k.sum[:0]))
}

// VerifyHMAC reports, in constant time, whether the advert's trailer MAC is
// the one key gives for the bytes that were received. It is false for an
// advert without a trailer or one not produced by UnmarshalBinary. It keys
// a new HMAC every call; a receiver of many adverts uses VerifyHMACKey.
func (a *Advert) VerifyHMAC(key []byte) bool {
	return a.VerifyHMACKey(NewHMACKey(key))
}

// VerifyHMACKey is VerifyHMAC with a prepared key: it allocates nothing.
func (a *Advert) VerifyHMACKey(k *HMACKey) bool {
	if a.Trailer == nil || len(a.signed) < headerLen+TrailerLen {
		return false
	}
	want := k.mac(a.Version, a.VRID, a.Src, a.signed)
	return hmac.Equal(want[:], a.Trailer.MAC[:])
}

// AppendSigned appends the advert with an auth_hmac trailer of the given key
// id and sequence, signed with key, and the checksum computed the way
// keepalived 2.4 does (see MarshalBinary). a.Trailer is set to the trailer
// sent. It keys a new HMAC every call; a sender of many adverts uses
// AppendSignedKey.
func (a *Advert) AppendSigned(b []byte, key []byte, keyID uint8, seq Seq) ([]byte, error) {
	return a.AppendSignedKey(b, NewHMACKey(key), keyID, seq)
}

// AppendSignedKey is AppendSigned with a prepared key: appending to a
// buffer with room, it allocates nothing. a.Trailer points into a.
func (a *Advert) AppendSignedKey(b []byte, k *HMACKey, keyID uint8, seq Seq) ([]byte, error) {
	a.trailer = Trailer{Type: ExtHMACSHA256, KeyID: keyID, Seq: seq}
	a.Trailer = &a.trailer
	return a.appendBinary(b, k)
}
