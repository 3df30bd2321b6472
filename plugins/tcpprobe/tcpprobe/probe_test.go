package tcpprobe

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hawatch/hawatch/sdk"
)

// server is an in-test TCP listener on 127.0.0.1 that runs handle for each
// connection; it is closed at cleanup.
func server(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// closedPort returns an address on which nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func configure(t *testing.T, cfg map[string]any) *Plugin {
	t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := New()
	if err := p.Configure(context.Background(), sdk.Config{Raw: raw}); err != nil {
		t.Fatalf("Configure(%s): %v", raw, err)
	}
	return p
}

func TestCheck(t *testing.T) {
	silent := server(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) }) // accepts, never answers
	redis := server(t, func(c net.Conn) {
		line, _ := bufio.NewReader(c).ReadString('\n')
		if line == "PING\r\n" {
			fmt.Fprint(c, "+PONG\r\n")
		} else {
			fmt.Fprint(c, "-ERR\r\n")
		}
	})
	banner := server(t, func(c net.Conn) { fmt.Fprint(c, "220 mail ready\r\n") })
	garbage := server(t, func(c net.Conn) { fmt.Fprint(c, "SSH-2.0-OpenSSH\r\n") })

	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Host") == "" && r.Host == "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, "status: ready")
	})
	mux.HandleFunc("/down", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	mux.HandleFunc("/vhost", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "host="+r.Host) })
	web := httptest.NewServer(mux)
	t.Cleanup(web.Close)
	webAddr := strings.TrimPrefix(web.URL, "http://")

	tests := []struct {
		name       string
		cfg        map[string]any
		timeout    time.Duration
		wantStatus sdk.Status
		wantReason string // substring
		wantDetail map[string]string
	}{
		{"connect ok", map[string]any{"address": silent}, time.Second, sdk.StatusOK, "connected in", nil},
		{"connect refused", map[string]any{"address": closedPort(t)}, time.Second, sdk.StatusFail, "connect: connection refused", nil},
		{"send and expect", map[string]any{"address": redis, "send": "PING\r\n", "expect": "+PONG"}, time.Second, sdk.StatusOK, `"+PONG" received`, nil},
		{"wrong answer", map[string]any{"address": redis, "send": "HELLO\r\n", "expect": "+PONG"}, time.Second, sdk.StatusFail, `expected "+PONG", not in 6 bytes read: EOF`, nil},
		{"expect a banner without sending", map[string]any{"address": banner, "expect": "220 "}, time.Second, sdk.StatusOK, `"220 " received`, nil},
		{"no answer before the deadline", map[string]any{"address": silent, "send": "PING\r\n", "expect": "+PONG"}, 100 * time.Millisecond, sdk.StatusFail, "i/o timeout", nil},
		{"http ok", map[string]any{"address": webAddr, "http": map[string]any{"path": "/healthz", "status": 200}}, time.Second, sdk.StatusOK, "GET /healthz 200 in", map[string]string{"status": "200"}},
		{"http status defaults to 200", map[string]any{"address": webAddr, "http": map[string]any{"path": "/healthz"}}, time.Second, sdk.StatusOK, "GET /healthz 200", nil},
		{"http wrong status", map[string]any{"address": webAddr, "http": map[string]any{"path": "/down", "status": 200}}, time.Second, sdk.StatusFail, "GET /down: status 503, want 200", map[string]string{"status": "503"}},
		{"http expected status 503", map[string]any{"address": webAddr, "http": map[string]any{"path": "/down", "status": 503}}, time.Second, sdk.StatusOK, "GET /down 503", nil},
		{"http body expect", map[string]any{"address": webAddr, "expect": "ready", "http": map[string]any{"path": "/healthz", "status": 200}}, time.Second, sdk.StatusOK, "GET /healthz 200", nil},
		{"http body expect missing", map[string]any{"address": webAddr, "expect": "draining", "http": map[string]any{"path": "/healthz", "status": 200}}, time.Second, sdk.StatusFail, `expected "draining", not in 13 body bytes`, nil},
		{"http host header", map[string]any{"address": webAddr, "expect": "host=www.example.org", "http": map[string]any{"path": "/vhost", "status": 200, "host": "www.example.org"}}, time.Second, sdk.StatusOK, "GET /vhost 200", nil},
		{"http against a non-HTTP server", map[string]any{"address": garbage, "http": map[string]any{"path": "/", "status": 200}}, time.Second, sdk.StatusFail, "GET /: malformed HTTP", nil},
		{"http against a silent server", map[string]any{"address": silent, "http": map[string]any{"path": "/", "status": 200}}, 100 * time.Millisecond, sdk.StatusFail, "i/o timeout", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := configure(t, tt.cfg)
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			r := p.Check(ctx)
			if r.Status != tt.wantStatus || !strings.Contains(r.Reason, tt.wantReason) {
				t.Fatalf("Check = %v %q, want %v containing %q", r.Status, r.Reason, tt.wantStatus, tt.wantReason)
			}
			if _, err := time.ParseDuration(r.Detail["latency"]); err != nil {
				t.Errorf("detail latency %q: %v", r.Detail["latency"], err)
			}
			if r.Detail["address"] != tt.cfg["address"] {
				t.Errorf("detail address %q", r.Detail["address"])
			}
			for k, v := range tt.wantDetail {
				if r.Detail[k] != v {
					t.Errorf("detail %s = %q, want %q (all: %v)", k, r.Detail[k], v, r.Detail)
				}
			}
		})
	}
}

