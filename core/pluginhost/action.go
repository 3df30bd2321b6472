package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hawatch/hawatch/sdk"
	"github.com/rs/zerolog"
)

// hungAfter is how many Notify calls in a row may hit their deadline before
// the plugin is treated as stuck and restarted.
const hungAfter = 3

// Action is one supervised action plugin. Notify only enqueues: a single
// worker delivers transitions in order, each call bounded by the action's
// timeout. The queue is bounded; when full, the oldest waiting transition
// is dropped (counted in Dropped), because the newest state is the one an
// operator or a notification target needs.
type Action struct {
	m    *Manager
	spec ActionSpec
	log  zerolog.Logger

	mu    sync.Mutex
	queue []sdk.Transition
	size  int
	wake  chan struct{} // capacity 1: "the queue is not empty"

	sent     atomic.Uint64
	failed   atomic.Uint64
	dropped  atomic.Uint64
	restarts atomic.Uint64

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

// ActionStats are an action's counters.
type ActionStats struct {
	Sent, Failed, Dropped, Restarts uint64
	Queued                          int
}

// StartAction starts the action's plugin, configures it, and runs its
// delivery worker until Stop. ctx bounds the first start only.
func (m *Manager) StartAction(ctx context.Context, spec ActionSpec) (*Action, error) {
	if spec.Timeout <= 0 {
		return nil, fmt.Errorf("action %s: timeout %v must be positive", spec.Name, spec.Timeout)
	}
	p, err := m.start(ctx, spec.Plugin, sdk.KindAction, spec.Config)
	if err != nil {
		return nil, fmt.Errorf("action %s: %w", spec.Name, err)
	}
	size := spec.QueueSize
	if size <= 0 {
		size = m.opts.ActionQueue
	}
	a := &Action{
		m:    m,
		spec: spec,
		log:  m.log.With().Str("action", spec.Name).Str("plugin", spec.Plugin.Name).Logger(),
		size: size,
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	if err := m.register(a); err != nil {
		p.kill()
		return nil, fmt.Errorf("action %s: %w", spec.Name, err)
	}
	go a.run(p)
	return a, nil
}

// Name is the action's name.
func (a *Action) Name() string { return a.spec.Name }

// Notify enqueues t and returns at once; it never blocks the caller.
func (a *Action) Notify(t sdk.Transition) {
	if t.At.IsZero() {
		t.At = time.Now()
	}
	a.mu.Lock()
	if len(a.queue) >= a.size {
		a.queue = a.queue[1:]
		a.dropped.Add(1)
	}
	a.queue = append(a.queue, t)
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// Stats returns the action's counters.
func (a *Action) Stats() ActionStats {
	a.mu.Lock()
	queued := len(a.queue)
	a.mu.Unlock()
	return ActionStats{
		Sent:     a.sent.Load(),
		Failed:   a.failed.Load(),
		Dropped:  a.dropped.Load(),
		Restarts: a.restarts.Load(),
		Queued:   queued,
	}
}

// Stop ends the worker (transitions still queued are discarded) and stops
// the plugin. Safe to call more than once.
func (a *Action) Stop() {
	a.cancel()
	<-a.done
}

func (a *Action) pop() (sdk.Transition, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.queue) == 0 {
		return sdk.Transition{}, false
	}
	t := a.queue[0]
	a.queue = a.queue[1:]
	return t, true
}

// run is the delivery worker; it owns the plugin process.
func (a *Action) run(p *process) {
	defer close(a.done)
	defer a.m.unregister(a)
	defer func() {
		if p != nil {
			p.kill()
		}
	}()

	bo := newBackoffState(a.m.opts.Backoff)
	var upFor time.Duration
	timeouts := 0
	for {
		t, ok := a.pop()
		if !ok {
			select {
			case <-a.ctx.Done():
				return
			case <-a.wake:
				continue
			}
		}
		if p == nil || p.exited() {
			if p != nil {
				upFor = time.Since(p.started)
				p.kill()
			}
			if p = a.restart(bo, upFor); p == nil {
				return
			}
			timeouts = 0
		}
		err := a.call(p, t)
		switch {
		case err == nil:
			a.sent.Add(1)
			timeouts = 0
			continue
		case a.ctx.Err() != nil:
			return
		}
		a.failed.Add(1)
		a.log.Warn().Err(err).Str("instance", t.Instance).Str("to", t.To).Msg("action failed")
		if errors.Is(err, context.DeadlineExceeded) {
			timeouts++
		}
		if errors.Is(err, sdk.ErrPluginShutdown) || timeouts >= hungAfter {
			upFor = time.Since(p.started)
			p.killNow()
			p = nil
		}
	}
}

func (a *Action) call(p *process, t sdk.Transition) error {
	ctx, cancel := context.WithTimeout(a.ctx, a.spec.Timeout)
	defer cancel()
	return p.action.Notify(ctx, t)
}

// restart starts the plugin after the backoff delay, retrying until it
// succeeds or Stop; transitions keep queueing meanwhile.
func (a *Action) restart(bo *backoffState, upFor time.Duration) *process {
	delay := bo.delay(upFor)
	for {
		timer := time.NewTimer(delay)
		select {
		case <-a.ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
		a.restarts.Add(1)
		p, err := a.m.start(a.ctx, a.spec.Plugin, sdk.KindAction, a.spec.Config)
		if err == nil {
			a.log.Info().Int("pid", p.pid).Msg("action plugin restarted")
			return p
		}
		if a.ctx.Err() != nil {
			return nil
		}
		delay = bo.delay(0)
		a.log.Warn().Err(err).Dur("retry_in", delay).Msg("action plugin restart failed")
	}
}
