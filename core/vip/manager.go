package vip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// MaxLabelLen is the longest IPv4 address label the kernel stores (IFNAMSIZ-1).
const MaxLabelLen = 15

// Options tunes a Manager. The zero value is fine for production.
type Options struct {
	// NetNS is the path of a network namespace file (e.g. /run/netns/lb1)
	// in which the interface lives. The netlink handle, the address
	// subscription and the packet sockets are all opened there, whatever
	// namespace the calling goroutine is in. Empty: the caller's namespace.
	NetNS string
	// RateLimit caps announcement packets on the interface; the zero value
	// means DefaultRateLimit.
	RateLimit RateLimit
	// Clock drives the announce schedule, the rate limiter and the watch
	// retry backoff; nil means the system clock.
	Clock Clock
	// KeepPromoteSecondaries leaves the interface's IPv4
	// promote_secondaries sysctl alone. By default NewManager sets it to 1
	// (and puts the old value back on Close), as keepalived does: without
	// it, deleting the first address of a subnet deletes every other
	// address in that subnet, including VIPs other owners hold.
	KeepPromoteSecondaries bool
	// GARPReplyOnly announces IPv4 addresses with the reply form of
	// gratuitous ARP only. NewManager sets it on an interface whose MAC is
	// a virtual router MAC (a vmac macvlan, see VirtualMAC): there the
	// neighbours' entries never change on a takeover, only the switch has
	// to learn the MAC's new port, and a request form would draw an ARP
	// reply, from the same MAC, out of a node whose daemon died with the
	// VIP still on its macvlan, which moves the MAC straight back there.
	GARPReplyOnly bool
}

func (o Options) withDefaults() (Options, error) {
	if o.RateLimit == (RateLimit{}) {
		o.RateLimit = DefaultRateLimit
	}
	if err := o.RateLimit.Validate(); err != nil {
		return o, err
	}
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	return o, nil
}

// Stats are the Manager's counters since it was created, for status output
// and metrics.
type Stats struct {
	// AnnouncementsSent counts packets written: each GARP request, GARP
	// reply and neighbour advertisement is one.
	AnnouncementsSent uint64
	// AnnouncementErrors counts packets the socket refused.
	AnnouncementErrors uint64
	// AnnouncementsDelayed counts packets that waited for the rate limiter.
	AnnouncementsDelayed uint64
	// Reconciliations counts corrections of the interface.
	Reconciliations Reconciliations
	// Resubscriptions counts restarts of the kernel address subscription
	// (after an overflow or error), each followed by a full re-list.
	Resubscriptions uint64
}

// Reconciliations counts what the Manager changed on its own.
type Reconciliations struct {
	ReAdded uint64 // held addresses someone deleted, put back
	Removed uint64 // known addresses nobody holds, removed (watch and RemoveStale)
}

// backend is what the Manager needs from the kernel for its interface.
type backend interface {
	// add adds the prefix with its options (label and broadcast apply to
	// IPv4 only); errAddrExists when it is already there.
	add(p netip.Prefix, o AddrOptions) error
	// del deletes the prefix; errAddrMissing when it is not there.
	del(p netip.Prefix) error
	// list returns the interface's addresses.
	list() ([]netip.Prefix, error)
	// watch subscribes to address changes of the interface, calls ready once
	// the subscription is live (so a re-list then misses nothing), and calls
	// event for each change until ctx ends (returns ctx.Err()) or the
	// subscription breaks (returns an error wrapping ErrSubscription). It
	// returns only after everything it started has stopped. Only events of
	// the interface bound now are delivered, also after a rebind.
	watch(ctx context.Context, ready func() error, event func(addrEvent)) error
	// rebind binds the backend to the interface that carries its name now
	// and returns that interface's index and MAC; the error wraps
	// ErrNoInterface when there is none.
	rebind() (index int, mac net.HardwareAddr, err error)
	close() error
}

// addrEvent is one address change on the interface.
type addrEvent struct {
	prefix netip.Prefix
	added  bool // false: deleted
}

