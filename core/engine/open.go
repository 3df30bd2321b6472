package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/rs/zerolog"

	"github.com/hawatch/hawatch/core/vip"
	"github.com/hawatch/hawatch/core/vrouter"
	"github.com/hawatch/hawatch/core/vrrp"
	"github.com/hawatch/hawatch/core/vrrp/transport"
)

// Conn is the slice of transport.Conn the engine uses: one raw VRRP socket
// per interface, family and mode.
type Conn interface {
	ReadPacket(buf []byte) (transport.Packet, error)
	WriteTo(payload []byte, dst netip.Addr) error
	LocalAddr() netip.Addr
	Drops() map[string]uint64
	Close() error
}

// defaultListen and defaultNewVIPManager are the real constructors; Options
// may replace them (tests run the loop over in-memory fakes).
func defaultListen(o transport.Options) (Conn, error) {
	o.Polled = true // read by the loop itself (loop_polled.go)
	return transport.Listen(o)
}

func defaultNewVIPManager(log zerolog.Logger, ifname string) (VIPManager, error) {
	return vip.NewManager(log, ifname, vip.Options{})
}

// open attaches every instance (opening sockets and VIP workers on first
// use), builds the sync groups, and removes VIPs left over from a crash.
func (e *Engine) open(ctx context.Context) error {
	if err := e.openFence(ctx); err != nil {
		return err
	}
	for _, b := range e.bindings {
		if err := e.attach(ctx, b); err != nil {
			return err
		}
	}
	for _, g := range e.cfg.SyncGroups {
		var members []*vrouter.Router
		for _, name := range g.Instances {
			if b := e.byName[name]; b != nil {
				members = append(members, b.r)
			}
		}
		if _, err := vrouter.NewGroup(g.Name, members...); err != nil {
			return err
		}
	}
	// A crash can leave VIPs on the interface; nobody owns them yet, so they
	// go. An instance that becomes master adds its own back. The address
	// owner's VIPs are the host's own and are never touched.
	for ifname, w := range e.workers {
		var stale []netip.Prefix
		for _, b := range e.bindings {
			if !b.cfg.AddressOwner {
				for _, a := range addressesByDev(b.cfg)[ifname] {
					stale = append(stale, a.Prefix)
				}
			}
		}
		rctx, cancel := context.WithTimeout(ctx, e.opts.VIPTimeout)
		err := w.mgr.RemoveStale(rctx, stale)
		cancel()
		if err != nil {
			return fmt.Errorf("remove stale VIPs on %s: %w", ifname, err)
		}
	}
	if err := e.removeStaleRoutes(ctx); err != nil {
		return err
	}
	return e.acquireStatic(ctx)
}

