package trackfile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
	"unsafe"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

// RetryEvery is how often a directory that could not be watched (it does
// not exist yet) is tried again; its files read as 0 meanwhile.
const RetryEvery = time.Second

// The directory of each file is watched, not the file: a file replaced by
// a rename (an editor's save, `mv new file`) or deleted and written again
// is still seen. IN_CLOSE_WRITE rather than IN_MODIFY: the value is read
// once the writer is done, not halfway through.
const dirMask = unix.IN_CLOSE_WRITE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM | unix.IN_DELETE |
	unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ONLYDIR

// inotifyWatcher follows files with inotify.
type inotifyWatcher struct {
	log zerolog.Logger
}

// NewWatcher returns the platform's watcher (inotify on Linux).
func NewWatcher(log zerolog.Logger) Watcher {
	return &inotifyWatcher{log: log.With().Str("component", "trackfile").Logger()}
}

type dirWatch struct {
	dir   string
	wd    int // -1: not watched (yet)
	files map[string][]File
}

func (w *inotifyWatcher) Run(ctx context.Context, files []File, report func(Update)) {
	if len(files) == 0 {
		return
	}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		w.log.Error().Err(err).Msg("cannot watch track files; their values will not follow changes")
		return
	}
	// A non-blocking fd in an *os.File goes through the runtime poller:
	// Read parks instead of spinning, and Close wakes it.
	f := os.NewFile(uintptr(fd), "inotify")
	dirs := map[string]*dirWatch{}
	for _, tf := range files {
		d := filepath.Dir(tf.Path)
		if dirs[d] == nil {
			dirs[d] = &dirWatch{dir: d, wd: -1, files: map[string][]File{}}
		}
		dirs[d].files[filepath.Base(tf.Path)] = append(dirs[d].files[filepath.Base(tf.Path)], tf)
	}
	byWD := map[int]*dirWatch{}
	watch := func() (missing bool) {
		for _, d := range dirs {
			if d.wd >= 0 {
				continue
			}
			wd, err := unix.InotifyAddWatch(fd, d.dir, dirMask)
			if err != nil {
				missing = true
				continue
			}
			d.wd, byWD[wd] = wd, d
			w.log.Info().Str("dir", d.dir).Msg("watching track files")
			// Whatever happened before the watch is read now.
			for _, fs := range d.files {
				for _, tf := range fs {
					w.read(tf, report)
				}
			}
		}
		return missing
	}

	events := make(chan []byte)
	readErr := make(chan error, 1)
	go func() {
		defer close(events)
		buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
		for {
			n, err := f.Read(buf)
			if err != nil {
				readErr <- err
				return
			}
			b := make([]byte, n)
			copy(b, buf[:n])
			select {
			case events <- b:
			case <-ctx.Done():
				return
			}
		}
	}()
	defer func() {
		f.Close()
		for range events { // the reader ends: its Read fails on the closed file
		}
	}()

	retry := time.NewTicker(RetryEvery)
	defer retry.Stop()
	missing := watch()
	for {
		select {
		case <-ctx.Done():
			return
		case <-retry.C:
			if missing {
				missing = watch()
			}
		case b, ok := <-events:
			if !ok {
				err := <-readErr
				if !errors.Is(err, os.ErrClosed) {
					w.log.Error().Err(err).Msg("inotify read failed; track files are no longer followed")
				}
				return
			}
			if w.handle(b, dirs, byWD, report) {
				missing = true
			}
		}
	}
}

// handle decodes one read's events; it reports whether a directory was
// lost (its watch is then retried).
func (w *inotifyWatcher) handle(b []byte, dirs map[string]*dirWatch, byWD map[int]*dirWatch, report func(Update)) (lost bool) {
	for len(b) >= unix.SizeofInotifyEvent {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&b[0]))
		size := unix.SizeofInotifyEvent + int(ev.Len)
		if size > len(b) {
			break
		}
		name := cstring(b[unix.SizeofInotifyEvent:size])
		b = b[size:]
		if ev.Mask&unix.IN_Q_OVERFLOW != 0 {
			// Events were lost: read everything again.
			w.log.Warn().Msg("inotify queue overflowed; reading every track file again")
			for _, d := range dirs {
				for _, fs := range d.files {
					for _, tf := range fs {
						w.read(tf, report)
					}
				}
			}
			continue
		}
		d := byWD[int(ev.Wd)]
		if d == nil {
			continue
		}
		if ev.Mask&(unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_IGNORED) != 0 {
			// The directory itself went: its files read as 0 until it
			// is back and watched again.
			delete(byWD, d.wd)
			d.wd, lost = -1, true
			for _, fs := range d.files {
				for _, tf := range fs {
					report(Update{Name: tf.Name, Value: 0, Note: fmt.Sprintf("directory %s is gone: read as 0", d.dir)})
				}
			}
			continue
		}
		if ev.Mask&unix.IN_ISDIR != 0 {
			continue
		}
		for _, tf := range d.files[name] {
			if ev.Mask&(unix.IN_DELETE|unix.IN_MOVED_FROM) != 0 {
				report(Update{Name: tf.Name, Value: 0, Note: "removed: read as 0"})
				continue
			}
			w.read(tf, report)
		}
	}
	return lost
}

func (w *inotifyWatcher) read(tf File, report func(Update)) {
	v, note := Read(tf.Path)
	report(Update{Name: tf.Name, Value: v, Note: note})
}

func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
