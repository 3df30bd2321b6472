package vrouter

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/hawatch/hawatch/core/vrrp"
)

// Config is one VRRP instance as its router needs it.
type Config struct {
	Name string
	// VRRP is the machine's and the receive filter's configuration;
	// VRRP.LocalAddr is the address the instance's socket sends from.
	VRRP vrrp.Config
	// Unicast lists the unicast peers: adverts go to each of them, and only
	// adverts from them, within their TTL bounds, are accepted. Empty:
	// multicast to the VRRP group, accepting only adverts sent to the group
	// with TTL 255.
	Unicast []Peer
	// HMAC turns on keepalived 2.4's auth_hmac; nil: none (and an advert
	// carrying a trailer is refused).
	HMAC *HMAC
	// Witness makes mastership depend on a quorum witness's grant; nil:
	// VRRP alone decides.
	Witness *Witness
	Tracks  []Track
	// Notify names the actions told about this instance's transitions.
	Notify []string
	// StartupDelay keeps the router in Init for this long after Start
	// (keepalived vrrp_startup_delay / vrrp_delay_after_boot): it neither
	// sends nor listens, so a node whose links pass no traffic yet right
	// after boot cannot elect itself master.
	StartupDelay time.Duration
	// NoLowerPrioAnnounce: a master that hears a lower priority does not
	// announce its addresses again (keepalived garp_lower_prio_repeat 0).
	// By default it does, with the schedule the application keeps for
	// that case (VIPIntent.LowerPrio).
	NoLowerPrioAnnounce bool
	// NoAccept turns RFC 5798 Accept_Mode off: as a master that is not the
	// address owner, drop traffic addressed to the VIPs (accept.go).
	NoAccept bool
}

// Peer is a unicast peer with the TTL / hop limit accepted from it
// (keepalived's unicast_peer min_ttl / max_ttl; 0..255 accepts any).
type Peer struct {
	Addr           netip.Addr
	MinTTL, MaxTTL uint8
}

// Router is one virtual router of this node: the VRRP state machine plus
// every per-instance decision around it (priority from the ledger, fault,
// holds, the split-brain yield, the receive filter, what to send, which VIP
// intent, which notification). Like vrrp.Machine it is a pure value: no
// goroutines, sockets, clocks or logging; Step returns what the application
// must do. It is not safe for concurrent use, and routers of one sync group
// must be stepped from one goroutine.
type Router struct {
	name    string
	cfg     vrrp.Config // normalized: what the machine runs with
	dsts    []netip.Addr
	peers   map[netip.Addr]Peer // unicast allow-list; nil in multicast mode
	group   *Group
	m       *vrrp.Machine
	ledger  ledger
	notify  []string
	maint   Maintenance
	peer    peerInfo
	adverts []encoded // per destination: the last encoding, reused while the priority holds
	stats   Counters
	vip     VIPApplied

	auth    *HMAC
	keys    map[uint8]*vrrp.HMACKey // auth.Keys prepared: signing and verifying allocate nothing
	lastSeq vrrp.Seq                // of the last advert signed
	replay  replayGuard

	// ready is what every Step fills and returns (see Ready: its lists are
	// reused), and tmpl the instance's advert, re-aimed and re-prioritised
	// for each send: the steady state allocates nothing.
	ready Ready
	tmpl  vrrp.Advert

	noAccept bool

	witness  *Witness
	grant    Witnessed // the witness's latest word
	claiming bool      // what the witness was last told we want
	lastNow  time.Time // of the last step

	startDelay time.Duration
	startAt    time.Time // a delayed Start is due then; zero: none pending
	quietLower bool      // Config.NoLowerPrioAnnounce
}

// peerInfo is what we last accepted from another router.
type peerInfo struct {
	addr     netip.Addr
	priority uint8
	at       time.Time
}

// encoded is one destination's advert at one priority.
type encoded struct {
	prio    uint8
	payload []byte
}

// Counters are what a router counted since it was built.
type Counters struct {
	Received uint64
	// Unsigned counts adverts accepted without an auth_hmac trailer by an
	// instance in permissive or receive-only mode (a migration in progress).
	Unsigned       uint64
	Dropped        map[string]uint64 // by vrrp.DropReason label
	Transitions    uint64
	LastTransition time.Time
	LastReason     string
}

