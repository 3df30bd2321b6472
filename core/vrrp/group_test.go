package vrrp

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hawatch/hawatch/internal/golden"
)

// groupRig is what the engine would hold for one sync group.
type groupRig struct {
	t     *testing.T
	g     *Group
	names []string
	now   time.Duration
}

func newGroupRig(t *testing.T, prios ...uint8) *groupRig {
	t.Helper()
	r := &groupRig{t: t, g: NewGroup("web")}
	for i, p := range prios {
		name := "VI_" + string(rune('A'+i))
		c := Config{VRID: uint8(10 + i), Version: 3, Priority: p, AdvertInterval: time.Second, Preempt: true,
			LocalAddr: local4, Addresses: []netip.Addr{netip.AddrFrom4([4]byte{198, 51, 100, byte(50 + i)})}}
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		if err := r.g.Add(name, NewMachine(c)); err != nil {
			t.Fatal(err)
		}
		r.names = append(r.names, name)
	}
	return r
}

// step feeds one input at offset at and renders the actions "member: action".
func (r *groupRig) step(at time.Duration, member string, in Input) []string {
	r.t.Helper()
	if at < r.now {
		r.t.Fatalf("time goes backwards")
	}
	r.now = at
	var out []string
	for _, ma := range r.g.Step(t0.Add(at), member, in) {
		out = append(out, ma.Member+": "+ma.Action.String())
	}
	return out
}

func (r *groupRig) states() string {
	var s []string
	for _, n := range r.names {
		s = append(s, r.g.Machine(n).State().String())
	}
	return strings.Join(s, ",")
}

