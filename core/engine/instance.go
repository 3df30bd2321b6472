package engine

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/hawatch/hawatch/core/config"
	"github.com/hawatch/hawatch/core/vrouter"
	"github.com/hawatch/hawatch/core/vrrp"
)

// binding ties one configured instance's router to its I/O: the socket it
// sends and receives on and the VIP worker of its interface. It holds the
// I/O counters only the engine can know (sends and their errors); the
// router holds everything else.
type binding struct {
	cfg    *config.Instance
	r      *vrouter.Router
	sock   *socket
	worker *vipWorker
	// workers are every VIP worker the instance has addresses on: its
	// interface's (worker) first, then those of addresses with a dev.
	workers []*vipWorker
	// routes: the instance has routes or rules in the route worker.
	routes  bool
	witness WitnessFeed // nil without a witness
	// deadline is the router's next deadline as of its last step;
	// timerIdx its place in the engine's timers plus one (0: not there).
	deadline time.Time
	timerIdx int

	sent, sendErrors, vipErrors uint64
}

func (b *binding) send(e *Engine, o vrouter.Outgoing) {
	if err := b.sock.conn.WriteTo(o.Payload, o.Dst); err != nil {
		b.sendErrors++
		if e.limiter.allow("send:" + b.cfg.Name) {
			e.log.Error().Str("instance", b.cfg.Name).Str("dst", o.Dst.String()).Err(err).Msg("send advert")
		}
		return
	}
	b.sent++
}

// want hands a VIP intent to every worker of the instance's addresses
// and, as a hold, to the route worker: routes and rules go with the
// addresses. An address owner's addresses are never added or deleted, so
// its routes follow its announcements (it is master while it announces).
func (b *binding) want(e *Engine, v vrouter.VIPIntent) {
	for _, w := range b.workers {
		w.want(v.Instance, v)
	}
	if !b.routes {
		return
	}
	switch {
	case v.Hold == vrouter.HoldAcquire, b.cfg.AddressOwner && v.Announce == vrouter.AnnounceStart:
		e.routeWorker.want(v.Instance, true)
	case v.Hold == vrouter.HoldRelease, b.cfg.AddressOwner && v.Announce == vrouter.AnnounceStop:
		e.routeWorker.want(v.Instance, false)
	}
}

// tracks reports whether the instance tracks check.
func (b *binding) tracks(check string) bool {
	return slices.ContainsFunc(b.cfg.Tracks, func(t *config.Track) bool { return t.Check == check })
}

// checkTracks verifies that every track names a configured check (the
// config loader already does; the engine does not trust a hand-built
// config).
func checkTracks(ic *config.Instance, checks []*config.Check) error {
	for _, t := range ic.Tracks {
		if strings.HasPrefix(t.Check, linkCheckPrefix) {
			return fmt.Errorf("instance %s: track %q: names starting with %q are kept for the instance's own interface track", ic.Name, t.Check, linkCheckPrefix)
		}
		if !slices.ContainsFunc(checks, func(c *config.Check) bool { return c.Name == t.Check }) {
			return fmt.Errorf("instance %s: track %q: no such check", ic.Name, t.Check)
		}
	}
	return nil
}

// routerTracks turns an instance's tracks and their checks' policies into
// the router's.
func routerTracks(ic *config.Instance, checks []*config.Check) []vrouter.Track {
	var out []vrouter.Track
	for _, t := range ic.Tracks {
		i := slices.IndexFunc(checks, func(c *config.Check) bool { return c.Name == t.Check })
		if i < 0 {
			continue
		}
		c := checks[i]
		tr := vrouter.Track{Check: c.Name, Weight: t.Weight, Rise: c.Rise, Fall: c.Fall, HoldFor: c.HoldFor}
		switch t.Effect {
		case config.EffectWeight:
			tr.Effect = vrouter.EffectWeight
		case config.EffectYield:
			tr.Effect = vrouter.EffectYield
		}
		if c.OnUnknown == config.OnUnknownFail {
			tr.OnUnknown = vrouter.UnknownFail
		}
		out = append(out, tr)
	}
	return append(out, routerFileTracks(ic)...)
}

// routerConfig is the instance as its router needs it; local is the
// address its socket sends from.
func routerConfig(ic *config.Instance, checks []*config.Check, local netip.Addr) vrouter.Config {
	c := vrouter.Config{
		Name: ic.Name,
		VRRP: vrrp.Config{
			VRID:           ic.VRID,
			Version:        uint8(ic.Version),
			Priority:       ic.Priority,
			AdvertInterval: ic.AdvertInterval,
			Preempt:        ic.Preempt,
			PreemptDelay:   ic.PreemptDelay,
			AddressOwner:   ic.AddressOwner,
			LocalAddr:      local,
			AuthPass:       ic.AuthPass,

			DownTimerAdverts:     ic.DownTimerAdverts,
			LowerPrioNoAdvert:    ic.LowerPrioNoAdvert,
			HigherPrioSendAdvert: ic.HigherPrioSendAdvert,
		},
		Unicast: routerPeers(ic),
		HMAC:    routerHMAC(ic),
		Witness: routerWitness(ic),
		Tracks:  routerTracks(ic, checks),
		Notify:  ic.Notify,
		// The address owner always accepts; the router knows that too.
		NoAccept: ic.NoAccept,
	}
	c.NoLowerPrioAnnounce = ic.GARP.LowerPrioRepeat == 0
	for _, p := range ic.VirtualIPs {
		c.VRRP.Addresses = append(c.VRRP.Addresses, p.Addr())
	}
	return c
}

// routerPeers are the instance's unicast peers with their TTL bounds (none
// for peers listed in unicast_peers).
func routerPeers(ic *config.Instance) []vrouter.Peer {
	var out []vrouter.Peer
	for _, a := range ic.UnicastPeers {
		p := vrouter.Peer{Addr: a, MinTTL: 0, MaxTTL: 255}
		if r, ok := ic.PeerTTL[a]; ok {
			p.MinTTL, p.MaxTTL = r.Min, r.Max
		}
		out = append(out, p)
	}
	return out
}

// routerHMAC is the instance's auth_hmac block as its router takes it.
func routerHMAC(ic *config.Instance) *vrouter.HMAC {
	h := ic.HMAC
	if h == nil {
		return nil
	}
	out := &vrouter.HMAC{Keys: map[uint8][]byte{}, ActiveKey: h.ActiveKey, Window: h.TimeWindow,
		Monotonic: h.AntiReplay == config.AntiReplayMonotonic}
	for _, k := range h.Keys {
		out.Keys[k.ID] = k.Secret
	}
	switch h.Mode {
	case config.HMACPermissive:
		out.Mode = vrouter.HMACPermissive
	case config.HMACReceiveOnly:
		out.Mode = vrouter.HMACReceiveOnly
	}
	return out
}

// routerWitness is the instance's witness policy, nil without a witness.
func routerWitness(ic *config.Instance) *vrouter.Witness {
	if ic.Witness == "" {
		return nil
	}
	return &vrouter.Witness{Keep: ic.OnWitnessLost == config.OnWitnessLostKeep}
}
