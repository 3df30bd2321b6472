package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/hawatch/hawatch/core/config"
	"github.com/rs/zerolog"
)

// logger builds the process's one zerolog.Logger; commands pass it (or
// children of it) to everything they construct. Flags beat the policy file.
//
// Format: JSON unless stderr is a terminal or the policy says
// log_format = "console"; --log-format forces either.
func (a *app) logger(node config.Node) (zerolog.Logger, error) {
	return newLogger(a.stderr, a.stderrIsTerminal, a.logLevel, a.logFormat, node)
}

func newLogger(w io.Writer, tty bool, flagLevel, flagFormat string, node config.Node) (zerolog.Logger, error) {
	levelName := firstNonEmpty(flagLevel, node.LogLevel, config.DefaultLogLevel)
	level, err := parseLevel(levelName)
	if err != nil {
		return zerolog.Nop(), err
	}

	var console bool
	switch flagFormat {
	case "":
		console = tty || node.LogFormat == config.LogFormatConsole
	case config.LogFormatConsole:
		console = true
	case config.LogFormatJSON:
		console = false
	default:
		return zerolog.Nop(), usageError(fmt.Errorf("--log-format %q: want %q or %q",
			flagFormat, config.LogFormatJSON, config.LogFormatConsole))
	}

	out := w
	if console {
		out = zerolog.ConsoleWriter{Out: w, NoColor: !tty, TimeFormat: "15:04:05.000"}
	}
	l := zerolog.New(out).Level(level).With().Timestamp()
	if node.Name != "" {
		l = l.Str("node", node.Name)
	}
	return l.Logger(), nil
}

// parseLevel accepts zerolog's level names only (zerolog.ParseLevel would
// also take numbers, which the policy file does not allow either).
func parseLevel(name string) (zerolog.Level, error) {
	name = strings.ToLower(name)
	for _, ok := range config.LogLevels {
		if name == ok {
			return zerolog.ParseLevel(name)
		}
	}
	return zerolog.NoLevel, usageError(fmt.Errorf("log level %q: want one of %s",
		name, strings.Join(config.LogLevels, ", ")))
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
