package engine

import (
	"context"
	"fmt"
	"net/netip"
	"reflect"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/rs/zerolog"

	"github.com/hawatch/hawatch/core/config"
	"github.com/hawatch/hawatch/core/route"
	"github.com/hawatch/hawatch/core/vip"
	"github.com/hawatch/hawatch/core/vrouter"
)

// RouteManager is the slice of route.Manager the engine uses: one per node.
// Its calls may block on the kernel; only the routeWorker makes them.
type RouteManager interface {
	Acquire(ctx context.Context, owner string, routes []route.Route, rules []route.Rule) error
	Release(ctx context.Context, owner string) error
	RemoveStale(ctx context.Context, routes []route.Route, rules []route.Rule) error
	Run(ctx context.Context) error
	Close() error
}

func defaultNewRouteManager(log zerolog.Logger) (RouteManager, error) {
	return route.NewManager(log, route.Options{})
}

// staticOwner is the owner name of the static {} block's addresses, routes
// and rules; instance names cannot contain a space, so it never clashes.
const staticOwner = "node static"

// routeSet is one owner's routes and rules in the route package's terms.
type routeSet struct {
	routes []route.Route
	rules  []route.Rule
}

func (s routeSet) empty() bool { return len(s.routes) == 0 && len(s.rules) == 0 }

// routeOwner is one owner's wanted and applied state in the routeWorker.
type routeOwner struct {
	set          routeSet
	hold, forget bool
	held         bool
}

func (o *routeOwner) settled() bool { return !o.forget && o.held == o.hold }

// routeWorker carries out the routers' route intents on its own goroutine,
// as a vipWorker does for addresses: the latest wanted state of each owner
// is applied, a slow netlink call delays routes and nothing else.
type routeWorker struct {
	log     zerolog.Logger
	mgr     RouteManager
	timeout time.Duration

	intents[*routeOwner]
}

func newRouteWorker(log zerolog.Logger, mgr RouteManager, timeout time.Duration) *routeWorker {
	return &routeWorker{log: log, mgr: mgr, timeout: timeout, intents: newIntents[*routeOwner]()}
}

func (w *routeWorker) start(parent context.Context) {
	w.intents.start(parent, w.mgr, w.pass, w.log, "route reconciler")
}

func (w *routeWorker) stop() error { return w.intents.stop(w.mgr) }

// register makes an owner known; a re-registered one (an instance
// restarted by a reload) keeps what the manager holds for it until its
// first intent.
func (w *routeWorker) register(owner string, set routeSet) {
	w.mu.Lock()
	n := &routeOwner{set: set}
	if old := w.owners[owner]; old != nil {
		n.held = old.held
	}
	w.owners[owner] = n
	w.mu.Unlock()
	w.poke()
}

// want records whether owner's routes should be installed; it never
// blocks on the kernel.
func (w *routeWorker) want(owner string, hold bool) {
	w.mu.Lock()
	if o := w.owners[owner]; o != nil {
		o.hold = hold
	}
	w.mu.Unlock()
	w.poke()
}

func (w *routeWorker) forget(owner string) {
	w.mu.Lock()
	if o := w.owners[owner]; o != nil {
		o.forget, o.hold = true, false
	}
	w.mu.Unlock()
	w.poke()
}

// pass applies the first unsettled owner; false when there was none.
func (w *routeWorker) pass(ctx context.Context) bool {
	w.mu.Lock()
	var name string
	var want routeOwner
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
	octx, cancel := context.WithTimeout(ctx, w.timeout)
	var err error
	if want.hold {
		// What fails is held anyway: the manager retries it.
		err = w.mgr.Acquire(octx, name, want.set.routes, want.set.rules)
	} else {
		err = w.mgr.Release(octx, name)
	}
	cancel()
	if err != nil {
		w.log.Error().Str("owner", name).Err(err).Msg("routes and rules")
	}
	w.mu.Lock()
	if o := w.owners[name]; o != nil {
		o.held = want.hold
		if want.forget && o.forget {
			delete(w.owners, name)
		}
	}
	w.mu.Unlock()
	return true
}

