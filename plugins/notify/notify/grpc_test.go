package notify

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hawatch/hawatch/sdk"
	"github.com/hawatch/hawatch/sdk/sdktest"
)

func TestOverGRPC(t *testing.T) {
	h := newHook(t, 500, 200)
	c := sdktest.Action(t, New())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if s, err := c.Schema(ctx); err != nil || len(s.Blocks) != 3 {
		t.Fatalf("Schema = %+v, %v", s, err)
	}
	raw, _ := json.Marshal(map[string]any{"node": "lb1", "exec": nil, "smtp": nil,
		"webhook": map[string]any{"url": h.srv.URL, "retries": 1, "timeout": "1s", "backoff": "1ms"}})
	if err := c.Configure(ctx, sdk.Config{Raw: raw}); err != nil {
		t.Fatal(err)
	}
	if err := c.Notify(ctx, transition("BACKUP", "MASTER")); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	if n := h.requests.Load(); n != 2 {
		t.Fatalf("%d webhook requests, want 2 (one retry)", n)
	}
	// A failure crosses the wire as an error.
	h2 := newHook(t, 400)
	raw, _ = json.Marshal(map[string]any{"webhook": map[string]any{"url": h2.srv.URL}})
	if err := c.Configure(ctx, sdk.Config{Raw: raw}); err != nil {
		t.Fatal(err)
	}
	if err := c.Notify(ctx, transition("MASTER", "BACKUP")); err == nil {
		t.Fatal("Notify to a 400 webhook: no error over gRPC")
	}
}
