package netlab

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Netem is an impairment of the VRRP frames a node sends, in tc-netem(8)'s
// terms. The lab kernel has no sch_netem (CONFIG_NET_SCH_NETEM is unset and
// there are no modules to load), so Lab.Netem emulates it: the same loss,
// delay, jitter, reordering and duplication, drawn per frame.
type Netem struct {
	// Loss is the share of frames dropped ("loss 10%" is 0.10).
	Loss float64
	// Delay holds every frame back this long ("delay 20ms").
	Delay time.Duration
	// Jitter spreads the delay uniformly over Delay±Jitter ("delay 20ms
	// 10ms"), as netem does without a distribution table. Frames whose
	// delays cross overtake each other, as in netem.
	Jitter time.Duration
	// Reorder, with Delay, sends this share of frames at once and delays
	// the rest ("delay 10ms reorder 25%", netem's gap 1). netem's
	// correlation is not emulated: every draw is independent.
	Reorder float64
	// Duplicate is the share of frames sent twice ("duplicate 10%").
	Duplicate float64
	// Seed, when non-zero, replaces the random draws with draws keyed by
	// (Seed, node, advert slot): two labs impaired with the same Seed and
	// Slot lose, delay and duplicate the adverts of the same slots, so two
	// VRRP implementations can be compared under the same impairment
	// rather than under two samples of it. A frame's slot counts Slot
	// periods from the node's previous frame (rounded), so clock drift
	// between the labs does not shift the pattern.
	Seed uint64
	// Slot is the advert interval of the impaired traffic; needed with
	// Seed.
	Slot time.Duration
}

// String is the spec in tc-netem syntax ("loss 30%", "delay 20ms 10ms").
func (s Netem) String() string {
	pct := func(p float64) string { return strconv.FormatFloat(p*100, 'f', -1, 64) + "%" }
	var f []string
	if s.Loss > 0 {
		f = append(f, "loss "+pct(s.Loss))
	}
	if s.Delay > 0 || s.Jitter > 0 {
		d := "delay " + s.Delay.String()
		if s.Jitter > 0 {
			d += " " + s.Jitter.String()
		}
		f = append(f, d)
	}
	if s.Reorder > 0 {
		f = append(f, "reorder "+pct(s.Reorder))
	}
	if s.Duplicate > 0 {
		f = append(f, "duplicate "+pct(s.Duplicate))
	}
	if len(f) == 0 {
		return "none"
	}
	return strings.Join(f, " ")
}

func (s Netem) validate() error {
	for _, p := range []float64{s.Loss, s.Reorder, s.Duplicate} {
		if p < 0 || p > 1 || math.IsNaN(p) {
			return fmt.Errorf("share %v out of 0..1", p)
		}
	}
	switch {
	case s.Delay < 0 || s.Jitter < 0:
		return errors.New("negative delay")
	case s.Reorder > 0 && s.Delay == 0:
		return errors.New("reordering needs a delay (as in netem)")
	case s.Seed != 0 && s.Slot <= 0:
		return errors.New("a Seed needs a Slot")
	}
	return nil
}

// ImpairStats counts what an Impairment did to the frames it saw.
type ImpairStats struct {
	Frames     int // VRRP frames the node sent
	Lost       int
	Duplicated int   // frames sent twice
	Errors     int   // failed sends
	FirstErr   error // the first failed send
}

// Impairment is a Netem applied to one node; Remove (or the test's
// cleanup) ends it.
type Impairment struct {
	Node *Node
	Spec Netem

	bridge *Node
	table  string
	recv   *os.File
	done   chan struct{} // the reader has returned

	mu        sync.Mutex
	active    bool // the drop rule is in place: forward what is read
	closed    bool
	send      []int // one packet socket per other bridge port
	stats     ImpairStats
	delivered []time.Time
	// The slot of the node's previous frame, with Seed.
	lastAt   time.Time
	lastSlot int64
	inSlot   int64
}

