package e2e

// Strict mode and accept mode (issue 14): a master that is not the address
// owner and runs without accept mode drops traffic addressed to its VIPs
// (RFC 5798 §6.1 Accept_Mode, §6.4.3) through hawatch's nftables table,
// while VRRP carries on. The cases run at once, each in its own lab, with
// 100 ms adverts. Run them alone with
//
//	go test -count=1 -v -run TestStrict ./e2e

import (
	"context"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hawatch/hawatch/core/fence"
	"github.com/hawatch/hawatch/internal/netlab"
)

// pings sends n echo requests to a from node (one at a time, 300 ms to
// answer each) and returns how many were answered.
func pings(node *netlab.Node, a netip.Addr, n int) int {
	ok := 0
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if _, err := node.Exec(ctx, "ping", "-c1", "-W0.3", a.String()); err == nil {
			ok++
		}
		cancel()
	}
	return ok
}

// waitAnswered pings until one is answered, at most timeout.
func waitAnswered(t *testing.T, node *netlab.Node, a netip.Addr, timeout time.Duration) {
	t.Helper()
	end := time.Now().Add(timeout)
	for pings(node, a, 1) == 0 {
		if time.Now().After(end) {
			t.Fatalf("%s: no echo reply from %s within %v", node.Name, a, timeout)
		}
	}
}

// fenceState reads node's hawatch table from the test process (netlink in
// the node's namespace, no nft binary: a cheap poll).
func fenceState(t *testing.T, node *netlab.Node) fence.State {
	t.Helper()
	be, err := fence.NewNFTables(fence.NFTOptions{NetNS: "/run/netns/" + node.NS})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	st, err := be.Read()
	if err != nil {
		t.Fatalf("%s: read fence: %v", node.Name, err)
	}
	return st
}

// waitFence waits until node's table holds exactly want (nil: no table or
// an empty one) and returns how long that took.
func waitFence(t *testing.T, node *netlab.Node, want []netip.Addr, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		st := fenceState(t, node)
		if (len(want) == 0 && len(st.Addrs) == 0) || (st.Present && st.Complete && slices.Equal(st.Addrs, want)) {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("%s: fence %+v, want %v within %v", node.Name, st, want, timeout)
		}
		time.Sleep(time.Millisecond)
	}
}

func nftIn(t *testing.T, node *netlab.Node, args ...string) string {
	t.Helper()
	out, err := node.Exec(context.Background(), "nft", args...)
	if err != nil {
		t.Fatalf("%s: nft %v: %v\n%s", node.Name, args, err, out)
	}
	return string(out)
}

func strictInstance(vrid, prio int, vip string, extra string) instance {
	return instance{vrid: vrid, prio: prio, version: 3, interval: "100ms", vips: []string{vip}, extra: extra}
}

