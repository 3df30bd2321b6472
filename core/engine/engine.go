// Package engine is the glue of a hawatch node: it turns a validated config
// into VRRP state machines, sockets and VIP managers, feeds check results into
// priorities, and carries out the machines' actions. All VRRP state lives in
// one goroutine (Run); sockets, plugins and the control API talk to it over
// channels, so nothing outside can stall or race the state machines.
package engine

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"time"

	"github.com/rs/zerolog"

	"github.com/hawatch/hawatch/core/config"
	"github.com/hawatch/hawatch/core/vip"
	"github.com/hawatch/hawatch/core/vrrp"
	"github.com/hawatch/hawatch/core/vrrp/transport"
	"github.com/hawatch/hawatch/sdk"
)

// vipOwner is the slice of vip.Manager the engine uses.
type vipOwner interface {
	Acquire(ctx context.Context, owner string, prefixes []netip.Prefix, label string, p vip.Policy) error
	Release(ctx context.Context, owner string) error
	Reannounce(owner string)
}

// CheckFeed delivers the results of one configured check.
type CheckFeed interface {
	Results() <-chan sdk.Result
}

// Notifier receives transitions for one configured action; Notify must not
// block (the plugin host queues).
type Notifier interface {
	Notify(t sdk.Transition)
}

// Options carries what the engine cannot build itself.
type Options struct {
	Checks  map[string]CheckFeed // by check name
	Actions map[string]Notifier  // by action name
	// VIPTimeout bounds one netlink address operation.
	VIPTimeout time.Duration
	// StateDir, if set, persists operator demote intents across restarts.
	StateDir string
	// Listen opens a VRRP socket; default transport.Listen.
	Listen func(transport.Options) (Conn, error)
	// NewVIPManager opens an interface's VIP manager; default vip.NewManager.
	NewVIPManager func(log zerolog.Logger, ifname string) (VIPManager, error)
}

// Engine runs every instance of one node.
type Engine struct {
	log  zerolog.Logger
	cfg  *config.Config
	opts Options

	instances []*instance
	byName    map[string]*instance
	groups    map[string]*syncGroup
	sockets   map[socketKey]*socket
	vips      map[string]*vipManager

	rx      chan rxPacket
	results chan checkResult
	ctl     chan func(now time.Time)
	events  *eventHub

	limiter *rateLimiter

	runCtx     context.Context
	forwarders map[string]context.CancelFunc
	lastResult map[string]sdk.Result
}

type checkResult struct {
	check  string
	result sdk.Result
}

// New validates that the config can be run and prepares (but does not open)
// the engine.
func New(log zerolog.Logger, cfg *config.Config, opts Options) (*Engine, error) {
	if opts.VIPTimeout == 0 {
		opts.VIPTimeout = 2 * time.Second
	}
	if opts.Listen == nil {
		opts.Listen = defaultListen
	}
	if opts.NewVIPManager == nil {
		opts.NewVIPManager = defaultNewVIPManager
	}
	e := &Engine{
		log:     log,
		cfg:     cfg,
		opts:    opts,
		byName:  map[string]*instance{},
		groups:  map[string]*syncGroup{},
		sockets: map[socketKey]*socket{},
		vips:    map[string]*vipManager{},
		rx:      make(chan rxPacket, 256),
		results: make(chan checkResult, 64),
		ctl:     make(chan func(time.Time)),
		events:  newEventHub(),
		limiter: newRateLimiter(time.Second),

		forwarders: map[string]context.CancelFunc{},
		lastResult: map[string]sdk.Result{},
	}
	for _, ic := range cfg.Instances {
		in, err := newInstance(ic, cfg.Checks)
		if err != nil {
			return nil, err
		}
		e.instances = append(e.instances, in)
		e.byName[ic.Name] = in
	}
	for _, g := range cfg.SyncGroups {
		sg := &syncGroup{name: g.Name, notify: g.Notify}
		for _, m := range g.Instances {
			if in := e.byName[m]; in != nil {
				in.group = g.Name
				sg.members = append(sg.members, in)
			}
		}
		e.groups[g.Name] = sg
	}
	return e, nil
}

