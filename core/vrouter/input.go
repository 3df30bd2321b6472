package vrouter

import (
	"net/netip"
	"time"

	"github.com/hawatch/hawatch/core/vrrp"
)

// Input is fed to Router.Step. The set is closed: Start, Shutdown, Tick,
// Received, Observed, Maintenance, Reconfigure, VIPApplied, Witnessed.
//
// Inputs other than Start, Shutdown, Tick and Received state a condition,
// not an edge: feeding the same one twice changes nothing, so the
// application never has to remember what it told a router.
type Input interface{ isInput() }

// Start leaves Init (RFC 5798 §6.4.1).
type Start struct{}

// Shutdown returns to Init: a master resigns with priority 0 and releases
// (RFC 5798 §6.4.3 Shutdown event).
type Shutdown struct{}

// Tick tells the router the time is now; it fires whatever is due (VRRP
// timers, unknown results turning into failures). Send it when
// NextDeadline passes.
type Tick struct{}

// Received is an advert that arrived on the instance's socket and decoded.
// TTL is the IPv4 TTL or IPv6 hop limit and Dst the IP destination, both as
// received: the router applies its own mode's rules to them.
//
// Step keeps nothing of the Received or its Advert past the step, so the
// application may decode every packet into one reused Advert; passing a
// Received by value does not allocate (Step does not let it escape:
// TestHotPathAllocs holds both).
type Received struct {
	Advert *vrrp.Advert
	TTL    int
	Dst    netip.Addr
}

// Observed is the latest result of a check. A router that does not track
// the check ignores it, so the application may hand every result to every
// router.
type Observed struct {
	Check  string
	Status Status
	Reason string
	At     time.Time // when the check observed it; the step's now if zero
	// Heard is a guard's evidence that another router advertises: the
	// latest advert it saw on the wire (before any packet filter, so it
	// sees what a cut VRRP path hides from the instance's socket); nil:
	// none seen.
	Heard *Heard
}

// Heard is one advert another router sent, as a guard saw it.
type Heard struct {
	From     netip.Addr
	Priority uint8
	At       time.Time
}

// Maintenance is the operator's demote intent for this instance: On holds
// it in BACKUP (a master resigns once), off lets it go.
type Maintenance struct {
	On     bool
	Detail string
}

// Reconfigure replaces what can change without a restart (a reload that
// kept the instance's VRRP parameters): tracks, notification targets and
// auth_hmac keys and mode. Tracks whose check, rise and fall are unchanged
// keep their state. A track that is new takes its check's latest result
// from Latest, if there is one, so adding a track to a master whose check
// already reports does not hold it back. New keys keep the senders'
// anti-replay marks, so a rotation drops nothing.
type Reconfigure struct {
	Tracks []Track
	Notify []string
	Latest map[string]Observed
	HMAC   *HMAC
}

// VIPApplied reports what the application's VIP worker did with the last
// VIPIntent: whether the addresses are on the interface now, and the error
// if an operation failed. It only feeds status.
type VIPApplied struct {
	Held bool
	Err  error
}

func (Start) isInput()       {}
func (Shutdown) isInput()    {}
func (Tick) isInput()        {}
func (Received) isInput()    {}
func (Observed) isInput()    {}
func (Maintenance) isInput() {}
func (Reconfigure) isInput() {}
func (VIPApplied) isInput()  {}
