package config

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// auth_hmac (keepalived 2.4): values of HMAC.Mode and HMAC.AntiReplay, and
// the bounds keepalived enforces.
const (
	HMACEnforce     = "enforce"      // sign, and drop adverts without a valid trailer
	HMACPermissive  = "permissive"   // sign, and also accept adverts without a trailer
	HMACReceiveOnly = "receive-only" // do not sign; verify trailers that are present

	AntiReplayTime      = "time"      // sequences must be within TimeWindow of our clock
	AntiReplayMonotonic = "monotonic" // sequences must only grow per sender

	MinHMACKey = 32
	MaxHMACKey = 64

	minTimeWindow        = time.Second
	maxTimeWindow        = 300 * time.Second
	defaultMinTimeWindow = 5 * time.Second
)

// Secret is key material. It never prints: String, GoString, fmt verbs and
// JSON show a placeholder, so no log line, status or diagnostic carries it.
type Secret []byte

func (Secret) String() string               { return redacted }
func (Secret) GoString() string             { return redacted }
func (Secret) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte(redacted)) }
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// HMAC is an instance's auth_hmac block.
type HMAC struct {
	Keys       []HMACKey
	ActiveKey  uint8
	AntiReplay string        // AntiReplayTime or AntiReplayMonotonic
	TimeWindow time.Duration // default max(3 × advert interval, 5 s)
	Mode       string        // HMACEnforce, HMACPermissive or HMACReceiveOnly
	DefRange   hcl.Range
}

// HMACKey is one key of an auth_hmac block.
type HMACKey struct {
	ID     uint8
	Secret Secret
	File   string // the file it was read from, if any
}

// TTLRange bounds the TTL / hop limit accepted from a unicast peer
// (keepalived's unicast_peer { ADDR min_ttl N max_ttl M }).
type TTLRange struct {
	Min, Max uint8
}

type authHMACBlock struct {
	Keys       []*hmacKeyBlock `hcl:"key,block"`
	ActiveKey  *hcl.Attribute  `hcl:"active_key,attr"`
	AntiReplay *hcl.Attribute  `hcl:"anti_replay,attr"`
	TimeWindow *hcl.Attribute  `hcl:"time_window,attr"`
	Mode       *hcl.Attribute  `hcl:"mode,attr"`
	DefRange   hcl.Range       `hcl:",def_range"`
}

type hmacKeyBlock struct {
	ID       string         `hcl:"id,label"`
	Value    *hcl.Attribute `hcl:"value,attr"`
	File     *hcl.Attribute `hcl:"file,attr"`
	DefRange hcl.Range      `hcl:",def_range"`
}

type unicastPeerBlock struct {
	Address  string         `hcl:"address,label"`
	MinTTL   *hcl.Attribute `hcl:"min_ttl,attr"`
	MaxTTL   *hcl.Attribute `hcl:"max_ttl,attr"`
	DefRange hcl.Range      `hcl:",def_range"`
}

// authHMAC decodes an auth_hmac block. No diagnostic quotes a key.
func (b *builder) authHMAC(r *instanceBlock, inst *Instance) {
	a := r.AuthHMAC
	if a == nil {
		return
	}
	if r.AuthPass != nil {
		b.errorf(a.DefRange, "auth_hmac and auth_pass together",
			"An instance authenticates with auth_hmac or with the VRRPv2 password, not both (keepalived refuses the pair too); remove auth_pass.")
	}
	h := &HMAC{AntiReplay: AntiReplayTime, Mode: HMACEnforce, DefRange: a.DefRange}
	seen := map[uint8]bool{}
	for _, k := range a.Keys {
		id, err := strconv.ParseUint(k.ID, 10, 8)
		if err != nil || id == 0 {
			b.errorf(k.DefRange, "Invalid key id", "Key ids are 1 to 255, not %q.", k.ID)
			continue
		}
		if seen[uint8(id)] {
			b.errorf(k.DefRange, "Duplicate key id", "Key %d is defined twice.", id)
			continue
		}
		seen[uint8(id)] = true
		key := HMACKey{ID: uint8(id)}
		switch {
		case k.Value != nil && k.File != nil:
			b.errorf(k.DefRange, "Key with value and file", "Key %d: give value or file, not both.", id)
			continue
		case k.Value != nil:
			var v string
			if !b.string(k.Value, &v) {
				continue
			}
			s, err := keyBytes(v)
			if err != nil {
				b.errorf(k.Value.Range, "Invalid key value", "Key %d: %v.", id, err)
				continue
			}
			key.Secret = s
		case k.File != nil:
			if !b.string(k.File, &key.File) {
				continue
			}
			s, err := readKeyFile(key.File)
			if err != nil {
				b.errorf(k.File.Range, "Invalid key file", "Key %d: %v.", id, err)
				continue
			}
			key.Secret = s
		default:
			b.errorf(k.DefRange, "Key without value", "Key %d needs value = \"hex:…\" or an ASCII string, or file = \"/path\".", id)
			continue
		}
		h.Keys = append(h.Keys, key)
	}
	b.require(a.ActiveKey, "active_key", a.DefRange)
	var n int
	if b.intRange(a.ActiveKey, &n, 1, 255) {
		h.ActiveKey = uint8(n)
		if !seen[h.ActiveKey] {
			b.errorf(a.ActiveKey.Range, "active_key not defined", "Key %d is not defined in this auth_hmac block.", n)
		}
	}
	b.oneOf(a.AntiReplay, &h.AntiReplay, AntiReplayTime, AntiReplayMonotonic)
	b.oneOf(a.Mode, &h.Mode, HMACEnforce, HMACPermissive, HMACReceiveOnly)
	if b.duration(a.TimeWindow, &h.TimeWindow, false) && (h.TimeWindow < minTimeWindow || h.TimeWindow > maxTimeWindow) {
		b.errorf(a.TimeWindow.Range, "Invalid value for time_window", "time_window is 1s to 300s, not %s.", h.TimeWindow)
	}
	if h.TimeWindow == 0 {
		h.TimeWindow = max(3*inst.AdvertInterval, defaultMinTimeWindow)
	}
	inst.HMAC = h
}

