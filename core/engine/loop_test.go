package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/hawatch/hawatch/core/config"
	"github.com/hawatch/hawatch/core/vip"
	"github.com/hawatch/hawatch/core/vrrp"
	"github.com/hawatch/hawatch/core/vrrp/transport"
	"github.com/hawatch/hawatch/sdk"
)

// Every goroutine the engine starts is joined before Run returns.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// lan is a set of in-memory multicast segments, one per interface name:
// what one conn writes, every other conn plugged into the same segment
// reads. Every write is recorded with its (virtual) time.
type lan struct {
	mu     sync.Mutex
	conns  []*fakeConn
	writes []write
}

type write struct {
	at     time.Time
	ifname string
	src    netip.Addr
	advert *vrrp.Advert
}

type fakeConn struct {
	lan     *lan
	ifname  string
	local   netip.Addr
	in      chan transport.Packet
	mu      sync.Mutex
	closed  bool
	plugged bool
}

func (l *lan) dial(local string) func(transport.Options) (Conn, error) {
	return func(o transport.Options) (Conn, error) {
		c := &fakeConn{lan: l, ifname: o.Interface, local: netip.MustParseAddr(local), in: make(chan transport.Packet, 64), plugged: true}
		l.mu.Lock()
		l.conns = append(l.conns, c)
		l.mu.Unlock()
		return c, nil
	}
}

// unplug cuts a node off every segment both ways, as a crash looks to peers.
func (l *lan) unplug(local string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		if c.local == netip.MustParseAddr(local) {
			c.mu.Lock()
			c.plugged = false
			c.mu.Unlock()
		}
	}
}

