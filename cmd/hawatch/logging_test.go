package main

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/hawatch/hawatch/core/config"
)

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

func TestLogger(t *testing.T) {
	node := config.Node{Name: "lb1", LogLevel: "info", LogFormat: "json"}
	consoleNode := node
	consoleNode.LogFormat = "console"
	debugNode := node
	debugNode.LogLevel = "debug"

	for _, tc := range []struct {
		name       string
		tty        bool
		flagLevel  string
		flagFormat string
		node       config.Node
		wantJSON   bool
		wantDebug  bool // a debug line is written
	}{
		{"default is json", false, "", "", node, true, false},
		{"terminal is console", true, "", "", node, false, false},
		{"config console", false, "", "", consoleNode, false, false},
		{"flag json beats terminal", true, "", "json", node, true, false},
		{"flag console", false, "", "console", node, false, false},
		{"config level", false, "", "", debugNode, true, true},
		{"flag level beats config", false, "warn", "", debugNode, true, false},
		{"flag debug", false, "debug", "", node, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			l, err := newLogger(&buf, tc.tty, tc.flagLevel, tc.flagFormat, tc.node)
			if err != nil {
				t.Fatal(err)
			}
			l.Debug().Msg("debug line")
			l.Info().Str("vip", "198.51.100.50").Msg("info line")
			out := buf.String()

			if got := strings.Contains(out, "debug line"); got != tc.wantDebug {
				t.Errorf("debug line written = %v, want %v:\n%s", got, tc.wantDebug, out)
			}
			if tc.flagLevel == "warn" {
				if strings.Contains(out, "info line") {
					t.Errorf("info written at level warn:\n%s", out)
				}
				return
			}
			lines := strings.Split(strings.TrimSpace(ansi.ReplaceAllString(out, "")), "\n")
			last := lines[len(lines)-1]
			var m map[string]any
			isJSON := json.Unmarshal([]byte(last), &m) == nil
			if isJSON != tc.wantJSON {
				t.Fatalf("JSON = %v, want %v: %q", isJSON, tc.wantJSON, last)
			}
			if isJSON {
				if m["message"] != "info line" || m["level"] != "info" || m["node"] != "lb1" || m["vip"] != "198.51.100.50" || m["time"] == nil {
					t.Errorf("json line %v lacks fields", m)
				}
			} else if !strings.Contains(last, "info line") || !strings.Contains(last, "vip=198.51.100.50") {
				t.Errorf("console line %q lacks fields", last)
			}
			if !tc.tty && strings.Contains(out, "\x1b[") {
				t.Errorf("color codes without a terminal: %q", out)
			}
		})
	}
}

func TestLoggerBadFlags(t *testing.T) {
	node := config.Node{LogLevel: "info", LogFormat: "json"}
	if _, err := newLogger(&bytes.Buffer{}, false, "loud", "", node); err == nil || !strings.Contains(err.Error(), `"loud"`) {
		t.Errorf("bad level: err %v", err)
	}
	if _, err := newLogger(&bytes.Buffer{}, false, "1", "", node); err == nil {
		t.Error("numeric level accepted")
	}
	if _, err := newLogger(&bytes.Buffer{}, false, "", "xml", node); err == nil || !strings.Contains(err.Error(), `"xml"`) {
		t.Errorf("bad format: err %v", err)
	}
}

// The app's factory uses its own flags and streams.
func TestAppLogger(t *testing.T) {
	var errb bytes.Buffer
	a := newApp(&bytes.Buffer{}, &errb, false)
	a.logLevel = "error"
	l, err := a.logger(config.Node{Name: "n", LogLevel: "debug", LogFormat: "json"})
	if err != nil {
		t.Fatal(err)
	}
	l.Warn().Msg("dropped")
	l.Error().Msg("kept")
	if strings.Contains(errb.String(), "dropped") || !strings.Contains(errb.String(), `"message":"kept"`) {
		t.Errorf("stderr %q", errb.String())
	}
}
