// Package daemon is `hawatch run`: it wires a validated node policy into the
// plugin host, the engine, the control socket and the metrics endpoint, and
// owns their lifetimes, signals and reloads.
package daemon

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/hawatch/hawatch/core/config"
	"github.com/hawatch/hawatch/core/control"
	"github.com/hawatch/hawatch/core/engine"
	"github.com/hawatch/hawatch/core/pluginhost"
	"github.com/hawatch/hawatch/core/sdnotify"
	"github.com/hawatch/hawatch/internal/footprint"
	"github.com/hawatch/hawatch/internal/httpserve"
	"github.com/hawatch/hawatch/internal/realtime"
)

// Daemon is one running node.
type Daemon struct {
	log  zerolog.Logger
	path string

	mu        sync.Mutex // guards cfg, checks, actions during reload
	cfg       *config.Config
	host      *pluginhost.Manager
	eng       *engine.Engine
	checks    map[string]*pluginhost.Check
	actions   map[string]*pluginhost.Action
	witnesses map[string]*pluginhost.Witness // for the daemon's life
	pcfg      PluginConfigs

	reloads reloadStats

	notify   sdnotify.Notifier // systemd's, when run as a Type=notify unit
	watchdog time.Duration     // WatchdogSec, 0 when off

	trimKick chan struct{} // a reload asks for a memory trim (footprint.go)
}

type reloadStats struct {
	OK       uint64
	Failed   uint64
	Last     time.Time
	LastErr  string
	inFlight sync.Mutex
}

// Run starts the node described by the file at path (already loaded and
// validated as cfg) and serves until ctx is done or SIGTERM/SIGINT; SIGHUP
// reloads. On the way out every instance sends priority 0 if master and
// releases its VIPs, then plugins are stopped.
func Run(ctx context.Context, log zerolog.Logger, path string, cfg *config.Config) error {
	return run(ctx, log, path, cfg, runOptions{})
}

// runOptions are Run's seams for tests; the zero value is the real node.
type runOptions struct {
	// engine supplies the engine's I/O constructors (Listen,
	// NewVIPManager, NewRouteManager, ...); the daemon fills in the rest.
	engine engine.Options
	// metricsBound, if set, is told the metrics endpoint's address
	// (metrics_listen may ask for port 0).
	metricsBound func(net.Addr)
	// trimSettle, if set, replaces the wait before a memory trim, and
	// trimmed is told of each trim (footprint.go).
	trimSettle time.Duration
	trimmed    func(footprint.Report)
}

