// Package sdktest runs a plugin implementation inside the test process over
// real gRPC (go-plugin's in-memory client/server pair), so plugin authors
// and the host test the wire path without building a binary.
package sdktest

import (
	"encoding/json"
	"io"
	"sync"

	"testing"

	hclog "github.com/hashicorp/go-hclog"

	"github.com/hashicorp/go-plugin"
	"github.com/hawatch/hawatch/sdk"
)

// Check serves impl (an sdk.Checker or sdk.Watcher) and returns the host's
// client for it. Everything is torn down when the test ends.
func Check(t testing.TB, impl sdk.Base) *sdk.CheckClient {
	t.Helper()
	raw := dispense(t, sdk.KindCheck, &sdk.CheckPlugin{Impl: impl})
	c, ok := raw.(*sdk.CheckClient)
	if !ok {
		t.Fatalf("sdktest: dispensed %T, want *sdk.CheckClient", raw)
	}
	return c
}

// Action serves impl and returns the host's client for it.
func Action(t testing.TB, impl sdk.Action) *sdk.ActionClient {
	t.Helper()
	raw := dispense(t, sdk.KindAction, &sdk.ActionPlugin{Impl: impl})
	c, ok := raw.(*sdk.ActionClient)
	if !ok {
		t.Fatalf("sdktest: dispensed %T, want *sdk.ActionClient", raw)
	}
	return c
}

// Witness serves impl and returns the host's client for it.
func Witness(t testing.TB, impl sdk.Witness) *sdk.WitnessClient {
	t.Helper()
	raw := dispense(t, sdk.KindWitness, &sdk.WitnessPlugin{Impl: impl})
	c, ok := raw.(*sdk.WitnessClient)
	if !ok {
		t.Fatalf("sdktest: dispensed %T, want *sdk.WitnessClient", raw)
	}
	return c
}

// quiet silences go-plugin's in-memory pair, which logs its connection
// chatter at debug level to stderr through hclog's default output (it takes
// no logger). Set once, before the first pair is made; errors still reach
// the test as returned errors.
var quiet sync.Once

func dispense(t testing.TB, kind sdk.Kind, p plugin.Plugin) any {
	t.Helper()
	quiet.Do(func() { hclog.DefaultOutput = io.Discard })
	client, server := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{string(kind): p})
	// Not client.Close: it asks the server to stop itself over gRPC, which
	// would race with this Stop; closing the connection ends the client.
	t.Cleanup(func() {
		server.Stop()
		_ = client.Conn.Close()
	})
	raw, err := client.Dispense(string(kind))
	if err != nil {
		t.Fatalf("sdktest: dispense %s: %v", kind, err)
	}
	return raw
}

// Config encodes attrs (attribute name → value, as in HCL: strings for
// durations) as the config the host would send; the plugin applies the
// defaults and checks the constraints itself, as it does for the daemon.
func Config(t testing.TB, attrs map[string]any) sdk.Config {
	t.Helper()
	b, err := json.Marshal(attrs)
	if err != nil {
		t.Fatalf("sdktest: config: %v", err)
	}
	return sdk.Config{Raw: b}
}
