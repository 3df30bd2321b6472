package engine

import (
	"github.com/hawatch/hawatch/core/vrrp/transport"
)

// polledConn is a socket the loop reads itself (transport.Options.Polled):
// the loop waits for every such socket, its inbox and its next deadline in
// one epoll (poll_linux.go), and reads each packet where it steps the
// router. A socket that is not (a fake in tests) is read by a
// goroutine that hands packets to the loop over a channel.
type polledConn interface {
	Conn
	FD() int
	TryReadPacket(buf []byte) (transport.Packet, error)
}
