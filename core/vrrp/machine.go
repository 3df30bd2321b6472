package vrrp

import (
	"bytes"
	"fmt"
	"net/netip"
	"time"
)

// State is a virtual router state (RFC 5798 §6.4; RFC 9568 calls Master
// "Active"). Fault is not an RFC state: it is keepalived's, for an instance
// whose checks fail; it neither advertises nor listens.
type State uint8

const (
	StateInit State = iota
	StateBackup
	StateMaster
	StateFault
)

func (s State) String() string {
	switch s {
	case StateInit:
		return "INIT"
	case StateBackup:
		return "BACKUP"
	case StateMaster:
		return "MASTER"
	case StateFault:
		return "FAULT"
	}
	return fmt.Sprintf("STATE(%d)", uint8(s))
}

// Input is an event fed to Machine.Step. The set is closed: Start, Shutdown,
// AdvertReceived, Tick, SetPriority, SetFault, Demote, SyncState, Permit
// (pass them as values).
type Input interface{ isInput() }

// Start leaves Init (RFC 5798 §6.4.1 Startup event).
type Start struct{}

// Shutdown returns to Init; a Master resigns with a priority 0 advert
// (§6.4.3 Shutdown event).
type Shutdown struct{}

// AdvertReceived delivers an advert that decoded and passed Config.Check.
// Advert.Src is the sender.
type AdvertReceived struct{ Advert *Advert }

// Tick tells the machine the time is now; it fires every timer due at or
// before now. The loop sends it when NextDeadline passes.
type Tick struct{}

// SetPriority sets the effective priority from tracking. Non-owners are
// clamped to 1–254; an address owner ignores it and stays at 255.
type SetPriority struct {
	Priority uint8
	Reason   Reason
	Detail   string
}

// SetFault enters (Fault true) or leaves (Fault false) the Fault state. A
// Master entering Fault resigns with a priority 0 advert; leaving Fault goes
// to Backup with a fresh Master_Down_Timer (an owner goes straight to
// Master). Reason defaults to ReasonCheckFailed / ReasonFaultCleared.
type SetFault struct {
	Fault  bool
	Reason Reason
	Detail string
}

// Demote places (Demoted true) or lifts (false) a demotion hold. Holds are
// kept per Reason (default ReasonOperatorDemote), so an operator demote and a
// sync-group fault hold do not lift each other. While any hold is in place a
// Master resigns once (priority 0 advert, release, Backup), and the machine
// keeps tracking whichever master it hears, lower priority included, but
// never becomes Master itself. When the last hold lifts the normal rules
// apply again (an owner takes over at once; a Master_Down_Timer that ran
// out while held restarts from a full Master_Down_Interval).
type Demote struct {
	Demoted bool
	Reason  Reason
	Detail  string
}

// Permit gives (Allowed true) or withdraws the right to become or stay
// Master, as an external quorum witness decides. It matters only for a
// machine built with Config.NeedsPermit, which starts without it: then
// whatever would make it Master (its Master_Down_Timer, an owner's start)
// leaves it in Backup waiting (Ready, WantMaster) until the permit comes,
// and it takes over at once when it does; a Master whose permit is
// withdrawn resigns (priority 0 advert, release, Backup). Preemption and
// the other RFC rules are unchanged. Reason defaults to ReasonWitness.
type Permit struct {
	Allowed bool
	Reason  Reason
	Detail  string
}

// SyncState asks the machine to move with its sync group: To StateMaster
// takes over from Backup (unless in fault or demoted); To StateBackup makes a
// Master resign (priority 0 advert, release, Backup). Other states and
// targets are ignored. Reason defaults to ReasonSyncGroup.
type SyncState struct {
	To     State
	Reason Reason
	Detail string
}

func (Start) isInput()          {}
func (Shutdown) isInput()       {}
func (AdvertReceived) isInput() {}
func (Tick) isInput()           {}
func (SetPriority) isInput()    {}
func (SetFault) isInput()       {}
func (Demote) isInput()         {}
func (SyncState) isInput()      {}
func (Permit) isInput()         {}

