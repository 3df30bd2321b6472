//go:build !linux

package netlab

// Linker flaps links (Linux only).
type Linker struct{}

func (n *Node) SetLink(ifname string, up bool) error { return ErrUnsupported }
func (n *Node) Linker() (*Linker, error)             { return nil, ErrUnsupported }
func (lk *Linker) Set(ifname string, up bool) error  { return ErrUnsupported }
func (lk *Linker) Close()                            {}
func (l *Lab) Carrier(n *Node, up bool) error        { return ErrUnsupported }
func (l *Lab) CarrierLinker() (*Linker, error)       { return nil, ErrUnsupported }
func (l *Lab) PortName(n *Node) string               { return "" }
func (n *Node) AddVethPair(name, peer string) error  { return ErrUnsupported }
func (n *Node) LinkFlags(ifname string) (up, carrier bool, err error) {
	return false, false, ErrUnsupported
}
