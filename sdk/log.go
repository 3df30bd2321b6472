package sdk

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"
)

// hclogTimeFormat is the only timestamp layout go-plugin accepts in a
// plugin's JSON log line: with any other number of fractional digits the
// parse fails and the whole line is demoted to a debug message.
const hclogTimeFormat = "2006-01-02T15:04:05.000000Z07:00"

// Logger returns a zerolog.Logger for plugin code. Lines go to stderr as
// hclog JSON (@level, @message, @timestamp), which go-plugin parses on the
// host side, so each line reaches the daemon's log with its level and
// fields.
func Logger() zerolog.Logger {
	return NewLogger(os.Stderr)
}

// NewLogger is Logger writing to w; tests use it to inspect the output.
func NewLogger(w io.Writer) zerolog.Logger {
	return zerolog.New(&hclogWriter{out: w, now: time.Now}).Level(zerolog.TraceLevel)
}

// hclogWriter renames zerolog's standard keys to hclog's. zerolog's key
// names are process globals; renaming per line keeps the SDK from changing
// them under a host process that embeds a plugin (sdktest).
type hclogWriter struct {
	out io.Writer
	now func() time.Time
}

func (w *hclogWriter) Write(p []byte) (int, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(p, &fields); err != nil {
		// Not an object (should not happen with zerolog): pass it through;
		// the host logs it at debug level.
		return w.out.Write(p)
	}
	if v, ok := fields[zerolog.LevelFieldName]; ok {
		delete(fields, zerolog.LevelFieldName)
		fields["@level"] = hclogLevel(v)
	}
	if v, ok := fields[zerolog.MessageFieldName]; ok {
		delete(fields, zerolog.MessageFieldName)
		var msg string
		// go-plugin type-asserts @message to a string.
		if json.Unmarshal(v, &msg) != nil {
			msg = string(v)
		}
		fields["@message"], _ = json.Marshal(msg)
	}
	delete(fields, zerolog.TimestampFieldName)
	fields["@timestamp"], _ = json.Marshal(w.now().Format(hclogTimeFormat))
	line, err := json.Marshal(fields)
	if err != nil {
		return 0, err
	}
	line = append(line, '\n')
	if _, err := w.out.Write(line); err != nil {
		return 0, err
	}
	return len(p), nil
}

// hclogLevel maps zerolog level names onto the five hclog knows; fatal and
// panic would otherwise lose their severity on the host.
func hclogLevel(v json.RawMessage) json.RawMessage {
	switch string(bytes.TrimSpace(v)) {
	case `"fatal"`, `"panic"`:
		return json.RawMessage(`"error"`)
	default:
		return v
	}
}
