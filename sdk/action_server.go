package sdk

import (
	"context"
	"fmt"

	pluginv1 "github.com/hawatch/hawatch/sdk/proto/v1"
	"google.golang.org/grpc/codes"
)

// actionServer serves an Action over gRPC in the plugin process.
type actionServer struct {
	pluginv1.UnimplementedActionServer
	impl Action
}

func (s *actionServer) Info(context.Context, *pluginv1.InfoRequest) (*pluginv1.InfoResponse, error) {
	return infoToProto(s.impl.Info()), nil
}

func (s *actionServer) Schema(context.Context, *pluginv1.SchemaRequest) (*pluginv1.SchemaResponse, error) {
	return schemaResponse(s.impl)
}

func (s *actionServer) Configure(ctx context.Context, req *pluginv1.ConfigureRequest) (*pluginv1.ConfigureResponse, error) {
	if err := s.impl.Configure(ctx, Config{Raw: req.GetConfigJson()}); err != nil {
		return nil, serverError(codes.InvalidArgument, err)
	}
	return &pluginv1.ConfigureResponse{}, nil
}

func (s *actionServer) Notify(ctx context.Context, t *pluginv1.Transition) (*pluginv1.Ack, error) {
	if err := runNotify(ctx, s.impl, transitionFromProto(t)); err != nil {
		return nil, serverError(codes.Unknown, err)
	}
	return &pluginv1.Ack{}, nil
}

// runNotify keeps a panicking action from taking its process down.
func runNotify(ctx context.Context, a Action, t Transition) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("notify panicked: %v", p)
		}
	}()
	return a.Notify(ctx, t)
}
