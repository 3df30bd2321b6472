//go:build linux

package netlab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestNodeAddressing(t *testing.T) {
	tests := []struct {
		i          int
		name, a4   string
		a6, mac    string
		wantPrefix string
	}{
		{1, "lb1", "198.51.100.11", "2001:db8::11", "02:00:00:00:00:11", "hwtX-lb1"},
		{2, "lb2", "198.51.100.12", "2001:db8::12", "02:00:00:00:00:12", "hwtX-lb2"},
		{0, "client", "198.51.100.100", "2001:db8::100", "02:00:00:00:00:64", "hwtX-client"},
	}
	for _, tt := range tests {
		n := newNode("hwtX-", tt.i, true)
		got := fmt.Sprint(n.Name, " ", n.Addr4, " ", n.Addr6, " ", n.MAC, " ", n.NS)
		want := fmt.Sprint(tt.name, " ", tt.a4, " ", tt.a6, " ", tt.mac, " ", tt.wantPrefix)
		if got != want {
			t.Errorf("node %d = %q, want %q", tt.i, got, want)
		}
	}
	if n := newNode("p-", 1, false); n.Addr6.IsValid() {
		t.Errorf("IPv6 off but Addr6 = %v", n.Addr6)
	}
}

func TestKeepalivedRender(t *testing.T) {
	got := KeepalivedConfig{
		VRID: 51, Priority: 100, AuthPass: "1111", AdvertInterval: 10 * time.Millisecond, Version: 3,
		VIPs: []string{"198.51.100.50/24"}, UnicastSrc: "198.51.100.11", UnicastPeers: []string{"198.51.100.12"},
		NoPreempt: true, Extra: []string{"preempt_delay 2"},
	}.Render()
	for _, want := range []string{
		"vrrp_instance VI_1 {", "state BACKUP", "interface eth0", "virtual_router_id 51", "priority 100",
		"version 3", "advert_int 0.01", "nopreempt", "auth_pass 1111", "unicast_src_ip 198.51.100.11",
		"198.51.100.12\n", "198.51.100.50/24 dev eth0", "preempt_delay 2",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("rendered config lacks %q:\n%s", want, got)
		}
	}
}

// TestLabLifecycle builds a lab in a subtest, checks connectivity and that
// the subtest's cleanup removed every namespace it made.
func TestLabLifecycle(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	// A leftover from a "crashed" run: its PID no longer exists.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	leftover := fmt.Sprintf("hwt%d-dead-lb1", dead.Process.Pid)
	if err := run("ip", "netns", "add", leftover); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", leftover).Run() })

	var prefix string
	t.Run("up", func(t *testing.T) {
		l := New(t, Options{Nodes: 2, IPv6: true})
		prefix = l.Prefix
		if got := nsList(t); strings.Contains(got, leftover) {
			t.Errorf("leftover namespace %s not swept", leftover)
		}
		if len(l.Nodes) != 2 || l.Client == nil {
			t.Fatalf("nodes=%d client=%v", len(l.Nodes), l.Client)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for _, from := range l.All() {
			for _, to := range l.All() {
				if from == to {
					continue
				}
				for _, dst := range []netip.Addr{to.Addr4, to.Addr6} {
					if out, err := from.Exec(ctx, "ping", "-c1", "-W2", dst.String()); err != nil {
						t.Errorf("%s ping %s: %v\n%s", from, dst, err, out)
					}
				}
			}
		}
		for _, n := range l.All() {
			if !n.LinkLocal.IsLinkLocalUnicast() {
				t.Errorf("%s: link-local = %v", n, n.LinkLocal)
			}
			if ok, err := n.HasAddr("eth0", n.Prefix4()); err != nil || !ok {
				t.Errorf("%s: HasAddr(%s) = %v, %v", n, n.Prefix4(), ok, err)
			}
			out, err := n.Exec(ctx, "ip", "-br", "link", "show", "eth0")
			if err != nil || !strings.Contains(string(out), n.MAC.String()) {
				t.Errorf("%s: eth0 = %q (%v), want MAC %s", n, out, err, n.MAC)
			}
		}
		// The client learned lb1's MAC from the pings.
		mac, state, err := l.Client.Neigh(l.Nodes[0].Addr4)
		if err != nil || mac.String() != l.Nodes[0].MAC.String() {
			t.Errorf("client neigh lb1 = %v %s %v", mac, state, err)
		}
		out, _ := l.Bridge0Show()
		if !strings.Contains(out, "mcast_snooping 0") || !strings.Contains(out, "stp_state 0") {
			t.Errorf("bridge settings: %s", out)
		}
		if got := nsList(t); strings.Count(got, prefix) != 4 {
			t.Errorf("want 4 namespaces with prefix %s, got:\n%s", prefix, got)
		}
	})
	if prefix == "" {
		t.Fatal("lab was not built")
	}
	if got := nsList(t); strings.Contains(got, prefix) {
		t.Errorf("namespaces left after cleanup:\n%s", got)
	}
}

// Bridge0Show returns `ip -d link show br0` from the bridge namespace.
func (l *Lab) Bridge0Show() (string, error) {
	out, err := exec.Command("ip", "-n", l.Bridge, "-d", "link", "show", bridgeName).CombinedOutput()
	return string(out), err
}

func nsList(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns list: %v: %s", err, out)
	}
	return string(out)
}

