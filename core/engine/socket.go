package engine

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/hawatch/hawatch/core/vrrp"
	"github.com/hawatch/hawatch/core/vrrp/transport"
)

// socketKey identifies one shared VRRP socket: instances on the same
// interface, family and delivery mode (and unicast source) share it and are
// told apart by VRID.
type socketKey struct {
	ifname  string
	family  int
	unicast bool
	source  netip.Addr
	ttl     uint8 // unicast_ttl
}

func (k socketKey) String() string {
	mode := "multicast"
	if k.unicast {
		mode = "unicast"
	}
	return fmt.Sprintf("%s/ipv%d/%s", k.ifname, k.family, mode)
}

type socket struct {
	key  socketKey
	opts transport.Options // to open it again on a re-created interface
	conn Conn
	// index is the interface index conn was opened for (0 when links are
	// not followed).
	index  int
	local  netip.Addr
	byVRID map[uint8]*binding
	drops  map[string]uint64   // before demultiplexing: undecodable, unknown VRID
	peers  map[netip.Addr]bool // the transport's unicast allow-list
	// advert is decoded into by the polled loop, packet after packet.
	advert vrrp.Advert
}

// rxPacket is one received advert (or the reason it could not be decoded),
// handed from a socket's reader goroutine to the loop.
type rxPacket struct {
	sock     *socket
	src, dst netip.Addr
	ttl      int
	at       time.Time // the kernel's receive time (zero: unknown)
	advert   *vrrp.Advert
	err      error
}
