// Package process is the logic of the hawatch "process" check plugin: it
// counts the processes that match a name, a pid file or a command-line
// pattern and pushes a result the moment that count crosses the configured
// quorum (a death is seen through a pidfd, a birth through the kernel's proc
// connector or a short /proc rescan).
package process

import (
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
var ErrConfig = sdk.ErrInvalidConfig

// Config is the plugin's `config {}` block; its tags are the schema.
type Config struct {
	Name         string   `hawatch:"name,one_required=pidfile|cmdline" doc:"match processes whose comm (/proc/PID/comm) or executable basename equals this"`
	Pidfile      string   `hawatch:"pidfile" doc:"match the process whose PID is in this file"`
	Cmdline      string   `hawatch:"cmdline" doc:"match processes whose command line (arguments joined by spaces) matches this regular expression"`
	Min          *int     `hawatch:"min,min=0" default:"1" doc:"fewest matching processes for ok"`
	Max          int      `hawatch:"max,min=0,ge=min,zero_unset" default:"0" doc:"most matching processes for ok; 0 means no upper bound"`
	Debounce     Duration `hawatch:"debounce" default:"0s" doc:"a change between ok and fail must last this long before it is reported"`
	Rescan       Duration `hawatch:"rescan,min=1ms" default:"100ms" doc:"period of the /proc rescan used when the kernel's proc connector is unavailable"`
	UseConnector *bool    `hawatch:"use_connector" default:"true" doc:"listen to the netlink proc connector for new processes; false forces the periodic rescan"`

	s *settings // derived by Validate
}

// Validate derives the watch's settings (called by the SDK after decoding).
func (c *Config) Validate() (err error) {
	c.s, err = c.settings()
	return err
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
func Schema() sdk.Schema { return sdk.SchemaOf[Config]() }

// Duration is a config duration ("250ms"); see sdk.Duration.
type Duration = sdk.Duration
