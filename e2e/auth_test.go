package e2e

// Adverts that cannot be forged: TTL by delivery mode, per-peer TTL bounds,
// each instance's filter its own, and keepalived 2.4's auth_hmac (against
// forgery and replay, interoperable with a real keepalived 2.4.3).

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hawatch/hawatch/core/vrrp"
	"github.com/hawatch/hawatch/internal/netlab"
)

// The auth_hmac keys of the reference captures: key 1 in hex, key 2 ASCII.
const (
	hmacKey1Hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	hmacKey2    = "hawatch-test-vector-ascii-key-0123456789"
)

// hmacPolicy renders an auth_hmac block for hawatch with the given key ids
// (1, 2), active key and mode.
func hmacPolicy(keys []int, active int, mode string) string {
	var b strings.Builder
	b.WriteString("  auth_hmac {\n")
	for _, k := range keys {
		v := "hex:" + hmacKey1Hex
		if k == 2 {
			v = hmacKey2
		}
		fmt.Fprintf(&b, "    key \"%d\" { value = %q }\n", k, v)
	}
	fmt.Fprintf(&b, "    active_key = %d\n    mode = %q\n  }\n", active, mode)
	return b.String()
}

// hmacKeepalived is the same block in keepalived 2.4's words.
func hmacKeepalived(keys []int, active int, mode string) []string {
	var out []string
	for _, k := range keys {
		v := "hex:" + hmacKey1Hex
		if k == 2 {
			v = hmacKey2
		}
		out = append(out, fmt.Sprintf("key %d %s", k, v))
	}
	return append(out, fmt.Sprintf("active_key %d", active), "mode "+mode)
}

// TestForgedOffLinkAdverts: unicast-addressed adverts with TTL 64 (what a
// host off the link can get delivered) sent to each node's own address,
// at priority 254 and 0, for the v3 and the v2 instance, are dropped and
// counted by the multicast instances; the master keeps its VIPs and nobody
// changes state.
func TestForgedOffLinkAdverts(t *testing.T) {
	needRoot(t)
	lab := netlab.New(t, netlab.Options{Nodes: 2})
	lb1, lb2, client := lab.Nodes[0], lab.Nodes[1], lab.Client
	d2 := startDaemon(t, lb2, mfInstances(50))
	d1 := startDaemon(t, lb1, mfInstances(100))
	waitVIP(t, lb1, mfVIP3, true, 10*time.Second)
	waitVIP(t, lb1, mfVIP2, true, 10*time.Second)
	exactlyOne(t, mfVIP3, lb1, 500*time.Millisecond, lb1, lb2)
	exactlyOne(t, mfVIP2, lb1, 10*time.Millisecond, lb1, lb2)
	changes := []int{stateChanges(d1), stateChanges(d2)}
	tx := openInjector(t, client)

	const count = 5
	for _, target := range []struct {
		node *netlab.Node
		d    *daemon
	}{{lb1, d1}, {lb2, d2}} {
		for _, inst := range []string{"V3", "V2"} {
			for _, prio := range []uint8{254, 0} {
				a := goodV3(client.Addr4)
				if inst == "V2" {
					a = goodV2(client.Addr4)
				}
				a.Priority, a.Dst = prio, target.node.Addr4 // the v3 checksum covers the destination
				pkt := encode(t, a, nil)
				before := dropCount(target.d.mustStatus(), inst, "not_multicast")
				for range count {
					tx.sendAs(t, client.Addr4, target.node.Addr4, 64, pkt)
				}
				waitFor(t, fmt.Sprintf("%s %s to count %d not_multicast drops", target.node, inst, count), 2*time.Second, func() bool {
					return dropCount(target.d.mustStatus(), inst, "not_multicast")-before >= count
				})
			}
		}
	}
	time.Sleep(500 * time.Millisecond) // a priority-0 advert a backup took would show by now
	exactlyOne(t, mfVIP3, lb1, 500*time.Millisecond, lb1, lb2)
	exactlyOne(t, mfVIP2, lb1, 10*time.Millisecond, lb1, lb2)
	if a, b := stateChanges(d1)-changes[0], stateChanges(d2)-changes[1]; a != 0 || b != 0 {
		t.Errorf("state changes during the forgery: lb1 %d, lb2 %d", a, b)
	}
}

