//go:build !linux

package control

import (
	"errors"
	"net"
)

// Cred is the identity of the process on the other end of the socket.
type Cred struct {
	PID      int32
	UID, GID uint32
}

func peerCred(net.Conn) (Cred, error) { return Cred{}, errors.New("peer credentials need Linux") }

func (c Cred) inGroup(gid uint32) bool { return c.GID == gid }