// Action is a side effect the loop must carry out, in the order Step
// returns them. The set is closed: SendAdvert, Transition, AcquireVIPs,
// ReleaseVIPs, Announce, WantMaster.
//
// Order contract: becoming Master yields Transition, SendAdvert, AcquireVIPs,
// Announce; leaving Master yields SendAdvert{0} (when resigning), ReleaseVIPs,
// Transition.
type Action interface {
	isAction()
	String() string
}

// SendAdvert: send one advert at this priority (Config.Advert builds it).
type SendAdvert struct{ Priority uint8 }

// Transition: the state changed. Log it; it carries the reason.
type Transition struct {
	From, To State
	Reason   Reason
	Detail   string
}

// AcquireVIPs: add the virtual addresses to the interface.
type AcquireVIPs struct{}

// ReleaseVIPs: remove the virtual addresses from the interface.
type ReleaseVIPs struct{}

// Announce: send the gratuitous ARP / unsolicited NA burst for the VIPs.
type Announce struct{}

// WantMaster: a sync-group member's Master_Down_Timer fired, but a member
// only takes over when the whole group can (see Group). Informational for
// the loop; Group acts on it.
type WantMaster struct {
	Reason Reason
	Detail string
}

func (SendAdvert) isAction()  {}
func (Transition) isAction()  {}
func (AcquireVIPs) isAction() {}
func (ReleaseVIPs) isAction() {}
func (Announce) isAction()    {}
func (WantMaster) isAction()  {}

func (a SendAdvert) String() string { return fmt.Sprintf("send prio=%d", a.Priority) }
func (t Transition) String() string {
	return fmt.Sprintf("transition %s->%s (%s)", t.From, t.To, withDetail(t.Reason, t.Detail))
}
func (AcquireVIPs) String() string { return "acquire" }
func (ReleaseVIPs) String() string { return "release" }
func (Announce) String() string    { return "announce" }
func (w WantMaster) String() string {
	return fmt.Sprintf("want-master (%s)", withDetail(w.Reason, w.Detail))
}
func withDetail(r Reason, d string) string {
	if d == "" {
		return r.String()
	}
	return r.String() + ": " + d
}

// Machine is the state machine of one virtual router: RFC 5798 §6 with the
// RFC 9568 clarifications, VRRPv2 timers when Config.Version is 2, plus
// keepalived's Fault state, demotion and sync-group gating. It is a pure
// value: no goroutines, sockets, clocks or logging. Feed it inputs with
// Step, carry out the returned actions in order, and call Step(now, Tick{})
// when NextDeadline passes. It is not safe for concurrent use.
type Machine struct {
	cfg   Config
	owner bool
	state State
	prio  uint8 // effective priority, as advertised

	masterAdver time.Duration // Master_Adver_Interval
	adverAt     time.Time     // Adver_Timer (Master)
	prioSentAt  time.Time     // when a priority change was last advertised at once
	downAt      time.Time     // Master_Down_Timer (Backup); zero when stopped
	backupSince time.Time     // for preempt_delay
	// downReason/downDetail name what the Master_Down_Timer firing would mean.
	downReason Reason
	downDetail string
	master     netip.Addr // last master heard, or LocalAddr when Master

	fault       bool
	faultReason Reason
	faultDetail string
	holds       uint32 // demotion holds, one bit per Reason

	gated bool // member of a sync group: take over only through the group
	ready bool // gated or not permitted, and would take over: waiting for the group or the permit

	needsPermit bool // Config.NeedsPermit: take over only while permitted
	permitted   bool

	acts []Action // reused for the steady state's one SendAdvert (see sendOwn)
}

// NewMachine returns a machine in Init for cfg. Call cfg.Validate first:
// NewMachine does not fail, it rounds the advert interval to the wire's
// resolution and clamps the priority into range.
func NewMachine(cfg Config) *Machine {
	cfg.Addresses = append([]netip.Addr(nil), cfg.Addresses...)
	cfg.AdvertInterval = NormalizeInterval(cfg.Version, cfg.AdvertInterval)
	m := &Machine{cfg: cfg, owner: cfg.owner(), needsPermit: cfg.NeedsPermit}
	if m.owner {
		m.cfg.Priority, m.cfg.AddressOwner = OwnerPriority, true
	}
	m.prio = m.clampPriority(m.cfg.Priority)
	m.cfg.Priority = m.prio
	m.masterAdver = m.cfg.AdvertInterval
	return m
}

