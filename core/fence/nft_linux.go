package fence

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// The table's layout (as `nft list table inet hawatch` prints it):
//
//	table inet hawatch {
//		set vips4 { type ipv4_addr }
//		set vips6 { type ipv6_addr }
//		chain in {
//			type filter hook input priority filter - 1; policy accept;
//			meta l4proto ipv6-icmp icmpv6 type nd-neighbor-solicit-nd-neighbor-advert accept
//			meta nfproto ipv4 ip daddr @vips4 drop
//			meta nfproto ipv6 ip6 daddr @vips6 drop
//		}
//		chain out { ... the same with saddr, hook output ... }
//	}
//
// Priority filter - 1 runs before a filter table at the usual priority, so
// an operator's accept rule cannot let fenced traffic through (keepalived
// uses the same priority). The chains' policy is accept: only the fenced
// addresses are touched.
const (
	setV4    = "vips4"
	setV6    = "vips6"
	chainIn  = "in"
	chainOut = "out"
	// rulesPerChain is what a complete chain holds.
	rulesPerChain = 3
)

// NFTables is the Linux backend: the table in the network namespace of the
// calling process, or of NetNS.
type NFTables struct {
	conn *nftables.Conn
	ns   *os.File // the namespace's descriptor, held while conn dials in it

	mu      sync.Mutex
	mon     *nftables.Monitor
	changes chan struct{}
	done    chan struct{}
}

// NFTOptions select the namespace.
type NFTOptions struct {
	// NetNS is a path such as /run/netns/NAME; "" is the process's own.
	NetNS string
	// Watch subscribes to ruleset changes (Changes); without it the
	// manager polls.
	Watch bool
}

// NewNFTables opens the backend. With Watch, the change subscription starts
// at once and ends with Close.
func NewNFTables(o NFTOptions) (Backend, error) {
	var opts []nftables.ConnOption
	b := &NFTables{done: make(chan struct{})}
	if o.NetNS != "" {
		f, err := os.Open(o.NetNS)
		if err != nil {
			return nil, fmt.Errorf("open netns %s: %w", o.NetNS, err)
		}
		// The library dials a socket per call in this namespace: the
		// descriptor stays open until Close.
		b.ns = f
		opts = append(opts, nftables.WithNetNSFd(int(f.Fd())))
	}
	conn, err := nftables.New(opts...)
	if err != nil {
		b.closeNS()
		return nil, fmt.Errorf("nftables: %w", err)
	}
	b.conn = conn
	if o.Watch {
		b.mon = nftables.NewMonitor(nftables.WithMonitorEventBuffer(16))
		gens, err := conn.AddGenerationalMonitor(b.mon)
		if err != nil {
			b.closeNS()
			return nil, fmt.Errorf("nftables monitor: %w", err)
		}
		b.changes = make(chan struct{}, 1)
		go b.relay(gens)
	}
	return b, nil
}

// relay turns the monitor's per-transaction events into coalesced signals;
// it ends when Close closes the monitor (which closes gens).
func (b *NFTables) relay(gens chan *nftables.MonitorEvents) {
	defer close(b.done)
	defer close(b.changes)
	for range gens {
		select {
		case b.changes <- struct{}{}:
		default:
		}
	}
}

// Changes implements Backend.
func (b *NFTables) Changes() <-chan struct{} {
	if b.changes == nil {
		return nil
	}
	return b.changes
}

func table() *nftables.Table {
	return &nftables.Table{Name: TableName, Family: nftables.TableFamilyINet}
}

// Read implements Backend.
func (b *NFTables) Read() (State, error) {
	t, err := b.conn.ListTableOfFamily(TableName, nftables.TableFamilyINet)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return State{}, nil
		}
		return State{}, err
	}
	st := State{Present: true, Complete: true}
	for _, name := range []string{setV4, setV6} {
		s, err := b.conn.GetSetByName(t, name)
		if err != nil {
			if errors.Is(err, unix.ENOENT) {
				st.Complete = false
				continue
			}
			return State{}, err
		}
		elems, err := b.conn.GetSetElements(s)
		if err != nil {
			return State{}, err
		}
		for _, e := range elems {
			if a, ok := netip.AddrFromSlice(e.Key); ok {
				st.Addrs = append(st.Addrs, a.Unmap())
			}
		}
	}
	for _, name := range []string{chainIn, chainOut} {
		c, err := b.conn.ListChain(t, name)
		if err != nil {
			if errors.Is(err, unix.ENOENT) {
				st.Complete = false
				continue
			}
			return State{}, err
		}
		rules, err := b.conn.GetRules(t, c)
		if err != nil {
			return State{}, err
		}
		if len(rules) != rulesPerChain {
			st.Complete = false
		}
	}
	return st, nil
}

