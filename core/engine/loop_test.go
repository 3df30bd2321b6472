package engine

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"github.com/hawatch/hawatch/core/config"
	"github.com/hawatch/hawatch/core/vip"
	"github.com/hawatch/hawatch/core/vrrp"
	"github.com/hawatch/hawatch/core/vrrp/transport"
	"github.com/hawatch/hawatch/sdk"
)

// wire is an in-memory multicast segment: what one conn writes, every other
// plugged-in conn reads.
type wire struct {
	mu    sync.Mutex
	conns []*fakeConn
}

type fakeConn struct {
	w       *wire
	local   netip.Addr
	in      chan transport.Packet
	mu      sync.Mutex
	closed  bool
	plugged bool
}

func (w *wire) dial(local string) func(transport.Options) (Conn, error) {
	return func(transport.Options) (Conn, error) {
		c := &fakeConn{w: w, local: netip.MustParseAddr(local), in: make(chan transport.Packet, 64), plugged: true}
		w.mu.Lock()
		w.conns = append(w.conns, c)
		w.mu.Unlock()
		return c, nil
	}
}

// unplug cuts a node off the segment both ways, as a crash looks to peers.
func (w *wire) unplug(local string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.conns {
		if c.local == netip.MustParseAddr(local) {
			c.mu.Lock()
			c.plugged = false
			c.mu.Unlock()
		}
	}
}

func (c *fakeConn) ReadPacket([]byte) (transport.Packet, error) {
	p, ok := <-c.in
	if !ok {
		return transport.Packet{}, net.ErrClosed
	}
	return p, nil
}

func (c *fakeConn) WriteTo(payload []byte, dst netip.Addr) error {
	c.mu.Lock()
	plugged := c.plugged
	c.mu.Unlock()
	if !plugged {
		return nil
	}
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	for _, o := range c.w.conns {
		if o == c {
			continue
		}
		o.mu.Lock()
		if !o.closed && o.plugged {
			o.in <- transport.Packet{Payload: append([]byte(nil), payload...), Src: c.local, Dst: dst, TTL: 255}
		}
		o.mu.Unlock()
	}
	return nil
}

func (c *fakeConn) LocalAddr() netip.Addr    { return c.local }
func (c *fakeConn) Group() netip.Addr        { return vrrp.MulticastGroup4 }
func (c *fakeConn) Drops() map[string]uint64 { return map[string]uint64{} }
func (c *fakeConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		close(c.in)
	}
	return nil
}

// fakeVIPs records when the node acquired and released its VIPs.
type fakeVIPs struct {
	mu     sync.Mutex
	held   map[string]bool // by owner (instance)
	events []string        // "acquire@<virtual time since start>", "release@..."
	t0     time.Time
}

func (f *fakeVIPs) log(what string) {
	f.events = append(f.events, fmt.Sprintf("%s@%v", what, time.Since(f.t0).Round(time.Millisecond)))
}
func (f *fakeVIPs) Acquire(_ context.Context, owner string, _ []netip.Prefix, _ string, _ vip.Policy) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.held[owner] = true
	f.log("acquire " + owner)
	return nil
}
func (f *fakeVIPs) Release(_ context.Context, owner string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.held[owner] {
		f.log("release " + owner)
	}
	delete(f.held, owner)
	return nil
}
func (f *fakeVIPs) Reannounce(string)                                 {}
func (f *fakeVIPs) Watch(string, []netip.Prefix) error                { return nil }
func (f *fakeVIPs) Forget(ctx context.Context, name string) error     { return f.Release(ctx, name) }
func (f *fakeVIPs) RemoveStale(context.Context, []netip.Prefix) error { return nil }
func (f *fakeVIPs) Run(ctx context.Context) error                     { <-ctx.Done(); return nil }
func (f *fakeVIPs) Stats() vip.Stats                                  { return vip.Stats{} }
func (f *fakeVIPs) Close() error                                      { return nil }

