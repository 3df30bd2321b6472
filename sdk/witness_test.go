package sdk_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hawatch/hawatch/sdk"
	"github.com/hawatch/hawatch/sdk/sdktest"
)

// fakeWitness grants whatever is wanted and remembers what it still holds
// when Serve returns.
type fakeWitness struct {
	mu       sync.Mutex
	held     map[string]bool
	returned chan map[string]bool
}

func (f *fakeWitness) Info() sdk.Info {
	return sdk.Info{Name: "fake", Kind: sdk.KindWitness, Version: "1"}
}
func (f *fakeWitness) Schema() sdk.Schema                          { return sdk.Schema{} }
func (f *fakeWitness) Configure(context.Context, sdk.Config) error { return nil }

func (f *fakeWitness) Serve(ctx context.Context, wants <-chan sdk.Want, report func(sdk.Grant)) error {
	defer func() {
		f.mu.Lock()
		clear(f.held) // a real witness revokes here
		left := len(f.held)
		f.mu.Unlock()
		f.returned <- map[string]bool{"revoked": left == 0}
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case w := <-wants:
			f.mu.Lock()
			f.held[w.Instance] = w.Want
			f.mu.Unlock()
			g := sdk.Grant{Instance: w.Instance, State: sdk.GrantFree}
			if w.Want {
				g = sdk.Grant{Instance: w.Instance, State: sdk.GrantHeld, Holder: "lb1", ValidFor: 800 * time.Millisecond, Revision: 42}
			}
			report(g)
		}
	}
}

// TestWitnessSession: Wants reach Serve in order, Grants come back with
// every field, and closing the session ends Serve (which gives up what it
// holds).
func TestWitnessSession(t *testing.T) {
	f := &fakeWitness{held: map[string]bool{}, returned: make(chan map[string]bool, 1)}
	c := sdktest.Witness(t, f)
	if info, err := c.Info(t.Context()); err != nil || info.Kind != sdk.KindWitness {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	s, err := c.Session(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		want sdk.Want
		got  sdk.Grant
	}{
		{sdk.Want{Instance: "VI_1", Want: true}, sdk.Grant{Instance: "VI_1", State: sdk.GrantHeld, Holder: "lb1", ValidFor: 800 * time.Millisecond, Revision: 42}},
		{sdk.Want{Instance: "VI_2", Want: true}, sdk.Grant{Instance: "VI_2", State: sdk.GrantHeld, Holder: "lb1", ValidFor: 800 * time.Millisecond, Revision: 42}},
		{sdk.Want{Instance: "VI_1", Want: false}, sdk.Grant{Instance: "VI_1", State: sdk.GrantFree}},
	} {
		if err := s.Send(tc.want); err != nil {
			t.Fatal(err)
		}
		g, err := s.Recv()
		// The time in transit is taken off the validity (at most a few ms
		// here); the rest is as the plugin sent it.
		if transit := tc.got.ValidFor - g.ValidFor; transit >= 0 && transit < 100*time.Millisecond {
			g.ValidFor = tc.got.ValidFor
		}
		if err != nil || g != tc.got {
			t.Fatalf("after %+v: got %+v, %v; want %+v", tc.want, g, err, tc.got)
		}
	}
	s.Close()
	select {
	case r := <-f.returned:
		if !r["revoked"] {
			t.Error("Serve returned without giving up its rights")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after the session closed")
	}
}