// NewRouter builds the router of one instance, in Init. The VRRP config is
// validated (vrrp.Config.Validate) and so are the unicast peers' family.
func NewRouter(c Config) (*Router, error) {
	if err := c.VRRP.Validate(); err != nil {
		return nil, fmt.Errorf("instance %s: %w", c.Name, err)
	}
	c.VRRP.NeedsPermit = c.Witness != nil
	m := vrrp.NewMachine(c.VRRP)
	r := &Router{name: c.Name, m: m, cfg: m.Config(), notify: c.Notify, stats: Counters{Dropped: map[string]uint64{}}, witness: c.Witness,
		noAccept: c.NoAccept}
	group := vrrp.MulticastGroup4
	if c.VRRP.LocalAddr.Unmap().Is6() {
		group = vrrp.MulticastGroup6
	}
	r.dsts = []netip.Addr{group}
	if len(c.Unicast) > 0 {
		r.dsts = nil
		r.peers = make(map[netip.Addr]Peer, len(c.Unicast))
		for _, p := range c.Unicast {
			p.Addr = p.Addr.Unmap().WithZone("")
			if p.Addr.Is4() != group.Is4() {
				return nil, fmt.Errorf("instance %s: unicast peer %s is not of the instance's family: %w", c.Name, p.Addr, vrrp.ErrConfig)
			}
			r.peers[p.Addr] = p
			r.dsts = append(r.dsts, p.Addr)
		}
		r.replay.fixed = true
	}
	if err := r.setHMAC(c.HMAC); err != nil {
		return nil, fmt.Errorf("instance %s: %w", c.Name, err)
	}
	r.adverts = make([]encoded, len(r.dsts))
	r.tmpl = *r.cfg.Advert(r.cfg.Priority)
	r.ledger = ledger(nil).retrack(c.Tracks)
	r.startDelay, r.quietLower = c.StartupDelay, c.NoLowerPrioAnnounce
	return r, nil
}

// Name is the instance name.
func (r *Router) Name() string { return r.name }

// State is the machine's state.
func (r *Router) State() vrrp.State { return r.m.State() }

// InMaintenance reports whether the operator's demote intent is on.
func (r *Router) InMaintenance() bool { return r.maint.On }

// NextDeadline is when the router next needs a Tick (zero: no timer).
func (r *Router) NextDeadline() time.Time {
	next := r.m.NextDeadline()
	earlier := func(d time.Time) {
		if !d.IsZero() && (next.IsZero() || d.Before(next)) {
			next = d
		}
	}
	earlier(r.startAt)
	for _, t := range r.ledger {
		earlier(t.holdDeadline())
		earlier(t.settleDeadline())
	}
	if r.witness != nil && r.grant.State == GrantHeld && r.grant.ValidUntil.After(r.lastNow) {
		earlier(r.grant.ValidUntil) // an unconfirmed grant runs out: resign then
	}
	if r.m.Held(vrrp.ReasonSplitBrainYield) {
		// The node yielded to: once it falls silent the hold must lift
		// even if nothing else happens.
		if other, live := r.advertiser(r.lastNow); live {
			earlier(other.at.Add(r.m.MasterDownInterval()))
		}
	}
	return next
}

// Step applies one input at time now. now must not go backwards. The
// Ready's lists are the router's own, valid until its next Step (see
// Ready).
func (r *Router) Step(now time.Time, in Input) Ready {
	rd := &r.ready
	rd.reset()
	r.lastNow = now
	switch in := in.(type) {
	case Start:
		r.reconcile(now, rd)
		if r.startDelay > 0 && r.m.State() == vrrp.StateInit {
			r.startAt = now.Add(r.startDelay)
			rd.Notes = append(rd.Notes, Note{Instance: r.name, Message: fmt.Sprintf("startup delayed %s: staying in INIT until then", r.startDelay)})
			break
		}
		r.feed(now, vrrp.Start{}, rd)
	case Shutdown:
		r.startAt = time.Time{}
		r.feed(now, vrrp.Shutdown{}, rd)
	case Tick:
		r.tick(now, rd)
	case Received:
		r.receive(now, in, rd)
	case Observed:
		r.observe(now, in, rd)
	case FileValue:
		r.fileValue(now, in, rd)
	case Maintenance:
		r.maint = in
		r.reconcile(now, rd)
	case Reconfigure:
		if err := r.setHMAC(in.HMAC); err != nil {
			// The application validated it; keep the running keys rather
			// than run without any.
			rd.Notes = append(rd.Notes, Note{Instance: r.name, Message: "auth_hmac not changed: " + err.Error()})
		}
		r.ledger = r.ledger.retrack(in.Tracks)
		r.notify = in.Notify
		for _, t := range r.ledger {
			if o, ok := in.Latest[t.Check]; ok && t.observedAt.IsZero() && !t.reported {
				t.observe(now, o)
			}
		}
		r.reconcile(now, rd)
	case VIPApplied:
		r.vip = in
	case Witnessed:
		r.grant = in
		r.reconcile(now, rd)
	}
	if r.witness != nil {
		r.syncClaim(rd)
	}
	return *rd
}

