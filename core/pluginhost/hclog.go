package pluginhost

import (
	"fmt"
	"io"
	"log"
	"strings"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
	"github.com/rs/zerolog"
)

// hclogAdapter lets go-plugin log into the daemon's zerolog stream. go-plugin
// parses each plugin stderr line (hclog JSON) and replays it here with the
// plugin's own level and fields, so plugin logs land beside the daemon's.
type hclogAdapter struct {
	log  zerolog.Logger
	name string
	args []any
	// stopping is set when the host ends the plugin on purpose (a schema
	// probe, a reload, shutdown): go-plugin's "plugin process exited" is
	// then routine and logged at debug, not at info where it reads like a
	// crash. Shared by the adapter's With/Named copies.
	stopping *atomic.Bool
}

// exitMsg is the line go-plugin logs when a plugin process ends.
const exitMsg = "plugin process exited"

var _ hclog.Logger = (*hclogAdapter)(nil)

func newHclogAdapter(log zerolog.Logger) *hclogAdapter {
	return &hclogAdapter{log: log, stopping: new(atomic.Bool)}
}

func (a *hclogAdapter) Log(level hclog.Level, msg string, args ...any) {
	if level == hclog.Info && msg == exitMsg && a.stopping.Load() {
		level = hclog.Debug
	}
	var ev *zerolog.Event
	switch level {
	case hclog.Trace:
		ev = a.log.Trace()
	case hclog.Debug, hclog.NoLevel:
		ev = a.log.Debug()
	case hclog.Info:
		ev = a.log.Info()
	case hclog.Warn:
		ev = a.log.Warn()
	case hclog.Error:
		ev = a.log.Error()
	default:
		return
	}
	if ev == nil { // level disabled in the daemon's logger
		return
	}
	if a.name != "" {
		ev = ev.Str("logger", a.name)
	}
	addPairs(ev, a.args)
	addPairs(ev, args)
	ev.Msg(msg)
}

// addPairs adds hclog's alternating key/value args as fields. go-plugin adds
// the plugin's own timestamp as "timestamp"; zerolog stamps the line itself,
// so that one is dropped. go-plugin's "plugin" (the binary path) would
// duplicate the manager's "plugin" (the plugin name) and is renamed.
func addPairs(ev *zerolog.Event, args []any) {
	for i := 0; i < len(args); i += 2 {
		key := fmt.Sprint(args[i])
		if i+1 >= len(args) {
			ev.Str("EXTRA_VALUE_AT_END", key)
			return
		}
		switch key {
		case "timestamp":
			continue
		case "plugin":
			key = "plugin_path"
		}
		switch v := args[i+1].(type) {
		case error:
			ev.AnErr(key, v)
		default:
			ev.Interface(key, v)
		}
	}
}

func (a *hclogAdapter) Trace(msg string, args ...any) { a.Log(hclog.Trace, msg, args...) }
func (a *hclogAdapter) Debug(msg string, args ...any) { a.Log(hclog.Debug, msg, args...) }
func (a *hclogAdapter) Info(msg string, args ...any)  { a.Log(hclog.Info, msg, args...) }
func (a *hclogAdapter) Warn(msg string, args ...any)  { a.Log(hclog.Warn, msg, args...) }
func (a *hclogAdapter) Error(msg string, args ...any) { a.Log(hclog.Error, msg, args...) }

func (a *hclogAdapter) IsTrace() bool { return a.log.GetLevel() <= zerolog.TraceLevel }
func (a *hclogAdapter) IsDebug() bool { return a.log.GetLevel() <= zerolog.DebugLevel }
func (a *hclogAdapter) IsInfo() bool  { return a.log.GetLevel() <= zerolog.InfoLevel }
func (a *hclogAdapter) IsWarn() bool  { return a.log.GetLevel() <= zerolog.WarnLevel }
func (a *hclogAdapter) IsError() bool { return a.log.GetLevel() <= zerolog.ErrorLevel }

func (a *hclogAdapter) ImpliedArgs() []any { return a.args }

func (a *hclogAdapter) With(args ...any) hclog.Logger {
	c := *a
	c.args = append(append([]any(nil), a.args...), args...)
	return &c
}

func (a *hclogAdapter) Name() string { return a.name }

func (a *hclogAdapter) Named(name string) hclog.Logger {
	c := *a
	if c.name != "" {
		c.name += "." + name
	} else {
		c.name = name
	}
	return &c
}

func (a *hclogAdapter) ResetNamed(name string) hclog.Logger {
	c := *a
	c.name = name
	return &c
}

// SetLevel is ignored: the daemon's zerolog level rules.
func (a *hclogAdapter) SetLevel(hclog.Level) {}

// GetLevel reports the daemon's level so go-plugin skips parsing lines that
// would be dropped anyway.
func (a *hclogAdapter) GetLevel() hclog.Level {
	switch l := a.log.GetLevel(); {
	case l <= zerolog.TraceLevel:
		return hclog.Trace
	case l == zerolog.DebugLevel:
		return hclog.Debug
	case l == zerolog.InfoLevel:
		return hclog.Info
	case l == zerolog.WarnLevel:
		return hclog.Warn
	case l == zerolog.Disabled:
		return hclog.Off
	default:
		return hclog.Error
	}
}

func (a *hclogAdapter) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(a.StandardWriter(opts), "", 0)
}

func (a *hclogAdapter) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return stdWriter{a}
}

type stdWriter struct{ a *hclogAdapter }

func (w stdWriter) Write(p []byte) (int, error) {
	w.a.Info(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
