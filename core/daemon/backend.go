package daemon

import (
	"bytes"
	"context"

	"github.com/hashicorp/hcl/v2"

	"github.com/hawatch/hawatch/core/config"
	"github.com/hawatch/hawatch/core/engine"
)

// Status is what `hawatch status --json` prints.
type Status struct {
	Node string `json:"node"`
	engine.Status
	Plugins []PluginStatus `json:"plugins"`
	Reloads reloadCounters `json:"reloads"`
}

// PluginStatus is one running check or action plugin.
type PluginStatus struct {
	Name     string `json:"name"` // check or action name
	Kind     string `json:"kind"`
	Plugin   string `json:"plugin"`
	PID      int    `json:"pid,omitempty"`
	Restarts uint64 `json:"restarts"`
	Dropped  uint64 `json:"dropped"`
	Timeouts uint64 `json:"timeouts,omitempty"`
	Sent     uint64 `json:"sent,omitempty"`
	Failed   uint64 `json:"failed,omitempty"`
}

type reloadCounters struct {
	OK        uint64 `json:"ok"`
	Failed    uint64 `json:"failed"`
	LastError string `json:"last_error,omitempty"`
}

// Status implements control.Backend.
func (d *Daemon) Status(ctx context.Context) (any, error) {
	st, err := d.eng.Status(ctx)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	out := Status{Node: d.cfg.Node.Name, Status: st}
	for _, c := range d.cfg.Checks {
		if ch := d.checks[c.Name]; ch != nil {
			out.Plugins = append(out.Plugins, PluginStatus{Name: c.Name, Kind: "check", Plugin: c.Plugin, PID: ch.PID(),
				Restarts: ch.Restarts(), Dropped: ch.Dropped(), Timeouts: ch.Timeouts()})
		}
	}
	for _, a := range d.cfg.Actions {
		if ac := d.actions[a.Name]; ac != nil {
			s := ac.Stats()
			out.Plugins = append(out.Plugins, PluginStatus{Name: a.Name, Kind: "action", Plugin: a.Plugin,
				Restarts: s.Restarts, Dropped: s.Dropped, Sent: s.Sent, Failed: s.Failed})
		}
	}
	out.Reloads = reloadCounters{OK: d.reloads.OK, Failed: d.reloads.Failed, LastError: d.reloads.LastErr}
	return out, nil
}

// Demote implements control.Backend.
func (d *Daemon) Demote(ctx context.Context, instance string, demote bool) error {
	return d.eng.Demote(ctx, instance, demote)
}

// Subscribe implements control.Backend.
func (d *Daemon) Subscribe() (<-chan any, func()) {
	evs, cancel := d.eng.Subscribe()
	out := make(chan any)
	done := make(chan struct{})
	go func() {
		defer close(out)
		for {
			select {
			case <-done:
				return
			case ev := <-evs:
				select {
				case out <- ev:
				case <-done:
					return
				}
			}
		}
	}()
	return out, func() { cancel(); close(done) }
}

func renderDiags(cfg *config.Config, diags hcl.Diagnostics) string {
	var b bytes.Buffer
	var files map[string]*hcl.File
	if cfg != nil {
		files = cfg.Files
	}
	_ = config.WriteDiagnostics(&b, files, diags, false)
	return b.String()
}
