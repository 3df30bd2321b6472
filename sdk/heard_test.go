package sdk

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestHeardRoundTrip(t *testing.T) {
	want := Heard{From: netip.MustParseAddr("198.51.100.11"), Priority: 150, Age: 35 * time.Millisecond}
	r := Fail("other owner")
	r.SetHeard(want)
	got, ok, err := HeardOf(r)
	if err != nil || !ok || got != want {
		t.Fatalf("HeardOf = %+v, %v, %v; want %+v", got, ok, err, want)
	}
	if _, ok, err := HeardOf(OK("alone")); ok || err != nil {
		t.Fatalf("HeardOf a result without evidence = %v, %v; want none, no error", ok, err)
	}
}

func TestHeardOfMalformed(t *testing.T) {
	for _, tc := range []struct {
		detail map[string]string
		want   string
	}{
		{map[string]string{DetailHeardFrom: "lb1", DetailHeardPriority: "100", DetailHeardAge: "1ms"}, DetailHeardFrom},
		{map[string]string{DetailHeardFrom: "198.51.100.11", DetailHeardPriority: "256", DetailHeardAge: "1ms"}, DetailHeardPriority},
		{map[string]string{DetailHeardFrom: "198.51.100.11", DetailHeardAge: "1ms"}, DetailHeardPriority},
		{map[string]string{DetailHeardFrom: "198.51.100.11", DetailHeardPriority: "100", DetailHeardAge: "-1ms"}, DetailHeardAge},
		{map[string]string{DetailHeardFrom: "198.51.100.11", DetailHeardPriority: "100"}, DetailHeardAge},
	} {
		_, ok, err := HeardOf(Result{Detail: tc.detail})
		if ok || err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("HeardOf(%v) = %v, %v; want an error naming %s", tc.detail, ok, err, tc.want)
		}
	}
}

func FuzzHeardOf(f *testing.F) {
	f.Add("198.51.100.11", "100", "35ms")
	f.Add("2001:db8::1", "0", "0s")
	f.Fuzz(func(t *testing.T, from, prio, age string) {
		r := Result{Detail: map[string]string{DetailHeardFrom: from, DetailHeardPriority: prio, DetailHeardAge: age}}
		h, ok, err := HeardOf(r)
		if err != nil || !ok {
			return
		}
		var again Result
		again.SetHeard(h)
		if h2, ok, err := HeardOf(again); err != nil || !ok || h2 != h {
			t.Fatalf("round trip of %+v gave %+v, %v, %v", h, h2, ok, err)
		}
	})
}
