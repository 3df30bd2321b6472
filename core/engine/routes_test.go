package engine

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"github.com/hawatch/hawatch/core/config"
	"github.com/hawatch/hawatch/core/route"
)

// fakeRoutes is a node's route manager: what each owner holds.
type fakeRoutes struct {
	mu    sync.Mutex
	held  map[string]routeSet
	stale int
}

func (f *fakeRoutes) Acquire(_ context.Context, owner string, routes []route.Route, rules []route.Rule) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.held[owner] = routeSet{routes, rules}
	return nil
}

func (f *fakeRoutes) Release(_ context.Context, owner string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.held, owner)
	return nil
}

func (f *fakeRoutes) RemoveStale(context.Context, []route.Route, []route.Rule) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stale++
	return nil
}

func (f *fakeRoutes) Run(ctx context.Context) error { <-ctx.Done(); return nil }
func (f *fakeRoutes) Close() error                  { return nil }

func (f *fakeRoutes) holds(owner string) (routeSet, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.held[owner]
	return s, ok
}

const routesExtra = `
  excluded_ips = ["2001:db8::50/64"]
  virtual_ip "198.51.100.60/24" {
    dev   = "eth1"
    label = "eth1:web"
  }
  virtual_route {
    to    = "198.51.100.128/25"
    via   = "198.51.100.1"
    table = 100
  }
  virtual_rule {
    from     = "198.51.100.50"
    table    = 100
    priority = 100
  }
}
static {
  route {
    to   = "198.51.100.192/26"
    type = "blackhole"
  }
`

// Routes and rules follow the addresses: installed on the master, removed
// when it stops, installed on the backup that takes over; the static
// block's are held by both nodes all along. A VIP with dev is acquired on
// that interface's manager; the excluded address is owned but never in an
// advert.
func TestLoopRoutesFollowMaster(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &lan{}
		start := func(addr string, prio int) (*node, *fakeRoutes) {
			fr := &fakeRoutes{held: map[string]routeSet{}}
			n := startNodeWith(t, l, addr, policy(prio, routesExtra), Options{
				NewRouteManager: func(zerolog.Logger) (RouteManager, error) { return fr, nil },
			})
			return n, fr
		}
		lb2, r2 := start("198.51.100.12", 50)
		lb1, r1 := start("198.51.100.11", 100)
		time.Sleep(5 * time.Second)

		s, ok := r1.holds("VI_1")
		if !ok || len(s.routes) != 1 || len(s.rules) != 1 || s.routes[0].Table != 100 || s.rules[0].Priority != 100 {
			t.Fatalf("master's routes %+v held %v", s, ok)
		}
		if _, ok := r2.holds("VI_1"); ok {
			t.Fatal("backup holds the routes")
		}
		for _, f := range []*fakeRoutes{r1, r2} {
			if s, ok := f.holds(staticOwner); !ok || len(s.routes) != 1 || s.routes[0].Type != route.TypeBlackhole {
				t.Fatalf("static routes %+v held %v", s, ok)
			}
			if f.stale != 1 {
				t.Errorf("stale removal ran %d times", f.stale)
			}
		}
		lb1.vips.mu.Lock()
		var eth1 []string
		for _, c := range lb1.vips.calls {
			if c.ifname == "eth1" {
				eth1 = append(eth1, c.op+" "+c.owner)
			}
		}
		lb1.vips.mu.Unlock()
		if !slices.Contains(eth1, "acquire VI_1") || !slices.Contains(eth1, "announce VI_1") {
			t.Errorf("eth1 calls %v, want the dev VIP acquired and announced there", eth1)
		}
		l.mu.Lock()
		for _, w := range l.writes {
			want := []netip.Addr{netip.MustParseAddr("198.51.100.50"), netip.MustParseAddr("198.51.100.60")}
			if !slices.Equal(w.advert.Addresses, want) {
				t.Errorf("advert lists %v, want %v (the excluded address never)", w.advert.Addresses, want)
				break
			}
		}
		l.mu.Unlock()

		lb1.stop(t)
		if _, ok := r1.holds("VI_1"); ok {
			t.Error("stopped master still holds the routes")
		}
		if _, ok := r1.holds(staticOwner); ok {
			t.Error("stopped node still holds the static routes")
		}
		time.Sleep(5 * time.Second)
		if _, ok := r2.holds("VI_1"); !ok {
			t.Error("new master does not hold the routes")
		}
		lb2.stop(t)
	})
}

// A reload may move the static block in the file but not change it.
func TestReloadStatic(t *testing.T) {
	parse := func(src string) *config.Config {
		t.Helper()
		cfg, diags := config.Parse([]byte(src), "x.hcl")
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		return cfg
	}
	base := parse(policy(100, routesExtra))
	e := &Engine{cfg: base, byName: map[string]*binding{}}
	for _, b := range base.Instances {
		e.byName[b.Name] = &binding{cfg: b}
		e.bindings = append(e.bindings, e.byName[b.Name])
	}
	moved := parse("\n\n" + policy(100, routesExtra))
	if p, err := e.plan(moved); err != nil || len(p.restart) != 0 {
		t.Errorf("same policy two lines down: plan %+v, %v; want no restart", p, err)
	}
	changed := parse(policy(100, strings.Replace(routesExtra, `"blackhole"`, `"unreachable"`, 1)))
	if _, err := e.plan(changed); err == nil || !strings.Contains(err.Error(), "static") {
		t.Errorf("changed static block: %v, want a refusal naming it", err)
	}
	routeChanged := parse(policy(100, strings.Replace(routesExtra, "table = 100\n  }\n  virtual_rule", "table = 101\n  }\n  virtual_rule", 1)))
	if p, err := e.plan(routeChanged); err != nil || len(p.restart) != 1 {
		t.Errorf("changed virtual_route: plan %+v, %v; want the instance restarted", p, err)
	}
}
