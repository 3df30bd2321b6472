package e2e

// End-to-end tests of the first-party plugins (issue 7) with real nginx:
// the process check moving the VIP when nginx dies, the split-brain guard,
// the zero-master hazard of the old peer script, and notify actions.

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdlayher/packet"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"

	"github.com/hawatch/hawatch/internal/netlab"
)

// pluginDecl renders a plugin block; user may be empty (run as root).
func pluginDecl(name, user string) string {
	s := fmt.Sprintf("plugin %q {\n  command = %q\n", name, "hawatch-"+name)
	if user != "" {
		s += fmt.Sprintf("  user    = %q\n", user)
	}
	return s + "}\n"
}

// nginxCheck renders the process check that follows one node's own nginx
// by its pid file (the lab's nodes share one PID namespace, so a name match
// would see the other node's nginx too).
func nginxCheck(pidfile string) string {
	return fmt.Sprintf(`check "nginx" {
  plugin = "process"
  config {
    pidfile = %q
  }
}
`, pidfile)
}

// guardCheck renders the split-brain guard looking at the peer's nginx.
func guardCheck(peer *netlab.Node) string {
	return fmt.Sprintf(`check "split_brain" {
  plugin   = "splitbrain"
  interval = "200ms"
  config {
    interface = "eth0"
    vip       = "198.51.100.50"
    peer_app  = ["%s:80"]
  }
}
`, peer.Addr4)
}

