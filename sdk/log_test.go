package sdk

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestLoggerWritesHclogJSON(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	tests := []struct {
		name      string
		log       func(buf *bytes.Buffer)
		wantLevel string
		wantMsg   string
		wantField string
	}{
		{"info with field", func(buf *bytes.Buffer) {
			l := newTestLogger(buf, at)
			l.Info().Str("url", "http://x").Msg("probing")
		}, "info", "probing", "url"},
		{"warn", func(buf *bytes.Buffer) {
			l := newTestLogger(buf, at)
			l.Warn().Msg("slow")
		}, "warn", "slow", ""},
		{"error keeps its severity", func(buf *bytes.Buffer) {
			l := newTestLogger(buf, at)
			l.Error().Err(errTest).Msg("boom")
		}, "error", "boom", "error"},
		{"panic level maps to error", func(buf *bytes.Buffer) {
			l := newTestLogger(buf, at)
			l.WithLevel(5).Msg("dying") // zerolog.PanicLevel without panicking
		}, "error", "dying", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			tt.log(&buf)
			var m map[string]any
			if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
				t.Fatalf("line %q: %v", buf.String(), err)
			}
			if m["@level"] != tt.wantLevel || m["@message"] != tt.wantMsg {
				t.Errorf("line %s: want @level=%s @message=%s", buf.String(), tt.wantLevel, tt.wantMsg)
			}
			// go-plugin only accepts exactly six fractional digits.
			ts, _ := m["@timestamp"].(string)
			if _, err := time.Parse("2006-01-02T15:04:05.000000Z07:00", ts); err != nil || ts != "2026-03-04T05:06:07.000000Z" {
				t.Errorf("@timestamp = %q (%v)", ts, err)
			}
			for _, k := range []string{"level", "message", "time"} {
				if _, ok := m[k]; ok {
					t.Errorf("zerolog key %q left in %s", k, buf.String())
				}
			}
			if tt.wantField != "" {
				if _, ok := m[tt.wantField]; !ok {
					t.Errorf("field %q missing from %s", tt.wantField, buf.String())
				}
			}
		})
	}
}

type testErr string

func (e testErr) Error() string { return string(e) }

const errTest = testErr("bad")

func newTestLogger(w io.Writer, at time.Time) zerolog.Logger {
	return zerolog.New(&hclogWriter{out: w, now: func() time.Time { return at }}).Level(zerolog.TraceLevel)
}