// sender writes announcement packets on the interface.
type sender interface {
	send(a announcement) error
	// rebind moves the sender to another interface index and MAC: new
	// sockets open on the next send. It returns what closes the sockets of
	// the old index, which may block (an AF_PACKET socket's close waits
	// for an RCU grace period, ~10 ms).
	rebind(index int, mac net.HardwareAddr) (closeOld func(), err error)
	close() error
}

// owner is what the Manager remembers about one owner.
type owner struct {
	known   []netip.Prefix // last set given to Watch or Acquire (host addresses excepted): stays known after Release
	holding bool
	held    []netip.Prefix // the set on the interface while holding
	// host are held prefixes that were on the interface before Acquire and
	// that no owner knew: the host's own addresses. They are never deleted
	// and never put back.
	host []netip.Prefix
	opts map[netip.Prefix]AddrOptions // of held prefixes; absent: none

	announce []netip.Prefix // last set given to Announce
	policy   Policy         // and its policy
	ann      *announcer     // running announcer, nil when none
}

// announcer is a running announce goroutine of one owner.
type announcer struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// Manager owns the VIPs of one interface. Its methods are safe for
// concurrent use. Goroutines it starts (one announcer per holding owner) are
// stopped by Release, Close, and waited for; Run runs in the caller's
// goroutine.
type Manager struct {
	log    zerolog.Logger
	noisy  zerolog.Logger // for what a fight over an address or a dead link repeats: sampled
	ifname string
	// replyOnly: Options.GARPReplyOnly.
	replyOnly bool
	be        backend
	tx        sender
	clock     Clock

	limMu sync.Mutex
	lim   *tokenBucket

	mu      sync.Mutex
	owners  map[string]*owner
	closed  bool
	running bool

	life   context.Context // ends at Close; parent of announcers and Run
	cancel context.CancelFunc
	wg     sync.WaitGroup

	sent, sendErrs, delayed, reAdded, removed, resubs atomic.Uint64
}

// newManager is the platform-neutral constructor; NewManager supplies the
// Linux backend and sender.
func newManager(log zerolog.Logger, ifname string, be backend, tx sender, opts Options) (*Manager, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	life, cancel := context.WithCancel(context.Background())
	log = log.With().Str("interface", ifname).Logger()
	return &Manager{
		log:       log,
		noisy:     log.Sample(&zerolog.BurstSampler{Burst: noisyBurst, Period: noisyPeriod}),
		ifname:    ifname,
		replyOnly: opts.GARPReplyOnly,
		be:        be,
		tx:        tx,
		clock:     opts.Clock,
		lim:       newTokenBucket(opts.RateLimit, opts.Clock.Now()),
		owners:    make(map[string]*owner),
		life:      life,
		cancel:    cancel,
	}, nil
}

// Interface returns the name of the managed interface.
func (m *Manager) Interface() string { return m.ifname }

// Acquire puts the prefixes on the interface for owner. label is the IPv4
// address label ("eth0:vip"; empty for none); it must start with the
// interface name. It does not announce: call Announce for that, once per
// takeover.
//
// Acquire is idempotent: addresses already present count as added, and
// calling it again with the same set changes nothing. A different set
// replaces the old one: dropped prefixes are deleted. An address that fails
// to add is reported in the returned error (all failures joined), the
// others are still added, and the owner counts as holding the whole set, so
// a later re-list retries the missing ones.
//
// An address that is already on the interface, held by no owner and known
// (Watch) by none, is the host's own: it counts as held, but Release never
// deletes it and reconciliation never puts it back.
func (m *Manager) Acquire(ctx context.Context, name string, prefixes []netip.Prefix, label string) error {
	addrs := make([]Address, len(prefixes))
	for i, p := range prefixes {
		addrs[i] = Address{Prefix: p, AddrOptions: AddrOptions{Label: label}}
	}
	return m.AcquireAddresses(ctx, name, addrs)
}

