package engine

import (
	"context"
	"time"
)

// Alive returns once the loop has gone round and run an empty step:
// systemd's watchdog is fed from it (core/sdnotify), so a loop stuck inside
// a step stops the pings. Before the instances have started it waits, so
// the first success also means they are running.
func (e *Engine) Alive(ctx context.Context) error {
	return e.do(ctx, func(time.Time) {})
}
