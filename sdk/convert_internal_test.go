package sdk

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	pluginv1 "github.com/hawatch/hawatch/sdk/proto/v1"
)

// TestGrantTransitTakenOffValidity: a grant read late (the host was
// stopped while it waited) is valid only for what is left of it, counted on
// the clock host and plugin share; without a send time it is taken as is.
func TestGrantTransitTakenOffValidity(t *testing.T) {
	now := boottime()
	if now == 0 {
		t.Skip("no CLOCK_BOOTTIME here")
	}
	held := func(sent int64) *pluginv1.Grant {
		return &pluginv1.Grant{Instance: "VI_1", State: pluginv1.GrantState(GrantHeld), ValidFor: durationpb.New(750 * time.Millisecond), SentBoottimeNs: sent}
	}
	if got := grantFromProto(held(0)).ValidFor; got != 750*time.Millisecond {
		t.Errorf("no send time: valid for %v, want 750ms as sent", got)
	}
	sent := now - int64(300*time.Millisecond)
	if got := grantFromProto(held(sent)).ValidFor; got > 450*time.Millisecond || got < 400*time.Millisecond {
		t.Errorf("read 300ms late: valid for %v, want what is left (about 450ms)", got)
	}
	if got := grantFromProto(held(now - int64(2*time.Second))).ValidFor; got != 0 {
		t.Errorf("read 2s late: valid for %v, want 0 (expired in transit)", got)
	}
	if got := grantToProto(Grant{Instance: "VI_1", State: GrantHeld}).GetSentBoottimeNs(); got < now {
		t.Errorf("sent at %d, want stamped with the clock (>= %d)", got, now)
	}
}
