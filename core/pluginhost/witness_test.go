package pluginhost

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hawatch/hawatch/sdk"
)

func nextGrant(t *testing.T, w *Witness, what string, pred func(sdk.Grant) bool) sdk.Grant {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case g, ok := <-w.Grants():
			if !ok {
				t.Fatalf("grants closed waiting for %s", what)
			}
			if g.ReceivedAt.IsZero() {
				t.Fatalf("grant %+v without a receive time", g)
			}
			if pred(g.Grant) {
				return g.Grant
			}
		case <-deadline:
			t.Fatalf("no %s within 10s", what)
		}
	}
}

// TestWitnessSessionAndStop: wishes reach the plugin, grants come back,
// and Stop ends the session so the plugin gives up what it holds before
// it is stopped.
func TestWitnessSessionAndStop(t *testing.T) {
	bin := testPlugin(t)
	m, _ := newTestManager(t, Options{})
	out := filepath.Join(t.TempDir(), "revoked")
	cfg, _ := json.Marshal(map[string]string{"file": out})
	w, err := m.StartWitness(t.Context(), WitnessSpec{Name: "site", Plugin: pluginSpec(bin, "etcdish", "-kind", "witness"), Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	w.Want("VI_1", true)
	g := nextGrant(t, w, "VI_1 held", func(g sdk.Grant) bool { return g.Instance == "VI_1" && g.State == sdk.GrantHeld })
	// Sent valid for 1s; the time in transit is taken off.
	if g.ValidFor > time.Second || g.ValidFor < 900*time.Millisecond || g.Holder != "test" {
		t.Errorf("grant %+v", g)
	}
	w.Want("VI_2", true)
	nextGrant(t, w, "VI_2 held", func(g sdk.Grant) bool { return g.Instance == "VI_2" && g.State == sdk.GrantHeld })
	w.Want("VI_2", false)
	nextGrant(t, w, "VI_2 free", func(g sdk.Grant) bool { return g.Instance == "VI_2" && g.State == sdk.GrantFree })
	w.Stop()
	b, err := os.ReadFile(out)
	if err != nil || strings.TrimSpace(string(b)) != "give up VI_1" {
		t.Errorf("revoked on stop: %q (%v), want VI_1 only", b, err)
	}
}

// TestWitnessCrashReportsUnreachableAndRestarts: a crashing plugin makes
// every instance unreachable at once, is restarted, and gets the wishes
// again.
func TestWitnessCrashReportsUnreachableAndRestarts(t *testing.T) {
	bin := testPlugin(t)
	m, _ := newTestManager(t, Options{Backoff: Backoff{Min: 20 * time.Millisecond, Max: 50 * time.Millisecond}})
	w, err := m.StartWitness(t.Context(), WitnessSpec{Name: "site", Plugin: pluginSpec(bin, "crashy", "-kind", "witness", "-mode", "crash")})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	w.Want("VI_1", true)
	nextGrant(t, w, "VI_1 held", func(g sdk.Grant) bool { return g.State == sdk.GrantHeld })
	w.Want("VI_1", false) // the second wish: the plugin exits
	nextGrant(t, w, "VI_1 unreachable", func(g sdk.Grant) bool { return g.State == sdk.GrantUnreachable })
	// After the restart the latest wish (false) is sent again; this plugin
	// crashes on its second wish only, so the first one is answered.
	nextGrant(t, w, "VI_1 free after the restart", func(g sdk.Grant) bool { return g.State == sdk.GrantFree })
	if w.Restarts() == 0 || w.Errors() == 0 {
		t.Errorf("restarts %d, errors %d", w.Restarts(), w.Errors())
	}
}
