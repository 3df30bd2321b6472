package engine

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/hawatch/hawatch/core/config"
)

// vrrpFields is the part of an instance's config that its state machine,
// socket and VIPs depend on; a change there cannot be applied in place.
func vrrpFields(ic *config.Instance) config.Instance {
	c := *ic
	c.Tracks, c.Notify = nil, nil
	c.DefRange = hcl.Range{}
	return c
}

// CheckReload checks that next can be applied to the running engine without
// restarting any instance: same instances with the same VRRP parameters;
// tracks, check settings and notify lists may change.
func (e *Engine) CheckReload(next *config.Config) error {
	if len(next.Instances) != len(e.instances) {
		return fmt.Errorf("reload: adding or removing instances needs a restart")
	}
	for _, ic := range next.Instances {
		in := e.byName[ic.Name]
		if in == nil {
			return fmt.Errorf("reload: new instance %s needs a restart", ic.Name)
		}
		if !reflect.DeepEqual(vrrpFields(in.cfg), vrrpFields(ic)) {
			return fmt.Errorf("reload: instance %s changed VRRP parameters; that needs a restart", ic.Name)
		}
	}
	return nil
}

// Reconfigure applies next (already accepted by CheckReload) inside the
// loop: each instance keeps its machine, timers and VIPs; its trackers are
// rebuilt, keeping the state of a track whose check kept its name, rise and
// fall. Check feeds named in feeds replace the running ones (the caller has
// already seen each new feed deliver a first result: make-before-break).
func (e *Engine) Reconfigure(ctx context.Context, next *config.Config, feeds map[string]CheckFeed, actions map[string]Notifier) error {
	if err := e.CheckReload(next); err != nil {
		return err
	}
	checks := map[string]*config.Check{}
	for _, c := range next.Checks {
		checks[c.Name] = c
	}
	return e.do(ctx, func(now time.Time) {
		e.swapFeeds(feeds)
		e.opts.Actions = actions
		for _, ic := range next.Instances {
			in := e.byName[ic.Name]
			old := map[string]*track{}
			for _, tr := range in.tracks {
				old[tr.check] = tr
			}
			in.cfg = ic
			in.tracks = nil
			for _, t := range ic.Tracks {
				c := checks[t.Check]
				tr := &track{tracker: newTracker(c.Name, c.Rise, c.Fall, c.OnUnknown, c.HoldFor), effect: effectOf(t), weight: t.Weight}
				if prev := old[t.Check]; prev != nil && prev.rise == tr.rise && prev.fall == tr.fall {
					prev.onUnknown, prev.holdFor = c.OnUnknown, c.HoldFor
					tr.tracker = prev.tracker
				}
				in.tracks = append(in.tracks, tr)
			}
			e.syncTracks(now, in)
		}
		e.cfg = next
	})
}

func effectOf(t *config.Track) Effect {
	if t.Effect == "" {
		return EffectFault
	}
	return Effect(t.Effect)
}
