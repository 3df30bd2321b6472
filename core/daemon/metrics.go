package daemon

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// collector turns a status snapshot into Prometheus metrics at scrape time,
// so the VRRP loop pays nothing between scrapes.
type collector struct{ d *Daemon }

var (
	descState       = prometheus.NewDesc("hawatch_instance_state", "1 for the instance's current state.", []string{"instance", "state"}, nil)
	descPriority    = prometheus.NewDesc("hawatch_instance_priority", "Configured base priority.", []string{"instance"}, nil)
	descEffective   = prometheus.NewDesc("hawatch_instance_effective_priority", "Priority after tracking.", []string{"instance"}, nil)
	descTransitions = prometheus.NewDesc("hawatch_transitions_total", "State transitions.", []string{"instance"}, nil)
	descSent        = prometheus.NewDesc("hawatch_adverts_sent_total", "Adverts sent.", []string{"instance"}, nil)
	descReceived    = prometheus.NewDesc("hawatch_adverts_received_total", "Adverts accepted.", []string{"instance"}, nil)
	descUnsigned    = prometheus.NewDesc("hawatch_adverts_unsigned_total", "Adverts accepted without an auth_hmac trailer (permissive or receive-only mode).", []string{"instance"}, nil)
	descDropped     = prometheus.NewDesc("hawatch_adverts_dropped_total", "Adverts dropped, by reason.", []string{"instance", "reason"}, nil)
	descSockDropped = prometheus.NewDesc("hawatch_socket_dropped_total", "Packets dropped before demultiplexing, by reason.", []string{"socket", "reason"}, nil)
	descCheckUp     = prometheus.NewDesc("hawatch_check_status", "1 for the check's last status.", []string{"check", "status"}, nil)
	descTrackUp     = prometheus.NewDesc("hawatch_track_up", "1 when the tracked check counts as up (after rise/fall).", []string{"instance", "check"}, nil)
	descRestarts    = prometheus.NewDesc("hawatch_plugin_restarts_total", "Plugin restarts.", []string{"name", "kind"}, nil)
	descAnnounce    = prometheus.NewDesc("hawatch_announcements_total", "GARP / NA packets sent.", []string{"interface"}, nil)
	descReconcile   = prometheus.NewDesc("hawatch_vip_reconciliations_total", "VIPs re-added or removed by reconciliation.", []string{"interface", "kind"}, nil)
	descReloads     = prometheus.NewDesc("hawatch_reloads_total", "Reloads by outcome.", []string{"result"}, nil)
	descWitness     = prometheus.NewDesc("hawatch_witness_granted", "1 while the instance's witness grants this node the right to own its VIPs.", []string{"instance", "witness"}, nil)
	descLoopLate    = prometheus.NewDesc("hawatch_loop_late_wakeups_total", "VRRP loop wake-ups later than a quarter of the shortest advert interval after their deadline.", nil, nil)
	descLoopPrio    = prometheus.NewDesc("hawatch_loop_realtime_priority", "SCHED_RR priority of the VRRP loop's thread (0: normal scheduler).", nil, nil)
	descLoopEscal   = prometheus.NewDesc("hawatch_loop_escalations_total", "Raises of the VRRP loop thread's realtime priority (max_auto_priority).", nil, nil)
	descWitnessErr  = prometheus.NewDesc("hawatch_witness_errors_total", "Witness sessions that failed (plugin exited or the session broke).", []string{"witness"}, nil)
)

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descState, descPriority, descEffective, descTransitions, descSent, descReceived, descUnsigned,
		descDropped, descSockDropped, descCheckUp, descTrackUp, descRestarts, descAnnounce, descReconcile, descReloads,
		descWitness, descWitnessErr, descLoopLate, descLoopPrio, descLoopEscal} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := c.d.Status(ctx)
	if err != nil {
		return
	}
	gauge := func(d *prometheus.Desc, val float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, val, labels...)
	}
	counter := func(d *prometheus.Desc, val uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(val), labels...)
	}
	for _, in := range st.Instances {
		for _, s := range []string{"INIT", "BACKUP", "MASTER", "FAULT"} {
			gauge(descState, b2f(in.State == s), in.Name, s)
		}
		gauge(descPriority, float64(in.Priority), in.Name)
		gauge(descEffective, float64(in.EffectivePriority), in.Name)
		counter(descTransitions, in.Stats.Transitions, in.Name)
		counter(descSent, in.Stats.AdvertsSent, in.Name)
		counter(descReceived, in.Stats.AdvertsReceived, in.Name)
		counter(descUnsigned, in.Stats.UnsignedAccepted, in.Name)
		for reason, n := range in.Stats.Dropped {
			counter(descDropped, n, in.Name, reason)
		}
		for _, l := range in.Ledger {
			gauge(descTrackUp, b2f(l.Up), in.Name, l.Check)
		}
		if w := in.Witness; w != nil {
			gauge(descWitness, b2f(w.Granted), in.Name, w.Name)
		}
	}
	for sock, drops := range st.SocketDrops {
		for reason, n := range drops {
			counter(descSockDropped, n, sock, reason)
		}
	}
	for _, chk := range st.Checks {
		for _, s := range []string{"ok", "fail", "unknown"} {
			gauge(descCheckUp, b2f(chk.Status == s), chk.Name, s)
		}
	}
	for _, p := range st.Plugins {
		counter(descRestarts, p.Restarts, p.Name, p.Kind)
		if p.Kind == "witness" {
			counter(descWitnessErr, p.Failed, p.Name)
		}
	}
	for ifname, vs := range st.VIP {
		counter(descAnnounce, vs.AnnouncementsSent, ifname)
		counter(descReconcile, vs.ReAdded, ifname, "readded")
		counter(descReconcile, vs.Removed, ifname, "removed")
	}
	counter(descReloads, st.Reloads.OK, "ok")
	counter(descReloads, st.Reloads.Failed, "failed")
	counter(descLoopLate, st.Loop.LateWakeups)
	gauge(descLoopPrio, float64(st.Loop.RealtimePriority))
	counter(descLoopEscal, st.Loop.Escalations)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (d *Daemon) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector{d})
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
