package sdk

import (
	"context"

	"github.com/hashicorp/go-plugin"
	pluginv1 "github.com/hawatch/hawatch/sdk/proto/v1"
	"google.golang.org/grpc"
)

// ActionPlugin is the go-plugin shim for action plugins. In the plugin
// process Impl is the Action being served; on the host Impl is nil and
// Dispense returns an *ActionClient.
type ActionPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Action
}

var _ plugin.GRPCPlugin = (*ActionPlugin)(nil)

func (p *ActionPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginv1.RegisterActionServer(s, &actionServer{impl: p.Impl})
	return nil
}

func (p *ActionPlugin) GRPCClient(ctx context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	rpc := pluginv1.NewActionClient(c)
	return &ActionClient{baseClient: baseClient{rpc: rpc, exited: ctx}, rpc: rpc}, nil
}
