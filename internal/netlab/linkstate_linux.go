package netlab

import (
	"fmt"
	"strconv"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Link-state faults for link tracking tests: an interface set down on the
// node (administratively), the bridge-side end of its veth set down (the
// node's interface stays up but loses its carrier, as when a cable is
// pulled or a switch port dies), and a second interface on a node.

// SetLink sets ifname in the node's namespace up or down (ip link set
// ifname up|down), through netlink, without starting a process: fast
// enough for tests that flap a link many times in a second.
func (n *Node) SetLink(ifname string, up bool) error {
	return n.withHandle(func(h *netlink.Handle) error { return setLink(h, ifname, up) })
}

// Linker flaps links of one namespace over one netlink handle kept open,
// for tight loops; Close it.
type Linker struct{ h *netlink.Handle }

// Linker opens a handle on the node's namespace.
func (n *Node) Linker() (*Linker, error) {
	var lk *Linker
	err := n.withOpenHandle(func(h *netlink.Handle) { lk = &Linker{h: h} })
	return lk, err
}

// Set sets ifname up or down.
func (lk *Linker) Set(ifname string, up bool) error { return setLink(lk.h, ifname, up) }

// Close releases the handle.
func (lk *Linker) Close() { lk.h.Close() }

// Carrier sets the bridge-side end of n's original eth0 veth up or down:
// down, n's eth0 stays administratively up but has no carrier. It works on
// the eth0 the lab built (not one AddLink re-created).
func (l *Lab) Carrier(n *Node, up bool) error {
	return l.bridgeNode().withHandle(func(h *netlink.Handle) error { return setLink(h, l.PortName(n), up) })
}

// CarrierLinker is Linker on the bridge namespace, with Set taking the
// node: for flapping a node's carrier in a tight loop.
func (l *Lab) CarrierLinker() (*Linker, error) { return l.bridgeNode().Linker() }

// PortName is the bridge-side end of n's original eth0, for a
// CarrierLinker's Set.
func (l *Lab) PortName(n *Node) string { return "v" + l.tag() + strconv.Itoa(n.Index) }

// AddVethPair creates a veth pair with both ends in the node's namespace,
// both up: a second interface whose carrier the test controls by setting
// peer down (name stays up without carrier) or name itself down.
func (n *Node) AddVethPair(name, peer string) error {
	return n.withHandle(func(h *netlink.Handle) error {
		v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: peer}
		if err := h.LinkAdd(v); err != nil {
			return fmt.Errorf("%s: add veth %s/%s: %w", n.Name, name, peer, err)
		}
		for _, ifname := range []string{name, peer} {
			if err := setLink(h, ifname, true); err != nil {
				return err
			}
		}
		return nil
	})
}

// LinkFlags says whether ifname is administratively up and has carrier
// (IFF_LOWER_UP).
func (n *Node) LinkFlags(ifname string) (up, carrier bool, err error) {
	err = n.withHandle(func(h *netlink.Handle) error {
		link, err := h.LinkByName(ifname)
		if err != nil {
			return err
		}
		a := link.Attrs()
		up = a.RawFlags&0x1 != 0          // IFF_UP
		carrier = a.RawFlags&0x10000 != 0 // IFF_LOWER_UP
		return nil
	})
	return up, carrier, err
}

func setLink(h *netlink.Handle, ifname string, up bool) error {
	link, err := h.LinkByName(ifname)
	if err != nil {
		return fmt.Errorf("link %s: %w", ifname, err)
	}
	if up {
		err = h.LinkSetUp(link)
	} else {
		err = h.LinkSetDown(link)
	}
	if err != nil {
		return fmt.Errorf("set %s up=%v: %w", ifname, up, err)
	}
	return nil
}

// bridgeNode is the bridge namespace as a Node, for its netlink handle.
func (l *Lab) bridgeNode() *Node { return &Node{Name: "bridge", NS: l.Bridge} }

// withOpenHandle opens a netlink handle in the node's namespace and hands
// it to keep, which owns it from then on.
func (n *Node) withOpenHandle(keep func(h *netlink.Handle)) error {
	nsh, err := netns.GetFromName(n.NS)
	if err != nil {
		return fmt.Errorf("open netns %s: %w", n.NS, err)
	}
	defer nsh.Close()
	h, err := netlink.NewHandleAt(nsh)
	if err != nil {
		return fmt.Errorf("netlink in %s: %w", n.NS, err)
	}
	keep(h)
	return nil
}
