package e2e

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/hawatch/hawatch/core/control"
	"github.com/hawatch/hawatch/core/vrrp"
	"github.com/hawatch/hawatch/internal/netlab"
)

// Malformed-input test: a converged hawatch pair must shrug off everything a
// hostile or broken host on the segment can multicast at it.

const (
	mfVRID3  = 71 // v3, 100 ms
	mfVRID2  = 72 // v2, 1 s, auth_pass
	mfUnused = 73 // configured nowhere
	mfPass   = "s3cret"
	mfSocket = "eth0/ipv4/multicast"
)

var (
	mfVIP3 = netip.MustParsePrefix("198.51.100.50/24")
	mfVIP2 = netip.MustParsePrefix("198.51.100.51/24")
)

// mfInstances renders both instances with priority prio.
func mfInstances(prio int) string {
	v3 := instance{name: "V3", vrid: mfVRID3, prio: prio, version: 3, interval: "100ms", vips: []string{mfVIP3.String()}}
	v2 := instance{name: "V2", vrid: mfVRID2, prio: prio, version: 2, interval: "1s", auth: mfPass, vips: []string{mfVIP2.String()}}
	return v3.String() + v2.String()
}

// injection is one kind of bad packet and the counter it must land in.
type injection struct {
	name string
	ttl  int
	// payload builds the VRRP message (the IP header is added by the sender).
	payload func(t *testing.T, src netip.Addr) []byte
	// instance is "" for a socket-level drop (status socket_drops), else the
	// instance whose stats.dropped must rise.
	instance string
	reason   string
}

// goodV3 / goodV2 are adverts every filter would accept, from src with
// priority 254: if any corrupted variant slipped through, lb1 (priority
// 100) would step down, so "no state change" really tests the filters.
func goodV3(src netip.Addr) *vrrp.Advert {
	return &vrrp.Advert{Version: 3, Type: vrrp.TypeAdvertisement, VRID: mfVRID3, Priority: 254,
		Interval: vrrp.WireInterval(3, 100*time.Millisecond), Addresses: []netip.Addr{mfVIP3.Addr()},
		Src: src, Dst: vrrp.MulticastGroup4}
}

func goodV2(src netip.Addr) *vrrp.Advert {
	a := &vrrp.Advert{Version: 2, Type: vrrp.TypeAdvertisement, VRID: mfVRID2, Priority: 254,
		Interval: vrrp.WireInterval(2, time.Second), AuthType: vrrp.AuthPass, Addresses: []netip.Addr{mfVIP2.Addr()},
		Src: src, Dst: vrrp.MulticastGroup4}
	copy(a.AuthData[:], mfPass)
	return a
}

// encode marshals a after mutate, failing the test on an encoding error.
func encode(t *testing.T, a *vrrp.Advert, mutate func(*vrrp.Advert)) []byte {
	t.Helper()
	if mutate != nil {
		mutate(a)
	}
	b, err := a.MarshalBinary()
	if err != nil {
		t.Fatalf("encode %v: %v", a, err)
	}
	return b
}