// Run opens sockets and VIP managers, starts every instance and serves until
// ctx is done; then every instance shuts down (priority 0 advert if master,
// VIPs released) before Run returns.
func (e *Engine) Run(ctx context.Context) error {
	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := e.open(runCtx); err != nil {
		e.closeAll()
		return err
	}
	defer e.closeAll()

	e.runCtx = runCtx
	e.swapFeeds(e.opts.Checks)
	e.restoreDemotes()

	now := time.Now()
	for _, in := range e.instances {
		e.syncTracks(now, in)
		e.step(now, in, vrrp.Start{})
	}

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		e.resetTimer(timer)
		select {
		case <-ctx.Done():
			e.shutdown(time.Now())
			return nil
		case p := <-e.rx:
			e.receive(time.Now(), p)
		case r := <-e.results:
			e.checkResult(time.Now(), r)
		case f := <-e.ctl:
			f(time.Now())
		case <-timer.C:
		}
		// Adverts that arrived before a timer expired must be seen before
		// it fires: select picks at random among ready cases, so after a
		// scheduling stall a backup could otherwise take over from a
		// master whose adverts are already queued.
		for n := len(e.rx); n > 0; n-- {
			e.receive(time.Now(), <-e.rx)
		}
		e.tick(time.Now())
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
		go e.forward(ctx, name, feed)
	}
}

// forward copies a check's results into the loop; it never blocks the
// plugin side for long because the loop drains e.results continuously.
func (e *Engine) forward(ctx context.Context, name string, feed CheckFeed) {
	ch := feed.Results()
	for {
		select {
		case <-ctx.Done():
			return
		case r, ok := <-ch:
			if !ok {
				return
			}
			select {
			case e.results <- checkResult{check: name, result: r}:
			case <-ctx.Done():
				return
			}
		}
	}
}