// waitHeld waits (in virtual time) until the node holds its VIPs, at most
// limit, and returns how long it took.
func (n *node) waitHeld(t *testing.T, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for !n.vips.holds() {
		if time.Since(start) > limit {
			t.Fatalf("VIPs not acquired within %v (events %v)", limit, n.vips.events)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
}

func (f *fakeVIPs) holds() bool { return f.holdsFor("VI_1") }

func (f *fakeVIPs) holdsFor(owner string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.held[owner]
}

// feed is a check whose results the test pushes.
type feed chan sdk.Result

func (f feed) Results() <-chan sdk.Result { return f }

type node struct {
	cfg    *config.Config
	vips   *fakeVIPs
	cancel context.CancelFunc
	done   chan error
	eng    *Engine
}

func startNode(t *testing.T, w *wire, addr string, policy string, checks map[string]CheckFeed) *node {
	t.Helper()
	cfg, diags := config.Parse([]byte(policy), addr+".hcl")
	if diags.HasErrors() {
		t.Fatalf("policy: %v", diags)
	}
	n := &node{vips: &fakeVIPs{t0: time.Now(), held: map[string]bool{}}, done: make(chan error, 1)}
	eng, err := New(zerolog.Nop(), cfg, Options{
		Checks:        checks,
		Listen:        w.dial(addr),
		NewVIPManager: func(zerolog.Logger, string) (VIPManager, error) { return n.vips, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	n.eng = eng
	n.cfg = cfg
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go func() { n.done <- eng.Run(ctx) }()
	return n
}

func (n *node) stop(t *testing.T) {
	t.Helper()
	n.cancel()
	if err := <-n.done; err != nil {
		t.Fatal(err)
	}
}

func policy(prio int, extra string) string {
	return fmt.Sprintf(`
check "nginx" {
  plugin = "process"
}
plugin "process" {
  command = "hawatch-process"
}
vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 51
  priority          = %d
  advert_interval   = "1s"
  virtual_ips       = ["198.51.100.50/24"]
  %s
}
`, prio, extra)
}

// TestLoopFailoverTiming runs two engines over an in-memory segment on a
// fake clock and checks RFC 5798's timers exactly: election, takeover after
// a crash within [MDI-interval, MDI], takeover after a graceful stop at
// Skew_Time, and preemption back.
func TestLoopFailoverTiming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &wire{}
		lb2 := startNode(t, w, "198.51.100.12", policy(50, ""), nil)
		lb1 := startNode(t, w, "198.51.100.11", policy(100, ""), nil)
		mdi := vrrp.MasterDownInterval(3, 50, time.Second)
		skew := vrrp.SkewTime(3, 50, time.Second)

		time.Sleep(5 * time.Second)
		if !lb1.vips.holds() || lb2.vips.holds() {
			t.Fatalf("after election: lb1 holds %v, lb2 holds %v; want lb1 only (lb1 %v, lb2 %v)", lb1.vips.holds(), lb2.vips.holds(), lb1.vips.events, lb2.vips.events)
		}

		// Crash: lb1 vanishes from the wire mid-interval.
		time.Sleep(300 * time.Millisecond)
		w.unplug("198.51.100.11")
		took := lb2.waitHeld(t, 10*time.Second)
		if took < mdi-time.Second || took > mdi {
			t.Errorf("takeover after crash %v, want within [%v, %v]", took, mdi-time.Second, mdi)
		}
		lb1.stop(t)
		lb2.stop(t)

		// Graceful stop: priority 0, takeover after exactly Skew_Time.
		w = &wire{}
		lb2 = startNode(t, w, "198.51.100.12", policy(50, ""), nil)
		lb1 = startNode(t, w, "198.51.100.11", policy(100, ""), nil)
		time.Sleep(5 * time.Second)
		lb1.stop(t)
		if lb1.vips.holds() {
			t.Error("lb1 still holds its VIPs after a graceful stop")
		}
		if took := lb2.waitHeld(t, 10*time.Second); took < skew || took > skew+time.Millisecond {
			t.Errorf("takeover after graceful stop %v, want Skew_Time %v", took, skew)
		}

		// lb1 returns with the higher priority and preempts.
		lb1 = startNode(t, w, "198.51.100.11", policy(100, ""), nil)
		time.Sleep(5 * time.Second)
		if !lb1.vips.holds() || lb2.vips.holds() {
			t.Errorf("after lb1's return: lb1 holds %v, lb2 holds %v; want lb1 only", lb1.vips.holds(), lb2.vips.holds())
		}
		lb1.stop(t)
		lb2.stop(t)
	})
}

// TestLoopCheckFault: a failing fault-effect check takes the master to
// FAULT (priority 0, VIPs released) and the backup takes over after
// Skew_Time; the instance does not become master before its check reports.
func TestLoopCheckFault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &wire{}
		c1 := make(feed, 1)
		lb2 := startNode(t, w, "198.51.100.12", policy(50, ""), nil)
		lb1 := startNode(t, w, "198.51.100.11", policy(100, `track "nginx" {}`), map[string]CheckFeed{"nginx": c1})

		time.Sleep(5 * time.Second)
		if lb1.vips.holds() {
			t.Fatal("lb1 became master before its tracked check reported once")
		}
		if !lb2.vips.holds() {
			t.Fatal("lb2 is not master while lb1 waits for its check")
		}
		c1 <- sdk.Result{Status: sdk.StatusOK, Reason: "nginx: 1 process"}
		time.Sleep(5 * time.Second)
		if !lb1.vips.holds() || lb2.vips.holds() {
			t.Fatalf("after the check came up: lb1 holds %v, lb2 holds %v", lb1.vips.holds(), lb2.vips.holds())
		}

		c1 <- sdk.Result{Status: sdk.StatusFail, Reason: "nginx: 0 processes"}
		if took, skew := lb2.waitHeld(t, 10*time.Second), vrrp.SkewTime(3, 50, time.Second); took > skew+time.Millisecond {
			t.Errorf("takeover after check failure %v, want Skew_Time %v", took, skew)
		}
		if lb1.vips.holds() {
			t.Error("lb1 kept its VIPs in FAULT")
		}
		st, err := lb1.eng.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Instances[0].State; got != "FAULT" {
			t.Errorf("lb1 state %s, want FAULT", got)
		}
		if got := st.Instances[0].Stats.LastReason; got != vrrp.ReasonCheckFailed.String() {
			t.Errorf("lb1 last reason %q, want %q", got, vrrp.ReasonCheckFailed)
		}
		lb1.stop(t)
		lb2.stop(t)
	})
}

