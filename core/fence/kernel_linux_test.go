package fence

// Kernel test: root only, in a throw-away internal/netlab lab. The backend
// works in lb1's namespace through NFTOptions.NetNS; the test process stays
// in its own, so the host's ruleset is never touched.

import (
	"context"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hawatch/hawatch/internal/netlab"
	"github.com/rs/zerolog"
)

// reconcileBound is the bound core/vip holds for a VIP deleted by hand.
const reconcileBound = 100 * time.Millisecond

func ping(n *netlab.Node, a netip.Addr) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := n.Exec(ctx, "ping", "-c1", "-W0.3", a.String())
	return err == nil
}

func nft(t *testing.T, n *netlab.Node, args ...string) string {
	t.Helper()
	out, err := n.Exec(context.Background(), "nft", args...)
	if err != nil {
		t.Fatalf("nft %v: %v: %s", args, err, out)
	}
	return string(out)
}

func TestKernelFence(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("fence kernel test needs root (network namespaces, nftables)")
	}
	lab := netlab.New(t, netlab.Options{Nodes: 1, IPv6: true})
	lb, cl := lab.Nodes[0], lab.Client
	v4, v6 := netip.MustParseAddr("198.51.100.50"), netip.MustParseAddr("2001:db8::50")
	for _, a := range []string{v4.String() + "/24", v6.String() + "/64"} {
		if out, err := lb.Exec(context.Background(), "ip", "addr", "add", a, "dev", "eth0", "nodad"); err != nil {
			t.Fatalf("ip addr add %s: %v: %s", a, err, out)
		}
	}
	if !ping(cl, v4) || !ping(cl, v6) {
		t.Fatal("VIPs do not answer before fencing")
	}

	be, err := NewNFTables(NFTOptions{NetNS: "/run/netns/" + lb.NS, Watch: true})
	if err != nil {
		t.Fatal(err)
	}
	m := NewManager(zerolog.New(zerolog.NewTestWriter(t)), be, Options{Poll: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	var stopped bool
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	defer func() {
		stop()
		m.Close()
	}()

	if err := m.Drop("vi", []netip.Addr{v4, v6}); err != nil {
		t.Fatal(err)
	}
	st, err := be.Read()
	if err != nil || !st.Present || !st.Complete || !slices.Equal(sorted(st.Addrs), []netip.Addr{v4, v6}) {
		t.Fatalf("read after drop: %+v %v", st, err)
	}
	if ping(cl, v4) || ping(cl, v6) {
		t.Fatal("fenced VIP answered a ping")
	}
	// The node's own address is not fenced.
	if !ping(cl, lb.Addr4) {
		t.Fatal("node address fenced too")
	}

	// Deleted by hand: back within the bound (the change watch, not the
	// hour-long poll).
	for _, hand := range [][]string{
		{"delete", "table", "inet", TableName},
		{"flush", "chain", "inet", TableName, "in"},
		{"flush", "set", "inet", TableName, "vips4"},
	} {
		start := time.Now()
		nft(t, lb, hand...)
		for {
			st, err := be.Read()
			if err == nil && st.Present && st.Complete && slices.Equal(sorted(st.Addrs), []netip.Addr{v4, v6}) {
				break
			}
			if time.Since(start) > reconcileBound {
				t.Fatalf("nft %v: not repaired within %s: %+v %v", hand, reconcileBound, st, err)
			}
			time.Sleep(time.Millisecond)
		}
		t.Logf("nft %v repaired in %s", hand, time.Since(start))
	}
	if ping(cl, v4) {
		t.Fatal("VIP answered after the repair")
	}

	if err := m.Lift("vi"); err != nil {
		t.Fatal(err)
	}
	if !ping(cl, v4) || !ping(cl, v6) {
		t.Fatal("VIPs do not answer after lift")
	}
	stop()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if out := nft(t, lb, "list", "tables"); strings.Contains(out, TableName) {
		t.Fatalf("table left after close: %s", out)
	}
}
