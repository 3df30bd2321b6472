package route

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/rs/zerolog"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// NewManager returns a Manager working in the namespace of opts.NetNS (the
// caller's when empty). It needs CAP_NET_ADMIN.
func NewManager(log zerolog.Logger, opts Options) (*Manager, error) {
	ns := netns.None()
	if opts.NetNS != "" {
		var err error
		if ns, err = netns.GetFromPath(opts.NetNS); err != nil {
			return nil, fmt.Errorf("route: open netns %s: %w", opts.NetNS, err)
		}
	}
	var (
		h   *netlink.Handle
		err error
	)
	if ns.IsOpen() {
		h, err = netlink.NewHandleAt(ns)
	} else {
		h, err = netlink.NewHandle()
	}
	if err != nil {
		if ns.IsOpen() {
			_ = ns.Close()
		}
		return nil, fmt.Errorf("route: netlink handle: %w", err)
	}
	return newManager(log, &netlinkBackend{h: h, ns: ns}, opts), nil
}

// netlinkBackend is the kernel side: vishvananda/netlink in one namespace.
type netlinkBackend struct {
	h  *netlink.Handle
	ns netns.NsHandle
}

func prefixNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func ip(a netip.Addr) net.IP {
	if !a.IsValid() {
		return nil
	}
	return a.AsSlice()
}

// kernelRoute is r as netlink takes it; the device is looked up by name
// each time, so an interface created again is found under its new index.
func (b *netlinkBackend) kernelRoute(r Route) (*netlink.Route, error) {
	k := &netlink.Route{
		Dst: prefixNet(r.Dst), Gw: ip(r.Via), Src: ip(r.Src), Priority: r.Metric, Table: r.Table,
		Type: int(r.typ()), Protocol: netlink.RouteProtocol(r.Protocol),
	}
	if r.Dst.Addr().Is4() {
		k.Family, k.Scope = unix.AF_INET, netlink.Scope(r.Scope)
	} else {
		k.Family = unix.AF_INET6
	}
	if r.OnLink {
		k.Flags |= int(netlink.FLAG_ONLINK)
	}
	if r.Dev != "" {
		l, err := b.h.LinkByName(r.Dev)
		if err != nil {
			return nil, fmt.Errorf("device %s: %w", r.Dev, err)
		}
		k.LinkIndex = l.Attrs().Index
	}
	if r.multipath() {
		// Each nexthop carries the device and flags; the route itself none.
		for _, nh := range r.Nexthops {
			if nh.IsValid() {
				k.MultiPath = append(k.MultiPath, &netlink.NexthopInfo{Gw: nh.AsSlice(), LinkIndex: k.LinkIndex, Flags: k.Flags})
			}
		}
		k.LinkIndex, k.Flags = 0, 0
	}
	return k, nil
}

func (b *netlinkBackend) addRoute(r Route) error {
	k, err := b.kernelRoute(r)
	if err != nil {
		return err
	}
	if err := b.h.RouteAdd(k); errors.Is(err, unix.EEXIST) {
		return errExists
	} else if err != nil {
		return err
	}
	return nil
}

func (b *netlinkBackend) delRoute(r Route) error {
	k, err := b.kernelRoute(r)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		return errMissing // the device went, and its routes with it
	}
	if err != nil {
		return err
	}
	err = b.h.RouteDel(k)
	if errors.Is(err, unix.ESRCH) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENODEV) {
		return errMissing
	}
	return err
}

func kernelRule(r Rule) *netlink.Rule {
	k := netlink.NewRule()
	k.Family, k.Table, k.IifName, k.OifName = unix.AF_INET, r.Table, r.IIF, r.OIF
	if r.Family == 6 {
		k.Family = unix.AF_INET6
	}
	if r.Priority != 0 {
		k.Priority = r.Priority
	}
	if r.From.IsValid() {
		k.Src = prefixNet(r.From)
	}
	if r.To.IsValid() {
		k.Dst = prefixNet(r.To)
	}
	if r.HasMark {
		k.Mark = r.Mark
		if r.Mask != 0 {
			mask := r.Mask
			k.Mask = &mask
		}
	}
	return k
}

// findRule reports whether the kernel has a rule matching r. A rule added
// without a priority gets a fresh one from the kernel each time, so adding
// it again would not fail with EEXIST but make a second copy: existence is
// decided by listing.
func (b *netlinkBackend) findRule(r Rule) (bool, error) {
	k := kernelRule(r)
	list, err := b.h.RuleList(k.Family)
	if err != nil {
		return false, err
	}
	same := func(a, b *net.IPNet) bool {
		if a == nil || b == nil {
			return (a == nil || isAll(a)) && (b == nil || isAll(b))
		}
		return a.String() == b.String()
	}
	for _, x := range list {
		if x.Table == k.Table && same(x.Src, k.Src) && same(x.Dst, k.Dst) && x.IifName == k.IifName && x.OifName == k.OifName &&
			x.Mark == k.Mark && (r.Priority == 0 || x.Priority == r.Priority) && (!r.HasMark || r.Mask == 0 || (x.Mask != nil && *x.Mask == r.Mask)) {
			return true, nil
		}
	}
	return false, nil
}

func isAll(n *net.IPNet) bool { ones, _ := n.Mask.Size(); return ones == 0 }

func (b *netlinkBackend) addRule(r Rule) error {
	found, err := b.findRule(r)
	switch {
	case err != nil:
		return err
	case found:
		return errExists
	}
	if err := b.h.RuleAdd(kernelRule(r)); errors.Is(err, unix.EEXIST) {
		return errExists
	} else if err != nil {
		return err
	}
	return nil
}

func (b *netlinkBackend) delRule(r Rule) error {
	err := b.h.RuleDel(kernelRule(r))
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) {
		return errMissing
	}
	return err
}

// watchGroups are the multicast groups whose messages can mean a held
// route or rule went away, or that one which failed can go in now.
var watchGroups = []uint{
	unix.RTNLGRP_IPV4_ROUTE, unix.RTNLGRP_IPV6_ROUTE, unix.RTNLGRP_IPV4_RULE, unix.RTNLGRP_IPV6_RULE,
	unix.RTNLGRP_LINK, unix.RTNLGRP_IPV4_IFADDR, unix.RTNLGRP_IPV6_IFADDR,
}

func (b *netlinkBackend) watch(ctx context.Context, ready, changed func()) error {
	s, err := nl.SubscribeAt(b.ns, netns.None(), unix.NETLINK_ROUTE, watchGroups...)
	if err != nil {
		return fmt.Errorf("%w: subscribe: %w", ErrSubscription, err)
	}
	if err := s.SetReceiveBufferSize(1<<20, false); err != nil {
		s.Close()
		return fmt.Errorf("%w: receive buffer: %w", ErrSubscription, err)
	}
	// Closing the socket is what ends a blocked Receive.
	stop := context.AfterFunc(ctx, s.Close)
	defer func() {
		if stop() {
			s.Close()
		}
	}()
	ready()
	for {
		msgs, _, err := s.Receive()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrSubscription, err)
		}
		for _, m := range msgs {
			switch m.Header.Type {
			case unix.RTM_DELROUTE, unix.RTM_DELRULE, unix.RTM_NEWLINK, unix.RTM_NEWADDR:
				changed()
			}
		}
	}
}

func (b *netlinkBackend) close() error {
	b.h.Close()
	if b.ns.IsOpen() {
		return b.ns.Close()
	}
	return nil
}
