//go:build !linux

package vip

import "github.com/rs/zerolog"

// NewVMACs returns ErrUnsupported: macvlans need Linux.
func NewVMACs(log zerolog.Logger, nsPath string) (*VMACs, error) {
	return nil, ErrUnsupported
}
