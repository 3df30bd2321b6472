package engine

import (
	"context"
	"errors"
	"net"
	"runtime"
	"time"

	"github.com/hawatch/hawatch/core/vrrp"
	"github.com/hawatch/hawatch/core/vrrp/transport"
)

// maxBatch bounds the packets read from one socket per wake-up, so a flood
// on one interface cannot hold back the others' timers (the socket stays
// readable and is served again on the next wake-up).
const maxBatch = 64

// loopPolled is the production loop: it waits for the polled sockets, its
// inbox and the nearest deadline in one wait (poll_linux.go), reads each
// packet where it steps the router (stamped with the kernel's arrival
// time) and sends adverts from the same goroutine. An idle backup wakes
// once per advert received, a master once per advert sent.
func (e *Engine) loopPolled(ctx context.Context) error {
	if e.realtimeLoop() {
		// Locked: the thread is the loop's alone (plugins, metrics, the
		// control socket and netlink run on others), so its realtime
		// priority (node.realtime_priority, the escalation in
		// loopthread.go) stays with the loop. It costs a thread hand-off
		// per wake-up (the runtime's poller wakes another thread, which
		// passes the loop to this one), so only where realtime is asked
		// for.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	e.loopStarted()
	stop := context.AfterFunc(ctx, e.poll.notify)
	defer stop()
	buf := make([]byte, 9216) // a jumbo frame; VRRP messages are far smaller
	for {
		deadline := e.nextDeadline()
		if !deadline.IsZero() {
			deadline = deadline.Add(e.loop.slack)
		}
		events, err := e.poll.wait(deadline)
		now := time.Now()
		if err != nil {
			e.log.Error().Err(err).Msg("VRRP loop cannot wait for its sockets; shutting down")
			e.shutdown(now)
			return err
		}
		e.late(now, deadline)
		inbox := false
		for _, ev := range events {
			if ev.Fd == wakeToken {
				inbox = true
			} else if ev.Fd == timerToken {
				continue // the deadline: tick below
			} else if s := e.poll.socket(ev.Fd); s != nil {
				e.readPolled(now, s, buf)
			}
		}
		now = e.at(now)
		if ctx.Err() != nil {
			e.shutdown(now)
			return nil
		}
		if inbox {
			e.poll.drained()
			e.drainInbox(now)
		}
		e.tick(now)
	}
}

// readPolled steps the routers with what s has queued.
func (e *Engine) readPolled(now time.Time, s *socket, buf []byte) {
	conn, ok := s.conn.(polledConn)
	if !ok {
		return
	}
	for range maxBatch {
		p, err := conn.TryReadPacket(buf)
		switch {
		case errors.Is(err, transport.ErrWouldBlock), errors.Is(err, net.ErrClosed):
			return
		case err != nil:
			if e.limiter.allow("read:" + s.key.String()) {
				e.log.Error().Str("socket", s.key.String()).Err(err).Msg("read")
			}
			return
		}
		// The router keeps nothing of the advert past its step, so one
		// per socket is decoded into again and again: no allocation.
		e.receive(now, decode(s, p, &s.advert))
	}
}

// decode turns a packet into the loop's input, decoding into a.
func decode(s *socket, p transport.Packet, a *vrrp.Advert) rxPacket {
	rx := rxPacket{sock: s, src: p.Src, dst: p.Dst, ttl: p.TTL, at: p.At}
	a.Src, a.Dst = p.Src, p.Dst
	if err := a.UnmarshalBinary(p.Payload); err != nil {
		rx.err = err
	} else {
		rx.advert = a
	}
	return rx
}

// drainInbox handles everything the other goroutines queued.
func (e *Engine) drainInbox(now time.Time) {
	for {
		select {
		case r := <-e.results:
			e.observe(now, r)
		case g := <-e.grants:
			e.witnessed(now, g)
		case d := <-e.vipDone:
			e.vipApplied(now, d)
		case st := <-e.linkCh:
			e.linkChanged(now, st)
		case f := <-e.ctl:
			f(now)
		default:
			return
		}
	}
}

// notify wakes a polled loop after a send on one of its channels.
func (e *Engine) notify() {
	if e.poll != nil {
		e.poll.notify()
	}
}

// serve starts reading conn, the connection s has now: in the loop's own
// wait if conn is polled, else by a goroutine.
func (e *Engine) serve(ctx context.Context, s *socket, conn Conn) error {
	if pc, ok := conn.(polledConn); ok && e.poll != nil {
		return e.poll.add(s, pc)
	}
	e.wg.Go(func() { e.read(ctx, s, conn) })
	return nil
}
