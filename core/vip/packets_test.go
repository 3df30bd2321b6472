package vip

import (
	"bytes"
	"encoding/hex"
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
)

var testMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x11}

func TestGARPFrameMatchesKeepalived(t *testing.T) {
	// The first 42 bytes of keepalived 2.2.7's takeover GARP (shared
	// reference capture garp-v3-1.txt), with its address replaced by
	// 198.51.100.50 (c6 33 64 32).
	want, err := hex.DecodeString("ffffffffffff020000000011080600010800060400010200000000" +
		"11c6336432ffffffffffffc6336432")
	if err != nil {
		t.Fatal(err)
	}
	got, err := garpFrame(arp.OperationRequest, testMAC, netip.MustParseAddr("198.51.100.50"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) < len(want) || !bytes.Equal(got[:len(want)], want) {
		t.Fatalf("frame\n got %x\nwant %x", got, want)
	}
	// Anything after the ARP payload is Ethernet padding.
	if pad := got[len(want):]; slices.ContainsFunc(pad, func(b byte) bool { return b != 0 }) {
		t.Fatalf("non-zero padding %x", pad)
	}
}

func TestGARPFrameForms(t *testing.T) {
	vip := netip.MustParseAddr("198.51.100.50")
	for _, op := range []arp.Operation{arp.OperationRequest, arp.OperationReply} {
		t.Run(op.String(), func(t *testing.T) {
			b, err := garpFrame(op, testMAC, vip)
			if err != nil {
				t.Fatal(err)
			}
			var f ethernet.Frame
			if err := f.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(f.Destination, ethernet.Broadcast) || !bytes.Equal(f.Source, testMAC) || f.EtherType != ethernet.EtherTypeARP {
				t.Fatalf("ethernet header %s > %s type %v", f.Source, f.Destination, f.EtherType)
			}
			var p arp.Packet
			if err := p.UnmarshalBinary(f.Payload); err != nil {
				t.Fatal(err)
			}
			if p.Operation != op || p.SenderIP != vip || p.TargetIP != vip || !bytes.Equal(p.SenderHardwareAddr, testMAC) {
				t.Fatalf("arp %+v", p)
			}
			wantTHA := ethernet.Broadcast
			if op == arp.OperationReply {
				wantTHA = testMAC
			}
			if !bytes.Equal(p.TargetHardwareAddr, wantTHA) {
				t.Fatalf("%v target MAC %s, want %s", op, p.TargetHardwareAddr, wantTHA)
			}
		})
	}
	if _, err := garpFrame(arp.OperationRequest, testMAC, netip.MustParseAddr("2001:db8::50")); err == nil {
		t.Fatal("IPv6 address accepted in an ARP packet")
	}
}

func TestUnsolicitedNA(t *testing.T) {
	vip := netip.MustParseAddr("2001:db8::50")
	b, err := unsolicitedNA(testMAC, vip)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ndp.ParseMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	na, ok := m.(*ndp.NeighborAdvertisement)
	if !ok {
		t.Fatalf("parsed %T", m)
	}
	if !na.Override || na.Solicited || na.Router || na.TargetAddress != vip {
		t.Fatalf("flags/target: %+v", na)
	}
	if len(na.Options) != 1 {
		t.Fatalf("options %v", na.Options)
	}
	lla, ok := na.Options[0].(*ndp.LinkLayerAddress)
	if !ok || lla.Direction != ndp.Target || !bytes.Equal(lla.Addr, testMAC) {
		t.Fatalf("option %+v", na.Options[0])
	}
}

func TestAnnouncementsFor(t *testing.T) {
	prefixes := []netip.Prefix{
		netip.MustParsePrefix("198.51.100.50/24"),
		netip.MustParsePrefix("2001:db8::50/64"),
	}
	got := announcementsFor(prefixes, false)
	want := []announcement{
		{kindARPRequest, netip.MustParseAddr("198.51.100.50")},
		{kindARPReply, netip.MustParseAddr("198.51.100.50")},
		{kindNA, netip.MustParseAddr("2001:db8::50")},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	// On a virtual MAC interface: the reply form only.
	got = announcementsFor(prefixes, true)
	want = []announcement{
		{kindARPReply, netip.MustParseAddr("198.51.100.50")},
		{kindNA, netip.MustParseAddr("2001:db8::50")},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("reply only: got %v, want %v", got, want)
	}
}
