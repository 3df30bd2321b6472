package transport_test

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hawatch/hawatch/core/vrrp/transport"
	"github.com/hawatch/hawatch/internal/netlab"
)

// waitReadable blocks on fd with poll(2) (the way an owner's epoll would)
// or fails the test after ioTimeout.
func waitReadable(t testing.TB, fd int) {
	t.Helper()
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, int(ioTimeout/time.Millisecond))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		if n == 0 {
			t.Fatalf("fd %d not readable within %v", fd, ioTimeout)
		}
		return
	}
}

// TestPolled: a polled socket is read by its owner (FD readable, then
// TryReadPacket until ErrWouldBlock), carries the kernel's receive time,
// and refuses the blocking read; a socket in the Go poller refuses the
// polled one.
func TestPolled(t *testing.T) {
	lab := netlab.New(t, netlab.Options{Nodes: 2, IPv6: true})
	a, b := lab.Nodes[0], lab.Nodes[1]
	for _, tt := range []struct {
		family     transport.Family
		srcA, dstB netip.Addr
	}{
		{transport.IPv4, a.Addr4, b.Addr4},
		{transport.IPv6, a.LinkLocal, b.LinkLocal},
	} {
		t.Run(tt.family.String(), func(t *testing.T) {
			ca := listen(t, a, transport.Options{Family: tt.family})
			cb := listen(t, b, transport.Options{Family: tt.family, Polled: true})
			if cb.FD() < 0 || ca.FD() != -1 {
				t.Fatalf("FD() = %d (polled), %d (Go poller); want >= 0, -1", cb.FD(), ca.FD())
			}
			buf := make([]byte, 1500)
			if _, err := cb.TryReadPacket(buf); !errors.Is(err, transport.ErrWouldBlock) {
				t.Fatalf("TryReadPacket on an empty queue: %v, want ErrWouldBlock", err)
			}
			if _, err := cb.ReadPacket(buf); !errors.Is(err, transport.ErrPolled) {
				t.Fatalf("ReadPacket on a polled socket: %v, want ErrPolled", err)
			}
			if _, err := ca.TryReadPacket(buf); !errors.Is(err, transport.ErrNotPolled) {
				t.Fatalf("TryReadPacket on a Go-polled socket: %v, want ErrNotPolled", err)
			}
			// Two packets queue while nobody reads; both are read in one
			// wake-up and carry when they arrived, not when they were read.
			sent := time.Now()
			for _, m := range []string{"first", "second"} {
				if err := ca.WriteTo([]byte(m), ca.Group()); err != nil {
					t.Fatal(err)
				}
			}
			waitReadable(t, cb.FD())
			time.Sleep(50 * time.Millisecond) // the queueing delay At must not include
			read := time.Now()
			for _, m := range []string{"first", "second"} {
				p, err := cb.TryReadPacket(buf)
				if err != nil {
					t.Fatalf("TryReadPacket: %v", err)
				}
				if !bytes.Equal(p.Payload, []byte(m)) || p.Src != tt.srcA || p.Dst != ca.Group() || p.TTL != 255 {
					t.Fatalf("read %+v (%q), want %q from %v to %v TTL 255", p, p.Payload, m, tt.srcA, ca.Group())
				}
				if p.At.Before(sent) || !p.At.Before(read.Add(-40*time.Millisecond)) {
					t.Errorf("At = sent%+v, read at sent%+v: want the arrival, before the 50 ms wait", p.At.Sub(sent), read.Sub(sent))
				}
			}
			if _, err := cb.TryReadPacket(buf); !errors.Is(err, transport.ErrWouldBlock) {
				t.Fatalf("after draining: %v, want ErrWouldBlock", err)
			}
			// The polled socket sends too, and unicast works on it.
			if err := cb.WriteTo([]byte("reply"), cb.Group()); err != nil {
				t.Fatal(err)
			}
			if got := readWithin(t, ca); string(got.Payload) != "reply" {
				t.Fatalf("A read %q, want the polled socket's reply", got.Payload)
			}
			if err := cb.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := cb.TryReadPacket(buf); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("TryReadPacket after Close: %v, want net.ErrClosed", err)
			}
		})
	}
}

// TestPolledAllocs: sending and reading an advert on a polled socket
// allocates nothing.
func TestPolledAllocs(t *testing.T) {
	lab := netlab.New(t, netlab.Options{Nodes: 2, NoClient: true, IPv6: true})
	for _, f := range []transport.Family{transport.IPv4, transport.IPv6} {
		t.Run(f.String(), func(t *testing.T) {
			ca := listen(t, lab.Nodes[0], transport.Options{Family: f, Polled: true})
			cb := listen(t, lab.Nodes[1], transport.Options{Family: f, Polled: true})
			msg, buf := make([]byte, 20), make([]byte, 1500)
			allocs := testing.AllocsPerRun(100, func() {
				if err := ca.WriteTo(msg, ca.Group()); err != nil {
					t.Fatal(err)
				}
				waitReadable(t, cb.FD())
				if _, err := cb.TryReadPacket(buf); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Fatalf("%v allocations per advert sent and read, want 0", allocs)
			}
		})
	}
}