var injections = []injection{
	// TTL and hop limit are the instance's own rule (its delivery mode),
	// so the instance the VRID names counts the drop.
	{name: "ttl-64", ttl: 64, instance: "V3", reason: "ttl",
		payload: func(t *testing.T, src netip.Addr) []byte { return encode(t, goodV3(src), nil) }},
	{name: "ttl-254-v2", ttl: 254, instance: "V2", reason: "ttl",
		payload: func(t *testing.T, src netip.Addr) []byte { return encode(t, goodV2(src), nil) }},
	// The version nibble is checked before the checksum, so the stale
	// checksum does not change the verdict.
	{name: "version-nibble-4", ttl: 255, reason: "version",
		payload: func(t *testing.T, src netip.Addr) []byte {
			b := encode(t, goodV3(src), nil)
			b[0] = 4<<4 | b[0]&0x0f
			return b
		}},
	// A well-formed v2 advert aimed at the v3 instance.
	{name: "v2-to-v3-instance", ttl: 255, instance: "V3", reason: "version",
		payload: func(t *testing.T, src netip.Addr) []byte {
			return encode(t, goodV2(src), func(a *vrrp.Advert) { a.VRID = mfVRID3; a.Addresses = []netip.Addr{mfVIP3.Addr()} })
		}},
	{name: "type-2", ttl: 255, reason: "type",
		payload: func(t *testing.T, src netip.Addr) []byte {
			return encode(t, goodV3(src), func(a *vrrp.Advert) { a.Type = 2 })
		}},
	{name: "bad-checksum-v3", ttl: 255, reason: "checksum",
		payload: func(t *testing.T, src netip.Addr) []byte {
			b := encode(t, goodV3(src), nil)
			b[6] ^= 0x5a
			return b
		}},
	{name: "bad-checksum-v2", ttl: 255, reason: "checksum",
		payload: func(t *testing.T, src netip.Addr) []byte {
			b := encode(t, goodV2(src), nil)
			b[7] ^= 0x01
			return b
		}},
	{name: "truncated-header", ttl: 255, reason: "truncated",
		payload: func(t *testing.T, src netip.Addr) []byte { return encode(t, goodV3(src), nil)[:6] }},
	{name: "truncated-address", ttl: 255, reason: "truncated",
		payload: func(t *testing.T, src netip.Addr) []byte { return encode(t, goodV3(src), nil)[:10] }},
	{name: "truncated-v2-auth", ttl: 255, reason: "truncated",
		payload: func(t *testing.T, src netip.Addr) []byte { return encode(t, goodV2(src), nil)[:14] }},
	{name: "zero-addresses", ttl: 255, reason: "addr_count",
		payload: func(t *testing.T, src netip.Addr) []byte {
			b := encode(t, goodV3(src), nil)[:8]
			b[3] = 0
			return b
		}},
	{name: "zero-interval", ttl: 255, reason: "zero_interval",
		payload: func(t *testing.T, src netip.Addr) []byte {
			return encode(t, goodV3(src), func(a *vrrp.Advert) { a.Interval = 0 })
		}},
	{name: "unknown-vrid", ttl: 255, reason: "vrid",
		payload: func(t *testing.T, src netip.Addr) []byte {
			return encode(t, goodV3(src), func(a *vrrp.Advert) { a.VRID = mfUnused })
		}},
	{name: "v2-wrong-pass", ttl: 255, instance: "V2", reason: "auth",
		payload: func(t *testing.T, src netip.Addr) []byte {
			return encode(t, goodV2(src), func(a *vrrp.Advert) { a.AuthData = [8]byte{'w', 'r', 'o', 'n', 'g'} })
		}},
	{name: "v2-no-auth", ttl: 255, instance: "V2", reason: "auth_type",
		payload: func(t *testing.T, src netip.Addr) []byte {
			return encode(t, goodV2(src), func(a *vrrp.Advert) { a.AuthType, a.AuthData = vrrp.AuthNone, [8]byte{} })
		}},
	{name: "v2-interval-2s", ttl: 255, instance: "V2", reason: "interval",
		payload: func(t *testing.T, src netip.Addr) []byte {
			return encode(t, goodV2(src), func(a *vrrp.Advert) { a.Interval = 2 })
		}},
	{name: "v2-other-addresses", ttl: 255, instance: "V2", reason: "addr_list",
		payload: func(t *testing.T, src netip.Addr) []byte {
			return encode(t, goodV2(src), func(a *vrrp.Advert) { a.Addresses = []netip.Addr{netip.MustParseAddr("198.51.100.99")} })
		}},
}

// dropCount reads one drop counter out of a status snapshot.
func dropCount(st control.Status, instance, reason string) uint64 {
	if instance == "" {
		return st.SocketDrops[mfSocket][reason]
	}
	for _, in := range st.Instances {
		if in.Name == instance {
			return in.Stats.Dropped[reason]
		}
	}
	return 0
}

func socketDropTotal(st control.Status) uint64 {
	var n uint64
	for _, v := range st.SocketDrops[mfSocket] {
		n += v
	}
	return n
}

// stateChanges counts every "state change" log line of d.
func stateChanges(d *daemon) int { return len(d.logLines("state change")) }