func (m *Machine) clampPriority(p uint8) uint8 {
	if m.owner {
		return OwnerPriority
	}
	return min(max(p, 1), OwnerPriority-1)
}

// Config returns the normalized configuration (rounded interval, owner
// priority), which is what Config.Advert and Config.Check should use.
func (m *Machine) Config() Config {
	c := m.cfg
	c.Addresses = append([]netip.Addr(nil), c.Addresses...)
	return c
}

// State returns the current state.
func (m *Machine) State() State { return m.state }

// Priority returns the effective priority, the one advertised.
func (m *Machine) Priority() uint8 { return m.prio }

// MasterAdverInterval returns Master_Adver_Interval: in Backup the interval
// the master advertises (v3 adopts it), otherwise our own.
func (m *Machine) MasterAdverInterval() time.Duration { return m.masterAdver }

// SkewTime returns Skew_Time for the effective priority and
// Master_Adver_Interval.
func (m *Machine) SkewTime() time.Duration {
	return SkewTime(m.cfg.Version, m.prio, m.masterAdver)
}

// MasterDownInterval returns Master_Down_Interval for the effective priority
// and Master_Adver_Interval, with Config.DownTimerAdverts intervals (the
// RFC's 3 by default).
func (m *Machine) MasterDownInterval() time.Duration {
	return MasterDownIntervalN(m.cfg.Version, m.prio, m.masterAdver, m.cfg.downAdverts())
}

// NextDeadline returns when the next timer fires: Adver_Timer in Master,
// Master_Down_Timer in Backup. Zero means no timer is pending.
func (m *Machine) NextDeadline() time.Time {
	switch m.state {
	case StateMaster:
		return m.adverAt
	case StateBackup:
		return m.downAt
	}
	return time.Time{}
}

// Master returns the current master's address as far as this router knows:
// LocalAddr when Master, the last accepted advert's source in Backup, and
// the zero Addr when unknown.
func (m *Machine) Master() netip.Addr { return m.master }

// Faulted reports whether a fault is set (SetFault).
func (m *Machine) Faulted() bool { return m.fault }

// Demoted reports whether any demotion hold is in place.
func (m *Machine) Demoted() bool { return m.holds != 0 }

// Held reports whether a demotion hold with reason r is in place (see
// Demote; ReasonNone means ReasonOperatorDemote, as there).
func (m *Machine) Held(r Reason) bool {
	return m.holds&holdBit(r.or(ReasonOperatorDemote)) != 0
}

// Owner reports whether this router is the address owner (priority 255).
func (m *Machine) Owner() bool { return m.owner }

func holdBit(r Reason) uint32 { return uint32(1) << (r % reasonCount) }

// Ready reports whether a sync-group member is waiting for its group to
// take over (its Master_Down_Timer fired while gated).
func (m *Machine) Ready() bool { return m.ready }

// Step applies one input at time now and returns the actions to carry out,
// in order. now must not go backwards between calls. The returned slice may
// be the machine's own: it is valid until the next Step.
func (m *Machine) Step(now time.Time, in Input) []Action {
	switch in := in.(type) {
	case Start:
		return m.start(now)
	case Shutdown:
		return m.shutdown()
	case AdvertReceived:
		if in.Advert == nil {
			return nil
		}
		return m.receive(now, in.Advert)
	case Tick:
		return m.tick(now)
	case SetPriority:
		return m.setPriority(now, in)
	case SetFault:
		return m.setFault(now, in)
	case Demote:
		return m.demote(now, in)
	case SyncState:
		return m.syncState(now, in)
	case Permit:
		return m.permit(now, in)
	}
	return nil
}

// Permitted reports whether the machine may be Master (always true without
// Config.NeedsPermit).
func (m *Machine) Permitted() bool { return !m.needsPermit || m.permitted }

// takeOver becomes Master, or, without the permit, waits for it: Ready,
// no timer, WantMaster. The reason is kept for the transition when the
// permit comes.
func (m *Machine) takeOver(now time.Time, r Reason, detail string) []Action {
	if m.Permitted() {
		return m.becomeMaster(now, r, detail)
	}
	m.ready = true
	m.downAt = time.Time{}
	m.downReason, m.downDetail = r, detail
	return []Action{WantMaster{r, withDetail(ReasonWitness, "waiting for the permit")}}
}

