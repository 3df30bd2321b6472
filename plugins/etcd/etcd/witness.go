package etcd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/hawatch/hawatch/sdk"
)

// Version is reported in Info.
const Version = "0.1.0"

// hedgeEvery is how often one more renewal is sent while none is answered.
const hedgeEvery = 50 * time.Millisecond

// ErrNotConfigured is returned by Serve before a successful Configure.
var ErrNotConfigured = errors.New("etcd witness: Serve before Configure")

// Plugin is the "etcd" witness (sdk.Witness).
type Plugin struct {
	sdk.Configured[Config]
	now func() time.Time
}

var _ sdk.Witness = (*Plugin)(nil)

// New returns an unconfigured plugin.
func New() *Plugin { return &Plugin{now: time.Now} }

// Info implements sdk.Base.
func (p *Plugin) Info() sdk.Info {
	return sdk.Info{Name: "etcd", Kind: sdk.KindWitness, Version: Version}
}

// Serve implements sdk.Witness: one etcd client and one lease for the
// session; every right the session holds is a key bound to that lease, so
// the lease's revocation at the end gives them all up at once.
func (p *Plugin) Serve(ctx context.Context, wants <-chan sdk.Want, report func(sdk.Grant)) error {
	cfg := p.Config()
	if cfg == nil {
		return ErrNotConfigured
	}
	s := cfg.s
	e := &elector{s: s, report: report, now: p.now, rights: map[string]*right{}}
	return e.run(ctx, wants)
}

// dial makes the session's client. With a username it authenticates at
// once, so a wrong password or an unreachable cluster fails here: the
// elector then answers "unreachable" and tries again every refresh.
func (e *elector) dial() error {
	s := e.s
	cli, err := clientv3.New(clientv3.Config{
		Endpoints: s.endpoints, DialTimeout: s.dialTimeout, Username: s.username, Password: s.password, TLS: s.tls,
		Logger: zap.NewNop(),
	})
	if err != nil {
		return fmt.Errorf("etcd client for %s (dial_timeout %s): %w", strings.Join(s.endpoints, ", "), s.dialTimeout, err)
	}
	e.cli = cli
	if len(s.endpoints) > 1 {
		// One connection per member for the keepalive: the client's own
		// round robin would send some renewals to a member that is cut off
		// but whose connection still looks ready (gRPC's keepalive finds
		// it only after 10 s), and two such renewals in a row lose the
		// right although a quorum is reachable.
		for _, ep := range s.endpoints {
			conn, err := cli.Dial(ep) // not blocking: connects in the background
			if err != nil {
				e.closeClient()
				e.cli = nil
				return fmt.Errorf("etcd connection to %s: %w", ep, err)
			}
			e.conns = append(e.conns, conn)
			e.renewers = append(e.renewers, clientv3.NewLeaseFromLeaseClient(pb.NewLeaseClient(conn), cli, 0))
		}
	}
	return nil
}

// closeClient closes the session's client and its per-member connections.
func (e *elector) closeClient() {
	for _, l := range e.renewers {
		l.Close()
	}
	for _, c := range e.conns {
		c.Close()
	}
	e.conns, e.renewers = nil, nil
	if e.cli != nil {
		e.cli.Close()
	}
}

// right is what the elector knows of one instance's key.
type right struct {
	want   bool   // the host wants it
	held   bool   // the key is ours, on our lease
	holder string // the key's value ("" when absent)
	rev    int64  // the key's create revision
	known  bool   // holder/rev come from etcd (not an error)
	// seen is the etcd revision holder/rev are as of: a watch event at or
	// before it is older news (a watch that lags behind a read) and is
	// ignored.
	seen   int64
	reason string
	last   sdk.Grant // last reported
}

