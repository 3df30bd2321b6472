package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hawatch/hawatch/core/config"
	"github.com/hawatch/hawatch/core/vrouter"
)

// An instance depends on its interface: the VRRP sockets are bound to the
// interface's index (SO_BINDTODEVICE, the multicast membership) and so is
// the VIP manager. An interface that is deleted and created again under
// the same name (a veth re-created by a container runtime, a driver
// reloaded, a device renamed away and replaced) has a new index, and
// nothing bound to the old one reaches it. keepalived puts the instances of
// an interface that is down or gone in FAULT and back in BACKUP when it
// returns; so does the engine: each instance gets a fault-effect track on
// its interface (linkCheck), failing while the interface is gone, down, or
// back but not yet taken up again, i.e. until the sockets are open and the
// VIP manager is bound to the new index. Then the instance re-elects as
// after any fault: Backup with a fresh Master_Down_Timer, as from
// Initialize (RFC 5798 §6.4.1).
//
// Carrier counts too: an interface that is up but not running (IFF_RUNNING
// clear: no carrier, a cable out, the other end of a veth down) cannot
// carry adverts or serve the VIP, and keepalived counts it as down.
//
// The same tracks follow the interfaces named in track_interface blocks,
// with the block's weight (none: fault), and an interface block's
// down_delay / up_delay debounce every track on that interface. The link
// stays a track of the pure layer (vrouter) rather than an input of its
// own: fault and weight, the ledger line, the debounce (vrouter's
// Track.DownDelay/UpDelay, on the injected clock) and reloads are the
// ledger's already, and a router ignores the interfaces it does not
// track, so the engine hands every interface's state to every router.

// LinkState is one network interface as the kernel has it now.
type LinkState struct {
	Name  string
	Index int  // 0: no interface has the name
	Up    bool // administratively up (IFF_UP)
	// NoCarrier: up but not running (IFF_RUNNING clear): no carrier, or
	// dormant. Counts as down.
	NoCarrier bool
}

// LinkWatcher follows network interfaces by name, so that one that goes
// down, away, or away and back with a new index, is noticed.
type LinkWatcher interface {
	// Follow returns the interface's state now and adds it to those Run
	// reports on.
	Follow(name string) (LinkState, error)
	// Run reports every change of a followed interface until ctx ends, and
	// returns only once everything it started has stopped. report blocks
	// until the engine takes the state.
	Run(ctx context.Context, report func(LinkState))
}

// linkCheckPrefix starts the name of every interface track; configured
// tracks may not use it (checkTracks).
const linkCheckPrefix = "link:"

// linkRetry is how often the engine tries again to take up an interface
// that came back when that failed (its address not there yet, a netlink
// error).
const linkRetry = 250 * time.Millisecond

// linkCheck names the track of instances on ifname.
func linkCheck(ifname string) string { return linkCheckPrefix + ifname }

// linkTrack is the track an instance has on an interface while the engine
// follows links: its own interface and each track_interface. One failure
// faults (or, with a weight, moves the priority), one success clears,
// after the interface block's delays.
func linkTrack(ifname string, weight int, ifc *config.Interface) vrouter.Track {
	t := vrouter.Track{Check: linkCheck(ifname), Effect: vrouter.EffectFault, Rise: 1, Fall: 1, OnUnknown: vrouter.UnknownFail}
	if weight != 0 {
		t.Effect, t.Weight = vrouter.EffectWeight, weight
	}
	if ifc != nil {
		t.DownDelay, t.UpDelay = ifc.DownDelay, ifc.UpDelay
	}
	return t
}

// linkNames are the interfaces an instance follows: its own first, its
// vmac's macvlan (vmac.go), its track_interface ones, then those of its
// addresses and routes (devsOnly).
func linkNames(ic *config.Instance) []string {
	names := []string{ic.Interface}
	if ic.VMAC != nil {
		names = append(names, ic.VMAC.Name)
	}
	for _, ti := range ic.TrackInterfaces {
		names = append(names, ti.Name)
	}
	return append(names, devsOnly(ic)...)
}

// devsOnly are the tracked devs (trackedDevs) not also track_interface
// entries: one track per interface.
func devsOnly(ic *config.Instance) []string {
	var out []string
	for _, dev := range trackedDevs(ic) {
		if !slices.ContainsFunc(ic.TrackInterfaces, func(ti *config.TrackInterface) bool { return ti.Name == dev }) {
			out = append(out, dev)
		}
	}
	return out
}

// ifaceLink is what the engine knows of one interface its instances use,
// and how far it got taking up the interface now carrying the name.
type ifaceLink struct {
	name string
	seen LinkState // the watcher's latest word
	// bound is the index the sockets and the VIP manager are bound to; 0
	// once the interface went away, so whatever comes back is taken up
	// anew, even under the same index.
	bound  int
	reopen bool // sockets not yet open on bound

	rebindAsked, rebindDone uint64 // generations of the VIP worker's Rebind
	rebindErr               error
	retryAt                 time.Time // when to try again what failed; zero: nothing to

	told vrouter.Observed // what the instances were last told
}

