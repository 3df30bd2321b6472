//go:build !linux

package netlab

import "testing"

func (l *Lab) DeleteLink(t testing.TB, n *Node)              { t.Skip(ErrUnsupported.Error()) }
func (l *Lab) RenameLink(t testing.TB, n *Node, name string) { t.Skip(ErrUnsupported.Error()) }
func (l *Lab) AddLink(t testing.TB, n *Node) int             { t.Skip(ErrUnsupported.Error()); return 0 }
func (n *Node) LinkIndex(ifname string) (int, error)         { return 0, ErrUnsupported }
