package netlab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

const (
	nsDir      = "/run/netns"
	nsMarker   = "hwt"
	bridgeName = "br0"
	setupWait  = 5 * time.Second
	pollEvery  = 5 * time.Millisecond
)

// nsNameRE matches namespaces made by this package: hwt<pid>-<rand4>-<role>.
var nsNameRE = regexp.MustCompile(`^` + nsMarker + `([0-9]+)-[0-9a-f]{4}-`)

// New builds a lab, or skips the test when not running as root. A t.Cleanup
// kills whatever still runs inside the lab's namespaces and deletes them. It
// first removes namespaces left by earlier test processes that died without
// cleaning up (their PID, embedded in the name, is gone).
func New(t testing.TB, opts Options) *Lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("netlab: needs root (creates network namespaces); run the tests as root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("netlab: iproute2 `ip` not found")
	}
	if opts.Nodes == 0 {
		opts.Nodes = 2
	}
	if opts.Nodes < 0 || opts.Nodes > MaxNodes {
		t.Fatalf("netlab: Nodes = %d, want 1..%d", opts.Nodes, MaxNodes)
	}
	sweepLeftovers(t)

	tag := randHex(2)
	l := &Lab{Prefix: fmt.Sprintf("%s%d-%s-", nsMarker, os.Getpid(), tag)}
	l.Bridge = l.Prefix + "br"
	for i := 1; i <= opts.Nodes; i++ {
		l.Nodes = append(l.Nodes, newNode(l.Prefix, i, opts.IPv6))
	}
	if !opts.NoClient {
		l.Client = newNode(l.Prefix, 0, opts.IPv6)
	}
	if opts.Members < 0 || opts.Members > 9 {
		t.Fatalf("netlab: Members = %d, want 0..9", opts.Members)
	}
	for i := 1; i <= opts.Members; i++ {
		m := newNode(l.Prefix, 20+i, opts.IPv6) // 198.51.100.(30+i)
		m.Name, m.Index = "etcd"+strconv.Itoa(i), -i
		m.NS = l.Prefix + m.Name
		l.Members = append(l.Members, m)
	}
	// Registered before anything exists so a half-built lab is removed too.
	t.Cleanup(func() {
		if err := l.destroy(); err != nil {
			t.Errorf("netlab cleanup: %v", err)
		}
	})
	if err := l.build(tag); err != nil {
		t.Fatalf("netlab: %v", err)
	}
	return l
}

func newNode(prefix string, i int, v6 bool) *Node {
	n := &Node{Index: i}
	if i == 0 {
		n.Name = "client"
		n.Addr4 = netip.MustParseAddr("198.51.100.100")
		n.MAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x64}
		if v6 {
			n.Addr6 = netip.MustParseAddr("2001:db8::100")
		}
	} else {
		n.Name = "lb" + strconv.Itoa(i)
		n.Addr4 = netip.AddrFrom4([4]byte{198, 51, 100, byte(10 + i)})
		digits := strconv.Itoa(10 + i)
		b, _ := strconv.ParseUint(digits, 16, 8) // same digits as the IPv4 octet
		n.MAC = net.HardwareAddr{0x02, 0, 0, 0, 0, byte(b)}
		if v6 {
			n.Addr6 = netip.MustParseAddr("2001:db8::" + digits)
		}
	}
	n.NS = prefix + n.Name
	return n
}

// All returns the nodes, the client (if any) and the members.
func (l *Lab) All() []*Node {
	all := append([]*Node(nil), l.Nodes...)
	if l.Client != nil {
		all = append(all, l.Client)
	}
	return append(all, l.Members...)
}

// Node returns the node with the given name ("lb1", "client"), or nil.
func (l *Lab) Node(name string) *Node {
	for _, n := range l.All() {
		if n.Name == name {
			return n
		}
	}
	return nil
}

func (l *Lab) namespaces() []string {
	names := []string{l.Bridge}
	for _, n := range l.All() {
		names = append(names, n.NS)
	}
	return names
}