// tracks are the instance's router tracks: the configured ones, and its
// interface's while links are followed.
func (e *Engine) tracks(ic *config.Instance, checks []*config.Check) []vrouter.Track {
	t := routerTracks(ic, checks)
	if e.opts.Links != nil {
		t = append(t, linkTrack(ic.Interface, 0, e.cfg.Interface(ic.Interface)))
		if ic.VMAC != nil {
			t = append(t, linkTrack(ic.VMAC.Name, 0, e.cfg.Interface(ic.VMAC.Name)))
		}
		for _, ti := range ic.TrackInterfaces {
			t = append(t, linkTrack(ti.Name, ti.Weight, e.cfg.Interface(ti.Name)))
		}
		// The interfaces of addresses and routes with a dev fault the
		// instance, as keepalived's do, unless no_track or tracked above.
		for _, dev := range devsOnly(ic) {
			t = append(t, linkTrack(dev, 0, e.cfg.Interface(dev)))
		}
	}
	return t
}

// followAll follows every interface of ic (see follow).
func (e *Engine) followAll(now time.Time, ic *config.Instance) error {
	for _, name := range linkNames(ic) {
		if err := e.follow(now, name); err != nil {
			return err
		}
	}
	return nil
}

// tellRouter hands a new router what its interfaces are now, before it
// starts: one that is down starts the instance in FAULT, as keepalived
// does.
func (e *Engine) tellRouter(now time.Time, b *binding) {
	for _, name := range linkNames(b.cfg) {
		if l := e.links[name]; l != nil && l.told.Check != "" {
			e.step(now, b, l.told)
		}
	}
}

// linkLatest follows the interfaces a reload added to next's instances
// and adds what every followed interface is now to latest, so a track
// that is new on a kept instance starts from it.
func (e *Engine) linkLatest(now time.Time, next *config.Config, latest map[string]vrouter.Observed) {
	for _, ic := range next.Instances {
		if err := e.followAll(now, ic); err != nil {
			e.log.Error().Str("instance", ic.Name).Err(err).Msg("reload: cannot follow an interface; its track stays pending")
		}
	}
	for _, l := range e.links {
		if l.told.Check != "" {
			latest[l.told.Check] = l.told
		}
	}
}

// follow starts following ifname (once) and works out what its instances
// are told. It runs before ifname's sockets and VIP manager are opened, so
// they are bound to the index found here or a later one: a re-create in
// between costs a needless re-open, never a missed one.
func (e *Engine) follow(now time.Time, ifname string) error {
	if e.opts.Links == nil || e.links[ifname] != nil {
		return nil
	}
	st, err := e.opts.Links.Follow(ifname)
	if err != nil {
		return fmt.Errorf("follow interface %s: %w", ifname, err)
	}
	l := &ifaceLink{name: ifname, seen: st, bound: st.Index}
	e.links[ifname] = l
	e.syncLink(now, l)
	return nil
}

// watchLinks runs the watcher until ctx ends, feeding the loop.
func (e *Engine) watchLinks(ctx context.Context) {
	if e.opts.Links == nil {
		return
	}
	e.wg.Go(func() {
		e.opts.Links.Run(ctx, func(st LinkState) {
			select {
			case e.linkCh <- st:
				e.notify()
			case <-ctx.Done():
			}
		})
	})
}

// linkChanged takes the watcher's word on one interface.
func (e *Engine) linkChanged(now time.Time, st LinkState) {
	if l := e.links[st.Name]; l != nil {
		l.seen = st
		e.syncLink(now, l)
		e.reviveVMACs(now, st.Name)
	}
}

// linkRebound takes a VIP worker's report on a Rebind; reports of a
// Rebind since superseded are dropped.
func (e *Engine) linkRebound(now time.Time, d rebindDone) {
	l := e.links[d.ifname]
	if l == nil || d.gen != l.rebindAsked {
		return
	}
	l.rebindDone, l.rebindErr = d.gen, d.err
	e.syncLink(now, l)
}

// retryLinks tries again, once due, to take up interfaces where that
// failed.
func (e *Engine) retryLinks(now time.Time) {
	for _, l := range e.links {
		if l.retryAt.IsZero() || now.Before(l.retryAt) {
			continue
		}
		if l.rebindErr != nil {
			e.askRebind(l)
		}
		e.syncLink(now, l)
	}
}

// linkDeadline is the next retry due (zero: none).
func (e *Engine) linkDeadline() time.Time {
	var next time.Time
	for _, l := range e.links {
		if !l.retryAt.IsZero() && (next.IsZero() || l.retryAt.Before(next)) {
			next = l.retryAt
		}
	}
	return next
}

