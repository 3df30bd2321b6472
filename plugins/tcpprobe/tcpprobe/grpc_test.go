package tcpprobe

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"testing"
	"time"

	"github.com/hawatch/hawatch/sdk"
	"github.com/hawatch/hawatch/sdk/sdktest"
)

func TestOverGRPC(t *testing.T) {
	addr := server(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	c := sdktest.Check(t, New())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if s, err := c.Schema(ctx); err != nil || len(s.Blocks) != 1 || s.Blocks[0].Name != "http" {
		t.Fatalf("Schema = %+v, %v", s, err)
	}
	raw, _ := json.Marshal(map[string]any{"address": addr, "send": nil, "expect": nil, "http": nil})
	if err := c.Configure(ctx, sdk.Config{Raw: raw}); err != nil {
		t.Fatal(err)
	}
	stream, err := c.Watch(ctx, 10*time.Millisecond, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	r, _, err := stream.Recv()
	if err != nil || r.Status != sdk.StatusOK || r.Detail["latency"] == "" {
		t.Fatalf("Recv = %v %q %v, %v", r.Status, r.Reason, r.Detail, err)
	}
}
