package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hawatch/hawatch/sdk"
	"github.com/hawatch/hawatch/sdk/sdktest"
)

func configure(t *testing.T, c *httpCheck, cfg map[string]any) error {
	t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c.Configure(t.Context(), sdk.Config{Raw: raw})
}

func TestCheck(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.WriteHeader(http.StatusOK)
		case "/down":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/moved":
			http.Redirect(w, r, "/ok", http.StatusFound)
		case "/no-content":
			w.WriteHeader(http.StatusNoContent)
		case "/slow":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	}))
	defer srv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	tests := []struct {
		name       string
		cfg        map[string]any
		timeout    time.Duration
		wantStatus sdk.Status
		wantReason string
	}{
		{"expected 200", map[string]any{"url": srv.URL + "/ok", "status": 200}, time.Second, sdk.StatusOK, ": 200 in "},
		{"503 fails", map[string]any{"url": srv.URL + "/down", "status": 200}, time.Second, sdk.StatusFail, "status 503, want 200"},
		{"redirect is not followed", map[string]any{"url": srv.URL + "/moved", "status": 200}, time.Second, sdk.StatusFail, "status 302, want 200"},
		{"custom expected status", map[string]any{"url": srv.URL + "/no-content", "status": 204}, time.Second, sdk.StatusOK, ": 204 in "},
		{"connection refused fails", map[string]any{"url": closedURL + "/", "status": 200}, time.Second, sdk.StatusFail, "connection refused"},
		{"deadline is unknown", map[string]any{"url": srv.URL + "/slow", "status": 200}, 20 * time.Millisecond, sdk.StatusUnknown, "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newHTTPCheck()
			if err := configure(t, c, tt.cfg); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), tt.timeout)
			defer cancel()
			r := c.Check(ctx)
			if r.Status != tt.wantStatus || !strings.Contains(r.Reason, tt.wantReason) {
				t.Errorf("Check = %v %q, want %v containing %q", r.Status, r.Reason, tt.wantStatus, tt.wantReason)
			}
		})
	}
}

func TestConfigureRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  map[string]any
		want string
	}{
		{"no scheme", map[string]any{"url": "198.51.100.10/health", "status": 200}, "want http:// or https://"},
		{"ftp", map[string]any{"url": "ftp://198.51.100.10/", "status": 200}, "want http:// or https://"},
		{"status out of range", map[string]any{"url": "http://198.51.100.10/", "status": 42}, "status 42 is below the minimum 100"},
		{"fractional status", map[string]any{"url": "http://198.51.100.10/", "status": 200.5}, "want a whole number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := configure(t, newHTTPCheck(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Configure error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestOverGRPC runs the plugin as hawatch would talk to it: schema,
// configure and a result stream over real gRPC.
func TestOverGRPC(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	client := sdktest.Check(t, newHTTPCheck())
	ctx := t.Context()

	schema, err := client.Schema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(schema.Attributes) != 2 || schema.Attributes[1].Default != 200.0 {
		t.Errorf("schema %+v", schema)
	}
	if err := client.Configure(ctx, sdk.Config{Raw: []byte(`{"url":"` + srv.URL + `","status":200}`)}); err != nil {
		t.Fatal(err)
	}
	stream, err := client.Watch(ctx, time.Hour, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	r, _, err := stream.Recv()
	if err != nil || r.Status != sdk.StatusOK || r.Detail["status"] != "200" {
		t.Errorf("first result %+v, %v", r, err)
	}
}
