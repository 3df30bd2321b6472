package engine

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/hawatch/hawatch/core/config"
	"github.com/hawatch/hawatch/core/trackfile"
	"github.com/hawatch/hawatch/core/vip"
	"github.com/hawatch/hawatch/core/vrouter"
)

// Track files: the engine initialises them (init/overwrite), reads each
// once before the instances start, and runs a watcher (inotify on the
// files' directories) that hands every new value to the loop, which gives
// it to the routers that track the file. The rule (value × weight, FAULT
// bounds) is the routers'.

// fileTracking is the engine's track file state, used from the loop only.
type fileTracking struct {
	watching map[string]string           // name → path the running watcher follows
	values   map[string]trackfile.Update // latest value by name
	cancel   context.CancelFunc          // stops the running watcher; nil: none
}

// routerFileTracks are an instance's track files as its router takes them.
func routerFileTracks(ic *config.Instance) []vrouter.Track {
	var out []vrouter.Track
	for _, t := range ic.TrackFiles {
		out = append(out, vrouter.Track{File: t.File, Weight: t.Weight, Reverse: t.Reverse})
	}
	return out
}

// lowerPrioPolicy is the announcement schedule when a master hears a lower
// priority (garp lower_prio_repeat / lower_prio_delay); Repeat 0 means none
// (the router then asks for none).
func lowerPrioPolicy(ic *config.Instance) vip.Policy {
	p := vipPolicy(ic)
	p.Repeat, p.Delay = max(ic.GARP.LowerPrioRepeat, 1), ic.GARP.LowerPrioDelay
	return p
}

// usedFiles are the track files some instance of cfg tracks, by name.
func usedFiles(cfg *config.Config) map[string]string {
	used := map[string]bool{}
	for _, ic := range cfg.Instances {
		for _, t := range ic.TrackFiles {
			used[t.File] = true
		}
	}
	out := map[string]string{}
	for _, f := range cfg.TrackFiles {
		if used[f.Name] {
			out[f.Name] = f.Path
		}
	}
	return out
}

// startFiles (in the loop) initialises and reads the track files of the
// current config and (re)starts the watcher when the set of files
// changed. Values are read here, synchronously, so an instance starts
// with its file's weight already counted, as keepalived reads them at
// start.
func (e *Engine) startFiles(now time.Time) {
	ft := &e.files
	want := usedFiles(e.cfg)
	if ft.values == nil {
		ft.values = map[string]trackfile.Update{}
	}
	if maps.Equal(want, ft.watching) && ft.cancel != nil {
		return
	}
	// init/overwrite apply when a file is taken up (at start, or new in a
	// reload), never to one already followed: a reload must not undo what
	// an operator wrote.
	for _, f := range e.cfg.TrackFiles {
		if path, ok := want[f.Name]; ok && f.Init != nil && ft.watching[f.Name] != path {
			if err := trackfile.Init(f.Path, *f.Init, f.Overwrite); err != nil {
				e.log.Error().Str("track_file", f.Name).Err(err).Msg("track file not initialised")
			}
		}
	}
	e.stopFiles()
	ft.watching = want
	var files []trackfile.File
	for _, name := range slices.Sorted(maps.Keys(want)) {
		files = append(files, trackfile.File{Name: name, Path: want[name]})
		v, note := trackfile.Read(want[name])
		e.fileUpdate(now, trackfile.Update{Name: name, Value: v, Note: note})
	}
	for name := range ft.values {
		if _, ok := want[name]; !ok {
			delete(ft.values, name)
		}
	}
	if len(files) == 0 {
		return
	}
	ctx, cancel := context.WithCancel(e.runCtx)
	ft.cancel = cancel
	w := trackfile.NewWatcher(e.log)
	e.wg.Go(func() {
		w.Run(ctx, files, func(u trackfile.Update) {
			_ = e.do(ctx, func(now time.Time) { e.fileUpdate(now, u) }) // fails only when stopping
		})
	})
}

// stopFiles stops the running watcher, if any. The watcher hands values to
// the loop, which is the caller: its last do is cancelled, not waited for.
func (e *Engine) stopFiles() {
	ft := &e.files
	if ft.cancel == nil {
		return
	}
	ft.cancel()
	ft.cancel = nil
}

// fileUpdate records a value and hands it to the routers that track the
// file.
func (e *Engine) fileUpdate(now time.Time, u trackfile.Update) {
	ft := &e.files
	if _, ok := ft.watching[u.Name]; !ok && ft.watching != nil {
		return // from a watcher since replaced
	}
	if old, ok := ft.values[u.Name]; !ok || old != u {
		ev := e.log.Info()
		if u.Note != "" {
			ev = e.log.Warn()
		}
		ev.Str("track_file", u.Name).Int64("value", u.Value).Str("note", u.Note).Msg("track file value")
	}
	ft.values[u.Name] = u
	in := vrouter.FileValue{File: u.Name, Value: u.Value, Reason: u.Note, At: now}
	for _, b := range e.bindings {
		if b.r != nil && slices.ContainsFunc(b.cfg.TrackFiles, func(t *config.InstanceTrackFile) bool { return t.File == u.Name }) {
			e.step(now, b, in)
		}
	}
}

// feedFiles gives a new router the current values of its files.
func (e *Engine) feedFiles(now time.Time, b *binding) {
	for _, t := range b.cfg.TrackFiles {
		if u, ok := e.files.values[t.File]; ok {
			e.step(now, b, vrouter.FileValue{File: u.Name, Value: u.Value, Reason: u.Note, At: now})
		}
	}
}

// startupDelay is how long instances stay in INIT after the daemon starts:
// the longer of startup_delay and what is left of delay_after_boot.
func startupDelay(n config.Node, uptime time.Duration) time.Duration {
	d := n.StartupDelay
	if n.DelayAfterBoot > 0 && uptime < n.DelayAfterBoot {
		d = max(d, n.DelayAfterBoot-uptime)
	}
	return d
}