// openToNobody makes path's directories traversable and readable by other
// users, up to the temp root: t.TempDir is 0700, while a real pid file
// (/run/nginx.pid) is readable by the unprivileged process plugin.
func openToNobody(t *testing.T, dir string) {
	t.Helper()
	root := filepath.Clean(os.TempDir())
	for d := filepath.Clean(dir); strings.HasPrefix(d, root+string(filepath.Separator)); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// restartNginx starts nginx again in node with the config, pid file and
// logs of ng (netlab.StartNginx would pick a new directory, and the
// process check is configured with ng's pid file).
func restartNginx(t *testing.T, node *netlab.Node, ng *netlab.Nginx) *netlab.Nginx {
	t.Helper()
	next := &netlab.Nginx{Dir: ng.Dir, PIDFile: ng.PIDFile, Body: ng.Body}
	next.Proc = node.Start(t, "nginx", "-p", ng.Dir, "-e", filepath.Join(ng.Dir, "logs/error.log"), "-c", filepath.Join(ng.Dir, "nginx.conf"))
	next.Proc.Name = node.Name + ":nginx"
	t.Cleanup(next.KillAll)
	addr := net.JoinHostPort(node.Addr4.String(), "80")
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := node.Do(func() error {
			c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
			if err == nil {
				c.Close()
			}
			return err
		})
		if err == nil {
			return next
		}
		if next.Proc.Exited() || time.Now().After(deadline) {
			t.Fatalf("%s: restarted nginx not answering on %s: %v\n%s", node.Name, addr, err, next.Proc.Output())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitState polls the daemon's status until the first instance is in
// state want.
func waitState(t *testing.T, d *daemon, want string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	last := "?"
	for time.Since(start) < timeout {
		if st, err := d.status(); err == nil && len(st.Instances) > 0 {
			last = st.Instances[0].State
			if last == want {
				return time.Since(start)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: state %s, want %s within %v", d.node.Name, last, want, timeout)
	return 0
}

// waitFor polls cond every 10 ms until it holds or timeout passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// echoReply is one ICMP echo reply seen by the client, with the Ethernet
// source that sent it (which node answered for the VIP).
type echoReply struct {
	at  time.Time
	seq int
	mac string
}

// macPinger sends ICMP echo requests from the client to a VIP every few
// milliseconds and records every reply with the MAC it came from: the
// ICMP socket sends (the kernel resolves the VIP through the client's
// neighbour table, as any client would), an AF_PACKET socket on the
// client's eth0 sees the replies with their Ethernet header.
type macPinger struct {
	dst netip.Addr
	id  int

	mu      sync.Mutex
	replies []echoReply

	icmpConn *icmp.PacketConn
	pktConn  *packet.Conn
	stop     chan struct{}
	wg       sync.WaitGroup
}

func startMACPinger(t *testing.T, client *netlab.Node, dst netip.Addr, every time.Duration) *macPinger {
	t.Helper()
	p := &macPinger{dst: dst, id: rand.IntN(0xffff), stop: make(chan struct{})}
	err := client.Do(func() error {
		var err error
		if p.icmpConn, err = icmp.ListenPacket("ip4:icmp", "0.0.0.0"); err != nil {
			return fmt.Errorf("icmp socket: %w", err)
		}
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		if p.pktConn, err = packet.Listen(ifi, packet.Raw, 0x0800, nil); err != nil {
			return fmt.Errorf("packet socket: %w", err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("macPinger: %v", err)
	}
	p.wg.Add(3)
	go p.send(every)
	go p.drain()
	go p.receive()
	t.Cleanup(p.close)
	return p
}

func (p *macPinger) close() {
	select {
	case <-p.stop:
		return
	default:
	}
	close(p.stop)
	p.icmpConn.Close()
	p.pktConn.Close()
	p.wg.Wait()
}

func (p *macPinger) send(every time.Duration) {
	defer p.wg.Done()
	tick := time.NewTicker(every)
	defer tick.Stop()
	dst := &net.IPAddr{IP: p.dst.AsSlice()}
	for seq := 0; ; seq++ {
		msg := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: p.id, Seq: seq & 0xffff, Data: []byte("hawatch-e2e")}}
		if b, err := msg.Marshal(nil); err == nil {
			_, _ = p.icmpConn.WriteTo(b, dst) // a send error is a missing reply
		}
		select {
		case <-p.stop:
			return
		case <-tick.C:
		}
	}
}

// drain empties the ICMP socket's queue (replies are read on the packet
// socket, which carries the MAC).
func (p *macPinger) drain() {
	defer p.wg.Done()
	b := make([]byte, 1500)
	for {
		if _, _, err := p.icmpConn.ReadFrom(b); err != nil {
			return
		}
	}
}

func (p *macPinger) receive() {
	defer p.wg.Done()
	b := make([]byte, 1600)
	for {
		n, _, err := p.pktConn.ReadFrom(b)
		if err != nil {
			return
		}
		at := time.Now()
		if r, ok := p.parse(b[:n]); ok {
			r.at = at
			p.mu.Lock()
			p.replies = append(p.replies, r)
			p.mu.Unlock()
		}
	}
}

// parse picks our echo replies from the VIP out of raw Ethernet frames.
func (p *macPinger) parse(f []byte) (echoReply, bool) {
	const eth = 14
	if len(f) < eth+20 || binary.BigEndian.Uint16(f[12:14]) != 0x0800 {
		return echoReply{}, false
	}
	ihl := int(f[eth]&0x0f) * 4
	if f[eth+9] != 1 || len(f) < eth+ihl+8 {
		return echoReply{}, false
	}
	src, _ := netip.AddrFromSlice(f[eth+12 : eth+16])
	ic := f[eth+ihl:]
	if src != p.dst || ic[0] != 0 || int(binary.BigEndian.Uint16(ic[4:6])) != p.id {
		return echoReply{}, false
	}
	return echoReply{seq: int(binary.BigEndian.Uint16(ic[6:8])), mac: net.HardwareAddr(f[6:12]).String()}, true
}

// firstFrom returns the first reply from mac received after t.
func (p *macPinger) firstFrom(mac net.HardwareAddr, after time.Time) (echoReply, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.replies {
		if r.mac == mac.String() && r.at.After(after) {
			return r, true
		}
	}
	return echoReply{}, false
}

// lastFrom returns the last reply from mac received before t.
func (p *macPinger) lastFrom(mac net.HardwareAddr, before time.Time) (echoReply, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.replies) - 1; i >= 0; i-- {
		if r := p.replies[i]; r.mac == mac.String() && r.at.Before(before) {
			return r, true
		}
	}
	return echoReply{}, false
}

// waitReplyFrom waits for a reply from mac received after t.
func (p *macPinger) waitReplyFrom(t *testing.T, mac net.HardwareAddr, after time.Time, timeout time.Duration) echoReply {
	t.Helper()
	var r echoReply
	waitFor(t, "an echo reply from "+mac.String(), timeout, func() bool {
		var ok bool
		r, ok = p.firstFrom(mac, after)
		return ok
	})
	return r
}

// macsSince lists the distinct MACs that replied after t.
func (p *macPinger) macsSince(after time.Time) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var macs []string
	for _, r := range p.replies {
		if r.at.After(after) && !slices.Contains(macs, r.mac) {
			macs = append(macs, r.mac)
		}
	}
	return macs
}

func neighMAC(t *testing.T, client *netlab.Node, ip netip.Addr) string {
	t.Helper()
	mac, _, err := client.Neigh(ip)
	if err != nil {
		t.Fatal(err)
	}
	return mac.String()
}

// stateTimes returns the log timestamps (ms precision) of the daemon's
// transitions into state to, in order.
func stateTimes(t *testing.T, d *daemon, to string) []time.Time {
	t.Helper()
	var out []time.Time
	for _, l := range d.logLines("state change") {
		if l["to"] != to {
			continue
		}
		ts, err := time.Parse("2006-01-02T15:04:05.000Z07:00", fmt.Sprint(l["time"]))
		if err != nil {
			t.Fatalf("log time %v: %v", l["time"], err)
		}
		out = append(out, ts)
	}
	return out
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestNginxDeathMovesVIP: nginx dies on the master (graceful stop, and
// SIGKILL of every nginx process) → the process check fails, the master
// goes FAULT and releases the VIP, the backup takes it and the client's
// pings are answered by the backup's MAC. nginx back → the VIP comes back.
// The time from nginx's exit to the client's first reply from lb2 is
// logged per round (docs/benchmarks.md "nginx failover").
func TestNginxDeathMovesVIP(t *testing.T) {
	needRoot(t)
	for _, tc := range []struct {
		name   string
		inst   instance
		rounds int // each round: one stop and one SIGKILL
	}{
		{"v3-100ms", instance{vrid: 61, version: 3, interval: "100ms", vips: []string{"198.51.100.50/24"}}, 3},
		{"v2-1s", instance{vrid: 62, version: 2, interval: "1s", auth: "1111", vips: []string{"198.51.100.50/24"}}, 1},
		{"v3-10ms", instance{vrid: 66, version: 3, interval: "10ms", vips: []string{"198.51.100.50/24"}}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lab := netlab.New(t, netlab.Options{Nodes: 2})
			lb1, lb2, client := lab.Nodes[0], lab.Nodes[1], lab.Client
			vip := vipOf(tc.inst)
			interval := intervalOf(tc.inst)
			mdi, skew := rfcTimes(interval, 50)

			ng1 := netlab.StartNginx(t, lb1)
			ng2 := netlab.StartNginx(t, lb2)
			openToNobody(t, ng1.Dir)
			openToNobody(t, ng2.Dir)

			body := func(ng *netlab.Nginx, prio int) string {
				i := tc.inst
				i.prio = prio
				i.extra = "  track \"nginx\" {}\n"
				return pluginDecl("process", "nobody") + nginxCheck(ng.PIDFile) + i.String()
			}
			d2 := startDaemon(t, lb2, body(ng2, 50))
			d1 := startDaemon(t, lb1, body(ng1, 100))
			waitVIP(t, lb1, vip, true, 10*time.Second)
			exactlyOne(t, vip, lb1, 3*interval, lb1, lb2)
			waitState(t, d2, "BACKUP", 5*time.Second)
			if st := d1.mustStatus(); len(st.Checks) != 1 || st.Checks[0].Status != "ok" {
				t.Fatalf("lb1 nginx check not ok: %+v", st.Checks)
			}
			nobody, err := user.Lookup("nobody")
			if err != nil {
				t.Fatal(err)
			}
			if uid := pluginUID(t, d1, "hawatch-process"); strconv.Itoa(uid) != nobody.Uid {
				t.Errorf("lb1's process plugin runs as uid %d, want nobody (%s)", uid, nobody.Uid)
			}

			ping := startMACPinger(t, client, vip.Addr(), 2*time.Millisecond)
			ping.waitReplyFrom(t, lb1.MAC, time.Now(), 3*time.Second)

			var took, detected []time.Duration
			for round := range 2 * tc.rounds {
				how := "stop"
				if round%2 == 1 {
					how = "SIGKILL"
				}
				exited := make(chan time.Time, 1)
				go func(done <-chan struct{}) {
					<-done
					exited <- time.Now()
				}(ng1.Proc.Done())
				signalled := time.Now()
				if how == "stop" {
					if err := ng1.Stop(); err != nil {
						t.Fatalf("nginx stop: %v", err)
					}
				} else {
					ng1.KillAll()
				}
				death := <-exited

				waitState(t, d1, "FAULT", 2*time.Second)
				waitVIP(t, lb1, vip, false, time.Second)
				waitVIP(t, lb2, vip, true, mdi+loadSlack)
				r := ping.waitReplyFrom(t, lb2.MAC, death, mdi+time.Second)
				last, _ := ping.lastFrom(lb1.MAC, r.at)
				d := r.at.Sub(death)
				took = append(took, d)
				// Where the time goes (daemon log times, ms precision).
				faultAt := stateTimes(t, d1, "FAULT")
				masterAt := stateTimes(t, d2, "MASTER")
				detect := faultAt[len(faultAt)-1].Sub(death)
				detected = append(detected, detect)
				t.Logf("round %d (%s): nginx exit %v after the signal; lb1 FAULT +%v, lb2 MASTER +%v, first reply from lb2 +%v after the exit (last reply from lb1 %+v; Skew_Time %v)",
					round, how, death.Sub(signalled).Round(time.Microsecond), detect.Round(time.Millisecond),
					masterAt[len(masterAt)-1].Sub(death).Round(time.Millisecond), d.Round(time.Microsecond),
					last.at.Sub(death).Round(time.Microsecond), skew)
				if d > skew+interval+loadSlack {
					t.Errorf("round %d (%s): client answered by lb2 only %v after nginx died (Skew_Time %v)", round, how, d, skew)
				}
				exactlyOne(t, vip, lb2, 3*interval, lb1, lb2)
				if got := neighMAC(t, client, vip.Addr()); got != lb2.MAC.String() {
					t.Errorf("round %d: client neighbour entry for the VIP = %s, want lb2's %s", round, got, lb2.MAC)
				}
				if st := d1.mustStatus(); st.Checks[0].Status != "fail" {
					t.Errorf("round %d: lb1 nginx check %s after nginx died, want fail: %+v", round, st.Checks[0].Status, st.Checks[0])
				}

				// nginx back: lb1 leaves FAULT and preempts lb2.
				back := time.Now()
				ng1 = restartNginx(t, lb1, ng1)
				waitVIP(t, lb1, vip, true, mdi+2*time.Second)
				waitVIP(t, lb2, vip, false, time.Second)
				waitState(t, d1, "MASTER", time.Second)
				r = ping.waitReplyFrom(t, lb1.MAC, back, 3*time.Second)
				t.Logf("round %d: nginx restarted, client answered by lb1 again after %v", round, r.at.Sub(back).Round(time.Millisecond))
				exactlyOne(t, vip, lb1, 3*interval, lb1, lb2)
			}
			if n := d1.transitions("FAULT"); n != 2*tc.rounds {
				t.Errorf("lb1 went FAULT %d times, want %d", n, 2*tc.rounds)
			}
			t.Logf("%s: nginx exit → first client reply from lb2: p50 %v, max %v over %d runs %v", tc.name, median(took), slices.Max(took), len(took), took)
			t.Logf("%s: nginx exit → lb1 FAULT logged: p50 %v, max %v (ms log precision) %v", tc.name, median(detected), slices.Max(detected), detected)
		})
	}
}

// splitBrainPair starts lb1 (100) and lb2 (50), both running nginx and the
// guard with `effect = "yield"`, and waits for lb1 to be the sole master.
func splitBrainPair(t *testing.T, lab *netlab.Lab, base instance) (*daemon, *daemon, *netlab.Nginx, *netlab.Nginx) {
	t.Helper()
	lb1, lb2 := lab.Nodes[0], lab.Nodes[1]
	ng1 := netlab.StartNginx(t, lb1)
	ng2 := netlab.StartNginx(t, lb2)
	openToNobody(t, ng1.Dir)
	openToNobody(t, ng2.Dir)
	body := func(ng *netlab.Nginx, peer *netlab.Node, prio int) string {
		i := base
		i.prio = prio
		i.extra = "  track \"nginx\" {}\n  track \"split_brain\" { effect = \"yield\" }\n"
		return pluginDecl("process", "nobody") + pluginDecl("splitbrain", "") +
			nginxCheck(ng.PIDFile) + guardCheck(peer) + i.String()
	}
	d2 := startDaemon(t, lb2, body(ng2, lb1, 50))
	d1 := startDaemon(t, lb1, body(ng1, lb2, 100))
	vip := vipOf(base)
	waitVIP(t, lb1, vip, true, 10*time.Second)
	waitState(t, d1, "MASTER", 5*time.Second)
	waitState(t, d2, "BACKUP", 5*time.Second)
	exactlyOne(t, vip, lb1, time.Second, lb1, lb2)
	return d1, d2, ng1, ng2
}

// TestSplitBrainGuardYields: VRRP is dropped both ways while both nginx
// run. lb2 stops hearing lb1 and becomes master too; the guard sees the
// other owner and lb2, the lower priority, yields within the guard's
// detection time. lb1 keeps the VIP for 30 s without flapping, and after
// the drop is removed there is still one master, lb1, with the client's
// neighbour entry pointing at it.
func TestSplitBrainGuardYields(t *testing.T) {
	needRoot(t)
	if testing.Short() {
		t.Skip("30 s stability run skipped in -short")
	}
	lab := netlab.New(t, netlab.Options{Nodes: 2})
	lb1, lb2, client := lab.Nodes[0], lab.Nodes[1], lab.Client
	base := instance{vrid: 63, version: 3, interval: "100ms", vips: []string{"198.51.100.50/24"}}
	vip := vipOf(base)
	mdi, _ := rfcTimes(100*time.Millisecond, 50)
	d1, d2, _, _ := splitBrainPair(t, lab, base)
	ping := startMACPinger(t, client, vip.Addr(), 10*time.Millisecond)
	ping.waitReplyFrom(t, lb1.MAC, time.Now(), 3*time.Second)

	m1, m2 := d1.transitions("MASTER"), d2.transitions("MASTER")
	b1, b2 := d1.transitions("BACKUP"), d2.transitions("BACKUP")

	blocked := time.Now()
	lab.BlockVRRP(t, lb1, lb2)
	lab.BlockVRRP(t, lb2, lb1)

	// lb2 no longer hears lb1: it becomes master after Master_Down_Interval.
	waitFor(t, "lb2 to become master after the VRRP drop", mdi+2*time.Second, func() bool { return d2.transitions("MASTER") > m2 })
	masterAt := time.Now()
	t.Logf("lb2 became master %v after the drop (Master_Down_Interval %v)", masterAt.Sub(blocked).Round(time.Millisecond), mdi)
	// The guard (200 ms interval, ARP window within it) on lb2 sees lb1's MAC
	// and lb2 yields: detection is one or two guard intervals.
	detect := 2*200*time.Millisecond + loadSlack
	waitFor(t, "lb2 to yield", detect+time.Second, func() bool { return d2.transitions("BACKUP") > b2 })
	waitVIP(t, lb2, vip, false, detect)
	t.Logf("lb2 yielded %v after becoming master", time.Since(masterAt).Round(time.Millisecond))
	if !hasVIP(t, lb1, vip) {
		t.Fatal("lb1 lost the VIP during the split brain: zero masters")
	}
	st2 := d2.mustStatus()
	t.Logf("lb2 during the split: state %s holds %v ledger %+v", st2.Instances[0].State, st2.Instances[0].Holds, st2.Instances[0].Ledger)
	if st2.Instances[0].State != "BACKUP" {
		t.Errorf("lb2 state %s while yielding, want BACKUP", st2.Instances[0].State)
	}

	// 30 s of split VRRP: lb1 alone holds the VIP, nobody flaps.
	y2 := d2.transitions("BACKUP")
	ym2 := d2.transitions("MASTER")
	exactlyOne(t, vip, lb1, 30*time.Second, lb1, lb2)
	if n := d2.transitions("MASTER") - ym2; n != 0 {
		t.Errorf("lb2 became master %d more times during 30 s of split VRRP", n)
	}
	if n := d2.transitions("BACKUP") - y2; n != 0 {
		t.Errorf("lb2 made %d more BACKUP transitions during 30 s of split VRRP", n)
	}
	if n := d1.transitions("MASTER") + d1.transitions("BACKUP") - m1 - b1; n != 0 {
		t.Errorf("lb1 made %d transitions during the split brain", n)
	}
	if drops, err := lb1.VRRPDrops(); err != nil || drops == 0 {
		t.Errorf("lb1 dropped %d VRRP packets (err %v): the block did not work", drops, err)
	}
	// The client is served by lb1 only, from shortly after the yield on.
	if macs := ping.macsSince(time.Now().Add(-25 * time.Second)); len(macs) != 1 || macs[0] != lb1.MAC.String() {
		t.Errorf("client replies during the split came from %v, want only lb1 %s", macs, lb1.MAC)
	}

	// Heal: no human step, one master (lb1).
	if err := lab.UnblockVRRP(lb1, lb2); err != nil {
		t.Fatal(err)
	}
	if err := lab.UnblockVRRP(lb2, lb1); err != nil {
		t.Fatal(err)
	}
	healed := time.Now()
	exactlyOne(t, vip, lb1, 3*time.Second, lb1, lb2)
	waitState(t, d1, "MASTER", time.Second)
	waitState(t, d2, "BACKUP", time.Second)
	st2 = d2.mustStatus()
	if st2.Instances[0].Stats.AdvertsReceived == 0 {
		t.Error("lb2 counts no adverts received")
	}
	t.Logf("lb2 after the heal: holds %v", st2.Instances[0].Holds)
	if got := neighMAC(t, client, vip.Addr()); got != lb1.MAC.String() {
		t.Errorf("client neighbour entry for the VIP = %s after the heal, want lb1's %s", got, lb1.MAC)
	}
	if macs := ping.macsSince(healed); len(macs) != 1 || macs[0] != lb1.MAC.String() {
		t.Errorf("client replies after the heal came from %v, want only lb1 %s", macs, lb1.MAC)
	}
	// After the heal lb2 must still be able to take over: the yield hold
	// must not outlive the split brain.
	stopped := time.Now()
	d1.stop()
	waitVIP(t, lb2, vip, true, 2*time.Second)
	t.Logf("lb2 took over %v after lb1's SIGTERM (after the split brain)", time.Since(stopped).Round(time.Millisecond))
}

// TestZeroMasterHazard: the old peer script stopped the backup whenever
// the master's app port answered, so a master whose VRRP daemon stopped
// while nginx kept listening left nobody with the VIP. With the guard, the
// backup takes over and keeps the VIP: a live peer_app without another MAC
// claiming the VIP is no second master.
func TestZeroMasterHazard(t *testing.T) {
	needRoot(t)
	lab := netlab.New(t, netlab.Options{Nodes: 2})
	lb1, lb2, client := lab.Nodes[0], lab.Nodes[1], lab.Client
	base := instance{vrid: 64, version: 3, interval: "100ms", vips: []string{"198.51.100.50/24"}}
	vip := vipOf(base)
	_, skew := rfcTimes(100*time.Millisecond, 50)
	d1, d2, _, _ := splitBrainPair(t, lab, base)
	ping := startMACPinger(t, client, vip.Addr(), 10*time.Millisecond)
	ping.waitReplyFrom(t, lb1.MAC, time.Now(), 3*time.Second)

	// (lb2 may have been master for a moment at startup, before lb1 came
	// up: count from here.)
	b2 := d2.transitions("BACKUP")
	stopped := time.Now()
	d1.stop()
	if hasVIP(t, lb1, vip) {
		t.Fatal("lb1 kept the VIP after SIGTERM")
	}
	// lb1's nginx still answers: exactly what made the old script stop lb2.
	if err := lb2.Do(func() error {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(lb1.Addr4.String(), "80"), time.Second)
		if err == nil {
			c.Close()
		}
		return err
	}); err != nil {
		t.Fatalf("lb1's nginx is not listening: %v", err)
	}
	waitVIP(t, lb2, vip, true, skew+time.Second)
	t.Logf("lb2 took over %v after lb1's SIGTERM", time.Since(stopped).Round(time.Millisecond))
	m2 := d2.transitions("MASTER")
	exactlyOne(t, vip, lb2, 5*time.Second, lb1, lb2)
	if n := d2.transitions("BACKUP") - b2; n != 0 {
		t.Errorf("lb2 went back to BACKUP %d times after taking over", n)
	}
	if n := d2.transitions("MASTER") - m2; n != 0 {
		t.Errorf("lb2 made %d more MASTER transitions", n)
	}
	st := d2.mustStatus()
	if st.Instances[0].State != "MASTER" || len(st.Instances[0].Holds) != 0 {
		t.Errorf("lb2 state %s holds %v, want MASTER and no holds", st.Instances[0].State, st.Instances[0].Holds)
	}
	for _, c := range st.Checks {
		if c.Name == "split_brain" && c.Status != "ok" {
			t.Errorf("lb2 guard %s (%s) with nobody else holding the VIP", c.Status, c.Reason)
		}
	}
	ping.waitReplyFrom(t, lb2.MAC, stopped, time.Second)
	if got := neighMAC(t, client, vip.Addr()); got != lb2.MAC.String() {
		t.Errorf("client neighbour entry = %s, want lb2's %s", got, lb2.MAC)
	}
}

// mail is one message received by the in-test SMTP server.
type mail struct {
	helo, from string
	to         []string
	data       string
}

// serveSMTP runs a minimal SMTP server on l (one goroutine per
// connection) until l is closed, sending each message on out.
func serveSMTP(l net.Listener, out chan<- mail) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go smtpSession(c, out)
	}
}

func smtpSession(c net.Conn, out chan<- mail) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	reply := func(s string) { fmt.Fprintf(c, "%s\r\n", s) }
	reply("220 e2e.test ESMTP")
	var m mail
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		arg := strings.TrimSpace(strings.TrimPrefix(line, line[:len(verb)]))
		switch verb {
		case "EHLO", "HELO":
			m = mail{helo: arg}
			reply("250 e2e.test")
		case "MAIL":
			m.from = arg
			reply("250 ok")
		case "RCPT":
			m.to = append(m.to, arg)
			reply("250 ok")
		case "DATA":
			reply("354 go ahead")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" || l == ".\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, "."))
			}
			m.data = b.String()
			out <- m
			reply("250 queued")
		case "RSET":
			m = mail{helo: m.helo}
			reply("250 ok")
		case "NOOP":
			reply("250 ok")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 not implemented")
		}
	}
}

