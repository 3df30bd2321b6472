// Package sdk is what a hawatch plugin imports. A plugin is a separate
// process started by the hawatch daemon over hashicorp/go-plugin (gRPC); the
// SDK hides that wiring: implement Checker (poll), Watcher (push), Action or
// Witness, then call Serve from main.
//
// The SDK never imports hawatch's core packages, so a plugin can be built in
// another repository with only this module path.
package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Kind says which plugin interface a binary serves.
type Kind string

const (
	KindCheck   Kind = "check"
	KindAction  Kind = "action"
	KindWitness Kind = "witness"
)

// Info identifies a plugin. The host refuses a plugin whose Name or Kind does
// not match the `plugin {}` block that started it.
type Info struct {
	Name    string
	Kind    Kind
	Version string
}

// Status is the outcome of one health observation.
type Status int

const (
	// StatusUnknown means no verdict: the plugin is down, timed out, or could
	// not observe. The host applies the check's on_unknown policy.
	StatusUnknown Status = iota
	StatusOK
	StatusFail
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusFail:
		return "fail"
	default:
		return "unknown"
	}
}

// Result is one health observation.
type Result struct {
	Status     Status
	Reason     string            // short, human readable: "nginx: 0 processes, want >= 1"
	ObservedAt time.Time         // when the plugin observed it (zero: the SDK fills in now)
	Detail     map[string]string // optional facts: latency, pid, ...
}

// OK and Fail build results with a formatted reason.
func OK(format string, args ...any) Result {
	return Result{Status: StatusOK, Reason: fmt.Sprintf(format, args...)}
}

func Fail(format string, args ...any) Result {
	return Result{Status: StatusFail, Reason: fmt.Sprintf(format, args...)}
}

// Transition is what an action plugin is told when an instance or sync group
// changes state.
type Transition struct {
	Instance string // instance name; empty for a sync-group transition
	Group    string // sync group name, if any
	From     string // "INIT", "BACKUP", "MASTER", "FAULT", "STOP"
	To       string
	Priority int
	Reason   string
	At       time.Time
	// FencingToken is the witness grant's revision while this node holds
	// the right to own the instance's VIPs (0 without a witness). Pass it
	// to systems that must refuse a deposed master (HAWATCH_FENCING_TOKEN
	// for exec actions).
	FencingToken int64
}

// Config is a plugin's decoded `config {}` block as JSON. The host has
// already validated it against the plugin's Schema. Configured and Decode
// map it into a tagged config struct; Config.Decode is the plain JSON
// mapping (`json` tags; durations arrive as strings like "10ms").
type Config struct {
	Raw json.RawMessage
}

// Decode unmarshals the configuration into v.
func (c Config) Decode(v any) error {
	if len(c.Raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(c.Raw, v); err != nil {
		return fmt.Errorf("decode plugin config: %w", err)
	}
	return nil
}

// Base is implemented by every plugin.
type Base interface {
	Info() Info
	// Schema declares the plugin's `config {}` block; the host decodes and
	// validates user config against it before the plugin runs. Embed
	// Configured[C] to derive it (and Configure) from a config struct.
	Schema() Schema
	// Configure receives the validated config. It is called once before any
	// Check/Watch/Notify, and again on reload with a new config. It must
	// only decide and store: `hawatch validate`, start and reload also call
	// it on a probe process to ask whether the config is acceptable, and
	// report its error at the `config {}` block.
	Configure(ctx context.Context, cfg Config) error
}

// Checker is the poll form of a check: the SDK calls Check every interval
// with the check's timeout as the context deadline.
type Checker interface {
	Base
	Check(ctx context.Context) Result
}

// Watcher is the push form of a check: Watch runs until ctx is done and calls
// report whenever the observed state changes (and at least once at start).
type Watcher interface {
	Base
	Watch(ctx context.Context, report func(Result)) error
}

// Action receives state transitions. Calls are ordered per action; the
// context carries the action's deadline.
type Action interface {
	Base
	Notify(ctx context.Context, t Transition) error
}

// Duration decodes a config duration: the host sends durations as strings
// such as "250ms" (an empty string is zero). Use it in a plugin's config
// struct and convert with time.Duration(d).
type Duration time.Duration

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if errN := json.Unmarshal(b, &n); errN != nil {
			return fmt.Errorf("duration: want a string like \"250ms\": %w", err)
		}
		*d = Duration(n)
		return nil
	}
	if s == "" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(v)
	return nil
}

// Witness is a witness plugin: for each instance the host names, it tells
// who holds the right to own the instance's VIPs in an external quorum
// (etcd, Consul, ZooKeeper), and obtains, keeps or gives up that right as
// the host wishes. The host lets an instance become master only while the
// witness says the right is held by this node, and never past ValidFor.
type Witness interface {
	Base
	// Serve runs until ctx ends. wants carries the host's wishes, in order;
	// report hands a Grant to the host (safe from any goroutine; it waits
	// for the host, or ctx, so nothing is dropped). Report every change of
	// an instance's grant, and refresh a held grant well before its
	// ValidFor runs out. When Serve returns, every right it held must be
	// given up (a graceful stop must not leave the next owner waiting for
	// an expiry).
	//
	// The host repeats every wish at least every WantRenewEvery, from the
	// loop that would release the VIPs. A witness must not extend any right
	// (keep a lease alive, acquire) once it has heard nothing from the host
	// for HostSilentAfter: that host is hung or starved (SIGSTOP, a frozen
	// VM, a stuck loop), cannot give its VIPs up, and its rights must lapse
	// as a crashed node's would. When the host is heard again, rights that
	// survived are kept; the host itself resigns a grant past its validity.
	Serve(ctx context.Context, wants <-chan Want, report func(Grant)) error
}

// The host's liveness contract with a witness (see Witness.Serve).
const (
	WantRenewEvery  = 100 * time.Millisecond
	HostSilentAfter = 5 * WantRenewEvery
)

// Want is the host's wish for one instance: Want true asks for the right
// (obtain it and keep it); false gives it up now. The first Want for an
// instance also starts reporting its grant; a repeated one only says the
// host is alive.
type Want struct {
	Instance string
	Want     bool
}

// GrantState says who holds the right for an instance.
type GrantState int

const (
	GrantUnknown     GrantState = iota // not known yet
	GrantHeld                          // this node holds it
	GrantOther                         // another node holds it (Grant.Holder)
	GrantFree                          // nobody holds it
	GrantUnreachable                   // the quorum cannot be reached: nothing is known
)

func (s GrantState) String() string {
	switch s {
	case GrantHeld:
		return "held"
	case GrantOther:
		return "other"
	case GrantFree:
		return "free"
	case GrantUnreachable:
		return "unreachable"
	}
	return "unknown"
}

// Grant is what a witness knows about one instance's right.
type Grant struct {
	Instance string
	State    GrantState
	Holder   string // who holds it (GrantHeld: this node's name; GrantOther: the other's)
	// ValidFor (GrantHeld only) is how long from now the right is this
	// node's for certain: the quorum's expiry minus a safety margin for the
	// refresh interval and clock rate error.
	ValidFor time.Duration
	// Revision grows with every new holder (etcd: the key's create
	// revision); actions get it as a fencing token.
	Revision int64
	Reason   string
}