// do runs f inside the loop and waits for it.
func (e *Engine) do(ctx context.Context, f func(now time.Time)) error {
	done := make(chan struct{})
	select {
	case e.ctl <- func(now time.Time) { f(now); close(done) }:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *Engine) resetTimer(t *time.Timer) {
	var next time.Time
	for _, in := range e.instances {
		if d := in.m.NextDeadline(); !d.IsZero() && (next.IsZero() || d.Before(next)) {
			next = d
		}
		for _, tr := range in.tracks {
			if d := tr.holdDeadline(); !d.IsZero() && (next.IsZero() || d.Before(next)) {
				next = d
			}
		}
	}
	wait := time.Hour
	if !next.IsZero() {
		wait = max(time.Until(next), 0)
	}
	if !t.Stop() {
		select {
		case <-t.C:
		default:
		}
	}
	t.Reset(wait)
}

func (e *Engine) tick(now time.Time) {
	for _, in := range e.instances {
		expired := false
		for _, tr := range in.tracks {
			if d := tr.holdDeadline(); !d.IsZero() && !now.Before(d) {
				expired = tr.expire(now) || expired
			}
		}
		if expired {
			e.syncTracks(now, in)
		}
		if d := in.m.NextDeadline(); !d.IsZero() && !now.Before(d) {
			e.step(now, in, vrrp.Tick{})
		}
	}
}

func (e *Engine) receive(now time.Time, p rxPacket) {
	s := p.sock
	if p.err != nil {
		reason := vrrp.DropReason(p.err)
		s.drop(reason)
		if e.limiter.allow("rx:" + s.key.String() + ":" + reason) {
			e.log.Warn().Str("socket", s.key.String()).Str("src", p.src.String()).Str("reason", reason).Err(p.err).Msg("advert dropped")
		}
		return
	}
	a := p.advert
	in := s.byVRID[a.VRID]
	if in == nil {
		s.drop("vrid")
		return
	}
	if in.peers != nil && !in.peers[a.Src] {
		in.drop("peer")
		if e.limiter.allow("peer:" + in.cfg.Name) {
			e.log.Warn().Str("instance", in.cfg.Name).Str("src", a.Src.String()).Msg("advert from an address that is not a unicast peer dropped")
		}
		return
	}
	warn, err := in.filter.Check(a)
	if err != nil {
		reason := vrrp.DropReason(err)
		in.drop(reason)
		if e.limiter.allow("drop:" + in.cfg.Name + ":" + reason) {
			e.log.Warn().Str("instance", in.cfg.Name).Str("src", a.Src.String()).Str("reason", reason).Err(err).Msg("advert dropped")
		}
		return
	}
	if warn != 0 && e.limiter.allow("warn:"+in.cfg.Name+":"+warn.String()) {
		e.log.Warn().Str("instance", in.cfg.Name).Str("src", a.Src.String()).Str("warning", warn.String()).Msg("advert accepted with warnings")
	}
	in.peer = peerInfo{addr: a.Src, priority: a.Priority, at: now}
	in.stats.AdvertsReceived++
	e.step(now, in, vrrp.AdvertReceived{Advert: a})
}

func (e *Engine) checkResult(now time.Time, r checkResult) {
	if r.result.ObservedAt.IsZero() {
		r.result.ObservedAt = now
	}
	e.lastResult[r.check] = r.result
	for _, in := range e.instances {
		changed := false
		for _, tr := range in.tracks {
			if tr.check == r.check {
				before := tr.up
				changed = tr.observe(now, r.result) || changed
				if tr.up != before && tr.up && tr.effect == EffectYield && in.m.State() == vrrp.StateMaster {
					// The other owner is gone: clients may still point at
					// its MAC, so the survivor announces again at once.
					in.vips.Reannounce(in.cfg.Name)
					e.log.Info().Str("instance", in.cfg.Name).Str("check", tr.check).Msg("split brain resolved: this node kept the VIP; re-announcing")
				}
				if tr.up != before {
					e.events.publish(Event{Type: "check", At: now, Instance: in.cfg.Name, Check: tr.check,
						Status: tr.last.Status.String(), Up: tr.up, Reason: tr.reason()})
					e.log.Info().Str("instance", in.cfg.Name).Str("check", tr.check).Bool("up", tr.up).
						Str("reason", tr.reason()).Msg("check changed")
				}
			}
		}
		// A guard that already failed while this node was BACKUP (it sees
		// the master) does not change when the node becomes MASTER, so the
		// yield decision is taken again on every result while MASTER.
		if changed || (in.m.State() == vrrp.StateMaster && len(summarize(in.tracks).yielding) > 0) {
			e.syncTracks(now, in)
		}
	}
}

// syncTracks derives fault, demote and priority from the instance's trackers
// and tells the machine what changed.
func (e *Engine) syncTracks(now time.Time, in *instance) {
	v := summarize(in.tracks)
	setSource(in.demoted, "pending", len(v.pending) > 0, fmt.Sprintf("waiting for first result of %v", v.pending))
	setSource(in.demoted, "yield", len(v.yielding) > 0 && e.mustYield(in), describe(v.yielding, in.tracks))

	prio := effectivePriority(in.cfg.Priority, in.tracks)
	if prio != in.prioSent {
		in.prioSent = prio
		e.step(now, in, vrrp.SetPriority{Priority: prio, Reason: vrrp.ReasonCheckFailed, Detail: ledgerDetail(in)})
	}
	fault := len(v.faulted) > 0
	if fault != in.faultSent {
		in.faultSent = fault
		if fault {
			e.step(now, in, vrrp.SetFault{Fault: true, Reason: vrrp.ReasonCheckFailed, Detail: describe(v.faulted, in.tracks)})
		} else {
			e.step(now, in, vrrp.SetFault{Fault: false, Reason: vrrp.ReasonCheckRecovered})
		}
	}
	e.syncDemote(now, in)
}

// demoteSources maps each demote source to the machine's hold reason.
var demoteSources = []struct {
	key    string
	reason vrrp.Reason
}{
	{"operator", vrrp.ReasonOperatorDemote},
	{"yield", vrrp.ReasonSplitBrainYield},
	{"pending", vrrp.ReasonCheckFailed},
}

// syncDemote tells the machine about every demote source that changed; the
// machine keeps one hold per reason.
func (e *Engine) syncDemote(now time.Time, in *instance) {
	for _, src := range demoteSources {
		detail, on := in.demoted[src.key]
		if on == in.holdsSent[src.key] {
			continue
		}
		in.holdsSent[src.key] = on
		if on {
			e.step(now, in, vrrp.Demote{Demoted: true, Reason: src.reason, Detail: detail})
			continue
		}
		e.step(now, in, vrrp.Demote{Demoted: false, Reason: src.reason, Detail: src.key + " cleared"})
		if src.key == "yield" {
			e.log.Info().Str("instance", in.cfg.Name).Msg("split brain over: the other owner is gone, normal VRRP timers apply")
		}
	}
}

func setSource(m map[string]string, key string, on bool, detail string) {
	if on {
		m[key] = detail
	} else {
		delete(m, key)
	}
}

// mustYield decides, for a node that sees another owner of its VIP, whether
// it is the one to step back: the lower effective priority yields, ties go
// to the lower primary address. A node that is not master has nothing to
// yield; the other owner's priority comes from its last advert, if any was
// heard (VRRP may be partitioned: then compare against the configured peers'
// knowledge we have, i.e. the master address we last saw).
func (e *Engine) mustYield(in *instance) bool {
	if in.m.State() != vrrp.StateMaster && !in.holdsSent["yield"] {
		return false
	}
	other := in.peer
	if !other.addr.IsValid() {
		// Nothing heard from the other owner: keep the VIP. Yielding blind
		// could leave zero masters.
		return false
	}
	mine := in.m.Priority()
	if other.priority != mine && other.priority != 0 {
		return mine < other.priority
	}
	return in.sock.local.Less(other.addr)
}

func ledgerDetail(in *instance) string {
	s := fmt.Sprintf("base %d", in.cfg.Priority)
	for _, tr := range in.tracks {
		if c := tr.contribution(); c != 0 {
			s += fmt.Sprintf(", %s %+d", tr.check, c)
		}
	}
	return s
}

// step feeds one input to an instance's machine and carries out the actions.
func (e *Engine) step(now time.Time, in *instance, input vrrp.Input) {
	g := e.groups[in.group]
	if g == nil || g.coord == nil {
		e.exec(now, in, in.m.Step(now, input))
		return
	}
	// A sync group steps the member, then whatever members follow it.
	for _, ma := range g.coord.Step(now, in.cfg.Name, input) {
		if m := e.byName[ma.Member]; m != nil {
			e.exec(now, m, []vrrp.Action{ma.Action})
		}
	}
}

func (e *Engine) exec(now time.Time, in *instance, actions []vrrp.Action) {
	for _, a := range actions {
		switch a := a.(type) {
		case vrrp.SendAdvert:
			e.send(in, a.Priority)
		case vrrp.AcquireVIPs:
			e.acquire(in)
		case vrrp.ReleaseVIPs:
			e.release(in)
		case vrrp.Announce:
			in.vips.Reannounce(in.cfg.Name)
		case vrrp.Transition:
			e.transition(now, in, a)
		}
	}
}

func (e *Engine) transition(now time.Time, in *instance, t vrrp.Transition) {
	in.stats.Transitions++
	in.stats.LastTransition = now
	in.stats.LastReason = t.Reason.String()
	prio := int(in.m.Priority())
	ev := e.log.Info()
	if t.To == vrrp.StateFault {
		ev = e.log.Warn()
	}
	ev.Str("instance", in.cfg.Name).Str("from", t.From.String()).Str("to", t.To.String()).
		Str("reason", t.Reason.String()).Str("detail", t.Detail).Int("priority", prio).Msg("state change")
	e.events.publish(Event{Type: "transition", At: now, Instance: in.cfg.Name, Group: in.group,
		From: t.From.String(), To: t.To.String(), Reason: t.Reason.String(), Detail: t.Detail, Priority: prio})
	tr := sdk.Transition{Instance: in.cfg.Name, Group: in.group, From: t.From.String(), To: t.To.String(),
		Priority: prio, Reason: reasonText(t), At: now}
	for _, name := range in.cfg.Notify {
		if n := e.opts.Actions[name]; n != nil {
			n.Notify(tr)
		}
	}
}

func reasonText(t vrrp.Transition) string {
	if t.Detail != "" {
		return t.Reason.String() + ": " + t.Detail
	}
	return t.Reason.String()
}

func (e *Engine) send(in *instance, prio uint8) {
	s := in.sock
	dsts := []netip.Addr{s.conn.Group()}
	if len(in.cfg.UnicastPeers) > 0 {
		dsts = in.cfg.UnicastPeers
	}
	for _, dst := range dsts {
		b, err := in.advert(prio, s.local, dst).MarshalBinary()
		if err == nil {
			err = s.conn.WriteTo(b, dst)
		}
		if err != nil {
			in.stats.SendErrors++
			if e.limiter.allow("send:" + in.cfg.Name) {
				e.log.Error().Str("instance", in.cfg.Name).Str("dst", dst.String()).Err(err).Msg("send advert")
			}
			continue
		}
		in.stats.AdvertsSent++
	}
}

func (e *Engine) acquire(in *instance) {
	ctx, cancel := context.WithTimeout(context.Background(), e.opts.VIPTimeout)
	defer cancel()
	if err := in.vips.Acquire(ctx, in.cfg.Name, in.cfg.VirtualIPs, vipLabel(in.cfg), garpPolicy(in.cfg)); err != nil {
		in.stats.VIPErrors++
		e.log.Error().Str("instance", in.cfg.Name).Err(err).Msg("acquire virtual addresses")
	}
}

func (e *Engine) release(in *instance) {
	ctx, cancel := context.WithTimeout(context.Background(), e.opts.VIPTimeout)
	defer cancel()
	if err := in.vips.Release(ctx, in.cfg.Name); err != nil {
		in.stats.VIPErrors++
		e.log.Error().Str("instance", in.cfg.Name).Err(err).Msg("release virtual addresses")
	}
}

func vipLabel(ic *config.Instance) string {
	if ic.Family() != 4 || ic.AddressOwner {
		return ""
	}
	l := ic.Interface + ":vip"
	if len(l) > 15 {
		return ""
	}
	return l
}

func garpPolicy(ic *config.Instance) vip.Policy {
	return vip.Policy{Repeat: ic.GARP.Repeat, Interval: ic.GARP.Interval, Delay: ic.GARP.Delay, Refresh: ic.GARP.Refresh}
}

func (e *Engine) shutdown(now time.Time) {
	for _, in := range e.instances {
		e.step(now, in, vrrp.Shutdown{})
	}
}

// Demote puts one instance (or all, with name "") into operator maintenance,
// or takes it out again.
func (e *Engine) Demote(ctx context.Context, name string, demote bool) error {
	var err error
	if doErr := e.do(ctx, func(now time.Time) {
		var targets []*instance
		if name == "" {
			targets = e.instances
		} else if in := e.byName[name]; in != nil {
			targets = []*instance{in}
		} else {
			err = fmt.Errorf("no instance %q", name)
			return
		}
		for _, in := range targets {
			setSource(in.demoted, "operator", demote, "operator demote")
			e.syncDemote(now, in)
		}
		err = e.saveDemotes()
	}); doErr != nil {
		return doErr
	}
	return err
}

func sortedNames[T any](m map[string]T) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