// sent returns the times src sent adverts for vrid on ifname, with their
// priorities.
func (l *lan) sent(ifname, src string, vrid uint8) (at []time.Time, prio []uint8) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, w := range l.writes {
		if w.ifname == ifname && w.src == netip.MustParseAddr(src) && w.advert.VRID == vrid {
			at = append(at, w.at)
			prio = append(prio, w.advert.Priority)
		}
	}
	return at, prio
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
	a, err := vrrp.ParseAdvert(payload, c.local, dst)
	if err != nil {
		return fmt.Errorf("fake wire: the engine sent an undecodable advert: %w", err)
	}
	c.lan.mu.Lock()
	defer c.lan.mu.Unlock()
	c.lan.writes = append(c.lan.writes, write{at: time.Now(), ifname: c.ifname, src: c.local, advert: a})
	for _, o := range c.lan.conns {
		if o == c || o.ifname != c.ifname {
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

// vipCall is one call the engine's VIP worker made on an interface's
// manager, with the virtual time it started.
type vipCall struct {
	at     time.Time
	op     string // acquire, release, announce, quiet, watch, forget, remove-stale
	owner  string
	ifname string
}

// fakeVIPs is every interface's VIP manager of one node: it records the
// calls and what each owner holds. block makes Acquire on an interface
// take that long, as a stuck netlink call would.
type fakeVIPs struct {
	mu    sync.Mutex
	held  map[string]bool // by owner (instance)
	calls []vipCall
	block map[string]time.Duration // by interface
	// rebindErr is what Rebind returns (a manager that cannot re-bind).
	rebindErr error
}

func newFakeVIPs() *fakeVIPs {
	return &fakeVIPs{held: map[string]bool{}, block: map[string]time.Duration{}}
}

// manager returns the VIPManager of one interface.
func (f *fakeVIPs) manager(ifname string) VIPManager { return &fakeManager{f: f, ifname: ifname} }

func (f *fakeVIPs) record(ifname, op, owner string) {
	f.calls = append(f.calls, vipCall{at: time.Now(), op: op, owner: owner, ifname: ifname})
}

// count returns how many times op was called for owner.
func (f *fakeVIPs) count(op, owner string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c.op == op && c.owner == owner {
			n++
		}
	}
	return n
}

func (f *fakeVIPs) holds() bool { return f.holdsFor("VI_1") }

func (f *fakeVIPs) holdsFor(owner string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.held[owner]
}

type fakeManager struct {
	f      *fakeVIPs
	ifname string
}

func (m *fakeManager) Acquire(_ context.Context, owner string, _ []netip.Prefix, _ string) error {
	m.f.mu.Lock()
	m.f.record(m.ifname, "acquire", owner)
	d := m.f.block[m.ifname]
	m.f.mu.Unlock()
	time.Sleep(d)
	m.f.mu.Lock()
	defer m.f.mu.Unlock()
	m.f.held[owner] = true
	return nil
}

func (m *fakeManager) AcquireAddresses(ctx context.Context, owner string, addrs []vip.Address) error {
	return m.Acquire(ctx, owner, nil, "")
}

func (m *fakeManager) Release(_ context.Context, owner string) error {
	m.f.mu.Lock()
	defer m.f.mu.Unlock()
	m.f.record(m.ifname, "release", owner)
	delete(m.f.held, owner)
	return nil
}

func (m *fakeManager) Announce(owner string, _ []netip.Prefix, _ vip.Policy) error {
	m.f.mu.Lock()
	defer m.f.mu.Unlock()
	m.f.record(m.ifname, "announce", owner)
	return nil
}

func (m *fakeManager) Quiet(owner string) {
	m.f.mu.Lock()
	defer m.f.mu.Unlock()
	m.f.record(m.ifname, "quiet", owner)
}

func (m *fakeManager) Watch(owner string, _ []netip.Prefix) error {
	m.f.mu.Lock()
	defer m.f.mu.Unlock()
	m.f.record(m.ifname, "watch", owner)
	return nil
}

func (m *fakeManager) Forget(ctx context.Context, owner string) error {
	m.f.mu.Lock()
	m.f.record(m.ifname, "forget", owner)
	m.f.mu.Unlock()
	return m.Release(ctx, owner)
}

func (m *fakeManager) Rebind(context.Context) error {
	m.f.mu.Lock()
	defer m.f.mu.Unlock()
	m.f.record(m.ifname, "rebind", "")
	return m.f.rebindErr
}

func (m *fakeManager) RemoveStale(context.Context, []netip.Prefix) error { return nil }
func (m *fakeManager) Run(ctx context.Context) error                     { <-ctx.Done(); return nil }
func (m *fakeManager) Stats() vip.Stats                                  { return vip.Stats{} }
func (m *fakeManager) Close() error                                      { return nil }

// waitHeld waits (in virtual time) until the node holds VI_1's VIPs, at
// most limit, and returns how long it took.
func (n *node) waitHeld(t *testing.T, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for !n.vips.holds() {
		if time.Since(start) > limit {
			t.Fatalf("VIPs not acquired within %v (calls %v)", limit, n.vips.calls)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
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

func startNode(t *testing.T, l *lan, addr string, policy string, checks map[string]CheckFeed) *node {
	t.Helper()
	return startNodeWith(t, l, addr, policy, Options{Checks: checks})
}

// startNodeWith starts a node with opts (Listen and NewVIPManager are the
// lan's and the fakes').
func startNodeWith(t *testing.T, l *lan, addr string, policy string, opts Options) *node {
	t.Helper()
	cfg, diags := config.Parse([]byte(policy), addr+".hcl")
	if diags.HasErrors() {
		t.Fatalf("policy: %v", diags)
	}
	n := &node{vips: newFakeVIPs(), done: make(chan error, 1), cfg: cfg}
	opts.Listen = l.dial(addr)
	opts.NewVIPManager = func(_ zerolog.Logger, ifname string) (VIPManager, error) { return n.vips.manager(ifname), nil }
	eng, err := New(zerolog.Nop(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	n.eng = eng
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

func (n *node) instance(t *testing.T, name string) InstanceStatus {
	t.Helper()
	st, err := n.eng.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range st.Instances {
		if in.Name == name {
			return in
		}
	}
	t.Fatalf("no instance %s in status", name)
	return InstanceStatus{}
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
		l := &lan{}
		lb2 := startNode(t, l, "198.51.100.12", policy(50, ""), nil)
		lb1 := startNode(t, l, "198.51.100.11", policy(100, ""), nil)
		mdi := vrrp.MasterDownInterval(3, 50, time.Second)
		skew := vrrp.SkewTime(3, 50, time.Second)

		time.Sleep(5 * time.Second)
		if !lb1.vips.holds() || lb2.vips.holds() {
			t.Fatalf("after election: lb1 holds %v, lb2 holds %v; want lb1 only (lb1 %v, lb2 %v)", lb1.vips.holds(), lb2.vips.holds(), lb1.vips.calls, lb2.vips.calls)
		}

		// Crash: lb1 vanishes from the wire mid-interval.
		time.Sleep(300 * time.Millisecond)
		l.unplug("198.51.100.11")
		took := lb2.waitHeld(t, 10*time.Second)
		if took < mdi-time.Second || took > mdi {
			t.Errorf("takeover after crash %v, want within [%v, %v]", took, mdi-time.Second, mdi)
		}
		lb1.stop(t)
		lb2.stop(t)

		// Graceful stop: priority 0, takeover after exactly Skew_Time.
		l = &lan{}
		lb2 = startNode(t, l, "198.51.100.12", policy(50, ""), nil)
		lb1 = startNode(t, l, "198.51.100.11", policy(100, ""), nil)
		time.Sleep(5 * time.Second)
		lb1.stop(t)
		if lb1.vips.holds() {
			t.Error("lb1 still holds its VIPs after a graceful stop")
		}
		if took := lb2.waitHeld(t, 10*time.Second); took < skew || took > skew+time.Millisecond {
			t.Errorf("takeover after graceful stop %v, want Skew_Time %v", took, skew)
		}

		// lb1 returns with the higher priority and preempts.
		lb1 = startNode(t, l, "198.51.100.11", policy(100, ""), nil)
		time.Sleep(5 * time.Second)
		if !lb1.vips.holds() || lb2.vips.holds() {
			t.Errorf("after lb1's return: lb1 holds %v, lb2 holds %v; want lb1 only", lb1.vips.holds(), lb2.vips.holds())
		}
		// One takeover, one announcement: the burst is never sent twice.
		if a, q := lb1.vips.count("acquire", "VI_1"), lb1.vips.count("announce", "VI_1"); a != 1 || q != 1 {
			t.Errorf("lb1 acquired %d times and announced %d times for one takeover", a, q)
		}
		lb1.stop(t)
		lb2.stop(t)
	})
}

// TestLoopCheckFault: a failing fault-effect check takes the master to
// FAULT (priority 0, VIPs released) and the backup takes over after
// Skew_Time; the instance does not become master before its check reports,
// and while it waits its hold says so (not "check failed").
func TestLoopCheckFault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &lan{}
		c1 := make(feed, 1)
		lb2 := startNode(t, l, "198.51.100.12", policy(50, ""), nil)
		lb1 := startNode(t, l, "198.51.100.11", policy(100, `track "nginx" {}`), map[string]CheckFeed{"nginx": c1})

		time.Sleep(5 * time.Second)
		if lb1.vips.holds() {
			t.Fatal("lb1 became master before its tracked check reported once")
		}
		if !lb2.vips.holds() {
			t.Fatal("lb2 is not master while lb1 waits for its check")
		}
		in := lb1.instance(t, "VI_1")
		if len(in.Holds) != 1 || in.Holds[0].Reason != vrrp.ReasonCheckPending || in.LastReason == vrrp.ReasonCheckFailed.String() {
			t.Errorf("lb1 waiting for its first result: holds %+v, last reason %q; want one %q hold", in.Holds, in.LastReason, vrrp.ReasonCheckPending)
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
		in = lb1.instance(t, "VI_1")
		if in.State != vrrp.StateFault || in.LastReason != vrrp.ReasonCheckFailed.String() || in.VIPsHeld {
			t.Errorf("lb1: state %s, last reason %q, VIPs held %v; want FAULT, %q, false", in.State, in.LastReason, in.VIPsHeld, vrrp.ReasonCheckFailed)
		}
		lb1.stop(t)
		lb2.stop(t)
	})
}

// TestLoopWeightAndDemote: a weight track lowers the master below the
// backup, which preempts; an operator demote holds a node in BACKUP; an
// unknown instance is an error the control API can tell apart.
func TestLoopWeightAndDemote(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &lan{}
		c1 := make(feed, 1)
		c1 <- sdk.Result{Status: sdk.StatusOK}
		lb2 := startNode(t, l, "198.51.100.12", policy(50, ""), nil)
		lb1 := startNode(t, l, "198.51.100.11", policy(100, `track "nginx" { weight = -60 }`), map[string]CheckFeed{"nginx": c1})
		time.Sleep(5 * time.Second)
		if !lb1.vips.holds() {
			t.Fatal("lb1 not master")
		}
		c1 <- sdk.Result{Status: sdk.StatusFail}
		time.Sleep(5 * time.Second)
		if lb1.vips.holds() || !lb2.vips.holds() {
			t.Fatalf("after weight -60 (100 → 40 < 50): lb1 holds %v, lb2 holds %v", lb1.vips.holds(), lb2.vips.holds())
		}
		if in := lb1.instance(t, "VI_1"); in.EffectivePriority != 40 || in.Ledger[0].Contribution != -60 {
			t.Errorf("ledger: effective %d, contribution %d; want 40, -60", in.EffectivePriority, in.Ledger[0].Contribution)
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
		if err := lb1.eng.Demote(context.Background(), "nope", true); !errors.Is(err, ErrUnknownInstance) {
			t.Errorf("demote of an unknown instance: %v, want ErrUnknownInstance", err)
		}
		lb1.stop(t)
		lb2.stop(t)
		if err := lb1.eng.Demote(context.Background(), "VI_1", true); !errors.Is(err, ErrStopped) {
			t.Errorf("demote after Run returned: %v, want ErrStopped", err)
		}
	})
}

// TestLoopReload: a reload keeps an unchanged instance untouched (no
// transition, VIPs never released), restarts only the instance whose VRRP
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
		l := &lan{}
		lb1 := startNode(t, l, "198.51.100.11", two(100, true), nil)
		time.Sleep(5 * time.Second)
		for _, name := range []string{"VI_1", "VI_2", "VI_3"} {
			if !lb1.vips.holdsFor(name) {
				t.Fatalf("%s not master before reload", name)
			}
		}
		before := lb1.instance(t, "VI_1")

		next, diags := config.Parse([]byte(two(150, false)), "next.hcl")
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		if err := lb1.eng.Reconfigure(context.Background(), next, nil, nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Second)
		if lb1.vips.holdsFor("VI_3") || lb1.vips.count("forget", "VI_3") != 1 {
			t.Errorf("removed instance VI_3: holds %v, forgotten %d times", lb1.vips.holdsFor("VI_3"), lb1.vips.count("forget", "VI_3"))
		}
		st, err := lb1.eng.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Instances) != 2 {
			t.Fatalf("%d instances after reload, want 2", len(st.Instances))
		}
		if a := st.Instances[0]; a.Name != "VI_1" || a.Transitions != before.Transitions || a.State != vrrp.StateMaster {
			t.Errorf("unchanged VI_1 was disturbed: %d → %d transitions, state %s", before.Transitions, a.Transitions, a.State)
		}
		if n := lb1.vips.count("release", "VI_1"); n != 0 {
			t.Errorf("VI_1 released its VIPs %d times during the reload: %v", n, lb1.vips.calls)
		}
		if got := st.Instances[1]; got.Name != "VI_2" || got.Priority != 150 || got.State != vrrp.StateMaster || !lb1.vips.holdsFor("VI_2") {
			t.Errorf("VI_2 after reload: %s prio %d, holds %v", got.State, got.Priority, lb1.vips.holdsFor("VI_2"))
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

// TestLoopAddressOwner: an address owner's VIPs are the node's own. Start,
// demote, fault, an owner tie and stop announce or go quiet, and never
// acquire, release or forget them.
func TestLoopAddressOwner(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		owner := `
check "nginx" {
  plugin = "process"
}
plugin "process" {
  command = "hawatch-process"
}
vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 51
  priority          = 255
  address_owner     = true
  advert_interval   = "1s"
  virtual_ips       = ["198.51.100.11/24"]
  track "nginx" {}
}
`
		l := &lan{}
		c1 := make(feed, 1)
		lb1 := startNode(t, l, "198.51.100.11", owner, map[string]CheckFeed{"nginx": c1})
		c1 <- sdk.Result{Status: sdk.StatusOK}
		time.Sleep(2 * time.Second)
		if in := lb1.instance(t, "VI_1"); in.State != vrrp.StateMaster {
			t.Fatalf("owner state %s, want MASTER", in.State)
		}
		if err := lb1.eng.Demote(context.Background(), "VI_1", true); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		if err := lb1.eng.Demote(context.Background(), "VI_1", false); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		c1 <- sdk.Result{Status: sdk.StatusFail}
		time.Sleep(time.Second)
		if in := lb1.instance(t, "VI_1"); in.State != vrrp.StateFault {
			t.Fatalf("owner state %s after its check failed, want FAULT", in.State)
		}
		c1 <- sdk.Result{Status: sdk.StatusOK}
		time.Sleep(time.Second)
		// Another owner on the segment with a higher address wins the tie.
		lb3 := startNode(t, l, "198.51.100.13", strings255(owner), nil)
		time.Sleep(3 * time.Second)
		lb1.stop(t)
		lb3.stop(t)
		for _, op := range []string{"acquire", "release", "forget", "watch"} {
			if n := lb1.vips.count(op, "VI_1"); n != 0 {
				t.Errorf("address owner: %s called %d times (calls %v)", op, n, lb1.vips.calls)
			}
		}
		if a, q := lb1.vips.count("announce", "VI_1"), lb1.vips.count("quiet", "VI_1"); a != 3 || q < 3 {
			t.Errorf("address owner announced %d times and went quiet %d times; want 3 takeovers, at least 3 quiets (demote, fault, tie/stop)", a, q)
		}
	})
}

