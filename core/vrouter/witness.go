package vrouter

import (
	"fmt"
	"time"

	"github.com/hawatch/hawatch/core/vrrp"
)

// Witness binds an instance to a quorum witness (hawatch's witness plugin
// kind, e.g. etcd): the instance may own its VIPs only while the witness
// grants it the right.
type Witness struct {
	// Keep: when the witness cannot be reached (or has not answered yet,
	// or a grant ran out unconfirmed), VRRP alone decides, as without a
	// witness. Otherwise ("release", the default) no grant means no VIPs,
	// which never risks two owners.
	Keep bool
}

// GrantState says who holds an instance's right, as the witness reports.
type GrantState uint8

const (
	GrantUnknown     GrantState = iota // no answer yet
	GrantHeld                          // this node holds it
	GrantOther                         // another node holds it
	GrantFree                          // nobody holds it
	GrantUnreachable                   // the quorum cannot be reached
)

func (s GrantState) String() string {
	switch s {
	case GrantHeld:
		return "granted"
	case GrantOther:
		return "held by another node"
	case GrantFree:
		return "free"
	case GrantUnreachable:
		return "unreachable"
	}
	return "unknown"
}

// Witnessed is the witness's latest word on this instance's right: an
// input that states a condition (feed the latest; repeating it is
// harmless).
type Witnessed struct {
	State  GrantState
	Holder string
	// ValidUntil (GrantHeld) is when the right stops being ours for certain
	// unless a newer grant arrives: the application's receive time plus the
	// witness's ValidFor.
	ValidUntil time.Time
	Revision   int64
	Reason     string
}

func (Witnessed) isInput() {}

// Claim is a change of what this instance wants from its witness: the right
// (Want true: obtain and keep it) or nothing (false: give it up now, so a
// graceful stop or a demote does not leave the next owner waiting for an
// expiry).
type Claim struct {
	Instance string
	Want     bool
}

func (c Claim) String() string {
	if c.Want {
		return c.Instance + " claim the right"
	}
	return c.Instance + " give up the right"
}

// WitnessStatus is the witness part of a Snapshot.
type WitnessStatus struct {
	Witnessed
	Keep     bool
	Claiming bool
	Granted  bool // the right is ours now
}

// granted reports whether the right is ours at now.
func (r *Router) granted(now time.Time) bool {
	return r.grant.State == GrantHeld && now.Before(r.grant.ValidUntil)
}

// permitted is the witness rule: the machine may be (or become) Master
// while the right is ours; with Keep also while the witness cannot be told
// (unreachable, no answer yet, or a grant that ran out unconfirmed), so
// VRRP alone decides then.
func (r *Router) permitted(now time.Time) (bool, string) {
	g := r.grant
	if r.granted(now) {
		return true, fmt.Sprintf("granted (revision %d)", g.Revision)
	}
	lost := g.State == GrantUnreachable || g.State == GrantUnknown || g.State == GrantHeld
	if r.witness.Keep && lost {
		return true, "witness lost; VRRP alone decides (on_witness_lost = keep)"
	}
	switch g.State {
	case GrantOther:
		return false, fmt.Sprintf("held by %s (revision %d)", or(g.Holder, "another node"), g.Revision)
	case GrantFree:
		return false, "the right is free; not ours yet"
	case GrantHeld:
		return false, "grant ran out at " + g.ValidUntil.UTC().Format("15:04:05.000") + " without confirmation"
	case GrantUnreachable:
		return false, "witness unreachable: " + or(g.Reason, "no answer")
	}
	return false, "waiting for the witness"
}

// reconcileWitness feeds the witness rule to the machine. A master that can
// no longer confirm its right resigns before the right can expire
// anywhere: ValidUntil already holds the witness's safety margin, and
// NextDeadline wakes the router at it.
func (r *Router) reconcileWitness(now time.Time, rd *Ready) {
	ok, why := r.permitted(now)
	if ok != r.m.Permitted() {
		r.feed(now, vrrp.Permit{Allowed: ok, Reason: vrrp.ReasonWitness, Detail: why}, rd)
	}
}

// Claiming reports whether the instance wants its witness's right now.
func (r *Router) Claiming() bool { return r.claiming }

// syncClaim tells the witness what this instance wants now: the right while
// it is Master or waiting to take over, nothing otherwise.
func (r *Router) syncClaim(rd *Ready) {
	want := r.m.State() == vrrp.StateMaster || (r.m.State() == vrrp.StateBackup && r.m.Ready())
	if want != r.claiming {
		r.claiming = want
		rd.Claims = append(rd.Claims, Claim{Instance: r.name, Want: want})
	}
}

// preemptAdvert lets a backup that would preempt a lower-priority master,
// but waits for the right that master holds, say so: one advert at its own
// priority (keepalived's higher_prio_send_advert). The master then steps
// down under RFC 5798 §6.4.3 and gives the right up, and this node gets it.
// Only while the witness says another node holds the right: a node that
// cannot reach the quorum could never take over, and its adverts would
// only push the master out (no owner at all).
func (r *Router) preemptAdvert(now time.Time, a *vrrp.Advert, rd *Ready) {
	if r.witness == nil || r.grant.State != GrantOther || r.m.State() != vrrp.StateBackup || !r.m.Ready() || !r.cfg.Preempt ||
		a.Priority == 0 || a.Priority >= r.m.Priority() {
		return
	}
	r.send(now, r.m.Priority(), rd)
}

func (r *Router) witnessStatus(now time.Time) *WitnessStatus {
	if r.witness == nil {
		return nil
	}
	return &WitnessStatus{Witnessed: r.grant, Keep: r.witness.Keep, Claiming: r.claiming, Granted: r.granted(now)}
}
