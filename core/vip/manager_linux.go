package vip

import (
	"github.com/rs/zerolog"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// NewManager returns the Manager of interface ifname. It needs
// CAP_NET_ADMIN (addresses, sysctl) and CAP_NET_RAW (announcements); the
// sockets are opened on first use, so a missing capability shows up in the
// first Acquire's announcements (counted in Stats.AnnouncementErrors and
// logged) rather than here.
//
// The Manager is bound to the interface index it finds now: after the
// interface is deleted and created again (a new index), call Rebind.
func NewManager(log zerolog.Logger, ifname string, opts Options) (*Manager, error) {
	if _, err := opts.withDefaults(); err != nil {
		return nil, err
	}
	ns := netns.None()
	if opts.NetNS != "" {
		var err error
		if ns, err = netns.GetFromPath(opts.NetNS); err != nil {
			return nil, &Error{Op: "open netns " + opts.NetNS, Interface: ifname, Err: err}
		}
	}
	be, err := newNetlinkBackend(ns, ifname, opts)
	if err != nil {
		if ns.IsOpen() {
			_ = ns.Close()
		}
		return nil, err
	}
	attrs := be.link.Attrs()
	if IsVirtualRouterMAC(attrs.HardwareAddr) {
		opts.GARPReplyOnly = true
	}
	tx := &packetSender{ifindex: attrs.Index, mac: attrs.HardwareAddr, netns: opts.NetNS}
	m, err := newManager(log, ifname, be, tx, opts)
	if err != nil {
		_ = be.close()
		return nil, err
	}
	return m, nil
}

func newNetlinkBackend(ns netns.NsHandle, ifname string, opts Options) (*netlinkBackend, error) {
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
		return nil, &Error{Op: "netlink handle", Interface: ifname, Err: err}
	}
	link, err := lookupLink(h, ifname)
	if err != nil {
		h.Close()
		return nil, &Error{Op: "find interface", Interface: ifname, Err: err}
	}
	be := &netlinkBackend{h: h, link: link, ns: ns, ifname: ifname, nsPath: opts.NetNS, promote: !opts.KeepPromoteSecondaries}
	if be.promote {
		if be.restore, err = promoteSecondaries(opts.NetNS, ifname); err != nil {
			h.Close()
			return nil, &Error{Op: "set promote_secondaries", Interface: ifname, Err: err}
		}
	}
	return be, nil
}
