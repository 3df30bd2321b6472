//go:build !linux

package netlab

import (
	"context"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"
)

// New skips the test: labs need Linux network namespaces.
func New(t testing.TB, opts Options) *Lab {
	t.Helper()
	t.Skip("netlab: network namespaces need Linux")
	return nil
}

func (l *Lab) All() []*Node                                { return nil }
func (l *Lab) Node(name string) *Node                      { return nil }
func (l *Lab) BlockVRRP(t testing.TB, from, to *Node)      { t.Skip(ErrUnsupported.Error()) }
func (l *Lab) UnblockVRRP(from, to *Node) error            { return ErrUnsupported }
func (l *Lab) Isolate(t testing.TB, n *Node)               { t.Skip(ErrUnsupported.Error()) }
func (l *Lab) Rejoin(n *Node) error                        { return ErrUnsupported }
func (l *Lab) Cut(t testing.TB, a, b *Node)                { t.Skip(ErrUnsupported.Error()) }
func (l *Lab) Heal(a *Node) error                          { return ErrUnsupported }
func (n *Node) Do(fn func() error) error                   { return ErrUnsupported }
func (n *Node) HasAddr(string, netip.Prefix) (bool, error) { return false, ErrUnsupported }
func (n *Node) VRRPDrops() (uint64, error)                 { return 0, ErrUnsupported }

func (n *Node) Exec(ctx context.Context, name string, args ...string) ([]byte, error) {
	return nil, ErrUnsupported
}

func (n *Node) Start(t testing.TB, name string, args ...string) *Proc {
	t.Skip(ErrUnsupported.Error())
	return nil
}

func (n *Node) WaitAddr(ctx context.Context, ifname string, p netip.Prefix, present bool) error {
	return ErrUnsupported
}

func (n *Node) Neigh(ip netip.Addr) (net.HardwareAddr, string, error) {
	return nil, "", ErrUnsupported
}

// Nginx is a real nginx in a node namespace (Linux only).
type Nginx struct {
	Proc    *Proc
	Dir     string
	PIDFile string
	Body    string
}

func StartNginx(t testing.TB, n *Node) *Nginx {
	t.Skip(ErrUnsupported.Error())
	return nil
}

func StartKeepalived(t testing.TB, n *Node, c KeepalivedConfig) *Proc {
	t.Skip(ErrUnsupported.Error())
	return nil
}

func (ng *Nginx) MasterPID() int    { return 0 }
func (ng *Nginx) WorkerPIDs() []int { return nil }
func (ng *Nginx) Stop() error       { return ErrUnsupported }
func (ng *Nginx) KillAll()          {}

func isKill(sig os.Signal) bool { return sig == os.Kill }
func killGroup(pid int)         {}
func (p *Proc) killHelper(int)  {}

// Netem, ImpairStats and Impairment mirror faults_linux.go (Linux only).
type Netem struct {
	Loss      float64
	Delay     time.Duration
	Jitter    time.Duration
	Reorder   float64
	Duplicate float64
	Seed      uint64
	Slot      time.Duration
}

type ImpairStats struct {
	Frames, Lost, Duplicated, Errors int
	FirstErr                         error
}

type Impairment struct {
	Node *Node
	Spec Netem
}

func (s Netem) String() string { return "netem" }

func (l *Lab) Netem(t testing.TB, n *Node, spec Netem) *Impairment {
	t.Skip(ErrUnsupported.Error())
	return nil
}

func (im *Impairment) Stats() ImpairStats     { return ImpairStats{} }
func (im *Impairment) Delivered() []time.Time { return nil }
func (im *Impairment) Remove() error          { return ErrUnsupported }
