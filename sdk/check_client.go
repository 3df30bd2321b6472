package sdk

import (
	"context"
	"errors"
	"io"
	"time"

	pluginv1 "github.com/hawatch/hawatch/sdk/proto/v1"
	"google.golang.org/protobuf/types/known/durationpb"
)

// CheckClient is the host's handle on a check plugin (what Dispense
// returns). Its methods are safe for concurrent use.
type CheckClient struct {
	baseClient
	rpc pluginv1.CheckClient
}

// Watch starts the plugin's result stream: poll-form plugins run Check every
// interval bounded by timeout, push-form plugins report changes and send a
// heartbeat every interval. The stream ends when ctx is cancelled.
func (c *CheckClient) Watch(ctx context.Context, interval, timeout time.Duration) (*ResultStream, error) {
	ctx, cancel := callContext(ctx, c.exited)
	stream, err := c.rpc.Watch(ctx, &pluginv1.WatchRequest{
		Interval: durationpb.New(interval),
		Timeout:  durationpb.New(timeout),
	})
	if err != nil {
		cancel()
		return nil, clientError("watch", ctx, c.exited, err)
	}
	return &ResultStream{stream: stream, ctx: ctx, cancel: cancel, exited: c.exited}, nil
}

// ResultStream is an open Watch call. Recv is for one goroutine at a time.
type ResultStream struct {
	stream pluginv1.Check_WatchClient
	ctx    context.Context
	cancel context.CancelFunc
	exited context.Context
}

// Recv blocks for the next message. heartbeat is true when the plugin only
// said it is alive; r is then empty. The error is io.EOF when the plugin
// ended the stream cleanly, wraps ErrPluginShutdown when the plugin is gone.
func (s *ResultStream) Recv() (r Result, heartbeat bool, err error) {
	msg, err := s.stream.Recv()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return Result{}, false, io.EOF
		}
		return Result{}, false, clientError("watch", s.ctx, s.exited, err)
	}
	if msg.GetHeartbeat() {
		return Result{}, true, nil
	}
	return resultFromProto(msg), false, nil
}

// Close ends the stream; a Recv blocked on it returns.
func (s *ResultStream) Close() {
	s.cancel()
}
