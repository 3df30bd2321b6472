package engine

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/hawatch/hawatch/core/config"
	"github.com/hawatch/hawatch/core/vrrp"
)

// instance is one configured VRRP instance: its pure state machine plus the
// bindings the loop needs to carry out the machine's actions.
type instance struct {
	cfg     *config.Instance
	m       *vrrp.Machine
	filter  *vrrp.Config
	sock    *socket
	vips    vipOwner
	peers   map[netip.Addr]bool // unicast allow-list; nil for multicast
	group   string              // sync group name, if any
	tracks  []*track
	demoted map[string]string // demote sources (operator, yield, pending) → detail

	// fault, holds and priority as last told to the machine, so inputs are
	// sent only on change.
	faultSent bool
	holdsSent map[string]bool
	prioSent  uint8

	peer peerInfo // sender of the last accepted advert

	stats InstanceStats
}

// peerInfo is what we last heard from the other router.
type peerInfo struct {
	addr     netip.Addr
	priority uint8
	at       time.Time
}

// InstanceStats are per-instance counters for status and metrics.
type InstanceStats struct {
	AdvertsSent     uint64            `json:"adverts_sent"`
	AdvertsReceived uint64            `json:"adverts_received"`
	Dropped         map[string]uint64 `json:"dropped"`
	Transitions     uint64            `json:"transitions"`
	LastTransition  time.Time         `json:"last_transition"`
	LastReason      string            `json:"last_reason"`
	SendErrors      uint64            `json:"send_errors"`
	VIPErrors       uint64            `json:"vip_errors"`
	MasterAddr      string            `json:"master_addr,omitempty"`
}

func (in *instance) drop(reason string) {
	if in.stats.Dropped == nil {
		in.stats.Dropped = map[string]uint64{}
	}
	in.stats.Dropped[reason]++
}

// advert builds the advertisement this instance sends with priority prio.
func (in *instance) advert(prio uint8, src, dst netip.Addr) *vrrp.Advert {
	a := &vrrp.Advert{
		Version:  uint8(in.cfg.Version),
		Type:     1,
		VRID:     in.cfg.VRID,
		Priority: prio,
		Src:      src,
		Dst:      dst,
	}
	for _, p := range in.cfg.VirtualIPs {
		a.Addresses = append(a.Addresses, p.Addr())
	}
	if in.cfg.Version == 3 {
		a.Interval = uint16(in.cfg.AdvertInterval / (10 * time.Millisecond))
	} else {
		a.Interval = uint16(in.cfg.AdvertInterval / time.Second)
		if in.cfg.AuthPass != "" {
			a.AuthType = vrrp.AuthPass
			copy(a.AuthData[:], in.cfg.AuthPass)
		}
	}
	return a
}

func machineConfig(ic *config.Instance, local netip.Addr) vrrp.Config {
	c := vrrp.Config{
		VRID:           ic.VRID,
		Version:        uint8(ic.Version),
		Priority:       ic.Priority,
		AdvertInterval: ic.AdvertInterval,
		Preempt:        ic.Preempt,
		PreemptDelay:   ic.PreemptDelay,
		AddressOwner:   ic.AddressOwner,
		LocalAddr:      local,
		AuthPass:       ic.AuthPass,
	}
	for _, p := range ic.VirtualIPs {
		c.Addresses = append(c.Addresses, p.Addr())
	}
	return c
}

// newInstance builds an instance (not yet attached to a socket) with a
// fresh tracker per track.
func newInstance(ic *config.Instance, checks []*config.Check) (*instance, error) {
	byName := map[string]*config.Check{}
	for _, c := range checks {
		byName[c.Name] = c
	}
	in := &instance{cfg: ic, demoted: map[string]string{}, holdsSent: map[string]bool{}}
	for _, t := range ic.Tracks {
		c := byName[t.Check]
		if c == nil {
			return nil, fmt.Errorf("instance %s: track %q: no such check", ic.Name, t.Check)
		}
		in.tracks = append(in.tracks, &track{
			tracker: newTracker(c.Name, c.Rise, c.Fall, c.OnUnknown, c.HoldFor),
			effect:  effectOf(t),
			weight:  t.Weight,
		})
	}
	if len(ic.UnicastPeers) > 0 {
		in.peers = map[netip.Addr]bool{}
		for _, p := range ic.UnicastPeers {
			in.peers[p] = true
		}
	}
	return in, nil
}