func (r *Router) tick(now time.Time, rd *Ready) {
	if !r.startAt.IsZero() && !now.Before(r.startAt) {
		r.startAt = time.Time{}
		r.reconcile(now, rd)
		r.feed(now, vrrp.Start{}, rd)
	}
	for _, t := range r.ledger {
		if d := t.holdDeadline(); !d.IsZero() && !now.Before(d) && t.expire(now) {
			r.checkChanged(now, t, rd)
		}
		if t.settle(now) {
			r.checkChanged(now, t, rd)
		}
	}
	r.reconcile(now, rd)
	if d := r.m.NextDeadline(); !d.IsZero() && !now.Before(d) {
		r.feed(now, vrrp.Tick{}, rd)
	}
}

// admit applies the instance's delivery mode to a received packet: a
// multicast instance takes only what was sent to its group with TTL / hop
// limit 255 (RFC 5798 §5.1.1.3, §7.1), so one unicast packet from off-link
// cannot reach it; a unicast instance takes only its peers.
func (r *Router) admit(p Received) error {
	src := p.Advert.Src.Unmap().WithZone("")
	if r.peers != nil {
		peer, ok := r.peers[src]
		switch {
		case !ok:
			return fmt.Errorf("advert from %s: %w", src, vrrp.ErrPeer)
		case p.TTL < int(peer.MinTTL) || p.TTL > int(peer.MaxTTL):
			return fmt.Errorf("advert from %s with ttl %d, peer bounds %d-%d: %w", src, p.TTL, peer.MinTTL, peer.MaxTTL, vrrp.ErrTTL)
		}
		return nil
	}
	if dst := p.Dst.Unmap().WithZone(""); dst != r.dsts[0] {
		return fmt.Errorf("advert from %s to %s: %w", src, dst, vrrp.ErrNotMulticast)
	}
	if p.TTL != vrrp.TTL {
		return fmt.Errorf("advert from %s with ttl %d: %w", src, p.TTL, vrrp.ErrTTL)
	}
	return nil
}

func (r *Router) receive(now time.Time, p Received, rd *Ready) {
	a := p.Advert
	if a == nil {
		return
	}
	err := r.admit(p)
	var warn vrrp.Warning
	if err == nil {
		warn, err = r.cfg.Check(a)
	}
	if err == nil {
		err = r.authenticate(now, a, rd)
	}
	if err != nil {
		reason := vrrp.DropReason(err)
		r.stats.Dropped[reason]++
		rd.Drops = append(rd.Drops, Drop{Instance: r.name, Src: a.Src, Reason: reason, Err: err})
		return
	}
	if warn != 0 {
		rd.Drops = append(rd.Drops, Drop{Instance: r.name, Src: a.Src, Warning: warn})
	}
	r.peer = peerInfo{addr: a.Src, priority: a.Priority, at: now}
	r.stats.Received++
	wasMaster := r.m.State() == vrrp.StateMaster
	r.feed(now, vrrp.AdvertReceived{Advert: a}, rd)
	if wasMaster && r.m.State() == vrrp.StateMaster && a.Priority != 0 {
		// Only a master advertises: a second one (it stopped hearing us,
		// a one-way cut or a loss burst) has sent its GARPs, and clients
		// follow them. The machine answers with an advert so it steps
		// down; announcing again brings the clients back at once, as
		// keepalived does, rather than after their ARP entries go stale.
		if !r.quietLower {
			rd.VIPs = append(rd.VIPs, VIPIntent{Instance: r.name, Announce: AnnounceStart, LowerPrio: true})
		}
	}
	r.preemptAdvert(now, a, rd)
	if r.hasYieldTrack() {
		r.reconcile(now, rd) // what we heard decides a yield
	}
}