// attach binds an instance to its socket and its interface's VIP worker
// (opening either on first use) and builds its router.
func (e *Engine) attach(ctx context.Context, b *binding) error {
	ic := b.cfg
	key := socketKey{ifname: ic.AdvertInterface(), family: ic.Family(), unicast: len(ic.UnicastPeers) > 0, source: ic.UnicastSource}
	if key.unicast {
		key.ttl = ic.UnicastTTL
	} else {
		key.source = ic.McastSource
	}
	now := time.Now()
	// The macvlan first: the link code follows it, and the socket and the
	// VIP manager bind to it.
	if err := e.ensureVMAC(ctx, ic); err != nil {
		return err
	}
	if err := e.followAll(now, ic); err != nil {
		return fmt.Errorf("instance %s: %w", ic.Name, err)
	}
	s := e.sockets[key]
	if s == nil {
		opts := transport.Options{Interface: key.ifname, Family: transport.Family(ic.Family()), Unicast: key.unicast,
			Source: key.source, SourceInterface: ic.Interface, UnicastTTL: key.ttl}
		if key.unicast {
			// The allow-list is the union of the peers of the instances
			// that share this unicast socket, and only theirs: a multicast
			// socket on the same interface takes every sender, and each
			// router filters by its own mode and peers.
			for _, other := range e.cfg.Instances {
				if other.AdvertInterface() == key.ifname && other.Family() == ic.Family() &&
					len(other.UnicastPeers) > 0 && other.UnicastSource == ic.UnicastSource && other.UnicastTTL == ic.UnicastTTL {
					opts.Peers = append(opts.Peers, other.UnicastPeers...)
				}
			}
		}
		conn, err := e.opts.Listen(opts)
		if err != nil {
			return fmt.Errorf("instance %s: %w", ic.Name, err)
		}
		s = &socket{key: key, opts: opts, conn: conn, local: conn.LocalAddr(), byVRID: map[uint8]*binding{}, drops: map[string]uint64{}, peers: map[netip.Addr]bool{}}
		if l := e.links[key.ifname]; l != nil {
			s.index = l.bound
		}
		for _, p := range opts.Peers {
			s.peers[p] = true
		}
		if err := e.serve(ctx, s, conn); err != nil {
			conn.Close()
			return fmt.Errorf("instance %s: %w", ic.Name, err)
		}
		e.sockets[key] = s
	}
	for _, p := range ic.UnicastPeers {
		if len(s.peers) > 0 && !s.peers[p] {
			return fmt.Errorf("instance %s: unicast peer %s is not in the allow-list of the running socket %s; restart hawatch to add peers", ic.Name, p, key)
		}
	}
	if other := s.byVRID[ic.VRID]; other != nil {
		return fmt.Errorf("instance %s: VRID %d already used by instance %s on %s", ic.Name, ic.VRID, other.cfg.Name, key)
	}
	rc := routerConfig(ic, e.cfg.Checks, s.local)
	rc.Tracks = e.tracks(ic, e.cfg.Checks)
	rc.StartupDelay = e.startDelay
	r, err := vrouter.NewRouter(rc)
	if err != nil {
		return err
	}
	fence, err := e.fenceFor(ic)
	if err != nil {
		return err
	}
	w, err := e.vipWorker(ctx, ic.VIPInterface())
	if err != nil {
		return fmt.Errorf("instance %s: %w", ic.Name, err)
	}
	// Addresses with a dev live on their own interface's worker.
	byDev := addressesByDev(ic)
	specs := map[*vipWorker]vipSpec{}
	workers := []*vipWorker{w}
	for dev, as := range byDev {
		dw, err := e.vipWorker(ctx, dev)
		if err != nil {
			return fmt.Errorf("instance %s: %w", ic.Name, err)
		}
		specs[dw] = vipSpec{addrs: vipAddresses(as, labelFor(ic, dev)), policy: vipPolicy(ic), lowerPrio: lowerPrioPolicy(ic), addressOwner: ic.AddressOwner, fence: fence}
		if dw != w {
			workers = append(workers, dw)
		}
	}
	set, err := routeSetOf(ic.Routes, ic.Rules)
	if err != nil {
		return fmt.Errorf("instance %s: %w", ic.Name, err)
	}
	if !set.empty() {
		rw, err := e.routes(ctx)
		if err != nil {
			return fmt.Errorf("instance %s: %w", ic.Name, err)
		}
		rw.register(ic.Name, set)
		b.routes = true
	}
	s.byVRID[ic.VRID] = b
	b.r, b.sock, b.worker, b.workers = r, s, w, workers
	for _, dw := range workers {
		dw.register(ic.Name, specs[dw])
	}
	// What the interfaces are now, before the router starts: one that is
	// down starts the instance in FAULT, as keepalived does.
	e.tellRouter(now, b)
	return nil
}

// vipWorker returns the VIP worker of ifname, opening its manager on first
// use.
func (e *Engine) vipWorker(ctx context.Context, ifname string) (*vipWorker, error) {
	if w := e.workers[ifname]; w != nil {
		return w, nil
	}
	m, err := e.opts.NewVIPManager(e.log, ifname) // the Manager adds the interface field itself
	if err != nil {
		return nil, err
	}
	w := newVIPWorker(e.log, ifname, m, e.opts.VIPTimeout, e.reportVIP)
	e.workers[ifname] = w
	w.start(ctx)
	return w, nil
}

// reportVIP hands a worker's completion to the loop.
func (e *Engine) reportVIP(ctx context.Context, d vipDone) {
	select {
	case e.vipDone <- d:
		e.notify()
	case <-ctx.Done():
	}
}

// detach shuts an instance down (priority 0 if master, VIPs released by its
// worker, which then forgets it) and unbinds it; its socket stays open for
// the others.
func (e *Engine) detach(now time.Time, b *binding) {
	e.step(now, b, vrouter.Shutdown{})
	delete(b.sock.byVRID, b.cfg.VRID)
	for _, w := range b.workers {
		w.forget(b.cfg.Name)
	}
	if b.routes {
		e.routeWorker.forget(b.cfg.Name)
	}
}

// read decodes packets off one of s's connections (the one it has now, or
// had before the interface was re-created) and hands them to the loop.
func (e *Engine) read(ctx context.Context, s *socket, conn Conn) {
	buf := make([]byte, 1500)
	for {
		p, err := conn.ReadPacket(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || ctx.Err() != nil {
				return
			}
			e.log.Error().Str("socket", s.key.String()).Err(err).Msg("read")
			continue
		}
		select {
		case e.rx <- decode(s, p, new(vrrp.Advert)): // it crosses the channel: a fresh one
		case <-ctx.Done():
			return
		}
	}
}

// closeAll stops everything Run started and waits for it: the loop has
// ended, so sockets close (their readers return), check forwarders and VIP
// workers stop, and each VIP manager closes.
func (e *Engine) closeAll(cancel context.CancelFunc) {
	cancel()
	for _, s := range e.sockets {
		s.conn.Close()
	}
	for _, w := range e.workers {
		if err := w.stop(); err != nil {
			e.log.Error().Str("interface", w.ifname).Err(err).Msg("close VIP manager")
		}
	}
	if e.routeWorker != nil {
		if err := e.routeWorker.stop(); err != nil {
			e.log.Error().Err(err).Msg("close route manager")
		}
	}
	e.wg.Wait()
	e.closeFence()
	e.closeVMACs()
}
