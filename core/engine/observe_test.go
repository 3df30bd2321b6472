package engine

import (
	"net/netip"
	"testing"
	"time"

	"github.com/hawatch/hawatch/core/vrouter"
	"github.com/hawatch/hawatch/sdk"
)

// TestObservationCarriesHeard: a guard's advert evidence reaches the
// router with the time it was seen (ObservedAt less its age); malformed
// evidence is left out and reported.
func TestObservationCarriesHeard(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)
	r := sdk.Fail("other owner")
	r.ObservedAt = at
	r.SetHeard(sdk.Heard{From: netip.MustParseAddr("198.51.100.11"), Priority: 100, Age: 40 * time.Millisecond})
	o, err := observation("guard", r)
	if err != nil || o.Heard == nil {
		t.Fatalf("observation = %+v, %v; want evidence", o, err)
	}
	if want := (vrouter.Heard{From: netip.MustParseAddr("198.51.100.11"), Priority: 100, At: at.Add(-40 * time.Millisecond)}); *o.Heard != want {
		t.Errorf("heard %+v, want %+v", *o.Heard, want)
	}
	r.Status = sdk.StatusOK
	if o, _ := observation("guard", r); o.Heard != nil {
		t.Errorf("evidence on a passing result was kept: %+v", *o.Heard)
	}
	r.Status = sdk.StatusFail
	r.Detail[sdk.DetailHeardPriority] = "300"
	if o, err := observation("guard", r); err == nil || o.Heard != nil || o.Status != vrouter.StatusFail {
		t.Errorf("malformed evidence: %+v, %v; want the status without evidence, and an error", o, err)
	}
}
