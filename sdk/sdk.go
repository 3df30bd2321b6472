// Package sdk is what a hawatch plugin imports. A plugin is a separate
// process started by the hawatch daemon over hashicorp/go-plugin (gRPC); the
// SDK hides that wiring: implement Checker (poll), Watcher (push) or Action,
// then call Serve from main.
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
	KindCheck  Kind = "check"
	KindAction Kind = "action"
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
}

// Config is a plugin's decoded `config {}` block. The host has already
// validated it against the plugin's Schema, so Decode only maps it into the
// plugin's own struct (use `json` tags; durations arrive as strings like
// "10ms").
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
	// validates user config against it before the plugin runs.
	Schema() Schema
	// Configure receives the validated config. It is called once before any
	// Check/Watch/Notify, and again on reload with a new config.
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
