package process

import (
	"context"
	"errors"

	"github.com/rs/zerolog"

	"github.com/hawatch/hawatch/sdk"
)

// Version is reported in Info.
const Version = "0.1.0"

// ErrNotConfigured is returned by Watch before a successful Configure.
var ErrNotConfigured = errors.New("process check: Watch before Configure")

// Plugin is the "process" check in push form (sdk.Watcher).
type Plugin struct {
	sdk.Configured[Config]
	log  zerolog.Logger
	root string // procfs mount point

}

var _ sdk.Watcher = (*Plugin)(nil)

// Option adjusts a Plugin built by New.
type Option func(*Plugin)

// WithLogger replaces the SDK's stderr logger.
func WithLogger(l zerolog.Logger) Option { return func(p *Plugin) { p.log = l } }

// New returns an unconfigured plugin.
func New(opts ...Option) *Plugin {
	p := &Plugin{log: sdk.Logger(), root: "/proc"}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Info implements sdk.Base.
func (p *Plugin) Info() sdk.Info {
	return sdk.Info{Name: "process", Kind: sdk.KindCheck, Version: Version}
}

// Watch implements sdk.Watcher: it reports once at start and then on every
// change of the matching set, until ctx ends.
func (p *Plugin) Watch(ctx context.Context, report func(sdk.Result)) error {
	cfg := p.Config()
	if cfg == nil {
		return ErrNotConfigured
	}
	s := cfg.s
	return watch(ctx, s, p.root, p.log, report)
}