// TestLoopWeightAndDemote: a weight track lowers the master below the
// backup, which preempts; an operator demote holds a node in BACKUP.
func TestLoopWeightAndDemote(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &wire{}
		c1 := make(feed, 1)
		c1 <- sdk.Result{Status: sdk.StatusOK}
		lb2 := startNode(t, w, "198.51.100.12", policy(50, ""), nil)
		lb1 := startNode(t, w, "198.51.100.11", policy(100, `track "nginx" { weight = -60 }`), map[string]CheckFeed{"nginx": c1})
		time.Sleep(5 * time.Second)
		if !lb1.vips.holds() {
			t.Fatal("lb1 not master")
		}
		c1 <- sdk.Result{Status: sdk.StatusFail}
		time.Sleep(5 * time.Second)
		if lb1.vips.holds() || !lb2.vips.holds() {
			t.Fatalf("after weight -60 (100 → 40 < 50): lb1 holds %v, lb2 holds %v", lb1.vips.holds(), lb2.vips.holds())
		}
		st, _ := lb1.eng.Status(context.Background())
		if st.Instances[0].EffectivePriority != 40 || st.Instances[0].Ledger[0].Contribution != -60 {
			t.Errorf("ledger: effective %d, contribution %d; want 40, -60", st.Instances[0].EffectivePriority, st.Instances[0].Ledger[0].Contribution)
		}
		c1 <- sdk.Result{Status: sdk.StatusOK}
		time.Sleep(5 * time.Second)
		if !lb1.vips.holds() {
			t.Fatal("lb1 did not preempt back after its check recovered")
		}

		if err := lb1.eng.Demote(context.Background(), "VI_1", true); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Second)
		if lb1.vips.holds() || !lb2.vips.holds() {
			t.Fatalf("after demote: lb1 holds %v, lb2 holds %v", lb1.vips.holds(), lb2.vips.holds())
		}
		if err := lb1.eng.Demote(context.Background(), "VI_1", false); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Second)
		if !lb1.vips.holds() || lb2.vips.holds() {
			t.Fatalf("after promote: lb1 holds %v, lb2 holds %v", lb1.vips.holds(), lb2.vips.holds())
		}
		if err := lb1.eng.Demote(context.Background(), "nope", true); err == nil {
			t.Error("demote of an unknown instance succeeded")
		}
		lb1.stop(t)
		lb2.stop(t)
	})
}

