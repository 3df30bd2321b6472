// Package engine runs a hawatch node's I/O: it builds one vrouter.Router per
// configured instance and carries out what the routers decide. It owns the
// VRRP sockets (a reader goroutine each), one timer, the check feeds, a
// VIP worker per interface that does netlink off the loop, and a link
// watcher that follows the interfaces (link.go); it keeps no copy
// of any router's state and takes no per-instance decision (those live in
// core/vrouter, tested with golden scripts).
//
// All routers are stepped by one goroutine (Run). Sockets, plugins, VIP
// workers and the control API talk to it over channels, so nothing outside
// can stall or race the state machines, and every goroutine the engine
// starts is joined before Run returns.
package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/hawatch/hawatch/core/config"
	"github.com/hawatch/hawatch/core/pluginhost"
	"github.com/hawatch/hawatch/core/vip"
	"github.com/hawatch/hawatch/core/vrouter"
	"github.com/hawatch/hawatch/core/vrrp"
	"github.com/hawatch/hawatch/core/vrrp/transport"
	"github.com/hawatch/hawatch/sdk"
)

// CheckFeed delivers the results of one configured check.
type CheckFeed interface {
	Results() <-chan sdk.Result
}

// WitnessFeed is one configured witness: Want never blocks and is called on
// every change of a claim and again every sdk.WantRenewEvery from the loop
// (the host's heartbeat: a hung loop lets its rights lapse); Grants delivers
// the witness's answers.
type WitnessFeed interface {
	Want(instance string, want bool)
	Grants() <-chan pluginhost.Grant
}

// Notifier receives transitions for one configured action; Notify must not
// block (the plugin host queues).
type Notifier interface {
	Notify(t sdk.Transition)
}

// Options carries what the engine cannot build itself.
type Options struct {
	Checks    map[string]CheckFeed   // by check name
	Actions   map[string]Notifier    // by action name
	Witnesses map[string]WitnessFeed // by witness name
	// VIPTimeout bounds one netlink address operation.
	VIPTimeout time.Duration
	// StateDir, if set, persists operator demote intents across restarts.
	StateDir string
	// Listen opens a VRRP socket; default transport.Listen.
	Listen func(transport.Options) (Conn, error)
	// NewVIPManager opens an interface's VIP manager; default vip.NewManager.
	NewVIPManager func(log zerolog.Logger, ifname string) (VIPManager, error)
	// NewRouteManager opens the node's route manager, on first use by an
	// instance with routes or rules or by the static block; default
	// route.NewManager.
	NewRouteManager func(log zerolog.Logger) (RouteManager, error)
	// NewFence opens the node's fence (accept = false). Default: the
	// nftables fence when Listen is the default too; nil: no fence, and an
	// instance with accept = false fails to start.
	NewFence func(log zerolog.Logger) (Fence, error)
	// Links follows the instances' interfaces (see LinkWatcher). Default:
	// the kernel's links, in the engine's namespace, when Listen is the
	// default too; with another Listen the sockets are not the kernel's,
	// and nil means interfaces are taken as always there.
	Links LinkWatcher
	// VMACs creates the instances' virtual MAC macvlans (vmac blocks).
	// Default: vip.NewVMACs, opened on first use, when Listen is the
	// default; with another Listen, nil means the macvlans are taken as
	// there.
	VMACs VMACOwner
}

// Errors of the control calls.
var (
	// ErrUnknownInstance: the named instance is not configured.
	ErrUnknownInstance = errors.New("no such instance")
	// ErrStopped: the engine is not running (not yet, or any more).
	ErrStopped = errors.New("engine not running")
)

// Engine runs every instance of one node.
type Engine struct {
	log  zerolog.Logger
	cfg  *config.Config
	opts Options
	// realKernel: the sockets are the kernel's (Listen is the default).
	realKernel bool

	bindings []*binding // in config order
	byName   map[string]*binding
	sockets  map[socketKey]*socket
	workers  map[string]*vipWorker // by interface
	fence    Fence                 // nil: no instance can fence
	links    map[string]*ifaceLink // by interface, while links are followed
	// routeWorker installs routes and rules; nil until one is needed.
	routeWorker *routeWorker

	rx      chan rxPacket
	results chan checkResult
	grants  chan witnessGrant
	vipDone chan vipDone
	linkCh  chan LinkState
	ctl     chan func(now time.Time)
	stopped chan struct{} // closed when Run's loop has ended
	// poll is the loop's wait on the kernel's sockets (poll_linux.go);
	// nil when sockets are read by goroutines (fakes in tests).
	poll *poller
	// clock is the latest time any router was stepped with.
	clock time.Time
	// timers orders the routers by deadline (deadlines.go); dueScratch
	// is tick's reused list of routers due.
	timers     deadlines
	dueScratch []*binding
	// groupOf lists the members of each instance's sync group, by name.
	groupOf map[string][]string
	loop    loopStats
	// renewAt is the next heartbeat to the witnesses (zero: no instance
	// has one).
	renewAt time.Time
	events  *eventHub
	limiter *rateLimiter

	runCtx     context.Context
	forwarders map[string]context.CancelFunc
	lastResult map[string]sdk.Result
	wg         sync.WaitGroup // socket readers and check forwarders

	saveMu sync.Mutex // serialises writes of the demote state file

	files      fileTracking  // track files (trackfile.go)
	startDelay time.Duration // for the instances started with Run; 0 after
}