// syncLink moves one interface on as far as it can go and tells its
// instances the outcome: gone or down is a fault; a new index re-opens the
// sockets (here, in the loop: a few syscalls) and has the VIP worker
// re-bind its manager (netlink, off the loop); only when both are done is
// the interface usable again.
func (e *Engine) syncLink(now time.Time, l *ifaceLink) {
	l.retryAt = time.Time{}
	switch {
	case l.seen.Index == 0:
		l.bound = 0
		e.tellLink(now, l, vrouter.StatusFail, fmt.Sprintf("%s is gone", l.name))
		return
	case !l.seen.Up:
		e.tellLink(now, l, vrouter.StatusFail, fmt.Sprintf("%s is down", l.name))
		return
	case l.seen.NoCarrier:
		// The index is the one bound (or taken up below once the carrier
		// returns): nothing to re-open while no frame can pass.
		e.tellLink(now, l, vrouter.StatusFail, fmt.Sprintf("%s has no carrier", l.name))
		return
	}
	if l.seen.Index != l.bound {
		e.log.Warn().Str("interface", l.name).Int("index", l.seen.Index).Int("was", l.bound).
			Msg("interface created again: re-opening its VRRP sockets and re-binding its VIP manager")
		l.bound, l.reopen = l.seen.Index, true
		e.askRebind(l)
	}
	if l.reopen {
		if err := e.reopenSockets(l.name, l.bound); err != nil {
			l.retryAt = now.Add(linkRetry)
			e.tellLink(now, l, vrouter.StatusFail, fmt.Sprintf("%s is back, but its VRRP sockets did not open: %v", l.name, err))
			return
		}
		l.reopen = false
	}
	switch {
	case l.rebindDone != l.rebindAsked:
		e.tellLink(now, l, vrouter.StatusFail, fmt.Sprintf("%s is back; re-binding its VIP manager", l.name))
	case l.rebindErr != nil:
		l.retryAt = now.Add(linkRetry)
		e.tellLink(now, l, vrouter.StatusFail, fmt.Sprintf("%s is back, but its VIP manager did not re-bind: %v", l.name, l.rebindErr))
	default:
		e.tellLink(now, l, vrouter.StatusOK, fmt.Sprintf("%s is up (index %d)", l.name, l.bound))
	}
}

// askRebind has the interface's VIP worker re-bind its manager.
func (e *Engine) askRebind(l *ifaceLink) {
	l.rebindAsked++
	l.rebindErr = nil
	if w := e.workers[l.name]; w != nil {
		w.rebind(l.rebindAsked)
	} else {
		l.rebindDone = l.rebindAsked // no manager yet: the first one opens on the new index
	}
}

// tellLink hands the interface's verdict to its instances when it changed.
func (e *Engine) tellLink(now time.Time, l *ifaceLink, st vrouter.Status, reason string) {
	if l.told.Check != "" && l.told.Status == st && l.told.Reason == reason {
		return
	}
	if st != vrouter.StatusOK {
		if e.limiter.allow("link:" + l.name + ":" + reason) {
			e.log.Warn().Str("interface", l.name).Str("reason", reason).Msg("interface not usable: the instances tracking it fault or lose its weight (after its down_delay)")
		}
	} else if l.told.Check != "" && e.limiter.allow("link-up:"+l.name) {
		// Rate-limited like the warning: a flapping link logs once a period.
		e.log.Info().Str("interface", l.name).Str("reason", reason).Msg("interface usable again")
	}
	l.told = vrouter.Observed{Check: linkCheck(l.name), Status: st, Reason: reason, At: now}
	for _, b := range e.bindings {
		// A router ignores interfaces it does not track.
		if b.r != nil {
			e.step(now, b, l.told)
		}
	}
}

// reopenSockets opens each socket of ifname not yet bound to index again,
// with its options, and starts its reader; the old connection, bound to an
// interface that is gone, is closed and its reader ends. A socket whose
// source address changed stays closed: the instances' adverts carry the
// old one (the VRRPv3 checksum covers it, RFC 5798 §5.2.8), so it needs a
// restart.
func (e *Engine) reopenSockets(ifname string, index int) error {
	var errs []error
	for _, s := range e.sockets {
		if s.key.ifname != ifname || s.index == index {
			continue
		}
		conn, err := e.opts.Listen(s.opts)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.key, err))
			continue
		}
		if local := conn.LocalAddr(); local != s.local {
			conn.Close()
			errs = append(errs, fmt.Errorf("%s: the source address is now %s, was %s: restart hawatch to use it", s.key, local, s.local))
			continue
		}
		if e.poll != nil {
			e.poll.remove(s.conn)
		}
		s.conn.Close()
		s.conn, s.index = conn, index
		if err := e.serve(e.runCtx, s, conn); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