func (m *Machine) permit(now time.Time, in Permit) []Action {
	if !m.needsPermit || in.Allowed == m.permitted {
		return nil
	}
	m.permitted = in.Allowed
	r := in.Reason.or(ReasonWitness)
	switch {
	case !in.Allowed && m.state == StateMaster:
		return m.leaveMaster(now, StateBackup, r, in.Detail, true)
	case in.Allowed && m.state == StateBackup && !m.fault && !m.Demoted() && (m.ready || m.owner):
		why := withDetail(m.downReason, m.downDetail)
		if m.owner {
			why = ReasonAddressOwner.String()
		}
		if in.Detail != "" {
			why += "; " + in.Detail
		}
		return m.becomeMaster(now, r, why)
	}
	return nil
}

func (m *Machine) start(now time.Time) []Action {
	if m.state != StateInit {
		return nil
	}
	switch {
	case m.fault:
		m.state = StateFault
		return []Action{Transition{StateInit, StateFault, m.faultReason, m.faultDetail}}
	case m.owner && !m.Demoted() && m.Permitted():
		return m.becomeMaster(now, ReasonAddressOwner, "")
	}
	m.enterBackup(now, m.cfg.AdvertInterval)
	acts := []Action{Transition{StateInit, StateBackup, ReasonStartup, ""}}
	if m.owner && !m.Demoted() {
		acts = append(acts, m.takeOver(now, ReasonAddressOwner, "")...)
	}
	return acts
}

func (m *Machine) shutdown() []Action {
	from := m.state
	var acts []Action
	switch from {
	case StateInit:
		return nil
	case StateMaster:
		acts = append(acts, SendAdvert{0}, ReleaseVIPs{})
	}
	m.state = StateInit
	m.stopTimers()
	return append(acts, Transition{from, StateInit, ReasonShutdown, ""})
}

func (m *Machine) tick(now time.Time) []Action {
	switch m.state {
	case StateMaster:
		if m.adverAt.IsZero() || now.Before(m.adverAt) {
			return nil
		}
		// The next advert is due an interval after this one leaves (as
		// keepalived schedules it), not after its deadline: masters the loop
		// ticks in one wake-up (it wakes a hundredth of an interval after the
		// nearest deadline, core/engine) then stay due together, and a
		// loop that stalled does not burst to catch up.
		m.adverAt = now.Add(m.cfg.AdvertInterval)
		return m.sendOwn()
	case StateBackup:
		if m.downAt.IsZero() || now.Before(m.downAt) {
			return nil
		}
		switch {
		case m.Demoted():
			// No master, but we may not take over; keep listening and pick
			// the timer up again when the last hold is lifted.
			m.downAt = time.Time{}
			return nil
		case m.gated:
			// Retry every interval, as keepalived does for sync groups,
			// until the group lets all members take over together.
			m.ready = true
			m.downAt = now.Add(m.masterAdver)
			return []Action{WantMaster{m.downReason, m.downDetail}}
		}
		return m.takeOver(now, m.downReason, m.downDetail)
	}
	return nil
}

func (m *Machine) receive(now time.Time, a *Advert) []Action {
	if plain(a.Src) == plain(m.cfg.LocalAddr) {
		return nil // our own advert looped back
	}
	switch m.state {
	case StateBackup:
		return m.backupReceive(now, a)
	case StateMaster:
		return m.masterReceive(now, a)
	}
	return nil // Init and Fault do not listen
}

