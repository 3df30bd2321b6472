package process

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/hawatch/hawatch/sdk"
)

// safetyRescan is the /proc rescan period while the proc connector works:
// it only repairs what events could not tell us (a pid file rewritten with
// no process event after it and no inotify).
const safetyRescan = 2 * time.Second

// connectorSelfTest bounds the wait for our own test event. The kernel
// queues it before prctl returns, so this only matters when it never comes.
const connectorSelfTest = 200 * time.Millisecond

const (
	modeConnector = "connector"
	modeRescan    = "rescan"
)

// watcher owns every descriptor of one Watch call; a single goroutine (the
// caller of run) uses it, so it needs no locks.
type watcher struct {
	s      *settings
	m      *matcher
	root   string
	log    zerolog.Logger
	now    func() time.Time
	report func(sdk.Result)

	ep   int
	wake int // eventfd written when ctx ends
	conn *connector
	ino  int // inotify on the pid file's directory, -1 if none

	tracked map[int]int // pid -> pidfd (-1 when pidfds are unavailable)
	byFd    map[int]int // pidfd -> pid
	noPidfd bool

	pidfilePid int
	pidfileErr string

	mode      string
	scanEvery time.Duration
	nextScan  time.Time
	deb       debouncer
	dueAt     time.Time // a debounced change is due
	evs       []procEvent
}

func newWatcher(s *settings, root string, log zerolog.Logger, report func(sdk.Result)) *watcher {
	return &watcher{
		s:       s,
		m:       newMatcher(root, s, os.Getpid(), os.Getppid()),
		root:    root,
		log:     log,
		now:     time.Now,
		report:  report,
		ep:      -1,
		wake:    -1,
		ino:     -1,
		tracked: make(map[int]int),
		byFd:    make(map[int]int),
		deb:     debouncer{delay: s.debounce},
	}
}

// watch runs the watcher until ctx ends.
func watch(ctx context.Context, s *settings, root string, log zerolog.Logger, report func(sdk.Result)) error {
	w := newWatcher(s, root, log, report)
	defer w.close()
	if err := w.open(); err != nil {
		return err
	}

	// The eventfd write is the only way to interrupt epoll_wait; the mutex
	// keeps it from racing with close.
	var mu sync.Mutex
	closed := false
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !closed {
			var one = [8]byte{1}
			_, _ = unix.Write(w.wake, one[:])
		}
	})
	defer func() {
		stop()
		mu.Lock()
		closed = true
		mu.Unlock()
	}()
	return w.run(ctx)
}

func (w *watcher) open() error {
	var err error
	if w.ep, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return fmt.Errorf("epoll: %w", err)
	}
	if w.wake, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return fmt.Errorf("eventfd: %w", err)
	}
	if err := w.add(w.wake); err != nil {
		return err
	}

	w.mode, w.scanEvery = modeRescan, w.s.rescan
	if w.s.useConnector {
		if err := w.openConnector(); err != nil {
			w.log.Warn().Err(err).Dur("rescan", w.s.rescan).Msg("proc connector unavailable, rescanning /proc")
		} else {
			w.mode, w.scanEvery = modeConnector, safetyRescan
		}
	}
	if w.s.pidfile != "" {
		if err := w.openInotify(); err != nil {
			w.log.Warn().Err(err).Msg("cannot watch the pid file's directory; relying on process events and rescans")
		}
	}
	w.rescan()
	return nil
}

func (w *watcher) openConnector() error {
	c, err := openConnector()
	if err != nil {
		return err
	}
	evs, err := c.selfTest(connectorSelfTest)
	if err != nil {
		c.Close()
		return err
	}
	if err := w.add(c.fd); err != nil {
		c.Close()
		return err
	}
	w.conn = c
	// The initial rescan that follows covers these; handling them is
	// harmless and keeps nothing stale.
	w.evs = evs[:0]
	return nil
}

