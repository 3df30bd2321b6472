package process

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Netlink proc connector constants (linux/connector.h, linux/cn_proc.h);
// x/sys does not carry them.
const (
	cnIdxProc = 0x1
	cnValProc = 0x1

	procCnMcastListen = 1
	procCnMcastIgnore = 2

	procEventFork = 0x00000001
	procEventExec = 0x00000002
	procEventComm = 0x00000200
	procEventExit = 0x80000000

	cnMsgLen     = 20 // struct cn_msg without data
	procEventHdr = 16 // what, cpu, timestamp_ns
)

// ErrOverflow means the kernel dropped proc events (ENOBUFS): the watcher
// must rescan /proc because it may have missed a birth.
var ErrOverflow = errors.New("proc connector overflow")

// procEvent is the part of a kernel proc_event the watcher uses. For a fork
// PID/TGID are the child's.
type procEvent struct {
	What uint32
	PID  int
	TGID int
}

// connector is a subscription to the kernel's process events.
type connector struct {
	fd int
}

// openConnector subscribes to process events. On kernels before the 2023
// change this needs CAP_NET_ADMIN; inside a non-initial pid namespace the
// kernel silently sends nothing, which selfTest detects.
func openConnector() (*connector, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_CONNECTOR)
	if err != nil {
		return nil, fmt.Errorf("proc connector socket: %w", err)
	}
	c := &connector{fd: fd}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: cnIdxProc}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("proc connector bind: %w", err)
	}
	// A burst of forks must not overflow the queue before we drain it; the
	// kernel caps this at rmem_max for unprivileged callers.
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 1<<20)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20)
	if err := c.control(procCnMcastListen); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("proc connector listen: %w", err)
	}
	return c, nil
}

func (c *connector) control(op uint32) error {
	msg := make([]byte, unix.NLMSG_HDRLEN+cnMsgLen+4)
	ne := binary.NativeEndian
	ne.PutUint32(msg[0:], uint32(len(msg)))
	ne.PutUint16(msg[4:], unix.NLMSG_DONE)
	ne.PutUint32(msg[12:], uint32(os.Getpid()))
	cn := msg[unix.NLMSG_HDRLEN:]
	ne.PutUint32(cn[0:], cnIdxProc)
	ne.PutUint32(cn[4:], cnValProc)
	ne.PutUint16(cn[16:], 4)
	ne.PutUint32(cn[cnMsgLen:], op)
	return unix.Sendto(c.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
}

// Close unsubscribes, so the kernel's listener count (which gates event
// generation system-wide) goes back down, and closes the socket.
func (c *connector) Close() error {
	_ = c.control(procCnMcastIgnore)
	return unix.Close(c.fd)
}

// read drains the socket without blocking and appends the events to evs.
// ErrOverflow is returned (with whatever was read) when events were lost.
func (c *connector) read(buf []byte, evs []procEvent) ([]procEvent, error) {
	for {
		n, from, err := unix.Recvfrom(c.fd, buf, 0)
		switch {
		case errors.Is(err, unix.EAGAIN):
			return evs, nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.ENOBUFS):
			return evs, ErrOverflow
		case err != nil:
			return evs, fmt.Errorf("proc connector read: %w", err)
		}
		// Only the kernel (port 0) speaks for the process table.
		if sa, ok := from.(*unix.SockaddrNetlink); !ok || sa.Pid != 0 {
			continue
		}
		evs = parseProcEvents(buf[:n], evs)
	}
}

// parseProcEvents decodes the netlink datagram b and appends the fork,
// exec, comm and exit events it carries. Malformed parts are skipped.
func parseProcEvents(b []byte, evs []procEvent) []procEvent {
	msgs, err := syscall.ParseNetlinkMessage(b)
	if err != nil {
		return evs
	}
	ne := binary.NativeEndian
	for _, m := range msgs {
		d := m.Data
		if len(d) < cnMsgLen+procEventHdr+8 {
			continue
		}
		if ne.Uint32(d[0:]) != cnIdxProc || ne.Uint32(d[4:]) != cnValProc {
			continue
		}
		ev := d[cnMsgLen:]
		what := ne.Uint32(ev[0:])
		data := ev[procEventHdr:]
		switch what {
		case procEventFork:
			if len(data) < 16 {
				continue
			}
			evs = append(evs, procEvent{What: what, PID: int(ne.Uint32(data[8:])), TGID: int(ne.Uint32(data[12:]))})
		case procEventExec, procEventComm, procEventExit:
			evs = append(evs, procEvent{What: what, PID: int(ne.Uint32(data[0:])), TGID: int(ne.Uint32(data[4:]))})
		}
	}
	return evs
}

// selfTest proves events actually arrive: it renames one of our own threads
// to its current name, which makes the kernel emit a COMM event for us, and
// waits up to timeout for it. In a container (non-initial pid namespace)
// the subscription succeeds but nothing is ever delivered; this catches it.
// Events read meanwhile are returned so the caller can still use them.
func (c *connector) selfTest(timeout time.Duration) ([]procEvent, error) {
	if err := touchThreadName(); err != nil {
		return nil, err
	}
	me := os.Getpid()
	buf := make([]byte, 8192)
	var evs []procEvent
	deadline := time.Now().Add(timeout)
	for {
		var err error
		start := len(evs)
		evs, err = c.read(buf, evs)
		if err != nil && !errors.Is(err, ErrOverflow) {
			return evs, err
		}
		for _, e := range evs[start:] {
			if e.What == procEventComm && e.TGID == me {
				return evs, nil
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			return evs, errors.New("proc connector delivers no events (non-initial pid namespace?)")
		}
		fds := []unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, int(left.Milliseconds())+1); err != nil && !errors.Is(err, unix.EINTR) {
			return evs, fmt.Errorf("proc connector poll: %w", err)
		}
	}
}

// touchThreadName sets the calling OS thread's name to what it already is.
// The thread stays locked during the two prctl calls so both hit the same
// task.
func touchThreadName() error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var name [16]byte
	if _, _, e := unix.Syscall(unix.SYS_PRCTL, unix.PR_GET_NAME, uintptr(unsafe.Pointer(&name[0])), 0); e != 0 {
		return fmt.Errorf("prctl get name: %w", e)
	}
	if _, _, e := unix.Syscall(unix.SYS_PRCTL, unix.PR_SET_NAME, uintptr(unsafe.Pointer(&name[0])), 0); e != 0 {
		return fmt.Errorf("prctl set name: %w", e)
	}
	return nil
}
