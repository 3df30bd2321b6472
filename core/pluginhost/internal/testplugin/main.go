// Command testplugin is the misbehaving plugin the pluginhost tests run as a
// real process. Flags pick its name, kind and failure mode.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/hawatch/hawatch/sdk"
)

func main() {
	name := flag.String("name", "testplugin", "name reported in Info")
	kind := flag.String("kind", "check", "check, action or witness")
	mode := flag.String("mode", "ok", "ok | crash | hang | push | flood")
	crashEvery := flag.Int("crash-every", 3, "crash mode: exit on every Nth Check")
	floodEvery := flag.Duration("flood-every", time.Millisecond, "flood mode: report period")
	flag.Parse()

	info := sdk.Info{Name: *name, Kind: sdk.Kind(*kind), Version: "test"}
	log := sdk.Logger()
	log.Warn().Str("mode", *mode).Msg("testplugin starting")

	switch {
	case *kind == "action":
		sdk.Serve(&action{base: base{info: info}})
	case *kind == "witness":
		sdk.Serve(&witness{base: base{info: info}, crash: *mode == "crash"})
	case *mode == "push" || *mode == "flood":
		sdk.Serve(&watcher{base: base{info: info}, flood: *mode == "flood", every: *floodEvery})
	default:
		sdk.Serve(&checker{base: base{info: info}, mode: *mode, crashEvery: *crashEvery})
	}
}

type base struct {
	info sdk.Info
	mu   sync.Mutex
	cfg  struct {
		File string `json:"file"`
	}
}

func (b *base) Info() sdk.Info { return b.info }

func (b *base) Schema() sdk.Schema {
	return sdk.Schema{Attributes: []sdk.Attribute{
		{Name: "file", Type: sdk.TypeString, Description: "action: append transitions here"},
		{Name: "every", Type: sdk.TypeDuration, Default: "1s"},
	}}
}

func (b *base) Configure(_ context.Context, c sdk.Config) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return c.Decode(&b.cfg)
}

type checker struct {
	base
	mode       string
	crashEvery int
	calls      int
}

func (c *checker) Check(ctx context.Context) sdk.Result {
	c.mu.Lock()
	c.calls++
	n := c.calls
	c.mu.Unlock()
	switch c.mode {
	case "crash":
		if n%c.crashEvery == 0 {
			os.Exit(3)
		}
	case "hang":
		select {} // ignores its context: the worst case
	}
	return sdk.Result{Status: sdk.StatusOK, Reason: "call " + strconv.Itoa(n), Detail: map[string]string{"pid": strconv.Itoa(os.Getpid())}}
}

type watcher struct {
	base
	flood bool
	every time.Duration
}

func (w *watcher) Watch(ctx context.Context, report func(sdk.Result)) error {
	report(sdk.OK("watching"))
	if !w.flood {
		<-ctx.Done()
		return nil
	}
	// ObservedAt is stamped at report time: the benchmark measures
	// report → delivery latency from it.
	t := time.NewTicker(w.every)
	defer t.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			report(sdk.Result{Status: sdk.StatusOK, Reason: "flood", ObservedAt: time.Now()})
		}
	}
}

type action struct {
	base
}

func (a *action) Notify(ctx context.Context, t sdk.Transition) error {
	switch t.Reason {
	case "crash":
		os.Exit(2)
	case "slow":
		select {
		case <-time.After(300 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	case "fail":
		return fmt.Errorf("refusing %s", t.Instance)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	f, err := os.OpenFile(a.cfg.File, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = fmt.Fprintf(f, "%s %s->%s\n", t.Instance, t.From, t.To)
	return err
}

// witness grants every wish and, when configured with a file, appends "give
// up NAME" to it for every right still held when the session ends (what a
// real witness revokes). In crash mode it exits on the second wish.
type witness struct {
	base
	crash bool
}

func (w *witness) Serve(ctx context.Context, wants <-chan sdk.Want, report func(sdk.Grant)) error {
	held := map[string]bool{}
	defer func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.cfg.File == "" {
			return
		}
		f, err := os.OpenFile(w.cfg.File, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
		if err != nil {
			return
		}
		defer f.Close()
		for n, h := range held {
			if h {
				fmt.Fprintf(f, "give up %s\n", n)
			}
		}
	}()
	n := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case want := <-wants:
			n++
			if w.crash && n == 2 {
				os.Exit(4)
			}
			held[want.Instance] = want.Want
			g := sdk.Grant{Instance: want.Instance, State: sdk.GrantFree, Reason: "pid " + strconv.Itoa(os.Getpid())}
			if want.Want {
				g.State, g.Holder, g.ValidFor, g.Revision = sdk.GrantHeld, "test", time.Second, int64(n)
			}
			report(g)
		}
	}
}
