package engine

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/hawatch/hawatch/core/config"
	"github.com/hawatch/hawatch/core/vrouter"
)

// vrrpFields is the part of an instance's config that its state machine,
// socket and VIPs depend on; a change there restarts that instance only.
func vrrpFields(ic *config.Instance) config.Instance {
	c := *ic
	// Tracks, notifications and auth_hmac keys change in place: a key
	// rotation must not flap the instance. So do interface tracks.
	c.Tracks, c.Notify, c.HMAC, c.TrackInterfaces = nil, nil, nil, nil
	c.TrackFiles = nil
	c.DefRange = hcl.Range{}
	c.Addresses, c.Routes, c.Rules = withoutRanges(c.Addresses), withoutRanges(c.Routes), withoutRanges(c.Rules)
	return c
}

// reloadPlan says what a new config does to each instance.
type reloadPlan struct {
	keep    []*config.Instance // same VRRP parameters: router, timers, VIPs stay
	restart []*config.Instance // changed VRRP parameters: shut down, start anew
	add     []*config.Instance
	remove  []*binding
}

func (e *Engine) plan(next *config.Config) (reloadPlan, error) {
	var p reloadPlan
	seen := map[string]bool{}
	for _, ic := range next.Instances {
		seen[ic.Name] = true
		b := e.byName[ic.Name]
		switch {
		case b == nil:
			p.add = append(p.add, ic)
		case reflect.DeepEqual(vrrpFields(b.cfg), vrrpFields(ic)):
			p.keep = append(p.keep, ic)
		default:
			p.restart = append(p.restart, ic)
		}
		if err := checkTracks(ic, next.Checks); err != nil {
			return p, err
		}
	}
	for _, b := range e.bindings {
		if !seen[b.cfg.Name] {
			p.remove = append(p.remove, b)
		}
	}
	// The static block is installed once at start; changing it in place
	// is not supported.
	if !sameStatic(e.cfg.Static, next.Static) {
		return p, fmt.Errorf("reload: the static block changed; that needs a restart")
	}
	// Sync groups tie members' machines together; changing them in place
	// is not supported.
	if !sameGroups(e.cfg.SyncGroups, next.SyncGroups) {
		return p, fmt.Errorf("reload: sync groups changed; that needs a restart")
	}
	for _, ic := range slices.Concat(p.restart, p.add) {
		if groupOf(next, ic.Name) != "" {
			return p, fmt.Errorf("reload: instance %s is in a sync group and changed; that needs a restart", ic.Name)
		}
	}
	for _, b := range p.remove {
		if groupOf(e.cfg, b.cfg.Name) != "" {
			return p, fmt.Errorf("reload: instance %s is in a sync group; removing it needs a restart", b.cfg.Name)
		}
	}
	return p, nil
}

func sameGroups(a, b []*config.SyncGroup) bool {
	norm := func(gs []*config.SyncGroup) map[string][]string {
		m := map[string][]string{}
		for _, g := range gs {
			m[g.Name] = g.Instances
		}
		return m
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

func groupOf(cfg *config.Config, name string) string {
	for _, g := range cfg.SyncGroups {
		if slices.Contains(g.Instances, name) {
			return g.Name
		}
	}
	return ""
}

// CheckReload reports whether next can be applied to the running engine.
func (e *Engine) CheckReload(ctx context.Context, next *config.Config) error {
	var err error
	if doErr := e.do(ctx, func(time.Time) { _, err = e.plan(next) }); doErr != nil {
		return doErr
	}
	return err
}

// Reconfigure applies next inside the loop. Instances whose VRRP parameters
// are unchanged keep their router (machine, timers, VIPs); their tracks are
// replaced, keeping the state of a track whose check kept its name, rise
// and fall. An instance whose VRRP parameters changed is shut down
// (priority 0 if master, VIPs released) and started anew; removed ones are
// shut down; new ones start. Check feeds named in feeds replace the running
// ones (the caller has already seen each new feed deliver a first result:
// make-before-break).
func (e *Engine) Reconfigure(ctx context.Context, next *config.Config, feeds map[string]CheckFeed, actions map[string]Notifier) error {
	var err error
	if doErr := e.do(ctx, func(now time.Time) { err = e.reconfigure(now, next, feeds, actions) }); doErr != nil {
		return doErr
	}
	return err
}

func (e *Engine) reconfigure(now time.Time, next *config.Config, feeds map[string]CheckFeed, actions map[string]Notifier) error {
	p, err := e.plan(next)
	if err != nil {
		return err
	}
	// Removed and restarted instances leave the deadlines, new ones join.
	defer func() {
		e.timers.rebuild(e.bindings)
		e.loop.slack = e.shortestInterval() / slackFraction
	}()
	e.swapFeeds(feeds)
	e.opts.Actions = actions
	e.cfg = next

	for _, b := range p.remove {
		e.log.Info().Str("instance", b.cfg.Name).Msg("reload: instance removed")
		e.detach(now, b)
	}
	for _, ic := range p.restart {
		e.log.Info().Str("instance", ic.Name).Msg("reload: VRRP parameters changed; restarting this instance only")
		e.detach(now, e.byName[ic.Name])
	}

	latest := map[string]vrouter.Observed{}
	for name, r := range e.lastResult {
		latest[name], _ = observation(name, r) // malformed evidence was reported when it came
	}
	e.startFiles(now) // a new file is read (and watched) before its routers hear of it
	e.linkLatest(now, next, latest)
	fresh := map[string]*binding{}
	var bindings []*binding
	byName := map[string]*binding{}
	for _, ic := range next.Instances {
		b := e.byName[ic.Name]
		if slices.Contains(p.keep, ic) {
			b.cfg = ic
			e.step(now, b, vrouter.Reconfigure{Tracks: e.tracks(ic, next.Checks), Notify: ic.Notify, Latest: latest, HMAC: routerHMAC(ic)})
			e.feedFiles(now, b)
		} else {
			b = &binding{cfg: ic}
			fresh[ic.Name] = b
		}
		bindings = append(bindings, b)
		byName[ic.Name] = b
	}
	e.bindings, e.byName = bindings, byName

	var failed []error
	for _, ic := range slices.Concat(p.restart, p.add) {
		b := fresh[ic.Name]
		if err := e.attach(e.runCtx, b); err != nil {
			// The rest of the node runs on; this instance stays down.
			e.log.Error().Str("instance", ic.Name).Err(err).Msg("reload: instance could not start")
			e.bindings = slices.DeleteFunc(e.bindings, func(x *binding) bool { return x == b })
			delete(e.byName, ic.Name)
			failed = append(failed, err)
			continue
		}
		// A new router learns what its checks and files already said.
		for _, t := range ic.Tracks {
			if o, ok := latest[t.Check]; ok {
				e.step(now, b, o)
			}
		}
		e.feedFiles(now, b)
		e.step(now, b, vrouter.Start{})
	}
	if len(failed) > 0 {
		return fmt.Errorf("%w: %w", ErrReloadPartial, errors.Join(failed...))
	}
	return nil
}

// ErrReloadPartial: the new config was applied, but some changed or new
// instances could not start (the others run on).
var ErrReloadPartial = errors.New("reload applied, but some instances could not start")
