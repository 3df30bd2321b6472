package vrrp

import "fmt"

// Reason says why a transition happened. Every Transition carries one, and
// logs record it as a field; its String is stable text meant for humans and
// for tests.
type Reason uint8

const (
	ReasonNone Reason = iota
	// ReasonStartup: Initialize → Backup (RFC 5798 §6.4.1).
	ReasonStartup
	// ReasonAddressOwner: priority 255 goes Master at once (§6.4.1).
	ReasonAddressOwner
	// ReasonMasterDown: Master_Down_Timer fired with no master heard (§6.4.2).
	ReasonMasterDown
	// ReasonPriorityZero: the master resigned with a priority 0 advert and
	// Master_Down_Timer, set to Skew_Time, fired (§6.4.2).
	ReasonPriorityZero
	// ReasonPreempt: a lower-priority master was heard and, with preemption
	// on, its adverts were discarded until Master_Down_Timer fired (§6.4.2).
	ReasonPreempt
	// ReasonHigherPriority: a Master heard a higher priority (§6.4.3).
	ReasonHigherPriority
	// ReasonHigherAddress: a Master heard its own priority from a greater
	// primary address (§6.4.3).
	ReasonHigherAddress
	// ReasonShutdown: the instance was stopped (§6.4.3 Shutdown event).
	ReasonShutdown
	// ReasonCheckFailed: a tracked check failed; the instance is in fault.
	ReasonCheckFailed
	// ReasonCheckRecovered: the failing checks recovered.
	ReasonCheckRecovered
	// ReasonInterfaceDown / ReasonInterfaceUp: the link went down or up.
	ReasonInterfaceDown
	ReasonInterfaceUp
	// ReasonFaultCleared: a fault cleared (generic; prefer the specific ones).
	ReasonFaultCleared
	// ReasonOperatorDemote: an operator asked this node to step down.
	ReasonOperatorDemote
	// ReasonSplitBrainYield: a split-brain guard decided this node yields.
	ReasonSplitBrainYield
	// ReasonSyncGroup: a sync group moved this member with the others.
	ReasonSyncGroup
	// ReasonSyncGroupFault: another member of the sync group is in fault.
	ReasonSyncGroupFault
	// ReasonDemoteCleared: the last demotion was lifted.
	ReasonDemoteCleared
	// ReasonCheckPending: a tracked check has not reported yet; the
	// instance may not become Master before it does.
	ReasonCheckPending
	// ReasonWitness: the quorum witness granted or withdrew the right to be
	// Master (Permit).
	ReasonWitness

	reasonCount // keep last: demotion holds are a bitset over reasons
)

var reasonNames = [...]string{
	ReasonNone:            "unspecified",
	ReasonStartup:         "startup",
	ReasonAddressOwner:    "address owner",
	ReasonMasterDown:      "master down timer",
	ReasonPriorityZero:    "priority 0 received",
	ReasonPreempt:         "preempt",
	ReasonHigherPriority:  "higher priority seen",
	ReasonHigherAddress:   "equal priority from higher address",
	ReasonShutdown:        "shutdown",
	ReasonCheckFailed:     "check failed",
	ReasonCheckRecovered:  "check recovered",
	ReasonInterfaceDown:   "interface down",
	ReasonInterfaceUp:     "interface up",
	ReasonFaultCleared:    "fault cleared",
	ReasonOperatorDemote:  "operator demote",
	ReasonSplitBrainYield: "split-brain yield",
	ReasonSyncGroup:       "sync group",
	ReasonSyncGroupFault:  "sync group fault",
	ReasonDemoteCleared:   "demote cleared",
	ReasonCheckPending:    "check pending",
	ReasonWitness:         "witness",
}

func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// or returns r, or def when r is ReasonNone.
func (r Reason) or(def Reason) Reason {
	if r == ReasonNone {
		return def
	}
	return r
}
