package engine

import (
	"context"
	"maps"
	"net/netip"
	"time"
)

// InstanceStatus is one instance as `hawatch status` shows it.
type InstanceStatus struct {
	Name              string        `json:"name"`
	Interface         string        `json:"interface"`
	VRID              uint8         `json:"vrid"`
	Version           int           `json:"version"`
	State             string        `json:"state"`
	Group             string        `json:"group,omitempty"`
	Priority          int           `json:"priority"`
	EffectivePriority int           `json:"effective_priority"`
	Ledger            []LedgerEntry `json:"ledger"`
	Demoted           []string      `json:"demoted,omitempty"`
	VIPs              []string      `json:"vips"`
	LocalAddr         string        `json:"local_addr"`
	Peers             []string      `json:"peers,omitempty"`
	MasterAdverInt    string        `json:"master_adver_interval"`
	Stats             InstanceStats `json:"stats"`
}

// Status is a snapshot of the whole node.
type Status struct {
	At        time.Time                    `json:"at"`
	Instances []InstanceStatus             `json:"instances"`
	Sockets   map[string]map[string]uint64 `json:"socket_drops"`
	Checks    []CheckStatus                `json:"checks"`
	VIP       map[string]VIPStats          `json:"vip"`
}

// CheckStatus is the last result of one check.
type CheckStatus struct {
	Name       string            `json:"name"`
	Status     string            `json:"status"`
	Reason     string            `json:"reason"`
	ObservedAt time.Time         `json:"observed_at"`
	Detail     map[string]string `json:"detail,omitempty"`
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
		for _, in := range e.instances {
			st.Instances = append(st.Instances, in.status())
		}
		for _, c := range e.cfg.Checks {
			cs := CheckStatus{Name: c.Name, Status: "unknown", Reason: "no result yet"}
			if r, ok := e.lastResult[c.Name]; ok {
				cs.Status, cs.Reason, cs.ObservedAt, cs.Detail = r.Status.String(), r.Reason, r.ObservedAt, maps.Clone(r.Detail)
			}
			st.Checks = append(st.Checks, cs)
		}
		st.VIP = map[string]VIPStats{}
		for name, vm := range e.vips {
			st.VIP[name] = vm.stats()
		}
	})
	return st, err
}

func (in *instance) status() InstanceStatus {
	s := InstanceStatus{
		Name: in.cfg.Name, Interface: in.cfg.Interface, VRID: in.cfg.VRID, Version: in.cfg.Version,
		State: in.m.State().String(), Group: in.group,
		Priority: int(in.cfg.Priority), EffectivePriority: int(effectivePriority(in.cfg.Priority, in.tracks)),
		LocalAddr: addrString(in.sock.local), MasterAdverInt: in.m.MasterAdverInterval().String(),
		Stats: in.stats,
	}
	s.Stats.Dropped = maps.Clone(in.stats.Dropped)
	if m := in.m.Master(); m.IsValid() {
		s.Stats.MasterAddr = m.String()
	}
	for _, tr := range in.tracks {
		s.Ledger = append(s.Ledger, tr.ledger())
	}
	for _, k := range sortedNames(in.demoted) {
		s.Demoted = append(s.Demoted, k+": "+in.demoted[k])
	}
	for _, p := range in.cfg.VirtualIPs {
		s.VIPs = append(s.VIPs, p.String())
	}
	for _, p := range in.cfg.UnicastPeers {
		s.Peers = append(s.Peers, p.String())
	}
	return s
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}
