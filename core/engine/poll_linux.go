package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// wakeToken is the epoll token of the inbox's eventfd; sockets count up
// from 1.
const wakeToken = 0

// poller is the loop's one wait: the polled sockets, an eventfd that
// goroutines feeding the loop's channels write after each send, and the
// nearest deadline of every router as the wait's timeout (nanosecond
// resolution: epoll_pwait2).
type poller struct {
	ep, wake int
	events   []unix.EpollEvent
	byToken  map[int32]*socket
	tokens   map[Conn]int32
	next     int32
	// pwait2: the kernel has epoll_pwait2 (Linux 5.11); before it the
	// timeout is rounded up to a millisecond.
	pwait2 bool
	// mu orders notify against close: a goroutine that notifies after
	// close must not write to a descriptor number the kernel has reused.
	mu     sync.RWMutex
	closed bool
}

func newPoller() (*poller, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll: %w", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(ep)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	p := &poller{ep: ep, wake: wake, events: make([]unix.EpollEvent, 64),
		byToken: map[int32]*socket{}, tokens: map[Conn]int32{}, next: 1, pwait2: true}
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, wake, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: wakeToken}); err != nil {
		p.close()
		return nil, fmt.Errorf("epoll add eventfd: %w", err)
	}
	return p, nil
}

// add makes conn, the connection s has now, part of the wait.
func (p *poller) add(s *socket, conn polledConn) error {
	tok := p.next
	p.next++
	if err := unix.EpollCtl(p.ep, unix.EPOLL_CTL_ADD, conn.FD(), &unix.EpollEvent{Events: unix.EPOLLIN, Fd: tok}); err != nil {
		return fmt.Errorf("epoll add %s: %w", s.key, err)
	}
	p.byToken[tok], p.tokens[conn] = s, tok
	return nil
}

// remove takes conn out of the wait before it is closed (a closed
// descriptor leaves epoll by itself, but its token must not be looked up
// again).
func (p *poller) remove(conn Conn) {
	tok, ok := p.tokens[conn]
	if !ok {
		return
	}
	if pc, ok := conn.(polledConn); ok {
		_ = unix.EpollCtl(p.ep, unix.EPOLL_CTL_DEL, pc.FD(), nil) // gone already if closed
	}
	delete(p.tokens, conn)
	delete(p.byToken, tok)
}

// socket is the socket of a ready token whose connection is still the one
// registered, or nil.
func (p *poller) socket(tok int32) *socket {
	return p.byToken[tok]
}

// maxWait caps one wait. The Go runtime's monitor thread (sysmon) takes
// the processor of a thread that has been in a system call for 10 ms and,
// once it has, polls every 20 µs for a millisecond each time the thread
// comes back: a loop that waits 100 ms at a time would cost ~60 such
// wake-ups per advert. A wait that never lasts 10 ms leaves sysmon at its
// slowest pace (10 ms) and the processor with the loop.
const maxWait = 9 * time.Millisecond

// wait blocks until a socket or the inbox is readable, deadline has passed
// (zero: no deadline) or maxWait is over, and returns the ready tokens'
// events (none after a timeout).
func (p *poller) wait(deadline time.Time) ([]unix.EpollEvent, error) {
	for {
		d := maxWait
		if !deadline.IsZero() {
			d = min(max(time.Until(deadline), 0), maxWait)
		}
		var ts *unix.Timespec
		msec := -1
		{
			t := unix.NsecToTimespec(d.Nanoseconds())
			ts = &t
			msec = int((d + time.Millisecond - 1) / time.Millisecond)
		}
		var n int
		var err error
		if p.pwait2 {
			r, _, errno := unix.Syscall6(unix.SYS_EPOLL_PWAIT2, uintptr(p.ep), uintptr(unsafe.Pointer(&p.events[0])),
				uintptr(len(p.events)), uintptr(unsafe.Pointer(ts)), 0, 0)
			n = int(r)
			if errno != 0 {
				err = errno
			}
			if errors.Is(err, unix.ENOSYS) {
				p.pwait2 = false
				continue
			}
		} else {
			n, err = unix.EpollWait(p.ep, p.events, msec)
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("epoll wait: %w", err)
		}
		return p.events[:n], nil
	}
}

// notify wakes the loop: something was sent on one of its channels. Safe
// from any goroutine; a full counter (never in practice) wakes it as well.
func (p *poller) notify() {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	p.mu.RLock()
	defer p.mu.RUnlock()
	if !p.closed {
		_, _ = unix.Write(p.wake, one[:])
	}
}

// drained resets the eventfd after a wake-up (before the channels are
// drained, so a send after it wakes the loop again).
func (p *poller) drained() {
	var b [8]byte
	_, _ = unix.Read(p.wake, b[:])
}

func (p *poller) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	unix.Close(p.wake)
	unix.Close(p.ep)
}
