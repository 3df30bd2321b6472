package sdk

import (
	"fmt"
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
)

// Handshake is the go-plugin handshake shared by the daemon and every plugin.
// ProtocolVersion follows the proto directory (sdk/proto/v1). The magic cookie
// only stops a user from running a plugin binary by hand; it is not a
// security boundary.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "HAWATCH_PLUGIN",
	MagicCookieValue: "d3c6b1f0-hawatch-plugin-v1",
}

// PluginSet is the go-plugin plugin map the host passes in
// plugin.ClientConfig.Plugins. The key is the Kind, so the host dispenses a
// check plugin with Dispense(string(KindCheck)) and gets a *CheckClient.
func PluginSet() plugin.PluginSet {
	return plugin.PluginSet{
		string(KindCheck):   &CheckPlugin{},
		string(KindAction):  &ActionPlugin{},
		string(KindWitness): &WitnessPlugin{},
	}
}

// Serve runs impl as a hawatch plugin and returns when the host disconnects.
// impl must be a Checker (poll form), a Watcher (push form), an Action or a
// Witness.
// Call it from main and write nothing to stdout before: stdout carries the
// go-plugin handshake line. Log with Logger(), which writes to stderr in the
// format the host merges into its own log.
func Serve(impl Base) {
	set, err := servedPlugins(impl)
	if err != nil {
		log := Logger()
		log.Error().Err(err).Msg("cannot serve plugin")
		os.Exit(1)
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         set,
		GRPCServer:      plugin.DefaultGRPCServer,
		Logger: hclog.New(&hclog.LoggerOptions{
			Name:       "go-plugin",
			Level:      hclog.Warn,
			Output:     os.Stderr,
			JSONFormat: true,
		}),
	})
}

// servedPlugins picks the shim for impl. A type that is both a Watcher and a
// Checker is served in push form: it said it can see changes as they happen.
func servedPlugins(impl Base) (plugin.PluginSet, error) {
	switch a := impl.(type) {
	case Watcher, Checker:
		return plugin.PluginSet{string(KindCheck): &CheckPlugin{Impl: impl}}, nil
	case Action:
		return plugin.PluginSet{string(KindAction): &ActionPlugin{Impl: a}}, nil
	case Witness:
		return plugin.PluginSet{string(KindWitness): &WitnessPlugin{Impl: a}}, nil
	default:
		return nil, fmt.Errorf("%T implements none of sdk.Checker, sdk.Watcher, sdk.Action, sdk.Witness", impl)
	}
}
