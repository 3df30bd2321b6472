package route

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Errors; test with errors.Is.
var (
	// ErrClosed is returned by operations on a closed Manager.
	ErrClosed = errors.New("route: manager closed")
	// ErrUnsupported is returned by NewManager on systems other than Linux.
	ErrUnsupported = errors.New("route: route management needs Linux")
	// ErrSubscription is returned by the watch when the kernel
	// subscription ends (an overflow); Run resubscribes and reconciles.
	ErrSubscription = errors.New("route: subscription ended")
)

// errExists and errMissing are how a backend reports the two outcomes that
// idempotent operations treat as success.
var (
	errExists  = errors.New("already present")
	errMissing = errors.New("not present")
)

// backend is what the Manager needs from the kernel.
type backend interface {
	addRoute(Route) error // errExists when it is there
	delRoute(Route) error // errMissing when it is not
	addRule(Rule) error   // errExists when it is there
	delRule(Rule) error   // errMissing when it is not
	// watch subscribes to the changes that can take a route or rule away
	// or let a failed one in (routes and rules deleted, links and
	// addresses added), calls ready once the subscription is live, then
	// changed for each such change until ctx ends (returns ctx.Err()) or
	// the subscription breaks (an error wrapping ErrSubscription).
	watch(ctx context.Context, ready, changed func()) error
	close() error
}

// Options tunes a Manager; the zero value is fine.
type Options struct {
	// NetNS is the path of the network namespace to work in; empty: the
	// caller's.
	NetNS string
	// Retry is how long after a failed add the Manager tries again when
	// no kernel event prompts it first (default 1s).
	Retry time.Duration
}

// Stats are the Manager's counters.
type Stats struct {
	ReAdded uint64 // held routes and rules someone deleted, put back
	Errors  uint64 // kernel operations that failed
}

type owner struct {
	routes  []Route
	rules   []Rule
	holding bool
	failing bool     // the last add of something held failed: retry
	missing []string // what failed to go in on the last pass
}

// Manager installs the routes and rules its owners hold and keeps them
// there. Its methods are safe for concurrent use; Run runs in the caller's
// goroutine, and every goroutine it starts ends before it returns.
type Manager struct {
	log   zerolog.Logger
	noisy zerolog.Logger
	be    backend
	retry time.Duration

	mu      sync.Mutex
	owners  map[string]*owner
	closed  bool
	running bool
	kick    chan struct{}

	life   context.Context // ends at Close, which then waits for Run
	cancel context.CancelFunc
	runs   sync.WaitGroup

	reAdded, errs atomic.Uint64
}

func newManager(log zerolog.Logger, be backend, opts Options) *Manager {
	if opts.Retry <= 0 {
		opts.Retry = time.Second
	}
	life, cancel := context.WithCancel(context.Background())
	return &Manager{
		life:   life,
		cancel: cancel,
		log:    log,
		noisy:  log.Sample(&zerolog.BurstSampler{Burst: 10, Period: 10 * time.Second}),
		be:     be,
		retry:  opts.Retry,
		owners: map[string]*owner{},
		kick:   make(chan struct{}, 1),
	}
}

// Acquire installs routes then rules for owner and remembers them as held,
// so Run puts them back when they go. It is idempotent: what is already
// there counts as installed. A different set replaces the old one (what was
// dropped is deleted unless another owner holds it). What fails to install
// is reported (all failures joined), still counts as held, and is tried
// again by Run.
func (m *Manager) Acquire(ctx context.Context, name string, routes []Route, rules []Rule) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, r := range routes {
		if err := r.Validate(); err != nil {
			return err
		}
	}
	for _, r := range rules {
		if err := r.Validate(); err != nil {
			return err
		}
	}
	routes, rules = dedup(routes), dedup(rules)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	o := m.owners[name]
	if o == nil {
		o = &owner{}
		m.owners[name] = o
	}
	prevRoutes, prevRules, was := o.routes, o.rules, o.holding
	o.routes, o.rules, o.holding = routes, rules, true
	var errs []error
	if was {
		errs = append(errs, m.drop(diff(prevRoutes, routes), diff(prevRules, rules))...)
	}
	failed := m.install(name, o, false)
	if failed != nil {
		m.poke()
	}
	if !was || !slices.Equal(prevRoutes, routes) || !slices.Equal(prevRules, rules) {
		m.log.Info().Str("owner", name).Int("routes", len(routes)).Int("rules", len(rules)).Msg("routes and rules acquired")
	}
	return errors.Join(append(errs, failed...)...)
}

// Release deletes owner's rules then routes (those no other owner holds).
// Releasing what is not held is a success.
func (m *Manager) Release(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	o := m.owners[name]
	if o == nil || !o.holding {
		return nil
	}
	routes, rules := o.routes, o.rules
	delete(m.owners, name)
	errs := m.drop(routes, rules)
	m.log.Info().Str("owner", name).Int("routes", len(routes)).Int("rules", len(rules)).Msg("routes and rules released")
	return errors.Join(errs...)
}

// RemoveStale deletes those of routes and rules that no owner holds: the
// start-up clean-up of what a crash left behind. What is not there is
// fine.
func (m *Manager) RemoveStale(ctx context.Context, routes []Route, rules []Rule) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	return errors.Join(m.drop(routes, rules)...)
}

// Held returns what owner holds.
func (m *Manager) Held(name string) ([]Route, []Rule) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if o := m.owners[name]; o != nil && o.holding {
		return slices.Clone(o.routes), slices.Clone(o.rules)
	}
	return nil, nil
}

