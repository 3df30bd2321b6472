package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/hawatch/hawatch/core/config"
	"github.com/hawatch/hawatch/core/pluginhost"
	"github.com/hawatch/hawatch/sdk"
)

// PluginConfigs are the decoded `config {}` blocks, keyed by check or action
// name, ready for the plugins' Configure.
type PluginConfigs struct {
	Checks    map[string]json.RawMessage
	Actions   map[string]json.RawMessage
	Witnesses map[string]json.RawMessage
}

// pluginSpecs maps `plugin {}` blocks to the host's start specs.
func pluginSpecs(cfg *config.Config, pluginDir string) map[string]pluginhost.PluginSpec {
	dir := cfg.Node.PluginDir
	if pluginDir != "" {
		dir = pluginDir
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs
		}
	}
	specs := map[string]pluginhost.PluginSpec{}
	for _, p := range cfg.Plugins {
		specs[p.Name] = pluginhost.PluginSpec{Name: p.Name, Command: p.Command, Args: p.Args, SHA256: p.SHA256, User: p.User, Dir: dir}
	}
	return specs
}

// ValidatePlugins fetches each referenced plugin's schema (starting it just
// long enough, or from the host's cache) and decodes every `config {}` block
// against it, so plugin config mistakes get file:line:col diagnostics before
// anything runs. With missingOK, a plugin binary that does not exist yields
// a warning instead of an error (validating on a machine where the plugins
// are not installed).
func ValidatePlugins(ctx context.Context, host *pluginhost.Manager, cfg *config.Config, pluginDir string, missingOK bool) (PluginConfigs, hcl.Diagnostics) {
	out := PluginConfigs{Checks: map[string]json.RawMessage{}, Actions: map[string]json.RawMessage{}, Witnesses: map[string]json.RawMessage{}}
	specs := pluginSpecs(cfg, pluginDir)
	var diags hcl.Diagnostics
	described := map[string]*pluginhost.Description{}
	failed := map[string]bool{}
	describe := func(name string, at hcl.Range) *pluginhost.Description {
		if d, ok := described[name]; ok || failed[name] {
			return d
		}
		spec, ok := specs[name]
		if !ok {
			failed[name] = true // the config loader already reported it
			return nil
		}
		d, err := host.Describe(ctx, spec)
		if err != nil {
			failed[name] = true
			sev := hcl.DiagError
			if missingOK && errors.Is(err, fs.ErrNotExist) {
				sev = hcl.DiagWarning
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: sev,
				Summary:  "Cannot load plugin",
				Detail:   fmt.Sprintf("Plugin %q (%s) could not be started to read its config schema: %v.", name, spec.Path(), err),
				Subject:  pluginRange(cfg, name, at).Ptr(),
			})
			return nil
		}
		described[name] = &d
		return &d
	}
	kindOK := func(d *pluginhost.Description, want sdk.Kind, plugin string, at hcl.Range) bool {
		if d.Info.Kind == want {
			return true
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Wrong kind of plugin",
			Detail:   fmt.Sprintf("Plugin %q is a %s plugin; it cannot serve a %s block.", plugin, d.Info.Kind, want),
			Subject:  at.Ptr(),
		})
		return false
	}
	// Every block that decodes is then handed to its plugin's Configure
	// (one probe start per plugin), so what validate accepts, run accepts.
	var probes []configProbe
	probe := func(plugin string, kind sdk.Kind, raw json.RawMessage, ds hcl.Diagnostics, what string, at, def hcl.Range) {
		if ds.HasErrors() {
			return
		}
		if at.Filename == "" {
			at = def
		}
		probes = append(probes, configProbe{plugin: plugin, kind: kind, raw: raw, what: what, at: at})
	}
	for _, c := range cfg.Checks {
		if d := describe(c.Plugin, c.DefRange); d != nil && kindOK(d, sdk.KindCheck, c.Plugin, c.DefRange) {
			raw, ds := pluginhost.DecodeConfig(d.Schema, c.Config, c.DefRange)
			diags = append(diags, ds...)
			out.Checks[c.Name] = raw
			probe(c.Plugin, sdk.KindCheck, raw, ds, fmt.Sprintf("check %q", c.Name), c.ConfigRange, c.DefRange)
		}
	}
	for _, a := range cfg.Actions {
		if d := describe(a.Plugin, a.DefRange); d != nil && kindOK(d, sdk.KindAction, a.Plugin, a.DefRange) {
			raw, ds := pluginhost.DecodeConfig(d.Schema, a.Config, a.DefRange)
			diags = append(diags, ds...)
			out.Actions[a.Name] = raw
			probe(a.Plugin, sdk.KindAction, raw, ds, fmt.Sprintf("action %q", a.Name), a.ConfigRange, a.DefRange)
		}
	}
	for _, w := range cfg.Witnesses {
		if d := describe(w.Plugin, w.DefRange); d != nil && kindOK(d, sdk.KindWitness, w.Plugin, w.DefRange) {
			raw, ds := pluginhost.DecodeConfig(d.Schema, w.Config, w.DefRange)
			diags = append(diags, ds...)
			out.Witnesses[w.Name] = raw
			probe(w.Plugin, sdk.KindWitness, raw, ds, fmt.Sprintf("witness %q", w.Name), w.ConfigRange, w.DefRange)
		}
	}
	if !diags.HasErrors() {
		diags = append(diags, configureProbes(ctx, host, specs, cfg, probes)...)
	}
	return out, diags
}

