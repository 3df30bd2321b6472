package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/hawatch/hawatch/core/config"
	"github.com/hawatch/hawatch/core/control"
	"github.com/hawatch/hawatch/core/engine"
	"github.com/hawatch/hawatch/core/pluginhost"
)

// firstResultTimeout bounds how long a reload waits for a new check to
// report before giving up (and keeping the old one).
const firstResultTimeout = 15 * time.Second

// Reload re-reads the config file and applies it without touching VRRP:
// everything is parsed and validated first (an invalid file changes
// nothing); a changed or new check is started and must deliver a first
// result before it replaces the old one (make-before-break); unchanged
// checks and actions keep running; removed ones stop last.
//
// A reload asked for while another one runs is refused with
// control.ErrConflict rather than queued: the caller sees at once that its
// edit may not be the one applied.
func (d *Daemon) Reload(ctx context.Context) (err error) {
	if !d.reloads.inFlight.TryLock() {
		return control.Mark(errors.New("a reload is already in progress"), control.ErrConflict)
	}
	defer d.reloads.inFlight.Unlock()
	defer func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.reloads.Last = time.Now()
		if err != nil {
			d.reloads.Failed++
			d.reloads.LastErr = err.Error()
			d.log.Error().Err(err).Msg("reload rejected; running config unchanged")
			return
		}
		d.reloads.OK++
		d.reloads.LastErr = ""
		d.log.Info().Str("config", d.path).Msg("reloaded")
		d.kickTrim()
	}()

	next, diags := config.Load(d.path)
	if diags.HasErrors() {
		return &control.ReloadError{Diagnostics: renderDiags(next, diags)}
	}
	pc, diags := ValidatePlugins(ctx, d.host, next, "", false)
	if diags.HasErrors() {
		return &control.ReloadError{Diagnostics: renderDiags(next, diags)}
	}
	if err := sameWitnesses(prevWitnessSpecs(d), next, pc); err != nil {
		return &control.ReloadError{Diagnostics: err.Error()}
	}
	if err := d.eng.CheckReload(ctx, next); err != nil {
		if errors.Is(err, engine.ErrStopped) || ctx.Err() != nil {
			return controlError(err)
		}
		return &control.ReloadError{Diagnostics: err.Error()}
	}

	d.mu.Lock()
	prev, prevChecks, prevActions, prevPC := d.cfg, d.checks, d.actions, d.pcfg
	d.mu.Unlock()

	specs, prevSpecs := pluginSpecs(next, ""), pluginSpecs(prev, "")
	checks := map[string]*pluginhost.Check{}
	started := map[string]*pluginhost.Check{}
	actions := map[string]*pluginhost.Action{}
	startedActions := map[string]*pluginhost.Action{}
	abort := func(err error) error {
		for _, c := range started {
			c.Stop()
		}
		for _, a := range startedActions {
			a.Stop()
		}
		return err
	}
	for _, c := range next.Checks {
		want := checkSpec(c, specs, pc)
		if old := prevChecks[c.Name]; old != nil {
			if pc := findCheck(prev, c.Name); pc != nil && sameCheckSpec(checkSpec(pc, prevSpecs, prevPC), want) {
				checks[c.Name] = old
				continue
			}
		}
		ch, err := d.host.StartCheck(ctx, want)
		if err != nil {
			return abort(fmt.Errorf("reload: %w", err))
		}
		started[c.Name] = ch
		fctx, cancel := context.WithTimeout(ctx, firstResultTimeout)
		_, err = ch.First(fctx)
		cancel()
		if err != nil {
			return abort(fmt.Errorf("reload: new check %s delivered no first result: %w", c.Name, err))
		}
		checks[c.Name] = ch
	}
	for _, a := range next.Actions {
		want := pluginhost.ActionSpec{Name: a.Name, Plugin: specs[a.Plugin], Timeout: a.Timeout, Config: pc.Actions[a.Name]}
		if old := prevActions[a.Name]; old != nil {
			if pa := findAction(prev, a.Name); pa != nil && reflect.DeepEqual(
				pluginhost.ActionSpec{Name: pa.Name, Plugin: prevSpecs[pa.Plugin], Timeout: pa.Timeout, Config: prevPC.Actions[pa.Name]}, want) {
				actions[a.Name] = old
				continue
			}
		}
		ac, err := d.host.StartAction(ctx, want)
		if err != nil {
			return abort(fmt.Errorf("reload: %w", err))
		}
		startedActions[a.Name] = ac
		actions[a.Name] = ac
	}

	applyErr := d.eng.Reconfigure(ctx, next, feeds(started), notifiers(actions))
	if applyErr != nil && !errors.Is(applyErr, engine.ErrReloadPartial) {
		return abort(fmt.Errorf("reload: %w", applyErr))
	}

	d.mu.Lock()
	d.cfg, d.checks, d.actions, d.pcfg = next, checks, actions, pc
	d.mu.Unlock()
	// Break after make: the engine already reads the new feeds.
	for name, c := range prevChecks {
		if checks[name] != c {
			c.Stop()
		}
	}
	for name, a := range prevActions {
		if actions[name] != a {
			a.Stop()
		}
	}
	return applyErr
}

func sameCheckSpec(a, b pluginhost.CheckSpec) bool {
	return bytes.Equal(a.Config, b.Config) && reflect.DeepEqual(
		pluginhost.CheckSpec{Name: a.Name, Plugin: a.Plugin, Interval: a.Interval, Timeout: a.Timeout},
		pluginhost.CheckSpec{Name: b.Name, Plugin: b.Plugin, Interval: b.Interval, Timeout: b.Timeout})
}

func findCheck(cfg *config.Config, name string) *config.Check {
	for _, c := range cfg.Checks {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func findAction(cfg *config.Config, name string) *config.Action {
	for _, a := range cfg.Actions {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// prevWitnessSpecs is what the running witnesses were started with.
func prevWitnessSpecs(d *Daemon) map[string]pluginhost.WitnessSpec {
	d.mu.Lock()
	defer d.mu.Unlock()
	specs := pluginSpecs(d.cfg, "")
	out := map[string]pluginhost.WitnessSpec{}
	for _, w := range d.cfg.Witnesses {
		out[w.Name] = witnessSpec(w, specs, d.pcfg)
	}
	return out
}

// sameWitnesses refuses a reload that adds, removes or changes a witness:
// a witness holds rights in its quorum for the daemon's life, and swapping
// it under a master would drop them. Restart hawatch for that.
func sameWitnesses(prev map[string]pluginhost.WitnessSpec, next *config.Config, pc PluginConfigs) error {
	specs := pluginSpecs(next, "")
	if len(next.Witnesses) != len(prev) {
		return fmt.Errorf("reload: witness blocks added or removed; that needs a restart")
	}
	for _, w := range next.Witnesses {
		p, ok := prev[w.Name]
		n := witnessSpec(w, specs, pc)
		if !ok || !reflect.DeepEqual(p.Plugin, n.Plugin) || !bytes.Equal(p.Config, n.Config) {
			return fmt.Errorf("reload: witness %s changed; that needs a restart", w.Name)
		}
	}
	return nil
}
