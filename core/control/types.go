package control

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// Status is the answer of GET /v1/status: the whole node.
type Status struct {
	Node      string           `json:"node"`
	At        time.Time        `json:"at"`
	Instances []InstanceStatus `json:"instances"`
	// SocketDrops are packets dropped before they reached an instance
	// (undecodable, unknown VRID, transport filters), by socket and reason.
	SocketDrops map[string]map[string]uint64 `json:"socket_drops"`
	Checks      []CheckStatus                `json:"checks"`
	VIP         map[string]VIPStats          `json:"vip"` // by interface
	Plugins     []PluginStatus               `json:"plugins"`
	Reloads     ReloadCounters               `json:"reloads"`
	Loop        LoopStatus                   `json:"loop"`
}

// LoopStatus is the VRRP loop's timeliness (see node.max_auto_priority).
type LoopStatus struct {
	// Polled: the loop runs on its own thread and polls its sockets.
	Polled bool `json:"polled"`
	// LateWakeups: wake-ups later than a quarter of the shortest advert
	// interval after their deadline; WorstLate the latest of them.
	LateWakeups uint64        `json:"late_wakeups"`
	WorstLate   time.Duration `json:"worst_late_ns"`
	// RealtimePriority: the loop thread's SCHED_RR priority, 0 for none.
	RealtimePriority int    `json:"realtime_priority"`
	Escalations      uint64 `json:"escalations"`
}

// InstanceStatus is one VRRP instance.
type InstanceStatus struct {
	Name              string        `json:"name"`
	Interface         string        `json:"interface"`
	VRID              uint8         `json:"vrid"`
	Version           int           `json:"version"`
	State             string        `json:"state"`
	Group             string        `json:"group,omitempty"`
	AddressOwner      bool          `json:"address_owner,omitempty"`
	Priority          int           `json:"priority"`
	EffectivePriority int           `json:"effective_priority"`
	Ledger            []LedgerEntry `json:"ledger"`
	// Holds are the demotion holds in place, "reason: detail".
	Holds []string `json:"holds,omitempty"`
	// VIPs are the configured virtual addresses; VIPsHeld says whether
	// this node has them on the interface now.
	VIPs     []string `json:"vips"`
	VIPsHeld bool     `json:"vips_held"`
	VIPError string   `json:"vip_error,omitempty"`
	// Auth names the authentication in use ("hmac enforce, key 1 of [1
	// 2]"); it never carries a secret.
	Auth           string   `json:"auth,omitempty"`
	LocalAddr      string   `json:"local_addr"`
	Peers          []string `json:"peers,omitempty"`
	MasterAdverInt string   `json:"master_adver_interval"`
	// Witness is the quorum witness's word on this instance; absent
	// without a witness.
	Witness *WitnessStatus `json:"witness,omitempty"`
	Stats   InstanceStats  `json:"stats"`
}

// WitnessStatus is an instance's right as its witness reports it.
type WitnessStatus struct {
	Name          string    `json:"name"`
	OnLost        string    `json:"on_witness_lost"`
	State         string    `json:"state"` // granted, held by another node, free, unreachable, unknown
	Granted       bool      `json:"granted"`
	Holder        string    `json:"holder,omitempty"`
	ValidUntil    time.Time `json:"valid_until,omitzero"`
	Revision      int64     `json:"revision,omitempty"`
	Reason        string    `json:"reason,omitempty"`
	Claiming      bool      `json:"claiming"`
	SessionErrors uint64    `json:"session_errors"`
}

// InstanceStats are an instance's counters.
type InstanceStats struct {
	AdvertsSent     uint64 `json:"adverts_sent"`
	AdvertsReceived uint64 `json:"adverts_received"`
	// UnsignedAccepted counts adverts accepted without an auth_hmac
	// trailer in permissive or receive-only mode.
	UnsignedAccepted uint64            `json:"unsigned_accepted,omitempty"`
	Dropped          map[string]uint64 `json:"dropped"`
	Transitions      uint64            `json:"transitions"`
	LastTransition   time.Time         `json:"last_transition"`
	LastReason       string            `json:"last_reason"`
	SendErrors       uint64            `json:"send_errors"`
	VIPErrors        uint64            `json:"vip_errors"`
	MasterAddr       string            `json:"master_addr,omitempty"`
}

