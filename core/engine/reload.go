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
	"github.com/hawatch/hawatch/core/vrrp"
)

// vrrpFields is the part of an instance's config that its state machine,
// socket and VIPs depend on; a change there restarts that instance only.
func vrrpFields(ic *config.Instance) config.Instance {
	c := *ic
	c.Tracks, c.Notify = nil, nil
	c.DefRange = hcl.Range{}
	return c
}

// reloadPlan says what a new config does to each instance.
type reloadPlan struct {
	keep    []*config.Instance // same VRRP parameters: machine, timers, VIPs stay
	restart []*config.Instance // changed VRRP parameters: shut down, start anew
	add     []*config.Instance
	remove  []*instance
}

func (e *Engine) plan(next *config.Config) (reloadPlan, error) {
	var p reloadPlan
	seen := map[string]bool{}
	for _, ic := range next.Instances {
		seen[ic.Name] = true
		in := e.byName[ic.Name]
		switch {
		case in == nil:
			p.add = append(p.add, ic)
		case reflect.DeepEqual(vrrpFields(in.cfg), vrrpFields(ic)):
			p.keep = append(p.keep, ic)
		default:
			p.restart = append(p.restart, ic)
		}
	}
	for _, in := range e.instances {
		if !seen[in.cfg.Name] {
			p.remove = append(p.remove, in)
		}
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
	for _, in := range p.remove {
		if in.group != "" {
			return p, fmt.Errorf("reload: instance %s is in a sync group; removing it needs a restart", in.cfg.Name)
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
// are unchanged keep their machine, timers and VIPs; their trackers are
// rebuilt, keeping the state of a track whose check kept its name, rise and
// fall. An instance whose VRRP parameters changed is shut down (priority 0
// if master, VIPs released) and started anew; removed ones are shut down;
// new ones start. Check feeds named in feeds replace the running ones (the
// caller has already seen each new feed deliver a first result:
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
	// Build everything new before touching anything running.
	fresh := map[string]*instance{}
	for _, ic := range slices.Concat(p.restart, p.add) {
		in, err := newInstance(ic, next.Checks)
		if err != nil {
			return err
		}
		fresh[ic.Name] = in
	}

	e.swapFeeds(feeds)
	e.opts.Actions = actions
	e.cfg = next

	for _, in := range p.remove {
		e.log.Info().Str("instance", in.cfg.Name).Msg("reload: instance removed")
		e.detach(now, in)
	}
	for _, ic := range p.restart {
		e.log.Info().Str("instance", ic.Name).Msg("reload: VRRP parameters changed; restarting this instance only")
		e.detach(now, e.byName[ic.Name])
	}

	var instances []*instance
	byName := map[string]*instance{}
	for _, ic := range next.Instances {
		in := e.byName[ic.Name]
		if f := fresh[ic.Name]; f != nil {
			in = f
		} else {
			e.retrack(in, ic, next.Checks)
		}
		instances = append(instances, in)
		byName[ic.Name] = in
	}
	for _, in := range instances {
		in.group = groupOf(next, in.cfg.Name)
	}
	e.instances, e.byName = instances, byName

	var failed []error
	for _, ic := range slices.Concat(p.restart, p.add) {
		in := fresh[ic.Name]
		if err := e.attach(e.runCtx, in); err != nil {
			// The rest of the node runs on; this instance stays down.
			e.log.Error().Str("instance", ic.Name).Err(err).Msg("reload: instance could not start")
			e.drop(in)
			failed = append(failed, err)
			continue
		}
		e.syncTracks(now, in)
		e.step(now, in, vrrp.Start{})
	}
	for _, in := range e.instances {
		if fresh[in.cfg.Name] == nil {
			e.syncTracks(now, in)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%w: %w", ErrReloadPartial, errors.Join(failed...))
	}
	return nil
}

// ErrReloadPartial: the new config was applied, but some changed or new
// instances could not start (the others run on).
var ErrReloadPartial = errors.New("reload applied, but some instances could not start")

// drop forgets an instance that could not be attached.
func (e *Engine) drop(in *instance) {
	if in.sock != nil && in.sock.byVRID[in.cfg.VRID] == in {
		delete(in.sock.byVRID, in.cfg.VRID)
	}
	e.instances = slices.DeleteFunc(e.instances, func(x *instance) bool { return x == in })
	delete(e.byName, in.cfg.Name)
}

// retrack points a kept instance at its new config and rebuilds its
// trackers, carrying over the state of unchanged tracks.
func (e *Engine) retrack(in *instance, ic *config.Instance, checks []*config.Check) {
	byName := map[string]*config.Check{}
	for _, c := range checks {
		byName[c.Name] = c
	}
	old := map[string]*track{}
	for _, tr := range in.tracks {
		old[tr.check] = tr
	}
	in.cfg = ic
	in.tracks = nil
	for _, t := range ic.Tracks {
		c := byName[t.Check]
		tr := &track{tracker: newTracker(c.Name, c.Rise, c.Fall, c.OnUnknown, c.HoldFor), effect: effectOf(t), weight: t.Weight}
		if prev := old[t.Check]; prev != nil && prev.rise == tr.rise && prev.fall == tr.fall {
			prev.onUnknown, prev.holdFor = c.OnUnknown, c.HoldFor
			tr.tracker = prev.tracker
		}
		in.tracks = append(in.tracks, tr)
	}
}

func effectOf(t *config.Track) Effect {
	if t.Effect == "" {
		return EffectFault
	}
	return Effect(t.Effect)
}