type checkResult struct {
	check  string
	result sdk.Result
}

type witnessGrant struct {
	witness string
	grant   pluginhost.Grant
}

// New prepares (but does not open) the engine for a validated config.
func New(log zerolog.Logger, cfg *config.Config, opts Options) (*Engine, error) {
	if opts.VIPTimeout == 0 {
		opts.VIPTimeout = 2 * time.Second
	}
	realKernel := opts.Listen == nil
	if opts.Listen == nil {
		if opts.NewFence == nil {
			opts.NewFence = defaultNewFence
		}
		if opts.Links == nil {
			opts.Links = defaultLinks(log)
		}
		opts.Listen = defaultListen
	}
	if opts.NewVIPManager == nil {
		opts.NewVIPManager = defaultNewVIPManager
	}
	if opts.NewRouteManager == nil {
		opts.NewRouteManager = defaultNewRouteManager
	}
	e := &Engine{
		log:        log,
		cfg:        cfg,
		opts:       opts,
		realKernel: realKernel,
		byName:     map[string]*binding{},
		sockets:    map[socketKey]*socket{},
		workers:    map[string]*vipWorker{},
		links:      map[string]*ifaceLink{},
		rx:         make(chan rxPacket, 256),
		results:    make(chan checkResult, 64),
		grants:     make(chan witnessGrant, 64),
		vipDone:    make(chan vipDone, 64),
		linkCh:     make(chan LinkState, 16),
		ctl:        make(chan func(time.Time), 16),
		stopped:    make(chan struct{}),
		events:     newEventHub(),
		limiter:    newRateLimiter(time.Second),
		forwarders: map[string]context.CancelFunc{},
		lastResult: map[string]sdk.Result{},
		groupOf:    map[string][]string{},
	}
	for _, g := range cfg.SyncGroups {
		for _, name := range g.Instances {
			e.groupOf[name] = g.Instances
		}
	}
	for _, ic := range cfg.Instances {
		if err := checkTracks(ic, cfg.Checks); err != nil {
			return nil, err
		}
		b := &binding{cfg: ic}
		if ic.Witness != "" {
			if b.witness = opts.Witnesses[ic.Witness]; b.witness == nil {
				return nil, fmt.Errorf("instance %s: witness %q is not running", ic.Name, ic.Witness)
			}
		}
		e.bindings = append(e.bindings, b)
		e.byName[ic.Name] = b
	}
	return e, nil
}

// Run opens sockets and VIP workers, starts every instance and serves until
// ctx is done; then every instance shuts down (priority 0 advert if master,
// VIPs released) before Run returns, with every goroutine it started joined.
func (e *Engine) Run(ctx context.Context) error {
	defer close(e.stopped)
	runCtx, cancel := context.WithCancel(context.Background())
	e.runCtx = runCtx
	if e.realKernel {
		p, err := newPoller()
		if err != nil {
			cancel()
			return err
		}
		e.poll = p
		defer p.close() // after closeAll has joined everything that notifies
	}
	defer e.closeAll(cancel)
	up, err := bootUptime()
	if err != nil {
		up = 0
	}
	e.startDelay = startupDelay(e.cfg.Node, up)
	if err := e.open(runCtx); err != nil {
		return err
	}
	e.timers.rebuild(e.bindings)
	e.swapFeeds(e.opts.Checks)
	e.watchLinks(runCtx)
	for name, w := range e.opts.Witnesses {
		e.wg.Go(func() {
			relay(runCtx, w.Grants(), e.grants, e.notify, func(g pluginhost.Grant) witnessGrant { return witnessGrant{witness: name, grant: g} })
		})
	}

	now := time.Now()
	e.startFiles(now)
	if e.startDelay > 0 {
		e.log.Info().Dur("delay", e.startDelay).Msg("startup delay: instances stay in INIT until it has passed")
	}
	demoted := e.restoreDemotes()
	for _, b := range e.bindings {
		if demoted[b.cfg.Name] {
			e.step(now, b, vrouter.Maintenance{On: true, Detail: "operator demote (restored)"})
		}
		e.step(now, b, vrouter.Start{})
		if b.witness != nil {
			e.renewAt = now.Add(sdk.WantRenewEvery)
		}
	}
	e.startDelay = 0 // instances a reload adds start at once, as keepalived's do

	if e.poll != nil {
		return e.loopPolled(ctx)
	}
	e.loopChannels(ctx)
	return nil
}

