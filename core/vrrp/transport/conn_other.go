//go:build !linux

package transport

import (
	"net"
	"net/netip"
)

// Conn is a raw VRRP socket; only Linux has an implementation.
type Conn struct{}

// Listen returns ErrUnsupported outside Linux.
func Listen(opts Options) (*Conn, error) { return nil, ErrUnsupported }

func (c *Conn) ReadPacket(buf []byte) (Packet, error)        { return Packet{}, ErrUnsupported }
func (c *Conn) TryReadPacket(buf []byte) (Packet, error)     { return Packet{}, ErrUnsupported }
func (c *Conn) FD() int                                      { return -1 }
func (c *Conn) WriteTo(payload []byte, dst netip.Addr) error { return ErrUnsupported }
func (c *Conn) LocalAddr() netip.Addr                        { return netip.Addr{} }
func (c *Conn) Group() netip.Addr                            { return netip.Addr{} }
func (c *Conn) Family() Family                               { return 0 }
func (c *Conn) Interface() *net.Interface                    { return nil }
func (c *Conn) Close() error                                 { return nil }
func (c *Conn) Drops() map[string]uint64                     { return map[string]uint64{} }
