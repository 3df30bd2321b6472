package pluginhost

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"time"
)

// PluginSpec says how to start one plugin binary; the engine maps a
// `plugin {}` block (plus node.plugin_dir) onto it.
type PluginSpec struct {
	// Name is the plugin block's name; the binary must report the same name
	// in its Info.
	Name string
	// Command is the binary; a relative path is looked up in Dir.
	Command string
	Args    []string
	// SHA256 optionally pins the binary (hex); a mismatch refuses to start.
	SHA256 string
	// User optionally runs the plugin as this user (name or uid) with its
	// primary group, no supplementary groups and no capabilities.
	User string
	// Dir is the node's plugin_dir.
	Dir string
}

// Path is the binary the spec starts.
func (s PluginSpec) Path() string {
	if filepath.IsAbs(s.Command) || s.Dir == "" {
		return filepath.Clean(s.Command)
	}
	return filepath.Join(s.Dir, s.Command)
}

// CheckSpec is one `check {}` block bound to its plugin.
type CheckSpec struct {
	// Name is the check's name, used in logs and results.
	Name     string
	Plugin   PluginSpec
	Interval time.Duration
	// Timeout bounds one observation; zero means Interval.
	Timeout time.Duration
	// Config is the block's `config {}` as produced by DecodeConfig.
	Config json.RawMessage
}

// ActionSpec is one `action {}` block bound to its plugin.
type ActionSpec struct {
	Name   string
	Plugin PluginSpec
	// Timeout is the deadline of one Notify call.
	Timeout time.Duration
	Config  json.RawMessage
	// QueueSize bounds the transitions waiting for this action; zero means
	// Options.ActionQueue.
	QueueSize int
}

// WitnessSpec is one `witness {}` block bound to its plugin.
type WitnessSpec struct {
	Name   string
	Plugin PluginSpec
	Config json.RawMessage
}

// Options tune a Manager; the zero value is usable.
type Options struct {
	// SocketDir is where the manager creates its private 0700 directory for
	// plugin sockets; empty means os.TempDir().
	SocketDir string
	// SchemaCacheDir caches plugin schemas by binary hash for FetchSchema;
	// empty disables the cache.
	SchemaCacheDir string
	// StartTimeout bounds a plugin's start and handshake (default 10s).
	StartTimeout time.Duration
	// CallTimeout bounds Info/Schema/Configure calls (default 5s).
	CallTimeout time.Duration
	// ResultBuffer is the number of results a check buffers for a slow
	// consumer before it drops the oldest (default 16).
	ResultBuffer int
	// ActionQueue is the default per-action queue length (default 64).
	ActionQueue int
	// Backoff is the restart policy (default 100ms doubling to 10s, reset
	// after 30s of healthy running).
	Backoff Backoff
}

func (o Options) withDefaults() Options {
	if o.StartTimeout <= 0 {
		o.StartTimeout = 10 * time.Second
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = 5 * time.Second
	}
	if o.ResultBuffer <= 0 {
		o.ResultBuffer = 16
	}
	if o.ActionQueue <= 0 {
		o.ActionQueue = 64
	}
	o.Backoff = o.Backoff.withDefaults()
	return o
}

// Sentinel errors; every error the manager returns wraps one of these or
// carries the failing plugin's own message.
var (
	// ErrUnsafePath: the binary or a parent directory is writable by
	// group/others or owned by someone other than root or the plugin user.
	ErrUnsafePath = errors.New("unsafe plugin path")
	// ErrChecksum: the binary does not match the configured sha256.
	ErrChecksum = errors.New("plugin checksum mismatch")
	// ErrIdentity: the plugin's reported name or kind differs from config.
	ErrIdentity = errors.New("plugin identity mismatch")
	// ErrClosed: the manager or the check/action was stopped.
	ErrClosed = errors.New("plugin manager closed")
)