// AcquireAddresses is Acquire with options per address (label, scope,
// broadcast): keepalived's virtual_ipaddress lines carry them one by one.
// The options of an address apply when it is added, also when the
// reconciler puts it back.
func (m *Manager) AcquireAddresses(ctx context.Context, name string, addrs []Address) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	prefixes := make([]netip.Prefix, len(addrs))
	opts := make(map[netip.Prefix]AddrOptions, len(addrs))
	for i, a := range addrs {
		if err := m.validateOptions(a); err != nil {
			return err
		}
		prefixes[i] = a.Prefix
		if a.AddrOptions != (AddrOptions{}) {
			opts[a.Prefix] = a.AddrOptions
		}
	}
	set, err := m.normalize(prefixes)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	o := m.owner(name)
	wasHolding, prev, prevHost := o.holding, o.held, o.host
	var errs []error
	var host []netip.Prefix
	for _, pf := range set {
		if wasHolding && slices.Contains(prev, pf) {
			if slices.Contains(prevHost, pf) {
				host = append(host, pf)
			}
			continue
		}
		foreign := !m.heldAddr(pf.Addr()) && !m.knownAddr(pf.Addr())
		err := m.be.add(pf, opts[pf])
		switch {
		case errors.Is(err, errAddrExists) && foreign:
			host = append(host, pf)
		case err != nil && !errors.Is(err, errAddrExists):
			errs = append(errs, m.opError("add", pf, err))
		}
	}
	// The host's own addresses are never "known" VIPs: the reconciler
	// would delete them whenever nobody holds them.
	known := slices.DeleteFunc(slices.Clone(set), func(p netip.Prefix) bool { return slices.Contains(host, p) })
	o.known, o.held, o.holding, o.opts, o.host = known, set, true, opts, host
	for _, pf := range prev {
		if !slices.Contains(set, pf) && !slices.Contains(prevHost, pf) {
			errs = append(errs, m.deleteUnlessHeld(pf)...)
		}
	}
	if !wasHolding || !slices.Equal(prev, set) {
		ev := m.log.Info().Str("owner", name).Stringer("prefixes", prefixList(set))
		if len(host) > 0 {
			ev = ev.Stringer("host_addresses", prefixList(host))
		}
		ev.Msg("acquired")
	}
	return errors.Join(errs...)
}

