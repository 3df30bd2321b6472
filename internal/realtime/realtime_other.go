//go:build !linux

package realtime

import "errors"

func apply(int) error { return errors.New("realtime: only supported on Linux") }
