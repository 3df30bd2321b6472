package netlab

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vishvananda/netlink"
)

// relinks numbers the bridge ports of re-created links: a renamed eth0
// keeps its veth pair, so the new pair needs a port name of its own.
var relinks atomic.Uint32

// DeleteLink deletes n's eth0 (and its veth peer on the bridge), as a
// driver unload, a container runtime tearing a veth down or a NIC pulled
// out look to a daemon on the node. AddLink plugs a new one in.
func (l *Lab) DeleteLink(t testing.TB, n *Node) {
	t.Helper()
	if err := ipBatch(n.NS, "link del eth0\n"); err != nil {
		t.Fatalf("DeleteLink %s: %v", n, err)
	}
}

// RenameLink takes n's eth0 down and renames it to name (the kernel only
// renames an interface that is down). The renamed link stays on the bridge,
// down, with its addresses: a daemon whose sockets are bound to its index
// must notice that "eth0" is gone although the device is not. AddLink then
// creates a new eth0.
func (l *Lab) RenameLink(t testing.TB, n *Node, name string) {
	t.Helper()
	if err := ipBatch(n.NS, fmt.Sprintf("link set eth0 down\nlink set eth0 name %s\n", name)); err != nil {
		t.Fatalf("RenameLink %s: %v", n, err)
	}
}

// AddLink creates n's eth0 again after DeleteLink or RenameLink: a new veth
// pair plugged into the lab bridge, with the node's MAC and addresses (the
// IPv4 one, the 2001:db8:: one when the lab has IPv6, and so the same
// link-local address), up. The MAC is kept on purpose: only the interface
// index changes (the kernel hands out a new one), which is what a daemon
// bound to the old index must survive; a new MAC would also change the
// link-local source of IPv6 adverts. AddLink returns once the link-local
// address is usable, with eth0's new index.
func (l *Lab) AddLink(t testing.TB, n *Node) int {
	t.Helper()
	port := fmt.Sprintf("v%s%dr%d", l.tag(), n.Index, relinks.Add(1)%1000) // at most 11 bytes
	if err := ipBatch(l.Bridge, fmt.Sprintf("link add %s type veth peer name eth0 netns %s\nlink set %s master %s up\n",
		port, n.NS, port, bridgeName)); err != nil {
		t.Fatalf("AddLink %s: %v", n, err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "link set eth0 address %s\n", n.MAC)
	fmt.Fprintf(&b, "addr add %s dev eth0\n", n.Prefix4())
	if n.Addr6.IsValid() {
		fmt.Fprintf(&b, "addr add %s dev eth0 nodad\n", n.Prefix6())
	}
	fmt.Fprintf(&b, "link set eth0 up\n")
	if err := ipBatch(n.NS, b.String()); err != nil {
		t.Fatalf("AddLink %s: %v", n, err)
	}
	if _, err := n.waitLinkLocal(setupWait); err != nil {
		t.Fatalf("AddLink %s: %v", n, err)
	}
	index, err := n.LinkIndex("eth0")
	if err != nil || index == 0 {
		t.Fatalf("AddLink %s: eth0 index %d: %v", n, index, err)
	}
	return index
}

// LinkIndex returns the index of ifname in the node's namespace, 0 when
// there is no interface by that name.
func (n *Node) LinkIndex(ifname string) (int, error) {
	var index int
	err := n.withHandle(func(h *netlink.Handle) error {
		link, err := h.LinkByName(ifname)
		var nf netlink.LinkNotFoundError
		switch {
		case errors.As(err, &nf):
			return nil
		case err != nil:
			return err
		}
		index = link.Attrs().Index
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("%s: index of %s: %w", n.Name, ifname, err)
	}
	return index, nil
}

// tag is the random part of the lab's names ("3fa2" in "hwt4711-3fa2-"),
// which the bridge ports carry too.
func (l *Lab) tag() string {
	parts := strings.Split(strings.TrimSuffix(l.Prefix, "-"), "-")
	if len(parts) < 2 {
		return strconv.Itoa(len(l.Prefix))
	}
	return parts[len(parts)-1]
}
