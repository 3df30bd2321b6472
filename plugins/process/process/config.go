// Package process is the logic of the hawatch "process" check plugin: it
// counts the processes that match a name, a pid file or a command-line
// pattern and pushes a result the moment that count crosses the configured
// quorum (a death is seen through a pidfd, a birth through the kernel's proc
// connector or a short /proc rescan).
package process

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/hawatch/hawatch/sdk"
)

// Defaults for optional attributes.
const (
	DefaultMin    = 1
	DefaultRescan = 100 * time.Millisecond
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("invalid process check config")

// Config is the plugin's `config {}` block as the host sends it (JSON).
type Config struct {
	Name         string   `json:"name"`
	Pidfile      string   `json:"pidfile"`
	Cmdline      string   `json:"cmdline"`
	Min          *int     `json:"min"`
	Max          int      `json:"max"`
	Debounce     Duration `json:"debounce"`
	Rescan       Duration `json:"rescan"`
	UseConnector *bool    `json:"use_connector"`
}

// settings is a validated Config with defaults applied.
type settings struct {
	name         string
	pidfile      string
	cmdline      *regexp.Regexp
	min, max     int
	debounce     time.Duration
	rescan       time.Duration
	useConnector bool
}

// label names the watched thing in result reasons.
func (s *settings) label() string {
	switch {
	case s.name != "":
		return s.name
	case s.pidfile != "":
		return s.pidfile
	default:
		return s.cmdline.String()
	}
}

func (c Config) settings() (*settings, error) {
	s := &settings{
		name:         c.Name,
		pidfile:      c.Pidfile,
		min:          DefaultMin,
		max:          c.Max,
		debounce:     time.Duration(c.Debounce),
		rescan:       time.Duration(c.Rescan),
		useConnector: true,
	}
	if c.Min != nil {
		s.min = *c.Min
	}
	if c.UseConnector != nil {
		s.useConnector = *c.UseConnector
	}
	if s.rescan == 0 {
		s.rescan = DefaultRescan
	}
	if c.Name == "" && c.Pidfile == "" && c.Cmdline == "" {
		return nil, fmt.Errorf("%w: set at least one of name, pidfile, cmdline", ErrConfig)
	}
	if c.Cmdline != "" {
		re, err := regexp.Compile(c.Cmdline)
		if err != nil {
			return nil, fmt.Errorf("%w: cmdline: %w", ErrConfig, err)
		}
		s.cmdline = re
	}
	switch {
	case s.min < 0:
		return nil, fmt.Errorf("%w: min %d is negative", ErrConfig, s.min)
	case s.max < 0:
		return nil, fmt.Errorf("%w: max %d is negative (0 means no upper bound)", ErrConfig, s.max)
	case s.max > 0 && s.max < s.min:
		return nil, fmt.Errorf("%w: max %d is below min %d", ErrConfig, s.max, s.min)
	case s.pidfile != "" && s.min > 1:
		return nil, fmt.Errorf("%w: a pidfile names one process, min %d can never be met", ErrConfig, s.min)
	case s.debounce < 0:
		return nil, fmt.Errorf("%w: debounce %s is negative", ErrConfig, s.debounce)
	case s.rescan < time.Millisecond:
		return nil, fmt.Errorf("%w: rescan %s is below 1ms", ErrConfig, s.rescan)
	}
	return s, nil
}

// Schema is the declared `config {}` block.
func Schema() sdk.Schema {
	return sdk.Schema{Attributes: []sdk.Attribute{
		{Name: "name", Type: sdk.TypeString,
			Description: "match processes whose comm (/proc/PID/comm) or executable basename equals this"},
		{Name: "pidfile", Type: sdk.TypeString,
			Description: "match the process whose PID is in this file"},
		{Name: "cmdline", Type: sdk.TypeString,
			Description: "match processes whose command line (arguments joined by spaces) matches this regular expression"},
		{Name: "min", Type: sdk.TypeNumber, Default: DefaultMin, Min: sdk.Float(0),
			Description: "fewest matching processes for ok"},
		{Name: "max", Type: sdk.TypeNumber, Default: 0, Min: sdk.Float(0),
			Description: "most matching processes for ok; 0 means no upper bound"},
		{Name: "debounce", Type: sdk.TypeDuration, Default: "0s",
			Description: "a change between ok and fail must last this long before it is reported"},
		{Name: "rescan", Type: sdk.TypeDuration, Default: DefaultRescan.String(), Min: sdk.Float(0.001),
			Description: "period of the /proc rescan used when the kernel's proc connector is unavailable"},
		{Name: "use_connector", Type: sdk.TypeBool, Default: true,
			Description: "listen to the netlink proc connector for new processes; false forces the periodic rescan"},
	}, Rules: []sdk.Rule{
		{Op: sdk.RuleGE, Attrs: []string{"max", "min"}, ZeroUnset: true},
		{Op: sdk.RuleOneRequired, Attrs: []string{"name", "pidfile", "cmdline"}},
	}}
}

// Duration is a config duration ("250ms"); see sdk.Duration.
type Duration = sdk.Duration