// configProbe is one decoded config block waiting for its plugin's verdict.
type configProbe struct {
	plugin string
	kind   sdk.Kind
	raw    json.RawMessage
	what   string    // "check \"web\"", for the message
	at     hcl.Range // the `config {}` block (or the check, without one)
}

// configureProbes asks each plugin, started once, to Configure every block
// that uses it, and reports a refusal at that block.
func configureProbes(ctx context.Context, host *pluginhost.Manager, specs map[string]pluginhost.PluginSpec, cfg *config.Config, probes []configProbe) hcl.Diagnostics {
	var diags hcl.Diagnostics
	byPlugin := map[string][]configProbe{}
	var order []string
	for _, p := range probes {
		if _, seen := byPlugin[p.plugin]; !seen {
			order = append(order, p.plugin)
		}
		byPlugin[p.plugin] = append(byPlugin[p.plugin], p)
	}
	for _, name := range order {
		ps := byPlugin[name]
		raws := make([]json.RawMessage, len(ps))
		for i, p := range ps {
			raws[i] = p.raw
		}
		errs, err := host.TryConfigure(ctx, specs[name], ps[0].kind, raws)
		if err != nil && len(errs) == 0 {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Cannot load plugin",
				Detail:   fmt.Sprintf("Plugin %q could not be started to check its config: %v.", name, err),
				Subject:  pluginRange(cfg, name, ps[0].at).Ptr(),
			})
			continue
		}
		for i, e := range errs {
			if e == nil {
				continue
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Plugin refused its config",
				Detail:   fmt.Sprintf("Plugin %q refused the config of %s: %v.", name, ps[i].what, strings.TrimPrefix(e.Error(), "configure: ")),
				Subject:  ps[i].at.Ptr(),
			})
		}
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Plugin failed while checking its config",
				Detail:   err.Error(),
				Subject:  pluginRange(cfg, name, ps[0].at).Ptr(),
			})
		}
	}
	return diags
}

func pluginRange(cfg *config.Config, name string, fallback hcl.Range) hcl.Range {
	for _, p := range cfg.Plugins {
		if p.Name == name {
			return p.DefRange
		}
	}
	return fallback
}

// startPlugins starts every check and action of cfg. On error, whatever
// started is stopped.
func startPlugins(ctx context.Context, host *pluginhost.Manager, cfg *config.Config, pc PluginConfigs) (map[string]*pluginhost.Check, map[string]*pluginhost.Action, error) {
	specs := pluginSpecs(cfg, "")
	checks := map[string]*pluginhost.Check{}
	actions := map[string]*pluginhost.Action{}
	stopAll := func() {
		for _, c := range checks {
			c.Stop()
		}
		for _, a := range actions {
			a.Stop()
		}
	}
	for _, c := range cfg.Checks {
		ch, err := host.StartCheck(ctx, checkSpec(c, specs, pc))
		if err != nil {
			stopAll()
			return nil, nil, err
		}
		checks[c.Name] = ch
	}
	for _, a := range cfg.Actions {
		ac, err := host.StartAction(ctx, pluginhost.ActionSpec{Name: a.Name, Plugin: specs[a.Plugin], Timeout: a.Timeout, Config: pc.Actions[a.Name]})
		if err != nil {
			stopAll()
			return nil, nil, err
		}
		actions[a.Name] = ac
	}
	return checks, actions, nil
}

// startWitnesses starts every witness of cfg; on error, whatever started
// is stopped. Witnesses run for the daemon's life (a reload that changes
// one is refused).
func startWitnesses(ctx context.Context, host *pluginhost.Manager, cfg *config.Config, pc PluginConfigs) (map[string]*pluginhost.Witness, error) {
	specs := pluginSpecs(cfg, "")
	out := map[string]*pluginhost.Witness{}
	for _, w := range cfg.Witnesses {
		ws, err := host.StartWitness(ctx, witnessSpec(w, specs, pc))
		if err != nil {
			for _, o := range out {
				o.Stop()
			}
			return nil, err
		}
		out[w.Name] = ws
	}
	return out, nil
}

func witnessSpec(w *config.Witness, specs map[string]pluginhost.PluginSpec, pc PluginConfigs) pluginhost.WitnessSpec {
	return pluginhost.WitnessSpec{Name: w.Name, Plugin: specs[w.Plugin], Config: pc.Witnesses[w.Name]}
}

func checkSpec(c *config.Check, specs map[string]pluginhost.PluginSpec, pc PluginConfigs) pluginhost.CheckSpec {
	return pluginhost.CheckSpec{Name: c.Name, Plugin: specs[c.Plugin], Interval: c.Interval, Timeout: c.Timeout, Config: pc.Checks[c.Name]}
}

func runtimeDir() string {
	if d := os.Getenv("RUNTIME_DIRECTORY"); d != "" {
		return d
	}
	return ""
}
