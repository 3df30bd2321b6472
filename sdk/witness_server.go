package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"google.golang.org/grpc/codes"

	pluginv1 "github.com/hawatch/hawatch/sdk/proto/v1"
)

// witnessServer serves a Witness over gRPC in the plugin process.
type witnessServer struct {
	pluginv1.UnimplementedWitnessServer
	impl Witness
}

func (s *witnessServer) Info(context.Context, *pluginv1.InfoRequest) (*pluginv1.InfoResponse, error) {
	return infoToProto(s.impl.Info()), nil
}

func (s *witnessServer) Schema(context.Context, *pluginv1.SchemaRequest) (*pluginv1.SchemaResponse, error) {
	return schemaResponse(s.impl)
}

func (s *witnessServer) Configure(ctx context.Context, req *pluginv1.ConfigureRequest) (*pluginv1.ConfigureResponse, error) {
	if err := s.impl.Configure(ctx, Config{Raw: req.GetConfigJson()}); err != nil {
		return nil, serverError(codes.InvalidArgument, err)
	}
	return &pluginv1.ConfigureResponse{}, nil
}

// Session feeds the host's Wants to Serve and streams its Grants back. The
// session ends when the host ends the stream (Serve's ctx is cancelled and
// Serve gives every right up) or when Serve returns.
func (s *witnessServer) Session(stream pluginv1.Witness_SessionServer) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	wants := make(chan Want)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer cancel() // the host closed its side: the session is over
		for {
			w, err := stream.Recv()
			if err != nil {
				return
			}
			select {
			case wants <- Want{Instance: w.GetInstance(), Want: w.GetWant()}:
			case <-ctx.Done():
				return
			}
		}
	})
	var mu sync.Mutex // one sender at a time on a grpc stream
	report := func(g Grant) {
		mu.Lock()
		defer mu.Unlock()
		if ctx.Err() == nil {
			_ = stream.Send(grantToProto(g))
		}
	}
	err := runServe(ctx, s.impl, wants, report)
	cancel()
	wg.Wait()
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, io.EOF) {
		return serverError(codes.Unknown, err)
	}
	return nil
}

// runServe keeps a panicking witness from taking its process down without a
// word.
func runServe(ctx context.Context, w Witness, wants <-chan Want, report func(Grant)) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("witness panicked: %v", p)
		}
	}()
	return w.Serve(ctx, wants, report)
}
