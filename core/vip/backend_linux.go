package vip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// subscriptionBuffer is the receive buffer asked for the address
// subscription: room for thousands of address events, so a burst (an
// interface flush) does not overflow it. The kernel caps it at rmem_max; an
// overflow is survived anyway (resubscribe and re-list). A variable so a
// test can make it tiny.
var subscriptionBuffer = 1 << 20

// netlinkBackend is the kernel side of a Manager: vishvananda/netlink on one
// interface, in the namespace ns (netns.None() = the caller's).
type netlinkBackend struct {
	h       *netlink.Handle
	ns      netns.NsHandle
	ifname  string
	nsPath  string // of ns, for the sysctl; "" = the caller's
	promote bool   // set promote_secondaries (Options.KeepPromoteSecondaries unset)

	mu      sync.Mutex // guards link and restore, which rebind replaces
	link    netlink.Link
	restore func() error // undoes the sysctl change, nil when nothing changed
}

// lookupLink finds ifname; the error wraps ErrNoInterface when it is not
// there.
func lookupLink(h *netlink.Handle, ifname string) (netlink.Link, error) {
	link, err := h.LinkByName(ifname)
	var nf netlink.LinkNotFoundError
	switch {
	case errors.As(err, &nf):
		return nil, fmt.Errorf("%w: %w", ErrNoInterface, err)
	case err != nil:
		return nil, err
	}
	return link, nil
}

// current is the interface bound now.
func (b *netlinkBackend) current() netlink.Link {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.link
}

func (b *netlinkBackend) rebind() (int, net.HardwareAddr, error) {
	link, err := lookupLink(b.h, b.ifname)
	if err != nil {
		return 0, nil, fmt.Errorf("find interface: %w", err)
	}
	var restore func() error
	if b.promote {
		if restore, err = promoteSecondaries(b.nsPath, b.ifname); err != nil {
			return 0, nil, fmt.Errorf("set promote_secondaries: %w", err)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	// The old interface's sysctl went with it: what close puts back is the
	// new one's value. Rebinding the same interface found the sysctl on
	// already (we set it) and keeps the first value.
	if b.promote && link.Attrs().Index != b.link.Attrs().Index {
		b.restore = restore
	}
	b.link = link
	a := link.Attrs()
	return a.Index, a.HardwareAddr, nil
}

func (b *netlinkBackend) add(p netip.Prefix, o AddrOptions) error {
	a := &netlink.Addr{IPNet: toIPNet(p), Scope: int(o.Scope)}
	if p.Addr().Is4() {
		a.Label = o.Label
		if o.Broadcast.IsValid() {
			a.Broadcast = o.Broadcast.AsSlice()
		}
	} else {
		// No duplicate address detection: VRRP already decided this node is
		// the only holder, and a tentative address could neither be used
		// nor announced for the second or so DAD takes.
		a.Flags = unix.IFA_F_NODAD
	}
	err := b.h.AddrAdd(b.current(), a)
	switch {
	case errors.Is(err, unix.EEXIST):
		return errAddrExists
	case errors.Is(err, unix.ENODEV):
		return fmt.Errorf("%w: %w", errLinkGone, err)
	}
	return err
}

func (b *netlinkBackend) del(p netip.Prefix) error {
	err := b.h.AddrDel(b.current(), &netlink.Addr{IPNet: toIPNet(p)})
	// ENODEV: the interface is gone, and its addresses with it.
	if errors.Is(err, unix.EADDRNOTAVAIL) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENODEV) {
		return errAddrMissing
	}
	return err
}

func (b *netlinkBackend) list() ([]netip.Prefix, error) {
	addrs, err := b.h.AddrList(b.current(), netlink.FAMILY_ALL)
	if err != nil {
		return nil, err
	}
	out := make([]netip.Prefix, 0, len(addrs))
	for _, a := range addrs {
		if a.IPNet == nil {
			continue
		}
		if p, ok := fromIPNet(*a.IPNet); ok {
			out = append(out, p)
		}
	}
	return out, nil
}

func (b *netlinkBackend) watch(ctx context.Context, ready func() error, event func(addrEvent)) error {
	var (
		errMu   sync.Mutex
		lastErr error
	)
	ch := make(chan netlink.AddrUpdate, 256)
	done := make(chan struct{})
	opts := netlink.AddrSubscribeOptions{
		ErrorCallback: func(err error) {
			errMu.Lock()
			lastErr = err
			errMu.Unlock()
		},
		ReceiveBufferSize: subscriptionBuffer,
	}
	if b.ns.IsOpen() {
		opts.Namespace = &b.ns
	}
	if err := netlink.AddrSubscribeWithOptions(ch, done, opts); err != nil {
		return fmt.Errorf("%w: subscribe: %w", ErrSubscription, err)
	}
	// The library's goroutine owns ch: it stops when done is closed or a
	// receive fails (ENOBUFS after lost events, among others) and then
	// closes ch. Draining ch until then keeps it from blocking on a send and
	// means it has exited when watch returns.
	defer func() {
		close(done)
		for range ch {
		}
	}()
	if err := ready(); err != nil {
		return fmt.Errorf("%w: %w", ErrSubscription, err)
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case u, ok := <-ch:
			if !ok {
				errMu.Lock()
				defer errMu.Unlock()
				return fmt.Errorf("%w: %v", ErrSubscription, lastErr)
			}
			// The subscription covers the whole namespace: it outlives the
			// interface, and a rebind only moves this filter.
			if u.LinkIndex != b.current().Attrs().Index {
				continue
			}
			if p, ok := fromIPNet(u.LinkAddress); ok {
				event(addrEvent{prefix: p, added: u.NewAddr})
			}
		}
	}
}

func (b *netlinkBackend) close() error {
	var err error
	b.mu.Lock()
	restore := b.restore
	b.mu.Unlock()
	if restore != nil {
		err = restore()
	}
	b.h.Close()
	if b.ns.IsOpen() {
		err = errors.Join(err, b.ns.Close())
	}
	return err
}

func toIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func fromIPNet(n net.IPNet) (netip.Prefix, bool) {
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	ones, bits := n.Mask.Size()
	if bits != a.BitLen() {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, ones), true
}

// promoteSecondaries turns on net.ipv4.conf.<ifname>.promote_secondaries in
// the namespace at nsPath and returns how to undo it (nil when it was on).
func promoteSecondaries(nsPath, ifname string) (func() error, error) {
	path := "/proc/sys/net/ipv4/conf/" + ifname + "/promote_secondaries"
	var old string
	err := inNetNS(nsPath, func() error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		old = strings.TrimSpace(string(b))
		if old == "1" {
			return nil
		}
		return os.WriteFile(path, []byte("1"), 0o644)
	})
	if err != nil || old == "1" {
		return nil, err
	}
	return func() error {
		// The interface may be gone by now; nothing to restore then.
		err := inNetNS(nsPath, func() error { return os.WriteFile(path, []byte(old), 0o644) })
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}, nil
}