// Build implements Backend: one transaction deletes the table (if there)
// and creates it afresh.
func (b *NFTables) Build(addrs []netip.Addr) error {
	t := table()
	// Creating then deleting in one batch makes the delete succeed
	// whether or not the table exists; the second add builds it anew.
	b.conn.AddTable(t)
	b.conn.DelTable(t)
	b.conn.AddTable(t)
	v4 := &nftables.Set{Table: t, Name: setV4, KeyType: nftables.TypeIPAddr}
	v6 := &nftables.Set{Table: t, Name: setV6, KeyType: nftables.TypeIP6Addr}
	e4, e6 := elements(addrs)
	if err := b.conn.AddSet(v4, e4); err != nil {
		return err
	}
	if err := b.conn.AddSet(v6, e6); err != nil {
		return err
	}
	prio := nftables.ChainPriorityRef(*nftables.ChainPriorityFilter - 1)
	accept := nftables.ChainPolicyAccept
	for _, c := range []struct {
		name string
		hook *nftables.ChainHook
		// offsets of the address in the IPv4 / IPv6 header
		off4, off6 uint32
	}{
		{chainIn, nftables.ChainHookInput, 16, 24},  // destination
		{chainOut, nftables.ChainHookOutput, 12, 8}, // source
	} {
		ch := b.conn.AddChain(&nftables.Chain{Name: c.name, Table: t, Type: nftables.ChainTypeFilter,
			Hooknum: c.hook, Priority: prio, Policy: &accept})
		b.conn.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: []expr.Any{
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_ICMPV6}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1},
			// 135 neighbour solicitation, 136 neighbour advertisement
			&expr.Range{Op: expr.CmpOpEq, Register: 1, FromData: []byte{135}, ToData: []byte{136}},
			&expr.Verdict{Kind: expr.VerdictAccept},
		}})
		for _, f := range []struct {
			proto byte
			off   uint32
			n     uint32
			set   *nftables.Set
		}{{unix.NFPROTO_IPV4, c.off4, 4, v4}, {unix.NFPROTO_IPV6, c.off6, 16, v6}} {
			b.conn.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: []expr.Any{
				&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{f.proto}},
				&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: f.off, Len: f.n},
				&expr.Lookup{SourceRegister: 1, SetName: f.set.Name, SetID: f.set.ID},
				&expr.Verdict{Kind: expr.VerdictDrop},
			}})
		}
	}
	return b.conn.Flush()
}

// SetAddrs implements Backend: one transaction flushes both sets and adds
// the new elements, so an address fenced before and after stays fenced
// throughout.
func (b *NFTables) SetAddrs(addrs []netip.Addr) error {
	t := table()
	v4 := &nftables.Set{Table: t, Name: setV4, KeyType: nftables.TypeIPAddr}
	v6 := &nftables.Set{Table: t, Name: setV6, KeyType: nftables.TypeIP6Addr}
	b.conn.FlushSet(v4)
	b.conn.FlushSet(v6)
	e4, e6 := elements(addrs)
	if len(e4) > 0 {
		if err := b.conn.SetAddElements(v4, e4); err != nil {
			return err
		}
	}
	if len(e6) > 0 {
		if err := b.conn.SetAddElements(v6, e6); err != nil {
			return err
		}
	}
	return b.conn.Flush()
}

// Remove implements Backend.
func (b *NFTables) Remove() error {
	t := table()
	b.conn.AddTable(t) // makes the delete succeed when the table is gone
	b.conn.DelTable(t)
	return b.conn.Flush()
}

// Close implements Backend.
func (b *NFTables) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var err error
	if b.mon != nil {
		err = b.mon.Close()
		b.mon = nil
		<-b.done
	}
	b.closeNS()
	return err
}

func (b *NFTables) closeNS() {
	if b.ns != nil {
		b.ns.Close()
		b.ns = nil
	}
}

func elements(addrs []netip.Addr) (v4, v6 []nftables.SetElement) {
	for _, a := range addrs {
		a = a.Unmap()
		if a.Is4() {
			v4 = append(v4, nftables.SetElement{Key: a.AsSlice()})
		} else {
			v6 = append(v6, nftables.SetElement{Key: a.AsSlice()})
		}
	}
	return v4, v6
}