// strings255 is the owner policy for a second owner (no track).
func strings255(p string) string {
	return p[:len(p)-len("  track \"nginx\" {}\n}\n")] + "}\n"
}

// TestLoopBlockedVIPBackend: a netlink call that hangs for 2 s on one
// interface delays that interface's addresses only. The instance on the
// other interface, and the blocked instance itself, keep advertising on
// time: the largest gap between adverts stays at the interval.
func TestLoopBlockedVIPBackend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		two := `
vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 51
  priority          = 100
  advert_interval   = "100ms"
  virtual_ips       = ["198.51.100.50/24"]
}
vrrp_instance "VI_2" {
  interface         = "eth1"
  virtual_router_id = 52
  priority          = 100
  advert_interval   = "100ms"
  virtual_ips       = ["198.51.100.60/24"]
}
`
		l := &lan{}
		cfg, diags := config.Parse([]byte(two), "lb1.hcl")
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		vips := newFakeVIPs()
		vips.block["eth0"] = 2 * time.Second
		eng, err := New(zerolog.Nop(), cfg, Options{Listen: l.dial("198.51.100.11"),
			NewVIPManager: func(_ zerolog.Logger, ifname string) (VIPManager, error) { return vips.manager(ifname), nil }})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- eng.Run(ctx) }()
		time.Sleep(5 * time.Second)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			ifname string
			vrid   uint8
		}{{"eth0", 51}, {"eth1", 52}} {
			at, prio := l.sent(c.ifname, "198.51.100.11", c.vrid)
			i := slices.Index(prio, 100)
			if i < 0 {
				t.Fatalf("%s: never became master", c.ifname)
			}
			var gap time.Duration
			for j := i + 1; j < len(at); j++ {
				gap = max(gap, at[j].Sub(at[j-1]))
			}
			t.Logf("%s: master at +%v, %d adverts, largest gap %v", c.ifname, at[i].Sub(start), len(at)-i, gap)
			if gap > 100*time.Millisecond {
				t.Errorf("%s: largest gap between adverts %v with eth0's netlink stuck for 2 s, want the 100ms interval", c.ifname, gap)
			}
		}
		var acquired []time.Duration
		for _, call := range vips.calls {
			if call.op == "acquire" {
				acquired = append(acquired, call.at.Sub(start))
			}
		}
		if len(acquired) != 2 || vips.count("release", "VI_1") != 1 || vips.count("release", "VI_2") != 1 {
			t.Errorf("acquire calls at %v, releases VI_1 %d VI_2 %d; want one acquire each and both released at stop", acquired, vips.count("release", "VI_1"), vips.count("release", "VI_2"))
		}
	})
}

