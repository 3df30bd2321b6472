// Package capture reads the reference packet captures kept as test data and
// splits out what VRRP tests need: the IP header fields and the IP payload.
// Two dump formats are understood: `tshark -V -x` (one frame per file,
// "0010  00 28 ..." lines) and `tcpdump -tt -n -vv -xx` (several frames,
// each a time line followed by "\t0x0010:  0028 ..." lines).
package capture

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// Packet is one captured IPv4 or IPv6 packet.
type Packet struct {
	At       time.Time // tcpdump's frame time; zero for tshark dumps
	TTL      uint8     // TTL or hop limit
	Protocol uint8     // IPv4 protocol or IPv6 next header
	Src, Dst netip.Addr
	// Payload is the IP payload (for VRRP: the VRRP message and any
	// trailer), without Ethernet padding.
	Payload []byte
}

// Load reads a file holding exactly one frame.
func Load(path string) (Packet, error) {
	ps, err := LoadAll(path)
	if err != nil {
		return Packet{}, err
	}
	if len(ps) != 1 {
		return Packet{}, fmt.Errorf("%s: %d frames, want 1", path, len(ps))
	}
	return ps[0], nil
}

// LoadAll reads every frame of a dump, in order.
func LoadAll(path string) ([]Packet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var frames [][]byte
	var times []time.Time
	var cur []byte
	var at time.Time
	flush := func() {
		if cur != nil {
			frames, times = append(frames, cur), append(times, at)
			cur, at = nil, time.Time{}
		}
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "\t0x"): // tcpdump: "\t0x0010:  003c 0001 ..."
			_, hexPart, _ := strings.Cut(line, ":")
			b, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(hexPart), " ", ""))
			if err != nil {
				return nil, fmt.Errorf("%s: bad hex line %q: %w", path, line, err)
			}
			cur = append(cur, b...)
		case len(line) > 0 && line[0] >= '0' && line[0] <= '9' && strings.Contains(line, " IP"): // tcpdump frame line
			flush()
			if sec, err := strconv.ParseFloat(strings.Fields(line)[0], 64); err == nil {
				at = time.Unix(0, int64(sec*1e9)).UTC()
			}
		case len(line) >= 8 && line[4:6] == "  " && isHex(line[:4]): // tshark: "0010  00 28 ...   .(......"
			hexPart, _, _ := strings.Cut(line[6:], "   ")
			b, err := hex.DecodeString(strings.ReplaceAll(hexPart, " ", ""))
			if err != nil {
				return nil, fmt.Errorf("%s: bad hex line %q: %w", path, line, err)
			}
			cur = append(cur, b...)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	flush()
	var out []Packet
	for i, fr := range frames {
		p, err := parseFrame(fr)
		if err != nil {
			return nil, fmt.Errorf("%s: frame %d: %w", path, i+1, err)
		}
		p.At = times[i]
		out = append(out, p)
	}
	return out, nil
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

// parseFrame splits an Ethernet frame carrying IPv4 or IPv6.
func parseFrame(frame []byte) (Packet, error) {
	if len(frame) < 14 {
		return Packet{}, fmt.Errorf("%d bytes: not an Ethernet frame", len(frame))
	}
	ip := frame[14:]
	switch binary.BigEndian.Uint16(frame[12:]) {
	case 0x0800:
		if len(ip) < 20 {
			return Packet{}, fmt.Errorf("short IPv4 header")
		}
		ihl, total := int(ip[0]&0x0f)*4, int(binary.BigEndian.Uint16(ip[2:]))
		if ihl < 20 || total < ihl || total > len(ip) {
			return Packet{}, fmt.Errorf("bad IPv4 header (ihl %d, total %d, %d bytes)", ihl, total, len(ip))
		}
		return Packet{TTL: ip[8], Protocol: ip[9], Src: netip.AddrFrom4([4]byte(ip[12:16])),
			Dst: netip.AddrFrom4([4]byte(ip[16:20])), Payload: ip[ihl:total]}, nil
	case 0x86dd:
		if len(ip) < 40 {
			return Packet{}, fmt.Errorf("short IPv6 header")
		}
		n := int(binary.BigEndian.Uint16(ip[4:]))
		if 40+n > len(ip) {
			return Packet{}, fmt.Errorf("IPv6 payload length %d, %d bytes", n, len(ip)-40)
		}
		return Packet{TTL: ip[7], Protocol: ip[6], Src: netip.AddrFrom16([16]byte(ip[8:24])),
			Dst: netip.AddrFrom16([16]byte(ip[24:40])), Payload: ip[40 : 40+n]}, nil
	}
	return Packet{}, fmt.Errorf("ethertype %#04x: not IP", binary.BigEndian.Uint16(frame[12:]))
}