func (w *watcher) openInotify() error {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return fmt.Errorf("inotify: %w", err)
	}
	dir := filepath.Dir(w.s.pidfile)
	mask := uint32(unix.IN_CLOSE_WRITE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM | unix.IN_CREATE | unix.IN_DELETE)
	if _, err := unix.InotifyAddWatch(fd, dir, mask); err != nil {
		unix.Close(fd)
		return fmt.Errorf("inotify %s: %w", dir, err)
	}
	if err := w.add(fd); err != nil {
		unix.Close(fd)
		return err
	}
	w.ino = fd
	return nil
}

func (w *watcher) add(fd int) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
	if err := unix.EpollCtl(w.ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("epoll add fd %d: %w", fd, err)
	}
	return nil
}

func (w *watcher) close() {
	for pid := range w.tracked {
		w.untrack(pid)
	}
	if w.conn != nil {
		w.conn.Close()
	}
	for _, fd := range []int{w.ino, w.wake, w.ep} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

func (w *watcher) run(ctx context.Context) error {
	events := make([]unix.EpollEvent, 64)
	buf := make([]byte, 64<<10)
	w.publish()
	for {
		if ctx.Err() != nil {
			return nil
		}
		n, err := unix.EpollWait(w.ep, events, w.timeoutMs())
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("epoll wait: %w", err)
		}
		rescanNow := false
		for _, ev := range events[:n] {
			fd := int(ev.Fd)
			switch {
			case fd == w.wake:
				return nil
			case w.conn != nil && fd == w.conn.fd:
				rescanNow = w.readConnector(buf) || rescanNow
			case fd == w.ino:
				w.drainInotify(buf)
				w.syncPidfile()
			default:
				if pid, ok := w.byFd[fd]; ok {
					w.untrack(pid) // the process exited
				}
			}
		}
		if rescanNow || !w.now().Before(w.nextScan) {
			w.rescan()
		}
		w.publish()
	}
}

// timeoutMs is how long epoll may sleep: until the next rescan or the
// moment a debounced change falls due, rounded up so we never wake early.
func (w *watcher) timeoutMs() int {
	next := w.nextScan
	if !w.dueAt.IsZero() && w.dueAt.Before(next) {
		next = w.dueAt
	}
	d := next.Sub(w.now())
	if d <= 0 {
		return 0
	}
	return int((d + time.Millisecond - 1) / time.Millisecond)
}

// readConnector handles queued process events and says whether a rescan is
// needed because some were lost.
func (w *watcher) readConnector(buf []byte) bool {
	var err error
	w.evs, err = w.conn.read(buf, w.evs[:0])
	w.handle(w.evs)
	switch {
	case err == nil:
		return false
	case errors.Is(err, ErrOverflow):
		w.log.Debug().Msg("proc connector overflow, rescanning")
		return true
	default:
		w.log.Warn().Err(err).Dur("rescan", w.s.rescan).Msg("proc connector failed, rescanning /proc")
		_ = unix.EpollCtl(w.ep, unix.EPOLL_CTL_DEL, w.conn.fd, nil)
		w.conn.Close()
		w.conn = nil
		w.mode, w.scanEvery = modeRescan, w.s.rescan
		return true
	}
}

func (w *watcher) handle(evs []procEvent) {
	for _, e := range evs {
		switch e.What {
		case procEventFork:
			if e.PID == e.TGID { // not a new thread
				w.consider(e.TGID)
			}
		case procEventExec, procEventComm:
			w.consider(e.TGID)
		case procEventExit:
			// With a pidfd the exit is seen there, and only once the whole
			// thread group is gone; the event is the fallback's signal.
			if fd, ok := w.tracked[e.TGID]; ok && fd < 0 && e.PID == e.TGID {
				w.untrack(e.TGID)
			}
		}
	}
	if w.s.pidfile != "" && len(evs) > 0 {
		w.syncPidfile()
	}
}

func (w *watcher) drainInotify(buf []byte) {
	for {
		if _, err := unix.Read(w.ino, buf); err != nil {
			return
		}
	}
}

// consider re-evaluates one process after an event about it.
func (w *watcher) consider(pid int) {
	if w.s.pidfile != "" && pid != w.pidfilePid {
		return
	}
	if w.m.match(pid) {
		w.track(pid)
	} else {
		w.untrack(pid)
	}
}

