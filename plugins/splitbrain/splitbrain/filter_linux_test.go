package splitbrain

import (
	"net/netip"
	"testing"

	"github.com/mdlayher/ndp"
	"golang.org/x/net/bpf"
)

// runFilter runs a classic BPF program on a frame as the kernel would and
// reports whether it lets the frame through.
func runFilter(t *testing.T, raw []bpf.RawInstruction, frame []byte) bool {
	t.Helper()
	prog, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatalf("filter does not disassemble: %v", prog)
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatal(err)
	}
	n, err := vm.Run(frame)
	if err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// TestSocketFilters: the kernel filters let through what the guard reads
// (neighbour solicitations and advertisements; VRRP adverts over IPv4 and
// IPv6) and nothing else.
func TestSocketFilters(t *testing.T) {
	vrrp := make([]bpf.RawInstruction, len(vrrpFilter))
	for i, f := range vrrpFilter {
		vrrp[i] = bpf.RawInstruction{Op: f.Code, Jt: f.Jt, Jf: f.Jf, K: f.K}
	}
	na := advert(t, peerMAC, peerLL, ownLL, vip6, false)
	ns := solicitation(t, peerMAC, peerLL, vip6)
	ra := ndFrame(t, peerMAC, peerLL, allNode, &ndp.RouterAdvertisement{})
	v6vrrp := append([]byte{0x33, 0x33, 0, 0, 0, 0x12, 0x02, 0, 0, 0, 0, 0x02, 0x86, 0xdd,
		0x60, 0, 0, 0, 0, 8, 112, 255}, append(peerLL.AsSlice(), netip.MustParseAddr("ff02::12").AsSlice()...)...)
	v6vrrp = append(v6vrrp, 0x31, 52, 150, 0, 0, 10, 0, 0)
	v4vrrp := []byte{
		0x01, 0x00, 0x5e, 0x00, 0x00, 0x12, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x00,
		0x45, 0xc0, 0x00, 0x20, 0, 0, 0, 0, 0xff, 112, 0, 0, 198, 51, 100, 11, 224, 0, 0, 18,
		0x31, 51, 100, 1, 0x00, 0x0a, 0, 0, 198, 51, 100, 50,
	}
	udp6 := patched(na, 20, 17)
	arpFrame := patched(v4vrrp, 12, 0x08, 0x06)
	for _, tt := range []struct {
		name      string
		frame     []byte
		ndp, vrrp bool
	}{
		{"neighbour advertisement", na, true, false},
		{"neighbour solicitation", ns, true, false},
		{"router advertisement", ra, false, false},
		{"IPv6 UDP", udp6, false, false},
		{"ARP", arpFrame, false, false},
		{"VRRPv3 over IPv6", v6vrrp, false, true},
		{"VRRP over IPv4", v4vrrp, false, true},
	} {
		if got := runFilter(t, ndpFilter, tt.frame); got != tt.ndp {
			t.Errorf("%s: NDP filter passes %v, want %v", tt.name, got, tt.ndp)
		}
		if got := runFilter(t, vrrp, tt.frame); got != tt.vrrp {
			t.Errorf("%s: advert filter passes %v, want %v", tt.name, got, tt.vrrp)
		}
	}
}
