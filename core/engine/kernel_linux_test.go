package engine

// Kernel tests: root only, in a throw-away internal/netlab lab. The engine
// runs with the real vip.Manager on lb1's eth0 (through Options.NetNS) and
// VRRP over the in-memory lan, so the kernel's addresses are real.

import (
	"context"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hawatch/hawatch/core/config"
	"github.com/hawatch/hawatch/core/vip"
	"github.com/hawatch/hawatch/core/vrrp"
	"github.com/hawatch/hawatch/internal/netlab"
	"github.com/hawatch/hawatch/sdk"
)

// TestKernelAddressOwnerKeepsOwnAddress: an address owner whose VIP is
// lb1's own address goes through demote, promote, a failing check and a
// stop; the address is on eth0 throughout and after, while the non-owner
// instance beside it adds and removes its VIP as usual.
func TestKernelAddressOwnerKeepsOwnAddress(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("kernel tests need root (network namespaces); run as root")
	}
	lab := netlab.New(t, netlab.Options{Nodes: 1, NoClient: true})
	lb1 := lab.Nodes[0]
	own := lb1.Prefix4()
	vip50 := netip.MustParsePrefix("198.51.100.50/24")
	policy := `
check "nginx" {
  plugin = "process"
}
plugin "process" {
  command = "hawatch-process"
}
vrrp_instance "OWNER" {
  interface         = "eth0"
  virtual_router_id = 51
  priority          = 255
  address_owner     = true
  advert_interval   = "100ms"
  virtual_ips       = ["` + own.String() + `"]
  track "nginx" {}
}
vrrp_instance "VI_2" {
  interface         = "eth0"
  virtual_router_id = 52
  priority          = 100
  advert_interval   = "100ms"
  virtual_ips       = ["198.51.100.50/24"]
}
`
	cfg, diags := config.Parse([]byte(policy), "lb1.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	c := make(feed, 1)
	log := zerolog.New(zerolog.NewTestWriter(t))
	eng, err := New(log, cfg, Options{
		Checks: map[string]CheckFeed{"nginx": c},
		Listen: (&lan{}).dial(lb1.Addr4.String()),
		NewVIPManager: func(log zerolog.Logger, ifname string) (VIPManager, error) {
			return vip.NewManager(log, ifname, vip.Options{NetNS: "/run/netns/" + lb1.NS})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	has := func(p netip.Prefix) bool {
		ok, err := lb1.HasAddr("eth0", p)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	waitState := func(name string, want vrrp.State) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Second)
		for {
			st, err := eng.Status(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range st.Instances {
				if in.Name == name && in.State == want {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never reached %s", name, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	step := func(what string, f func()) {
		t.Helper()
		f()
		if !has(own) {
			t.Fatalf("after %s: lb1's own address %s is gone", what, own)
		}
	}
	c <- sdk.Result{Status: sdk.StatusOK}
	step("start", func() { waitState("OWNER", vrrp.StateMaster) })
	waitState("VI_2", vrrp.StateMaster)
	waitAddr(t, lb1, vip50, true)
	step("demote", func() {
		if err := eng.Demote(ctx, "", true); err != nil {
			t.Fatal(err)
		}
		waitState("OWNER", vrrp.StateBackup)
		waitAddr(t, lb1, vip50, false)
	})
	step("promote", func() {
		if err := eng.Demote(ctx, "", false); err != nil {
			t.Fatal(err)
		}
		waitState("OWNER", vrrp.StateMaster)
		waitAddr(t, lb1, vip50, true)
	})
	step("fault", func() {
		c <- sdk.Result{Status: sdk.StatusFail}
		waitState("OWNER", vrrp.StateFault)
	})
	step("recovery", func() {
		c <- sdk.Result{Status: sdk.StatusOK}
		waitState("OWNER", vrrp.StateMaster)
	})
	step("stop", func() {
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		done <- nil
	})
	if has(vip50) {
		t.Error("VI_2's VIP still on eth0 after the engine stopped")
	}
}

func waitAddr(t *testing.T, n *netlab.Node, p netip.Prefix, present bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := n.WaitAddr(ctx, "eth0", p, present); err != nil {
		t.Fatalf("%s present=%v: %v", p, present, err)
	}
}
