package daemon

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/hawatch/hawatch/core/sdnotify"
)

// takeNotifier reads systemd's notification socket and watchdog from the
// environment and removes them, so that plugins (children) do not inherit
// them: the service manager trusts only the main process's messages, and a
// plugin speaking for the daemon would defeat the watchdog.
func (d *Daemon) takeNotifier() {
	d.notify = sdnotify.FromEnv()
	iv, err := sdnotify.WatchdogInterval()
	if err != nil {
		d.log.Warn().Err(err).Msg("systemd watchdog not fed")
	}
	d.watchdog = iv
	for _, k := range []string{"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"} {
		os.Unsetenv(k)
	}
}

// serveSystemd tells systemd READY=1 once the engine's loop runs (every
// instance started, Type=notify), then feeds the watchdog from the loop
// (WatchdogSec=) until ctx ends, when it says STOPPING=1. The returned
// stop ends it and waits for it.
func (d *Daemon) serveSystemd(ctx context.Context) (stop func()) {
	if !d.notify.Enabled() {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer func() { _ = d.notify.Notify(sdnotify.Stopping) }()
		if err := d.eng.Alive(ctx); err != nil {
			return // stopped or failed before it ran: systemd sees the exit
		}
		if err := d.notify.Notify(sdnotify.Ready, fmt.Sprintf("STATUS=running %d instances", len(d.cfg.Instances))); err != nil {
			d.log.Warn().Err(err).Msg("systemd notification failed")
		}
		if d.watchdog > 0 {
			d.log.Info().Dur("interval", d.watchdog).Msg("feeding the systemd watchdog from the VRRP loop")
			sdnotify.RunWatchdog(ctx, d.watchdog, d.eng.Alive,
				func() error { return d.notify.Notify(sdnotify.Watchdog) },
				func(err error) {
					if d.log.Warn().Enabled() {
						d.log.Warn().Err(err).Msg("systemd watchdog: VRRP loop did not answer; ping withheld")
					}
				})
		}
		<-ctx.Done()
	})
	return func() { cancel(); wg.Wait() }
}