// elector runs one session: every etcd read and write happens on its
// goroutine, each bounded by the refresh interval, so the host's wishes and
// etcd's watch events are handled in order; the lease's renewals run on
// their own (renewLoop), so no read or write can hold one up.
type elector struct {
	s   *settings
	cli *clientv3.Client // nil until dial succeeds
	// renewers send the keepalive to each member at once (nil with a
	// single endpoint: cli does); conns are their connections.
	renewers []clientv3.Lease
	conns    []*grpc.ClientConn
	report   func(sdk.Grant)
	now      func() time.Time

	lease clientv3.LeaseID
	// confirmed is when the last grant or keepalive of the lease that
	// etcd answered was sent: the lease lives at least until confirmed +
	// ttl, and a held right is reported valid until confirmed + ttl -
	// margin.
	confirmed time.Time
	rights    map[string]*right
	dialErr   error // why there is no client yet
	// heard is when the host last sent a wish (its heartbeat); rights are
	// extended only while it is recent (sdk.HostSilentAfter).
	heard time.Time
	// renewErr is why the last renewal failed (nil once one succeeds).
	renewErr error

	// aimMu guards aim, what the renewer keeps alive: set by the elector,
	// read by the renewer.
	aimMu sync.Mutex
	aim   renewAim
}

// renewAim is the lease the renewer keeps alive (0: none) and until when
// (the host's heartbeat plus sdk.HostSilentAfter: a hung host's rights
// lapse as a crashed one's would).
type renewAim struct {
	lease clientv3.LeaseID
	until time.Time
}

// renewal is one keepalive's outcome, stamped with when it was sent: the
// lease lives at least until sent + ttl when etcd answered.
type renewal struct {
	lease clientv3.LeaseID
	sent  time.Time
	err   error
}

func (e *elector) run(ctx context.Context, wants <-chan sdk.Want) error {
	ctx, cancel := context.WithCancel(ctx)
	events := make(chan []*clientv3.Event)
	resync := make(chan struct{}, 1)
	renewed := make(chan renewal)
	defer e.closeClient() // last: after every goroutine using it is joined
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	connected := func() bool {
		if e.cli != nil {
			return true
		}
		if e.dialErr = e.dial(); e.dialErr != nil {
			for name := range e.rights {
				e.failed(name, e.dialErr)
			}
			return false
		}
		wg.Go(func() { e.watch(ctx, events, resync) })
		wg.Go(func() { e.renewLoop(ctx, renewed) })
		return true
	}
	connected()
	tick := time.NewTicker(e.s.refresh())
	defer tick.Stop()
	for {
		e.setAim()
		select {
		case <-ctx.Done():
			e.revoke()
			return nil
		case rn := <-renewed:
			e.renewed(rn)
		case w := <-wants:
			e.heard = e.now()
			if e.cli == nil {
				if r := e.right(w.Instance); r.want != w.Want || r.last.State == sdk.GrantUnknown {
					r.want = w.Want
					e.failed(w.Instance, e.dialErr)
				}
				continue
			}
			e.want(ctx, w)
		case evs := <-events:
			for _, ev := range evs {
				e.event(ctx, ev)
			}
		case <-resync:
			// The watch (re)started: re-read every key, so no change made
			// while it was down is missed.
			for name := range e.rights {
				e.refresh(ctx, name)
			}
		case <-tick.C:
			if connected() {
				e.tick(ctx)
			}
		}
	}
}

// watch follows the prefix on its own goroutine (establishing a watch
// blocks while etcd cannot be reached, and that must not hold up the
// wishes or the keepalive), restarting it when it breaks (compaction, a
// lost member), until ctx ends.
func (e *elector) watch(ctx context.Context, events chan<- []*clientv3.Event, resync chan<- struct{}) {
	for ctx.Err() == nil {
		wc := e.cli.Watch(clientv3.WithRequireLeader(ctx), e.s.prefix+"/", clientv3.WithPrefix(), clientv3.WithCreatedNotify())
		for wr := range wc {
			if wr.Created {
				select {
				case resync <- struct{}{}:
				default:
				}
			}
			if wr.Err() != nil {
				break
			}
			if len(wr.Events) > 0 {
				select {
				case events <- wr.Events:
				case <-ctx.Done():
					return
				}
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(e.s.refresh()):
		}
	}
}

func (e *elector) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, e.s.refresh())
}

func (e *elector) right(name string) *right {
	r := e.rights[name]
	if r == nil {
		r = &right{}
		e.rights[name] = r
	}
	return r
}

