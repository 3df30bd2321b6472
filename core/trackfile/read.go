package trackfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"syscall"
)

// File is one track file to watch.
type File struct {
	Name string
	Path string // absolute, clean
}

// Update is a track file's value as just read. Note says why the value is
// not plainly the file's number (missing, unreadable, not a number), empty
// when it is.
type Update struct {
	Name  string
	Value int64
	Note  string
}

// Read reads the value of the file at path the way keepalived does: a
// missing or unreadable file, or one that does not start with a number,
// reads as 0, and Note says so. The open does not block on a FIFO; it
// follows symlinks (reading is harmless, and keepalived does too).
func Read(path string) (int64, string) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, "missing: read as 0"
	}
	if err != nil {
		return 0, fmt.Sprintf("unreadable (%v): read as 0", unwrapPath(err))
	}
	defer f.Close()
	buf := make([]byte, MaxRead)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return 0, fmt.Sprintf("unreadable (%v): read as 0", unwrapPath(err))
	}
	v, err := Parse(buf[:n])
	if err != nil {
		return v, fmt.Sprintf("%v: read as %d", err, v)
	}
	return v, ""
}

// unwrapPath drops the path from an *fs.PathError: the caller names the
// file already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Init writes v to path when the file does not exist, or always with
// overwrite (keepalived's init_file), so the value is known before the
// instances start. It refuses to write through a symlink or to anything
// but a regular file: the daemon runs as root.
func Init(path string, v int64, overwrite bool) error {
	flags := os.O_WRONLY | os.O_CREATE | syscall.O_NOFOLLOW
	if !overwrite {
		flags |= os.O_EXCL
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if !overwrite && errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("initialise track file %s: %w", path, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return fmt.Errorf("initialise track file %s: not a regular file", path)
	}
	if err := f.Truncate(0); err != nil {
		return fmt.Errorf("initialise track file %s: %w", path, err)
	}
	if _, err := f.WriteString(strconv.FormatInt(v, 10) + "\n"); err != nil {
		return fmt.Errorf("initialise track file %s: %w", path, err)
	}
	return f.Close()
}

// Watcher follows track files and reports each new value.
type Watcher interface {
	// Run reports the files' values whenever they may have changed (a
	// write closed, a file moved in, out or deleted) until ctx ends, and
	// returns once everything it started has stopped.
	Run(ctx context.Context, files []File, report func(Update))
}
