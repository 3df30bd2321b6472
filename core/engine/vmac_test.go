package engine

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"github.com/hawatch/hawatch/core/config"
	"github.com/hawatch/hawatch/core/vip"
	"github.com/hawatch/hawatch/core/vrouter"
	"github.com/hawatch/hawatch/core/vrrp"
	"github.com/hawatch/hawatch/core/vrrp/transport"
)

// fakeVMACs is the node's macvlans as the VMACOwner sees them: Ensure
// records the spec and, with links set, makes the macvlan appear there
// (with a new index when it was gone), as creating it would.
type fakeVMACs struct {
	mu      sync.Mutex
	ensured []vip.VMACSpec
	closed  int
	links   *fakeLinks
	next    int
}

func (f *fakeVMACs) Ensure(_ context.Context, spec vip.VMACSpec) error {
	f.mu.Lock()
	f.ensured = append(f.ensured, spec)
	links := f.links
	f.next++
	index := 100 + f.next
	f.mu.Unlock()
	if links != nil {
		links.mu.Lock()
		st := links.state[spec.Name]
		links.mu.Unlock()
		if st.Index == 0 {
			links.set(LinkState{Name: spec.Name, Index: index, Up: true})
		}
	}
	return nil
}

func (f *fakeVMACs) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed++
	return nil
}

func (f *fakeVMACs) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.ensured)
}

// recordListen keeps the options of every socket opened.
type recordListen struct {
	mu     sync.Mutex
	opts   []transport.Options
	listen func(transport.Options) (Conn, error)
}

func (r *recordListen) open(o transport.Options) (Conn, error) {
	r.mu.Lock()
	r.opts = append(r.opts, o)
	r.mu.Unlock()
	return r.listen(o)
}

// startVMACNode starts a node whose instance VI_1 has vmac (the block's
// body), with links followed by fl when not nil.
func startVMACNode(t *testing.T, l *lan, addr string, prio int, vmac string, vm *fakeVMACs, fl *fakeLinks) (*node, *recordListen) {
	t.Helper()
	cfg, diags := config.Parse([]byte(policy(prio, "vmac {\n"+vmac+"\n}")), addr+".hcl")
	if diags.HasErrors() {
		t.Fatalf("policy: %v", diags)
	}
	rl := &recordListen{listen: l.dial(addr)}
	n := &node{vips: newFakeVIPs(), done: make(chan error, 1), cfg: cfg}
	opts := Options{Listen: rl.open, VMACs: vm,
		NewVIPManager: func(_ zerolog.Logger, ifname string) (VIPManager, error) { return n.vips.manager(ifname), nil }}
	if fl != nil {
		opts.Links = fl
	}
	eng, err := New(zerolog.Nop(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	n.eng = eng
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go func() { n.done <- eng.Run(ctx) }()
	return n, rl
}

// TestVMACWiring: an instance with a vmac block has its macvlan ensured
// (the RFC 5798 MAC on its interface) before anything binds to it, reads
// and sends adverts on the macvlan with its interface's address as source
// (or on the interface itself with xmit_base), holds its VIPs on the
// macvlan, keeps the macvlan across a reload that leaves the instance
// alone (no second Ensure, no VIP released), and has it removed at stop.
func TestVMACWiring(t *testing.T) {
	for _, xmitBase := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			l := &lan{}
			body := ""
			wantSock := "vrrp.51"
			if xmitBase {
				body, wantSock = "xmit_base = true", "eth0"
			}
			vm1, vm2 := &fakeVMACs{}, &fakeVMACs{}
			lb2, _ := startVMACNode(t, l, "198.51.100.12", 50, body, vm2, nil)
			lb1, rl := startVMACNode(t, l, "198.51.100.11", 100, body, vm1, nil)
			time.Sleep(5 * time.Second)
			if !lb1.vips.holds() || lb2.vips.holds() {
				t.Fatalf("xmit_base %v: lb1 holds %v, lb2 holds %v; want lb1 alone", xmitBase, lb1.vips.holds(), lb2.vips.holds())
			}
			want := vip.VMACSpec{Name: "vrrp.51", Parent: "eth0", MAC: vip.VirtualMAC(4, 51), Family: 4}
			if len(vm1.ensured) != 1 || vm1.ensured[0].Name != want.Name || vm1.ensured[0].Parent != want.Parent ||
				vm1.ensured[0].MAC.String() != "00:00:5e:00:01:33" || vm1.ensured[0].Family != 4 {
				t.Fatalf("ensured %+v, want once %+v", vm1.ensured, want)
			}
			if len(rl.opts) != 1 || rl.opts[0].Interface != wantSock || rl.opts[0].SourceInterface != "eth0" {
				t.Fatalf("sockets %+v, want one on %s with source interface eth0", rl.opts, wantSock)
			}
			for _, c := range lb1.vips.calls {
				if c.ifname != "vrrp.51" {
					t.Fatalf("VIP call %s on %s, want vrrp.51", c.op, c.ifname)
				}
			}
			if at, _ := l.sent(wantSock, "198.51.100.11", 51); len(at) == 0 {
				t.Errorf("no advert from lb1 on %s", wantSock)
			}

			// A reload that changes no VRRP parameter keeps the macvlan
			// and the VIPs where they are.
			next, diags := config.Parse([]byte(strings.Replace(policy(100, "vmac {\n"+body+"\n}"), `plugin = "process"`, `plugin = "process"
  rise = 3`, 1)), "lb1.hcl")
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if err := lb1.eng.Reconfigure(context.Background(), next, nil, nil); err != nil {
				t.Fatal(err)
			}
			time.Sleep(5 * time.Second)
			if n, r := vm1.count(), lb1.vips.count("release", "VI_1"); n != 1 || r != 0 || !lb1.vips.holds() {
				t.Errorf("after a reload: %d Ensure calls, %d releases, holds %v; want 1, 0, true", n, r, lb1.vips.holds())
			}
			lb1.stop(t)
			lb2.stop(t)
			if vm1.closed != 1 || vm2.closed != 1 {
				t.Errorf("macvlans closed %d / %d times at stop, want once each", vm1.closed, vm2.closed)
			}
		})
	}
}