func (e *elector) want(ctx context.Context, w sdk.Want) {
	first := e.rights[w.Instance] == nil
	r := e.right(w.Instance)
	if !first && r.want == w.Want {
		return // a repeat: the host's heartbeat, already noted
	}
	r.want = w.Want
	switch {
	case w.Want && !r.held:
		e.acquire(ctx, w.Instance)
	case !w.Want && r.held:
		e.release(ctx, w.Instance)
	case first:
		e.refresh(ctx, w.Instance)
	default:
		e.publish(w.Instance)
	}
}

// acquire creates the key with our lease if it is absent, or takes it over
// if it already names this node (a restarted plugin whose old lease still
// lives), in one transaction; otherwise it learns the holder.
func (e *elector) acquire(ctx context.Context, name string) {
	r := e.right(name)
	if err := e.ensureLease(ctx); err != nil {
		e.failed(name, err)
		return
	}
	key := e.s.key(name)
	mine := []clientv3.Op{clientv3.OpPut(key, e.s.node, clientv3.WithLease(e.lease)), clientv3.OpGet(key)}
	cctx, cancel := e.call(ctx)
	resp, err := e.cli.Txn(cctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(mine...).
		Else(clientv3.OpTxn([]clientv3.Cmp{clientv3.Compare(clientv3.Value(key), "=", e.s.node)}, mine, []clientv3.Op{clientv3.OpGet(key)})).
		Commit()
	cancel()
	if errors.Is(err, rpctypes.ErrLeaseNotFound) {
		e.lease = 0 // expired under us: the next try grants a new one
	}
	if err != nil {
		e.failed(name, fmt.Errorf("acquire: %w", err))
		return
	}
	ours, get := resp.Succeeded, (*clientv3.GetResponse)(nil)
	if ours {
		get = (*clientv3.GetResponse)(resp.Responses[1].GetResponseRange())
	} else {
		nested := resp.Responses[0].GetResponseTxn()
		ours = nested.GetSucceeded()
		last := nested.GetResponses()[len(nested.GetResponses())-1]
		get = (*clientv3.GetResponse)(last.GetResponseRange())
	}
	r.held = ours
	e.learn(r, get, resp.Header.GetRevision())
	e.publish(name)
}

// ensureLease makes sure the session has a lease that is certainly alive:
// a fresh grant, or the current one kept alive when its last confirmation
// is older than the validity (a lease nobody needed for a while may have
// expired, and a key put on it would vanish at once).
func (e *elector) ensureLease(ctx context.Context) error {
	if e.lease != 0 && e.validFor() > 0 {
		return nil
	}
	if e.lease != 0 {
		e.keepAlive(ctx)
		if e.lease != 0 && e.validFor() > 0 {
			return nil
		}
	}
	cctx, cancel := e.call(ctx)
	sent := e.now()
	g, err := e.cli.Grant(cctx, int64(e.s.ttl/time.Second))
	cancel()
	if err != nil {
		return fmt.Errorf("lease grant: %w", err)
	}
	e.lease, e.confirmed = g.ID, sent
	return nil
}

// keepAlive renews the lease once; a lease etcd no longer knows is
// dropped, with every right on it.
func (e *elector) keepAlive(ctx context.Context) {
	cctx, cancel := e.call(ctx)
	sent := e.now()
	err := e.renew(cctx, e.lease)
	cancel()
	e.renewed(renewal{lease: e.lease, sent: sent, err: err})
}

// renewed takes a keepalive's outcome: a later confirmation moves every
// held right's validity on; a lease etcd no longer knows is dropped, with
// every right on it.
func (e *elector) renewed(rn renewal) {
	if rn.lease != e.lease || e.lease == 0 {
		return // an answer for a lease given up since
	}
	switch {
	case rn.err == nil:
		e.renewErr = nil
		if !rn.sent.After(e.confirmed) {
			return
		}
		e.confirmed = rn.sent
		for name, r := range e.rights {
			if r.held {
				e.publish(name) // a fresh validity
			}
		}
	case errors.Is(rn.err, rpctypes.ErrLeaseNotFound):
		e.lease = 0
		for name, r := range e.rights {
			if r.held {
				r.held, r.holder, r.rev = false, "", 0
				e.publish(name)
			}
		}
	default:
		e.renewErr = rn.err
	}
}

// setAim tells the renewer what to keep alive: the lease while a right is
// held or wanted (a key put on a lease left to lapse would vanish at once)
// and the host is heard.
func (e *elector) setAim() {
	a := renewAim{until: e.heard.Add(sdk.HostSilentAfter)}
	for _, r := range e.rights {
		if r.held || r.want {
			a.lease = e.lease
			break
		}
	}
	e.aimMu.Lock()
	e.aim = a
	e.aimMu.Unlock()
}

// renewLoop keeps the lease alive on its own goroutine, so no read or
// write the elector waits on can delay a renewal. A renewal is sent every
// refresh; while none is answered (a leader election, a lost member) one
// more is sent every hedgeEvery, each waiting up to the validity it could
// give: when a leader is back, the latest one sent confirms the lease.
func (e *elector) renewLoop(ctx context.Context, out chan<- renewal) {
	var wg sync.WaitGroup
	defer wg.Wait()
	answers := make(chan renewal)
	tick := time.NewTicker(hedgeEvery)
	defer tick.Stop()
	var sent, answered time.Time // send times: the last one, the last answered
	for {
		select {
		case <-ctx.Done():
			return
		case rn := <-answers:
			if rn.err == nil && rn.sent.After(answered) {
				answered = rn.sent
			}
			select {
			case out <- rn:
			case <-ctx.Done():
				return
			}
			continue
		case <-tick.C:
		}
		e.aimMu.Lock()
		a := e.aim
		e.aimMu.Unlock()
		now := e.now()
		if a.lease == 0 || !now.Before(a.until) || now.Sub(sent) < e.s.refresh() && !answered.Before(sent) {
			continue
		}
		sent = now
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, e.s.ttl-e.s.margin)
			err := e.renew(cctx, a.lease)
			cancel()
			select {
			case answers <- renewal{lease: a.lease, sent: now, err: err}:
			case <-ctx.Done():
			}
		})
	}
}

