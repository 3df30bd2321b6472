//go:build !linux

package trackfile

import (
	"context"
	"time"

	"github.com/rs/zerolog"
)

// RetryEvery is how often files are read again where there is no inotify.
const RetryEvery = time.Second

// pollWatcher reads every file each RetryEvery and reports changes: hawatch
// runs on Linux; this keeps other builds honest.
type pollWatcher struct{}

// NewWatcher returns the platform's watcher (polling off Linux).
func NewWatcher(zerolog.Logger) Watcher { return pollWatcher{} }

func (pollWatcher) Run(ctx context.Context, files []File, report func(Update)) {
	last := map[string]Update{}
	t := time.NewTicker(RetryEvery)
	defer t.Stop()
	for {
		for _, f := range files {
			v, note := Read(f.Path)
			u := Update{Name: f.Name, Value: v, Note: note}
			if old, ok := last[f.Name]; !ok || old != u {
				last[f.Name] = u
				report(u)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
