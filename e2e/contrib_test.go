package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hawatch/hawatch/internal/netlab"
)

const (
	rulesPath     = "../contrib/prometheus/hawatch.rules.yml"
	rulesTestPath = "../contrib/prometheus/hawatch.rules.test.yml"
	dashboardPath = "../contrib/grafana/hawatch.json"
)

func needPromtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian package prometheus; scripts/deps.sh)")
	}
	return p
}

// ruleExprs returns the expr: lines of the alert rules.
func ruleExprs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(rulesPath)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if e, ok := strings.CutPrefix(strings.TrimSpace(l), "expr:"); ok {
			out = append(out, strings.TrimSpace(e))
		}
	}
	if len(out) < 7 {
		t.Fatalf("only %d expr lines in %s", len(out), rulesPath)
	}
	return out
}

type dashboard struct {
	Title  string `json:"title"`
	Panels []struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

// dashboardExprs returns every query of the Grafana dashboard, with
// Grafana's variables replaced so Prometheus can parse them.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardPath, err)
	}
	var out []string
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			e := strings.NewReplacer("$__rate_interval", "1m", "$job", ".*").Replace(tg.Expr)
			out = append(out, e)
		}
	}
	return out
}

// TestPromtoolRules: promtool checks the alert rules and runs their unit
// tests, and parses every dashboard query (as recording rules).
func TestPromtoolRules(t *testing.T) {
	promtool := needPromtool(t)
	for _, args := range [][]string{{"check", "rules", rulesPath}, {"test", "rules", rulesTestPath}} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	var rec strings.Builder
	rec.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, e := range dashboardExprs(t) {
		q, _ := json.Marshal(e) // a JSON string is a valid YAML scalar
		fmt.Fprintf(&rec, "      - record: dashboard:query%d\n        expr: %s\n", i, q)
	}
	path := filepath.Join(t.TempDir(), "dashboard.rules.yml")
	if err := os.WriteFile(path, []byte(rec.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput(); err != nil {
		t.Errorf("dashboard queries do not parse: %v\n%s", err, out)
	}
}

var metricName = regexp.MustCompile(`\bhawatch_[a-z0-9_]+\b`)

// TestMetricsQueriedExist scrapes a live pair (adverts refused for a
// wrong password, a tracked check, a plugin, VIPs, a reload) and checks
// that every metric the alert rules and the dashboard query is exposed.
func TestMetricsQueriedExist(t *testing.T) {
	needRoot(t)
	needPlugin(t, "process")
	lab := netlab.New(t, netlab.Options{Nodes: 2})
	lb1, lb2 := lab.Nodes[0], lab.Nodes[1]
	checks := `plugin "process" {
  command = "hawatch-process"
}
check "self" {
  plugin   = "process"
  interval = "200ms"
  config {
    name = "hawatch"
  }
}
`
	// Different passwords: each node drops the other's adverts (reason
	// auth), so the dropped counter has series.
	i1 := instance{vrid: 64, prio: 100, version: 2, interval: "1s", vips: []string{"198.51.100.50/24"},
		extra: "  auth_pass = \"one\"\n  track \"self\" {\n    weight = -10\n  }\n"}
	i2 := instance{vrid: 64, prio: 50, version: 2, interval: "1s", vips: []string{"198.51.100.50/24"},
		extra: "  auth_pass = \"two\"\n"}
	// lb2's second instance has a VRID lb1 does not run: lb1's socket
	// drops its adverts before demultiplexing (socket_dropped, vrid).
	i3 := instance{name: "VI_2", vrid: 65, prio: 50, version: 2, interval: "1s", auth: "two", vips: []string{"198.51.100.51/24"}}
	d1 := startOps(t, lb1, checks+i1.String())
	startOps(t, lb2, i2.String()+i3.String())
	d1.waitState("MASTER", 10*time.Second)
	if _, stderr, err := d1.ctl("reload"); err != nil {
		t.Fatalf("reload: %v\n%s", err, stderr)
	}
	var names []string
	for _, e := range append(ruleExprs(t), dashboardExprs(t)...) {
		names = append(names, metricName.FindAllString(e, -1)...)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	if len(names) < 12 {
		t.Fatalf("only %d metric names in the rules and dashboard: %v", len(names), names)
	}
	var missing []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		out, err := lb1.Exec(ctx, "curl", "-sSf", "--max-time", "3", "http://"+metricsAddr+"/metrics")
		cancel()
		missing = nil
		for _, n := range names {
			if err != nil || !strings.Contains(string(out), "\n# TYPE "+n+" ") {
				missing = append(missing, n)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(missing) > 0 {
		t.Fatalf("queried by the rules or the dashboard but not exposed: %v", missing)
	}
	t.Logf("%d metrics queried, all exposed: %v", len(names), names)
}
