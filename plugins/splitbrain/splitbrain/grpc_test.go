package splitbrain

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hawatch/hawatch/sdk"
	"github.com/hawatch/hawatch/sdk/sdktest"
)

func TestOverGRPC(t *testing.T) {
	c := sdktest.Check(t, New())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if s, err := c.Schema(ctx); err != nil || len(s.Attributes) != 5 {
		t.Fatalf("Schema = %+v, %v", s, err)
	}
	raw, _ := json.Marshal(map[string]any{"interface": "hwsnosuch0", "vip": "198.51.100.50", "peer_app": []string{}, "probe_timeout": "20ms"})
	if err := c.Configure(ctx, sdk.Config{Raw: raw}); err != nil {
		t.Fatal(err)
	}
	stream, err := c.Watch(ctx, 10*time.Millisecond, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	r, _, err := stream.Recv()
	if err != nil || r.Status != sdk.StatusUnknown {
		t.Fatalf("Recv = %v %q, %v; want unknown for a missing interface", r.Status, r.Reason, err)
	}
}
