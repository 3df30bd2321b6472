package daemon

import (
	"context"
	"sync"
	"time"

	"github.com/hawatch/hawatch/internal/footprint"
)

// trimSettle is how long after start-up (the engine's loop running) and
// after a reload the daemon waits before trimming its memory: past the
// first adverts, elections and gratuitous ARP rounds, whose code would
// otherwise be mapped straight back in.
const trimSettle = 10 * time.Second

// serveTrim gives back the memory that only start-up (and later a reload)
// needed: the parsed policy files kept for error messages, the garbage of
// loading, and the executable's pages that the steady state does not touch
// (internal/footprint). It trims trimSettle after the loop runs and again
// after each successful reload (kickTrim). With node.lock_memory the code
// stays mapped: the operator asked for no page faults. The returned stop
// ends it and waits for it.
func (d *Daemon) serveTrim(ctx context.Context, dropCode bool, o runOptions) (stop func()) {
	settle := trimSettle
	if o.trimSettle > 0 {
		settle = o.trimSettle
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := d.eng.Alive(ctx); err != nil {
			return
		}
		t := time.NewTimer(settle)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-d.trimKick:
				t.Reset(settle)
			case <-t.C:
				r := d.trim(dropCode)
				if o.trimmed != nil {
					o.trimmed(r)
				}
			}
		}
	})
	return func() { cancel(); wg.Wait() }
}

// kickTrim asks for a trim trimSettle from now (after a reload).
func (d *Daemon) kickTrim() {
	select {
	case d.trimKick <- struct{}{}:
	default:
	}
}

func (d *Daemon) trim(dropCode bool) footprint.Report {
	d.mu.Lock()
	// The running policy's sources are only read to render diagnostics of
	// a policy being loaded, never again once it runs.
	d.cfg.Files = nil
	d.mu.Unlock()
	r, err := footprint.Trim(dropCode)
	if err != nil {
		d.log.Warn().Err(err).Msg("memory trim incomplete")
	}
	d.log.Info().Int64("rss_before_kb", r.RSSBefore>>10).Int64("rss_after_kb", r.RSSAfter>>10).
		Int64("code_unmapped_kb", r.Unmapped>>10).Int("mappings_skipped", r.Skipped).Msg("memory trimmed")
	return r
}
