package vip

import (
	"errors"
	"fmt"
	"net/netip"
)

// Exported sentinel errors; test with errors.Is.
var (
	// ErrClosed is returned by operations on a closed Manager.
	ErrClosed = errors.New("vip: manager closed")
	// ErrUnsupported is returned by NewManager on systems other than Linux.
	ErrUnsupported = errors.New("vip: address management needs Linux")
	// ErrNoInterface is returned when the interface does not exist.
	ErrNoInterface = errors.New("vip: no such interface")
	// ErrInvalidPrefix is returned for an address that cannot be a VIP.
	ErrInvalidPrefix = errors.New("vip: invalid prefix")
	// ErrInvalidLabel is returned for an IPv4 label that the kernel would
	// refuse: it must start with the interface name and fit in 15 bytes.
	ErrInvalidLabel = errors.New("vip: invalid label")
	// ErrInvalidPolicy is returned by Policy.Validate.
	ErrInvalidPolicy = errors.New("vip: invalid announce policy")
	// ErrSubscription is returned by the address watch when the kernel
	// subscription ends (for example after the socket overflowed); Run
	// resubscribes and re-lists on its own.
	ErrSubscription = errors.New("vip: address subscription ended")
)

// Error is the error of one address operation. It carries the operation, the
// interface and the prefix, and wraps the cause (an errno from netlink, a
// socket error, or one of the sentinels above).
type Error struct {
	Op        string // "add", "delete", "list", "announce", ...
	Interface string
	Prefix    netip.Prefix // invalid when the operation is not about one prefix
	Err       error
}

func (e *Error) Error() string {
	if e.Prefix.IsValid() {
		return fmt.Sprintf("vip %s %s: %s: %v", e.Interface, e.Prefix, e.Op, e.Err)
	}
	return fmt.Sprintf("vip %s: %s: %v", e.Interface, e.Op, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// errAddrExists and errAddrMissing are how a backend reports the two
// outcomes that idempotent operations treat as success.
var (
	errAddrExists  = errors.New("address already present")
	errAddrMissing = errors.New("address not present")
)

// errLinkGone wraps a backend's error for an operation on an interface
// that no longer exists (ENODEV): until Rebind there is nothing to add to.
var errLinkGone = errors.New("interface gone")
