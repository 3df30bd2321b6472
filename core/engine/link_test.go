package engine

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"github.com/hawatch/hawatch/core/config"
	"github.com/hawatch/hawatch/core/vrouter"
	"github.com/hawatch/hawatch/core/vrrp"
	"github.com/hawatch/hawatch/core/vrrp/transport"
)

// fakeLinks is the kernel's interfaces as a test sets them: set changes
// one and Run reports it, as the netlink subscription would.
type fakeLinks struct {
	mu      sync.Mutex
	state   map[string]LinkState
	changes chan LinkState
}

func newFakeLinks(names ...string) *fakeLinks {
	f := &fakeLinks{state: map[string]LinkState{}, changes: make(chan LinkState, 16)}
	for i, n := range names {
		f.state[n] = LinkState{Name: n, Index: 2 + i, Up: true}
	}
	return f
}

func (f *fakeLinks) Follow(name string) (LinkState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.state[name]
	if !ok {
		st = LinkState{Name: name}
	}
	return st, nil
}

func (f *fakeLinks) Run(ctx context.Context, report func(LinkState)) {
	for {
		select {
		case <-ctx.Done():
			return
		case st := <-f.changes:
			report(st)
		}
	}
}

func (f *fakeLinks) set(st LinkState) {
	f.mu.Lock()
	f.state[st.Name] = st
	f.mu.Unlock()
	f.changes <- st
}

// flakyListen fails the next n opens, as a re-created interface without
// its address yet does.
type flakyListen struct {
	mu     sync.Mutex
	fail   int
	listen func(transport.Options) (Conn, error)
	opened int
}

func (f *flakyListen) open(o transport.Options) (Conn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail > 0 {
		f.fail--
		return nil, transport.ErrNoSource
	}
	f.opened++
	return f.listen(o)
}

func (f *flakyListen) failNext(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = n
}

func (f *flakyListen) opens() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.opened
}

// linkLedger is the instance's interface track in its ledger.
func linkLedger(t *testing.T, in InstanceStatus) vrouter.LedgerEntry {
	t.Helper()
	for _, l := range in.Ledger {
		if l.Check == "link:eth0" {
			return l
		}
	}
	t.Fatalf("no link:eth0 track in the ledger %+v", in.Ledger)
	return vrouter.LedgerEntry{}
}

// startLinkNode starts lb1 (priority 100, preempting) with links followed
// by fl and sockets opened through a flakyListen over l.
func startLinkNode(t *testing.T, l *lan, fl *fakeLinks) (*node, *flakyListen) {
	t.Helper()
	cfg, diags := config.Parse([]byte(policy(100, "")), "lb1.hcl")
	if diags.HasErrors() {
		t.Fatalf("policy: %v", diags)
	}
	lis := &flakyListen{listen: l.dial("198.51.100.11")}
	n := &node{vips: newFakeVIPs(), done: make(chan error, 1), cfg: cfg}
	eng, err := New(zerolog.Nop(), cfg, Options{Links: fl, Listen: lis.open,
		NewVIPManager: func(_ zerolog.Logger, ifname string) (VIPManager, error) { return n.vips.manager(ifname), nil }})
	if err != nil {
		t.Fatal(err)
	}
	n.eng = eng
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go func() { n.done <- eng.Run(ctx) }()
	return n, lis
}

// TestLinkRecreated: the master's interface is deleted (its sockets go
// deaf and mute with it) and created again with a new index. While it is
// gone the instance is in FAULT with its VIPs released and the backup takes
// over after Master_Down_Interval; when it is back the engine re-opens the
// socket, re-binds the VIP manager before any acquire, and the instance
// goes BACKUP and preempts back, in the same engine.
func TestLinkRecreated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &lan{}
		fl := newFakeLinks("eth0")
		lb2 := startNode(t, l, "198.51.100.12", policy(50, ""), nil)
		lb1, lis := startLinkNode(t, l, fl)
		time.Sleep(5 * time.Second)
		if !lb1.vips.holds() || lb2.vips.holds() {
			t.Fatalf("before: lb1 holds %v, lb2 holds %v", lb1.vips.holds(), lb2.vips.holds())
		}
		if e := linkLedger(t, lb1.instance(t, "VI_1")); !e.Up || e.Effect != vrouter.EffectFault {
			t.Fatalf("link track before: %+v, want up, fault effect", e)
		}

		l.unplug("198.51.100.11")
		fl.set(LinkState{Name: "eth0"})
		time.Sleep(time.Millisecond)
		in := lb1.instance(t, "VI_1")
		if in.State != vrrp.StateFault || lb1.vips.holds() {
			t.Fatalf("eth0 gone: lb1 %s, holds %v; want FAULT, released", in.State, lb1.vips.holds())
		}
		if e := linkLedger(t, in); e.Up || e.Reason != "eth0 is gone" {
			t.Errorf("link track while gone: %+v", e)
		}
		mdi := vrrp.MasterDownInterval(3, 50, time.Second)
		if took := lb2.waitHeld(t, 10*time.Second); took > mdi {
			t.Errorf("lb2 took over %v after lb1's interface went, want within Master_Down_Interval %v", took, mdi)
		}

		time.Sleep(2 * time.Second)
		fl.set(LinkState{Name: "eth0", Index: 9, Up: true})
		time.Sleep(time.Millisecond)
		if in := lb1.instance(t, "VI_1"); in.State != vrrp.StateBackup {
			t.Fatalf("eth0 back: lb1 %s, want BACKUP (ledger %+v)", in.State, in.Ledger)
		}
		lb1.waitHeld(t, 10*time.Second)
		time.Sleep(time.Second)
		if lb2.vips.holds() {
			t.Error("lb2 still holds the VIPs after lb1 preempted back")
		}
		if lis.opens() != 2 {
			t.Errorf("lb1 opened %d sockets, want 2 (start, re-create)", lis.opens())
		}
		var ops []string
		for _, c := range lb1.vips.calls {
			ops = append(ops, c.op)
		}
		got := strings.Join(ops, " ")
		if !strings.Contains(got, "acquire announce release rebind acquire announce") {
			t.Errorf("lb1's VIP calls %q: want a release on the way into FAULT, then the rebind before the next acquire", got)
		}
		in = lb1.instance(t, "VI_1")
		if e := linkLedger(t, in); !e.Up || e.Reason != "eth0 is up (index 9)" {
			t.Errorf("link track after: %+v", e)
		}
		if in.Transitions != 5 || in.LastReason != vrrp.ReasonPreempt.String() {
			t.Errorf("lb1: %d transitions, last %q; want 5 (INIT→BACKUP→MASTER→FAULT→BACKUP→MASTER), preempt", in.Transitions, in.LastReason)
		}
		lb1.stop(t)
		lb2.stop(t)
	})
}

