package vip

import (
	"errors"
	"net"
	"os"
	"strings"

	"github.com/rs/zerolog"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// NewVMACs returns the owner of the node's virtual MAC interfaces in the
// network namespace at nsPath ("" = the caller's). It needs CAP_NET_ADMIN.
func NewVMACs(log zerolog.Logger, nsPath string) (*VMACs, error) {
	ns := netns.None()
	var (
		h   *netlink.Handle
		err error
	)
	if nsPath != "" {
		if ns, err = netns.GetFromPath(nsPath); err != nil {
			return nil, &Error{Op: "open netns " + nsPath, Err: err}
		}
		h, err = netlink.NewHandleAt(ns)
	} else {
		h, err = netlink.NewHandle()
	}
	if err != nil {
		if ns.IsOpen() {
			_ = ns.Close()
		}
		return nil, &Error{Op: "netlink handle", Err: err}
	}
	return newVMACs(log, &netlinkVMACs{h: h, ns: ns, nsPath: nsPath}), nil
}

type netlinkVMACs struct {
	h      *netlink.Handle
	ns     netns.NsHandle
	nsPath string
}

func (b *netlinkVMACs) link(name string) (vmacLink, bool, error) {
	l, err := b.h.LinkByName(name)
	var nf netlink.LinkNotFoundError
	switch {
	case errors.As(err, &nf):
		return vmacLink{}, false, nil
	case err != nil:
		return vmacLink{}, false, err
	}
	a := l.Attrs()
	out := vmacLink{Index: a.Index, MAC: a.HardwareAddr, ParentIndex: a.ParentIndex, Up: a.Flags&net.FlagUp != 0}
	if m, ok := l.(*netlink.Macvlan); ok {
		out.Macvlan, out.Private = true, m.Mode == netlink.MACVLAN_MODE_PRIVATE
	}
	return out, true, nil
}

func (b *netlinkVMACs) create(name string, parentIndex int, mac net.HardwareAddr) error {
	return b.h.LinkAdd(&netlink.Macvlan{
		LinkAttrs: netlink.LinkAttrs{Name: name, ParentIndex: parentIndex, HardwareAddr: mac},
		Mode:      netlink.MACVLAN_MODE_PRIVATE,
	})
}

func (b *netlinkVMACs) remove(name string) error {
	l, err := b.h.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return err
	}
	return b.h.LinkDel(l)
}

func (b *netlinkVMACs) setUp(name string) error {
	l, err := b.h.LinkByName(name)
	if err != nil {
		return err
	}
	return b.h.LinkSetUp(l)
}

func (b *netlinkVMACs) readSysctl(path string) (string, error) {
	var v string
	err := inNetNS(b.nsPath, func() error {
		raw, err := os.ReadFile("/proc/sys/net/" + path)
		v = strings.TrimSpace(string(raw))
		return err
	})
	if errors.Is(err, os.ErrNotExist) {
		return "", errNoSysctl
	}
	return v, err
}

func (b *netlinkVMACs) writeSysctl(path, value string) error {
	err := inNetNS(b.nsPath, func() error { return os.WriteFile("/proc/sys/net/"+path, []byte(value), 0o644) })
	if errors.Is(err, os.ErrNotExist) {
		return errNoSysctl
	}
	return err
}

func (b *netlinkVMACs) interfaces() ([]string, error) {
	var names []string
	err := inNetNS(b.nsPath, func() error {
		entries, err := os.ReadDir("/proc/sys/net/ipv4/conf")
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return err
	})
	return names, err
}

func (b *netlinkVMACs) close() error {
	b.h.Close()
	if b.ns.IsOpen() {
		return b.ns.Close()
	}
	return nil
}
