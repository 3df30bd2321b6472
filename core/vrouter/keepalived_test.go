package vrouter

import (
	"bytes"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/hawatch/hawatch/core/vrrp"
	"github.com/hawatch/hawatch/internal/capture"
)

// TestAdvertsAreKeepalivedBytes: what a router hands out to send, as master
// and when it resigns on shutdown, is keepalived 2.2.7's advert byte for
// byte (captures in core/vrrp/testdata/keepalived, same VRID, priority,
// interval, password and addresses). The engine sends these payloads as
// they are, so the packets on the wire are the packets tested here.
func TestAdvertsAreKeepalivedBytes(t *testing.T) {
	for _, tc := range []struct {
		mode     string
		version  uint8
		interval time.Duration
		pass     string
	}{
		{"v2-1", 2, time.Second, "1111"},
		{"v3-1", 3, time.Second, ""},
		{"v3-0.1", 3, 100 * time.Millisecond, ""},
		{"v3-0.01", 3, 10 * time.Millisecond, ""},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			load := func(name string) capture.Packet {
				c, err := capture.Load(filepath.Join("..", "vrrp", "testdata", "keepalived", name))
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			adv, resign := load("vrrp-advert-"+tc.mode+".txt"), load("vrrp-advert-prio0-"+tc.mode+".txt")
			vips, err := vrrp.ParseAdvert(adv.Payload, adv.Src, adv.Dst)
			if err != nil {
				t.Fatal(err)
			}
			r, err := NewRouter(Config{Name: "VI_1", VRRP: vrrp.Config{VRID: 51, Version: tc.version, Priority: 100,
				AdvertInterval: tc.interval, AuthPass: tc.pass, LocalAddr: adv.Src, Addresses: vips.Addresses}})
			if err != nil {
				t.Fatal(err)
			}
			r.Step(t0, Start{})
			rd := r.Step(r.NextDeadline(), Tick{})
			if len(rd.Adverts) != 1 || rd.Adverts[0].Dst != netip.MustParseAddr("224.0.0.18") {
				t.Fatalf("becoming master sent %v, want one advert to the group", rd.Adverts)
			}
			if got := rd.Adverts[0].Payload; !bytes.Equal(got, adv.Payload) {
				t.Errorf("master advert\n % x\nkeepalived sent\n % x", got, adv.Payload)
			}
			rd = r.Step(r.NextDeadline(), Shutdown{})
			if len(rd.Adverts) != 1 || !bytes.Equal(rd.Adverts[0].Payload, resign.Payload) {
				t.Errorf("shutdown sent %v, keepalived sent\n % x", rd.Adverts, resign.Payload)
			}
		})
	}
}