// TestLoopReload: a reload keeps an unchanged instance untouched (no
// transition, VIPs held throughout), restarts only the instance whose VRRP
// parameters changed, starts an added one and shuts down a removed one.
func TestLoopReload(t *testing.T) {
	two := func(prio2 int, third bool) string {
		p := policy(100, "") + fmt.Sprintf(`
vrrp_instance "VI_2" {
  interface         = "eth0"
  virtual_router_id = 52
  priority          = %d
  advert_interval   = "1s"
  virtual_ips       = ["198.51.100.52/24"]
}
`, prio2)
		if third {
			p += `
vrrp_instance "VI_3" {
  interface         = "eth0"
  virtual_router_id = 53
  priority          = 100
  advert_interval   = "1s"
  virtual_ips       = ["198.51.100.53/24"]
}
`
		}
		return p
	}
	synctest.Test(t, func(t *testing.T) {
		w := &wire{}
		lb1 := startNode(t, w, "198.51.100.11", two(100, true), nil)
		time.Sleep(5 * time.Second)
		for _, name := range []string{"VI_1", "VI_2", "VI_3"} {
			if !lb1.vips.holdsFor(name) {
				t.Fatalf("%s not master before reload", name)
			}
		}
		before, _ := lb1.eng.Status(context.Background())

		next, diags := config.Parse([]byte(two(150, false)), "next.hcl")
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		if err := lb1.eng.Reconfigure(context.Background(), next, nil, nil); err != nil {
			t.Fatal(err)
		}
		if lb1.vips.holdsFor("VI_3") {
			t.Error("removed instance VI_3 still holds its VIPs")
		}
		time.Sleep(5 * time.Second)
		after, _ := lb1.eng.Status(context.Background())
		if len(after.Instances) != 2 {
			t.Fatalf("%d instances after reload, want 2", len(after.Instances))
		}
		if a, b := after.Instances[0], before.Instances[0]; a.Name != "VI_1" || a.Stats.Transitions != b.Stats.Transitions || a.State != "MASTER" {
			t.Errorf("unchanged VI_1 was disturbed: %d → %d transitions, state %s", b.Stats.Transitions, a.Stats.Transitions, a.State)
		}
		if got := after.Instances[1]; got.Name != "VI_2" || got.Priority != 150 || got.State != "MASTER" {
			t.Errorf("VI_2 after reload: %+v", got)
		}
		for _, ev := range lb1.vips.events {
			if ev == "release VI_1" {
				t.Errorf("VI_1 released its VIPs during the reload: %v", lb1.vips.events)
			}
		}
		// A plan that cannot be applied changes nothing.
		bad := *next
		bad.SyncGroups = []*config.SyncGroup{{Name: "G", Instances: []string{"VI_1", "VI_2"}}}
		if err := lb1.eng.Reconfigure(context.Background(), &bad, nil, nil); err == nil {
			t.Error("a sync-group change was applied by reload")
		}
		lb1.stop(t)
	})
}