// Announce starts announcing prefixes for owner by policy p, from a fresh
// burst, replacing owner's running schedule. It neither adds nor deletes
// addresses: announce what owner holds (after Acquire), or what the host
// itself carries (a VRRP address owner). An invalid policy does not stop
// the announcements: a master nobody hears about black-holes traffic, so
// DefaultPolicy is used and the error wraps ErrInvalidPolicy.
func (m *Manager) Announce(name string, prefixes []netip.Prefix, p Policy) error {
	set, err := m.normalize(prefixes)
	if err != nil {
		return err
	}
	var perr error
	if err := p.Validate(); err != nil {
		perr = fmt.Errorf("vip %s: owner %s: announcing by the default policy: %w", m.ifname, name, err)
		p = DefaultPolicy()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	o := m.owner(name)
	o.announce, o.policy = set, p
	m.startAnnouncer(name, o)
	return perr
}

// Quiet stops owner's announcements at once (no packet is written after it
// returns); Release does the same.
func (m *Manager) Quiet(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if o := m.owners[name]; o != nil {
		m.stopAnnouncer(o)
	}
}

// Release stops owner's announcements at once (no packet is written after
// Release returns) and deletes its addresses from the interface, except
// those another owner holds and the host's own (see Acquire). Releasing
// what is not held is a success.
func (m *Manager) Release(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	return errors.Join(m.release(name)...)
}

func (m *Manager) release(name string) []error {
	o := m.owners[name]
	if o == nil {
		return nil
	}
	m.stopAnnouncer(o)
	if !o.holding {
		return nil
	}
	held, host := o.held, o.host
	o.holding, o.held, o.host = false, nil, nil
	var errs []error
	for _, pf := range held {
		if !slices.Contains(host, pf) {
			errs = append(errs, m.deleteUnlessHeld(pf)...)
		}
	}
	m.log.Info().Str("owner", name).Stringer("prefixes", prefixList(held)).Msg("released")
	return errs
}

// Watch makes prefixes known as owner's without acquiring them: while no
// owner holds one of these addresses, Run removes it whenever it appears on
// the interface. It does not touch the interface or a held set; the known
// set of an owner is the last one given to Watch or Acquire.
func (m *Manager) Watch(name string, prefixes []netip.Prefix) error {
	set, err := m.normalize(prefixes)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.owner(name).known = set
	return nil
}

// Forget releases owner and drops everything known about it, so its
// addresses are no longer watched (an instance removed by a reload).
func (m *Manager) Forget(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	errs := m.release(name)
	delete(m.owners, name)
	return errors.Join(errs...)
}

// RemoveStale deletes those of prefixes that are on the interface and held by
// no owner, matching by address whatever the prefix length: the start-up
// clean-up of VIPs left behind by a crash. Call it before acquiring.
func (m *Manager) RemoveStale(ctx context.Context, prefixes []netip.Prefix) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	want, err := m.normalize(prefixes)
	if err != nil {
		return err
	}
	present, err := m.be.list()
	if err != nil {
		return &Error{Op: "list", Interface: m.ifname, Err: err}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	var errs []error
	for _, pf := range present {
		if !containsAddr(want, pf.Addr()) || m.heldAddr(pf.Addr()) {
			continue
		}
		if err := m.be.del(pf); err != nil {
			if !errors.Is(err, errAddrMissing) {
				errs = append(errs, m.opError("delete", pf, err))
			}
			continue
		}
		m.removed.Add(1)
		m.log.Warn().Stringer("prefix", pf).Msg("removed stale VIP left on the interface")
	}
	return errors.Join(errs...)
}

// Held returns the prefixes owner holds, nil when it holds none.
func (m *Manager) Held(name string) []netip.Prefix {
	m.mu.Lock()
	defer m.mu.Unlock()
	if o := m.owners[name]; o != nil && o.holding {
		return slices.Clone(o.held)
	}
	return nil
}

// Stats returns a snapshot of the counters.
func (m *Manager) Stats() Stats {
	return Stats{
		AnnouncementsSent:    m.sent.Load(),
		AnnouncementErrors:   m.sendErrs.Load(),
		AnnouncementsDelayed: m.delayed.Load(),
		Reconciliations:      Reconciliations{ReAdded: m.reAdded.Load(), Removed: m.removed.Load()},
		Resubscriptions:      m.resubs.Load(),
	}
}

// Logs that repeat with every event (a process that keeps deleting a VIP,
// sends failing on a dead link) keep at most noisyBurst lines per
// noisyPeriod; Stats count every occurrence.
const (
	noisyBurst  = 10
	noisyPeriod = 10 * time.Second
)

// Watch retry backoff when the subscription cannot be set up.
const (
	minWatchBackoff = 50 * time.Millisecond
	maxWatchBackoff = 5 * time.Second
)

// Run keeps the interface in line with ownership until ctx ends or Close is
// called: it subscribes to the interface's address changes, re-lists and
// corrects the interface each time the subscription (re)starts, and then
// reacts to each change: a held address that disappears is added back and
// its owner's announcements restart from a fresh burst; a known address that
// no owner holds and that appears is deleted. A broken subscription (for
// example an overflow of the kernel socket, where changes were lost) is
// re-established and followed by a full re-list.
//
// Run returns nil when stopped by ctx or Close. Only one Run may be active.
func (m *Manager) Run(ctx context.Context) error {
	m.mu.Lock()
	switch {
	case m.closed:
		m.mu.Unlock()
		return ErrClosed
	case m.running:
		m.mu.Unlock()
		return fmt.Errorf("vip %s: Run already active", m.ifname)
	}
	m.running = true
	m.wg.Add(1)
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.running = false
		m.mu.Unlock()
		m.wg.Done()
	}()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(m.life, cancel)
	defer stop()

	var backoff time.Duration
	for {
		live := false
		err := m.be.watch(ctx, func() error {
			live = true
			return m.reconcileAll()
		}, m.handleEvent)
		if ctx.Err() != nil {
			return nil
		}
		m.resubs.Add(1)
		// A subscription that worked and broke (an overflow) is replaced
		// at once: changes are being missed. One that cannot be set up
		// is retried with a growing pause.
		if live {
			backoff = 0
		} else {
			backoff = min(max(2*backoff, minWatchBackoff), maxWatchBackoff)
		}
		m.noisy.Warn().Err(err).Dur("retry_in", backoff).Msg("address watch ended; resubscribing and re-listing")
		if !m.sleep(ctx, backoff) {
			return nil
		}
	}
}