func run(ctx context.Context, log zerolog.Logger, path string, cfg *config.Config, o runOptions) error {
	if cfg.Node.LockMemory {
		if err := realtime.LockMemory(); err != nil {
			log.Warn().Err(err).Msg("lock_memory not applied; pages may be evicted under memory pressure")
		}
	}
	if p := cfg.Node.RealtimePriority; p > 0 {
		defer keepRealtime(ctx, log, p)()
	}
	host, err := pluginhost.NewManager(log.With().Str("component", "plugins").Logger(), pluginhost.Options{
		SocketDir:      runtimeDir(),
		SchemaCacheDir: cacheDir(cfg),
	})
	if err != nil {
		return err
	}
	defer host.Close()

	d := &Daemon{log: log, path: path, cfg: cfg, host: host, trimKick: make(chan struct{}, 1)}
	d.takeNotifier() // before any plugin starts
	pc, diags := ValidatePlugins(ctx, host, cfg, "", false)
	if diags.HasErrors() {
		return &control.ReloadError{Diagnostics: renderDiags(cfg, diags)}
	}
	d.pcfg = pc
	if d.witnesses, err = startWitnesses(ctx, host, cfg, pc); err != nil {
		return err
	}
	// Stopped after the engine (deferred first, runs last): the instances
	// have resigned by then, and ending a session gives every right up.
	defer d.stopWitnesses()
	d.checks, d.actions, err = startPlugins(ctx, host, cfg, pc)
	if err != nil {
		return err
	}
	defer d.stopPlugins()

	eo := o.engine
	eo.Checks, eo.Actions, eo.Witnesses = feeds(d.checks), notifiers(d.actions), witnessFeeds(d.witnesses)
	eo.StateDir = cfg.Node.StateDir
	d.eng, err = engine.New(log, cfg, eo)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	srv, err := control.Listen(log.With().Str("component", "control").Logger(), cfg.Node.ControlSocket, cfg.Node.ControlGroup, d)
	if err != nil {
		return err
	}
	// Every goroutine started from here on is joined before Run returns:
	// an event stream left open would otherwise outlive the daemon.
	var served sync.WaitGroup
	served.Go(func() {
		if err := srv.Serve(); err != nil {
			log.Error().Err(err).Msg("control socket stopped")
		}
	})
	defer func() {
		if err := srv.Close(); err != nil {
			log.Warn().Err(err).Msg("control calls still under way at shutdown were cut off")
		}
		served.Wait()
	}()

	if cfg.Node.MetricsListen != "" {
		stopMetrics, err := d.serveMetrics(cfg.Node.MetricsListen, o.metricsBound)
		if err != nil {
			return err
		}
		defer stopMetrics()
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	// The reload loop ends with Run even when the engine fails before ctx
	// is done.
	hupCtx, endHup := context.WithCancel(ctx)
	var reloading sync.WaitGroup
	reloading.Go(func() {
		for {
			select {
			case <-hupCtx.Done():
				return
			case <-hup:
				if err := d.Reload(hupCtx); err != nil {
					log.Error().Err(err).Msg("reload on SIGHUP failed; running config unchanged")
				}
			}
		}
	})
	defer func() {
		endHup()
		reloading.Wait()
		signal.Stop(hup)
	}()

	log.Info().Str("config", path).Int("instances", len(cfg.Instances)).Int("checks", len(cfg.Checks)).Msg("hawatch running")
	defer d.serveSystemd(ctx)()
	defer d.serveTrim(ctx, !cfg.Node.LockMemory, o)()
	err = d.eng.Run(ctx)
	log.Info().Msg("hawatch stopped")
	return err
}

func (d *Daemon) stopPlugins() {
	d.mu.Lock()
	defer d.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range d.checks {
		wg.Go(c.Stop)
	}
	for _, a := range d.actions {
		wg.Go(a.Stop)
	}
	wg.Wait()
}

func (d *Daemon) stopWitnesses() {
	var wg sync.WaitGroup
	for _, w := range d.witnesses {
		wg.Go(w.Stop)
	}
	wg.Wait()
}

func witnessFeeds(ws map[string]*pluginhost.Witness) map[string]engine.WitnessFeed {
	out := map[string]engine.WitnessFeed{}
	for n, w := range ws {
		out[n] = w
	}
	return out
}

func feeds(checks map[string]*pluginhost.Check) map[string]engine.CheckFeed {
	out := map[string]engine.CheckFeed{}
	for n, c := range checks {
		out[n] = c
	}
	return out
}

func notifiers(actions map[string]*pluginhost.Action) map[string]engine.Notifier {
	out := map[string]engine.Notifier{}
	for n, a := range actions {
		out[n] = a
	}
	return out
}

func cacheDir(cfg *config.Config) string {
	if cfg.Node.StateDir == "" {
		return ""
	}
	return cfg.Node.StateDir + "/schema-cache"
}

// metricsGrace is how long a scrape under way may take to finish once the
// daemon stops.
const metricsGrace = time.Second

// serveMetrics serves the metrics endpoint until the returned stop, which
// waits for the server's every goroutine. bound, if set, is told the
// address.
func (d *Daemon) serveMetrics(addr string, bound func(net.Addr)) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics_listen %s: %w", addr, err)
	}
	if bound != nil {
		bound(ln.Addr())
	}
	srv := httpserve.New(&http.Server{Handler: d.metricsHandler(), ReadHeaderTimeout: 5 * time.Second}, ln)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := srv.Serve(); err != nil {
			d.log.Error().Err(err).Msg("metrics endpoint stopped")
		}
	})
	return func() {
		_ = srv.Stop(metricsGrace)
		wg.Wait()
	}, nil
}

// keepRealtime puts the daemon's threads on SCHED_RR at prio
// (node.realtime_priority) and keeps new ones there until the returned
// stop is called. Failing that (no CAP_SYS_NICE, a container without
// realtime budget) the daemon runs on, on the normal scheduler, and says so.
func keepRealtime(ctx context.Context, log zerolog.Logger, prio int) (stop func()) {
	if err := realtime.Apply(prio); err != nil {
		log.Warn().Err(err).Int("realtime_priority", prio).Msg("realtime scheduling not applied; running on the normal scheduler")
		return func() {}
	}
	log.Info().Int("realtime_priority", prio).Msg("threads on SCHED_RR")
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		realtime.Keep(ctx, prio, time.Second, func(err error) {
			log.Warn().Err(err).Msg("realtime scheduling of a new thread failed")
		})
	})
	return func() { cancel(); wg.Wait() }
}