// loopChannels is the loop over sockets read by goroutines (fakes in
// tests): every input arrives on a channel.
func (e *Engine) loopChannels(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		e.resetTimer(timer)
		select {
		case <-ctx.Done():
			e.shutdown(time.Now())
			return
		case p := <-e.rx:
			e.receive(time.Now(), p)
		case r := <-e.results:
			e.observe(e.at(time.Now()), r)
		case g := <-e.grants:
			e.witnessed(e.at(time.Now()), g)
		case d := <-e.vipDone:
			e.vipApplied(e.at(time.Now()), d)
		case st := <-e.linkCh:
			e.linkChanged(e.at(time.Now()), st)
		case f := <-e.ctl:
			f(e.at(time.Now()))
		case <-timer.C:
		}
		// Adverts that arrived before a timer expired must be seen before
		// it fires: select picks at random among ready cases, so after a
		// scheduling stall a backup could otherwise take over from a
		// master whose adverts are already queued.
		for n := len(e.rx); n > 0; n-- {
			e.receive(time.Now(), <-e.rx)
		}
		e.tick(e.at(time.Now()))
	}
}

// at records now as the latest time any router was stepped with and
// returns it: a packet read later but received earlier is stepped at this
// time, not its own, so no router's clock goes backwards.
func (e *Engine) at(now time.Time) time.Time {
	e.clock = now
	return now
}

// apply carries out one Ready: adverts first (they are what the timing is
// about), then VIP intents (queued to the interface's worker), then
// notifications, events and logs.
func (e *Engine) apply(now time.Time, rd vrouter.Ready) {
	for _, o := range rd.Adverts {
		if b := e.byName[o.Instance]; b != nil {
			b.send(e, o)
		}
	}
	for _, v := range rd.VIPs {
		if b := e.byName[v.Instance]; b != nil {
			b.want(e, v)
		}
	}
	for _, c := range rd.Claims {
		if b := e.byName[c.Instance]; b != nil && b.witness != nil {
			b.witness.Want(c.Instance, c.Want)
		}
	}
	for _, t := range rd.Transitions {
		e.transition(t)
	}
	for _, c := range rd.Checks {
		e.events.publish(Event{Type: "check", At: now, Instance: c.Instance, Check: c.Check,
			Status: c.Status.String(), Up: c.Up, Reason: c.Reason})
		e.log.Info().Str("instance", c.Instance).Str("check", c.Check).Bool("up", c.Up).Str("reason", c.Reason).Msg("check changed")
	}
	for _, d := range rd.Drops {
		if d.Err != nil {
			if e.limiter.allow("drop:" + d.Instance + ":" + d.Reason) {
				e.log.Warn().Str("instance", d.Instance).Str("src", d.Src.String()).Str("reason", d.Reason).Err(d.Err).Msg("advert dropped")
			}
		} else if e.limiter.allow("warn:" + d.Instance + ":" + d.Warning.String()) {
			e.log.Warn().Str("instance", d.Instance).Str("src", d.Src.String()).Str("warning", d.Warning.String()).Msg("advert accepted with warnings")
		}
	}
	for _, n := range rd.Notes {
		e.log.Info().Str("instance", n.Instance).Msg(n.Message)
	}
}

func (e *Engine) transition(t vrouter.Transition) {
	ev := e.log.Info()
	if t.To == vrrp.StateFault {
		ev = e.log.Warn()
	}
	ev.Str("instance", t.Instance).Str("from", t.From.String()).Str("to", t.To.String()).
		Str("reason", t.Reason.String()).Str("detail", t.Detail).Int("priority", int(t.Priority)).Msg("state change")
	e.events.publish(Event{Type: "transition", At: t.At, Instance: t.Instance, Group: t.Group,
		From: t.From.String(), To: t.To.String(), Reason: t.Reason.String(), Detail: t.Detail, Priority: int(t.Priority)})
	tr := sdk.Transition{Instance: t.Instance, Group: t.Group, From: t.From.String(), To: t.To.String(),
		Priority: int(t.Priority), Reason: t.ReasonText(), At: t.At, FencingToken: t.FencingToken}
	for _, name := range t.Notify {
		if n := e.opts.Actions[name]; n != nil {
			n.Notify(tr)
		}
	}
}