// Close stops the announcers and Run and releases the kernel resources. It
// does not delete held addresses: call Release first when the addresses must
// go (a daemon that stops); leaving them is the "keep VIPs on exit" choice.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	for _, o := range m.owners {
		m.stopAnnouncer(o)
	}
	m.cancel()
	m.mu.Unlock()
	m.wg.Wait()
	return errors.Join(m.tx.close(), m.be.close())
}

// Rebind binds the Manager to the interface that carries its name now. An
// interface deleted and created again (a veth re-created by a container
// runtime, a driver reloaded, a renamed device replaced) comes back with a
// new index, while the addresses, the address watch and the announcement
// sockets all name the old one: until a Rebind nothing the Manager does
// reaches the new interface. Rebind looks the name up again, turns on the
// new interface's promote_secondaries (unless Options.KeepPromoteSecondaries),
// moves the announcement sockets to it and re-lists: a held address missing
// from the new interface is added back and its owner announces again from
// a fresh burst, and a known address nobody holds is removed, as after any
// re-list. Ownership is kept throughout. Rebinding to the interface already
// bound is harmless (a re-list). The error wraps ErrNoInterface when no
// interface has the name.
func (m *Manager) Rebind(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	// Under m.mu, so no add or delete of an Acquire or Release straddles
	// the switch from one interface to the other.
	index, mac, err := m.be.rebind()
	var closeOld func()
	if err == nil {
		closeOld, err = m.tx.rebind(index, mac)
	}
	if closeOld != nil {
		// Off the recovery path; Close waits for it.
		m.wg.Go(closeOld)
	}
	m.mu.Unlock()
	if err != nil {
		return &Error{Op: "rebind", Interface: m.ifname, Err: err}
	}
	m.log.Info().Int("index", index).Stringer("mac", mac).Msg("bound to the interface now carrying the name")
	return m.reconcileAll()
}

// reconcileAll compares the whole interface with ownership and corrects it.
func (m *Manager) reconcileAll() error {
	present, err := m.be.list()
	if err != nil {
		return &Error{Op: "list", Interface: m.ifname, Err: err}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	for name, o := range m.owners {
		if !o.holding {
			continue
		}
		readded := false
		for _, pf := range o.held {
			if !slices.Contains(present, pf) && !slices.Contains(o.host, pf) && m.readd(name, o, pf) {
				readded = true
			}
		}
		if readded {
			m.startAnnouncer(name, o)
		}
	}
	for _, pf := range present {
		m.removeForeign(pf)
	}
	return nil
}

// handleEvent reacts to one address change. The kernel operation decides
// whether anything was wrong: events can arrive after Acquire or Release
// already moved on, and then the add finds the address (EEXIST) or the
// delete misses it, which is neither counted nor logged.
func (m *Manager) handleEvent(ev addrEvent) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	if ev.added {
		m.removeForeign(ev.prefix)
		return
	}
	for name, o := range m.owners {
		if o.holding && slices.Contains(o.held, ev.prefix) {
			if slices.Contains(o.host, ev.prefix) {
				return // the host's own address: not ours to put back
			}
			if m.readd(name, o, ev.prefix) {
				m.startAnnouncer(name, o)
			}
			return
		}
	}
}

