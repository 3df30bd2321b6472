package sdk

import (
	"context"

	pluginv1 "github.com/hawatch/hawatch/sdk/proto/v1"
)

// ActionClient is the host's handle on an action plugin (what Dispense
// returns). Its methods are safe for concurrent use; ordering of Notify
// calls is the host's job.
type ActionClient struct {
	rpc    pluginv1.ActionClient
	exited context.Context
}

func (c *ActionClient) Info(ctx context.Context) (Info, error) {
	ctx, cancel := callContext(ctx, c.exited)
	defer cancel()
	resp, err := c.rpc.Info(ctx, &pluginv1.InfoRequest{})
	if err != nil {
		return Info{}, clientError("info", ctx, c.exited, err)
	}
	return infoFromProto(resp), nil
}

func (c *ActionClient) Schema(ctx context.Context) (Schema, error) {
	ctx, cancel := callContext(ctx, c.exited)
	defer cancel()
	resp, err := c.rpc.Schema(ctx, &pluginv1.SchemaRequest{})
	if err != nil {
		return Schema{}, clientError("schema", ctx, c.exited, err)
	}
	return schemaFromProto(resp.GetSchema())
}

func (c *ActionClient) Configure(ctx context.Context, cfg Config) error {
	ctx, cancel := callContext(ctx, c.exited)
	defer cancel()
	_, err := c.rpc.Configure(ctx, &pluginv1.ConfigureRequest{ConfigJson: cfg.Raw})
	return clientError("configure", ctx, c.exited, err)
}

// Notify delivers one transition and waits for the plugin's ack; ctx
// carries the action's deadline to the plugin.
func (c *ActionClient) Notify(ctx context.Context, t Transition) error {
	ctx, cancel := callContext(ctx, c.exited)
	defer cancel()
	_, err := c.rpc.Notify(ctx, transitionToProto(t))
	return clientError("notify", ctx, c.exited, err)
}
