package vrrp

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Group is a sync group: virtual routers that must be Master on the same
// node, or none of them (keepalived vrrp_sync_group). It coordinates member
// machines without goroutines: the loop routes every input for a member
// through Group.Step, which steps the member and then whatever members the
// group moves as a consequence.
//
// Rules:
//   - A member takes over only together with the others. When its
//     Master_Down_Timer fires it reports WantMaster and retries every
//     interval; once every member is Master or waiting, the waiting ones all
//     become Master. (Without this gate, a member that still hears a live
//     master for its VRID would drag the group back and forth.)
//   - A member that becomes Master on its own (an address owner) pulls the
//     others from Backup to Master.
//   - A member that leaves Master for Backup (higher priority seen, demote)
//     makes the other Masters resign (priority 0 advert, release, Backup).
//   - While any member is in Fault, every other member carries a demotion
//     hold (ReasonSyncGroupFault): Masters resign, nobody takes over, and
//     the hold lifts when the last fault clears.
//
// Transitions the group itself caused (ReasonSyncGroup,
// ReasonSyncGroupFault) are not propagated again, so a cascade ends.
type Group struct {
	name    string
	names   []string
	members map[string]*Machine
	faulty  map[string]bool
	held    map[string]bool // members carrying our ReasonSyncGroupFault hold

	// queue and out are Step's, kept so a steady-state step (one member's
	// periodic advert) allocates nothing.
	queue []GroupEffect
	out   []MemberAction
}

// GroupEffect is an input the group wants fed to a member.
type GroupEffect struct {
	Member string
	Input  Input
}

// MemberAction is an action of one member, as returned by Group.Step.
type MemberAction struct {
	Member string
	Action Action
}

// NewGroup returns an empty sync group.
func NewGroup(name string) *Group {
	return &Group{
		name:    name,
		members: map[string]*Machine{},
		faulty:  map[string]bool{},
		held:    map[string]bool{},
	}
}

// Name returns the group's name.
func (g *Group) Name() string { return g.name }

// Members returns the member names in the order they were added.
func (g *Group) Members() []string { return slices.Clone(g.names) }

// Machine returns a member's machine, or nil.
func (g *Group) Machine(member string) *Machine { return g.members[member] }

// Add makes m a member. Add members before stepping any of them; from then
// on m takes over only through the group.
func (g *Group) Add(member string, m *Machine) error {
	if _, dup := g.members[member]; dup {
		return fmt.Errorf("sync group %s: member %s added twice", g.name, member)
	}
	if m.gated {
		return fmt.Errorf("sync group %s: member %s already belongs to a group", g.name, member)
	}
	m.gated = true
	g.names = append(g.names, member)
	g.members[member] = m
	return nil
}

// maxCascade bounds one Group.Step. A cascade touches each member a few
// times at most; hitting the bound would mean a bug, and stopping beats
// spinning the loop.
const maxCascade = 64

// Step feeds in to member at time now, then feeds the inputs the group
// derives from the resulting actions, until nothing more follows. It
// returns every member's actions in the order they happened; carry them out
// in that order. The returned slice is the group's own: it is valid until
// the next Step.
func (g *Group) Step(now time.Time, member string, in Input) []MemberAction {
	queue := append(g.queue[:0], GroupEffect{member, in})
	clear(g.out)
	out := g.out[:0]
	for i := 0; i < len(queue) && i < maxCascade*max(1, len(g.names)); i++ {
		e := queue[i]
		m := g.members[e.Member]
		if m == nil {
			continue
		}
		acts := m.Step(now, e.Input)
		for _, a := range acts {
			out = append(out, MemberAction{e.Member, a})
		}
		queue = append(queue, g.Observe(e.Member, acts)...)
	}
	clear(queue) // keep no input (an advert) alive past the step
	g.queue, g.out = queue[:0], out
	return out
}

// Observe returns the inputs other members need after member produced
// actions. Group.Step calls it; use it directly only when stepping members
// by hand, and then feed the effects back the same way.
func (g *Group) Observe(member string, actions []Action) []GroupEffect {
	if g.members[member] == nil {
		return nil
	}
	var effects []GroupEffect
	for _, a := range actions {
		switch a := a.(type) {
		case Transition:
			switch {
			case a.To == StateFault:
				g.faulty[member] = true
			case a.From == StateFault || a.To == StateInit:
				delete(g.faulty, member)
			}
			effects = append(effects, g.follow(member, a)...)
		case WantMaster:
			effects = append(effects, g.tryTakeOver()...)
		}
	}
	return append(effects, g.reconcileHolds()...)
}

// follow moves the other members after member's own transition.
func (g *Group) follow(member string, t Transition) []GroupEffect {
	if t.Reason == ReasonSyncGroup || t.Reason == ReasonSyncGroupFault {
		return nil
	}
	var effects []GroupEffect
	for _, name := range g.names {
		other := g.members[name]
		switch {
		case name == member:
		case t.To == StateMaster && other.State() == StateBackup:
			effects = append(effects, GroupEffect{name, SyncState{
				To: StateMaster, Reason: ReasonSyncGroup,
				Detail: fmt.Sprintf("%s became master (%s)", member, t.Reason),
			}})
		case t.From == StateMaster && t.To == StateBackup && other.State() == StateMaster:
			effects = append(effects, GroupEffect{name, SyncState{
				To: StateBackup, Reason: ReasonSyncGroup,
				Detail: fmt.Sprintf("%s left master (%s)", member, t.Reason),
			}})
		}
	}
	return effects
}

// tryTakeOver lets the waiting members take over once every member is
// either Master already or waiting.
func (g *Group) tryTakeOver() []GroupEffect {
	var waiting []string
	for _, name := range g.names {
		m := g.members[name]
		switch {
		case m.State() == StateMaster:
		case m.State() == StateBackup && m.Ready():
			waiting = append(waiting, name)
		default:
			return nil
		}
	}
	effects := make([]GroupEffect, 0, len(waiting))
	for _, name := range waiting {
		effects = append(effects, GroupEffect{name, SyncState{To: StateMaster, Reason: ReasonSyncGroup}})
	}
	return effects
}

// reconcileHolds keeps the invariant: a member carries the group's fault
// hold exactly when some other member is in Fault.
func (g *Group) reconcileHolds() []GroupEffect {
	var effects []GroupEffect
	for _, name := range g.names {
		var culprits []string
		for _, f := range g.names {
			if f != name && g.faulty[f] {
				culprits = append(culprits, f)
			}
		}
		want := len(culprits) > 0
		if want == g.held[name] {
			continue
		}
		g.held[name] = want
		d := Demote{Demoted: want, Reason: ReasonSyncGroupFault}
		if want {
			d.Detail = "fault in " + strings.Join(culprits, ",")
		}
		effects = append(effects, GroupEffect{name, d})
	}
	return effects
}
