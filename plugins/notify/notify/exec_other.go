//go:build !unix

package notify

import (
	"context"
	"errors"
)

// ErrUnsupported is returned by exec on systems without process groups.
var ErrUnsupported = errors.New("exec notifications need a Unix system")

func runExec(context.Context, *execSettings, event) error { return ErrUnsupported }
