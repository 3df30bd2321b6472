package e2e

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/hawatch/hawatch/core/vrrp"
	"github.com/hawatch/hawatch/internal/netlab"
)

// keepalived parity for routes, rules and address options (issue 14):
// virtual_route / virtual_rule follow the master, come back when deleted by
// hand within the VIP reconciliation bound, a VIP with dev lives on a
// second interface with its label and scope, an excluded address is owned
// but not advertised, mcast_source is the adverts' source, and the static
// block stays whatever the state. The cases run at once. Run them alone
// with
//
//	go test -count=1 -v -run 'TestParityRoutes' ./e2e

var (
	prVIP       = netip.MustParsePrefix("198.51.100.50/24")
	prDevVIP    = netip.MustParsePrefix("198.51.100.70/24")
	prExcluded  = netip.MustParsePrefix("198.51.100.60/24")
	prRouteDst  = netip.MustParsePrefix("198.51.100.128/25")
	prBlackhole = netip.MustParsePrefix("198.51.100.64/26")
	prStatic    = netip.MustParsePrefix("198.51.100.32/28")
)

const prRouteTable = 100

// prPolicy is node i's policy (i is 1-based): one instance with routes,
// a rule, a VIP on eth1, an excluded address and a multicast source, and a
// static block.
func prPolicy(vrid, prio, i int) string {
	inst := instance{vrid: vrid, prio: prio, version: 3, interval: "100ms", vips: []string{prVIP.String()}, extra: fmt.Sprintf(`
  mcast_source = "198.51.100.%d"
  excluded_ips = [%q]
  virtual_ip %q {
    dev   = "eth1"
    label = "eth1:web"
    scope = "link"
  }
  virtual_route {
    to    = %q
    via   = "198.51.100.254"
    table = %d
  }
  virtual_route {
    to   = %q
    type = "blackhole"
  }
  virtual_rule {
    from     = %q
    table    = %d
    priority = 100
  }
`, 20+i, prExcluded, prDevVIP, prRouteDst, prRouteTable, prBlackhole, prVIP.Addr(), prRouteTable)}
	return inst.String() + fmt.Sprintf(`
static {
  route {
    to   = %q
    type = "blackhole"
  }
}
`, prStatic)
}

// prPrepare gives a node the second interface (eth1, one end of a veth
// pair kept inside the node, both ends up) and the address it sends its
// adverts from.
func prPrepare(t *testing.T, n *netlab.Node, i int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, args := range [][]string{
		{"link", "add", "eth1", "type", "veth", "peer", "name", "eth1p"},
		{"link", "set", "eth1p", "up"},
		{"link", "set", "eth1", "up"},
		{"addr", "add", fmt.Sprintf("198.51.100.%d/24", 20+i), "dev", "eth0"},
	} {
		if out, err := n.Exec(ctx, "ip", args...); err != nil {
			t.Fatalf("%s: ip %v: %v %s", n, args, err, out)
		}
	}
}

// prState is what a node has installed of the instance's and the static
// routes and rules.
type prState struct {
	route, blackhole, rule, static bool
}

func prRead(t *testing.T, h *netlink.Handle) prState {
	t.Helper()
	var s prState
	routes, err := h.RouteListFiltered(unix.AF_INET, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		if r.Dst == nil {
			continue
		}
		switch r.Dst.String() {
		case prRouteDst.String():
			s.route = s.route || r.Table == prRouteTable
		case prBlackhole.String():
			s.blackhole = s.blackhole || r.Type == unix.RTN_BLACKHOLE
		case prStatic.String():
			s.static = s.static || r.Type == unix.RTN_BLACKHOLE
		}
	}
	rules, err := h.RuleList(unix.AF_INET)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		if r.Priority == 100 && r.Table == prRouteTable && r.Src != nil && r.Src.String() == netip.PrefixFrom(prVIP.Addr(), 32).String() {
			s.rule = true
		}
	}
	return s
}