// readd adds a held prefix that went missing and reports whether it was
// really missing.
func (m *Manager) readd(name string, o *owner, pf netip.Prefix) bool {
	if o.opts[pf].NoTrack {
		// keepalived's no_track: gone until the next takeover.
		m.log.Info().Str("owner", name).Stringer("prefix", pf).Msg("no_track VIP was deleted; not put back until the next takeover")
		return false
	}
	err := m.be.add(pf, o.opts[pf])
	switch {
	case errors.Is(err, errAddrExists):
		return false
	case errors.Is(err, errLinkGone):
		// The address went with the interface (the kernel deletes the
		// addresses before the link); Rebind puts it on the next one.
		m.log.Debug().Str("owner", name).Stringer("prefix", pf).Msg("interface gone; VIP not put back")
		return false
	case err != nil:
		m.noisy.Error().Err(m.opError("add", pf, err)).Str("owner", name).Msg("cannot put back deleted VIP")
		return false
	}
	m.reAdded.Add(1)
	m.noisy.Warn().Str("owner", name).Stringer("prefix", pf).Msg("VIP was deleted by someone else; added it back")
	return true
}

// removeForeign deletes pf when its address is known and held by nobody.
func (m *Manager) removeForeign(pf netip.Prefix) {
	if !m.knownAddr(pf.Addr()) || m.heldAddr(pf.Addr()) {
		return
	}
	err := m.be.del(pf)
	switch {
	case errors.Is(err, errAddrMissing):
		return
	case err != nil:
		m.noisy.Error().Err(m.opError("delete", pf, err)).Msg("cannot remove VIP that this node does not own")
		return
	}
	m.removed.Add(1)
	m.noisy.Warn().Stringer("prefix", pf).Msg("VIP appeared on the interface but no owner holds it; removed it")
}

// deleteUnlessHeld deletes pf unless an owner still holds it.
func (m *Manager) deleteUnlessHeld(pf netip.Prefix) []error {
	for _, o := range m.owners {
		if o.holding && slices.Contains(o.held, pf) {
			return nil
		}
	}
	if err := m.be.del(pf); err != nil && !errors.Is(err, errAddrMissing) {
		return []error{m.opError("delete", pf, err)}
	}
	return nil
}

func (m *Manager) heldAddr(a netip.Addr) bool {
	for _, o := range m.owners {
		if o.holding && containsAddr(o.held, a) {
			return true
		}
	}
	return false
}

func (m *Manager) knownAddr(a netip.Addr) bool {
	for _, o := range m.owners {
		if containsAddr(o.known, a) || containsAddr(o.held, a) {
			return true
		}
	}
	return false
}

func (m *Manager) owner(name string) *owner {
	o := m.owners[name]
	if o == nil {
		o = &owner{}
		m.owners[name] = o
	}
	return o
}

// startAnnouncer (re)starts owner's announce goroutine from a fresh burst
// of its Announce set; nothing when it never announced. Called with m.mu
// held.
func (m *Manager) startAnnouncer(name string, o *owner) {
	m.stopAnnouncer(o)
	if len(o.announce) == 0 {
		return
	}
	ctx, cancel := context.WithCancel(m.life)
	a := &announcer{cancel: cancel, done: make(chan struct{})}
	o.ann = a
	pkts := announcementsFor(o.announce, m.replyOnly)
	s := schedule{p: o.policy, start: m.clock.Now()}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(a.done)
		m.announce(ctx, name, pkts, s)
	}()
}

// stopAnnouncer stops owner's announce goroutine and waits for it, so no
// packet leaves after it returns. The announcer never takes m.mu, so this is
// safe with m.mu held.
func (m *Manager) stopAnnouncer(o *owner) {
	if o.ann == nil {
		return
	}
	o.ann.cancel()
	<-o.ann.done
	o.ann = nil
}