// renew sends one keepalive through every member at once, and through the
// client's own balancer, and returns when the first one is answered (or
// every one failed): a member that is down or cut off costs nothing while
// another still reaches the leader. The balancer's way counts too: after
// the whole cluster was down, the per-member connections come back on
// gRPC's reconnect backoff (seconds), while the balancer that just carried
// the acquiring transaction is connected; a grant confirmed by nobody for a
// ttl would lapse although etcd is back.
func (e *elector) renew(ctx context.Context, lease clientv3.LeaseID) error {
	ways := append([]clientv3.Lease{e.cli}, e.renewers...)
	ctx, cancel := context.WithCancel(ctx)
	errs := make(chan error, len(ways))
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	for _, l := range ways {
		wg.Go(func() {
			_, err := l.KeepAliveOnce(ctx, lease)
			errs <- err
		})
	}
	var first error
	for range ways {
		err := <-errs
		if err == nil || errors.Is(err, rpctypes.ErrLeaseNotFound) {
			return err // the leader's answer, whichever member carried it
		}
		if first == nil {
			first = err
		}
	}
	return first
}

// release deletes our key (only if it is still ours).
func (e *elector) release(ctx context.Context, name string) {
	r := e.right(name)
	key := e.s.key(name)
	cctx, cancel := e.call(ctx)
	resp, err := e.cli.Txn(cctx).
		If(clientv3.Compare(clientv3.Value(key), "=", e.s.node), clientv3.Compare(clientv3.LeaseValue(key), "=", e.lease)).
		Then(clientv3.OpDelete(key)).
		Commit()
	cancel()
	r.held = false
	if err != nil {
		// The key dies with the lease at worst; say what we know.
		e.failed(name, fmt.Errorf("release: %w", err))
		return
	}
	r.holder, r.rev, r.known, r.reason = "", 0, true, ""
	r.seen = max(r.seen, resp.Header.GetRevision())
	e.publish(name)
}