// swapFeeds starts a forwarder for each feed, replacing (and stopping) any
// forwarder already running under the same check name.
func (e *Engine) swapFeeds(feeds map[string]CheckFeed) {
	for name, feed := range feeds {
		if stop := e.forwarders[name]; stop != nil {
			stop()
		}
		ctx, cancel := context.WithCancel(e.runCtx)
		e.forwarders[name] = cancel
		e.wg.Go(func() {
			relay(ctx, feed.Results(), e.results, e.notify, func(r sdk.Result) checkResult { return checkResult{check: name, result: r} })
		})
	}
}

// relay copies a feed into the loop, wrapped, and wakes it, until ctx ends
// or the feed closes; it never blocks the feed for long because the loop
// drains out continuously.
func relay[T, U any](ctx context.Context, in <-chan T, out chan<- U, wake func(), wrap func(T) U) {
	for {
		select {
		case <-ctx.Done():
			return
		case v, ok := <-in:
			if !ok {
				return
			}
			select {
			case out <- wrap(v):
				wake()
			case <-ctx.Done():
				return
			}
		}
	}
}

// witnessed hands a grant to the router of its instance, with the right's
// validity counted from when the plugin host received it.
func (e *Engine) witnessed(now time.Time, wg witnessGrant) {
	g := wg.grant
	b := e.byName[g.Instance]
	if b == nil || b.cfg.Witness != wg.witness {
		return
	}
	w := vrouter.Witnessed{Holder: g.Holder, Revision: g.Revision, Reason: g.Reason}
	switch g.State {
	case sdk.GrantHeld:
		w.State, w.ValidUntil = vrouter.GrantHeld, g.ReceivedAt.Add(g.ValidFor)
	case sdk.GrantOther:
		w.State = vrouter.GrantOther
	case sdk.GrantFree:
		w.State = vrouter.GrantFree
	case sdk.GrantUnreachable:
		w.State = vrouter.GrantUnreachable
	}
	e.step(now, b, w)
}

