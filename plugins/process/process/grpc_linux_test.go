package process

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hawatch/hawatch/sdk"
	"github.com/hawatch/hawatch/sdk/sdktest"
)

// TestOverGRPC serves the plugin through the SDK's real gRPC path, as the
// daemon sees it: schema, configure, then a death pushed on the stream.
func TestOverGRPC(t *testing.T) {
	path, name := sleepCopy(t, t.TempDir())
	a := start(t, path, "1000")
	c := sdktest.Check(t, New())
	ctx, cancel := context.WithTimeout(context.Background(), reportWait)
	defer cancel()

	if info, err := c.Info(ctx); err != nil || info.Name != "process" {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	if s, err := c.Schema(ctx); err != nil || len(s.Attributes) != len(Schema().Attributes) {
		t.Fatalf("Schema = %+v, %v", s, err)
	}
	raw, _ := json.Marshal(map[string]any{"name": name})
	if err := c.Configure(ctx, sdk.Config{Raw: raw}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	if err := c.Configure(ctx, sdk.Config{Raw: []byte(`{"min":1}`)}); err == nil {
		t.Fatal("Configure without a criterion succeeded over gRPC")
	}
	stream, err := c.Watch(ctx, time.Minute, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	next := func() sdk.Result {
		for {
			r, hb, err := stream.Recv()
			if err != nil {
				t.Fatalf("Recv: %v", err)
			}
			if !hb {
				return r
			}
		}
	}
	if r := next(); !hasPids(sdk.StatusOK, a.pid())(r) {
		t.Fatalf("first result %v %q", r.Status, r.Reason)
	}
	a.kill()
	if r := next(); r.Status != sdk.StatusFail || r.ObservedAt.IsZero() {
		t.Fatalf("after the death: %v %q at %v", r.Status, r.Reason, r.ObservedAt)
	}
}