// routeSetOf converts configured routes and rules. The config loader has
// validated every field; what still fails here is a hand-built config.
func routeSetOf(routes []*config.Route, rules []*config.Rule) (routeSet, error) {
	var s routeSet
	for _, r := range routes {
		t, err := route.ParseType(r.Type)
		if err != nil && r.Type != "" {
			return s, err
		}
		var nh [route.MaxNexthops]netip.Addr
		if len(r.Nexthops) > len(nh) {
			return s, fmt.Errorf("route to %s: %d nexthops, at most %d", r.To, len(r.Nexthops), len(nh))
		}
		copy(nh[:], r.Nexthops)
		s.routes = append(s.routes, route.Route{
			Dst: r.To, Via: r.Via, Nexthops: nh, Src: r.Src, Dev: r.Dev, Metric: r.Metric, Table: r.Table,
			Scope: routeScope(r.Scope), Type: t, Protocol: uint8(r.Protocol), OnLink: r.OnLink, NoTrack: r.NoTrack,
		})
	}
	for _, r := range rules {
		s.rules = append(s.rules, route.Rule{
			Family: r.Family, From: r.From, To: r.To, Table: r.Table, Priority: r.Priority,
			IIF: r.IIF, OIF: r.OIF, Mark: r.FWMark, Mask: r.FWMask, HasMark: r.HasMark, NoTrack: r.NoTrack,
		})
	}
	for _, r := range s.routes {
		if err := r.Validate(); err != nil {
			return s, err
		}
	}
	for _, r := range s.rules {
		if err := r.Validate(); err != nil {
			return s, err
		}
	}
	return s, nil
}

func routeScope(s string) uint8 {
	switch s {
	case "site":
		return 200
	case "link":
		return route.ScopeLink
	case "host":
		return route.ScopeHost
	}
	return route.ScopeUniverse
}

// routes returns the node's route worker, opening it on first use: a node
// without routes or rules never opens a route socket.
func (e *Engine) routes(ctx context.Context) (*routeWorker, error) {
	if e.routeWorker != nil {
		return e.routeWorker, nil
	}
	m, err := e.opts.NewRouteManager(e.log)
	if err != nil {
		return nil, fmt.Errorf("routes: %w", err)
	}
	e.routeWorker = newRouteWorker(e.log, m, e.opts.VIPTimeout)
	e.routeWorker.start(ctx)
	return e.routeWorker, nil
}

// vipAddresses converts configured addresses; label is the default one for
// those without their own.
func vipAddresses(as []*config.Address, label string) []vip.Address {
	out := make([]vip.Address, 0, len(as))
	for _, a := range as {
		sc, _ := vip.ParseScope(a.Scope) // validated at load; "" is global
		o := vip.AddrOptions{Label: a.Label, Scope: sc, Broadcast: a.Broadcast, NoTrack: a.NoTrack}
		if o.Label == "" && a.Prefix.Addr().Is4() {
			o.Label = label
		}
		out = append(out, vip.Address{Prefix: a.Prefix, AddrOptions: o})
	}
	return out
}

// addressesByDev groups an instance's owned addresses by the interface
// they go on.
func addressesByDev(ic *config.Instance) map[string][]*config.Address {
	out := map[string][]*config.Address{}
	for _, a := range ic.Owned() {
		dev := a.Dev
		if dev == "" {
			dev = ic.VIPInterface() // the vmac's macvlan, if any
		}
		out[dev] = append(out[dev], a)
	}
	return out
}

