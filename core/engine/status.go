package engine

import (
	"context"
	"maps"
	"net/netip"
	"time"

	"github.com/hawatch/hawatch/core/vip"
	"github.com/hawatch/hawatch/core/vrouter"
)

// InstanceStatus is one instance: its router's snapshot plus what only the
// engine knows (configuration and I/O counters).
type InstanceStatus struct {
	vrouter.Snapshot
	Interface  string
	Witness    string // the witness block's name, empty without one
	VRID       uint8
	Version    int
	VIPs       []netip.Prefix
	LocalAddr  netip.Addr
	Peers      []netip.Addr
	Sent       uint64
	SendErrors uint64
	VIPErrors  uint64
}

// CheckStatus is the last result of one check.
type CheckStatus struct {
	Name       string
	Status     string
	Reason     string
	ObservedAt time.Time
	Detail     map[string]string
}

// Status is a snapshot of the whole node.
type Status struct {
	At        time.Time
	Instances []InstanceStatus
	// Sockets are drops before demultiplexing, by socket and reason.
	Sockets map[string]map[string]uint64
	Checks  []CheckStatus
	VIP     map[string]vip.Stats // by interface
	Loop    LoopStatus
}

// LoopStatus is the VRRP loop's own timeliness.
type LoopStatus struct {
	// Polled: the loop runs on its own OS thread and reads the kernel's
	// sockets itself (always, outside tests).
	Polled bool
	// LateWakeups counts wake-ups later than a quarter of the shortest
	// advert interval after their deadline; WorstLate is the latest.
	LateWakeups uint64
	WorstLate   time.Duration
	// RealtimePriority is the loop thread's SCHED_RR priority (0: normal
	// scheduler); Escalations counts raises by max_auto_priority.
	RealtimePriority int
	Escalations      uint64
}

// Status takes a consistent snapshot inside the loop.
func (e *Engine) Status(ctx context.Context) (Status, error) {
	var st Status
	err := e.do(ctx, func(now time.Time) {
		st.At = now
		st.Sockets = map[string]map[string]uint64{}
		for _, s := range e.sockets {
			drops := maps.Clone(s.drops)
			for reason, n := range s.conn.Drops() {
				if n > 0 {
					drops[reason] += n
				}
			}
			st.Sockets[s.key.String()] = drops
		}
		for _, b := range e.bindings {
			st.Instances = append(st.Instances, InstanceStatus{
				Snapshot: b.r.Snapshot(), Interface: b.cfg.Interface, Witness: b.cfg.Witness, VRID: b.cfg.VRID, Version: b.cfg.Version,
				VIPs: b.cfg.VirtualIPs, LocalAddr: b.sock.local, Peers: b.cfg.UnicastPeers,
				Sent: b.sent, SendErrors: b.sendErrors, VIPErrors: b.vipErrors,
			})
		}
		for _, c := range e.cfg.Checks {
			cs := CheckStatus{Name: c.Name, Status: "unknown", Reason: "no result yet"}
			if r, ok := e.lastResult[c.Name]; ok {
				cs.Status, cs.Reason, cs.ObservedAt, cs.Detail = r.Status.String(), r.Reason, r.ObservedAt, maps.Clone(r.Detail)
			}
			st.Checks = append(st.Checks, cs)
		}
		st.Loop = LoopStatus{Polled: e.loop.polled, LateWakeups: e.loop.late, WorstLate: e.loop.worst,
			RealtimePriority: e.loop.priority, Escalations: e.loop.escalations}
		st.VIP = map[string]vip.Stats{}
		for name, w := range e.workers {
			st.VIP[name] = w.mgr.Stats()
		}
	})
	return st, err
}