// backupReceive is RFC 5798 §6.4.2 "If an ADVERTISEMENT is received".
func (m *Machine) backupReceive(now time.Time, a *Advert) []Action {
	if a.Priority == 0 {
		// The master resigned: take over after Skew_Time, so the highest
		// priority backup wins the race.
		m.ready = false
		m.armDown(now, m.SkewTime(), ReasonPriorityZero, "from "+a.Src.String())
		return nil
	}
	preempt := m.cfg.Preempt || m.owner // the owner always preempts (§6.1)
	switch {
	case m.Demoted():
		// We will not take over, so any master is the master: follow it,
		// and let the timer tell whether one is alive.
		preempt = false
	case preempt && m.cfg.PreemptDelay > 0 && now.Before(m.backupSince.Add(m.cfg.PreemptDelay)):
		preempt = false
	}
	if !preempt || a.Priority >= m.prio {
		if d := a.IntervalDuration(); d > 0 {
			m.masterAdver = d // v3 adopts the master's interval; v2 was filtered to be equal
		}
		m.master = a.Src
		m.ready = false
		m.armDown(now, m.MasterDownInterval(), ReasonMasterDown, "")
		return nil
	}
	// A lower-priority master while we preempt: discard the advert and let
	// Master_Down_Timer run out.
	if m.downReason == ReasonMasterDown {
		m.downReason = ReasonPreempt
		m.downDetail = fmt.Sprintf("%s has lower priority %d", a.Src, a.Priority)
	}
	return nil
}

// masterReceive is RFC 5798 §6.4.3 "If an ADVERTISEMENT is received", with
// RFC 9568's immediate reply to a lower priority.
func (m *Machine) masterReceive(now time.Time, a *Advert) []Action {
	if a.Priority == 0 {
		m.adverAt = now.Add(m.cfg.AdvertInterval)
		return m.sendOwn()
	}
	reason := ReasonNone
	switch {
	case a.Priority > m.prio:
		reason = ReasonHigherPriority
	case a.Priority == m.prio && addrGreater(a.Src, m.cfg.LocalAddr):
		reason = ReasonHigherAddress
	}
	if reason == ReasonNone {
		if m.cfg.LowerPrioNoAdvert {
			// RFC 5798 §6.4.3 discards it: the next regular advert tells
			// the other router soon enough.
			return nil
		}
		// Tell the lower-priority router at once that we are here, rather
		// than leave two masters until our next advert.
		m.adverAt = now.Add(m.cfg.AdvertInterval)
		return m.sendOwn()
	}
	var acts []Action
	if m.cfg.HigherPrioSendAdvert {
		// Our own priority, not 0: the winner learns it was not alone
		// (and announces again), but nobody is told to take over.
		acts = append(acts, SendAdvert{m.prio})
	}
	acts = append(acts, m.leaveMaster(now, StateBackup, reason, fmt.Sprintf("%s prio=%d", a.Src, a.Priority), false)...)
	if d := a.IntervalDuration(); d > 0 {
		m.masterAdver = d
	}
	m.master = a.Src
	m.armDown(now, m.MasterDownInterval(), ReasonMasterDown, "")
	return acts
}

// sendOwn is the one action of a master's periodic or answering advert, in
// the machine's reused slice: the steady state allocates nothing.
func (m *Machine) sendOwn() []Action {
	m.acts = append(m.acts[:0], SendAdvert{m.prio})
	return m.acts
}

// addrGreater compares primary addresses as unsigned integers in network
// byte order (RFC 9568 §6.4.3).
func addrGreater(a, b netip.Addr) bool {
	x, y := plain(a).As16(), plain(b).As16()
	return bytes.Compare(x[:], y[:]) > 0
}

func (m *Machine) setPriority(now time.Time, in SetPriority) []Action {
	p := m.clampPriority(in.Priority)
	if p == m.prio {
		return nil
	}
	m.prio = p
	if m.state == StateMaster {
		// Advertise the change now: a backup that now outranks us can
		// start preempting one interval earlier. At most once per advert
		// interval, though: a flapping check would otherwise flood the
		// segment (20 checks flipping every 50 ms made 400 adverts/s);
		// within the interval the next regular advert carries it, as
		// keepalived's does.
		if !m.prioSentAt.IsZero() && now.Sub(m.prioSentAt) < m.cfg.AdvertInterval {
			return nil
		}
		m.prioSentAt = now
		m.adverAt = now.Add(m.cfg.AdvertInterval)
		return []Action{SendAdvert{p}}
	}
	return nil
}