// trackedDevs are the interfaces besides its own whose link the instance
// follows: those of its addresses and routes with a dev and without
// no_track (keepalived faults the instance when one goes down).
func trackedDevs(ic *config.Instance) []string {
	var out []string
	add := func(dev string, noTrack bool) {
		if dev != "" && dev != ic.Interface && !noTrack && !contains(out, dev) {
			out = append(out, dev)
		}
	}
	for _, a := range ic.Owned() {
		add(a.Dev, a.NoTrack)
	}
	for _, r := range ic.Routes {
		add(r.Dev, r.NoTrack)
	}
	return out
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// labelFor is the default IPv4 label of an instance's addresses on dev
// ("<dev>:vip"), empty when it would not fit or the addresses are the
// host's own.
func labelFor(ic *config.Instance, dev string) string {
	if ic.AddressOwner {
		return ""
	}
	l := dev + ":vip"
	if len(l) > vip.MaxLabelLen {
		return ""
	}
	return l
}

// removeStaleRoutes deletes the instances' routes and rules a crash may
// have left installed: nobody holds them yet; the master adds its own back.
func (e *Engine) removeStaleRoutes(ctx context.Context) error {
	if e.routeWorker == nil {
		return nil
	}
	var all routeSet
	for _, b := range e.bindings {
		if !b.routes {
			continue
		}
		s, err := routeSetOf(b.cfg.Routes, b.cfg.Rules)
		if err != nil {
			return err
		}
		all.routes, all.rules = append(all.routes, s.routes...), append(all.rules, s.rules...)
	}
	rctx, cancel := context.WithTimeout(ctx, e.opts.VIPTimeout)
	defer cancel()
	if err := e.routeWorker.mgr.RemoveStale(rctx, all.routes, all.rules); err != nil {
		return fmt.Errorf("remove stale routes and rules: %w", err)
	}
	return nil
}

// acquireStatic installs the static {} block: its addresses on their
// interfaces' VIP workers (never announced) and its routes and rules, held
// for as long as the engine runs whatever the instances' states.
func (e *Engine) acquireStatic(ctx context.Context) error {
	st := e.cfg.Static
	if st == nil {
		return nil
	}
	byDev := map[string][]*config.Address{}
	for _, a := range st.Addresses {
		byDev[a.Dev] = append(byDev[a.Dev], a)
	}
	for dev, as := range byDev {
		w, err := e.vipWorker(ctx, dev)
		if err != nil {
			return fmt.Errorf("static addresses: %w", err)
		}
		w.register(staticOwner, vipSpec{addrs: vipAddresses(as, "")})
		w.want(staticOwner, vrouter.VIPIntent{Instance: staticOwner, Hold: vrouter.HoldAcquire})
	}
	set, err := routeSetOf(st.Routes, st.Rules)
	if err != nil {
		return fmt.Errorf("static: %w", err)
	}
	if !set.empty() {
		rw, err := e.routes(ctx)
		if err != nil {
			return err
		}
		rw.register(staticOwner, set)
		rw.want(staticOwner, true)
	}
	return nil
}

// releaseStatic removes the static block's addresses, routes and rules
// when the daemon stops: what hawatch added, it takes away.
func (e *Engine) releaseStatic() {
	for _, w := range e.workers {
		w.want(staticOwner, vrouter.VIPIntent{Instance: staticOwner, Hold: vrouter.HoldRelease})
	}
	if e.routeWorker != nil {
		e.routeWorker.want(staticOwner, false)
	}
}

// sameStatic compares two static blocks by content, not by where in the
// file they were written.
func sameStatic(a, b *config.Static) bool {
	if a == nil || b == nil {
		return a == b
	}
	return reflect.DeepEqual(withoutRanges(a.Addresses), withoutRanges(b.Addresses)) &&
		reflect.DeepEqual(withoutRanges(a.Routes), withoutRanges(b.Routes)) &&
		reflect.DeepEqual(withoutRanges(a.Rules), withoutRanges(b.Rules))
}

// withoutRanges copies configured items with their source positions
// zeroed, so a reload compares what they say, not where they were written.
func withoutRanges[T config.Address | config.Route | config.Rule](in []*T) []*T {
	if in == nil {
		return nil
	}
	out := make([]*T, len(in))
	for i, x := range in {
		c := *x
		switch v := any(&c).(type) {
		case *config.Address:
			v.DefRange = hcl.Range{}
		case *config.Route:
			v.DefRange = hcl.Range{}
		case *config.Rule:
			v.DefRange = hcl.Range{}
		}
		out[i] = &c
	}
	return out
}