func TestCheckCancelledIsUnknown(t *testing.T) {
	accepted := make(chan struct{}, 1)
	silent := server(t, func(c net.Conn) {
		accepted <- struct{}{}
		_, _ = io.Copy(io.Discard, c)
	})
	p := configure(t, map[string]any{"address": silent, "expect": "x"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Cancel once the probe is connected and waiting: no deadline passed,
	// the host just went away.
	go func() {
		<-accepted
		cancel()
	}()
	r := p.Check(ctx)
	if r.Status != sdk.StatusUnknown || !strings.Contains(r.Reason, "cancelled") {
		t.Fatalf("Check after cancel = %v %q, want unknown", r.Status, r.Reason)
	}
}

func TestCheckBeforeConfigure(t *testing.T) {
	if r := New().Check(context.Background()); r.Status != sdk.StatusUnknown {
		t.Fatalf("Check before Configure = %v", r.Status)
	}
}

func TestConfigure(t *testing.T) {
	tests := []struct {
		name string
		json string
		want error // nil: valid
	}{
		{"address only", `{"address":"198.51.100.11:80"}`, nil},
		{"as the host sends an absent http block", `{"address":"198.51.100.11:80","send":null,"expect":null,"http":null}`, nil},
		{"ipv6", `{"address":"[2001:db8::1]:80"}`, nil},
		{"http full", `{"address":"198.51.100.11:80","http":{"path":"/healthz","status":204,"host":"x"}}`, nil},
		{"missing address", `{}`, ErrConfig},
		{"no port", `{"address":"198.51.100.11"}`, ErrConfig},
		{"send with http", `{"address":"a:1","send":"x","http":{"path":"/"}}`, ErrConfig},
		{"relative path", `{"address":"a:1","http":{"path":"healthz"}}`, ErrConfig},
		{"path with CRLF", `{"address":"a:1","http":{"path":"/x\r\nX-Evil: 1"}}`, ErrConfig},
		{"status out of range", `{"address":"a:1","http":{"path":"/","status":42}}`, ErrConfig},
		{"host with CRLF", `{"address":"a:1","http":{"path":"/","host":"a\r\nb"}}`, ErrConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := New().Configure(context.Background(), sdk.Config{Raw: []byte(tt.json)})
			if tt.want == nil && err != nil {
				t.Fatalf("Configure(%s) = %v", tt.json, err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Configure(%s) = %v, want %v", tt.json, err, tt.want)
			}
		})
	}
}

func TestSchema(t *testing.T) {
	s := New().Schema()
	names := map[string]bool{}
	for _, a := range s.Attributes {
		names[a.Name] = true
	}
	for _, n := range []string{"address", "send", "expect"} {
		if !names[n] {
			t.Errorf("schema lacks %q", n)
		}
	}
	if len(s.Blocks) != 1 || s.Blocks[0].Name != "http" {
		t.Fatalf("blocks %+v", s.Blocks)
	}
	// path must be required: then an absent http block reaches the plugin
	// as null rather than as an object of defaults.
	for _, a := range s.Blocks[0].Schema.Attributes {
		if a.Name == "path" && !a.Required {
			t.Errorf("http.path is not required")
		}
	}
	if info := New().Info(); info.Name != "tcpprobe" || info.Kind != sdk.KindCheck {
		t.Errorf("Info = %+v", info)
	}
}
