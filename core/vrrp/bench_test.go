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
// sign one advert (HMAC-SHA256 over ~64 bytes).
func BenchmarkAppendSigned(b *testing.B) {
	a := v3advert4()
	buf := make([]byte, 0, 64)
	seq := SeqAt(time.Unix(1796060167, 0))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		seq++
		if buf, err = a.AppendSigned(buf[:0], hmacKey1, 1, seq); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnmarshalVerify is an auth_hmac receiver's work for one advert:
// decode with the trailer, then verify the MAC.
func BenchmarkUnmarshalVerify(b *testing.B) {
	a := v3advert4()
	msg, err := a.AppendSigned(nil, hmacKey1, 1, SeqAt(time.Unix(1796060167, 0)))
	if err != nil {
		b.Fatal(err)
	}
	var d Advert
	b.ReportAllocs()
	for b.Loop() {
		d.Src, d.Dst = src4, MulticastGroup4
		if err := d.UnmarshalBinary(msg); err != nil || !d.VerifyHMAC(hmacKey1) {
			b.Fatal("does not verify", err)
		}
	}
}

// BenchmarkAppendSignedKey is BenchmarkAppendSigned with the key prepared
// once, as a router keeps it.
func BenchmarkAppendSignedKey(b *testing.B) {
	a := v3advert4()
	k := NewHMACKey(hmacKey1)
	buf := make([]byte, 0, 64)
	seq := SeqAt(time.Unix(1796060167, 0))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		seq++
		if buf, err = a.AppendSignedKey(buf[:0], k, 1, seq); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnmarshalVerifyKey is BenchmarkUnmarshalVerify with the key
// prepared once, as a router keeps it.
func BenchmarkUnmarshalVerifyKey(b *testing.B) {
	a := v3advert4()
	k := NewHMACKey(hmacKey1)
	msg, err := a.AppendSignedKey(nil, k, 1, SeqAt(time.Unix(1796060167, 0)))
	if err != nil {
		b.Fatal(err)
	}
	var d Advert
	b.ReportAllocs()
	for b.Loop() {
		d.Src, d.Dst = src4, MulticastGroup4
		if err := d.UnmarshalBinary(msg); err != nil || !d.VerifyHMACKey(k) {
			b.Fatal("does not verify", err)
		}
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