// prWait polls (1 ms) until the node's state is want and returns how long
// that took.
func prWait(t *testing.T, n *netlab.Node, h *netlink.Handle, want prState, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		got := prRead(t, h)
		if got == want {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("%s: routes and rules %+v, want %+v after %v", n, got, want, timeout)
		}
		time.Sleep(time.Millisecond)
	}
}

var (
	prMaster = prState{route: true, blackhole: true, rule: true, static: true}
	prBackup = prState{static: true}
)

func TestParityRoutes(t *testing.T) {
	needRoot(t)
	runAll(t, []string{"failover_and_reconcile", "addresses_and_advert", "dev_link_tracked"}, func(t *testing.T, c int) {
		lab := netlab.New(t, netlab.Options{Nodes: 2})
		lb1, lb2 := lab.Nodes[0], lab.Nodes[1]
		prPrepare(t, lb1, 1)
		prPrepare(t, lb2, 2)
		vrid := 81 + c
		var capture *advertCapture
		if c == 1 {
			capture = startAdvertCapture(t, lb2)
		}
		d1 := startDaemon(t, lb1, prPolicy(vrid, 100, 1))
		waitVIP(t, lb1, prVIP, true, 5*time.Second)
		d2 := startDaemon(t, lb2, prPolicy(vrid, 50, 2))
		vipWaitState(t, d2, "BACKUP", 5*time.Second)
		h1, h2 := vipNodeHandle(t, lb1), vipNodeHandle(t, lb2)
		prWait(t, lb1, h1, prMaster, 2*time.Second)
		prWait(t, lb2, h2, prBackup, 2*time.Second)
		switch c {
		case 0:
			prFailoverAndReconcile(t, lab, d1, d2, h1, h2)
		case 1:
			prAddressesAndAdvert(t, lb1, lb2, h1, capture)
		case 2:
			prDevLinkTracked(t, lb1, lb2, d1, d2)
		}
	})
}

// prFailoverAndReconcile: routes and rules deleted by hand on the master
// are put back within the VIP reconciliation bound; after a failover they
// are on the new master only, and back on lb1 alone when it preempts.
func prFailoverAndReconcile(t *testing.T, lab *netlab.Lab, d1, d2 *daemon, h1, h2 *netlink.Handle) {
	lb1, lb2 := lab.Nodes[0], lab.Nodes[1]
	const rounds = 5
	var routeBack, ruleBack []time.Duration
	for range rounds {
		start := time.Now()
		if err := h1.RouteDel(&netlink.Route{Dst: prefixNet(prRouteDst), Table: prRouteTable}); err != nil {
			t.Fatalf("lb1: delete route: %v", err)
		}
		prWait(t, lb1, h1, prMaster, 2*time.Second)
		routeBack = append(routeBack, time.Since(start))

		start = time.Now()
		r := netlink.NewRule()
		r.Priority, r.Table, r.Src = 100, prRouteTable, prefixNet(netip.PrefixFrom(prVIP.Addr(), 32))
		if err := h1.RuleDel(r); err != nil {
			t.Fatalf("lb1: delete rule: %v", err)
		}
		prWait(t, lb1, h1, prMaster, 2*time.Second)
		ruleBack = append(ruleBack, time.Since(start))
	}
	t.Logf("RESULT routes reconcile: route put back %s; rule put back %s (bound %v)", vipDurs(routeBack), vipDurs(ruleBack), vipReconcileBound)
	vipCheckReconcileBound(t, "route put back on the master", routeBack)
	vipCheckReconcileBound(t, "rule put back on the master", ruleBack)

	// Failover: lb1 stops (its routes, rules and static ones go with it),
	// lb2 takes them.
	d1.stop()
	took := prWait(t, lb2, h2, prMaster, 3*time.Second)
	prWait(t, lb1, h1, prState{}, time.Second)
	t.Logf("RESULT routes failover: on lb2 %v after lb1's stop", took)

	// lb1 returns with the higher priority and preempts: the routes vanish
	// from lb2, the backup, and are on lb1 again.
	d1.restart()
	waitVIP(t, lb1, prVIP, true, 5*time.Second)
	prWait(t, lb1, h1, prMaster, 2*time.Second)
	took = prWait(t, lb2, h2, prBackup, 2*time.Second)
	t.Logf("RESULT routes preempt: gone from lb2 %v after lb1 held its VIP", took)
	vipWaitState(t, d2, "BACKUP", 2*time.Second)
}

