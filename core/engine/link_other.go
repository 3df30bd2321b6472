//go:build !linux

package engine

import "github.com/rs/zerolog"

// defaultLinks is nil outside Linux: there are no kernel sockets to follow
// an interface for (transport.Listen is unsupported).
func defaultLinks(zerolog.Logger) LinkWatcher { return nil }
