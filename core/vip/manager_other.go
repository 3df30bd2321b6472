//go:build !linux

package vip

import "github.com/rs/zerolog"

// NewManager returns ErrUnsupported: address management needs Linux.
func NewManager(log zerolog.Logger, ifname string, opts Options) (*Manager, error) {
	return nil, ErrUnsupported
}
