//go:build !linux

package pluginhost

import (
	"errors"
	"syscall"
)

var errUserUnsupported = errors.New("running plugins as another user is only supported on Linux")

func sysProcAttr(cred *credential) (*syscall.SysProcAttr, error) {
	if cred != nil {
		return nil, errUserUnsupported
	}
	return nil, nil
}

func verifyDropped(pid int, cred *credential) error { return errUserUnsupported }

func lowerThreadPriority() {}
