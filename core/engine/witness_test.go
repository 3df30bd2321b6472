package engine

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hawatch/hawatch/core/pluginhost"
	"github.com/hawatch/hawatch/sdk"
)

// fakeQuorum is a witness's quorum in memory: one holder per instance, whose
// right lasts a lease ttl after its last renewal. Nodes it has cut off get
// no answer at all (their wishes and heartbeats are lost).
type fakeQuorum struct {
	mu      sync.Mutex
	ttl     time.Duration
	margin  time.Duration
	holder  map[string]string
	expires map[string]time.Time
	cut     map[string]bool
}

func newFakeQuorum() *fakeQuorum {
	return &fakeQuorum{ttl: time.Second, margin: 250 * time.Millisecond,
		holder: map[string]string{}, expires: map[string]time.Time{}, cut: map[string]bool{}}
}

// feed is node's WitnessFeed. Like the etcd plugin, it renews a held right
// on every wish it hears (the host's heartbeats included) and answers each.
func (q *fakeQuorum) feed(node string) *quorumFeed {
	return &quorumFeed{q: q, node: node, grants: make(chan pluginhost.Grant, 256)}
}

func (q *fakeQuorum) setCut(node string, cut bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.cut[node] = cut
}

type quorumFeed struct {
	q      *fakeQuorum
	node   string
	grants chan pluginhost.Grant

	mu        sync.Mutex
	wants     []time.Time // when each wish (or heartbeat) arrived
	lastGrant time.Time   // when the node was last granted the right
}

func (f *quorumFeed) Grants() <-chan pluginhost.Grant { return f.grants }

func (f *quorumFeed) heard() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.wants)
}

func (f *quorumFeed) Want(instance string, want bool) {
	now := time.Now()
	f.mu.Lock()
	f.wants = append(f.wants, now)
	q := f.q
	defer f.mu.Unlock()
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.cut[f.node] {
		return
	}
	if h := q.holder[instance]; h != "" && !now.Before(q.expires[instance]) {
		delete(q.holder, instance) // the lease ran out
	}
	g := sdk.Grant{Instance: instance, State: sdk.GrantFree}
	switch h := q.holder[instance]; {
	case want && (h == "" || h == f.node):
		q.holder[instance], q.expires[instance] = f.node, now.Add(q.ttl)
		g = sdk.Grant{Instance: instance, State: sdk.GrantHeld, Holder: f.node, ValidFor: q.ttl - q.margin, Revision: 1}
		f.lastGrant = now
	case h != "" && h != f.node:
		g = sdk.Grant{Instance: instance, State: sdk.GrantOther, Holder: h, Revision: 1}
	case !want && h == f.node:
		delete(q.holder, instance)
	}
	select {
	case f.grants <- pluginhost.Grant{Grant: g, ReceivedAt: now}:
	default:
	}
}

func witnessPolicy(prio int) string {
	return policy(prio, `witness = "site"`) + `
plugin "etcd" {
  command = "hawatch-etcd"
}
witness "site" {
  plugin = "etcd"
}
`
}

// TestLoopWitness wires a witness through the engine: the master becomes
// master only with the right; the loop itself repeats its wishes every
// sdk.WantRenewEvery (the heartbeat that lets a hung host's right lapse);
// a master cut off from the quorum releases its VIPs before its right can
// expire, and the backup gets the right (and the VIPs) only after that: no
// instant with two holders.
func TestLoopWitness(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, q := &lan{}, newFakeQuorum()
		f1, f2 := q.feed("lb1"), q.feed("lb2")
		lb2 := startNodeWith(t, l, "198.51.100.12", witnessPolicy(50), Options{Witnesses: map[string]WitnessFeed{"site": f2}})
		lb1 := startNodeWith(t, l, "198.51.100.11", witnessPolicy(100), Options{Witnesses: map[string]WitnessFeed{"site": f1}})
		time.Sleep(5 * time.Second)
		if !lb1.vips.holds() || lb2.vips.holds() {
			t.Fatalf("lb1 holds %v, lb2 holds %v; want lb1 alone", lb1.vips.holds(), lb2.vips.holds())
		}
		if in := lb1.instance(t, "VI_1"); in.Snapshot.Witness == nil || !in.Snapshot.Witness.Granted || in.Snapshot.Witness.Holder != "lb1" {
			t.Fatalf("lb1's witness status %+v, want granted", in.Snapshot.Witness)
		}

		before := f1.heard()
		time.Sleep(time.Second)
		if n := f1.heard() - before; n < 9 || n > 11 {
			t.Errorf("%d wishes in 1s from lb1's loop, want 10 (one per %v)", n, sdk.WantRenewEvery)
		}

		q.setCut("lb1", true)
		cutAt := time.Now()
		f1.mu.Lock()
		lastGrant := f1.lastGrant
		f1.mu.Unlock()
		var released, taken time.Duration
		for time.Since(cutAt) < 10*time.Second {
			h1, h2 := lb1.vips.holds(), lb2.vips.holds()
			if h1 && h2 {
				t.Fatalf("both hold the VIPs %v after lb1 lost the quorum", time.Since(cutAt))
			}
			if !h1 && released == 0 {
				released = time.Since(cutAt)
			}
			if h2 && taken == 0 {
				taken = time.Since(cutAt)
			}
			time.Sleep(time.Millisecond)
		}
		// lb1's last grant came with its last heartbeat before the cut,
		// valid for ttl - margin = 750 ms (the poll adds up to 1 ms).
		if rel := cutAt.Add(released).Sub(lastGrant); released == 0 || rel > 751*time.Millisecond {
			t.Errorf("lb1 released %v after its last grant, want within the grant's 750 ms", rel)
		}
		if taken == 0 || taken < 900*time.Millisecond {
			t.Errorf("lb2 took over %v after the cut, want after lb1's right expired (ttl 1s after its last renewal)", taken)
		}
		if in := lb2.instance(t, "VI_1"); in.Snapshot.Witness == nil || in.Snapshot.Witness.Holder != "lb2" {
			t.Errorf("lb2's witness status %+v, want granted", in.Snapshot.Witness)
		}
		t.Logf("lb1 released %v after the cut, lb2 took over %v after it", released, taken)

		// Healed: lb1 learns lb2 holds the right, asks it to step down
		// (an advert at its priority), and gets the right it gives up.
		q.setCut("lb1", false)
		for start := time.Now(); time.Since(start) < 5*time.Second; time.Sleep(time.Millisecond) {
			if lb2.vips.holds() && lb1.vips.holds() {
				t.Fatal("both hold the VIPs during the hand-back")
			}
		}
		if !lb1.vips.holds() || lb2.vips.holds() {
			t.Fatalf("5s after the heal lb1 holds %v, lb2 holds %v; want lb1 alone", lb1.vips.holds(), lb2.vips.holds())
		}
		lb1.stop(t)
		lb2.stop(t)
	})
}
