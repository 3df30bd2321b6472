package notify

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hawatch/hawatch/sdk"
)

// Version is reported in Info.
const Version = "0.1.0"

// DefaultDeadline bounds a Notify whose context has no deadline (the host
// always sets one; this is a backstop so nothing hangs forever).
const DefaultDeadline = 2 * time.Minute

// ErrNotConfigured is returned by Notify before a successful Configure.
var ErrNotConfigured = errors.New("notify: Notify before Configure")

// Plugin is the "notify" action.
type Plugin struct {
	sdk.Configured[Config]
	now func() time.Time
}

var _ sdk.Action = (*Plugin)(nil)

// New returns an unconfigured plugin.
func New() *Plugin { return &Plugin{now: time.Now} }

// Info implements sdk.Base.
func (p *Plugin) Info() sdk.Info {
	return sdk.Info{Name: "notify", Kind: sdk.KindAction, Version: Version}
}

// Notify implements sdk.Action. The configured sinks run in parallel so a
// slow mail server does not hold back the script; their errors are joined
// (the host logs and counts them).
func (p *Plugin) Notify(ctx context.Context, t sdk.Transition) error {
	cfg := p.Config()
	if cfg == nil {
		return ErrNotConfigured
	}
	s := cfg.s
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultDeadline)
		defer cancel()
	}
	if t.At.IsZero() {
		t.At = p.now()
	}
	ev := newEvent(s.node, t)

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	run := func(name string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				mu.Unlock()
			}
		}()
	}
	if s.exec != nil {
		run("exec", func() error { return runExec(ctx, s.exec, ev) })
	}
	if s.smtp != nil {
		run("smtp", func() error { return sendMail(ctx, s.smtp, ev, p.now()) })
	}
	if s.webhook != nil {
		run("webhook", func() error { return postWebhook(ctx, s.webhook, ev) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// event is a transition with the facts every sink shares.
type event struct {
	sdk.Transition
	Node string
	Kind string // "INSTANCE" or "GROUP", as keepalived's notify $1
	Name string // instance or group name, keepalived's $2
}

func newEvent(node string, t sdk.Transition) event {
	ev := event{Transition: t, Node: node, Kind: "INSTANCE", Name: t.Instance}
	if t.Instance == "" {
		ev.Kind, ev.Name = "GROUP", t.Group
	}
	return ev
}

// env is the command's view of the event.
func (e event) env() []string {
	return []string{
		"HAWATCH_INSTANCE=" + e.Instance,
		"HAWATCH_GROUP=" + e.Group,
		"HAWATCH_FROM=" + e.From,
		"HAWATCH_TO=" + e.To,
		"HAWATCH_PRIORITY=" + strconv.Itoa(e.Priority),
		"HAWATCH_REASON=" + e.Reason,
		"HAWATCH_NODE=" + e.Node,
		"HAWATCH_AT=" + e.At.UTC().Format(time.RFC3339Nano),
		// The witness grant's revision (0 without a witness): a fencing
		// token downstream systems can compare to refuse a deposed master.
		"HAWATCH_FENCING_TOKEN=" + strconv.FormatInt(e.FencingToken, 10),
	}
}

// oneLine makes a value safe for a mail header or a single text line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.NewReplacer("\r", " ", "\n", " ").Replace(s)), " ")
}