// TestVMACRecreated: the macvlan is deleted under a running master. Its
// instance goes FAULT (VIPs released) as for any interface of its own, the
// engine has the macvlan created again at once (its parent is there), and
// once the new one is up the socket is re-opened on it and the VIP
// manager re-bound before the instance is master again.
func TestVMACRecreated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &lan{}
		fl := newFakeLinks("eth0")
		vm := &fakeVMACs{links: fl}
		lb1, rl := startVMACNode(t, l, "198.51.100.11", 100, "", vm, fl)
		time.Sleep(5 * time.Second)
		if !lb1.vips.holds() {
			t.Fatal("lb1 alone did not become master")
		}
		fl.set(LinkState{Name: "vrrp.51"}) // deleted by hand
		time.Sleep(time.Millisecond)
		in := lb1.instance(t, "VI_1")
		if vm.count() != 2 {
			t.Fatalf("Ensure called %d times, want a second one when the macvlan went", vm.count())
		}
		lb1.waitHeld(t, 10*time.Second)
		var ops []string
		for _, c := range lb1.vips.calls {
			ops = append(ops, c.op)
		}
		// The release (FAULT) and the rebind (new macvlan) may come in
		// either order; the next acquire only after both.
		got := strings.Join(ops, " ")
		if tail := strings.SplitN(got, "announce ", 2); len(tail) != 2 ||
			(!strings.HasPrefix(tail[1], "release rebind acquire") && !strings.HasPrefix(tail[1], "rebind release acquire")) {
			t.Errorf("VIP calls %q: want a release and the rebind before the next acquire", got)
		}
		rl.mu.Lock()
		opened := len(rl.opts)
		rl.mu.Unlock()
		if opened != 2 {
			t.Errorf("%d sockets opened, want 2 (start, new macvlan)", opened)
		}
		if in.Transitions < 3 || !slices.ContainsFunc(lb1.instance(t, "VI_1").Ledger, func(e vrouter.LedgerEntry) bool { return e.Check == "link:vrrp.51" && e.Up }) {
			t.Errorf("after: transitions %d, ledger %+v", in.Transitions, lb1.instance(t, "VI_1").Ledger)
		}
		if st := lb1.instance(t, "VI_1").State; st != vrrp.StateMaster {
			t.Errorf("state %s, want MASTER again", st)
		}

		// The parent goes, and the macvlan with it: nothing to create on
		// until the parent is back; then the macvlan is made again.
		fl.set(LinkState{Name: "eth0"})
		fl.set(LinkState{Name: "vrrp.51"})
		time.Sleep(time.Second)
		if n := vm.count(); n != 2 || lb1.instance(t, "VI_1").State != vrrp.StateFault {
			t.Fatalf("parent gone: %d Ensure calls, state %s; want 2, FAULT", n, lb1.instance(t, "VI_1").State)
		}
		fl.set(LinkState{Name: "eth0", Index: 20, Up: true})
		time.Sleep(time.Millisecond)
		if n := vm.count(); n != 3 {
			t.Fatalf("parent back: %d Ensure calls, want 3", n)
		}
		lb1.waitHeld(t, 10*time.Second)
		time.Sleep(time.Second)
		if st := lb1.instance(t, "VI_1").State; st != vrrp.StateMaster {
			t.Errorf("after the parent came back: %s, want MASTER", st)
		}
		lb1.stop(t)
	})
}