func (r *Router) observe(now time.Time, o Observed, rd *Ready) {
	if o.At.IsZero() {
		o.At = now
	}
	tracked := false
	for _, t := range r.ledger {
		if t.File != "" || t.Check != o.Check {
			continue
		}
		tracked = true
		wasUp := t.up
		if t.observe(now, o) {
			r.checkChanged(now, t, rd)
			if t.Effect == EffectYield && t.up && !wasUp && r.m.State() == vrrp.StateMaster {
				// The other owner is gone; clients may still point at its
				// MAC, so the survivor announces again at once.
				rd.VIPs = append(rd.VIPs, VIPIntent{Instance: r.name, Announce: AnnounceStart})
				rd.Notes = append(rd.Notes, Note{Instance: r.name, Message: "split brain resolved: this node kept the VIP; announcing again"})
			}
		}
	}
	if tracked {
		r.reconcile(now, rd)
	}
}

// checkChanged reports a track whose verdict changed (it came up, went
// down, or reported for the first time).
func (r *Router) checkChanged(now time.Time, t *tracker, rd *Ready) {
	rd.Checks = append(rd.Checks, CheckChange{Instance: r.name, Check: t.Check, Status: t.status, Up: t.up, Reason: t.why(), At: now})
}

func (r *Router) hasYieldTrack() bool {
	for _, t := range r.ledger {
		if t.Effect == EffectYield {
			return true
		}
	}
	return false
}

// reconcile brings the machine in line with the conditions: priority from
// the ledger, fault, and the holds this layer owns (operator maintenance,
// split-brain yield, checks not reported yet). The machine's own state is
// the record of what it was told; nothing else remembers it.
func (r *Router) reconcile(now time.Time, rd *Ready) {
	v := r.ledger.verdict()
	fault := len(v.faulted) > 0
	if fault && !r.m.Faulted() {
		// Fault first: a track file past its bound also drops its weight,
		// and a master must resign, not advertise that priority first.
		r.feed(now, vrrp.SetFault{Fault: true, Reason: vrrp.ReasonCheckFailed, Detail: failed(v.faulted)}, rd)
	}
	if p := r.ledger.priority(r.cfg.Priority); !r.m.Owner() && p != r.m.Priority() {
		r.feed(now, vrrp.SetPriority{Priority: p, Reason: vrrp.ReasonCheckFailed, Detail: r.ledger.weights(r.cfg.Priority)}, rd)
	}
	if !fault && r.m.Faulted() {
		r.feed(now, vrrp.SetFault{Fault: false, Reason: vrrp.ReasonCheckRecovered}, rd)
	}
	r.hold(now, vrrp.ReasonOperatorDemote, r.maint.On, or(r.maint.Detail, "operator demote"), rd)
	yielded := r.m.Held(vrrp.ReasonSplitBrainYield)
	r.hold(now, vrrp.ReasonSplitBrainYield, len(v.yielding) > 0 && r.mustYield(now), failed(v.yielding), rd)
	if yielded && !r.m.Held(vrrp.ReasonSplitBrainYield) {
		msg := "split brain over: the other owner is gone; normal VRRP timers apply"
		if len(v.yielding) > 0 {
			msg = "split brain over: the other owner stopped advertising (a hung node is no master); normal VRRP timers apply"
		}
		rd.Notes = append(rd.Notes, Note{Instance: r.name, Message: msg})
	}
	r.hold(now, vrrp.ReasonCheckPending, len(v.pending) > 0, "waiting for the first result of "+names(v.pending), rd)
	if r.witness != nil {
		r.reconcileWitness(now, rd)
	}
}

// hold places or lifts one of the machine's demotion holds.
func (r *Router) hold(now time.Time, reason vrrp.Reason, on bool, detail string, rd *Ready) {
	if on == r.m.Held(reason) {
		return
	}
	if !on {
		detail = reason.String() + " cleared"
	}
	r.feed(now, vrrp.Demote{Demoted: on, Reason: reason, Detail: detail}, rd)
}

// mustYield decides, for a master whose guard sees another owner of its
// VIPs, whether this node is the one to step back: the lower effective
// priority yields, ties go to the lower primary address. Only a node that
// is master (or already yielded) has anything to yield, and only to a
// router that advertises (advertiser): a node whose daemon hangs keeps
// the VIP on its interface and answers ARP and the app port, but it is no
// master, and yielding to it would leave none (design §6).
func (r *Router) mustYield(now time.Time) bool {
	if r.m.State() != vrrp.StateMaster && !r.m.Held(vrrp.ReasonSplitBrainYield) {
		return false
	}
	other, ok := r.advertiser(now)
	if !ok {
		return false
	}
	if mine := r.m.Priority(); other.priority != mine {
		return mine < other.priority
	}
	return r.cfg.LocalAddr.Unmap().Less(other.addr.Unmap())
}

