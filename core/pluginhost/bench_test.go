//go:build linux

package pluginhost

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// Plugin system benchmarks (numbers, not pass/fail). Run as root:
//
//	go test -run XXX -bench . -benchtime 2000x ./core/pluginhost/
//
// Results go to docs/benchmarks.md, "## Plugin system".

func benchManager(b *testing.B) *Manager {
	b.Helper()
	m, err := NewManager(zerolog.Nop(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = m.Close() })
	return m
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// rssKiB reads a /proc/PID/status memory line: VmRSS is the whole resident
// set, RssAnon the part private to the process (RssFile is mostly the
// binary's text, shared between plugins started from one binary).
func rssKiB(b *testing.B, pid int, key string) float64 {
	b.Helper()
	st, err := readProcStatus(pid)
	if err != nil {
		b.Fatal(err)
	}
	kb, err := strconv.ParseFloat(strings.TrimSuffix(st[key], " kB"), 64)
	if err != nil {
		b.Fatalf("%s %q: %v", key, st[key], err)
	}
	return kb
}

// BenchmarkReportToDelivery: a push-form plugin reports every millisecond,
// stamping ObservedAt at report time; the latency is from that report to
// the consumer receiving it from Check.Results (plugin SDK → gRPC/mTLS →
// manager → channel).
func BenchmarkReportToDelivery(b *testing.B) {
	bin := testPlugin(b)
	m := benchManager(b)
	c, err := m.StartCheck(b.Context(), CheckSpec{
		Name: "flood", Plugin: pluginSpec(bin, "flood", "-mode", "flood", "-flood-every", "1ms"), Interval: time.Second,
	})
	if err != nil {
		b.Fatal(err)
	}
	<-c.Results() // the initial "watching" report
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		r := <-c.Results()
		lat = append(lat, time.Since(r.ObservedAt))
	}
	b.StopTimer()
	b.ReportMetric(float64(percentile(lat, 0.50).Microseconds()), "p50-µs")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds()), "p99-µs")
	b.ReportMetric(rssKiB(b, c.PID(), "VmRSS"), "plugin-rss-KiB")
	b.ReportMetric(rssKiB(b, c.PID(), "RssAnon"), "plugin-anon-KiB")
	if c.Dropped() != 0 {
		b.Logf("dropped %d results", c.Dropped())
	}
}

// BenchmarkStartToFirstResult: StartCheck (path checks, fork/exec,
// handshake, mTLS, Info, Configure, Watch) until First returns the
// plugin's first result.
func BenchmarkStartToFirstResult(b *testing.B) {
	bin := testPlugin(b)
	m := benchManager(b)
	spec := CheckSpec{Name: "first", Plugin: pluginSpec(bin, "first"), Interval: time.Second}
	var took []time.Duration
	var rss, anon []float64
	for b.Loop() {
		start := time.Now()
		c, err := m.StartCheck(b.Context(), spec)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(b.Context(), 10*time.Second)
		_, err = c.First(ctx)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
		b.StopTimer()
		rss = append(rss, rssKiB(b, c.PID(), "VmRSS"))
		anon = append(anon, rssKiB(b, c.PID(), "RssAnon"))
		c.Stop()
		b.StartTimer()
	}
	b.ReportMetric(float64(percentile(took, 0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(took, 0.99).Microseconds())/1000, "p99-ms")
	slices.Sort(rss)
	slices.Sort(anon)
	b.ReportMetric(rss[len(rss)/2], "plugin-rss-KiB")
	b.ReportMetric(anon[len(anon)/2], "plugin-anon-KiB")
}
