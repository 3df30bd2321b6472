package vrrp

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// FuzzAdvertUnmarshalMarshal: no input panics the decoder, and whatever
// decodes re-encodes, decodes to the same value, and re-encodes to the same
// bytes. Decoding into one Advert reused across inputs (as a receive loop
// does) gives what a fresh decode gives. The v6 flag picks the IP header the
// message arrived with.
func FuzzAdvertUnmarshalMarshal(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "keepalived", "vrrp-advert-*.txt"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no captures: %v", err)
	}
	for _, name := range files {
		f.Add(loadCapture(f, filepath.Base(name)).Payload, false)
	}
	for _, a := range []*Advert{v3advert4(), v2advert()} {
		b, _ := a.MarshalBinary()
		f.Add(b, false)
		f.Add(b[:len(b)-1], false)
	}
	b, _ := v3advert6().MarshalBinary()
	f.Add(b, true)
	f.Add(append(b, 0), true)
	f.Add([]byte{}, false)
	f.Add([]byte{0x31, 1, 1, 0, 0, 1, 0, 0}, false)
	// auth_hmac trailers: signed v2, v3 IPv4 and v3 IPv6 adverts, and one
	// with a corrupt trailer type.
	for _, v6 := range []bool{false, true} {
		for _, a := range []*Advert{v3advert4(), v2advert(), v3advert6()} {
			if (a.Src.Is6() && !a.Src.Is4In6()) != v6 {
				continue
			}
			a.Src, a.Dst = fuzzAddrs(v6)
			b, err := a.AppendSigned(nil, hmacKey1, 1, Seq(0x6b0db407a6730000))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b, v6)
			bad := bytes.Clone(b)
			bad[len(bad)-TrailerLen] = 9
			f.Add(bad, v6)
		}
	}

	var reused Advert
	f.Fuzz(func(t *testing.T, msg []byte, v6 bool) {
		src, dst := fuzzAddrs(v6)
		orig := bytes.Clone(msg)
		a, err := ParseAdvert(msg, src, dst)
		if !bytes.Equal(msg, orig) {
			t.Fatal("decoder modified its input")
		}
		reused.Src, reused.Dst = src, dst
		rerr := reused.UnmarshalBinary(msg)
		switch {
		case (err == nil) != (rerr == nil):
			t.Fatalf("fresh decode: %v; into a reused Advert: %v", err, rerr)
		case err == nil && (!reused.Equal(a) || reused.VerifyHMAC(hmacKey1) != a.VerifyHMAC(hmacKey1)):
			t.Fatalf("decoding into a reused Advert differs:\n%+v\n%+v", &reused, a)
		}
		if err != nil {
			if DropReason(err) == "other" {
				t.Fatalf("decode error without a drop sentinel: %v", err)
			}
			return
		}
		enc, err := a.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded %+v but cannot encode it: %v", a, err)
		}
		b, err := ParseAdvert(enc, src, dst)
		if err != nil {
			t.Fatalf("own encoding % x does not decode: %v", enc, err)
		}
		if !a.Equal(b) {
			t.Fatalf("round trip changed the advert:\n%+v\n%+v", a, b)
		}
		if a.Trailer != nil && a.VerifyHMAC(hmacKey1) != b.VerifyHMAC(hmacKey1) {
			t.Fatalf("the MAC verifies on one decoding and not the other: %+v", a.Trailer)
		}
		enc2, err := b.MarshalBinary()
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable: % x vs % x (%v)", enc, enc2, err)
		}
	})
}

func fuzzAddrs(v6 bool) (src, dst netip.Addr) {
	if v6 {
		return src6, MulticastGroup6
	}
	return src4, MulticastGroup4
}

// TestFuzzCorpusPresent keeps the seed list honest: the captures must load.
func TestFuzzCorpusPresent(t *testing.T) {
	if _, err := os.Stat(filepath.Join("testdata", "keepalived", "vrrp-advert-v3-1.txt")); err != nil {
		t.Fatal(err)
	}
}
