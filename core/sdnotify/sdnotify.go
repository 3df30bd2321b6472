// Package sdnotify speaks systemd's service notification protocol
// (sd_notify(3)): one datagram of newline-separated KEY=VALUE assignments
// to the unix socket named by $NOTIFY_SOCKET. It lets a Type=notify unit
// know when the daemon is ready, and feeds the service watchdog
// (WatchdogSec=) from a probe of the daemon's main loop, so that a wedged
// loop stops the pings and systemd restarts the daemon.
//
// Outside systemd ($NOTIFY_SOCKET unset) every call is a no-op.
package sdnotify

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Messages of the protocol this daemon sends.
const (
	Ready    = "READY=1"
	Stopping = "STOPPING=1"
	Watchdog = "WATCHDOG=1"
)

// Notifier sends state to the service manager. The zero value (no socket)
// discards everything.
type Notifier struct {
	addr *net.UnixAddr
}

// FromEnv returns a Notifier for $NOTIFY_SOCKET ("@name" is an abstract
// socket), or a discarding one when the variable is unset or empty.
func FromEnv() Notifier {
	return New(os.Getenv("NOTIFY_SOCKET"))
}

// New returns a Notifier for the socket at path ("" discards).
func New(path string) Notifier {
	if path == "" {
		return Notifier{}
	}
	// A leading '@' (an abstract socket) is translated to the NUL byte
	// by the runtime, as systemd means it.
	return Notifier{addr: &net.UnixAddr{Name: path, Net: "unixgram"}}
}

// Enabled reports whether a service manager listens.
func (n Notifier) Enabled() bool { return n.addr != nil }

// Notify sends the assignments as one datagram.
func (n Notifier) Notify(state ...string) error {
	if n.addr == nil {
		return nil
	}
	conn, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("sd_notify %s: %w", n.addr.Name, err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(strings.Join(state, "\n") + "\n")); err != nil {
		return fmt.Errorf("sd_notify %s: %w", n.addr.Name, err)
	}
	return nil
}

// WatchdogInterval is the interval systemd expects pings within
// ($WATCHDOG_USEC), or 0 when the watchdog is off or meant for another
// process ($WATCHDOG_PID names someone else).
func WatchdogInterval() (time.Duration, error) {
	return watchdogInterval(os.Getenv("WATCHDOG_USEC"), os.Getenv("WATCHDOG_PID"), os.Getpid())
}

func watchdogInterval(usec, pid string, self int) (time.Duration, error) {
	if usec == "" {
		return 0, nil
	}
	if pid != "" {
		p, err := strconv.Atoi(pid)
		if err != nil {
			return 0, fmt.Errorf("WATCHDOG_PID=%q: %w", pid, err)
		}
		if p != self {
			return 0, nil
		}
	}
	us, err := strconv.ParseInt(usec, 10, 64)
	if err != nil || us <= 0 || us > int64(math.MaxInt64/time.Microsecond) {
		return 0, fmt.Errorf("WATCHDOG_USEC=%q: not a positive number of microseconds", usec)
	}
	return time.Duration(us) * time.Microsecond, nil
}

// Probe answers once the loop it stands for has gone round (or fails when
// ctx ends first).
type Probe func(ctx context.Context) error

// RunWatchdog pings every interval/2, as sd_watchdog_enabled(3) advises,
// but only after probe has answered within that half interval: a loop
// that is stuck (a blocked send, a deadlock) lets the probe time out, the
// pings stop, and systemd kills and restarts the daemon after interval.
// It returns when ctx ends or the probe reports the loop stopped for
// good; failed probes and pings are passed to onMiss (may be nil).
func RunWatchdog(ctx context.Context, interval time.Duration, probe Probe, ping func() error, onMiss func(error)) {
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	watch(ctx, t.C, interval/2, probe, ping, onMiss)
}

// watch is RunWatchdog on the ticks given (injected by tests).
func watch(ctx context.Context, ticks <-chan time.Time, timeout time.Duration, probe Probe, ping func() error, onMiss func(error)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
		}
		pctx, cancel := context.WithTimeout(ctx, timeout)
		err := probe(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if onMiss != nil {
				onMiss(err)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				return // the loop has ended: nothing left to vouch for
			}
			continue
		}
		if err := ping(); err != nil && onMiss != nil {
			onMiss(err)
		}
	}
}