// advertiser is the other router as last heard advertising within
// Master_Down_Interval (RFC 5798 §6.1: the silence after which a backup
// takes a master for dead), by this instance's socket or by a yield
// track's guard watching the wire (it sees the adverts a cut VRRP path
// hides from the socket). A router whose latest advert was priority 0 has
// resigned and owns nothing.
func (r *Router) advertiser(now time.Time) (peerInfo, bool) {
	latest := r.peer
	for _, t := range r.ledger {
		if h := t.heard; t.Effect == EffectYield && h != nil && h.At.After(latest.at) {
			latest = peerInfo{addr: h.From, priority: h.Priority, at: h.At}
		}
	}
	live := latest.addr.IsValid() && latest.priority != 0 && now.Sub(latest.at) < r.m.MasterDownInterval()
	return latest, live
}

// feed steps the machine (through the sync group, if any) and turns the
// actions of every machine that moved into Ready entries.
func (r *Router) feed(now time.Time, in vrrp.Input, rd *Ready) {
	if r.group == nil {
		for _, a := range r.m.Step(now, in) {
			r.apply(now, a, rd)
		}
		return
	}
	for _, ma := range r.group.coord.Step(now, r.name, in) {
		if m := r.group.members[ma.Member]; m != nil {
			m.apply(now, ma.Action, rd)
		}
	}
}

// apply turns one machine action into Ready entries.
func (r *Router) apply(now time.Time, a vrrp.Action, rd *Ready) {
	switch a := a.(type) {
	case vrrp.SendAdvert:
		r.send(now, a.Priority, rd)
	case vrrp.AcquireVIPs:
		if !r.m.Owner() {
			rd.VIPs = append(rd.VIPs, VIPIntent{Instance: r.name, Hold: HoldAcquire, Fence: r.fencing(true)})
		}
	case vrrp.Announce:
		rd.VIPs = append(rd.VIPs, VIPIntent{Instance: r.name, Announce: AnnounceStart})
	case vrrp.ReleaseVIPs:
		// An address owner's addresses are the node's own: never deleted.
		v := VIPIntent{Instance: r.name, Hold: HoldRelease, Announce: AnnounceStop, Fence: r.fencing(false)}
		if r.m.Owner() {
			v.Hold = HoldKeep
		}
		rd.VIPs = append(rd.VIPs, v)
	case vrrp.Transition:
		r.stats.Transitions++
		r.stats.LastTransition = now
		r.stats.LastReason = a.Reason.String()
		t := Transition{Instance: r.name, From: a.From, To: a.To, Reason: a.Reason, Detail: a.Detail,
			Priority: r.m.Priority(), At: now, Notify: r.notify}
		if r.witness != nil && r.granted(now) {
			t.FencingToken = r.grant.Revision
		}
		if r.group != nil {
			t.Group = r.group.name
		}
		rd.Transitions = append(rd.Transitions, t)
	}
}

// send encodes the advert for every destination with the one encoder the
// codec tests cover (vrrp.Config.Advert). An unsigned encoding is kept and
// reused while the priority stays the same: a master's adverts are
// identical. A signed one is new every time (its sequence moves); every
// destination of one send shares the sequence.
func (r *Router) send(now time.Time, prio uint8, rd *Ready) {
	a := &r.tmpl
	a.Priority = prio
	if r.signs() {
		seq := r.nextSeq(now)
		key := r.keys[r.auth.ActiveKey]
		for _, dst := range r.dsts {
			a.Dst = dst
			// Appended to the Ready's wire buffer: every payload of one
			// step keeps its own bytes, capped so nothing appends over it.
			start := len(rd.wire)
			b, err := a.AppendSignedKey(rd.wire, key, r.auth.ActiveKey, seq)
			if err != nil {
				rd.Notes = append(rd.Notes, Note{Instance: r.name, Message: "cannot encode advert: " + err.Error()})
				continue
			}
			rd.wire = b
			rd.Adverts = append(rd.Adverts, Outgoing{Instance: r.name, Dst: dst, Payload: b[start:len(b):len(b)], Priority: prio})
		}
		return
	}
	a.Trailer = nil
	for i, dst := range r.dsts {
		e := &r.adverts[i]
		if e.payload == nil || e.prio != prio {
			a.Dst = dst
			b, err := a.MarshalBinary()
			if err != nil {
				// Validate accepted the config, so this is a bug; say so
				// loudly rather than send nothing silently.
				rd.Notes = append(rd.Notes, Note{Instance: r.name, Message: "cannot encode advert: " + err.Error()})
				continue
			}
			*e = encoded{prio: prio, payload: b}
		}
		rd.Adverts = append(rd.Adverts, Outgoing{Instance: r.name, Dst: dst, Payload: e.payload, Priority: prio})
	}
}