// TestUnicastPeerMinTTL: a unicast instance with `unicast_peer "lb2" {
// min_ttl = 255 }` drops a TTL-64 advert that claims to come from lb2
// (spoofed from the client) and keeps the VIP.
func TestUnicastPeerMinTTL(t *testing.T) {
	needRoot(t)
	lab := netlab.New(t, netlab.Options{Nodes: 2})
	lb1, lb2, client := lab.Nodes[0], lab.Nodes[1], lab.Client
	inst := func(self, other *netlab.Node, prio int) string {
		i := instance{vrid: 93, prio: prio, version: 3, interval: "100ms", vips: []string{vip4.String()}, unicastSource: self.Addr4.String(),
			extra: fmt.Sprintf("  unicast_peer %q {\n    min_ttl = 255\n  }\n", other.Addr4)}
		return i.String()
	}
	d2 := startDaemon(t, lb2, inst(lb2, lb1, 50))
	d1 := startDaemon(t, lb1, inst(lb1, lb2, 100))
	waitVIP(t, lb1, vip4, true, 10*time.Second)
	exactlyOne(t, vip4, lb1, 500*time.Millisecond, lb1, lb2)
	d2.waitState("BACKUP", 2*time.Second)
	changes := stateChanges(d1)

	a := &vrrp.Advert{Version: 3, Type: vrrp.TypeAdvertisement, VRID: 93, Priority: 254, Interval: 10,
		Addresses: []netip.Addr{vip4.Addr()}, Src: lb2.Addr4, Dst: lb1.Addr4}
	pkt := encode(t, a, nil)
	tx := openInjector(t, client)
	before := dropCount(d1.mustStatus(), "VI_1", "ttl")
	for range 5 {
		tx.sendAs(t, lb2.Addr4, lb1.Addr4, 64, pkt)
	}
	waitFor(t, "lb1 to count 5 ttl drops", 2*time.Second, func() bool { return dropCount(d1.mustStatus(), "VI_1", "ttl")-before >= 5 })
	exactlyOne(t, vip4, lb1, 500*time.Millisecond, lb1, lb2)
	if n := stateChanges(d1) - changes; n != 0 {
		t.Errorf("lb1 changed state %d times", n)
	}
}

// TestMulticastAndUnicastOnOneLink: on one interface, a multicast instance
// among three nodes (lb3 the highest) and a unicast instance between lb1
// and lb2 (lb1 the highest) each elect exactly one master. (The unicast
// peer list once became the multicast socket's allow-list, so lb1 dropped
// lb3's multicast adverts and became a second master.)
func TestMulticastAndUnicastOnOneLink(t *testing.T) {
	needRoot(t)
	lab := netlab.New(t, netlab.Options{Nodes: 3, NoClient: true})
	lb1, lb2, lb3 := lab.Nodes[0], lab.Nodes[1], lab.Nodes[2]
	vipM, vipU := netip.MustParsePrefix("198.51.100.60/24"), netip.MustParsePrefix("198.51.100.61/24")
	mcast := func(prio int) string {
		return instance{name: "VI_M", vrid: 94, prio: prio, version: 3, interval: "100ms", vips: []string{vipM.String()}}.String()
	}
	ucast := func(self, other *netlab.Node, prio int) string {
		return instance{name: "VI_U", vrid: 95, prio: prio, version: 3, interval: "100ms", vips: []string{vipU.String()},
			unicastSource: self.Addr4.String(), unicastPeers: []string{other.Addr4.String()}}.String()
	}
	startDaemon(t, lb3, mcast(150))
	startDaemon(t, lb2, mcast(50)+ucast(lb2, lb1, 50))
	startDaemon(t, lb1, mcast(100)+ucast(lb1, lb2, 100))
	waitVIP(t, lb3, vipM, true, 10*time.Second)
	waitVIP(t, lb1, vipU, true, 10*time.Second)
	exactlyOne(t, vipM, lb3, 2*time.Second, lb1, lb2, lb3)
	exactlyOne(t, vipU, lb1, time.Second, lb1, lb2)
}