// keyBytes decodes a key given as "hex:…" or as an ASCII string, the forms
// keepalived accepts. Errors never include the key.
func keyBytes(v string) (Secret, error) {
	var k []byte
	if h, ok := strings.CutPrefix(v, "hex:"); ok {
		var err error
		if k, err = hex.DecodeString(h); err != nil {
			return nil, fmt.Errorf("the hex: form holds something that is not hexadecimal")
		}
	} else {
		for _, c := range []byte(v) {
			if c < 0x20 || c > 0x7e {
				return nil, fmt.Errorf("a key given as text must be printable ASCII; use hex: for other bytes")
			}
		}
		k = []byte(v)
	}
	if len(k) < MinHMACKey || len(k) > MaxHMACKey {
		return nil, fmt.Errorf("%d bytes, want %d to %d", len(k), MinHMACKey, MaxHMACKey)
	}
	return Secret(k), nil
}

// readKeyFile reads a key file: mode 0600 or 0400 and owned by root or the
// user this process runs as, holding one key in a keyBytes form.
func readKeyFile(path string) (Secret, error) {
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("%s: key files need an absolute path", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if m := fi.Mode(); !m.IsRegular() || (m.Perm() != 0o600 && m.Perm() != 0o400) {
		return nil, fmt.Errorf("%s: mode %v, want a regular file with mode 0600 or 0400", path, m)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		return nil, fmt.Errorf("%s: owned by uid %d, want root or the daemon's user", path, st.Uid)
	}
	buf := make([]byte, 4096)
	n, err := f.Read(buf)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return keyBytes(strings.TrimSpace(string(buf[:n])))
}

// unicastPeerBlocks decodes `unicast_peer "ADDR" { min_ttl max_ttl }`
// blocks, which add peers with TTL bounds beside unicast_peers.
func (b *builder) unicastPeerBlocks(r *instanceBlock, info *instanceInfo, seen map[netip.Addr]bool) {
	inst := info.inst
	for _, p := range r.UnicastPeer {
		a, err := parsePeer(p.Address)
		switch {
		case err != nil:
			b.errorf(p.DefRange, "Invalid unicast peer", "%q %v.", p.Address, err)
			continue
		case info.family != 0 && family(a) != info.family:
			b.errorf(p.DefRange, "Unicast peer of the wrong family", "%s is IPv%d but the virtual IPs are IPv%d.", a, family(a), info.family)
			continue
		case seen[a]:
			b.errorf(p.DefRange, "Duplicate unicast peer", "%s is listed twice.", a)
			continue
		}
		seen[a] = true
		r := TTLRange{Min: 0, Max: 255}
		var n int
		if b.intRange(p.MinTTL, &n, 0, 255) {
			r.Min = uint8(n)
		}
		if b.intRange(p.MaxTTL, &n, 0, 255) {
			r.Max = uint8(n)
		}
		if r.Min > r.Max {
			b.errorf(p.DefRange, "min_ttl above max_ttl", "Peer %s: min_ttl %d is above max_ttl %d.", a, r.Min, r.Max)
		}
		inst.UnicastPeers = append(inst.UnicastPeers, a)
		if inst.PeerTTL == nil {
			inst.PeerTTL = map[netip.Addr]TTLRange{}
		}
		inst.PeerTTL[a] = r
	}
}
