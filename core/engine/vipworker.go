package engine

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/rs/zerolog"

	"github.com/hawatch/hawatch/core/vip"
	"github.com/hawatch/hawatch/core/vrouter"
)

// VIPManager is the slice of vip.Manager the engine uses: one per
// interface. Its calls may block on the kernel; only a vipWorker makes
// them, never the loop.
type VIPManager interface {
	Acquire(ctx context.Context, owner string, prefixes []netip.Prefix, label string) error
	// AcquireAddresses is Acquire with options (label, scope, broadcast)
	// per address.
	AcquireAddresses(ctx context.Context, owner string, addrs []vip.Address) error
	Release(ctx context.Context, owner string) error
	Announce(owner string, prefixes []netip.Prefix, p vip.Policy) error
	Quiet(owner string)
	Watch(owner string, prefixes []netip.Prefix) error
	Forget(ctx context.Context, owner string) error
	RemoveStale(ctx context.Context, prefixes []netip.Prefix) error
	// Rebind binds the manager to the interface now carrying its name
	// (after it was deleted and created again).
	Rebind(ctx context.Context) error
	Run(ctx context.Context) error
	Stats() vip.Stats
	Close() error
}

// vipSpec is what a worker needs to carry out one instance's intents.
type vipSpec struct {
	addrs  []vip.Address // on this worker's interface, with their options
	policy vip.Policy
	// lowerPrio is the schedule when a master hears a lower priority
	// (VIPIntent.LowerPrio).
	lowerPrio vip.Policy
	// addressOwner: the prefixes are the host's own addresses. They are
	// announced, never added, deleted or watched.
	addressOwner bool
	// fence drops traffic to the prefixes while held (accept = false);
	// nil: never fenced.
	fence Fence
}

// prefixes are the spec's addresses without their options.
func (s vipSpec) prefixes() []netip.Prefix {
	out := make([]netip.Prefix, len(s.addrs))
	for i, a := range s.addrs {
		out[i] = a.Prefix
	}
	return out
}

// vipOwner is one instance's wanted and applied state in a worker.
type vipOwner struct {
	spec vipSpec

	hold       bool   // wanted: the addresses on the interface
	announcing bool   // wanted: a schedule running
	generation uint64 // bumped by every AnnounceStart: each one is a fresh schedule
	forget     bool   // the instance is gone: release and drop it
	lowerPrio  bool   // the latest AnnounceStart answers a lower priority
	fence      bool   // wanted: traffic to the addresses dropped

	watched     bool
	held        bool
	announced   bool
	announcedAt uint64 // generation of the running schedule
	fenced      bool
}

func (o *vipOwner) settled() bool {
	return !o.forget && o.watched == !o.spec.addressOwner && o.held == o.hold &&
		o.announced == o.announcing && (!o.announcing || o.announcedAt == o.generation) && o.fenced == o.fence
}

// vipDone is a worker's report on one instance, fed back to its router,
// or (rebind set, instance empty) on a Rebind of its manager.
type vipDone struct {
	instance string
	applied  vrouter.VIPApplied
	rebind   *rebindDone
}

// rebindDone is the outcome of one Rebind the engine asked for.
type rebindDone struct {
	ifname string
	gen    uint64
	err    error
}

// vipWorker owns one interface's VIP manager and carries out the routers'
// VIP intents on its own goroutine, so a slow or stuck netlink call delays
// that interface's addresses and nothing else: never an advert. Intents are
// coalesced: the worker applies the latest wanted state of each instance.
type vipWorker struct {
	ifname  string
	log     zerolog.Logger
	mgr     VIPManager
	timeout time.Duration
	report  func(ctx context.Context, d vipDone)

	intents[*vipOwner]

	// rebindGen is the latest Rebind asked for, reboundGen the latest
	// carried out.
	rebindGen, reboundGen uint64
}

func newVIPWorker(log zerolog.Logger, ifname string, mgr VIPManager, timeout time.Duration, report func(context.Context, vipDone)) *vipWorker {
	return &vipWorker{
		ifname: ifname, log: log, mgr: mgr, timeout: timeout, report: report,
		intents: newIntents[*vipOwner](),
	}
}

// start runs the manager's reconciler and the worker until stop.
func (w *vipWorker) start(parent context.Context) {
	w.intents.start(parent, w.mgr, w.pass, w.log.With().Str("interface", w.ifname).Logger(), "VIP reconciler")
}

// stop ends both goroutines and closes the manager. It releases nothing:
// drain first.
func (w *vipWorker) stop() error { return w.intents.stop(w.mgr) }

// register makes an instance known (watched, unless it is the address
// owner) before its first intent. An instance restarted by a reload under
// the same name takes over what the manager still holds for it, so what
// the old one held is released by the new one's first intent, not lost.
func (w *vipWorker) register(instance string, spec vipSpec) {
	w.mu.Lock()
	n := &vipOwner{spec: spec}
	if old := w.owners[instance]; old != nil {
		n.held, n.announced, n.announcedAt, n.fenced = old.held, old.announced, old.announcedAt, old.fenced
		if old.fenced && old.spec.fence != nil && spec.fence == nil {
			// Restarted with accept: lift through the fence it had.
			n.spec.fence = old.spec.fence
		}
	}
	w.owners[instance] = n
	w.mu.Unlock()
	w.poke()
}

