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
}

// Status takes a consistent snapshot inside the loop.
func (e *Engine) Status(ctx context.Context) (Status, error) {
	var st Status
	err := e.do(ctx, func(now time.Time) {
		st.At = now
		st.Sockets = map[string]map[string]uint64{}
		for _, s := range e.sockets {
			st.Sockets[s.key.String()] = maps.Clone(s.drops)
		}
		for _, in := range e.instances {
			st.Instances = append(st.Instances, in.status())
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
	if p, ok := in.m.LastPeer(); ok {
		s.Stats.MasterAddr = p.Addr.String()
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
