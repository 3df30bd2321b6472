//go:build !linux

package splitbrain

import "net/netip"

func dialNDP(string, netip.Addr) (ndpConn, error) { return nil, ErrUnsupported }
