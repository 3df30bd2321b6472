//go:build !linux

package splitbrain

import "errors"

// ErrUnsupported is returned on systems without AF_PACKET sockets.
var ErrUnsupported = errors.New("splitbrain: ARP and NDP probing are only supported on Linux")

func dialARP(string) (arpConn, error) { return nil, ErrUnsupported }

func listenAdverts(string) (advertSource, error) { return nil, ErrUnsupported }