// Stats returns a snapshot of the counters.
func (m *Manager) Stats() Stats {
	return Stats{ReAdded: m.reAdded.Load(), Errors: m.errs.Load()}
}

// Run keeps the kernel in line with what the owners hold until ctx ends or
// Close: each time the subscription (re)starts, and after each change the
// kernel reports that may have taken something away, every held route and
// rule is added again (what is there stays: the add finds it). Changes
// that come in a burst are coalesced into one pass. Something that fails
// to go in is tried again after Options.Retry. Only one Run may be active.
func (m *Manager) Run(ctx context.Context) error {
	m.mu.Lock()
	switch {
	case m.closed:
		m.mu.Unlock()
		return ErrClosed
	case m.running:
		m.mu.Unlock()
		return errors.New("route: Run already active")
	}
	m.running = true
	m.runs.Add(1)
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.running = false
		m.mu.Unlock()
		m.runs.Done()
	}()
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(m.life, cancel)
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { m.watch(ctx) })

	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-m.kick:
		case <-retry.C:
		}
		if m.reconcile() {
			retry.Reset(m.retry)
		}
	}
}

// watch runs the backend's subscription, resubscribing when it breaks.
func (m *Manager) watch(ctx context.Context) {
	backoff := time.Duration(0)
	for {
		live := false
		err := m.be.watch(ctx, func() { live = true; m.poke() }, m.poke)
		if ctx.Err() != nil {
			return
		}
		if live {
			backoff = 0
		} else {
			backoff = min(max(2*backoff, 50*time.Millisecond), 5*time.Second)
		}
		m.noisy.Warn().Err(err).Dur("retry_in", backoff).Msg("route watch ended; resubscribing")
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// Close stops Run and releases the kernel resources. It deletes nothing:
// Release first what must go.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.cancel()
	m.mu.Unlock()
	m.runs.Wait()
	return m.be.close()
}

func (m *Manager) poke() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// reconcile adds every held route and rule again; true when something
// failed (retry later).
func (m *Manager) reconcile() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false
	}
	failed := false
	for name, o := range m.owners {
		if o.holding && m.install(name, o, true) != nil {
			failed = true
		}
	}
	return failed
}

// install adds owner's routes, then its rules (a rule may point at a table
// the routes fill). readd: a pass of the reconciler, where an add that
// succeeds means it was missing. Called with m.mu held.
func (m *Manager) install(name string, o *owner, readd bool) []error {
	var errs []error
	put := func(what string, err error) {
		switch {
		case errors.Is(err, errExists):
		case err != nil:
			m.errs.Add(1)
			errs = append(errs, fmt.Errorf("owner %s: add %s: %w", name, what, err))
		case readd && !o.failing:
			m.reAdded.Add(1)
			m.noisy.Warn().Str("owner", name).Str("what", what).Msg("deleted by someone else; added it back")
		case readd:
			m.log.Info().Str("owner", name).Str("what", what).Msg("installed on retry")
		}
	}
	// keepalived's no_track: what was installed and then deleted stays
	// gone until the next Acquire; what never went in is still retried.
	skip := func(noTrack bool, what string) bool {
		return readd && noTrack && !slices.Contains(o.missing, what)
	}
	var missing []string
	for _, r := range o.routes {
		what := "route " + r.String()
		if skip(r.NoTrack, what) {
			continue
		}
		err := m.be.addRoute(r)
		if err != nil && !errors.Is(err, errExists) {
			missing = append(missing, what)
		}
		put(what, err)
	}
	for _, r := range o.rules {
		what := "rule " + r.String()
		if skip(r.NoTrack, what) {
			continue
		}
		err := m.be.addRule(r)
		if err != nil && !errors.Is(err, errExists) {
			missing = append(missing, what)
		}
		put(what, err)
	}
	o.missing = missing
	if len(errs) > 0 && readd {
		m.noisy.Error().Err(errors.Join(errs...)).Msg("cannot install held routes or rules; will retry")
	}
	o.failing = len(errs) > 0
	return errs
}

// drop deletes rules then routes that no owner holds now. Called with m.mu
// held.
func (m *Manager) drop(routes []Route, rules []Rule) []error {
	var errs []error
	for _, r := range rules {
		if m.holdsRule(r) {
			continue
		}
		if err := m.be.delRule(r); err != nil && !errors.Is(err, errMissing) {
			m.errs.Add(1)
			errs = append(errs, fmt.Errorf("delete rule %s: %w", r, err))
		}
	}
	for _, r := range routes {
		if m.holdsRoute(r) {
			continue
		}
		if err := m.be.delRoute(r); err != nil && !errors.Is(err, errMissing) {
			m.errs.Add(1)
			errs = append(errs, fmt.Errorf("delete route %s: %w", r, err))
		}
	}
	return errs
}

func (m *Manager) holdsRoute(r Route) bool {
	for _, o := range m.owners {
		if o.holding && slices.Contains(o.routes, r) {
			return true
		}
	}
	return false
}

func (m *Manager) holdsRule(r Rule) bool {
	for _, o := range m.owners {
		if o.holding && slices.Contains(o.rules, r) {
			return true
		}
	}
	return false
}

// dedup drops repeats, keeping the first of each in order.
func dedup[T comparable](in []T) []T {
	var out []T
	for _, v := range in {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// diff is what of a is not in b.
func diff[T comparable](a, b []T) []T {
	var out []T
	for _, v := range a {
		if !slices.Contains(b, v) {
			out = append(out, v)
		}
	}
	return out
}
