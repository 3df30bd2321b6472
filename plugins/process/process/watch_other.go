//go:build !linux

package process

import (
	"context"
	"errors"

	"github.com/rs/zerolog"

	"github.com/hawatch/hawatch/sdk"
)

// ErrUnsupported is returned by Watch on systems without pidfds and /proc.
var ErrUnsupported = errors.New("process check: only supported on Linux")

func watch(context.Context, *settings, string, zerolog.Logger, func(sdk.Result)) error {
	return ErrUnsupported
}
