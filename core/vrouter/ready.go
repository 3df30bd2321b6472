package vrouter

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/hawatch/hawatch/core/vrrp"
)

// Ready is everything one Step asks the application to do, in order within
// each list. Entries name their instance: a step of one member of a sync
// group can move the other members too.
//
// A Ready is valid until the next Step of the router that returned it, or
// of any router of its sync group: its lists and payloads are the routers'
// own and are reused, so the steady state allocates nothing. Carry it out
// before stepping again; whatever must outlive that (an intent queued to
// another goroutine) is copied out by value, never kept as a slice.
//
// Payloads are shared with the router (an unchanged advert is encoded once
// and sent many times): send them, never modify them.
type Ready struct {
	Adverts     []Outgoing
	VIPs        []VIPIntent
	Transitions []Transition
	Checks      []CheckChange
	Drops       []Drop
	Notes       []Note
	// Claims tell the instance's witness what it wants (Config.Witness).
	Claims []Claim

	// wire holds the step's signed payloads back to back (Adverts point
	// into it).
	wire []byte
}

// reset empties rd for the next step, keeping the lists' room. Entries are
// cleared so a list does not keep a past step's errors and strings alive.
func (rd *Ready) reset() {
	rd.Adverts = truncate(rd.Adverts)
	rd.VIPs = truncate(rd.VIPs)
	rd.Transitions = truncate(rd.Transitions)
	rd.Checks = truncate(rd.Checks)
	rd.Drops = truncate(rd.Drops)
	rd.Notes = truncate(rd.Notes)
	rd.Claims = truncate(rd.Claims)
	rd.wire = rd.wire[:0]
}

func truncate[E any](s []E) []E {
	clear(s)
	return s[:0]
}

// Empty reports whether the step asked for nothing.
func (rd *Ready) Empty() bool {
	return len(rd.Adverts) == 0 && len(rd.VIPs) == 0 && len(rd.Transitions) == 0 &&
		len(rd.Checks) == 0 && len(rd.Drops) == 0 && len(rd.Notes) == 0 && len(rd.Claims) == 0
}

// Outgoing is one fully encoded advert: write Payload to Dst on the
// instance's socket.
type Outgoing struct {
	Instance string
	Dst      netip.Addr
	Payload  []byte
	Priority uint8
}

// Hold is what should happen to an instance's addresses.
type Hold uint8

const (
	HoldKeep    Hold = iota // leave them as they are
	HoldAcquire             // add them to the interface
	HoldRelease             // delete the ones this node added
)

// Announcing is what should happen to an instance's announcements.
type Announcing uint8

const (
	AnnounceKeep  Announcing = iota // leave the running schedule alone
	AnnounceStart                   // start the configured schedule afresh, once
	AnnounceStop                    // stop announcing
)

// VIPIntent is a change of an instance's addresses or announcements. An
// address owner's intents never carry HoldAcquire or HoldRelease: its
// addresses are the node's own, announced but never added or deleted.
type VIPIntent struct {
	Instance string
	Hold     Hold
	Announce Announcing
	// LowerPrio: this AnnounceStart answers a lower priority heard while
	// master; use the schedule kept for that (keepalived
	// garp_lower_prio_repeat / garp_lower_prio_delay).
	LowerPrio bool
	// Fence is set for an instance without accept mode (Config.NoAccept):
	// see accept.go.
	Fence Fencing
}

// Transition is a state change, with what the notification needs.
type Transition struct {
	Instance string
	Group    string
	From, To vrrp.State
	Reason   vrrp.Reason
	Detail   string
	Priority uint8
	At       time.Time
	// Notify lists the action names to tell.
	Notify []string
	// FencingToken is the witness grant's revision while this node holds
	// the right (0 without a witness): actions pass it on so downstream
	// systems can refuse a deposed master's writes.
	FencingToken int64
}

// ReasonText is the reason with its detail, as notifications carry it.
func (t Transition) ReasonText() string {
	if t.Detail != "" {
		return t.Reason.String() + ": " + t.Detail
	}
	return t.Reason.String()
}

// CheckChange is a tracked check whose verdict changed.
type CheckChange struct {
	Instance string
	Check    string
	Status   Status
	Up       bool
	Reason   string
	At       time.Time
}

// Drop is an advert the instance's filter discarded, or accepted with
// warnings (Err nil, Warning set).
type Drop struct {
	Instance string
	Src      netip.Addr
	Reason   string // vrrp.DropReason label, "" for a warning
	Err      error
	Warning  vrrp.Warning
}

// Note is an operator-facing event that is not a transition (log it).
type Note struct {
	Instance string
	Message  string
}

func (o Outgoing) String() string {
	return fmt.Sprintf("%s send prio=%d to %s (%d bytes)", o.Instance, o.Priority, o.Dst, len(o.Payload))
}

func (v VIPIntent) String() string {
	var parts []string
	switch v.Hold {
	case HoldAcquire:
		parts = append(parts, "acquire")
	case HoldRelease:
		parts = append(parts, "release")
	}
	switch v.Announce {
	case AnnounceStart:
		parts = append(parts, "announce")
		if v.LowerPrio {
			parts[len(parts)-1] += "(lower-prio)"
		}
	case AnnounceStop:
		parts = append(parts, "quiet")
	}
	switch v.Fence {
	case FenceDrop:
		parts = append(parts, "fence")
	case FenceLift:
		parts = append(parts, "unfence")
	}
	return v.Instance + " vip " + strings.Join(parts, "+")
}

func (t Transition) String() string {
	return fmt.Sprintf("%s transition %s->%s (%s) prio=%d", t.Instance, t.From, t.To, t.ReasonText(), t.Priority)
}

func (c CheckChange) String() string {
	verdict := "down"
	if c.Up {
		verdict = "up"
	}
	return fmt.Sprintf("%s check %s %s (%s)", c.Instance, c.Check, verdict, c.Reason)
}

func (d Drop) String() string {
	if d.Reason == "" {
		return fmt.Sprintf("%s warn %s from %s", d.Instance, d.Warning, d.Src)
	}
	return fmt.Sprintf("%s drop %s from %s", d.Instance, d.Reason, d.Src)
}

func (n Note) String() string { return n.Instance + " note: " + n.Message }
