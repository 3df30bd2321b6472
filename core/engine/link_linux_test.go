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

// TestKernelLinksFollowRecreateAndRename: the rtnetlink watcher, in lb1's
// namespace, reports eth0 gone when it is deleted, back with a new index
// when it is created again, gone when it is renamed away (the device lives
// on under another name, its index unchanged) and back once more. Each
// report comes from the subscription, well before the one-second recheck.
func TestKernelLinksFollowRecreateAndRename(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("kernel tests need root (network namespaces); run as root")
	}
	lab := netlab.New(t, netlab.Options{Nodes: 1, NoClient: true})
	lb1 := lab.Nodes[0]
	k := newKernelLinks(zerolog.New(zerolog.NewTestWriter(t)), "/run/netns/"+lb1.NS)
	first, err := k.Follow("eth0")
	if err != nil {
		t.Fatal(err)
	}
	if first.Index == 0 || !first.Up {
		t.Fatalf("Follow(eth0) = %+v, want present and up", first)
	}

	reports := make(chan LinkState, 64)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { k.Run(ctx, func(st LinkState) { reports <- st }) })
	defer func() {
		cancel()
		wg.Wait()
	}()
	time.Sleep(50 * time.Millisecond) // let the subscription go live

	// until waits for a report satisfying ok and returns it with how long it
	// took.
	until := func(what string, ok func(LinkState) bool) (LinkState, time.Duration) {
		t.Helper()
		start := time.Now()
		deadline := time.After(linkRecheck / 2)
		for {
			select {
			case st := <-reports:
				if ok(st) {
					return st, time.Since(start)
				}
			case <-deadline:
				t.Fatalf("%s: no report within %v", what, linkRecheck/2)
			}
		}
	}

	lab.DeleteLink(t, lb1)
	_, took := until("deleted", func(st LinkState) bool { return st.Index == 0 })
	t.Logf("deleted: reported after %v", took)
	index := lab.AddLink(t, lb1)
	st, _ := until("re-created", func(st LinkState) bool { return st.Index != 0 && st.Up })
	if st.Index != index || index == first.Index {
		t.Fatalf("re-created eth0 reported as %+v; the lab says index %d, the first was %d", st, index, first.Index)
	}

	lab.RenameLink(t, lb1, "eth0old")
	until("renamed away", func(st LinkState) bool { return st.Index == 0 })
	index2 := lab.AddLink(t, lb1)
	st, _ = until("new eth0 after the rename", func(st LinkState) bool { return st.Index != 0 && st.Up })
	if st.Index != index2 {
		t.Fatalf("new eth0 reported as %+v, the lab says index %d", st, index2)
	}
	if old, err := lb1.LinkIndex("eth0old"); err != nil || old != index {
		t.Fatalf("renamed device: index %d (%v), want %d", old, err, index)
	}
}