// refresh re-reads an instance's key.
func (e *elector) refresh(ctx context.Context, name string) {
	r := e.right(name)
	cctx, cancel := e.call(ctx)
	get, err := e.cli.Get(cctx, e.s.key(name))
	cancel()
	if err != nil {
		e.failed(name, fmt.Errorf("read: %w", err))
		return
	}
	e.learn(r, get, get.Header.GetRevision())
	if r.held && (r.holder != e.s.node || len(get.Kvs) == 0 || clientv3.LeaseID(get.Kvs[0].Lease) != e.lease) {
		r.held = false
	}
	e.publish(name)
}

func (e *elector) learn(r *right, get *clientv3.GetResponse, rev int64) {
	r.known, r.reason, r.seen = true, "", max(r.seen, rev)
	r.holder, r.rev = "", 0
	if get != nil && len(get.Kvs) > 0 {
		r.holder, r.rev = string(get.Kvs[0].Value), get.Kvs[0].CreateRevision
	}
}

// event follows a change of a key under the prefix.
func (e *elector) event(ctx context.Context, ev *clientv3.Event) {
	name, ok := strings.CutPrefix(string(ev.Kv.Key), e.s.prefix+"/")
	r := e.rights[name]
	if !ok || r == nil || ev.Kv.ModRevision <= r.seen {
		return
	}
	r.known, r.reason, r.seen = true, "", ev.Kv.ModRevision
	if ev.Type == clientv3.EventTypeDelete {
		r.held, r.holder, r.rev = false, "", 0
		if r.want && e.hostAlive() {
			e.acquire(ctx, name) // the holder's right ended: ours, if we can
			return
		}
	} else {
		r.holder, r.rev = string(ev.Kv.Value), ev.Kv.CreateRevision
		r.held = r.holder == e.s.node && clientv3.LeaseID(ev.Kv.Lease) == e.lease && e.lease != 0
	}
	e.publish(name)
}

// tick retries the rights wanted but not held, re-reads those not known,
// and gives up held rights whose validity ran out with no renewal answered
// (the host has resigned already; this says why).
func (e *elector) tick(ctx context.Context) {
	if !e.hostAlive() {
		// The host is hung: it could not release its VIPs, so its
		// rights must lapse as a crashed node's would. No acquisition
		// until it is heard again (and setAim stops the renewals).
		return
	}
	for name, r := range e.rights {
		switch {
		case r.held && e.validFor() <= 0:
			why := "no keepalive answered"
			if e.renewErr != nil {
				why = "keepalive: " + e.renewErr.Error()
			}
			r.held, r.known, r.reason = false, false, why
			e.publish(name)
		case r.want && !r.held:
			e.acquire(ctx, name)
		case !r.held && !r.known:
			e.refresh(ctx, name)
		}
	}
}

// hostAlive reports whether the host was heard within sdk.HostSilentAfter.
func (e *elector) hostAlive() bool {
	return e.now().Sub(e.heard) < sdk.HostSilentAfter
}

// validFor is how long a held right stays ours for certain from now.
func (e *elector) validFor() time.Duration {
	return e.confirmed.Add(e.s.ttl - e.s.margin).Sub(e.now())
}

func (e *elector) failed(name string, err error) {
	r := e.right(name)
	if r.held && e.validFor() > 0 {
		return // the lease still covers it; the next tick retries
	}
	r.held, r.known, r.reason = false, false, err.Error()
	e.publish(name)
}

// publish reports an instance's right when it changed, and every time while
// held (the host's validity moves on with each keepalive).
func (e *elector) publish(name string) {
	r := e.right(name)
	g := sdk.Grant{Instance: name, Holder: r.holder, Revision: r.rev, Reason: r.reason}
	switch {
	case r.held && e.validFor() > 0:
		g.State, g.ValidFor = sdk.GrantHeld, e.validFor()
	case !r.known:
		g.State = sdk.GrantUnreachable
	case r.holder == "":
		g.State = sdk.GrantFree
	default:
		g.State = sdk.GrantOther
	}
	if g.State != sdk.GrantHeld && g == r.last {
		return
	}
	r.last = g
	e.report(g)
}

// revoke gives every right of the session up at once, bounded so a dead
// quorum cannot hold up a stop.
func (e *elector) revoke() {
	if e.lease == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, _ = e.cli.Revoke(ctx, e.lease)
	e.lease = 0
}