// Netem impairs the VRRP frames (IPv4 protocol 112 and IPv6 next header
// 112) that n sends on eth0, both multicast and unicast; other traffic is
// not touched. A veth delivers what n's eth0 sends straight to n's port on
// the lab bridge, so n's egress is impaired at that port's ingress, inside
// the bridge namespace: a packet socket there sees each frame before an
// nftables netdev rule drops it from the bridge, and the frame is then
// lost, delayed or duplicated per spec and sent out of every other bridge
// port, towards the other nodes and the client. (The emulation impairs
// VRRP only: frames leaving a veth may carry checksums still to be filled
// in, which a copy sent on cannot.) Impairing both directions between two
// nodes takes two calls. t.Cleanup removes the impairment.
func (l *Lab) Netem(t testing.TB, n *Node, spec Netem) *Impairment {
	t.Helper()
	if err := spec.validate(); err != nil {
		t.Fatalf("Netem %s %q: %v", n, spec, err)
	}
	im, err := l.startNetem(n, spec)
	if err != nil {
		t.Fatalf("Netem %s %q: %v", n, spec, err)
	}
	t.Cleanup(func() {
		if err := im.Remove(); err != nil {
			t.Errorf("Netem %s cleanup: %v", n, err)
		}
	})
	return im
}

func (l *Lab) startNetem(n *Node, spec Netem) (*Impairment, error) {
	// n's eth0 names its veth peer (IFLA_LINK): the bridge port.
	var port int
	err := n.withHandle(func(h *netlink.Handle) error {
		link, err := h.LinkByName("eth0")
		if err != nil {
			return err
		}
		port = link.Attrs().ParentIndex
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: eth0: %w", n, err)
	}
	bridge := &Node{Name: "bridge", NS: l.Bridge}
	var portName string
	var others []int
	err = bridge.withHandle(func(h *netlink.Handle) error {
		br, err := h.LinkByName(bridgeName)
		if err != nil {
			return err
		}
		links, err := h.LinkList()
		if err != nil {
			return err
		}
		for _, link := range links {
			a := link.Attrs()
			switch {
			case a.MasterIndex != br.Attrs().Index:
			case a.Index == port:
				portName = a.Name
			default:
				others = append(others, a.Index)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bridge ports: %w", err)
	}
	if portName == "" {
		return nil, fmt.Errorf("%s: no bridge port with index %d", n, port)
	}

	im := &Impairment{Node: n, Spec: spec, bridge: bridge, table: "hwt_netem_" + portName, done: make(chan struct{})}
	err = bridge.Do(func() error {
		fd, err := packetSocket(port, unix.ETH_P_ALL, true)
		if err != nil {
			return err
		}
		im.recv = os.NewFile(uintptr(fd), "netem "+portName) // non-blocking: Close wakes a Read
		for _, o := range others {
			fd, err := packetSocket(o, 0, false)
			if err != nil {
				return err
			}
			im.send = append(im.send, fd)
		}
		return nil
	})
	if err != nil {
		im.closeSockets()
		return nil, err
	}
	go im.read()
	// Frames read before the rule is in place also crossed the bridge:
	// the reader drops them until active.
	if err := bridge.nft(fmt.Sprintf(`add table netdev %[1]s
add chain netdev %[1]s in { type filter hook ingress device %[2]s priority 0; policy accept; }
add rule netdev %[1]s in ip protocol 112 counter drop
add rule netdev %[1]s in ip6 nexthdr 112 counter drop
`, im.table, portName)); err != nil {
		im.closeSockets()
		<-im.done
		return nil, err
	}
	im.mu.Lock()
	im.active = true
	im.mu.Unlock()
	return im, nil
}

// packetSocket opens a raw packet socket on ifindex: a receiving one
// (protocol ETH_P_ALL, frames the port receives only, non-blocking), or a
// sending one (protocol 0 receives nothing).
func packetSocket(ifindex int, proto uint16, recv bool) (int, error) {
	typ := unix.SOCK_RAW | unix.SOCK_CLOEXEC
	if recv {
		typ |= unix.SOCK_NONBLOCK
	}
	be := proto<<8 | proto>>8
	fd, err := unix.Socket(unix.AF_PACKET, typ, int(be))
	if err != nil {
		return -1, fmt.Errorf("packet socket: %w", err)
	}
	if recv {
		// Frames sent out of this port (another Impairment's output,
		// the bridge's flooding) are not the node's.
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("PACKET_IGNORE_OUTGOING: %w", err)
		}
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: be, Ifindex: ifindex}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("bind packet socket to ifindex %d: %w", ifindex, err)
	}
	return fd, nil
}

func (im *Impairment) read() {
	defer close(im.done)
	buf := make([]byte, 1<<16)
	for {
		n, err := im.recv.Read(buf)
		if err != nil {
			return // closed by Remove
		}
		if isVRRP(buf[:n]) {
			im.handle(time.Now(), buf[:n])
		}
	}
}

// isVRRP reports whether an Ethernet frame is an IPv4 or IPv6 VRRP packet.
func isVRRP(f []byte) bool {
	switch {
	case len(f) >= 14+20 && f[12] == 0x08 && f[13] == 0x00:
		return f[14+9] == 112
	case len(f) >= 14+40 && f[12] == 0x86 && f[13] == 0xdd:
		return f[14+6] == 112
	}
	return false
}

// Draw purposes: each decision about a frame has its own draw.
const (
	drawLoss = iota + 1
	drawDuplicate
	drawReorder
	drawJitter
)

func (im *Impairment) handle(now time.Time, frame []byte) {
	im.mu.Lock()
	defer im.mu.Unlock()
	if !im.active || im.closed {
		return
	}
	s := im.Spec
	im.stats.Frames++
	draw := im.drawer(now)
	if draw(drawLoss) < s.Loss {
		im.stats.Lost++
		return
	}
	copies := 1
	if draw(drawDuplicate) < s.Duplicate {
		copies = 2
		im.stats.Duplicated++
	}
	var delay time.Duration
	if (s.Delay > 0 || s.Jitter > 0) && (s.Reorder == 0 || draw(drawReorder) >= s.Reorder) {
		delay = s.Delay + time.Duration((2*draw(drawJitter)-1)*float64(s.Jitter))
	}
	if delay <= 0 {
		im.sendLocked(frame, copies)
		return
	}
	frame = append([]byte(nil), frame...) // buf is reused by the next read
	time.AfterFunc(delay, func() {
		im.mu.Lock()
		defer im.mu.Unlock()
		if !im.closed {
			im.sendLocked(frame, copies)
		}
	})
}

// drawer returns the frame's draws in [0,1): random, or keyed by its slot
// with Seed.
func (im *Impairment) drawer(now time.Time) func(purpose uint64) float64 {
	if im.Spec.Seed == 0 {
		return func(uint64) float64 { return rand.Float64() }
	}
	if im.lastAt.IsZero() {
		im.lastSlot, im.inSlot = 0, 0
	} else if steps := int64(math.Round(float64(now.Sub(im.lastAt)) / float64(im.Spec.Slot))); steps == 0 {
		im.inSlot++ // a second frame in the slot (an immediate reply) draws on its own
	} else {
		im.lastSlot, im.inSlot = im.lastSlot+steps, 0
	}
	im.lastAt = now
	key := mix64(mix64(mix64(im.Spec.Seed^uint64(im.Node.Index))^uint64(im.lastSlot)) ^ uint64(im.inSlot))
	return func(purpose uint64) float64 { return float64(mix64(key^purpose)>>11) / (1 << 53) }
}

// mix64 is splitmix64's finalizer: a well-spread hash of x.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// sendLocked sends frame out of every other bridge port, copies times.
func (im *Impairment) sendLocked(frame []byte, copies int) {
	im.delivered = append(im.delivered, time.Now())
	for range copies {
		for _, fd := range im.send {
			if _, err := unix.Write(fd, frame); err != nil {
				im.stats.Errors++
				if im.stats.FirstErr == nil {
					im.stats.FirstErr = err
				}
			}
		}
	}
}

// Stats returns the counts so far.
func (im *Impairment) Stats() ImpairStats {
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.stats
}

// Delivered returns when each frame that was not lost went out to the
// other nodes (a duplicate's second copy not counted), oldest first; with
// Jitter the order is that of sending, not of capture.
func (im *Impairment) Delivered() []time.Time {
	im.mu.Lock()
	defer im.mu.Unlock()
	return append([]time.Time(nil), im.delivered...)
}

// Remove ends the impairment: frames still held back are dropped (as when
// a netem qdisc is deleted) and the node's VRRP frames cross the bridge
// again. Removing twice is not an error.
func (im *Impairment) Remove() error {
	im.mu.Lock()
	if im.closed {
		im.mu.Unlock()
		return nil
	}
	im.closed = true
	im.mu.Unlock()
	err := im.bridge.nft("delete table netdev " + im.table + "\n")
	if err != nil && strings.Contains(err.Error(), "No such file") {
		err = nil // the lab is already gone
	}
	im.closeSockets()
	<-im.done
	return err
}

func (im *Impairment) closeSockets() {
	if im.recv != nil {
		im.recv.Close()
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	im.closed = true
	for _, fd := range im.send {
		unix.Close(fd)
	}
	im.send = nil
}
