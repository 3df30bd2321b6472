package vrrp

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
	"time"
)

// TestHMACKeyReuse: one prepared key per keepalived 2.4.3 capture, used
// for every advert of it in turn (verify, then sign the same fields into
// one reused buffer), still verifies each advert and signs keepalived's
// bytes exactly; the other capture key never verifies. This is the state a
// router keeps between adverts.
func TestHMACKeyReuse(t *testing.T) {
	for path, pkts := range hmacVectors(t) {
		id, key := activeKey(t, path)
		other := hmacKey1
		if id == 1 {
			other = hmacKey2
		}
		k, wrong := NewHMACKey(key), NewHMACKey(other)
		var a Advert
		own := &Advert{Type: TypeAdvertisement}
		var buf []byte
		for i, p := range pkts {
			a.Src, a.Dst = p.Src, p.Dst
			if err := a.UnmarshalBinary(p.Payload); err != nil {
				t.Fatalf("%s advert %d: %v", path, i, err)
			}
			if !a.VerifyHMACKey(k) || a.VerifyHMACKey(wrong) {
				t.Errorf("%s advert %d: verifies with its key %v, with the other %v, want true, false",
					path, i, a.VerifyHMACKey(k), a.VerifyHMACKey(wrong))
			}
			own.Version, own.VRID, own.Priority, own.Interval = a.Version, a.VRID, a.Priority, a.Interval
			own.Addresses = append(own.Addresses[:0], a.Addresses...)
			own.Src, own.Dst = p.Src, p.Dst
			var err error
			if buf, err = own.AppendSignedKey(buf[:0], k, id, a.Trailer.Seq); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf, p.Payload) {
				t.Errorf("%s advert %d signed with a reused key\n % x\nkeepalived sent\n % x", path, i, buf, p.Payload)
			}
		}
	}
}

// TestDecodeReuse: decoding into one Advert again and again (signed,
// unsigned, another family and address count, v2, a packet it rejects)
// gives each time exactly what a fresh decode gives: no trailer, address
// or password survives from the advert before, and nothing of the input
// buffer is kept (overwriting it afterwards changes nothing, the MAC still
// verifies).
func TestDecodeReuse(t *testing.T) {
	signed := v3advert4()
	signedMsg, err := signed.AppendSigned(nil, hmacKey1, 1, SeqAt(time.Unix(1796060167, 0)))
	if err != nil {
		t.Fatal(err)
	}
	bad := mustMarshal(t, v3advert4())
	bad[6] ^= 0xff // checksum
	type packet struct {
		name     string
		msg      []byte
		src, dst netip.Addr
		err      error
	}
	pkts := []packet{
		{"signed v3 IPv4", signedMsg, src4, MulticastGroup4, nil},
		{"v3 IPv6 with two addresses", mustMarshal(t, v3advert6()), src6, MulticastGroup6, nil},
		{"v2 with a password", mustMarshal(t, v2advert()), src4, MulticastGroup4, nil},
		{"bad checksum", bad, src4, MulticastGroup4, ErrChecksum},
		{"plain v3 IPv4", mustMarshal(t, v3advert4()), src4, MulticastGroup4, nil},
		{"signed again", signedMsg, src4, MulticastGroup4, nil},
	}
	var reused Advert
	for round := range 2 {
		for _, p := range pkts {
			msg := bytes.Clone(p.msg)
			reused.Src, reused.Dst = p.src, p.dst
			err := reused.UnmarshalBinary(msg)
			fresh, ferr := ParseAdvert(p.msg, p.src, p.dst)
			switch {
			case !errors.Is(err, p.err) || !errors.Is(ferr, p.err):
				t.Fatalf("round %d, %s: reused decode %v, fresh %v, want %v", round, p.name, err, ferr, p.err)
			case err != nil:
				continue
			}
			for i := range msg {
				msg[i] = 0xa5 // the reader's buffer takes the next packet
			}
			if !reused.Equal(fresh) || reused.Checksum != fresh.Checksum {
				t.Errorf("round %d, %s: reused decode %+v, fresh %+v", round, p.name, &reused, fresh)
			}
			if got, want := reused.VerifyHMAC(hmacKey1), fresh.VerifyHMAC(hmacKey1); got != want || want != bytes.Equal(p.msg, signedMsg) {
				t.Errorf("round %d, %s: verifies %v, fresh decode %v", round, p.name, got, want)
			}
		}
	}
}

// TestCodecAllocs: the codec's and the machine's share of the advert hot
// path allocate nothing (see also vrouter's TestHotPathAllocs).
func TestCodecAllocs(t *testing.T) {
	k := NewHMACKey(hmacKey1)
	seq := SeqAt(time.Unix(1796060167, 0))
	plain := mustMarshal(t, v3advert4())
	signed, err := v3advert4().AppendSignedKey(nil, k, 1, seq)
	if err != nil {
		t.Fatal(err)
	}
	var a Advert
	out := v3advert4()
	buf := make([]byte, 0, 128)
	m := NewMachine(baseConfig(3))
	m.Step(t0, Start{})
	now := m.NextDeadline()
	m.Step(now, Tick{})
	if m.State() != StateMaster {
		t.Fatalf("state %s", m.State())
	}
	b := NewMachine(baseConfig(3))
	bnow := t0
	b.Step(bnow, Start{})
	higher := v3advert4()
	higher.Priority = 150
	for _, tc := range []struct {
		name string
		f    func() error
	}{
		{"decode", func() error {
			a.Src, a.Dst = src4, MulticastGroup4
			return a.UnmarshalBinary(plain)
		}},
		{"decode signed and verify", func() error {
			a.Src, a.Dst = src4, MulticastGroup4
			if err := a.UnmarshalBinary(signed); err != nil || !a.VerifyHMACKey(k) {
				return errors.Join(err, errors.New("does not verify"))
			}
			return nil
		}},
		{"encode", func() (err error) {
			buf, err = out.AppendBinary(buf[:0])
			return err
		}},
		{"encode signed", func() (err error) {
			seq++
			buf, err = out.AppendSignedKey(buf[:0], k, 1, seq)
			return err
		}},
		{"master tick", func() error {
			now = m.NextDeadline()
			if acts := m.Step(now, Tick{}); len(acts) != 1 || acts[0] != (SendAdvert{100}) {
				return errors.New("no advert")
			}
			return nil
		}},
		{"backup receive", func() error {
			bnow = bnow.Add(time.Second)
			if acts := b.Step(bnow, AdvertReceived{higher}); len(acts) != 0 || !b.NextDeadline().After(bnow.Add(2*time.Second)) {
				return errors.New("timer not re-armed")
			}
			return nil
		}},
	} {
		var ferr error
		allocs := testing.AllocsPerRun(100, func() {
			if err := tc.f(); err != nil {
				ferr = err
			}
		})
		if ferr != nil {
			t.Fatalf("%s: %v", tc.name, ferr)
		}
		if allocs != 0 {
			t.Errorf("%s: %v allocations, want 0", tc.name, allocs)
		}
	}
}
