package sdk

import (
	"context"
	"errors"
	"io"

	pluginv1 "github.com/hawatch/hawatch/sdk/proto/v1"
)

// WitnessClient is the host's handle on a witness plugin (what Dispense
// returns).
type WitnessClient struct {
	baseClient
	rpc pluginv1.WitnessClient
}

// Session opens the witness session; it ends when ctx does or Close is
// called, and then the plugin gives up every right it held.
func (c *WitnessClient) Session(ctx context.Context) (*WitnessSession, error) {
	ctx, cancel := callContext(ctx, c.exited)
	stream, err := c.rpc.Session(ctx)
	if err != nil {
		cancel()
		return nil, clientError("session", ctx, c.exited, err)
	}
	return &WitnessSession{stream: stream, ctx: ctx, cancel: cancel, exited: c.exited}, nil
}

// WitnessSession is an open Session call: Send from one goroutine, Recv
// from one goroutine.
type WitnessSession struct {
	stream pluginv1.Witness_SessionClient
	ctx    context.Context
	cancel context.CancelFunc
	exited context.Context
}

// Send tells the plugin the host's wish for one instance.
func (s *WitnessSession) Send(w Want) error {
	if err := s.stream.Send(&pluginv1.Want{Instance: w.Instance, Want: w.Want}); err != nil {
		return clientError("session", s.ctx, s.exited, err)
	}
	return nil
}

// Recv blocks for the next Grant. The error is io.EOF when the plugin ended
// the session cleanly and wraps ErrPluginShutdown when the plugin is gone.
func (s *WitnessSession) Recv() (Grant, error) {
	g, err := s.stream.Recv()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return Grant{}, io.EOF
		}
		return Grant{}, clientError("session", s.ctx, s.exited, err)
	}
	return grantFromProto(g), nil
}

// CloseSend tells the plugin the host has no more wishes: it gives up every
// right it held and ends the session (Recv then returns io.EOF).
func (s *WitnessSession) CloseSend() { _ = s.stream.CloseSend() }

// Close ends the session at once: the plugin gives up every right it held.
func (s *WitnessSession) Close() {
	_ = s.stream.CloseSend()
	s.cancel()
}