// prAddressesAndAdvert: the dev VIP is on eth1 with its label and scope,
// the excluded address on eth0, both on the master only; the adverts list
// the VIPs but not the excluded address, and come from mcast_source.
func prAddressesAndAdvert(t *testing.T, lb1, lb2 *netlab.Node, h1 *netlink.Handle, capture *advertCapture) {
	for _, n := range []*netlab.Node{lb1, lb2} {
		master := n == lb1
		for _, a := range []struct {
			ifname string
			p      netip.Prefix
		}{{"eth1", prDevVIP}, {"eth0", prExcluded}} {
			if got, err := n.HasAddr(a.ifname, a.p); err != nil || got != master {
				t.Errorf("%s: %s on %s = %v (%v), want %v", n, a.p, a.ifname, got, err, master)
			}
		}
	}
	link, err := h1.LinkByName("eth1")
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := h1.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range addrs {
		if a.IPNet.String() == prDevVIP.String() {
			found = true
			if a.Label != "eth1:web" || a.Scope != unix.RT_SCOPE_LINK {
				t.Errorf("lb1: %s on eth1 has label %q scope %d, want eth1:web, link (%d)", prDevVIP, a.Label, a.Scope, unix.RT_SCOPE_LINK)
			}
		}
	}
	if !found {
		t.Errorf("lb1: %s not on eth1", prDevVIP)
	}

	time.Sleep(300 * time.Millisecond) // a few adverts at 100 ms
	var fromMaster []capturedAdvert
	for _, a := range capture.stop() {
		if a.vrid == 82 && a.priority == 100 {
			fromMaster = append(fromMaster, a)
		}
	}
	if len(fromMaster) == 0 {
		t.Fatal("captured no advert from the master")
	}
	wantSrc := netip.MustParseAddr("198.51.100.21")
	want := []netip.Addr{prVIP.Addr(), prDevVIP.Addr()}
	for _, c := range fromMaster {
		a, err := vrrp.ParseAdvert(c.payload, c.src, vrrp.MulticastGroup4)
		if err != nil {
			t.Fatalf("advert from %s: %v", c.src, err)
		}
		if c.src != wantSrc || !slices.Equal(a.Addresses, want) {
			t.Fatalf("advert from %s lists %v; want from %s (mcast_source) listing %v, never the excluded %s",
				c.src, a.Addresses, wantSrc, want, prExcluded.Addr())
		}
	}
	t.Logf("RESULT routes advert: %d adverts from %s list %v (excluded %s absent)", len(fromMaster), wantSrc, want, prExcluded.Addr())
}

// prDevLinkTracked: the interface of a VIP with dev (and without
// no_track) is tracked, as keepalived does: set down, the master goes
// FAULT and the backup takes over; back up, the master preempts again.
func prDevLinkTracked(t *testing.T, lb1, lb2 *netlab.Node, d1, d2 *daemon) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := lb1.Exec(ctx, "ip", "link", "set", "eth1", "down"); err != nil {
		t.Fatalf("lb1: eth1 down: %v %s", err, out)
	}
	start := time.Now()
	vipWaitState(t, d1, "FAULT", 2*time.Second)
	waitVIP(t, lb2, prVIP, true, 2*time.Second)
	t.Logf("RESULT routes dev link: lb1's eth1 down -> lb2 holds the VIP after %v", time.Since(start))
	if out, err := lb1.Exec(ctx, "ip", "link", "set", "eth1", "up"); err != nil {
		t.Fatalf("lb1: eth1 up: %v %s", err, out)
	}
	waitVIP(t, lb1, prVIP, true, 3*time.Second)
	vipWaitState(t, d2, "BACKUP", 2*time.Second)
}

func prefixNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
