package daemon

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hawatch/hawatch/core/control"
	"github.com/hawatch/hawatch/core/engine"
	"github.com/hawatch/hawatch/internal/footprint"
)

// TestRunTrimsAfterStartAndReload: once the loop runs and the settle time
// has passed, Run trims its memory (the running policy's parsed files
// dropped, the executable's read-only pages unmapped), and again after a
// reload.
func TestRunTrimsAfterStartAndReload(t *testing.T) {
	path, cfg := testNode(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	trims := make(chan footprint.Report, 4)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, zerolog.Nop(), path, cfg, runOptions{
			engine:     engine.Options{Listen: newQuietConn, NewVIPManager: newNoVIPs},
			trimSettle: 50 * time.Millisecond,
			trimmed:    func(r footprint.Report) { trims <- r },
		})
	}()
	wait := func(what string) footprint.Report {
		t.Helper()
		select {
		case r := <-trims:
			return r
		case err := <-done:
			t.Fatalf("Run returned before the %s trim: %v", what, err)
		case <-time.After(deadline):
			t.Fatalf("no trim after %s", what)
		}
		return footprint.Report{}
	}
	r := wait("start-up")
	if r.Unmapped == 0 {
		t.Errorf("start-up trim unmapped nothing: %+v", r)
	}
	if cfg.Files != nil {
		t.Error("the running policy's parsed files were kept")
	}

	ctl := control.NewClient(cfg.Node.ControlSocket)
	if err := ctl.Do(ctx, "POST", "/v1/reload", nil, nil); err != nil {
		t.Fatalf("reload: %v", err)
	}
	wait("the reload")
	select {
	case r := <-trims:
		t.Errorf("a second trim for one reload: %+v", r)
	case <-time.After(200 * time.Millisecond):
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(deadline):
		t.Fatal("Run did not return after its context was cancelled")
	}
}