// webhookEvent is the JSON body the notify plugin POSTs.
type webhookEvent struct {
	Event    string `json:"event"`
	Node     string `json:"node"`
	Instance string `json:"instance"`
	From     string `json:"from"`
	To       string `json:"to"`
	Priority int    `json:"priority"`
	Reason   string `json:"reason"`
	At       string `json:"at"`
}

// controlPost calls a mutating control endpoint of the daemon.
func controlPost(t *testing.T, d *daemon, path, body string) {
	t.Helper()
	c := http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", d.socket)
		},
	}}
	resp, err := c.Post("http://hawatch"+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST %s: HTTP %d: %s", path, resp.StatusCode, b)
	}
}

// pluginUID returns the real UID of the daemon's child process named comm
// (comm is cut to 15 bytes by the kernel).
func pluginUID(t *testing.T, d *daemon, comm string) int {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue
		}
		var name string
		ppid, uid := -1, -1
		for _, l := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(l, ":")
			f := strings.Fields(v)
			switch {
			case k == "Name" && len(f) > 0:
				name = f[0]
			case k == "PPid" && len(f) > 0:
				ppid, _ = strconv.Atoi(f[0])
			case k == "Uid" && len(f) > 0:
				uid, _ = strconv.Atoi(f[0])
			}
		}
		if ppid == d.proc.PID() && name == comm {
			return uid
		}
	}
	t.Fatalf("%s: no %s child of the daemon (pid %d)", d.node.Name, comm, d.proc.PID())
	return -1
}

