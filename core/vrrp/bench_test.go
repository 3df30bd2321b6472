package vrrp

import (
	"testing"
	"time"
)

func BenchmarkUnmarshal(b *testing.B) {
	msg := mustMarshal(b, v3advert4())
	var a Advert
	b.ReportAllocs()
	for b.Loop() {
		a.Src, a.Dst = src4, MulticastGroup4
		if err := a.UnmarshalBinary(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendBinary(b *testing.B) {
	a := v3advert4()
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = a.AppendBinary(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBackupReceive is the hot path of a Backup: one accepted advert.
func BenchmarkBackupReceive(b *testing.B) {
	m := NewMachine(baseConfig(3))
	now := t0
	m.Step(now, Start{})
	in := AdvertReceived{v3advert4()}
	in.Advert.Priority = 150
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Millisecond)
		m.Step(now, in)
	}
	if m.State() != StateBackup {
		b.Fatal(m.State())
	}
}

// BenchmarkAppendSigned is the extra work of an auth_hmac sender: encode and
// sign one advert (HMAC-SHA256 over ~64 bytes), with the key as bytes (a
// one-off call) and prepared once, as a router keeps it.
func BenchmarkAppendSigned(b *testing.B) {
	k := NewHMACKey(hmacKey1)
	for _, bc := range []struct {
		name string
		sign func(a *Advert, buf []byte, seq Seq) ([]byte, error)
	}{
		{"bytes", func(a *Advert, buf []byte, seq Seq) ([]byte, error) { return a.AppendSigned(buf, hmacKey1, 1, seq) }},
		{"key", func(a *Advert, buf []byte, seq Seq) ([]byte, error) { return a.AppendSignedKey(buf, k, 1, seq) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			a := v3advert4()
			buf := make([]byte, 0, 64)
			seq := SeqAt(time.Unix(1796060167, 0))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				seq++
				if buf, err = bc.sign(a, buf[:0], seq); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUnmarshalVerify is an auth_hmac receiver's work for one advert:
// decode with the trailer, then verify the MAC, with the key as bytes and
// prepared once.
func BenchmarkUnmarshalVerify(b *testing.B) {
	k := NewHMACKey(hmacKey1)
	msg, err := v3advert4().AppendSignedKey(nil, k, 1, SeqAt(time.Unix(1796060167, 0)))
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name   string
		verify func(d *Advert) bool
	}{
		{"bytes", func(d *Advert) bool { return d.VerifyHMAC(hmacKey1) }},
		{"key", func(d *Advert) bool { return d.VerifyHMACKey(k) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var d Advert
			b.ReportAllocs()
			for b.Loop() {
				d.Src, d.Dst = src4, MulticastGroup4
				if err := d.UnmarshalBinary(msg); err != nil || !bc.verify(&d) {
					b.Fatal("does not verify", err)
				}
			}
		})
	}
}

// BenchmarkMasterTick is the hot path of a Master: its periodic advert.
func BenchmarkMasterTick(b *testing.B) {
	m := NewMachine(baseConfig(3))
	m.Step(t0, Start{})
	m.Step(m.NextDeadline(), Tick{})
	if m.State() != StateMaster {
		b.Fatal(m.State())
	}
	b.ReportAllocs()
	for b.Loop() {
		if len(m.Step(m.NextDeadline(), Tick{})) != 1 {
			b.Fatal("no advert")
		}
	}
}