// TestHMACEnforceDropsForgeries: a hawatch pair with auth_hmac in enforce
// mode. From the client: an advert signed with the wrong key, one without a
// trailer (both at priority 254, which would win), and a real advert of the
// master captured and replayed a second later. Each is dropped and counted
// by both nodes, with no state change.
func TestHMACEnforceDropsForgeries(t *testing.T) {
	needRoot(t)
	lab := netlab.New(t, netlab.Options{Nodes: 2})
	lb1, lb2, client := lab.Nodes[0], lab.Nodes[1], lab.Client
	inst := func(prio int) string {
		return instance{vrid: 96, prio: prio, version: 3, interval: "100ms", vips: []string{vip4.String()},
			extra: hmacPolicy([]int{1}, 1, "enforce")}.String()
	}
	capture := startAdvertCapture(t, client)
	d2 := startDaemon(t, lb2, inst(50))
	d1 := startDaemon(t, lb1, inst(100))
	waitVIP(t, lb1, vip4, true, 10*time.Second)
	exactlyOne(t, vip4, lb1, 500*time.Millisecond, lb1, lb2)
	d2.waitState("BACKUP", 2*time.Second)
	changes := []int{stateChanges(d1), stateChanges(d2)}

	var recorded []byte
	for _, a := range capture.snapshot() {
		if a.src == lb1.Addr4 && a.vrid == 96 && a.priority == 100 {
			recorded = a.payload
		}
	}
	if recorded == nil {
		t.Fatal("captured no advert from lb1")
	}
	if a, err := vrrp.ParseAdvert(recorded, lb1.Addr4, vrrp.MulticastGroup4); err != nil || a.Trailer == nil {
		t.Fatalf("lb1's advert on the wire: %v, trailer %v", err, a)
	}
	time.Sleep(time.Second)

	forged := &vrrp.Advert{Version: 3, Type: vrrp.TypeAdvertisement, VRID: 96, Priority: 254, Interval: 10,
		Addresses: []netip.Addr{vip4.Addr()}, Src: client.Addr4, Dst: vrrp.MulticastGroup4}
	wrongKey, err := forged.AppendSigned(nil, []byte(hmacKey2), 1, vrrp.SeqAt(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	tx := openInjector(t, client)
	for _, c := range []struct {
		name, reason string
		src          netip.Addr
		pkt          []byte
	}{
		{"wrong key", "hmac_bad", client.Addr4, wrongKey},
		{"no trailer", "hmac_missing", client.Addr4, encode(t, forged, func(a *vrrp.Advert) { a.Trailer = nil })},
		{"replayed", "hmac_replay", lb1.Addr4, recorded},
	} {
		var before []uint64
		ds := []*daemon{d1, d2}
		if c.name == "replayed" {
			ds = []*daemon{d2} // lb1 drops its own advert before any filter
		}
		for _, d := range ds {
			before = append(before, dropCount(d.mustStatus(), "VI_1", c.reason))
		}
		for range 3 {
			tx.sendAs(t, c.src, vrrp.MulticastGroup4, 255, c.pkt)
		}
		for i, d := range ds {
			waitFor(t, fmt.Sprintf("%s to count the %s advert as %s", d.node, c.name, c.reason), 2*time.Second,
				func() bool { return dropCount(d.mustStatus(), "VI_1", c.reason)-before[i] >= 3 })
		}
	}
	exactlyOne(t, vip4, lb1, 500*time.Millisecond, lb1, lb2)
	if a, b := stateChanges(d1)-changes[0], stateChanges(d2)-changes[1]; a != 0 || b != 0 {
		t.Errorf("state changes: lb1 %d, lb2 %d", a, b)
	}
}

// hmacInteropModes are the auth_hmac interop rows: v3 unicast
// IPv4, v3 multicast IPv6 and v2 multicast.
var hmacInteropModes = []interopMode{
	{name: "hmac-v3-unicast", version: 3, interval: 100 * time.Millisecond, vip: "198.51.100.50/24", unicast: true, hmac: true},
	{name: "hmac-v3-ipv6", version: 3, interval: 100 * time.Millisecond, vip: "2001:db8::50/64", ipv6: true, hmac: true},
	{name: "hmac-v2-multicast", version: 2, interval: time.Second, vip: "198.51.100.50/24", hmac: true},
}

// TestKeepalived243HMACInterop: hawatch and keepalived 2.4.3, both with
// auth_hmac (enforce), in both roles, crash and graceful: one owner after
// convergence and the takeover within the RFC bound.
func TestKeepalived243HMACInterop(t *testing.T) {
	needRoot(t)
	bin, why := netlab.Keepalived243()
	if bin == "" {
		t.Skip(why)
	}
	for i, m := range hmacInteropModes {
		m.keepalivedBin = bin
		for _, hawatchMaster := range []bool{true, false} {
			for _, crash := range []bool{true, false} {
				role := map[bool]string{true: "hawatch-master", false: "keepalived-master"}[hawatchMaster]
				stop := map[bool]string{true: "crash", false: "graceful"}[crash]
				t.Run(m.name+"/"+role+"/"+stop, func(t *testing.T) {
					runInterop(t, m, 110+i, hawatchMaster, crash)
				})
			}
		}
	}
}

// TestHMACRotationAndMigration: hawatch (lb1) and keepalived 2.4.3 (lb2)
// change their auth_hmac settings one node at a time, as an operator would:
// a migration from no authentication through receive-only and permissive to
// enforce, then a key rotation (add key 2, switch to it, remove key 1). Run
// with either as the master, so each verifies the other's adverts: the
// master holds the VIP throughout and nobody changes state.
func TestHMACRotationAndMigration(t *testing.T) {
	needRoot(t)
	bin, why := netlab.Keepalived243()
	if bin == "" {
		t.Skip(why)
	}
	for _, hawatchMaster := range []bool{true, false} {
		t.Run(map[bool]string{true: "hawatch-master", false: "keepalived-master"}[hawatchMaster], func(t *testing.T) {
			runHMACRotation(t, bin, hawatchMaster)
		})
	}
}

func runHMACRotation(t *testing.T, bin string, hawatchMaster bool) {
	lab := netlab.New(t, netlab.Options{Nodes: 2, NoClient: true})
	lb1, lb2 := lab.Nodes[0], lab.Nodes[1]
	hPrio, kPrio, master := 100, 50, lb1
	if !hawatchMaster {
		hPrio, kPrio, master = 50, 100, lb2
	}
	body := func(auth string) string {
		return instance{vrid: 97, prio: hPrio, version: 3, interval: "100ms", vips: []string{vip4.String()}, extra: auth}.String()
	}
	kaConf := func(auth []string) netlab.KeepalivedConfig {
		return netlab.KeepalivedConfig{VRID: 97, Priority: kPrio, Version: 3, AdvertInterval: 100 * time.Millisecond,
			VIPs: []string{vip4.String()}, HMAC: auth, Binary: bin}
	}
	d1 := startDaemon(t, lb1, body(""))
	ka := netlab.StartKeepalived(t, lb2, kaConf(nil))
	waitVIP(t, master, vip4, true, 10*time.Second)
	exactlyOne(t, vip4, master, time.Second, lb1, lb2)
	before := d1.mustStatus().Instances[0]
	kaMasters := strings.Count(ka.Output(), "Entering MASTER")
	w := watchVIP(t, master, lb1, lb2)

	hawatchStep := func(auth string) {
		t.Helper()
		d1.rewrite(body(auth))
		if _, errOut, err := d1.ctl("reload"); err != nil {
			t.Fatalf("reload: %v\n%s", err, errOut)
		}
	}
	keepalivedStep := func(auth []string) { netlab.ReloadKeepalived(t, ka, kaConf(auth)) }
	steps := []struct {
		name string
		do   func()
	}{
		{"keepalived receive-only", func() { keepalivedStep(hmacKeepalived([]int{1}, 1, "receive-only")) }},
		{"hawatch receive-only", func() { hawatchStep(hmacPolicy([]int{1}, 1, "receive-only")) }},
		{"keepalived permissive", func() { keepalivedStep(hmacKeepalived([]int{1}, 1, "permissive")) }},
		{"hawatch permissive", func() { hawatchStep(hmacPolicy([]int{1}, 1, "permissive")) }},
		{"keepalived enforce", func() { keepalivedStep(hmacKeepalived([]int{1}, 1, "enforce")) }},
		{"hawatch enforce", func() { hawatchStep(hmacPolicy([]int{1}, 1, "enforce")) }},
		{"keepalived adds key 2", func() { keepalivedStep(hmacKeepalived([]int{1, 2}, 1, "enforce")) }},
		{"hawatch adds key 2", func() { hawatchStep(hmacPolicy([]int{1, 2}, 1, "enforce")) }},
		{"hawatch signs with key 2", func() { hawatchStep(hmacPolicy([]int{1, 2}, 2, "enforce")) }},
		{"keepalived signs with key 2", func() { keepalivedStep(hmacKeepalived([]int{1, 2}, 2, "enforce")) }},
		{"hawatch drops key 1", func() { hawatchStep(hmacPolicy([]int{2}, 2, "enforce")) }},
		{"keepalived drops key 1", func() { keepalivedStep(hmacKeepalived([]int{2}, 2, "enforce")) }},
	}
	received := before.Stats.AdvertsReceived
	for _, s := range steps {
		s.do()
		time.Sleep(time.Second) // ten adverts under the new settings
		st := d1.mustStatus().Instances[0]
		t.Logf("after %s: lb1 %s (%s), received %d, unsigned %d, dropped %v", s.name, st.State, st.Auth,
			st.Stats.AdvertsReceived, st.Stats.UnsignedAccepted, st.Stats.Dropped)
		if st.State != before.State || st.Stats.Transitions != before.Stats.Transitions {
			t.Fatalf("after %s: lb1 %s with %d transitions (was %s, %d)", s.name, st.State, st.Stats.Transitions, before.State, before.Stats.Transitions)
		}
		if !hawatchMaster {
			// hawatch is the backup: it must keep accepting keepalived's
			// adverts at every step, and drop none.
			if st.Stats.AdvertsReceived < received+5 || len(st.Stats.Dropped) != 0 {
				t.Fatalf("after %s: hawatch accepted %d adverts in a second and dropped %v", s.name, st.Stats.AdvertsReceived-received, st.Stats.Dropped)
			}
			received = st.Stats.AdvertsReceived
		}
	}
	w.end()
	if len(w.violations) > 0 {
		t.Errorf("the VIP moved during the migration and the rotation: %v", w.violations)
	}
	if got := d1.mustStatus().Instances[0].Auth; got != "hmac enforce, key 2 of [2]" {
		t.Errorf("final auth %q", got)
	}
	if n := strings.Count(ka.Output(), "Entering MASTER") - kaMasters; n != 0 {
		t.Errorf("keepalived entered MASTER %d times during the steps:\n%s", n, ka.Output())
	}
}
