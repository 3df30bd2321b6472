package sdk

import (
	"context"

	"google.golang.org/grpc"

	pluginv1 "github.com/hawatch/hawatch/sdk/proto/v1"
)

// baseRPC is the part of the generated Check and Action clients that every
// plugin kind answers.
type baseRPC interface {
	Info(ctx context.Context, in *pluginv1.InfoRequest, opts ...grpc.CallOption) (*pluginv1.InfoResponse, error)
	Schema(ctx context.Context, in *pluginv1.SchemaRequest, opts ...grpc.CallOption) (*pluginv1.SchemaResponse, error)
	Configure(ctx context.Context, in *pluginv1.ConfigureRequest, opts ...grpc.CallOption) (*pluginv1.ConfigureResponse, error)
}

// baseClient implements BaseClient for both kinds; exited is go-plugin's
// context that ends when the plugin process exits.
type baseClient struct {
	rpc    baseRPC
	exited context.Context
}

func (c baseClient) Info(ctx context.Context) (Info, error) {
	ctx, cancel := callContext(ctx, c.exited)
	defer cancel()
	resp, err := c.rpc.Info(ctx, &pluginv1.InfoRequest{})
	if err != nil {
		return Info{}, clientError("info", ctx, c.exited, err)
	}
	return infoFromProto(resp), nil
}

func (c baseClient) Schema(ctx context.Context) (Schema, error) {
	ctx, cancel := callContext(ctx, c.exited)
	defer cancel()
	resp, err := c.rpc.Schema(ctx, &pluginv1.SchemaRequest{})
	if err != nil {
		return Schema{}, clientError("schema", ctx, c.exited, err)
	}
	return schemaFromProto(resp.GetSchema())
}

func (c baseClient) Configure(ctx context.Context, cfg Config) error {
	ctx, cancel := callContext(ctx, c.exited)
	defer cancel()
	_, err := c.rpc.Configure(ctx, &pluginv1.ConfigureRequest{ConfigJson: cfg.Raw})
	return clientError("configure", ctx, c.exited, err)
}