// announce sends pkts on schedule s until the schedule ends or ctx does.
func (m *Manager) announce(ctx context.Context, name string, pkts []announcement, s schedule) {
	for n := 0; ; n++ {
		at, ok := s.at(n)
		if !ok {
			return
		}
		if !m.sleep(ctx, at.Sub(m.clock.Now())) {
			return
		}
		n = s.skipMissed(n, m.clock.Now())
		var firstErr error
		failed := 0
		for _, a := range pkts {
			if !m.waitToken(ctx) {
				return
			}
			if err := m.tx.send(a); err != nil {
				m.sendErrs.Add(1)
				failed++
				if firstErr == nil {
					firstErr = m.opError("announce "+a.kind.String(), netip.PrefixFrom(a.addr, a.addr.BitLen()), err)
				}
				continue
			}
			m.sent.Add(1)
		}
		if firstErr != nil {
			m.noisy.Warn().Err(firstErr).Str("owner", name).Int("failed", failed).Int("packets", len(pkts)).Msg("announcement not sent")
		}
	}
}

// waitToken blocks until the rate limiter's turn for one packet comes;
// false when ctx ended first (the turn is then given back).
func (m *Manager) waitToken(ctx context.Context) bool {
	if ctx.Err() != nil {
		return false
	}
	m.limMu.Lock()
	wait := m.lim.reserve(m.clock.Now())
	m.limMu.Unlock()
	if wait == 0 {
		return true
	}
	if !m.sleep(ctx, wait) {
		m.limMu.Lock()
		m.lim.unreserve()
		m.limMu.Unlock()
		return false
	}
	m.delayed.Add(1)
	return true
}

// sleep waits d on the Manager's clock; false when ctx ended first.
func (m *Manager) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := m.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return ctx.Err() == nil
	}
}

func (m *Manager) opError(op string, pf netip.Prefix, err error) error {
	return &Error{Op: op, Interface: m.ifname, Prefix: pf, Err: err}
}

// normalize validates a prefix set and returns it sorted and de-duplicated.
// The address keeps its host bits: 198.51.100.50/24 is the address .50 with
// a /24, not the network.
func (m *Manager) normalize(prefixes []netip.Prefix) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(prefixes))
	for _, pf := range prefixes {
		a := pf.Addr()
		var why string
		switch {
		case !pf.IsValid():
			why = "not a valid prefix"
		case a.Is4In6():
			why = "IPv4-mapped IPv6 address"
		case a.IsUnspecified(), a.IsLoopback(), a.IsMulticast():
			why = "not a unicast address"
		}
		if why != "" {
			return nil, fmt.Errorf("vip %s %s: %w: %s", m.ifname, pf, ErrInvalidPrefix, why)
		}
		out = append(out, pf)
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	out = slices.Compact(out)
	for i := 1; i < len(out); i++ {
		if out[i].Addr() == out[i-1].Addr() {
			return nil, fmt.Errorf("vip %s %s: %w: address also given as %s", m.ifname, out[i], ErrInvalidPrefix, out[i-1])
		}
	}
	return out, nil
}

func (m *Manager) validateLabel(label string) error {
	if label == "" {
		return nil
	}
	if len(label) > MaxLabelLen || len(label) < len(m.ifname) || label[:len(m.ifname)] != m.ifname {
		return fmt.Errorf("vip %s: %w %q: must start with the interface name and be at most %d bytes",
			m.ifname, ErrInvalidLabel, label, MaxLabelLen)
	}
	return nil
}

// validateOptions checks one address's options against its prefix.
func (m *Manager) validateOptions(a Address) error {
	if err := m.validateLabel(a.Label); err != nil {
		return err
	}
	if b := a.Broadcast; b.IsValid() && (!b.Is4() || !a.Prefix.Addr().Is4()) {
		return fmt.Errorf("vip %s %s: %w: broadcast %s: IPv4 only", m.ifname, a.Prefix, ErrInvalidPrefix, b)
	}
	return nil
}

func containsAddr(set []netip.Prefix, a netip.Addr) bool {
	return slices.ContainsFunc(set, func(p netip.Prefix) bool { return p.Addr() == a })
}

// prefixList prints a prefix set in log fields.
type prefixList []netip.Prefix

func (l prefixList) String() string { return fmt.Sprint([]netip.Prefix(l)) }
