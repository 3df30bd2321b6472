package pluginhost

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/rs/zerolog"
)

func TestHclogAdapter(t *testing.T) {
	tests := []struct {
		name      string
		level     zerolog.Level // the daemon's level
		log       func(l hclog.Logger)
		wantLevel string // "" = nothing logged
		wantKeys  map[string]any
	}{
		{"info with fields", zerolog.DebugLevel, func(l hclog.Logger) {
			l.Info("probing", "url", "http://x", "timestamp", "2026-01-01")
		}, "info", map[string]any{"url": "http://x"}},
		{"go-plugin's plugin path does not clash with the plugin name", zerolog.DebugLevel, func(l hclog.Logger) {
			l.Debug("starting plugin", "plugin", "/usr/libexec/x")
		}, "debug", map[string]any{"plugin": "web", "plugin_path": "/usr/libexec/x"}},
		{"error value", zerolog.DebugLevel, func(l hclog.Logger) {
			l.Error("failed", "err", errors.New("boom"))
		}, "error", map[string]any{"err": "boom"}},
		{"named and With", zerolog.DebugLevel, func(l hclog.Logger) {
			l.Named("stdio").With("k", 1).Warn("w")
		}, "warn", map[string]any{"logger": "stdio", "k": 1.0}},
		{"below the daemon's level is dropped", zerolog.InfoLevel, func(l hclog.Logger) {
			l.Debug("noise")
		}, "", nil},
		{"trace", zerolog.TraceLevel, func(l hclog.Logger) { l.Trace("t") }, "trace", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			a := newHclogAdapter(zerolog.New(&buf).Level(tt.level).With().Str("plugin", "web").Logger())
			tt.log(a)
			if tt.wantLevel == "" {
				if buf.Len() != 0 {
					t.Errorf("logged %s", buf.String())
				}
				return
			}
			var m map[string]any
			if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
				t.Fatalf("%q: %v", buf.String(), err)
			}
			if m["level"] != tt.wantLevel {
				t.Errorf("level %v, want %s", m["level"], tt.wantLevel)
			}
			if _, ok := m["timestamp"]; ok {
				t.Error("go-plugin's timestamp field kept")
			}
			for k, v := range tt.wantKeys {
				if m[k] != v {
					t.Errorf("%s = %v, want %v (line %s)", k, m[k], v, buf.String())
				}
			}
			if n := bytes.Count(buf.Bytes(), []byte(`"plugin":`)); n != 1 {
				t.Errorf("%d \"plugin\" keys in %s", n, buf.String())
			}
		})
	}
	if got := newHclogAdapter(zerolog.New(nil).Level(zerolog.WarnLevel)).GetLevel(); got != hclog.Warn {
		t.Errorf("GetLevel = %v, want warn", got)
	}
}

// TestHclogAdapterExpectedExit: the exit of a plugin the host stops on
// purpose (a schema probe) is debug; an exit nobody asked for stays info.
func TestHclogAdapterExpectedExit(t *testing.T) {
	var buf bytes.Buffer
	a := newHclogAdapter(zerolog.New(&buf).Level(zerolog.InfoLevel))
	child := a.With("plugin", "/x").Named("client")
	child.Info(exitMsg, "id", 7)
	if !bytes.Contains(buf.Bytes(), []byte(exitMsg)) {
		t.Fatalf("a crash's exit was not logged at info: %q", buf.String())
	}
	buf.Reset()
	a.stopping.Store(true)
	child.Info(exitMsg, "id", 7)
	child.Info("something else")
	if bytes.Contains(buf.Bytes(), []byte(exitMsg)) || !bytes.Contains(buf.Bytes(), []byte("something else")) {
		t.Errorf("after a deliberate stop: %q", buf.String())
	}
}