// rawVRRP opens an IP protocol 112 socket in n.
func rawVRRP(t *testing.T, n *Node, network string) net.PacketConn {
	t.Helper()
	var c net.PacketConn
	err := n.Do(func() error {
		var err error
		c, err = net.ListenPacket(network, "")
		return err
	})
	if err != nil {
		t.Fatalf("%s: listen %s: %v", n, network, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func readPayload(t *testing.T, c net.PacketConn) string {
	t.Helper()
	buf := make([]byte, 1500)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := c.ReadFrom(buf)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(buf[:n])
}

func TestBlockVRRP(t *testing.T) {
	l := New(t, Options{Nodes: 2, NoClient: true, IPv6: true})
	a, b := l.Nodes[0], l.Nodes[1]
	tests := []struct {
		network string
		dst     netip.Addr
	}{
		{"ip4:112", b.Addr4},
		{"ip6:112", b.Addr6},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, tt := range tests {
		t.Run(tt.network, func(t *testing.T) {
			tx := rawVRRP(t, a, tt.network)
			rx := rawVRRP(t, b, tt.network)
			send := func(s string) {
				if _, err := tx.WriteTo([]byte(s), &net.IPAddr{IP: tt.dst.AsSlice()}); err != nil {
					t.Fatalf("send: %v", err)
				}
			}
			send("before")
			if got := readPayload(t, rx); got != "before" {
				t.Fatalf("got %q before blocking", got)
			}
			base, _ := b.VRRPDrops()

			l.BlockVRRP(t, a, b)
			send("blocked")
			waitDrops(t, b, base+1)
			if out, err := a.Exec(ctx, "ping", "-c1", "-W2", tt.dst.String()); err != nil {
				t.Errorf("ping blocked by BlockVRRP: %v\n%s", err, out)
			}
			// Blocking is one-way: b's VRRP still reaches a.
			rxA := rawVRRP(t, a, tt.network)
			txB := rawVRRP(t, b, tt.network)
			back := a.Addr4
			if tt.dst.Is6() {
				back = a.Addr6
			}
			if _, err := txB.WriteTo([]byte("reverse"), &net.IPAddr{IP: back.AsSlice()}); err != nil {
				t.Fatal(err)
			}
			if got := readPayload(t, rxA); got != "reverse" {
				t.Errorf("reverse direction got %q", got)
			}

			if err := l.UnblockVRRP(a, b); err != nil {
				t.Fatal(err)
			}
			send("after")
			// "blocked" must never have arrived: the next packet read is "after".
			if got := readPayload(t, rx); got != "after" {
				t.Fatalf("got %q after unblocking, want %q", got, "after")
			}
		})
	}
}

func waitDrops(t *testing.T, n *Node, want uint64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := n.VRRPDrops()
		if err != nil {
			t.Fatal(err)
		}
		if got >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: VRRP drops = %d, want %d", n, got, want)
		}
		time.Sleep(pollEvery)
	}
}

func TestKeepalivedMaster(t *testing.T) {
	l := New(t, Options{Nodes: 1, NoClient: true})
	n := l.Nodes[0]
	vip := netip.MustParsePrefix("198.51.100.50/24")
	ka := StartKeepalived(t, n, KeepalivedConfig{
		VRID: 51, Priority: 150, Version: 3, AdvertInterval: 100 * time.Millisecond,
		VIPs: []string{vip.String()},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := n.WaitAddr(ctx, "eth0", vip, true); err != nil {
		t.Fatalf("%v\n%s", err, ka.Output())
	}
	child := ka.ExtraPIDs()
	if len(child) != 1 {
		t.Fatalf("VRRP child PIDs = %v", child)
	}
	// SIGTERM is graceful: keepalived releases the VIP and exits.
	if err := ka.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := ka.Wait(10 * time.Second); err != nil {
		t.Fatalf("keepalived exit: %v\n%s", err, ka.Output())
	}
	if has, err := n.HasAddr("eth0", vip); err != nil || has {
		t.Errorf("VIP still present after SIGTERM: %v %v", has, err)
	}

	// SIGKILL crashes both processes; the VIP stays behind like after a real crash.
	ka = StartKeepalived(t, n, KeepalivedConfig{
		VRID: 51, Priority: 150, Version: 3, AdvertInterval: 100 * time.Millisecond,
		VIPs: []string{vip.String()},
	})
	if err := n.WaitAddr(ctx, "eth0", vip, true); err != nil {
		t.Fatalf("%v\n%s", err, ka.Output())
	}
	child = ka.ExtraPIDs()
	if err := ka.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := ka.Wait(5 * time.Second); errors.Is(err, ErrWaitTimeout) {
		t.Fatal(err)
	}
	for _, pid := range child {
		waitGone(t, pid)
	}
	if has, _ := n.HasAddr("eth0", vip); !has {
		t.Errorf("VIP removed although keepalived was killed (not a crash?)")
	}
}

// waitGone fails the test unless pid exits within 5 s (SIGKILL delivery
// is asynchronous).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !isZombieOrGone(pid) {
		if time.Now().After(deadline) {
			t.Errorf("pid %d survived SIGKILL", pid)
			return
		}
		time.Sleep(pollEvery)
	}
}

func isZombieOrGone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && strings.HasPrefix(s[i+1:], " Z")
}

func TestNginx(t *testing.T) {
	l := New(t, Options{Nodes: 1})
	ng := StartNginx(t, l.Nodes[0])
	get := func() (string, error) {
		var body string
		err := l.Client.Do(func() error {
			c, err := net.DialTimeout("tcp", net.JoinHostPort(l.Nodes[0].Addr4.String(), "80"), 2*time.Second)
			if err != nil {
				return err
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(c, "GET / HTTP/1.0\r\nHost: x\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			body = string(b)
			return err
		})
		return body, err
	}
	body, err := get()
	if err != nil || body != "hello from lb1\n" {
		t.Fatalf("GET = %q, %v", body, err)
	}
	if ng.MasterPID() != ng.Proc.PID() {
		t.Errorf("MasterPID %d != started PID %d", ng.MasterPID(), ng.Proc.PID())
	}
	workers := ng.WorkerPIDs()
	if len(workers) == 0 {
		t.Fatal("no nginx workers found")
	}
	ng.KillAll()
	if _, err := get(); err == nil {
		t.Error("nginx still answers after KillAll")
	}
	for _, w := range workers {
		waitGone(t, w)
	}
}

// TestKeepalivedPeers runs two keepalived peers, as the interop tests will:
// the higher priority ends up owning the VIP, the other not, for IPv4
// unicast and IPv6 multicast configs.
func TestKeepalivedPeers(t *testing.T) {
	l := New(t, Options{Nodes: 2, NoClient: true, IPv6: true})
	a, b := l.Nodes[0], l.Nodes[1]
	tests := []struct {
		name string
		vip  netip.Prefix
		cfg  func(self, peer *Node, prio int) KeepalivedConfig
	}{
		{"v3-ipv4-unicast", netip.MustParsePrefix("198.51.100.50/24"), func(self, peer *Node, prio int) KeepalivedConfig {
			return KeepalivedConfig{VRID: 52, Priority: prio, Version: 3, AdvertInterval: 100 * time.Millisecond,
				VIPs: []string{"198.51.100.50/24"}, UnicastSrc: self.Addr4.String(), UnicastPeers: []string{peer.Addr4.String()}}
		}},
		{"v3-ipv6", netip.MustParsePrefix("2001:db8::50/64"), func(self, peer *Node, prio int) KeepalivedConfig {
			return KeepalivedConfig{VRID: 53, Priority: prio, Version: 3, AdvertInterval: 100 * time.Millisecond,
				VIPs: []string{"2001:db8::50/64"}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kb := StartKeepalived(t, b, tt.cfg(b, a, 100))
			ka := StartKeepalived(t, a, tt.cfg(a, b, 200))
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			if err := a.WaitAddr(ctx, "eth0", tt.vip, true); err != nil {
				t.Fatalf("%v\n%s", err, ka.Output())
			}
			if err := b.WaitAddr(ctx, "eth0", tt.vip, false); err != nil {
				t.Fatalf("%v\n%s", err, kb.Output())
			}
			// b may win the race to MASTER before a starts; it must end BACKUP.
			if got := lastState(kb.Output()); got != "BACKUP" {
				t.Errorf("lb2 ends in %q, want BACKUP:\n%s", got, kb.Output())
			}
		})
	}
}

var stateRE = regexp.MustCompile(`Entering ([A-Z]+) STATE`)

// lastState is the last state keepalived logged entering.
func lastState(log string) string {
	m := stateRE.FindAllStringSubmatch(log, -1)
	if len(m) == 0 {
		return ""
	}
	return m[len(m)-1][1]
}

// TestIsolateAndEtcd: a three-member etcd cluster comes up in the member
// namespaces, a node that is isolated reaches nobody (and nobody it), and
// rejoins.
func TestIsolateAndEtcd(t *testing.T) {
	lab := New(t, Options{Nodes: 1, NoClient: true, Members: 3})
	e := StartEtcd(t, lab.Members, EtcdOptions{})
	if got := len(e.Endpoints()); got != 3 {
		t.Fatalf("%d endpoints", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	leader, err := e.Leader(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("leader %s", lab.Members[leader].Name)
	lb1, m := lab.Nodes[0], lab.Members[0]
	ping := func() error {
		_, err := lb1.Exec(ctx, "ping", "-c", "1", "-W", "1", m.Addr4.String())
		return err
	}
	if err := ping(); err != nil {
		t.Fatalf("lb1 cannot reach %s: %v", m, err)
	}
	lab.Isolate(t, lb1)
	if err := ping(); err == nil {
		t.Fatal("isolated lb1 still reaches etcd1")
	}
	if err := lab.Rejoin(lb1); err != nil {
		t.Fatal(err)
	}
	if err := ping(); err != nil {
		t.Fatalf("lb1 after rejoin: %v", err)
	}
}
