// Command hawatch-flap is a test-only check plugin (e2e plugin storm, issue
// 17): a Watcher whose verdict the test drives through a control file, so
// twenty copies can flap together for a bounded storm and then settle to a
// state the test knows.
//
// The control file holds one word, read at every flip and every period:
//
//	ok, fail   report that, steadily
//	stagger    flip every period, offset by the check's phase
//	sync       flip every period, phase ignored: every copy flips at once
//
// Flips are aligned to wall-clock multiples of the period (plus the phase),
// so separate plugin processes agree on when to flip without talking to
// each other: ok during even periods, fail during odd ones. A missing or
// unreadable control file is reported as unknown.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hawatch/hawatch/sdk"
)

type config struct {
	Control string       `json:"control"`
	Period  sdk.Duration `json:"period"`
	Phase   sdk.Duration `json:"phase"`
}

type flap struct {
	mu  sync.Mutex
	cfg *config
}

func (*flap) Info() sdk.Info {
	return sdk.Info{Name: "flap", Kind: sdk.KindCheck, Version: "0.1.0"}
}

func (*flap) Schema() sdk.Schema {
	return sdk.Schema{Attributes: []sdk.Attribute{
		{Name: "control", Type: sdk.TypeString, Required: true, Description: "file holding ok, fail, stagger or sync"},
		{Name: "period", Type: sdk.TypeDuration, Default: "50ms", Description: "time between flips"},
		{Name: "phase", Type: sdk.TypeDuration, Default: "0s", Description: "offset of this check's flips in stagger mode"},
	}}
}

func (f *flap) Configure(_ context.Context, c sdk.Config) error {
	var cfg config
	if err := c.Decode(&cfg); err != nil {
		return err
	}
	if cfg.Period <= 0 {
		return fmt.Errorf("flap: period %v must be positive", time.Duration(cfg.Period))
	}
	if cfg.Phase < 0 || cfg.Phase >= cfg.Period {
		return fmt.Errorf("flap: phase %v must be in [0, period)", time.Duration(cfg.Phase))
	}
	f.mu.Lock()
	f.cfg = &cfg
	f.mu.Unlock()
	return nil
}

// verdict is what the check says at now, and when it may next change.
func verdict(cfg *config, now time.Time) (sdk.Result, time.Time) {
	period := time.Duration(cfg.Period)
	b, err := os.ReadFile(cfg.Control)
	if err != nil {
		return sdk.Result{Status: sdk.StatusUnknown, Reason: "control file: " + err.Error()}, now.Add(period)
	}
	mode := strings.TrimSpace(string(b))
	switch mode {
	case "ok":
		return sdk.OK("ok (settled)"), now.Add(period)
	case "fail":
		return sdk.Fail("fail (settled)"), now.Add(period)
	case "stagger", "sync":
		phase := time.Duration(cfg.Phase)
		if mode == "sync" {
			phase = 0
		}
		k := (now.UnixNano() - int64(phase)) / int64(period)
		next := time.Unix(0, (k+1)*int64(period)+int64(phase))
		if k%2 == 0 {
			return sdk.OK("ok (%s)", mode), next
		}
		return sdk.Fail("fail (%s)", mode), next
	}
	return sdk.Result{Status: sdk.StatusUnknown, Reason: fmt.Sprintf("control file: unknown mode %q", mode)}, now.Add(period)
}

// Watch reports at start and on every change of status or reason.
func (f *flap) Watch(ctx context.Context, report func(sdk.Result)) error {
	f.mu.Lock()
	cfg := f.cfg
	f.mu.Unlock()
	if cfg == nil {
		return fmt.Errorf("flap: Watch before Configure")
	}
	var last sdk.Result
	first := true
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		r, next := verdict(cfg, time.Now())
		if first || r.Status != last.Status || r.Reason != last.Reason {
			report(r)
			last, first = r, false
		}
		timer.Reset(time.Until(next))
	}
}

func main() { sdk.Serve(&flap{}) }