func TestMalformedAdvertsIgnored(t *testing.T) {
	needRoot(t)
	lab := netlab.New(t, netlab.Options{Nodes: 2})
	lb1, lb2, client := lab.Nodes[0], lab.Nodes[1], lab.Client

	d2 := startDaemon(t, lb2, mfInstances(50))
	d1 := startDaemon(t, lb1, mfInstances(100))
	waitVIP(t, lb1, mfVIP3, true, 10*time.Second)
	waitVIP(t, lb1, mfVIP2, true, 10*time.Second)
	exactlyOne(t, mfVIP3, lb1, 500*time.Millisecond, lb1, lb2)
	exactlyOne(t, mfVIP2, lb1, 10*time.Millisecond, lb1, lb2)
	daemons := []*daemon{d1, d2}
	changes := []int{stateChanges(d1), stateChanges(d2)}

	tx := openInjector(t, client)
	capture := startAdvertCapture(t, client)
	src := client.Addr4

	for _, inj := range injections {
		t.Run(inj.name, func(t *testing.T) {
			const count = 5
			before := []uint64{dropCount(d1.mustStatus(), inj.instance, inj.reason), dropCount(d2.mustStatus(), inj.instance, inj.reason)}
			pkt := inj.payload(t, src)
			for range count {
				tx.send(t, inj.ttl, pkt)
			}
			for i, d := range daemons {
				var got uint64
				deadline := time.Now().Add(2 * time.Second)
				for {
					got = dropCount(d.mustStatus(), inj.instance, inj.reason) - before[i]
					if got >= count || time.Now().After(deadline) {
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
				where := "socket_drops[" + mfSocket + "]"
				if inj.instance != "" {
					where = inj.instance + ".stats.dropped"
				}
				if got != count {
					st := d.mustStatus()
					t.Errorf("%s: %s[%q] rose by %d, want %d (sockets %v, instances %+v)",
						d.node.Name, where, inj.reason, got, count, st.SocketDrops, instanceDrops(st))
				}
			}
		})
	}

	// Flood: 5,000 packets of garbage in about a second. Byte 1 (the VRID)
	// is pinned to an unconfigured VRID so that even a garbage packet that
	// happened to checksum lands in a counter instead of an instance.
	const flood = 5000
	before := []uint64{socketDropTotal(d1.mustStatus()), socketDropTotal(d2.mustStatus())}
	rng := rand.New(rand.NewPCG(4, 112))
	pkts := make([][]byte, flood)
	for i := range pkts {
		p := make([]byte, 1+rng.IntN(64))
		for j := range p {
			p[j] = byte(rng.Uint32())
		}
		if len(p) > 1 {
			p[1] = mfUnused
		}
		pkts[i] = p
	}
	// The gap check looks at 300 ms before the flood too: let the capture
	// have been running that long.
	time.Sleep(time.Until(capture.started.Add(300 * time.Millisecond)))
	floodStart := time.Now()
	tick := time.NewTicker(time.Millisecond)
	for i := 0; i < flood; {
		<-tick.C
		// Catch up after a late tick so the rate stays ~5 per ms.
		due := min(flood, int(time.Since(floodStart)/time.Millisecond+1)*flood/1000)
		for ; i < due; i++ {
			tx.send(t, 255, pkts[i])
		}
	}
	tick.Stop()
	floodEnd := time.Now()
	t.Logf("flood: %d packets in %v", flood, floodEnd.Sub(floodStart))
	time.Sleep(500 * time.Millisecond) // adverts after the flood, for the gap window
	for i, d := range daemons {
		got := socketDropTotal(d.mustStatus()) - before[i]
		t.Logf("%s counted %d of %d flood packets (socket drops %v)", d.node.Name, got, flood, d.mustStatus().SocketDrops[mfSocket])
		// The kernel may drop a few if the socket buffer fills under load;
		// losing more than 5% means the reader cannot keep up.
		if got < flood*95/100 || got > flood {
			t.Errorf("%s: socket drops rose by %d during a %d-packet flood", d.node.Name, got, flood)
		}
	}

	// The master kept advertising on time during the flood.
	adverts := capture.stop()
	checkAdvertGaps(t, adverts, lb1.Addr4, mfVRID3, 100*time.Millisecond, floodStart.Add(-300*time.Millisecond), time.Now())
	if n := countFrom(adverts, lb2.Addr4); n != 0 {
		t.Errorf("lb2 (backup) sent %d adverts during the test", n)
	}

	// No state change on either node, VIPs where they were.
	for i, d := range daemons {
		if n := stateChanges(d) - changes[i]; n != 0 {
			t.Errorf("%s: %d state changes during the malformed-input run", d.node.Name, n)
		}
	}
	exactlyOne(t, mfVIP3, lb1, 10*time.Millisecond, lb1, lb2)
	exactlyOne(t, mfVIP2, lb1, 10*time.Millisecond, lb1, lb2)
	for _, in := range d1.mustStatus().Instances {
		if in.State != "MASTER" {
			t.Errorf("lb1 %s is %s, want MASTER", in.Name, in.State)
		}
	}

	// Control: the uncorrupted adverts, from the same sender, do move lb1.
	// Without this the test could pass because nothing ever arrived.
	if t.Failed() {
		return
	}
	backups := d1.transitions("BACKUP")
	for _, a := range []*vrrp.Advert{goodV3(src), goodV2(src)} {
		tx.send(t, 255, encode(t, a, nil))
	}
	deadline := time.Now().Add(2 * time.Second)
	for d1.transitions("BACKUP")-backups < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := d1.transitions("BACKUP") - backups; n != 2 {
		t.Errorf("control: lb1 made %d transitions to BACKUP after valid priority-254 adverts, want 2 (one per instance)", n)
	}
}

func instanceDrops(st control.Status) map[string]map[string]uint64 {
	m := map[string]map[string]uint64{}
	for _, in := range st.Instances {
		m[in.Name] = in.Stats.Dropped
	}
	return m
}

// injector sends hand-built IPv4 packets (our own header, so our own TTL)
// out of the client's eth0.
type injector struct {
	fd  int
	src netip.Addr
}

func openInjector(t *testing.T, client *netlab.Node) *injector {
	t.Helper()
	in := &injector{fd: -1, src: client.Addr4}
	err := client.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
		if err != nil {
			return fmt.Errorf("raw socket: %w", err)
		}
		in.fd = fd
		if err := unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, "eth0"); err != nil {
			return fmt.Errorf("bind to eth0: %w", err)
		}
		// Keep our own garbage out of the client's capture socket.
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP, 0); err != nil {
			return fmt.Errorf("multicast loop off: %w", err)
		}
		return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 1<<20)
	})
	if in.fd >= 0 {
		t.Cleanup(func() { unix.Close(in.fd) })
	}
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// send wraps payload in an IPv4 header (protocol 112, to 224.0.0.18) with
// the given TTL. The kernel fills in total length, ID and header checksum.
func (in *injector) send(t *testing.T, ttl int, payload []byte) {
	t.Helper()
	in.sendAs(t, in.src, vrrp.MulticastGroup4, ttl, payload)
}