// TestStrictAcceptMode runs four cases at once:
//
//   - no-accept: a strict pair (accept off by default). The client's ping to
//     the VIP is dropped on the master, which holds the VIP and advertises
//     (the backup stays BACKUP); the node's own address still answers. The
//     fence follows a graceful failover to lb2 and is gone from lb1; on
//     lb2, the table deleted, its chain or its set flushed by hand, is put
//     back within the VIP reconciliation bound, and the ping stays dropped.
//   - accept: strict with accept = true (RFC 5798 Accept_Mode True): the
//     ping to the VIP is answered and no address is fenced.
//   - owner: strict, the address owner (priority 255) of its own address:
//     it always accepts; nothing fenced.
//   - ipv6: a strict IPv6 master: the ping to its VIP is dropped, yet the
//     client resolves the VIP to the master (neighbour discovery passes the
//     fence).
//   - keepalived: a keepalived 2.2.7 pair with vrrp_strict, the reference:
//     its master drops the ping too (its own "keepalived" nftables table).
func TestStrictAcceptMode(t *testing.T) {
	needRoot(t)
	cases := []string{"no-accept", "accept", "owner", "ipv6", "keepalived"}
	runAll(t, cases, func(t *testing.T, i int) {
		switch cases[i] {
		case "no-accept":
			strictNoAccept(t)
		case "accept":
			lab := netlab.New(t, netlab.Options{Nodes: 1})
			lb1, client := lab.Nodes[0], lab.Client
			vip := netip.MustParsePrefix("198.51.100.61/24")
			d := startDaemonWith(t, lb1, "strict = true", strictInstance(62, 100, vip.String(), "  accept = true\n").String())
			d.waitState("MASTER", 5*time.Second)
			waitVIP(t, lb1, vip, true, 2*time.Second)
			waitAnswered(t, client, vip.Addr(), 3*time.Second)
			if st := fenceState(t, lb1); len(st.Addrs) != 0 {
				t.Fatalf("accept = true, yet fenced: %+v", st)
			}
		case "owner":
			lab := netlab.New(t, netlab.Options{Nodes: 1})
			lb1, client := lab.Nodes[0], lab.Client
			own := lb1.Prefix4()
			d := startDaemonWith(t, lb1, "strict = true", strictInstance(63, 255, own.String(), "  address_owner = true\n").String())
			d.waitState("MASTER", 5*time.Second)
			waitAnswered(t, client, own.Addr(), 3*time.Second)
			if st := fenceState(t, lb1); len(st.Addrs) != 0 {
				t.Fatalf("address owner fenced: %+v", st)
			}
		case "ipv6":
			lab := netlab.New(t, netlab.Options{Nodes: 1, IPv6: true})
			lb1, client := lab.Nodes[0], lab.Client
			vip := netip.MustParsePrefix("2001:db8::65/64")
			d := startDaemonWith(t, lb1, "strict = true", strictInstance(65, 100, vip.String(), "").String())
			d.waitState("MASTER", 5*time.Second)
			waitVIP(t, lb1, vip, true, 2*time.Second)
			waitFence(t, lb1, []netip.Addr{vip.Addr()}, 2*time.Second)
			if got := pings(client, vip.Addr(), 3); got != 0 {
				t.Fatalf("strict IPv6 master answered %d of 3 pings to the VIP", got)
			}
			if mac, _, err := client.Neigh(vip.Addr()); err != nil || mac.String() != lb1.MAC.String() {
				t.Fatalf("client's neighbour entry for the VIP: %v %v, want lb1 %v (neighbour discovery must pass the fence)", mac, err, lb1.MAC)
			}
			if pings(client, lb1.Addr6, 1) != 1 {
				t.Fatal("lb1's own IPv6 address does not answer")
			}
		case "keepalived":
			strictKeepalived(t)
		}
	})
}

