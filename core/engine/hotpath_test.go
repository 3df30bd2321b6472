package engine

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hawatch/hawatch/core/config"
	"github.com/hawatch/hawatch/core/vrouter"
	"github.com/hawatch/hawatch/core/vrrp"
	"github.com/hawatch/hawatch/core/vrrp/transport"
)

// discardConn is a socket whose sends go nowhere and that reads nothing:
// the hot-path benchmarks measure the engine, not a fake's buffering.
type discardConn struct {
	local  netip.Addr
	sent   int
	closed chan struct{}
}

func (c *discardConn) ReadPacket([]byte) (transport.Packet, error) {
	<-c.closed
	return transport.Packet{}, net.ErrClosed
}
func (c *discardConn) WriteTo([]byte, netip.Addr) error { c.sent++; return nil }
func (c *discardConn) LocalAddr() netip.Addr            { return c.local }
func (c *discardConn) Drops() map[string]uint64         { return nil }
func (c *discardConn) Close() error {
	close(c.closed)
	return nil
}

// hotPathEngine opens (without running its loop) an engine with one
// instance at 10 ms adverts and priority prio over a discarding socket;
// the benchmarks drive its loop's handlers from the test goroutine.
func hotPathEngine(tb testing.TB, prio int) (*Engine, *binding, *discardConn, time.Time) {
	tb.Helper()
	pol := strings.Replace(policy(prio, ""), `advert_interval   = "1s"`, `advert_interval   = "10ms"`, 1)
	cfg, diags := config.Parse([]byte(pol), "lb1.hcl")
	if diags.HasErrors() {
		tb.Fatalf("policy: %v", diags)
	}
	conn := &discardConn{local: netip.MustParseAddr("198.51.100.11"), closed: make(chan struct{})}
	vips := newFakeVIPs()
	e, err := New(zerolog.Nop(), cfg, Options{
		Listen:        func(transport.Options) (Conn, error) { return conn, nil },
		NewVIPManager: func(_ zerolog.Logger, ifname string) (VIPManager, error) { return vips.manager(ifname), nil },
	})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.runCtx = ctx
	tb.Cleanup(func() { e.closeAll(cancel) })
	if err := e.open(ctx); err != nil {
		tb.Fatal(err)
	}
	e.timers.rebuild(e.bindings)
	b := e.bindings[0]
	now := time.Now()
	e.step(now, b, vrouter.Start{})
	return e, b, conn, now
}

// advertFrom is the wire form of a v3 advert from src at prio.
func advertFrom(tb testing.TB, src string, prio uint8) transport.Packet {
	tb.Helper()
	a := vrrp.Advert{Version: 3, Type: 1, VRID: 51, Priority: prio, Interval: 1, // 1 cs
		Addresses: []netip.Addr{netip.MustParseAddr("198.51.100.50")},
		Src:       netip.MustParseAddr(src), Dst: transport.GroupIPv4}
	b, err := a.MarshalBinary()
	if err != nil {
		tb.Fatal(err)
	}
	return transport.Packet{Payload: b, Src: a.Src, Dst: a.Dst, TTL: 255}
}

// TestHotPathEngineAllocs: in steady state the loop's handling of an advert
// allocates nothing, received by a backup (decode, step, re-arm) or sent
// by a master (deadline, step, encode, send).
func TestHotPathEngineAllocs(t *testing.T) {
	t.Run("backup receives", func(t *testing.T) {
		e, b, _, now := hotPathEngine(t, 50)
		pkt := advertFrom(t, "198.51.100.12", 100)
		step := func() {
			now = now.Add(10 * time.Millisecond)
			pkt.At = now
			e.receive(now, decode(b.sock, pkt, &b.sock.advert))
		}
		step()
		if st := b.r.Snapshot().State; st != vrrp.StateBackup {
			t.Fatalf("state %v, want BACKUP", st)
		}
		if n := testing.AllocsPerRun(200, step); n != 0 {
			t.Fatalf("%v allocations per advert received, want 0", n)
		}
	})
	t.Run("master sends", func(t *testing.T) {
		e, b, conn, _ := hotPathEngine(t, 100)
		// Alone on the segment: master after Master_Down_Interval.
		for range 10 {
			e.tick(e.nextDeadline())
		}
		if st := b.r.Snapshot().State; st != vrrp.StateMaster {
			t.Fatalf("state %v, want MASTER", st)
		}
		sent := conn.sent
		step := func() { e.tick(e.nextDeadline()) }
		if n := testing.AllocsPerRun(200, step); n != 0 {
			t.Fatalf("%v allocations per advert sent, want 0", n)
		}
		if conn.sent-sent < 200 {
			t.Fatalf("%d adverts sent in 201 ticks", conn.sent-sent)
		}
	})
}

// BenchmarkHotPathEngine measures the loop's work per advert, without the
// system calls (the transport's benchmarks have those):
//
//	go test -run=none -bench HotPathEngine -benchmem ./core/engine
func BenchmarkHotPathEngine(b *testing.B) {
	b.Run("backup-receive", func(b *testing.B) {
		e, bd, _, now := hotPathEngine(b, 50)
		pkt := advertFrom(b, "198.51.100.12", 100)
		b.ReportAllocs()
		for b.Loop() {
			now = now.Add(10 * time.Millisecond)
			pkt.At = now
			e.receive(now, decode(bd.sock, pkt, &bd.sock.advert))
		}
	})
	b.Run("master-send", func(b *testing.B) {
		e, _, _, _ := hotPathEngine(b, 100)
		for range 10 {
			e.tick(e.nextDeadline())
		}
		b.ReportAllocs()
		for b.Loop() {
			e.tick(e.nextDeadline())
		}
	})
}
