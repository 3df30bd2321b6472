package engine

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hawatch/hawatch/internal/netlab"
)

// TestKernelLinksCarrier: the rtnetlink watcher reports a carrier loss of
// an interface that stays up (the bridge end of lb1's eth0 set down; the
// peer of a second veth set down) as NoCarrier, and its return, each from
// the subscription well before the one-second recheck; an interface set
// down is down, not "no carrier".
func TestKernelLinksCarrier(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("kernel tests need root (network namespaces); run as root")
	}
	lab := netlab.New(t, netlab.Options{Nodes: 1, NoClient: true})
	lb1 := lab.Nodes[0]
	if err := lb1.AddVethPair("eth1", "eth1p"); err != nil {
		t.Fatal(err)
	}
	k := newKernelLinks(zerolog.New(zerolog.NewTestWriter(t)), "/run/netns/"+lb1.NS)
	for _, name := range []string{"eth0", "eth1"} {
		// A new veth takes a moment to report its carrier.
		deadline := time.Now().Add(2 * time.Second)
		for {
			st, err := k.Follow(name)
			if err != nil {
				t.Fatal(err)
			}
			if st.Up && !st.NoCarrier {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Follow(%s) = %+v, want up with carrier", name, st)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	reports := make(chan LinkState, 64)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { k.Run(ctx, func(st LinkState) { reports <- st }) })
	defer func() {
		cancel()
		wg.Wait()
	}()
	time.Sleep(50 * time.Millisecond)
	until := func(what string, ok func(LinkState) bool) {
		t.Helper()
		start := time.Now()
		deadline := time.After(linkRecheck / 2)
		for {
			select {
			case st := <-reports:
				if ok(st) {
					t.Logf("%s: reported after %v", what, time.Since(start))
					return
				}
			case <-deadline:
				t.Fatalf("%s: no report within %v", what, linkRecheck/2)
			}
		}
	}
	step := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	step(lab.Carrier(lb1, false))
	until("eth0 carrier lost", func(st LinkState) bool { return st.Name == "eth0" && st.Up && st.NoCarrier })
	step(lab.Carrier(lb1, true))
	until("eth0 carrier back", func(st LinkState) bool { return st.Name == "eth0" && st.Up && !st.NoCarrier })
	step(lb1.SetLink("eth1p", false))
	until("eth1 carrier lost", func(st LinkState) bool { return st.Name == "eth1" && st.Up && st.NoCarrier })
	step(lb1.SetLink("eth1", false))
	until("eth1 set down", func(st LinkState) bool { return st.Name == "eth1" && !st.Up && !st.NoCarrier })
	step(lb1.SetLink("eth1", true))
	step(lb1.SetLink("eth1p", true))
	until("eth1 up with carrier", func(st LinkState) bool { return st.Name == "eth1" && st.Up && !st.NoCarrier })
}
