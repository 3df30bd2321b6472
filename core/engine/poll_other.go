//go:build !linux

package engine

import (
	"errors"
	"time"
)

// poller exists only on Linux; elsewhere there are no kernel sockets to
// poll (transport.Listen is unsupported) and the loop reads fakes through
// channels.
type poller struct{}

type pollEvent struct{ Fd int32 }

const (
	wakeToken  = 0
	timerToken = -1
)

func newPoller() (*poller, error) { return nil, errors.New("engine: no poller on this system") }

func (p *poller) add(*socket, polledConn) error       { return nil }
func (p *poller) remove(Conn)                         {}
func (p *poller) socket(int32) *socket                { return nil }
func (p *poller) wait(time.Time) ([]pollEvent, error) { return nil, nil }
func (p *poller) notify()                             {}
func (p *poller) drained()                            {}
func (p *poller) close()                              {}
