package sdk

import (
	"context"

	pluginv1 "github.com/hawatch/hawatch/sdk/proto/v1"
)

// ActionClient is the host's handle on an action plugin (what Dispense
// returns). Its methods are safe for concurrent use; ordering of Notify
// calls is the host's job.
type ActionClient struct {
	baseClient
	rpc pluginv1.ActionClient
}

// Notify delivers one transition and waits for the plugin's ack; ctx
// carries the action's deadline to the plugin.
func (c *ActionClient) Notify(ctx context.Context, t Transition) error {
	ctx, cancel := callContext(ctx, c.exited)
	defer cancel()
	_, err := c.rpc.Notify(ctx, transitionToProto(t))
	return clientError("notify", ctx, c.exited, err)
}