// want records an intent of instance's router. It never blocks on the
// kernel.
func (w *vipWorker) want(instance string, v vrouter.VIPIntent) {
	w.mu.Lock()
	o := w.owners[instance]
	if o == nil {
		w.mu.Unlock()
		return
	}
	switch v.Hold {
	case vrouter.HoldAcquire:
		o.hold = !o.spec.addressOwner
	case vrouter.HoldRelease:
		o.hold = false
	}
	switch v.Announce {
	case vrouter.AnnounceStart:
		o.announcing = true
		o.generation++
		o.lowerPrio = v.LowerPrio
	case vrouter.AnnounceStop:
		o.announcing = false
	}
	switch v.Fence {
	case vrouter.FenceDrop:
		o.fence = o.spec.fence != nil
	case vrouter.FenceLift:
		o.fence = false
	}
	w.mu.Unlock()
	w.poke()
}

// rebind has the worker re-bind its manager to the interface now carrying
// its name, ahead of any instance's intent; the outcome is reported with
// gen.
func (w *vipWorker) rebind(gen uint64) {
	w.mu.Lock()
	w.rebindGen = gen
	w.mu.Unlock()
	w.poke()
}

// forget releases instance's addresses and drops it (removed by a reload).
func (w *vipWorker) forget(instance string) {
	w.mu.Lock()
	if o := w.owners[instance]; o != nil {
		o.forget, o.hold, o.announcing, o.fence = true, false, false, false
	}
	w.mu.Unlock()
	w.poke()
}

// pass carries out a Rebind asked for, else applies the first unsettled
// instance it finds, and reports whether it did anything (then there may be
// more). A Rebind goes first: intents that follow it are meant for the new
// interface.
func (w *vipWorker) pass(ctx context.Context) bool {
	w.mu.Lock()
	if gen := w.rebindGen; gen != w.reboundGen && ctx.Err() == nil {
		w.reboundGen = gen
		w.mu.Unlock()
		rctx, cancel := context.WithTimeout(ctx, w.timeout)
		err := w.mgr.Rebind(rctx)
		cancel()
		if err != nil {
			w.log.Error().Str("interface", w.ifname).Err(err).Msg("re-bind VIP manager")
		}
		w.report(ctx, vipDone{rebind: &rebindDone{ifname: w.ifname, gen: gen, err: err}})
		return true
	}
	var name string
	var want vipOwner
	for n, o := range w.owners {
		if !o.settled() {
			name, want = n, *o
			break
		}
	}
	w.mu.Unlock()
	if name == "" || ctx.Err() != nil {
		return false
	}
	got, err := w.apply(ctx, name, want)
	w.mu.Lock()
	if o := w.owners[name]; o != nil {
		o.watched, o.held, o.announced, o.announcedAt, o.fenced = got.watched, got.held, got.announced, got.announcedAt, got.fenced
		if want.forget && o.forget {
			delete(w.owners, name)
		}
	}
	w.mu.Unlock()
	w.report(ctx, vipDone{instance: name, applied: vrouter.VIPApplied{Held: got.held, Err: err}})
	return true
}

// apply carries out one instance's wanted state with the kernel and returns
// what is applied now.
func (w *vipWorker) apply(ctx context.Context, name string, o vipOwner) (vipOwner, error) {
	var errs []error
	op := func(f func(context.Context) error) {
		octx, cancel := context.WithTimeout(ctx, w.timeout)
		defer cancel()
		if err := f(octx); err != nil {
			errs = append(errs, err)
		}
	}
	if o.forget {
		op(func(c context.Context) error { return w.mgr.Forget(c, name) })
		o.held, o.announced, o.watched = false, false, false
		if o.fenced {
			if err := o.spec.fence.Lift(name); err != nil {
				errs = append(errs, err)
			}
			o.fenced = false
		}
		return o, errors.Join(errs...)
	}
	if !o.watched && !o.spec.addressOwner {
		// Known VIPs: the reconciler removes them whenever this node does
		// not hold them (added by hand, left by a crash).
		if err := w.mgr.Watch(name, o.spec.prefixes()); err != nil {
			errs = append(errs, err)
		}
		o.watched = true
	}
	if o.fence && !o.fenced {
		// Before the addresses: no packet reaches them unfenced. A failed
		// write counts as fenced: the fence keeps the wish and its
		// reconciler retries.
		if err := o.spec.fence.Drop(name, fenceAddrs(o.spec.prefixes())); err != nil {
			errs = append(errs, err)
		}
		o.fenced = true
	}
	switch {
	case o.hold && !o.held:
		op(func(c context.Context) error { return w.mgr.AcquireAddresses(c, name, o.spec.addrs) })
		o.held = true // the manager counts a partly failed set as held and retries on re-list
	case !o.hold && o.held:
		op(func(c context.Context) error { return w.mgr.Release(c, name) })
		o.held, o.announced = false, false
	}
	if !o.fence && o.fenced {
		// After the addresses are gone (a backup has nothing to fence).
		if err := o.spec.fence.Lift(name); err != nil {
			errs = append(errs, err)
		}
		o.fenced = false
	}
	switch {
	case o.announcing && (!o.announced || o.announcedAt != o.generation):
		policy := o.spec.policy
		if o.lowerPrio && o.spec.lowerPrio.Repeat > 0 {
			policy = o.spec.lowerPrio
		}
		if err := w.mgr.Announce(name, o.spec.prefixes(), policy); err != nil {
			errs = append(errs, err)
		}
		o.announced, o.announcedAt = true, o.generation
	case !o.announcing && o.announced:
		w.mgr.Quiet(name)
		o.announced = false
	}
	err := errors.Join(errs...)
	if err != nil {
		w.log.Error().Str("instance", name).Str("interface", w.ifname).Err(err).Msg("virtual addresses")
	}
	return o, err
}
