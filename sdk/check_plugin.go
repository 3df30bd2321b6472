package sdk

import (
	"context"

	"github.com/hashicorp/go-plugin"
	pluginv1 "github.com/hawatch/hawatch/sdk/proto/v1"
	"google.golang.org/grpc"
)

// CheckPlugin is the go-plugin shim for check plugins. In the plugin process
// Impl is the Checker or Watcher being served; on the host Impl is nil and
// Dispense returns a *CheckClient.
type CheckPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Base
}

var _ plugin.GRPCPlugin = (*CheckPlugin)(nil)

func (p *CheckPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginv1.RegisterCheckServer(s, &checkServer{impl: p.Impl})
	return nil
}

// GRPCClient receives a context that go-plugin cancels when the plugin
// process exits; the client uses it to tell "plugin gone" from other errors.
func (p *CheckPlugin) GRPCClient(ctx context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	rpc := pluginv1.NewCheckClient(c)
	return &CheckClient{baseClient: baseClient{rpc: rpc, exited: ctx}, rpc: rpc}, nil
}