func (m *Machine) setFault(now time.Time, in SetFault) []Action {
	if in.Fault {
		r := in.Reason.or(ReasonCheckFailed)
		m.faultReason, m.faultDetail = r, in.Detail
		if m.fault {
			return nil
		}
		m.fault = true
		switch m.state {
		case StateMaster:
			return m.leaveMaster(now, StateFault, r, in.Detail, true)
		case StateBackup:
			m.state = StateFault
			m.stopTimers()
			return []Action{Transition{StateBackup, StateFault, r, in.Detail}}
		}
		return nil
	}
	if !m.fault {
		return nil
	}
	m.fault = false
	if m.state != StateFault {
		return nil
	}
	r := in.Reason.or(ReasonFaultCleared)
	if m.owner && !m.Demoted() {
		if !m.Permitted() {
			m.enterBackup(now, m.cfg.AdvertInterval)
			return append([]Action{Transition{StateFault, StateBackup, r, in.Detail}}, m.takeOver(now, r, in.Detail)...)
		}
		return m.becomeMaster(now, r, in.Detail)
	}
	m.enterBackup(now, m.cfg.AdvertInterval)
	return []Action{Transition{StateFault, StateBackup, r, in.Detail}}
}

func (m *Machine) demote(now time.Time, in Demote) []Action {
	r := in.Reason.or(ReasonOperatorDemote)
	bit := holdBit(r)
	if in.Demoted {
		if m.holds&bit != 0 {
			return nil
		}
		m.holds |= bit
		switch m.state {
		case StateMaster:
			return m.leaveMaster(now, StateBackup, r, in.Detail, true)
		case StateBackup:
			m.ready = false
		}
		return nil
	}
	if m.holds&bit == 0 {
		return nil
	}
	m.holds &^= bit
	if m.holds != 0 || m.state != StateBackup {
		return nil
	}
	if m.owner {
		return m.takeOver(now, ReasonAddressOwner, withDetail(ReasonDemoteCleared, in.Detail))
	}
	if m.downAt.IsZero() {
		// The timer ran out while we were held: give any master a full
		// Master_Down_Interval to be heard before we take over.
		m.armDown(now, m.MasterDownInterval(), ReasonMasterDown, "")
	}
	return nil
}

func (m *Machine) syncState(now time.Time, in SyncState) []Action {
	r, detail := in.Reason.or(ReasonSyncGroup), in.Detail
	switch {
	case in.To == StateMaster && m.state == StateBackup && !m.fault && !m.Demoted() && m.Permitted():
		if m.ready && detail == "" {
			detail = withDetail(m.downReason, m.downDetail) // why this member was ready
		}
		return m.becomeMaster(now, r, detail)
	case in.To == StateBackup && m.state == StateMaster:
		return m.leaveMaster(now, StateBackup, r, detail, true)
	}
	return nil
}

func (m *Machine) becomeMaster(now time.Time, r Reason, detail string) []Action {
	from := m.state
	m.state = StateMaster
	m.downAt, m.ready = time.Time{}, false
	m.masterAdver = m.cfg.AdvertInterval
	m.adverAt = now.Add(m.cfg.AdvertInterval)
	m.master = m.cfg.LocalAddr
	return []Action{Transition{from, StateMaster, r, detail}, SendAdvert{m.prio}, AcquireVIPs{}, Announce{}}
}

// leaveMaster releases mastership; resign sends a priority 0 advert first so
// backups take over after Skew_Time instead of Master_Down_Interval.
func (m *Machine) leaveMaster(now time.Time, to State, r Reason, detail string, resign bool) []Action {
	var acts []Action
	if resign {
		acts = append(acts, SendAdvert{0})
	}
	acts = append(acts, ReleaseVIPs{}, Transition{StateMaster, to, r, detail})
	m.adverAt = time.Time{}
	m.master = netip.Addr{}
	if to == StateBackup {
		m.enterBackup(now, m.cfg.AdvertInterval)
	} else {
		m.state = to
		m.stopTimers()
	}
	return acts
}

func (m *Machine) enterBackup(now time.Time, masterAdver time.Duration) {
	m.state = StateBackup
	m.backupSince = now
	m.masterAdver = masterAdver
	m.ready = false
	m.armDown(now, m.MasterDownInterval(), ReasonMasterDown, "")
}

func (m *Machine) armDown(now time.Time, d time.Duration, r Reason, detail string) {
	m.downAt = now.Add(d)
	m.downReason, m.downDetail = r, detail
}

func (m *Machine) stopTimers() {
	m.adverAt, m.downAt = time.Time{}, time.Time{}
	m.ready = false
}