// sendAs is send with any source (spoofed) and destination (unicast to a
// node's own address, or the group).
func (in *injector) sendAs(t *testing.T, src, dst netip.Addr, ttl int, payload []byte) {
	t.Helper()
	pkt := make([]byte, 20+len(payload))
	pkt[0] = 0x45
	pkt[1] = 0xc0 // DSCP CS6, as VRRP senders use
	pkt[8] = byte(ttl)
	pkt[9] = 112
	s, d := src.As4(), dst.As4()
	copy(pkt[12:16], s[:])
	copy(pkt[16:20], d[:])
	copy(pkt[20:], payload)
	for {
		err := unix.Sendto(in.fd, pkt, 0, &unix.SockaddrInet4{Addr: d})
		if errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.EAGAIN) {
			time.Sleep(50 * time.Microsecond)
			continue
		}
		if err != nil {
			t.Fatalf("inject: %v", err)
		}
		return
	}
}

// capturedAdvert is one VRRP packet seen on the wire by the client, with
// the kernel's receive timestamp (immune to the test's own scheduling).
type capturedAdvert struct {
	at       time.Time
	src      netip.Addr
	ttl      int
	vrid     uint8
	priority uint8
	version  uint8
	payload  []byte // the VRRP message, trailer included
}

// advertCapture listens for protocol 112 in a namespace.
type advertCapture struct {
	fd      int
	started time.Time
	quit    chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	got     []capturedAdvert
	err     error
}