// LedgerEntry is one tracked check's line in an instance's priority ledger.
type LedgerEntry struct {
	Check        string    `json:"check"`
	Effect       string    `json:"effect"`
	Weight       int       `json:"weight,omitempty"`
	Status       string    `json:"status"`
	Up           bool      `json:"up"`
	Reported     bool      `json:"reported"`
	Contribution int       `json:"contribution"`
	Reason       string    `json:"reason"`
	ObservedAt   time.Time `json:"observed_at,omitzero"`

	// File and Value: a track file's name and the value last read (Check
	// is then "file:NAME").
	File  string `json:"file,omitempty"`
	Value *int64 `json:"value,omitempty"`
	// Settles is when a debounced change (an interface's down_delay or
	// up_delay) takes effect; Status and Reason are then the state
	// waiting. Absent when nothing waits.
	Settles time.Time `json:"settles,omitzero"`
}

// CheckStatus is the last result of one check.
type CheckStatus struct {
	Name       string            `json:"name"`
	Status     string            `json:"status"`
	Reason     string            `json:"reason"`
	ObservedAt time.Time         `json:"observed_at"`
	Detail     map[string]string `json:"detail,omitempty"`
}

// VIPStats are one interface's announcement and reconciliation counters.
type VIPStats struct {
	AnnouncementsSent    uint64 `json:"announcements_sent"`
	AnnouncementErrors   uint64 `json:"announcement_errors"`
	AnnouncementsDelayed uint64 `json:"announcements_delayed"`
	ReAdded              uint64 `json:"readded"`
	Removed              uint64 `json:"removed"`
	Resubscriptions      uint64 `json:"resubscriptions"`
}

// PluginStatus is one running check or action plugin.
type PluginStatus struct {
	Name     string `json:"name"` // check or action name
	Kind     string `json:"kind"`
	Plugin   string `json:"plugin"`
	PID      int    `json:"pid,omitempty"`
	Restarts uint64 `json:"restarts"`
	Dropped  uint64 `json:"dropped"`
	Timeouts uint64 `json:"timeouts,omitempty"`
	Sent     uint64 `json:"sent,omitempty"`
	Failed   uint64 `json:"failed,omitempty"`
}

// ReloadCounters count reloads by outcome.
type ReloadCounters struct {
	OK        uint64 `json:"ok"`
	Failed    uint64 `json:"failed"`
	LastError string `json:"last_error,omitempty"`
}

// Event is one line of GET /v1/events.
type Event struct {
	Type     string    `json:"type"` // "transition" or "check"
	At       time.Time `json:"at"`
	Instance string    `json:"instance,omitempty"`
	Group    string    `json:"group,omitempty"`
	From     string    `json:"from,omitempty"`
	To       string    `json:"to,omitempty"`
	Priority int       `json:"priority,omitempty"`
	Check    string    `json:"check,omitempty"`
	Status   string    `json:"status,omitempty"`
	Up       bool      `json:"up,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Detail   string    `json:"detail,omitempty"`
}

// Errors a Backend wraps so the socket answers with the right status.
var (
	// ErrNotFound: the named instance does not exist (404).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the call conflicts with one in progress (409).
	ErrConflict = errors.New("conflict")
	// ErrUnavailable: the daemon cannot serve the call now, e.g. while it
	// starts or stops (503).
	ErrUnavailable = errors.New("unavailable")
)

// Mark makes err match kind (ErrNotFound, ErrConflict, ErrUnavailable)
// under errors.Is, keeping err's own message for the caller.
func Mark(err error, kind error) error {
	if err == nil {
		return nil
	}
	return &marked{err: err, kind: kind}
}

type marked struct{ err, kind error }

func (m *marked) Error() string        { return m.err.Error() }
func (m *marked) Unwrap() error        { return m.err }
func (m *marked) Is(target error) bool { return target == m.kind }

// httpStatus maps a Backend error to its HTTP status. A timeout is 504:
// the daemon is alive but its loop did not answer in time.
func httpStatus(err error) int {
	var re *ReloadError
	switch {
	case errors.As(err, &re):
		return http.StatusUnprocessableEntity
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrConflict):
		return http.StatusConflict
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case errors.Is(err, ErrUnavailable), errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