// do runs f inside the loop and waits for it.
func (e *Engine) do(ctx context.Context, f func(now time.Time)) error {
	select {
	case <-e.stopped:
		return ErrStopped
	default:
	}
	done := make(chan struct{})
	select {
	case e.ctl <- func(now time.Time) { f(now); close(done) }:
		e.notify()
	case <-e.stopped:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-e.stopped:
		// The loop ended with f queued, or right after running it.
		select {
		case <-done:
			return nil
		default:
			return ErrStopped
		}
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *Engine) resetTimer(t *time.Timer) {
	wait := time.Hour
	if next := e.nextDeadline(); !next.IsZero() {
		wait = max(time.Until(next), 0)
	}
	t.Reset(wait)
}

// nextDeadline is the earliest deadline of any router, the witness
// heartbeat and the link rechecks; zero: none.
func (e *Engine) nextDeadline() time.Time {
	next := e.timers.first()
	if !e.renewAt.IsZero() && (next.IsZero() || e.renewAt.Before(next)) {
		next = e.renewAt
	}
	if d := e.linkDeadline(); !d.IsZero() && (next.IsZero() || d.Before(next)) {
		next = d
	}
	return next
}

func (e *Engine) tick(now time.Time) {
	e.retryLinks(now)
	e.dueScratch = e.timers.due(now, e.dueScratch[:0])
	for _, b := range e.dueScratch {
		e.step(now, b, vrouter.Tick{})
	}
	if !e.renewAt.IsZero() && !now.Before(e.renewAt) {
		// The heartbeat comes from this loop, the one that would release
		// the VIPs: when it hangs, the witness lets the rights lapse.
		for _, b := range e.bindings {
			if b.witness != nil {
				b.witness.Want(b.cfg.Name, b.r.Claiming())
			}
		}
		e.renewAt = now.Add(sdk.WantRenewEvery)
	}
}

// receive steps the packet's router at the packet's arrival time (bounded
// by now and by the latest time any router was stepped with).
func (e *Engine) receive(now time.Time, p rxPacket) {
	at := p.at
	if at.IsZero() || at.After(now) {
		at = now
	}
	if at.Before(e.clock) {
		at = e.clock
	}
	now = e.at(at)
	s := p.sock
	if p.err != nil {
		reason := vrrp.DropReason(p.err)
		s.drops[reason]++
		if e.limiter.allow("rx:" + s.key.String() + ":" + reason) {
			e.log.Warn().Str("socket", s.key.String()).Str("src", p.src.String()).Str("reason", reason).Err(p.err).Msg("advert dropped")
		}
		return
	}
	b := s.byVRID[p.advert.VRID]
	if b == nil {
		s.drops["vrid"]++
		return
	}
	e.step(now, b, vrouter.Received{Advert: p.advert, TTL: p.ttl, Dst: p.dst})
}

func (e *Engine) observe(now time.Time, r checkResult) {
	if r.result.ObservedAt.IsZero() {
		r.result.ObservedAt = now
	}
	e.lastResult[r.check] = r.result
	o, err := observation(r.check, r.result)
	if err != nil && e.limiter.allow("heard:"+r.check) {
		e.log.Warn().Str("check", r.check).Err(err).Msg("check result carries malformed advert evidence; ignored")
	}
	for _, b := range e.bindings {
		if b.tracks(r.check) {
			e.step(now, b, o)
		}
	}
}

// observation turns a check's result into the router's input, with a
// guard's advert evidence (sdk.HeardOf); malformed evidence is left out
// and returned as the error.
func observation(check string, r sdk.Result) (vrouter.Observed, error) {
	st := vrouter.StatusUnknown
	switch r.Status {
	case sdk.StatusOK:
		st = vrouter.StatusOK
	case sdk.StatusFail:
		st = vrouter.StatusFail
	}
	o := vrouter.Observed{Check: check, Status: st, Reason: r.Reason, At: r.ObservedAt}
	h, ok, err := sdk.HeardOf(r)
	if ok && st == vrouter.StatusFail { // evidence of the other owner a failing guard sees
		o.Heard = &vrouter.Heard{From: h.From, Priority: h.Priority, At: r.ObservedAt.Add(-h.Age)}
	}
	return o, err
}

func (e *Engine) vipApplied(now time.Time, d vipDone) {
	if d.rebind != nil {
		e.linkRebound(now, *d.rebind)
		return
	}
	if b := e.byName[d.instance]; b != nil {
		if d.applied.Err != nil {
			b.vipErrors++
		}
		e.step(now, b, d.applied)
	}
}

// shutdown resigns every instance, then waits (bounded) for the VIP
// workers to release what they hold.
func (e *Engine) shutdown(now time.Time) {
	for _, b := range e.bindings {
		e.step(now, b, vrouter.Shutdown{})
	}
	e.releaseStatic()
	ctx, cancel := context.WithTimeout(context.Background(), e.opts.VIPTimeout+time.Second)
	defer cancel()
	drained := make(chan error, 1)
	go func() { drained <- e.drainWorkers(ctx) }()
	for {
		select {
		case err := <-drained:
			if err != nil {
				e.log.Error().Err(err).Msg("shutdown: virtual addresses not all released in time")
			}
			return
		case d := <-e.vipDone:
			e.vipApplied(time.Now(), d)
		}
	}
}

func (e *Engine) drainWorkers(ctx context.Context) error {
	var errs []error
	for _, w := range e.workers {
		if err := w.drain(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", w.ifname, err))
		}
	}
	if e.routeWorker != nil {
		if err := e.routeWorker.drain(ctx); err != nil {
			errs = append(errs, fmt.Errorf("routes: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Demote puts one instance (or all, with name "") into operator
// maintenance, or takes it out again. The intent is saved in the state
// directory (outside the loop) so it survives a restart.
func (e *Engine) Demote(ctx context.Context, name string, demote bool) error {
	e.saveMu.Lock()
	defer e.saveMu.Unlock()
	var demoted []string
	var err error
	if doErr := e.do(ctx, func(now time.Time) {
		if name != "" && e.byName[name] == nil {
			err = fmt.Errorf("%w %q", ErrUnknownInstance, name)
			return
		}
		for _, b := range e.bindings {
			if name == "" || b.cfg.Name == name {
				e.step(now, b, vrouter.Maintenance{On: demote})
			}
			if b.r.InMaintenance() {
				demoted = append(demoted, b.cfg.Name)
			}
		}
	}); doErr != nil {
		return doErr
	}
	if err != nil {
		return err
	}
	return e.saveDemotes(demoted)
}

// vipPolicy is the instance's announcement schedule.
func vipPolicy(ic *config.Instance) vip.Policy {
	return vip.Policy{Repeat: ic.GARP.Repeat, Interval: ic.GARP.Interval, Delay: ic.GARP.Delay, Refresh: ic.GARP.Refresh}
}