func (w *watcher) track(pid int) {
	if _, ok := w.tracked[pid]; ok {
		return
	}
	if w.noPidfd {
		if !isZombie(w.root, pid) {
			w.tracked[pid] = -1
		}
		return
	}
	fd, err := unix.PidfdOpen(pid, 0)
	switch {
	case errors.Is(err, unix.ESRCH):
		return
	case errors.Is(err, unix.ENOSYS):
		w.log.Warn().Msg("pidfd_open unsupported (Linux < 5.3): deaths are seen by rescans only")
		w.noPidfd = true
		w.mode, w.scanEvery = modeRescan, w.s.rescan
		w.track(pid)
		return
	case err != nil:
		w.log.Warn().Err(err).Int("pid", pid).Msg("pidfd_open failed")
		return
	}
	// The PID may have been reused between the match and pidfd_open; the
	// pidfd now pins the process, so check that one.
	if !w.m.match(pid) || exited(fd) {
		unix.Close(fd)
		return
	}
	if err := w.add(fd); err != nil {
		unix.Close(fd)
		w.log.Warn().Err(err).Int("pid", pid).Msg("cannot watch pidfd")
		return
	}
	w.tracked[pid] = fd
	w.byFd[fd] = pid
}

// exited reports whether the process behind pidfd has already exited
// (a zombie counts as dead).
func exited(pidfd int) bool {
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	return err == nil && n > 0 && fds[0].Revents&unix.POLLIN != 0
}

func (w *watcher) untrack(pid int) {
	fd, ok := w.tracked[pid]
	if !ok {
		return
	}
	if fd >= 0 {
		_ = unix.EpollCtl(w.ep, unix.EPOLL_CTL_DEL, fd, nil)
		unix.Close(fd)
		delete(w.byFd, fd)
	}
	delete(w.tracked, pid)
}

// rescan rebuilds the tracked set from /proc (or from the pid file).
func (w *watcher) rescan() {
	w.nextScan = w.now().Add(w.scanEvery)
	if w.s.pidfile != "" {
		w.syncPidfile()
		w.dropDead()
		return
	}
	pids, err := listPids(w.root)
	if err != nil {
		w.log.Warn().Err(err).Msg("rescan failed")
		return
	}
	seen := make(map[int]bool, len(w.tracked))
	for _, pid := range pids {
		if w.m.match(pid) {
			seen[pid] = true
			w.track(pid)
		}
	}
	for pid := range w.tracked {
		if !seen[pid] {
			w.untrack(pid)
		}
	}
	w.dropDead()
}

// dropDead removes processes tracked without a pidfd that have died.
func (w *watcher) dropDead() {
	for pid, fd := range w.tracked {
		if fd < 0 && isZombie(w.root, pid) {
			w.untrack(pid)
		}
	}
}

// syncPidfile follows the pid file to its current PID.
func (w *watcher) syncPidfile() {
	pid, err := readPidfile(w.s.pidfile)
	switch {
	case err == nil:
		w.pidfileErr = ""
	case errors.Is(err, ErrNoPid):
		// Caught mid-write: keep following the PID we had until the
		// writer finishes (an inotify close-write event follows).
		w.pidfileErr = err.Error()
		pid = w.pidfilePid
	default:
		w.pidfileErr = err.Error()
		pid = 0
	}
	if pid != w.pidfilePid {
		w.untrack(w.pidfilePid)
		w.pidfilePid = pid
	}
	if pid > 0 {
		w.consider(pid)
	}
}

func (w *watcher) publish() {
	pids := make([]int, 0, len(w.tracked))
	for pid := range w.tracked {
		pids = append(pids, pid)
	}
	extra := map[string]string{"watch": w.mode}
	if w.pidfileErr != "" {
		extra["pidfile_error"] = w.pidfileErr
	}
	out, emit, due := w.deb.observe(w.now(), evaluate(w.s, pids, extra))
	w.dueAt = due
	if emit {
		w.report(out)
	}
}
