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
	link    netlink.Link
	ns      netns.NsHandle
	restore func() error // undoes the sysctl change, nil when nothing changed
}

func (b *netlinkBackend) add(p netip.Prefix, label string) error {
	a := &netlink.Addr{IPNet: toIPNet(p)}
	if p.Addr().Is4() {
		a.Label = label
	} else {
		// No duplicate address detection: VRRP already decided this node is
		// the only holder, and a tentative address could neither be used
		// nor announced for the second or so DAD takes.
		a.Flags = unix.IFA_F_NODAD
	}
	err := b.h.AddrAdd(b.link, a)
	if errors.Is(err, unix.EEXIST) {
		return errAddrExists
	}
	return err
}

func (b *netlinkBackend) del(p netip.Prefix) error {
	err := b.h.AddrDel(b.link, &netlink.Addr{IPNet: toIPNet(p)})
	if errors.Is(err, unix.EADDRNOTAVAIL) || errors.Is(err, unix.ENOENT) {
		return errAddrMissing
	}
	return err
}

func (b *netlinkBackend) list() ([]netip.Prefix, error) {
	addrs, err := b.h.AddrList(b.link, netlink.FAMILY_ALL)
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
	index := b.link.Attrs().Index
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
			if u.LinkIndex != index {
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
	if b.restore != nil {
		err = b.restore()
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
