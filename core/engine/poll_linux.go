package engine

import (
	"encoding/binary"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// wakeToken is the epoll token of the inbox's eventfd, timerToken the
// deadline timer's; sockets count up from 1.
const (
	wakeToken  = 0
	timerToken = -1
)

// poller is the loop's one wait: the polled sockets, an eventfd that
// goroutines feeding the loop's channels write after each send, and a
// timerfd armed for the nearest deadline of every router (nanosecond
// resolution; the Go runtime's own timers wake at millisecond
// granularity). The epoll descriptor itself sits in the Go runtime's
// poller, so the loop goroutine parks like any other and one thread
// wake-up carries each packet or deadline to it.
//
// Measured on an idle pair at 10 ms adverts, thread wake-ups per advert:
// a reading goroutine per socket handing packets to the loop over a
// channel, 7-10; the loop blocking in epoll_pwait2 itself, ~18 (the
// runtime's monitor thread takes the processor of a goroutine that never
// passes through the scheduler every 10 ms, then polls at 20 µs for a
// while); this, with the loop's system calls raw (rawRead8), ~1.1, as
// keepalived.
type poller struct {
	ep, wake, timer int
	file            *os.File // ep, as the Go poller sees it
	rc              syscall.RawConn
	armed           time.Time // the deadline the timer is armed for
	// readFn collects ready events into events (n of them, or werr)
	// without blocking; made once, as a closure per wait would allocate.
	readFn  func(fd uintptr) bool
	n       int
	werr    error
	events  []unix.EpollEvent
	byToken map[int32]*socket
	tokens  map[Conn]int32
	next    int32
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
	p := &poller{ep: ep, wake: -1, timer: -1, events: make([]unix.EpollEvent, 64),
		byToken: map[int32]*socket{}, tokens: map[Conn]int32{}, next: 1}
	fail := func(what string, err error) (*poller, error) {
		p.close()
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if p.wake, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return fail("eventfd", err)
	}
	if p.timer, err = unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_CLOEXEC|unix.TFD_NONBLOCK); err != nil {
		return fail("timerfd", err)
	}
	for _, r := range []struct {
		fd  int
		tok int32
	}{{p.wake, wakeToken}, {p.timer, timerToken}} {
		if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, r.fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: r.tok}); err != nil {
			return fail("epoll add", err)
		}
	}
	// Non-blocking, so os.NewFile hands it to the runtime's poller.
	if err := unix.SetNonblock(ep, true); err != nil {
		return fail("epoll nonblock", err)
	}
	p.readFn = func(fd uintptr) bool {
		// Timeout 0: never blocks (the runtime's poller does the waiting).
		r, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, fd, uintptr(unsafe.Pointer(&p.events[0])), uintptr(len(p.events)), 0, 0, 0)
		p.n, p.werr = int(r), nil
		if errno != 0 {
			p.n, p.werr = 0, errno
		}
		return p.n > 0 || (p.werr != nil && p.werr != unix.EINTR)
	}
	p.file = os.NewFile(uintptr(ep), "vrrp-epoll")
	if p.rc, err = p.file.SyscallConn(); err != nil {
		return fail("epoll in the Go poller", err)
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

// wait blocks until a socket or the inbox is readable or deadline has
// passed (zero: no deadline), and returns the ready tokens' events: arm
// the timer for deadline, then park until the epoll descriptor has
// something.
func (p *poller) wait(deadline time.Time) ([]unix.EpollEvent, error) {
	if !deadline.Equal(p.armed) {
		var its unix.ItimerSpec // zero: disarmed
		if !deadline.IsZero() {
			its.Value = unix.NsecToTimespec(max(time.Until(deadline), time.Nanosecond).Nanoseconds())
		}
		if _, _, errno := unix.RawSyscall6(unix.SYS_TIMERFD_SETTIME, uintptr(p.timer), 0, uintptr(unsafe.Pointer(&its)), 0, 0, 0); errno != 0 {
			return nil, fmt.Errorf("timerfd: %w", errno)
		}
		p.armed = deadline
	}
	err := p.rc.Read(p.readFn)
	if err == nil {
		err = p.werr
	}
	n := p.n
	if err != nil {
		return nil, fmt.Errorf("epoll wait: %w", err)
	}
	for _, ev := range p.events[:n] {
		if ev.Fd == timerToken {
			rawRead8(p.timer)
			p.armed = time.Time{} // fired: arm again whatever comes next
		}
	}
	return p.events[:n], nil
}

// notify wakes the loop: something was sent on one of its channels. Safe
// from any goroutine; a full counter (never in practice) wakes it as well.
// (An ordinary system call: it runs on the sender's goroutine.)
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
	rawRead8(p.wake)
}

// rawRead8 reads the 8-byte counter of a non-blocking eventfd or timerfd,
// resetting it. The loop's own system calls on non-blocking descriptors
// are raw: each Go system call made after the process was idle wakes the
// runtime's monitor thread (sysmon) from its deep sleep, which doubled the
// thread wake-ups per advert.
func rawRead8(fd int) {
	var b [8]byte
	_, _, _ = unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), 8)
}

func (p *poller) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	for _, fd := range []int{p.wake, p.timer} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	if p.file != nil {
		p.file.Close() // leaves the Go poller, closes ep
	} else {
		unix.Close(p.ep)
	}
}
