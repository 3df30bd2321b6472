package control

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Cred is the identity of the process on the other end of the socket.
type Cred struct {
	PID      int32
	UID, GID uint32
}

// peerCred reads SO_PEERCRED: the kernel's word on who connected, which a
// client cannot forge.
func peerCred(c net.Conn) (Cred, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return Cred{}, errors.New("not a unix socket")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return Cred{}, err
	}
	var cred *unix.Ucred
	var serr error
	if err := raw.Control(func(fd uintptr) {
		cred, serr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return Cred{}, err
	}
	if serr != nil {
		return Cred{}, serr
	}
	return Cred{PID: cred.Pid, UID: cred.Uid, GID: cred.Gid}, nil
}

// inGroup reports whether the peer has gid as its primary group or as a
// supplementary one. SO_PEERCRED carries the primary group only; the
// supplementary ones come from /proc/PID/status of the connected process.
func (c Cred) inGroup(gid uint32) bool {
	if c.GID == gid {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.PID))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Groups:"); ok {
			for _, f := range strings.Fields(rest) {
				if g, err := strconv.ParseUint(f, 10, 32); err == nil && uint32(g) == gid {
					return true
				}
			}
			return false
		}
	}
	return false
}
