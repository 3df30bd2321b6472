//go:build !linux

package route

import "github.com/rs/zerolog"

// NewManager returns ErrUnsupported: routes and rules need Linux.
func NewManager(log zerolog.Logger, opts Options) (*Manager, error) {
	return nil, ErrUnsupported
}
