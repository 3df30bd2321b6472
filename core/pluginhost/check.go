package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hawatch/hawatch/sdk"
	"github.com/rs/zerolog"
)

// Reasons of the unknown results the host itself reports for a check.
const (
	ReasonPluginExited = "plugin exited"
	ReasonRestarting   = "restarting"
	// ReasonNotAnswering prefixes unknowns for a plugin that sent nothing
	// (not even a heartbeat) for longer than its schedule allows.
	ReasonNotAnswering = sdk.ReasonTimeout + ": plugin not answering"
)

// errNotAnswering ends a serve loop whose plugin went silent.
var errNotAnswering = errors.New("plugin stopped answering")

// Check is one supervised check plugin. Results arrive on Results().
//
// Delivery policy: the channel is buffered (Options.ResultBuffer). The
// manager never blocks on it: when the consumer falls a whole buffer
// behind, the oldest buffered result is dropped to make room for the
// newest (counted in Dropped), so the consumer always finds the latest
// state and a stalled consumer cannot stall the plugin or the manager.
// The channel is closed after Stop.
type Check struct {
	m    *Manager
	spec CheckSpec
	log  zerolog.Logger

	results chan sdk.Result
	first   chan struct{} // closed when firstRes is set
	firstMu sync.Once
	firstR  sdk.Result

	restarts atomic.Uint64
	dropped  atomic.Uint64
	timeouts atomic.Uint64
	pid      atomic.Int64

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

// StartCheck starts the check's plugin, configures it, and supervises it
// until Stop. Errors from the first start (unsafe path, checksum, identity,
// Configure) are returned; later failures become unknown results and
// restarts. ctx bounds the first start only.
func (m *Manager) StartCheck(ctx context.Context, spec CheckSpec) (*Check, error) {
	if spec.Interval <= 0 {
		return nil, fmt.Errorf("check %s: interval %v must be positive", spec.Name, spec.Interval)
	}
	if spec.Timeout <= 0 {
		spec.Timeout = spec.Interval
	}
	p, err := m.start(ctx, spec.Plugin, sdk.KindCheck, spec.Config)
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", spec.Name, err)
	}
	c := &Check{
		m:       m,
		spec:    spec,
		log:     m.log.With().Str("check", spec.Name).Str("plugin", spec.Plugin.Name).Logger(),
		results: make(chan sdk.Result, m.opts.ResultBuffer),
		first:   make(chan struct{}),
		done:    make(chan struct{}),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if err := m.register(c); err != nil {
		p.kill()
		return nil, fmt.Errorf("check %s: %w", spec.Name, err)
	}
	c.pid.Store(int64(p.pid))
	go c.run(p)
	return c, nil
}

// Name is the check's name.
func (c *Check) Name() string { return c.spec.Name }

// Results delivers the check's results; see the type's delivery policy.
func (c *Check) Results() <-chan sdk.Result { return c.results }

// First waits for the first result the plugin itself reported (not one the
// host made up while it was down). A reload starts the new check, waits
// here, and only then stops the old one.
func (c *Check) First(ctx context.Context) (sdk.Result, error) {
	select {
	case <-c.first:
		return c.firstR, nil
	case <-ctx.Done():
		return sdk.Result{}, fmt.Errorf("check %s: first result: %w", c.spec.Name, ctx.Err())
	case <-c.done:
		return sdk.Result{}, fmt.Errorf("check %s: %w", c.spec.Name, ErrClosed)
	}
}

// Restarts counts restart attempts since StartCheck.
func (c *Check) Restarts() uint64 { return c.restarts.Load() }

// Dropped counts results discarded because the consumer fell behind.
func (c *Check) Dropped() uint64 { return c.dropped.Load() }

// Timeouts counts the times the plugin went silent past its schedule.
func (c *Check) Timeouts() uint64 { return c.timeouts.Load() }

// PID is the plugin process id (0 while it is down).
func (c *Check) PID() int { return int(c.pid.Load()) }

// Stop ends the check, stops its plugin and closes Results. Safe to call
// more than once.
func (c *Check) Stop() {
	c.cancel()
	<-c.done
}

// deliver never blocks: see the delivery policy on Check.
func (c *Check) deliver(r sdk.Result) {
	if r.ObservedAt.IsZero() {
		r.ObservedAt = time.Now()
	}
	for {
		select {
		case c.results <- r:
			return
		default:
		}
		select {
		case <-c.results:
			c.dropped.Add(1)
		default:
		}
	}
}

func (c *Check) unknown(reason string) {
	c.deliver(sdk.Result{Status: sdk.StatusUnknown, Reason: reason})
}

// run owns the plugin process: it serves results until the plugin fails,
// then restarts it with backoff, until Stop.
func (c *Check) run(p *process) {
	defer close(c.done)
	defer close(c.results)
	defer c.m.unregister(c)

	bo := newBackoffState(c.m.opts.Backoff)
	for {
		err := c.serve(p)
		upFor := time.Since(p.started)
		c.pid.Store(0)
		if c.ctx.Err() != nil {
			p.kill()
			return
		}
		c.log.Warn().Err(err).Int("pid", p.pid).Dur("up", upFor).Msg("check plugin failed, restarting")
		c.unknown(fmt.Sprintf("%s: %v", ReasonPluginExited, err))
		if errors.Is(err, errNotAnswering) {
			p.killNow()
		} else {
			p.kill()
		}
		if p = c.restart(bo, upFor); p == nil {
			return
		}
		c.pid.Store(int64(p.pid))
	}
}

// restart starts the plugin again after the backoff delay, reporting
// unknown every interval while it is down. It returns nil on Stop.
func (c *Check) restart(bo *backoffState, upFor time.Duration) *process {
	tick := time.NewTicker(c.spec.Interval)
	defer tick.Stop()
	delay := bo.delay(upFor)
	for {
		timer := time.NewTimer(delay)
	wait:
		for {
			select {
			case <-c.ctx.Done():
				timer.Stop()
				return nil
			case <-tick.C:
				c.unknown(ReasonRestarting)
			case <-timer.C:
				break wait
			}
		}
		c.restarts.Add(1)
		p, err := c.m.start(c.ctx, c.spec.Plugin, sdk.KindCheck, c.spec.Config)
		if err == nil {
			c.log.Info().Int("pid", p.pid).Uint64("restarts", c.restarts.Load()).Msg("check plugin restarted")
			return p
		}
		if c.ctx.Err() != nil {
			return nil
		}
		delay = bo.delay(0)
		c.log.Warn().Err(err).Dur("retry_in", delay).Msg("check plugin restart failed")
		c.unknown(fmt.Sprintf("%s: %v", ReasonRestarting, err))
	}
}

type streamMsg struct {
	r         sdk.Result
	heartbeat bool
	err       error
}

// silenceLimit is how long a healthy plugin can stay quiet: the SDK sends a
// result (or heartbeat) every interval, and a poll call may take timeout.
func (c *Check) silenceLimit() time.Duration {
	return max(2*c.spec.Interval+c.spec.Timeout, time.Second)
}

// serve opens the plugin's Watch stream and forwards results until the
// stream fails, the plugin goes silent twice in a row, or Stop.
func (c *Check) serve(p *process) error {
	stream, err := p.check.Watch(c.ctx, c.spec.Interval, c.spec.Timeout)
	if err != nil {
		return err
	}
	msgs := make(chan streamMsg)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			r, hb, err := stream.Recv()
			select {
			case msgs <- streamMsg{r, hb, err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	defer func() {
		close(stop)
		stream.Close()
		wg.Wait()
	}()

	silence := c.silenceLimit()
	watchdog := time.NewTimer(silence)
	defer watchdog.Stop()
	missed := 0
	for {
		select {
		case <-c.ctx.Done():
			return ErrClosed
		case m := <-msgs:
			if errors.Is(m.err, io.EOF) {
				return errors.New("result stream ended")
			}
			if m.err != nil {
				return m.err
			}
			watchdog.Reset(silence)
			missed = 0
			if m.heartbeat {
				continue
			}
			c.firstMu.Do(func() {
				c.firstR = m.r
				close(c.first)
			})
			c.deliver(m.r)
		case <-watchdog.C:
			missed++
			c.timeouts.Add(1)
			c.unknown(ReasonNotAnswering)
			if missed >= 2 {
				return errNotAnswering
			}
			watchdog.Reset(silence)
		}
	}
}