// TestLinkDownUp: an interface set down and up again keeps its index: the
// instance is in FAULT while it is down and back without re-opening or
// re-binding anything. An interface down at start starts the instance in
// FAULT.
func TestLinkDownUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &lan{}
		fl := newFakeLinks("eth0")
		fl.state["eth0"] = LinkState{Name: "eth0", Index: 2}
		lb1, lis := startLinkNode(t, l, fl)
		time.Sleep(5 * time.Second)
		if in := lb1.instance(t, "VI_1"); in.State != vrrp.StateFault || lb1.vips.holds() {
			t.Fatalf("started with eth0 down: %s, holds %v; want FAULT", in.State, lb1.vips.holds())
		}
		fl.set(LinkState{Name: "eth0", Index: 2, Up: true})
		time.Sleep(5 * time.Second)
		if !lb1.vips.holds() {
			t.Fatal("eth0 up: lb1 alone did not become master")
		}
		fl.set(LinkState{Name: "eth0", Index: 2})
		time.Sleep(time.Millisecond)
		if in := lb1.instance(t, "VI_1"); in.State != vrrp.StateFault || lb1.vips.holds() {
			t.Fatalf("eth0 down: %s, holds %v; want FAULT, released", in.State, lb1.vips.holds())
		}
		fl.set(LinkState{Name: "eth0", Index: 2, Up: true})
		time.Sleep(5 * time.Second)
		if !lb1.vips.holds() {
			t.Fatal("eth0 up again: lb1 not master")
		}
		if n, r := lis.opens(), lb1.vips.count("rebind", ""); n != 1 || r != 0 {
			t.Errorf("down and up: %d socket opens, %d rebinds; want 1 and none", n, r)
		}
		lb1.stop(t)
	})
}

// TestLinkRetries: a re-created interface whose socket cannot open yet
// (no address), then whose VIP manager cannot re-bind, keeps the instance
// in FAULT, with the reason in its ledger, and is tried again every
// linkRetry until both work.
func TestLinkRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &lan{}
		fl := newFakeLinks("eth0")
		lb1, lis := startLinkNode(t, l, fl)
		time.Sleep(5 * time.Second)
		fl.set(LinkState{Name: "eth0"})
		time.Sleep(time.Second)

		lis.failNext(3)
		lb1.vips.mu.Lock()
		lb1.vips.rebindErr = errors.New("netlink: no such device")
		lb1.vips.mu.Unlock()
		fl.set(LinkState{Name: "eth0", Index: 7, Up: true})
		time.Sleep(time.Millisecond)
		if e := linkLedger(t, lb1.instance(t, "VI_1")); e.Up || !strings.Contains(e.Reason, "sockets did not open") {
			t.Fatalf("socket not open: link track %+v", e)
		}
		time.Sleep(3 * linkRetry)
		in := lb1.instance(t, "VI_1")
		if e := linkLedger(t, in); in.State != vrrp.StateFault || e.Up || !strings.Contains(e.Reason, "did not re-bind: netlink: no such device") {
			t.Fatalf("rebind failing: %s, link track %+v", in.State, e)
		}
		lb1.vips.mu.Lock()
		lb1.vips.rebindErr = nil
		lb1.vips.mu.Unlock()
		time.Sleep(linkRetry)
		if in := lb1.instance(t, "VI_1"); in.State != vrrp.StateBackup {
			t.Fatalf("after the retries: %s, want BACKUP", in.State)
		}
		lb1.waitHeld(t, 10*time.Second)
		if n := lis.opens(); n != 2 {
			t.Errorf("%d sockets opened, want 2 (the failed tries open none)", n)
		}
		lb1.stop(t)
	})
}

// TestLinkTrackNameReserved: a configured track may not take the name of
// an interface track.
func TestLinkTrackNameReserved(t *testing.T) {
	p := strings.Replace(policy(100, `track "link:eth0" {}`), `check "nginx"`, `check "link:eth0"`, 1)
	cfg, diags := config.Parse([]byte(p), "lb1.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if _, err := New(zerolog.Nop(), cfg, Options{Listen: (&lan{}).dial("198.51.100.11")}); err == nil || !strings.Contains(err.Error(), "interface track") {
		t.Fatalf("New = %v, want the name refused", err)
	}
}