func startAdvertCapture(t testing.TB, n *netlab.Node) *advertCapture {
	t.Helper()
	c := &advertCapture{fd: -1, quit: make(chan struct{}), done: make(chan struct{})}
	err := n.Do(func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 112)
		if err != nil {
			return fmt.Errorf("raw socket: %w", err)
		}
		c.fd = fd
		mreq := &unix.IPMreqn{Multiaddr: [4]byte{224, 0, 0, 18}, Ifindex: int32(ifi.Index)}
		if err := unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, unix.IP_ADD_MEMBERSHIP, mreq); err != nil {
			return fmt.Errorf("join 224.0.0.18: %w", err)
		}
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
			return fmt.Errorf("SO_TIMESTAMPNS: %w", err)
		}
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20); err != nil {
			return err
		}
		// The reader checks for stop between reads.
		return unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 50_000})
	})
	if err != nil {
		if c.fd >= 0 {
			unix.Close(c.fd)
		}
		t.Fatalf("%s: capture: %v", n.Name, err)
	}
	c.started = time.Now()
	go c.run()
	t.Cleanup(func() { c.stop() })
	return c
}

func (c *advertCapture) run() {
	defer close(c.done)
	buf := make([]byte, 2048)
	oob := make([]byte, 256)
	for {
		select {
		case <-c.quit:
			return
		default:
		}
		n, oobn, _, _, err := unix.Recvmsg(c.fd, buf, oob, 0)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
			return
		}
		if a, ok := parseCaptured(buf[:n], oob[:oobn]); ok {
			c.mu.Lock()
			c.got = append(c.got, a)
			c.mu.Unlock()
		}
	}
}

func parseCaptured(b, oob []byte) (capturedAdvert, bool) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return capturedAdvert{}, false
	}
	hl := int(b[0]&0x0f) * 4
	if len(b) < hl+4 {
		return capturedAdvert{}, false
	}
	a := capturedAdvert{
		src: netip.AddrFrom4([4]byte(b[12:16])), ttl: int(b[8]),
		version: b[hl] >> 4, vrid: b[hl+1], priority: b[hl+2], payload: slices.Clone(b[hl:]),
	}
	msgs, _ := unix.ParseSocketControlMessage(oob)
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= int(unsafe.Sizeof(unix.Timespec{})) {
			ts := (*unix.Timespec)(unsafe.Pointer(&m.Data[0]))
			a.at = time.Unix(ts.Unix())
		}
	}
	if a.at.IsZero() {
		a.at = time.Now()
	}
	return a, true
}

// snapshot returns what the capture saw so far; it keeps running.
func (c *advertCapture) snapshot() []capturedAdvert {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got)
}

// stop ends the capture (idempotent) and returns what it saw.
func (c *advertCapture) stop() []capturedAdvert {
	select {
	case <-c.quit:
	default:
		close(c.quit)
		<-c.done
		unix.Close(c.fd)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got)
}

func countFrom(adverts []capturedAdvert, src netip.Addr) int {
	n := 0
	for _, a := range adverts {
		if a.src == src {
			n++
		}
	}
	return n
}

// checkAdvertGaps asserts that src advertised vrid throughout [from, to]
// with no gap of 3 intervals or more (what a backup would take as the
// master's death), and logs the largest gap.
func checkAdvertGaps(t *testing.T, adverts []capturedAdvert, src netip.Addr, vrid uint8, interval time.Duration, from, to time.Time) {
	t.Helper()
	var times []time.Time
	for _, a := range adverts {
		if a.src == src && a.vrid == vrid && !a.at.Before(from) && !a.at.After(to) {
			if a.ttl != 255 {
				t.Errorf("advert from %s with TTL %d", src, a.ttl)
			}
			times = append(times, a.at)
		}
	}
	if len(times) < 2 {
		t.Fatalf("captured %d adverts from %s vrid %d in %v, want about %d", len(times), src, vrid, to.Sub(from), to.Sub(from)/interval)
	}
	// Gaps include both window edges: silence at the start or end counts.
	edges := append([]time.Time{from}, times...)
	edges = append(edges, to)
	var worst time.Duration
	for i := 1; i < len(edges); i++ {
		worst = max(worst, edges[i].Sub(edges[i-1]))
	}
	t.Logf("%d adverts from %s vrid %d in %v; largest gap %v (interval %v)", len(times), src, vrid, to.Sub(from).Round(time.Millisecond), worst, interval)
	if worst >= 3*interval {
		t.Errorf("largest gap between adverts from %s: %v, want < 3 intervals (%v)", src, worst, 3*interval)
	}
}
