// Package capture reads the reference packet captures kept as test data
// (tshark -V -x decodes of Ethernet frames carrying IPv4) and splits out
// what VRRP tests need: the IP header fields and the IP payload.
package capture

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"strings"
)

// Packet is one captured IPv4 packet.
type Packet struct {
	TTL      uint8
	Protocol uint8
	Src, Dst netip.Addr
	// Payload is the IP payload (for VRRP: the VRRP message), without
	// Ethernet padding.
	Payload []byte
}

// Load reads the hex dump at the end of a `tshark -V -x` decode ("0010  00
// 28 00 82 ...   .(......") and parses the Ethernet frame it holds.
func Load(path string) (Packet, error) {
	f, err := os.Open(path)
	if err != nil {
		return Packet{}, err
	}
	defer f.Close()
	var frame []byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if len(line) < 8 || line[4:6] != "  " {
			continue
		}
		if _, err := hex.DecodeString(line[:4]); err != nil {
			continue
		}
		hexPart, _, _ := strings.Cut(line[6:], "   ")
		b, err := hex.DecodeString(strings.ReplaceAll(hexPart, " ", ""))
		if err != nil {
			return Packet{}, fmt.Errorf("%s: bad hex line %q: %w", path, line, err)
		}
		frame = append(frame, b...)
	}
	if err := sc.Err(); err != nil {
		return Packet{}, err
	}
	if len(frame) < 14+20 || binary.BigEndian.Uint16(frame[12:]) != 0x0800 {
		return Packet{}, fmt.Errorf("%s: not an IPv4 Ethernet frame (%d bytes)", path, len(frame))
	}
	ip := frame[14:]
	ihl, total := int(ip[0]&0x0f)*4, int(binary.BigEndian.Uint16(ip[2:]))
	if ihl < 20 || total < ihl || total > len(ip) {
		return Packet{}, fmt.Errorf("%s: bad IPv4 header (ihl %d, total %d, %d bytes)", path, ihl, total, len(ip))
	}
	return Packet{
		TTL: ip[8], Protocol: ip[9],
		Src: netip.AddrFrom4([4]byte(ip[12:16])), Dst: netip.AddrFrom4([4]byte(ip[16:20])),
		Payload: ip[ihl:total],
	}, nil
}