func (r *groupRig) expect(got []string, want ...string) {
	r.t.Helper()
	if !slices.Equal(got, want) {
		r.t.Fatalf("actions:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func (r *groupRig) expectStates(want string) {
	r.t.Helper()
	if got := r.states(); got != want {
		r.t.Fatalf("states %s, want %s", got, want)
	}
}

func peerAdvert(vrid, prio uint8) AdvertReceived {
	return AdvertReceived{&Advert{Version: 3, Type: 1, VRID: vrid, Priority: prio, Interval: 100,
		Src: netip.MustParseAddr("198.51.100.12")}}
}

func TestGroupTakesOverTogether(t *testing.T) {
	r := newGroupRig(t, 100, 100)
	r.expect(r.step(0, "VI_A", Start{}), "VI_A: transition INIT->BACKUP (startup)")
	r.expect(r.step(0, "VI_B", Start{}), "VI_B: transition INIT->BACKUP (startup)")
	down := 3609375 * time.Microsecond
	// A's timer fires first: it waits for B.
	r.expect(r.step(down, "VI_A", Tick{}), "VI_A: want-master (master down timer)")
	r.expectStates("BACKUP,BACKUP")
	if !r.g.Machine("VI_A").Ready() {
		t.Fatal("VI_A not ready")
	}
	// B's fires too: both take over, each saying why.
	r.expect(r.step(down, "VI_B", Tick{}),
		"VI_B: want-master (master down timer)",
		"VI_A: transition BACKUP->MASTER (sync group: master down timer)",
		"VI_A: send prio=100", "VI_A: acquire", "VI_A: announce",
		"VI_B: transition BACKUP->MASTER (sync group: master down timer)",
		"VI_B: send prio=100", "VI_B: acquire", "VI_B: announce",
	)
	r.expectStates("MASTER,MASTER")
}

// TestGroupGateHolds: a member whose master died must not drag the group to
// Master while another member still hears a live master for its VRID;
// keepalived's gate, without which the group flaps every
// Master_Down_Interval.
func TestGroupGateHolds(t *testing.T) {
	r := newGroupRig(t, 100, 100)
	r.step(0, "VI_A", Start{})
	r.step(0, "VI_B", Start{})
	down := 3609375 * time.Microsecond
	wants := 0
	for i := range 10 {
		at := time.Duration(i) * time.Second
		r.step(at, "VI_A", peerAdvert(10, 150)) // A's peer is alive
		if d := r.g.Machine("VI_B").NextDeadline(); !d.After(t0.Add(at)) {
			r.expect(r.step(at, "VI_B", Tick{}), "VI_B: want-master (master down timer)")
			wants++
			// B keeps retrying every interval rather than giving up.
			if next := r.g.Machine("VI_B").NextDeadline(); next != t0.Add(at+time.Second) {
				t.Fatalf("VI_B retries at %s, want %s", golden.FmtDur(next.Sub(t0)), golden.FmtDur(at+time.Second))
			}
		}
	}
	if wants != 6 { // at 4s..9s
		t.Fatalf("VI_B asked %d times, want 6", wants)
	}
	r.expectStates("BACKUP,BACKUP")
	// A's peer dies too: now the group moves.
	got := r.step(9*time.Second+down, "VI_A", Tick{})
	if len(got) == 0 || got[0] != "VI_A: want-master (master down timer)" || r.states() != "MASTER,MASTER" {
		t.Fatalf("after A's master died: %v, states %s", got, r.states())
	}
}

func TestGroupStepDownTogether(t *testing.T) {
	r := newGroupRig(t, 100, 100)
	r.step(0, "VI_A", Start{})
	r.step(0, "VI_B", Start{})
	r.step(5*time.Second, "VI_A", Tick{})
	r.step(5*time.Second, "VI_B", Tick{})
	r.expectStates("MASTER,MASTER")
	r.expect(r.step(6*time.Second, "VI_B", peerAdvert(11, 200)),
		"VI_B: release",
		"VI_B: transition MASTER->BACKUP (higher priority seen: 198.51.100.12 prio=200)",
		"VI_A: send prio=0",
		"VI_A: release",
		"VI_A: transition MASTER->BACKUP (sync group: VI_B left master (higher priority seen))",
	)
	// A's peer now advertises a lower priority; A, preempting, discards it
	// and its timer runs out, but B hears a live master: A must wait.
	r.step(7*time.Second, "VI_B", peerAdvert(11, 200))
	r.expect(r.step(9609375*time.Microsecond, "VI_A", Tick{}), "VI_A: want-master (master down timer)")
	r.expectStates("BACKUP,BACKUP")
}

func TestGroupFault(t *testing.T) {
	r := newGroupRig(t, 100, 100, 100)
	for _, n := range r.names {
		r.step(0, n, Start{})
	}
	for _, n := range r.names {
		r.step(4*time.Second, n, Tick{})
	}
	r.expectStates("MASTER,MASTER,MASTER")
	r.expect(r.step(5*time.Second, "VI_B", SetFault{Fault: true, Detail: "nginx"}),
		"VI_B: send prio=0", "VI_B: release", "VI_B: transition MASTER->FAULT (check failed: nginx)",
		"VI_A: send prio=0", "VI_A: release", "VI_A: transition MASTER->BACKUP (sync group fault: fault in VI_B)",
		"VI_C: send prio=0", "VI_C: release", "VI_C: transition MASTER->BACKUP (sync group fault: fault in VI_B)",
	)
	// Held members track but never take over.
	r.expect(r.step(9*time.Second, "VI_A", Tick{}))
	r.expect(r.step(9*time.Second, "VI_C", Tick{}))
	if !r.g.Machine("VI_A").Demoted() || r.g.Machine("VI_B").Demoted() {
		t.Fatal("hold on the wrong members")
	}
	// A second fault keeps everyone held until both clear.
	r.expect(r.step(10*time.Second, "VI_C", SetFault{Fault: true}), "VI_C: transition BACKUP->FAULT (check failed)")
	r.expect(r.step(11*time.Second, "VI_B", SetFault{Fault: false}), "VI_B: transition FAULT->BACKUP (fault cleared)")
	if !r.g.Machine("VI_A").Demoted() || !r.g.Machine("VI_B").Demoted() {
		t.Fatal("VI_C's fault must hold A and B")
	}
	r.expect(r.step(12*time.Second, "VI_C", SetFault{Fault: false}), "VI_C: transition FAULT->BACKUP (fault cleared)")
	for _, n := range r.names {
		if r.g.Machine(n).Demoted() {
			t.Fatalf("%s still held", n)
		}
	}
	// Fresh timers everywhere; when they run out the group takes over.
	var last []string
	for _, n := range r.names {
		d := r.g.Machine(n).NextDeadline()
		if d.IsZero() {
			t.Fatalf("%s has no timer after the fault cleared", n)
		}
		last = r.step(max(r.now, d.Sub(t0)), n, Tick{})
	}
	if r.states() != "MASTER,MASTER,MASTER" {
		t.Fatalf("states %s after %v", r.states(), last)
	}
}

func TestGroupOwnerPullsOthers(t *testing.T) {
	r := newGroupRig(t, 100, 255)
	r.step(0, "VI_A", Start{})
	r.expect(r.step(0, "VI_B", Start{}),
		"VI_B: transition INIT->MASTER (address owner)", "VI_B: send prio=255", "VI_B: acquire", "VI_B: announce",
		"VI_A: transition BACKUP->MASTER (sync group: VI_B became master (address owner))",
		"VI_A: send prio=100", "VI_A: acquire", "VI_A: announce",
	)
}

func TestGroupShutdownClearsFault(t *testing.T) {
	r := newGroupRig(t, 100, 100)
	r.step(0, "VI_A", SetFault{Fault: true})
	r.step(0, "VI_A", Start{})
	r.step(0, "VI_B", Start{})
	if !r.g.Machine("VI_B").Demoted() {
		t.Fatal("VI_B not held by VI_A's fault")
	}
	r.step(1*time.Second, "VI_A", Shutdown{})
	if r.g.Machine("VI_B").Demoted() {
		t.Fatal("VI_B still held after VI_A shut down")
	}
}

func TestGroupAdd(t *testing.T) {
	g := NewGroup("g")
	m := NewMachine(baseConfig(3))
	if err := g.Add("a", m); err != nil {
		t.Fatal(err)
	}
	if err := g.Add("a", NewMachine(baseConfig(3))); err == nil {
		t.Error("duplicate member accepted")
	}
	if err := NewGroup("h").Add("b", m); err == nil {
		t.Error("machine joined two groups")
	}
	if g.Name() != "g" || !slices.Equal(g.Members(), []string{"a"}) || g.Machine("zz") != nil {
		t.Error("accessors")
	}
	if g.Step(t0, "zz", Start{}) != nil {
		t.Error("unknown member produced actions")
	}
}

// TestGroupRandomInvariants drives a three-member group with random
// adverts, ticks and faults and checks after every cascade: while any
// member is in Fault nobody else is Master, and otherwise the members are
// all Master or all not.
func TestGroupRandomInvariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	r := newGroupRig(t, 100, 100, 100)
	for _, n := range r.names {
		r.step(0, n, Start{})
	}
	prios := []uint8{0, 50, 100, 150, 200}
	masters := 0
	for i := range 20000 {
		n := r.names[rng.IntN(len(r.names))]
		m := r.g.Machine(n)
		switch k := rng.IntN(10); {
		case k < 5:
			if d := m.NextDeadline(); !d.IsZero() {
				r.step(max(r.now, d.Sub(t0)), n, Tick{})
			}
		case k < 9:
			r.now += time.Duration(rng.IntN(400)) * time.Millisecond
			r.step(r.now, n, peerAdvert(m.Config().VRID, prios[rng.IntN(len(prios))]))
		default:
			r.step(r.now, n, SetFault{Fault: !m.Faulted()})
		}
		var nMaster, nFault int
		for _, name := range r.names {
			switch r.g.Machine(name).State() {
			case StateMaster:
				nMaster++
			case StateFault:
				nFault++
			}
		}
		if nFault > 0 && nMaster > 0 || nMaster != 0 && nMaster != len(r.names) {
			t.Fatalf("step %d: states %s", i, r.states())
		}
		if nMaster > 0 {
			masters++
		}
	}
	if masters == 0 {
		t.Fatal("the group never became master: the test exercises nothing")
	}
}
