package sdk

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pluginv1 "github.com/hawatch/hawatch/sdk/proto/v1"
)

// WitnessPlugin is the go-plugin shim for witness plugins. In the plugin
// process Impl is the Witness being served; on the host Impl is nil and
// Dispense returns a *WitnessClient.
type WitnessPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Witness
}

var _ plugin.GRPCPlugin = (*WitnessPlugin)(nil)

func (p *WitnessPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginv1.RegisterWitnessServer(s, &witnessServer{impl: p.Impl})
	return nil
}

// GRPCClient receives a context that go-plugin cancels when the plugin
// process exits.
func (p *WitnessPlugin) GRPCClient(ctx context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	rpc := pluginv1.NewWitnessClient(c)
	return &WitnessClient{baseClient: baseClient{rpc: rpc, exited: ctx}, rpc: rpc}, nil
}