func (l *Lab) build(tag string) error {
	for _, ns := range l.namespaces() {
		if err := run("ip", "netns", "add", ns); err != nil {
			return err
		}
	}
	// DAD off before eth0 exists: new interfaces copy the "default" values,
	// so link-local addresses are usable the moment the link is up.
	for _, ns := range l.namespaces() {
		kv := []string{
			"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
			"net.ipv6.conf.all.dad_transmits=0", "net.ipv6.conf.default.dad_transmits=0",
		}
		if ns == l.Bridge {
			// The bridge namespace only switches frames; keep it quiet.
			kv = append(kv, "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
		}
		if err := writeSysctls(ns, kv); err != nil {
			return err
		}
	}

	var br strings.Builder
	fmt.Fprintf(&br, "link set lo up\n")
	fmt.Fprintf(&br, "link add %s type bridge stp_state 0 forward_delay 0 mcast_snooping 0\n", bridgeName)
	fmt.Fprintf(&br, "link set %s up\n", bridgeName)
	for _, n := range l.All() {
		port := "v" + tag + strconv.Itoa(n.Index) // IFNAMSIZ-safe: at most 7 bytes
		if n.Index == 0 {
			port = "v" + tag + "c"
		}
		fmt.Fprintf(&br, "link add %s type veth peer name eth0 netns %s\n", port, n.NS)
		fmt.Fprintf(&br, "link set %s master %s up\n", port, bridgeName)
	}
	if err := ipBatch(l.Bridge, br.String()); err != nil {
		return err
	}

	for _, n := range l.All() {
		var b strings.Builder
		fmt.Fprintf(&b, "link set lo up\n")
		fmt.Fprintf(&b, "link set eth0 address %s\n", n.MAC)
		fmt.Fprintf(&b, "addr add %s dev eth0\n", n.Prefix4())
		if n.Addr6.IsValid() {
			fmt.Fprintf(&b, "addr add %s dev eth0 nodad\n", n.Prefix6())
		}
		fmt.Fprintf(&b, "link set eth0 up\n")
		if err := ipBatch(n.NS, b.String()); err != nil {
			return err
		}
	}
	// The link-local address appears asynchronously after link up.
	for _, n := range l.All() {
		ll, err := n.waitLinkLocal(setupWait)
		if err != nil {
			return err
		}
		n.LinkLocal = ll
	}
	return nil
}

func (n *Node) waitLinkLocal(timeout time.Duration) (netip.Addr, error) {
	deadline := time.Now().Add(timeout)
	for {
		var found netip.Addr
		err := n.withHandle(func(h *netlink.Handle) error {
			link, err := h.LinkByName("eth0")
			if err != nil {
				return err
			}
			addrs, err := h.AddrList(link, netlink.FAMILY_V6)
			if err != nil {
				return err
			}
			for _, a := range addrs {
				ip, ok := netip.AddrFromSlice(a.IP)
				if ok && ip.IsLinkLocalUnicast() && a.Flags&unix.IFA_F_TENTATIVE == 0 {
					found = ip
				}
			}
			return nil
		})
		if err != nil {
			return netip.Addr{}, fmt.Errorf("%s: link-local: %w", n.Name, err)
		}
		if found.IsValid() {
			return found, nil
		}
		if time.Now().After(deadline) {
			return netip.Addr{}, fmt.Errorf("%s: no usable link-local address on eth0 after %v", n.Name, timeout)
		}
		time.Sleep(pollEvery)
	}
}

// destroy kills every process still inside the lab's namespaces and deletes
// the namespaces (which removes the veths and the bridge with them).
func (l *Lab) destroy() error {
	var errs []error
	for _, ns := range l.namespaces() {
		if _, err := os.Stat(nsDir + "/" + ns); err != nil {
			continue
		}
		if err := removeNamespace(ns); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func removeNamespace(ns string) error {
	killNamespacePIDs(ns)
	if err := run("ip", "netns", "del", ns); err != nil {
		return err
	}
	return nil
}

// killNamespacePIDs SIGKILLs processes living in ns: a namespace with a
// process left in it would survive `ip netns del`.
func killNamespacePIDs(ns string) {
	out, err := exec.Command("ip", "netns", "pids", ns).Output()
	if err != nil {
		return
	}
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 1 && pid != os.Getpid() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// sweepLeftovers deletes hwt* namespaces whose creating test process is dead.
func sweepLeftovers(t testing.TB) {
	entries, err := os.ReadDir(nsDir)
	if err != nil {
		return // no namespaces at all yet
	}
	for _, e := range entries {
		m := nsNameRE.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		pid, err := strconv.Atoi(m[1])
		if err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		// Another test process may be sweeping the same leftover: ignore
		// errors, the namespace is gone either way.
		if err := removeNamespace(e.Name()); err == nil {
			t.Logf("netlab: removed leftover namespace %s (pid %d is gone)", e.Name(), pid)
		}
	}
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Exec runs a program inside the node's namespace (`ip netns exec`) and
// returns its combined output.
func (n *Node) Exec(ctx context.Context, name string, args ...string) ([]byte, error) {
	argv := append([]string{"netns", "exec", n.NS, name}, args...)
	out, err := exec.CommandContext(ctx, "ip", argv...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s: %s %s: %w: %s", n.Name, name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return out, nil
}

// Start runs a program in the background inside the node's namespace, in its
// own process group, with stdout and stderr captured. t.Cleanup kills the
// group if it still runs, waits for it, and logs the output if the test
// failed. If the test binary dies, the program is killed too (Pdeathsig).
func (n *Node) Start(t testing.TB, name string, args ...string) *Proc {
	t.Helper()
	argv := append([]string{"netns", "exec", n.NS, name}, args...)
	cmd := exec.Command("ip", argv...)
	p := &Proc{Cmd: cmd, Name: n.Name + ":" + name, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout = p.out
	cmd.Stderr = p.out
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:   true,
		Pdeathsig: syscall.SIGKILL,
	}
	// Pdeathsig fires when the forking OS thread exits, and Go retires
	// threads (e.g. after Do). So fork from a locked thread that lives
	// exactly as long as the process: the goroutine that waits for it.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.wait()
	}()
	if err := <-started; err != nil {
		t.Fatalf("%s: start %s: %v", n.Name, name, err)
	}
	t.Cleanup(func() {
		if !p.Exited() {
			p.Kill()
		}
		if err := p.Wait(5 * time.Second); errors.Is(err, ErrWaitTimeout) {
			t.Errorf("%s: %v", p.Name, err)
		}
		if t.Failed() {
			t.Logf("output of %s (pid %d):\n%s", p.Name, p.PID(), p.Output())
		}
	})
	return p
}

// Do runs fn on a fresh OS thread that has entered the node's namespace.
// Sockets fn opens stay in that namespace for their whole life and may be
// used from any goroutine afterwards. Goroutines fn starts do NOT run in the
// namespace. The thread is never unlocked, so Go discards it when fn returns
// instead of reusing a thread stuck in the wrong namespace.
func (n *Node) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		h, err := netns.GetFromName(n.NS)
		if err != nil {
			errc <- fmt.Errorf("%s: open netns %s: %w", n.Name, n.NS, err)
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			errc <- fmt.Errorf("%s: enter netns %s: %w", n.Name, n.NS, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

func (n *Node) withHandle(fn func(h *netlink.Handle) error) error {
	nsh, err := netns.GetFromName(n.NS)
	if err != nil {
		return fmt.Errorf("open netns %s: %w", n.NS, err)
	}
	defer nsh.Close()
	h, err := netlink.NewHandleAt(nsh)
	if err != nil {
		return fmt.Errorf("netlink in %s: %w", n.NS, err)
	}
	defer h.Close()
	return fn(h)
}

// HasAddr reports whether ifname in the node's namespace carries exactly
// the address p (address and prefix length).
func (n *Node) HasAddr(ifname string, p netip.Prefix) (bool, error) {
	var found bool
	err := n.withHandle(func(h *netlink.Handle) error {
		link, err := h.LinkByName(ifname)
		if err != nil {
			return fmt.Errorf("link %s: %w", ifname, err)
		}
		family := netlink.FAMILY_V4
		if p.Addr().Is6() {
			family = netlink.FAMILY_V6
		}
		addrs, err := h.AddrList(link, family)
		if err != nil {
			return fmt.Errorf("addresses of %s: %w", ifname, err)
		}
		for _, a := range addrs {
			ip, ok := netip.AddrFromSlice(a.IP)
			ones, _ := a.Mask.Size()
			if ok && ip.Unmap() == p.Addr() && ones == p.Bits() {
				found = true
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("%s: %w", n.Name, err)
	}
	return found, nil
}

// WaitAddr polls every 5 ms until p is present on (or, with present=false,
// absent from) ifname, or ctx ends.
func (n *Node) WaitAddr(ctx context.Context, ifname string, p netip.Prefix, present bool) error {
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		has, err := n.HasAddr(ifname, p)
		if err != nil {
			return err
		}
		if has == present {
			return nil
		}
		select {
		case <-ctx.Done():
			want := "appear on"
			if !present {
				want = "leave"
			}
			return fmt.Errorf("%s: waiting for %s to %s %s: %w", n.Name, p, want, ifname, ctx.Err())
		case <-tick.C:
		}
	}
}

// Neigh returns the node's neighbour-table entry for ip on eth0: its MAC and
// NUD state ("REACHABLE", "STALE", ...). A missing entry is an error.
func (n *Node) Neigh(ip netip.Addr) (net.HardwareAddr, string, error) {
	var mac net.HardwareAddr
	var state string
	err := n.withHandle(func(h *netlink.Handle) error {
		link, err := h.LinkByName("eth0")
		if err != nil {
			return err
		}
		family := netlink.FAMILY_V4
		if ip.Is6() {
			family = netlink.FAMILY_V6
		}
		list, err := h.NeighList(link.Attrs().Index, family)
		if err != nil {
			return err
		}
		for _, e := range list {
			if a, ok := netip.AddrFromSlice(e.IP); ok && a.Unmap() == ip {
				mac, state = e.HardwareAddr, nudState(e.State)
				return nil
			}
		}
		return fmt.Errorf("no neighbour entry for %s", ip)
	})
	if err != nil {
		return nil, "", fmt.Errorf("%s: neigh %s: %w", n.Name, ip, err)
	}
	return mac, state, nil
}

func nudState(s int) string {
	names := []struct {
		bit  int
		name string
	}{
		{netlink.NUD_INCOMPLETE, "INCOMPLETE"}, {netlink.NUD_REACHABLE, "REACHABLE"},
		{netlink.NUD_STALE, "STALE"}, {netlink.NUD_DELAY, "DELAY"}, {netlink.NUD_PROBE, "PROBE"},
		{netlink.NUD_FAILED, "FAILED"}, {netlink.NUD_NOARP, "NOARP"}, {netlink.NUD_PERMANENT, "PERMANENT"},
	}
	var out []string
	for _, n := range names {
		if s&n.bit != 0 {
			out = append(out, n.name)
		}
	}
	if len(out) == 0 {
		return "NONE"
	}
	return strings.Join(out, "|")
}

const nftTable = "hwt_netlab"

// BlockVRRP drops IP protocol 112 (VRRP) sent by from, as it arrives at to:
// an nftables input rule inside to's namespace matching from's IPv4,
// 2001:db8:: and link-local addresses. Other traffic (ping, ARP, HTTP) still
// passes. Blocking both ways takes two calls. The rules die with the lab.
func (l *Lab) BlockVRRP(t testing.TB, from, to *Node) {
	t.Helper()
	if err := to.ensureBlockTable(); err != nil {
		t.Fatalf("BlockVRRP %s->%s: %v", from, to, err)
	}
	var script strings.Builder
	for _, e := range blockElements(from) {
		fmt.Fprintf(&script, "add element inet %s %s\n", nftTable, e)
	}
	if err := to.nft(script.String()); err != nil {
		t.Fatalf("BlockVRRP %s->%s: %v", from, to, err)
	}
}

// UnblockVRRP undoes BlockVRRP(from, to). Unblocking what was never blocked
// is not an error.
func (l *Lab) UnblockVRRP(from, to *Node) error {
	if err := to.ensureBlockTable(); err != nil {
		return fmt.Errorf("UnblockVRRP %s->%s: %w", from, to, err)
	}
	// "destroy" would tolerate missing elements but needs nft 1.0.8; delete
	// each element on its own and ignore "not found".
	for _, e := range blockElements(from) {
		if err := to.nft("delete element inet " + nftTable + " " + e); err != nil &&
			!strings.Contains(err.Error(), "No such file") {
			return fmt.Errorf("UnblockVRRP %s->%s: %w", from, to, err)
		}
	}
	return nil
}

// blockElements lists the set elements for from's addresses.
func blockElements(from *Node) []string {
	lines := []string{fmt.Sprintf("vrrp_src4 { %s }", from.Addr4)}
	if from.Addr6.IsValid() {
		lines = append(lines, fmt.Sprintf("vrrp_src6 { %s }", from.Addr6))
	}
	if from.LinkLocal.IsValid() {
		lines = append(lines, fmt.Sprintf("vrrp_src6 { %s }", from.LinkLocal))
	}
	return lines
}

// isoTable is the netdev table that isolates a node.
const isoTable = "hwt_isolate"

// Isolate cuts n off from everything: every frame into and out of its
// eth0 is dropped (ARP and IPv6 included), as a dead switch port or a
// partition looks to the node and to the others. Rejoin undoes it.
func (l *Lab) Isolate(t testing.TB, n *Node) {
	t.Helper()
	if err := n.nft(fmt.Sprintf(`add table netdev %[1]s
add chain netdev %[1]s in { type filter hook ingress device eth0 priority 0; policy drop; }
add chain netdev %[1]s out { type filter hook egress device eth0 priority 0; policy drop; }
`, isoTable)); err != nil {
		t.Fatalf("Isolate %s: %v", n, err)
	}
}

// Rejoin ends Isolate(n); rejoining a node that is not isolated is not an
// error.
func (l *Lab) Rejoin(n *Node) error {
	if err := n.nft("destroy table netdev " + isoTable + "\n"); err != nil {
		if err2 := n.nft("delete table netdev " + isoTable + "\n"); err2 != nil && !strings.Contains(err2.Error(), "No such file") {
			return fmt.Errorf("Rejoin %s: %w", n, err2)
		}
	}
	return nil
}

// cutTable is the inet table in which Cut drops a node's IP traffic with
// chosen peers.
const cutTable = "hwt_cut"

// Cut drops every IP packet between a and b, both ways, with nftables
// rules inside a's namespace (ARP still passes, as on a link whose IP path
// is broken by a firewall). Unlike Isolate, a keeps talking to everyone
// else: a quorum member cut off from the clients still votes with its
// peers. Heal undoes it.
func (l *Lab) Cut(t testing.TB, a, b *Node) {
	t.Helper()
	if err := a.nft(fmt.Sprintf(`add table inet %[1]s
add set inet %[1]s peers4 { type ipv4_addr; }
add set inet %[1]s peers6 { type ipv6_addr; }
add chain inet %[1]s input { type filter hook input priority -20; policy accept; }
add chain inet %[1]s output { type filter hook output priority -20; policy accept; }
flush chain inet %[1]s input
flush chain inet %[1]s output
add rule inet %[1]s input ip saddr @peers4 drop
add rule inet %[1]s input ip6 saddr @peers6 drop
add rule inet %[1]s output ip daddr @peers4 drop
add rule inet %[1]s output ip6 daddr @peers6 drop
%[2]s`, cutTable, cutElements(b))); err != nil {
		t.Fatalf("Cut %s-%s: %v", a, b, err)
	}
}

// Heal ends every Cut made on a.
func (l *Lab) Heal(a *Node) error {
	if err := a.nft("delete table inet " + cutTable + "\n"); err != nil && !strings.Contains(err.Error(), "No such file") {
		return fmt.Errorf("Heal %s: %w", a, err)
	}
	return nil
}

func cutElements(b *Node) string {
	var s strings.Builder
	fmt.Fprintf(&s, "add element inet %s peers4 { %s }\n", cutTable, b.Addr4)
	for _, ip := range []netip.Addr{b.Addr6, b.LinkLocal} {
		if ip.IsValid() {
			fmt.Fprintf(&s, "add element inet %s peers6 { %s }\n", cutTable, ip)
		}
	}
	return s.String()
}

func (n *Node) ensureBlockTable() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.blockReady {
		return nil
	}
	err := n.nft(fmt.Sprintf(`add table inet %[1]s
add set inet %[1]s vrrp_src4 { type ipv4_addr; }
add set inet %[1]s vrrp_src6 { type ipv6_addr; }
add chain inet %[1]s input { type filter hook input priority -10; policy accept; }
add rule inet %[1]s input meta l4proto 112 ip saddr @vrrp_src4 counter drop
add rule inet %[1]s input meta l4proto 112 ip6 saddr @vrrp_src6 counter drop
`, nftTable))
	n.blockReady = err == nil
	return err
}

func (n *Node) nft(script string) error {
	cmd := exec.Command("ip", "netns", "exec", n.NS, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: nft: %w: %s", n.Name, err, bytes.TrimSpace(out))
	}
	return nil
}

// VRRPDrops returns how many VRRP packets BlockVRRP rules on this node have
// dropped (IPv4 and IPv6 together), from the rules' nft counters.
func (n *Node) VRRPDrops() (uint64, error) {
	out, err := exec.Command("ip", "netns", "exec", n.NS, "nft", "list", "chain", "inet", nftTable, "input").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("%s: nft list: %w: %s", n.Name, err, bytes.TrimSpace(out))
	}
	var total uint64
	for _, m := range regexp.MustCompile(`counter packets ([0-9]+)`).FindAllStringSubmatch(string(out), -1) {
		v, _ := strconv.ParseUint(m[1], 10, 64)
		total += v
	}
	return total, nil
}

func writeSysctls(ns string, kv []string) error {
	args := append([]string{"netns", "exec", ns, "sysctl", "-q", "-w"}, kv...)
	return run("ip", args...)
}

func ipBatch(ns, script string) error {
	cmd := exec.Command("ip", "-n", ns, "-batch", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ip -n %s -batch: %w: %s\nscript:\n%s", ns, err, bytes.TrimSpace(out), script)
	}
	return nil
}

func run(name string, args ...string) error {
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