// TestLoopVIPIntentsCoalesce: intents queued behind a stuck netlink call
// collapse to the latest wanted state: a router that became master and
// then was demoted while its interface's worker was stuck ends released,
// without the worker replaying every step in between.
func TestLoopVIPIntentsCoalesce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &lan{}
		lb1 := startNode(t, l, "198.51.100.11", policy(100, ""), nil)
		lb1.vips.mu.Lock()
		lb1.vips.block["eth0"] = 3 * time.Second
		lb1.vips.mu.Unlock()
		time.Sleep(4 * time.Second) // master at 3.61 s; its acquire hangs
		for range 3 {
			if err := lb1.eng.Demote(context.Background(), "VI_1", true); err != nil {
				t.Fatal(err)
			}
			if err := lb1.eng.Demote(context.Background(), "VI_1", false); err != nil {
				t.Fatal(err)
			}
		}
		if err := lb1.eng.Demote(context.Background(), "VI_1", true); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second)
		if lb1.vips.holds() {
			t.Error("demoted instance still holds its VIPs")
		}
		if a := lb1.vips.count("acquire", "VI_1"); a > 2 {
			t.Errorf("%d acquire calls for 4 takeovers queued behind a stuck call; want them coalesced", a)
		}
		if in := lb1.instance(t, "VI_1"); in.State != vrrp.StateBackup || in.VIPsHeld {
			t.Errorf("state %s, VIPs held %v; want BACKUP, released", in.State, in.VIPsHeld)
		}
		lb1.stop(t)
	})
}