// processGroupAlive reports whether any process is in process group pgid.
func processGroupAlive(pgid int) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may contain spaces.
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" {
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestNotifyActions: an SMTP listener and a webhook receiver inside lb1's
// namespace get one mail and one POST per transition, with instance, old
// and new state; a hanging exec command (it traps TERM) in another action
// is killed with its whole process group at its timeout, while VRRP goes
// on: the instance becomes master on time.
func TestNotifyActions(t *testing.T) {
	needRoot(t)
	lab := netlab.New(t, netlab.Options{Nodes: 1})
	lb1 := lab.Nodes[0]

	mails := make(chan mail, 32)
	hooks := make(chan webhookEvent, 32)
	var smtpL, hookL net.Listener
	if err := lb1.Do(func() error {
		var err error
		if smtpL, err = net.Listen("tcp", net.JoinHostPort(lb1.Addr4.String(), "0")); err != nil {
			return err
		}
		hookL, err = net.Listen("tcp", net.JoinHostPort(lb1.Addr4.String(), "0"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	go serveSMTP(smtpL, mails)
	// The first POST fails with 503: the plugin must retry it.
	var hookMu sync.Mutex
	hookCalls := 0
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hookMu.Lock()
		hookCalls++
		first := hookCalls == 1
		hookMu.Unlock()
		if r.URL.Path != "/hook" || r.Method != http.MethodPost {
			http.Error(w, "wrong path or method", http.StatusNotFound)
			return
		}
		if first {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		var ev webhookEvent
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		hooks <- ev
		w.WriteHeader(http.StatusNoContent)
	})}
	go srv.Serve(hookL)
	t.Cleanup(func() {
		smtpL.Close()
		srv.Close()
	})

	// The hanging command: records its PID (= process group, the plugin
	// starts it as a group leader) and every TERM, then sleeps forever in
	// a loop that survives TERM.
	dir := t.TempDir()
	script := filepath.Join(dir, "hang.sh")
	// Times come from /proc/uptime with builtins only, and the shell waits
	// with the wait builtin, which a trapped signal interrupts at once: in
	// two full runs a run's TERM was never recorded when the trap forked
	// date(1) or waited behind a foreground sleep.
	if err := os.WriteFile(script, []byte(`#!/bin/sh
trap 'read up _ < /proc/uptime; echo "$$ $up" >> "$1/terms"' TERM
read up _ < /proc/uptime
echo "$$ $up" >> "$1/pids"
while :; do sleep 1 & wait $!; done
`), 0o755); err != nil {
		t.Fatal(err)
	}

	inst := instance{vrid: 65, version: 3, interval: "100ms", prio: 100, vips: []string{"198.51.100.50/24"},
		extra: "  notify = [\"ops\", \"hang\"]\n"}
	body := pluginDecl("notify", "") + fmt.Sprintf(`
action "ops" {
  plugin  = "notify"
  timeout = "5s"
  config {
    node = "lb1"
    smtp {
      server          = %q
      from            = "hawatch@lb1"
      to              = ["ops@example.org", "oncall@example.org"]
      helo            = "lb1.e2e"
      connect_timeout = "5s"
    }
    webhook {
      url     = "http://%s/hook"
      retries = 3
      backoff = "50ms"
    }
  }
}

action "hang" {
  plugin  = "notify"
  timeout = "10s"
  config {
    exec {
      command = %q
      args    = [%q]
      timeout = "1s"
      grace   = "500ms"
    }
  }
}
`, smtpL.Addr(), hookL.Addr(), script, dir) + inst.String()

	d := startDaemon(t, lb1, body)
	waitVIP(t, lb1, vipOf(inst), true, 10*time.Second)
	waitState(t, d, "MASTER", time.Second)

	// VRRP did not wait for the hanging command: BACKUP→MASTER came after
	// Master_Down_Interval, although the INIT→BACKUP exec hangs for 1.5 s.
	mdi, _ := rfcTimes(100*time.Millisecond, 100)
	at := func(to string) time.Time {
		ts := stateTimes(t, d, to)
		if len(ts) == 0 {
			t.Fatalf("no transition to %s logged", to)
		}
		return ts[0]
	}
	gap := at("MASTER").Sub(at("BACKUP"))
	t.Logf("INIT→BACKUP to BACKUP→MASTER: %v (Master_Down_Interval %v)", gap, mdi)
	if gap > mdi+loadSlack {
		t.Errorf("became master %v after BACKUP, want about Master_Down_Interval %v: notify delayed VRRP", gap, mdi)
	}

	// Demote and promote: two more transitions.
	controlPost(t, d, "/v1/demote", `{"instance": "VI_1"}`)
	waitState(t, d, "BACKUP", 2*time.Second)
	controlPost(t, d, "/v1/promote", `{"instance": "VI_1"}`)
	waitState(t, d, "MASTER", 2*time.Second)

	want := [][2]string{{"INIT", "BACKUP"}, {"BACKUP", "MASTER"}, {"MASTER", "BACKUP"}, {"BACKUP", "MASTER"}}
	for i, w := range want {
		select {
		case m := <-mails:
			subject := ""
			for _, l := range strings.Split(m.data, "\n") {
				if s, ok := strings.CutPrefix(strings.TrimRight(l, "\r"), "Subject: "); ok {
					subject = s
				}
			}
			wantSubject := fmt.Sprintf("[hawatch] VI_1 %s -> %s on lb1", w[0], w[1])
			if subject != wantSubject {
				t.Errorf("mail %d subject %q, want %q", i, subject, wantSubject)
			}
			for _, s := range []string{"VI_1", w[0], w[1]} {
				if !strings.Contains(m.data, s) {
					t.Errorf("mail %d lacks %q:\n%s", i, s, m.data)
				}
			}
			if m.helo != "lb1.e2e" || !strings.Contains(m.from, "hawatch@lb1") || len(m.to) != 2 {
				t.Errorf("mail %d envelope: helo %q from %q to %v", i, m.helo, m.from, m.to)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("mail %d (%s→%s) not received", i, w[0], w[1])
		}
		select {
		case ev := <-hooks:
			if ev.Event != "transition" || ev.Instance != "VI_1" || ev.From != w[0] || ev.To != w[1] || ev.Node != "lb1" || ev.Priority == 0 {
				t.Errorf("webhook %d = %+v, want VI_1 %s→%s on lb1", i, ev, w[0], w[1])
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("webhook %d (%s→%s) not received", i, w[0], w[1])
		}
	}
	// Exactly one of each per transition.
	time.Sleep(500 * time.Millisecond)
	if len(mails) != 0 || len(hooks) != 0 {
		t.Errorf("extra notifications: %d mails, %d webhooks", len(mails), len(hooks))
	}
	hookMu.Lock()
	if hookCalls != len(want)+1 {
		t.Errorf("webhook got %d POSTs, want %d (one retry after the 503)", hookCalls, len(want)+1)
	}
	hookMu.Unlock()

	// The hanging command runs once per transition, one after the other
	// (the action's queue). Each run got TERM at its 1 s timeout, ignored
	// it, and its whole process group was SIGKILLed after the 500 ms grace.
	// The script stamps with /proc/uptime (seconds since boot, 10 ms
	// resolution); boot is when that clock started, on the wall clock.
	boot := time.Now().Add(-uptime(t))
	runs := func(name string) map[int]time.Time {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		out := map[int]time.Time{}
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var pid int
			var up float64
			if _, err := fmt.Sscan(l, &pid, &up); err == nil {
				if _, seen := out[pid]; !seen {
					out[pid] = boot.Add(time.Duration(up * float64(time.Second)))
				}
			}
		}
		return out
	}
	var starts map[int]time.Time
	waitFor(t, "a hanging run per transition", time.Duration(len(want))*3*time.Second, func() bool {
		starts = runs("pids")
		return len(starts) >= len(want)
	})
	// Watch the last run die.
	var lastPID int
	for pid, at := range starts {
		if lastPID == 0 || at.After(starts[lastPID]) {
			lastPID = pid
		}
	}
	waitFor(t, "the last hanging run's group to be killed", 5*time.Second, func() bool {
		return len(processGroupAlive(lastPID)) == 0
	})
	gone := time.Now()
	if alive := time.Since(starts[lastPID]); alive < 1480*time.Millisecond || alive > 1500*time.Millisecond+loadSlack+200*time.Millisecond {
		t.Errorf("the hanging run lived %v, want about timeout+grace = 1.5 s", alive)
	}
	terms := runs("terms")
	for pid, at := range starts {
		term, ok := terms[pid]
		if !ok {
			t.Errorf("run %d never got SIGTERM", pid)
			continue
		}
		if d := term.Sub(at); d < 900*time.Millisecond || d > time.Second+loadSlack {
			t.Errorf("run %d got SIGTERM after %v, want at its 1 s timeout", pid, d)
		}
		if alive := processGroupAlive(pid); len(alive) != 0 {
			t.Errorf("run %d: processes %v of its group still alive", pid, alive)
		}
	}
	t.Logf("last hanging run: started %v, group gone after %v", starts[lastPID].Format("15:04:05.000"), gone.Sub(starts[lastPID]).Round(time.Millisecond))
	fails := 0
	for _, l := range d.logLines("action failed") {
		if l["action"] == "hang" {
			fails++
		}
	}
	if fails < len(want) {
		t.Errorf("%d failed hang actions logged, want %d", fails, len(want))
	}
	if st := d.mustStatus(); st.Instances[0].State != "MASTER" {
		t.Errorf("state %s at the end, want MASTER", st.Instances[0].State)
	}
}

// uptime is /proc/uptime's seconds since boot.
func uptime(t *testing.T) time.Duration {
	t.Helper()
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		t.Fatal(err)
	}
	var up float64
	if _, err := fmt.Sscan(string(b), &up); err != nil {
		t.Fatalf("/proc/uptime %q: %v", b, err)
	}
	return time.Duration(up * float64(time.Second))
}