func strictNoAccept(t *testing.T) {
	lab := netlab.New(t, netlab.Options{Nodes: 2})
	lb1, lb2, client := lab.Nodes[0], lab.Nodes[1], lab.Client
	vip := netip.MustParsePrefix("198.51.100.60/24")
	d1 := startDaemonWith(t, lb1, "strict = true", strictInstance(61, 100, vip.String(), "").String())
	d2 := startDaemonWith(t, lb2, "strict = true", strictInstance(61, 50, vip.String(), "").String())
	d1.waitState("MASTER", 5*time.Second)
	d2.waitState("BACKUP", 5*time.Second)
	waitVIP(t, lb1, vip, true, 2*time.Second)
	waitFence(t, lb1, []netip.Addr{vip.Addr()}, 2*time.Second)
	// Both may have been master for a moment while starting (under load
	// lb2's process can start first); from here on lb1 advertises.
	lb2Masters := d2.transitions("MASTER")
	if got := pings(client, vip.Addr(), 3); got != 0 {
		t.Fatalf("strict master without accept answered %d of 3 pings to the VIP", got)
	}
	// Dropped by the fence, not lost: lb1's own address answers, the VIP
	// is on lb1's eth0, and the client resolved it to lb1 (ARP is not IP).
	if pings(client, lb1.Addr4, 1) != 1 {
		t.Fatal("lb1's own address does not answer")
	}
	if mac, _, err := client.Neigh(vip.Addr()); err != nil || mac.String() != lb1.MAC.String() {
		t.Fatalf("client's neighbour entry for the VIP: %v %v, want lb1 %v", mac, err, lb1.MAC)
	}
	if st := fenceState(t, lb2); len(st.Addrs) != 0 {
		t.Fatalf("backup fences %v", st.Addrs)
	}
	// VRRP still works: lb2 stayed backup throughout.
	if n := d2.transitions("MASTER") - lb2Masters; n != 0 {
		t.Fatalf("lb2 became master %d times while lb1 advertised", n)
	}

	// Graceful failover: the fence follows the master.
	d1.stop()
	d2.waitState("MASTER", 2*time.Second)
	waitVIP(t, lb2, vip, true, 2*time.Second)
	waitFence(t, lb2, []netip.Addr{vip.Addr()}, 2*time.Second)
	if out := nftIn(t, lb1, "list", "tables"); strings.Contains(out, fence.TableName) {
		t.Fatalf("lb1 stopped but its table is left:\n%s", out)
	}
	if got := pings(client, vip.Addr(), 2); got != 0 {
		t.Fatalf("new master lb2 answered %d of 2 pings to the VIP", got)
	}

	// Changed by hand on the master: put back.
	var took []time.Duration
	for _, hand := range [][]string{
		{"delete", "table", "inet", fence.TableName},
		{"flush", "chain", "inet", fence.TableName, "in"},
		{"flush", "set", "inet", fence.TableName, "vips4"},
	} {
		nftIn(t, lb2, hand...)
		d := waitFence(t, lb2, []netip.Addr{vip.Addr()}, vipReconcileBound+loadSlack)
		took = append(took, d)
		t.Logf("nft %s: fence back after %v", strings.Join(hand, " "), d)
	}
	sort.Slice(took, func(a, b int) bool { return took[a] < took[b] })
	t.Logf("RESULT strict fence repair after nft (delete table, flush chain, flush set): %v (median %v)", took, took[1])
	if took[1] > vipReconcileBound {
		t.Errorf("median repair %v, want ≤ %v (the VIP reconciliation bound)", took[1], vipReconcileBound)
	}
	if got := pings(client, vip.Addr(), 2); got != 0 {
		t.Fatalf("after the repairs lb2 answered %d of 2 pings to the VIP", got)
	}
	d2.stop()
	if out := nftIn(t, lb2, "list", "tables"); strings.Contains(out, fence.TableName) {
		t.Fatalf("lb2 stopped but its table is left:\n%s", out)
	}
}

func strictKeepalived(t *testing.T) {
	needKeepalived(t)
	lab := netlab.New(t, netlab.Options{Nodes: 2})
	lb1, lb2, client := lab.Nodes[0], lab.Nodes[1], lab.Client
	vip := netip.MustParsePrefix("198.51.100.64/24")
	kc := func(prio int) netlab.KeepalivedConfig {
		return netlab.KeepalivedConfig{VRID: 64, Priority: prio, Version: 3, AdvertInterval: 100 * time.Millisecond,
			VIPs: []string{vip.String()}, Global: []string{"vrrp_strict"}}
	}
	k1 := netlab.StartKeepalived(t, lb1, kc(100))
	netlab.StartKeepalived(t, lb2, kc(50))
	waitVIP(t, lb1, vip, true, 5*time.Second)
	got := pings(client, vip.Addr(), 3)
	rules := nftIn(t, lb1, "list", "ruleset")
	t.Logf("keepalived 2.2.7 vrrp_strict master: %d of 3 pings to the VIP answered; its ruleset:\n%s", got, rules)
	if got != 0 || !strings.Contains(rules, "table ip keepalived") {
		t.Fatalf("keepalived with vrrp_strict answered %d pings (its log:\n%s)", got, k1.Output())
	}
}
