package engine

import (
	"context"
	"errors"
	"sync"

	"github.com/rs/zerolog"
)

// intents is the half of a kernel worker (VIPs, routes) that the loop
// shares with it: each owner's wanted state under one mutex, a kick when
// one changed, and a channel closed after every pass of the worker, so
// that drain can wait for everything wanted to be applied. The loop only
// writes wishes and pokes; the kernel calls happen in the worker's pass.
type intents[O interface{ settled() bool }] struct {
	mu     sync.Mutex
	owners map[string]O
	kick   chan struct{}
	passed chan struct{} // closed and replaced after every pass

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// reconciler is the kernel manager a worker runs beside its passes: it
// puts back what someone else removed, until ctx ends.
type reconciler interface {
	Run(ctx context.Context) error
	Close() error
}

// start runs the manager's reconciler and the worker's passes until stop;
// a reconciler that ends with an error is logged as what stopped.
func (q *intents[O]) start(parent context.Context, mgr reconciler, pass func(context.Context) bool, log zerolog.Logger, what string) {
	ctx, cancel := context.WithCancel(parent)
	q.cancel = cancel
	q.wg.Go(func() {
		if err := mgr.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			log.Error().Err(err).Msg(what + " stopped")
		}
	})
	q.wg.Go(func() { q.run(ctx, pass) })
}

// stop ends both goroutines, waits for them and closes the manager. It
// releases nothing: drain first.
func (q *intents[O]) stop(mgr reconciler) error {
	if q.cancel != nil {
		q.cancel()
	}
	q.wg.Wait()
	return mgr.Close()
}

func newIntents[O interface{ settled() bool }]() intents[O] {
	return intents[O]{owners: map[string]O{}, kick: make(chan struct{}, 1), passed: make(chan struct{})}
}

// poke wakes the worker; a kick already pending covers this one.
func (q *intents[O]) poke() {
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

// drain waits until every owner's wanted state is applied, or ctx ends.
func (q *intents[O]) drain(ctx context.Context) error {
	for {
		q.mu.Lock()
		done := true
		for _, o := range q.owners {
			done = done && o.settled()
		}
		passed := q.passed
		q.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-passed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// run calls pass after every kick until it reports nothing left, then
// tells drain, until ctx ends.
func (q *intents[O]) run(ctx context.Context, pass func(context.Context) bool) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.kick:
		}
		for pass(ctx) {
		}
		q.mu.Lock()
		close(q.passed)
		q.passed = make(chan struct{})
		q.mu.Unlock()
	}
}
