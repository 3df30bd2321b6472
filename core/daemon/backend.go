package daemon

import (
	"bytes"
	"context"
	"errors"
	"net/netip"

	"github.com/hashicorp/hcl/v2"

	"github.com/hawatch/hawatch/core/config"
	"github.com/hawatch/hawatch/core/control"
	"github.com/hawatch/hawatch/core/engine"
)

// Status implements control.Backend.
func (d *Daemon) Status(ctx context.Context) (control.Status, error) {
	st, err := d.eng.Status(ctx)
	if err != nil {
		return control.Status{}, controlError(err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	out := control.Status{Node: d.cfg.Node.Name, At: st.At, SocketDrops: st.Sockets, VIP: map[string]control.VIPStats{}}
	for _, in := range st.Instances {
		s := instanceStatus(in)
		if s.Witness != nil {
			if w := d.witnesses[in.Witness]; w != nil {
				s.Witness.SessionErrors = w.Errors()
			}
			for _, ic := range d.cfg.Instances {
				if ic.Name == in.Name {
					s.Witness.OnLost = ic.OnWitnessLost
				}
			}
		}
		out.Instances = append(out.Instances, s)
	}
	for _, c := range st.Checks {
		out.Checks = append(out.Checks, control.CheckStatus(c))
	}
	for ifname, v := range st.VIP {
		out.VIP[ifname] = control.VIPStats{
			AnnouncementsSent: v.AnnouncementsSent, AnnouncementErrors: v.AnnouncementErrors,
			AnnouncementsDelayed: v.AnnouncementsDelayed, ReAdded: v.Reconciliations.ReAdded,
			Removed: v.Reconciliations.Removed, Resubscriptions: v.Resubscriptions,
		}
	}
	for _, c := range d.cfg.Checks {
		if ch := d.checks[c.Name]; ch != nil {
			out.Plugins = append(out.Plugins, control.PluginStatus{Name: c.Name, Kind: "check", Plugin: c.Plugin, PID: ch.PID(),
				Restarts: ch.Restarts(), Dropped: ch.Dropped(), Timeouts: ch.Timeouts()})
		}
	}
	for _, w := range d.cfg.Witnesses {
		if ws := d.witnesses[w.Name]; ws != nil {
			out.Plugins = append(out.Plugins, control.PluginStatus{Name: w.Name, Kind: "witness", Plugin: w.Plugin, PID: ws.PID(),
				Restarts: ws.Restarts(), Failed: ws.Errors()})
		}
	}
	for _, a := range d.cfg.Actions {
		if ac := d.actions[a.Name]; ac != nil {
			s := ac.Stats()
			out.Plugins = append(out.Plugins, control.PluginStatus{Name: a.Name, Kind: "action", Plugin: a.Plugin,
				Restarts: s.Restarts, Dropped: s.Dropped, Sent: s.Sent, Failed: s.Failed})
		}
	}
	out.Loop = control.LoopStatus(st.Loop)
	out.Reloads = control.ReloadCounters{OK: d.reloads.OK, Failed: d.reloads.Failed, LastError: d.reloads.LastErr}
	return out, nil
}

func instanceStatus(in engine.InstanceStatus) control.InstanceStatus {
	s := control.InstanceStatus{
		Name: in.Name, Interface: in.Interface, VRID: in.VRID, Version: in.Version, State: in.State.String(),
		Group: in.Group, AddressOwner: in.Owner, Priority: int(in.Priority), EffectivePriority: int(in.EffectivePriority),
		VIPsHeld: in.VIPsHeld, VIPError: in.VIPError, Auth: in.Auth, LocalAddr: addrString(in.LocalAddr),
		MasterAdverInt: in.MasterAdverInterval.String(),
		Stats: control.InstanceStats{
			AdvertsSent: in.Sent, AdvertsReceived: in.Received, UnsignedAccepted: in.Unsigned, Dropped: in.Dropped, Transitions: in.Transitions,
			LastTransition: in.LastTransition, LastReason: in.LastReason, SendErrors: in.SendErrors,
			VIPErrors: in.VIPErrors, MasterAddr: addrString(in.Master),
		},
	}
	for _, l := range in.Ledger {
		e := control.LedgerEntry{
			Check: l.Check, Effect: l.Effect.String(), Weight: l.Weight, Status: l.Status.String(), Up: l.Up,
			Reported: l.Reported, Contribution: l.Contribution, Reason: l.Reason, ObservedAt: l.ObservedAt, Settles: l.Settles,
		}
		if l.File != "" {
			v := l.Value
			e.File, e.Value = l.File, &v
		}
		s.Ledger = append(s.Ledger, e)
	}
	for _, h := range in.Holds {
		s.Holds = append(s.Holds, h.Reason.String()+": "+h.Detail)
	}
	if w := in.Snapshot.Witness; w != nil {
		s.Witness = &control.WitnessStatus{Name: in.Witness, State: w.State.String(), Granted: w.Granted, Holder: w.Holder,
			ValidUntil: w.ValidUntil, Revision: w.Revision, Reason: w.Reason, Claiming: w.Claiming}
	}
	for _, p := range in.VIPs {
		s.VIPs = append(s.VIPs, p.String())
	}
	for _, p := range in.Peers {
		s.Peers = append(s.Peers, p.String())
	}
	return s
}

// Demote implements control.Backend.
func (d *Daemon) Demote(ctx context.Context, instance string, demote bool) error {
	return controlError(d.eng.Demote(ctx, instance, demote))
}

// controlError marks engine errors for the control socket's status codes.
func controlError(err error) error {
	switch {
	case errors.Is(err, engine.ErrUnknownInstance):
		return control.Mark(err, control.ErrNotFound)
	case errors.Is(err, engine.ErrStopped):
		return control.Mark(err, control.ErrUnavailable)
	}
	return err
}

// eventBuffer is how many events a slow subscriber may lag behind before
// it loses some.
const eventBuffer = 256

// Subscribe implements control.Backend. The engine calls the subscription
// on its loop; events that do not fit the channel are dropped.
func (d *Daemon) Subscribe() (<-chan control.Event, func()) {
	ch := make(chan control.Event, eventBuffer)
	cancel := d.eng.Subscribe(func(ev engine.Event) {
		select {
		case ch <- control.Event(ev):
		default:
		}
	})
	return ch, cancel
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
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