// Snapshot is the router's state for status output.
type Snapshot struct {
	Name                string
	Group               string
	State               vrrp.State
	Priority            uint8 // configured
	EffectivePriority   uint8
	Owner               bool
	Ledger              []LedgerEntry
	Holds               []HoldStatus
	Master              netip.Addr
	MasterAdverInterval time.Duration
	// VIPsHeld is what the application last reported (VIPApplied).
	VIPsHeld bool
	VIPError string
	// Auth describes auth_hmac ("hmac enforce, key 1 of [1 2]"), empty
	// without it. Never the keys.
	Auth string
	// Witness is nil without a witness.
	Witness *WitnessStatus
	Counters
}

// HoldStatus is one demotion hold in place.
type HoldStatus struct {
	Reason vrrp.Reason
	Detail string
}

// Snapshot returns the router's state now.
func (r *Router) Snapshot() Snapshot {
	s := Snapshot{
		Name: r.name, State: r.m.State(), Priority: r.cfg.Priority, EffectivePriority: r.m.Priority(),
		Owner: r.m.Owner(), Master: r.m.Master(), MasterAdverInterval: r.m.MasterAdverInterval(),
		VIPsHeld: r.vip.Held, Counters: r.stats, Witness: r.witnessStatus(r.lastNow),
	}
	s.Dropped = maps.Clone(r.stats.Dropped)
	if r.vip.Err != nil {
		s.VIPError = r.vip.Err.Error()
	}
	if r.group != nil {
		s.Group = r.group.name
	}
	if r.auth != nil {
		ids := slices.Sorted(maps.Keys(r.auth.Keys))
		s.Auth = fmt.Sprintf("hmac %s, key %d of %v", r.auth.Mode, r.auth.ActiveKey, ids)
	}
	for _, t := range r.ledger {
		s.Ledger = append(s.Ledger, t.entry())
	}
	v := r.ledger.verdict()
	for _, h := range []struct {
		reason vrrp.Reason
		detail string
	}{
		{vrrp.ReasonOperatorDemote, or(r.maint.Detail, "operator demote")},
		{vrrp.ReasonSplitBrainYield, failed(v.yielding)},
		{vrrp.ReasonCheckPending, "waiting for the first result of " + names(v.pending)},
		{vrrp.ReasonSyncGroupFault, "another member of the sync group is in fault"},
	} {
		if r.m.Held(h.reason) {
			s.Holds = append(s.Holds, HoldStatus{Reason: h.reason, Detail: h.detail})
		}
	}
	if r.witness != nil && r.claiming && !r.m.Permitted() {
		// Waiting to take over: name what it waits for (the holder).
		_, why := r.permitted(r.lastNow)
		s.Holds = append(s.Holds, HoldStatus{Reason: vrrp.ReasonWitness, Detail: why})
	}
	return s
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ErrGroup is wrapped by NewGroup's errors.
var ErrGroup = errors.New("invalid sync group")

// setHMAC installs auth_hmac settings (nil: none), checking what keepalived
// checks: the active key exists and every key is 32-64 bytes.
func (r *Router) setHMAC(h *HMAC) error {
	if h != nil {
		if _, ok := h.Keys[h.ActiveKey]; !ok && h.Mode != HMACReceiveOnly {
			return fmt.Errorf("auth_hmac: active key %d not defined: %w", h.ActiveKey, vrrp.ErrConfig)
		}
		for id, k := range h.Keys {
			if id == 0 || len(k) < 32 || len(k) > 64 {
				return fmt.Errorf("auth_hmac: key %d: %d bytes, want 32-64 and id 1-255: %w", id, len(k), vrrp.ErrConfig)
			}
		}
	}
	r.auth, r.keys = h, nil
	if h != nil {
		r.keys = make(map[uint8]*vrrp.HMACKey, len(h.Keys))
		for id, k := range h.Keys {
			r.keys[id] = vrrp.NewHMACKey(k)
		}
	}
	return nil
}
