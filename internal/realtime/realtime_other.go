//go:build !linux

package realtime

import "errors"

func apply(int) error { return errors.New("realtime: only supported on Linux") }

func applyThread(int) error { return errors.New("realtime: only supported on Linux") }

// LockMemory is only supported on Linux.
func LockMemory() error { return errors.New("realtime: memory locking is only supported on Linux") }
