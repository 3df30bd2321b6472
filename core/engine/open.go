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
	"github.com/hawatch/hawatch/core/vrrp"
	"github.com/hawatch/hawatch/core/vrrp/transport"
)

// Conn is the slice of transport.Conn the engine uses: one raw VRRP socket
// per interface, family and mode.
type Conn interface {
	ReadPacket(buf []byte) (transport.Packet, error)
	WriteTo(payload []byte, dst netip.Addr) error
	LocalAddr() netip.Addr
	Group() netip.Addr
	Drops() map[string]uint64
	Close() error
}

// VIPManager is the slice of vip.Manager the engine uses: one per interface.
type VIPManager interface {
	vipOwner
	Watch(owner string, prefixes []netip.Prefix) error
	Forget(ctx context.Context, owner string) error
	RemoveStale(ctx context.Context, prefixes []netip.Prefix) error
	Run(ctx context.Context) error
	Stats() vip.Stats
	Close() error
}

// Listen and NewVIPManager are the real constructors; Options may replace
// them (tests run the loop over in-memory fakes).
func defaultListen(o transport.Options) (Conn, error) { return transport.Listen(o) }

func defaultNewVIPManager(log zerolog.Logger, ifname string) (VIPManager, error) {
	return vip.NewManager(log, ifname, vip.Options{})
}

// vipManager is a VIP manager with the goroutine that runs its reconciler.
type vipManager struct {
	VIPManager
	done chan struct{}
}

// open creates one socket per (interface, family, mode) and one VIP manager
// per interface, removes VIPs left over from a crash, and starts the reader
// and reconciler goroutines (all stopped by ctx and closeAll).
func (e *Engine) open(ctx context.Context) error {
	for _, in := range e.instances {
		if err := e.attach(ctx, in); err != nil {
			return err
		}
	}
	for _, g := range e.groups {
		g.coord = vrrp.NewGroup(g.name)
		for _, m := range g.members {
			if err := g.coord.Add(m.cfg.Name, m.m); err != nil {
				return err
			}
		}
	}
	// A crash can leave VIPs on the interface; nobody owns them yet, so they
	// go. An instance that becomes master re-adds its own.
	for ifname, vm := range e.vips {
		var stale []netip.Prefix
		for _, in := range e.instances {
			if in.cfg.Interface == ifname && !in.cfg.AddressOwner {
				stale = append(stale, in.cfg.VirtualIPs...)
			}
		}
		rctx, cancel := context.WithTimeout(ctx, e.opts.VIPTimeout)
		err := vm.RemoveStale(rctx, stale)
		cancel()
		if err != nil {
			return fmt.Errorf("remove stale VIPs on %s: %w", ifname, err)
		}
	}
	return nil
}

// attach binds an instance to its socket (opened on first use) and its
// interface's VIP manager, and builds its state machine.
func (e *Engine) attach(ctx context.Context, in *instance) error {
	ic := in.cfg
	key := socketKey{ifname: ic.Interface, family: ic.Family(), unicast: len(ic.UnicastPeers) > 0, source: ic.UnicastSource}
	s := e.sockets[key]
	if s == nil {
		opts := transport.Options{Interface: ic.Interface, Family: transport.Family(ic.Family()), Unicast: key.unicast, Source: ic.UnicastSource}
		for _, other := range e.cfg.Instances {
			if other.Interface == ic.Interface && other.Family() == ic.Family() {
				opts.Peers = append(opts.Peers, other.UnicastPeers...)
			}
		}
		conn, err := e.opts.Listen(opts)
		if err != nil {
			return fmt.Errorf("instance %s: %w", ic.Name, err)
		}
		s = &socket{key: key, conn: conn, local: conn.LocalAddr(), byVRID: map[uint8]*instance{}, drops: map[string]uint64{}, peers: map[netip.Addr]bool{}}
		for _, p := range opts.Peers {
			s.peers[p] = true
		}
		e.sockets[key] = s
		go e.read(ctx, s, conn)
	}
	for _, p := range ic.UnicastPeers {
		if len(s.peers) > 0 && !s.peers[p] {
			return fmt.Errorf("instance %s: unicast peer %s is not in the allow-list of the running socket %s; restart hawatch to add peers", ic.Name, p, key)
		}
	}
	if other := s.byVRID[ic.VRID]; other != nil {
		return fmt.Errorf("instance %s: VRID %d already used by instance %s on %s", ic.Name, ic.VRID, other.cfg.Name, key)
	}
	s.byVRID[ic.VRID] = in
	in.sock = s
	mc := machineConfig(ic, s.local)
	in.filter = &mc
	in.m = vrrp.NewMachine(mc)
	in.prioSent = ic.Priority

	vm := e.vips[ic.Interface]
	if vm == nil {
		m, err := e.opts.NewVIPManager(e.log, ic.Interface) // the Manager adds the interface field itself
		if err != nil {
			return fmt.Errorf("instance %s: %w", ic.Name, err)
		}
		vm = &vipManager{VIPManager: m, done: make(chan struct{})}
		e.vips[ic.Interface] = vm
		go func() {
			defer close(vm.done)
			if err := m.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				e.log.Error().Str("interface", ic.Interface).Err(err).Msg("VIP reconciler stopped")
			}
		}()
	}
	in.vips = vm
	if !ic.AddressOwner {
		// Known VIPs: the reconciler removes them whenever this node
		// does not hold them (someone added one by hand, or a crash).
		if err := vm.Watch(ic.Name, ic.VirtualIPs); err != nil {
			return fmt.Errorf("instance %s: %w", ic.Name, err)
		}
	}
	return nil
}

// detach shuts an instance down (priority 0 if master, VIPs released) and
// unbinds it; its socket stays open for the others.
func (e *Engine) detach(now time.Time, in *instance) {
	e.step(now, in, vrrp.Shutdown{})
	delete(in.sock.byVRID, in.cfg.VRID)
	ctx, cancel := context.WithTimeout(context.Background(), e.opts.VIPTimeout)
	defer cancel()
	if vm, ok := in.vips.(*vipManager); ok {
		if err := vm.Forget(ctx, in.cfg.Name); err != nil {
			e.log.Error().Str("instance", in.cfg.Name).Err(err).Msg("forget virtual addresses")
		}
	}
}

// read decodes packets off one socket and hands them to the loop.
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
		rx := rxPacket{sock: s, src: p.Src}
		if p.Dst.IsMulticast() && p.TTL != 255 {
			rx.err = fmt.Errorf("ttl %d: %w", p.TTL, vrrp.ErrTTL)
		} else {
			a := &vrrp.Advert{Src: p.Src, Dst: p.Dst}
			if err := a.UnmarshalBinary(p.Payload); err != nil {
				rx.err = err
			} else {
				rx.advert = a
			}
		}
		select {
		case e.rx <- rx:
		case <-ctx.Done():
			return
		}
	}
}

func (e *Engine) closeAll() {
	for _, s := range e.sockets {
		s.conn.Close()
	}
	for _, vm := range e.vips {
		vm.Close()
	}
}

// VIPStats are one interface's announcement and reconciliation counters.
type VIPStats = vip.Stats

func (vm *vipManager) stats() VIPStats { return vm.Stats() }
