package route

// Kernel tests: root only, in a throw-away internal/netlab lab; the Manager
// works in lb1's namespace through Options.NetNS, nothing touches the host.

import (
	"context"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hawatch/hawatch/internal/netlab"
)

// reconcileBound is the bound on putting back a deleted VIP; routes
// and rules are held to the same. loadSlack is what a loaded CI machine
// may add to one sample (the e2e suite allows the same).
const (
	reconcileBound = 100 * time.Millisecond
	loadSlack      = 300 * time.Millisecond
)

func ipShow(t *testing.T, n *netlab.Node, args ...string) string {
	t.Helper()
	out, err := n.Exec(context.Background(), "ip", args...)
	if err != nil {
		t.Fatalf("ip %v: %v: %s", args, err, out)
	}
	return string(out)
}

func waitShow(t *testing.T, n *netlab.Node, want string, present bool, args ...string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		got := ipShow(t, n, args...)
		if strings.Contains(got, want) == present {
			return time.Since(start)
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("ip %v: %q present=%v never; last:\n%s", args, want, present, got)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestKernelRoutesAndRules(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("kernel tests need root")
	}
	lab := netlab.New(t, netlab.Options{Nodes: 1, IPv6: true})
	n := lab.Node("lb1")
	m, err := NewManager(zerolog.New(zerolog.NewTestWriter(t)), Options{NetNS: "/run/netns/" + n.NS, Retry: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- m.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()

	gw := n.Addr4.Prev() // another address on eth0's /24
	routes := []Route{
		{Dst: netip.MustParsePrefix("198.51.100.128/25"), Via: gw, Table: 100, Metric: 7},
		{Dst: netip.MustParsePrefix("198.51.100.64/26"), Type: TypeBlackhole},
		{Dst: netip.MustParsePrefix("2001:db8:1::/48"), Dev: "eth0", Protocol: 4},
		{Dst: netip.MustParsePrefix("198.51.100.224/27"), Dev: "eth0", Nexthops: [MaxNexthops]netip.Addr{gw, gw.Prev()}},
		// Its source is not on the node yet: it goes in once it is.
		{Dst: netip.MustParsePrefix("198.51.100.32/28"), Dev: "eth0", Scope: ScopeLink, Src: netip.MustParseAddr("198.51.100.70")},
	}
	rules := []Rule{
		{Family: 4, From: netip.MustParsePrefix("198.51.100.50/32"), Table: 100, Priority: 100},
		{Family: 4, Table: 101, HasMark: true, Mark: 0x10, Mask: 0xff, IIF: "eth0"}, // no priority: found by listing
		{Family: 6, To: netip.MustParsePrefix("2001:db8:2::/48"), Table: 100, Priority: 200},
	}
	if err := m.Acquire(ctx, "vi_1", routes, rules); err == nil {
		t.Fatal("route with a missing source went in")
	}
	for range 2 { // idempotent: no second copy of anything
		_ = m.Acquire(ctx, "vi_1", routes, rules)
	}
	checks := []struct {
		args []string
		want string
	}{
		{[]string{"-4", "route", "show", "table", "100"}, "198.51.100.128/25 via " + gw.String() + " dev eth0 metric 7"},
		{[]string{"-4", "route", "show"}, "blackhole 198.51.100.64/26"},
		{[]string{"-6", "route", "show"}, "2001:db8:1::/48 dev eth0 proto static"},
		{[]string{"-4", "route", "show"}, "198.51.100.224/27 \n\tnexthop via " + gw.String() + " dev eth0 weight 1 \n\tnexthop via " + gw.Prev().String() + " dev eth0 weight 1"},
		{[]string{"-4", "rule", "show"}, "100:\tfrom 198.51.100.50 lookup 100"},
		{[]string{"-4", "rule", "show"}, "from all fwmark 0x10/0xff iif eth0 lookup 101"},
		{[]string{"-6", "rule", "show"}, "200:\tfrom all to 2001:db8:2::/48 lookup 100"},
	}
	for _, c := range checks {
		out := ipShow(t, n, c.args...)
		if strings.Count(out, c.want) != 1 {
			t.Errorf("ip %v: want %q once, got:\n%s", c.args, c.want, out)
		}
	}
	if _, err := n.Exec(ctx, "ip", "addr", "add", "198.51.100.70/24", "dev", "eth0"); err != nil {
		t.Fatal(err)
	}
	took := waitShow(t, n, "198.51.100.32/28 dev eth0 scope link src 198.51.100.70", true, "-4", "route", "show")
	t.Logf("route with a late source in after %v", took)

	// Deleted by hand: back within the bound.
	for _, del := range [][]string{
		{"route", "del", "198.51.100.128/25", "table", "100"},
		{"rule", "del", "priority", "100"},
		{"-6", "rule", "del", "priority", "200"},
	} {
		if _, err := n.Exec(ctx, "ip", del...); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []int{0, 3, 5} {
		took := waitShow(t, n, checks[c].want, true, checks[c].args...)
		t.Logf("%q put back after %v", checks[c].want, took)
		if took > reconcileBound+loadSlack {
			t.Errorf("%q put back after %v, bound %v (+%v load slack)", checks[c].want, took, reconcileBound, loadSlack)
		}
	}
	if s := m.Stats(); s.ReAdded < 3 {
		t.Errorf("stats %+v", s)
	}

	if err := m.Release(ctx, "vi_1"); err != nil {
		t.Fatal(err)
	}
	for _, c := range checks {
		if out := ipShow(t, n, c.args...); strings.Contains(out, c.want) {
			t.Errorf("after release ip %v still has %q", c.args, c.want)
		}
	}
}
