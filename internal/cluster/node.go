package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/store/pgstore"
)

// DefaultLeasePeriod is how long a shard lease lasts unless renewed: a
// node that stops heartbeating loses its shards to the others within
// about this long.
const DefaultLeasePeriod = 10 * time.Second

// Config configures a node.
type Config struct {
	// NodeID names the node in the cluster; it must be unique among the
	// processes sharing the database (two processes with one id would
	// take shards from each other in turn).
	NodeID string
	// Address is the internal address other nodes reach this one at
	// (recorded in the nodes table; requests are forwarded there).
	Address string
	// ShardCount is the shard count the node expects: 0 accepts the
	// cluster's (and creates a new cluster with DefaultShardCount); any
	// other value creates a new cluster with it, or must equal the
	// existing cluster's.
	ShardCount int
	// LeasePeriod is how long leases last (DefaultLeasePeriod when 0);
	// the node heartbeats and renews every LeasePeriod/3. All nodes of a
	// cluster should use the same period: each judges the others' liveness
	// by its own.
	LeasePeriod time.Duration
	Logger      *slog.Logger
}

// Node is this process's membership of a cluster: it heartbeats, renews
// its shard leases, and takes and releases shards as the planner says.
type Node struct {
	cfg    Config
	pool   *pgxpool.Pool
	shards int
	log    *slog.Logger

	mu   sync.Mutex
	held map[int]heldLease
	// watch is told about shards taken and lost (see Watch); watchMu
	// orders its calls.
	watchMu sync.Mutex
	watch   func(taken, lost []int)
	// owners is each shard's live owner as last read ("" when free), and
	// addrs the live nodes' internal addresses: where requests for a
	// shard held elsewhere are forwarded. Guarded by mu.
	owners []string
	// epochs are the shards' lease epochs as last read: with the owner,
	// they tell apart two incarnations of a node at one address.
	epochs []int64
	addrs  map[string]string

	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once

	secret string // the cluster's internal secret (secret.go)
}

// heldLease is a shard this node owns: its epoch, and the local
// (monotonic) time until which the lease surely holds: the database set
// expires_at to its now() + period at or after the moment the renewal was
// sent, so "sent + period" on the local clock is never later.
type heldLease struct {
	epoch int64
	until time.Time
	// since is when (local clock) the node took the shard at this epoch;
	// the engine recovers the runs that needed attention before it.
	since time.Time
}

// Join opens the cluster in the database at url (migrating its schema
// like pgstore.Open), records the cluster's shard count if it is the
// first node, registers the node, takes its first shards and starts
// heartbeating. It fails with ErrShardCountMismatch when cfg.ShardCount
// differs from the cluster's.
func Join(ctx context.Context, url string, cfg Config) (*Node, error) {
	if cfg.NodeID == "" || cfg.Address == "" {
		return nil, errors.New("cluster: a node needs an id and an internal address")
	}
	if err := ValidateShardCount(cfg.ShardCount); err != nil {
		return nil, err
	}
	if cfg.LeasePeriod == 0 {
		cfg.LeasePeriod = DefaultLeasePeriod
	}
	if cfg.LeasePeriod < 300*time.Millisecond {
		return nil, fmt.Errorf("cluster: lease period %v is too short (at least 300ms)", cfg.LeasePeriod)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	// A pool of its own, so heartbeats never queue behind the store's
	// writes; unnamed statements as in pgstore (survive a database restart).
	pcfg.MaxConns = 2
	pcfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	n := &Node{cfg: cfg, pool: pool, log: cfg.Logger.With("node", cfg.NodeID), held: map[int]heldLease{},
		stop: make(chan struct{}), done: make(chan struct{})}
	if err := pgstore.Migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	if n.shards, err = ensureMeta(ctx, pool, cfg.ShardCount); err != nil {
		pool.Close()
		return nil, err
	}
	if n.secret, err = ensureSecret(ctx, pool); err != nil { // secret.go
		pool.Close()
		return nil, err
	}
	if err := n.tick(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("cluster: join: %w", err)
	}
	go n.loop()
	return n, nil
}

// ensureMeta records the shard count of a new cluster and creates its
// lease rows (concurrent first nodes: one insert wins, the others find
// it), and returns the cluster's count.
func ensureMeta(ctx context.Context, pool *pgxpool.Pool, want int) (int, error) {
	create := want
	if create == 0 {
		create = DefaultShardCount
	}
	if _, err := pool.Exec(ctx, `INSERT INTO cluster_meta (id, shard_count) VALUES (1, $1) ON CONFLICT (id) DO NOTHING`, create); err != nil {
		return 0, fmt.Errorf("cluster: record shard count: %w", err)
	}
	var have int
	if err := pool.QueryRow(ctx, `SELECT shard_count FROM cluster_meta WHERE id = 1`).Scan(&have); err != nil {
		return 0, fmt.Errorf("cluster: read shard count: %w", err)
	}
	if want != 0 && want != have {
		return 0, fmt.Errorf("%w: this node is configured with %d shards, the cluster in this database was created with %d (the count is fixed for a cluster's life; start the node with %d, or without a shard count)", ErrShardCountMismatch, want, have, have)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO shard_leases (shard, owner, epoch, expires_at)
		SELECT s, NULL, 0, now() FROM generate_series(0, $1::int4 - 1) AS s ON CONFLICT (shard) DO NOTHING`, have); err != nil {
		return 0, fmt.Errorf("cluster: create shard leases: %w", err)
	}
	return have, nil
}

// ID is the node's id.
func (n *Node) ID() string { return n.cfg.NodeID }

// ShardCount is the cluster's shard count.
func (n *Node) ShardCount() int { return n.shards }

// ShardOf returns the shard of a workflow in this cluster.
func (n *Node) ShardOf(namespace, workflowID string) int {
	return ShardOf(namespace, workflowID, n.shards)
}

// Fence returns the fence for writing shard under this node's lease, or
// false when the node does not hold the shard (or its lease may have
// expired by the local clock: then the node must not serve the shard
// until a renewal succeeds). The fence is what makes writes safe; this
// local check only spares writes that would be refused.
func (n *Node) Fence(shard int) (*store.Fence, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	h, ok := n.held[shard]
	if !ok || !time.Now().Before(h.until) {
		return nil, false
	}
	return &store.Fence{Shard: shard, Node: n.cfg.NodeID, Epoch: h.epoch}, true
}

// Lease returns the node's lease of shard (as Fence does) and when the
// node took the shard at that epoch, by its local clock.
func (n *Node) Lease(shard int) (*store.Fence, time.Time, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	h, ok := n.held[shard]
	if !ok || !time.Now().Before(h.until) {
		return nil, time.Time{}, false
	}
	return &store.Fence{Shard: shard, Node: n.cfg.NodeID, Epoch: h.epoch}, h.since, true
}

// Watch sets fn to be told, from the heartbeat goroutine, about shards
// the node takes and loses (lost renewals and releases; a shard released
// is reported before its release is written). Calls are serialized; fn
// must not call Leave or Stop.
func (n *Node) Watch(fn func(taken, lost []int)) {
	n.watchMu.Lock()
	n.watch = fn
	n.watchMu.Unlock()
}

func (n *Node) notify(taken, lost []int) {
	if len(taken) == 0 && len(lost) == 0 {
		return
	}
	n.watchMu.Lock()
	defer n.watchMu.Unlock()
	if n.watch != nil {
		n.watch(taken, lost)
	}
}

// OwnerAddr returns the internal address of the node that owned shard at
// the last heartbeat ("" when it was free or its owner not live): where a
// request for a shard this node does not hold is forwarded. It may be
// stale by a heartbeat; the receiver refuses what it does not hold.
func (n *Node) OwnerAddr(shard int) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if shard < 0 || shard >= len(n.owners) {
		return ""
	}
	return n.addrs[n.owners[shard]]
}

// Peers returns the internal addresses of the other live nodes, as last
// seen.
func (n *Node) Peers() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for id, addr := range n.addrs {
		if id != n.cfg.NodeID {
			out = append(out, addr)
		}
	}
	slices.Sort(out)
	return out
}

// OwnerToken names the shard's owner at its current lease as last seen:
// its address and epoch ("" when the shard has no live owner). It changes
// whenever the shard changes hands, even to a restarted node at the same
// address, whose new incarnation lost what the old one held in memory.
func (n *Node) OwnerToken(shard int) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if shard < 0 || shard >= len(n.owners) || n.owners[shard] == "" {
		return ""
	}
	return fmt.Sprintf("%s@%d", n.addrs[n.owners[shard]], n.epochs[shard])
}

// Owned returns the shards the node holds and their epochs.
func (n *Node) Owned() map[int]int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make(map[int]int64, len(n.held))
	for s, h := range n.held {
		out[s] = h.epoch
	}
	return out
}

func (n *Node) loop() {
	defer close(n.done)
	t := time.NewTicker(n.cfg.LeasePeriod / 3)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), n.cfg.LeasePeriod/3)
		if err := n.tick(ctx); err != nil {
			n.log.Warn("cluster heartbeat failed; retrying", "error", err)
		}
		cancel()
	}
}

// tick heartbeats, renews the held leases, reads the cluster's state and
// takes or releases shards by the plan.
func (n *Node) tick(ctx context.Context) error {
	sent := time.Now()
	n.mu.Lock()
	var shards []int32
	var epochs []int64
	for s, h := range n.held {
		shards = append(shards, int32(s))
		epochs = append(epochs, h.epoch)
	}
	n.mu.Unlock()

	// One round trip, one implicit transaction: heartbeat, renewal (the
	// lease rows locked in shard order first, like the store's fence
	// check), then the view the plan starts from.
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO nodes (node_id, address, heartbeat_at, joined_at) VALUES ($1, $2, now(), now())
		ON CONFLICT (node_id) DO UPDATE SET address = excluded.address, heartbeat_at = now()`, n.cfg.NodeID, n.cfg.Address)
	b.Queue(sqlLockShards, shards)
	renew := b.Queue(`UPDATE shard_leases AS l SET expires_at = now() + $3::interval
		FROM unnest($1::int4[], $2::int8[]) AS u(shard, epoch)
		WHERE l.shard = u.shard AND l.epoch = u.epoch AND l.owner = $4 RETURNING l.shard`, shards, epochs, n.cfg.LeasePeriod, n.cfg.NodeID)
	var renewed []int
	renew.Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var s int32
			if err := rows.Scan(&s); err != nil {
				return err
			}
			renewed = append(renewed, int(s))
		}
		return rows.Err()
	})
	var live []string
	addrs := map[string]string{}
	b.Queue(`SELECT node_id, address FROM nodes WHERE heartbeat_at > now() - $1::interval ORDER BY node_id`, n.cfg.LeasePeriod).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var id, addr string
			if err := rows.Scan(&id, &addr); err != nil {
				return err
			}
			live = append(live, id)
			addrs[id] = addr
		}
		return rows.Err()
	})
	type row struct {
		shard   int32
		owner   *string
		epoch   int64
		expired bool
	}
	var leases []row
	b.Queue(`SELECT shard, owner, epoch, expires_at <= now() FROM shard_leases ORDER BY shard`).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.shard, &r.owner, &r.epoch, &r.expired); err != nil {
				return err
			}
			leases = append(leases, r)
		}
		return rows.Err()
	})
	if err := n.pool.SendBatch(ctx, b).Close(); err != nil {
		return err
	}

	var lost []int
	defer func() { n.notify(nil, lost) }()
	n.mu.Lock()
	for s := range n.held {
		if slices.Contains(renewed, s) {
			h := n.held[s]
			h.until = sent.Add(n.cfg.LeasePeriod)
			n.held[s] = h
		} else if slices.Contains(shards, int32(s)) {
			n.log.Warn("shard lease lost", "shard", s, "epoch", n.held[s].epoch)
			delete(n.held, s)
			lost = append(lost, s)
		}
	}
	view := View{Live: live, Owner: make([]string, n.shards)}
	epochOf := make([]int64, n.shards)
	for _, r := range leases {
		if int(r.shard) >= n.shards {
			continue
		}
		epochOf[r.shard] = r.epoch
		o := ""
		if r.owner != nil && !r.expired && slices.Contains(live, *r.owner) {
			o = *r.owner
		}
		if o == n.cfg.NodeID {
			if _, ok := n.held[int(r.shard)]; !ok {
				o = "" // an earlier incarnation of this node: take it anew
			}
		}
		view.Owner[r.shard] = o
	}
	n.owners = slices.Clone(view.Owner)
	n.epochs = epochOf
	for s := range n.held {
		n.owners[s] = n.cfg.NodeID
	}
	n.addrs = addrs
	plan := PlanFor(n.cfg.NodeID, view)
	// Stop writing a shard before the release is written.
	var relShards []int32
	var relEpochs []int64
	for _, s := range plan.Release {
		relShards = append(relShards, int32(s))
		relEpochs = append(relEpochs, n.held[s].epoch)
		delete(n.held, s)
		n.owners[s] = ""
		lost = append(lost, s)
	}
	n.mu.Unlock()
	// The engine drops a released shard's runs before the release is
	// written, so no other node loads them while this one still acts.
	n.notify(nil, lost)
	lost = nil

	if len(relShards) > 0 {
		if err := n.release(ctx, relShards, relEpochs); err != nil {
			return err
		}
		n.log.Info("shards released for rebalancing", "shards", relShards)
	}
	if len(plan.Take) > 0 {
		return n.take(ctx, plan.Take, epochOf)
	}
	return nil
}

// sqlLockShards locks lease rows in shard order before a statement that
// updates several, so it cannot deadlock with the store's fence check.
const sqlLockShards = `SELECT shard FROM shard_leases WHERE shard = ANY($1::int4[]) ORDER BY shard FOR UPDATE`

// take takes free shards, each with a compare-and-set on the epoch seen:
// the lease must still be free (no owner, expired, owner not live, or
// this node's own earlier incarnation) and at that epoch; it moves to
// epoch+1, which fences every write of the previous owner.
func (n *Node) take(ctx context.Context, shards []int, seen []int64) error {
	sent := time.Now()
	b := &pgx.Batch{}
	got := make([]int64, len(shards))
	for i, s := range shards {
		b.Queue(`UPDATE shard_leases SET owner = $3, epoch = epoch + 1, expires_at = now() + $4::interval
			WHERE shard = $1 AND epoch = $2 AND (owner IS NULL OR owner = $3 OR expires_at <= now()
				OR NOT EXISTS (SELECT 1 FROM nodes WHERE node_id = shard_leases.owner AND heartbeat_at > now() - $4::interval))
			RETURNING epoch`, int32(s), seen[s], n.cfg.NodeID, n.cfg.LeasePeriod).QueryRow(func(r pgx.Row) error {
			err := r.Scan(&got[i])
			if errors.Is(err, pgx.ErrNoRows) {
				return nil // another node was faster, or the owner renewed
			}
			return err
		})
	}
	if err := n.pool.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	n.mu.Lock()
	var taken []int
	for i, s := range shards {
		if got[i] != 0 {
			n.held[s] = heldLease{epoch: got[i], until: sent.Add(n.cfg.LeasePeriod), since: time.Now()}
			if s < len(n.owners) {
				n.owners[s] = n.cfg.NodeID
				n.epochs[s] = got[i]
			}
			taken = append(taken, s)
		}
	}
	if len(taken) > 0 {
		n.log.Info("shards taken", "shards", taken)
	}
	n.mu.Unlock()
	n.notify(taken, nil)
	return nil
}

// release hands shards back (owner cleared, epoch kept: the next owner
// moves it on), so a joining node gets them without waiting for expiry.
func (n *Node) release(ctx context.Context, shards []int32, epochs []int64) error {
	b := &pgx.Batch{}
	b.Queue(sqlLockShards, shards)
	b.Queue(`UPDATE shard_leases AS l SET owner = NULL, expires_at = now()
		FROM unnest($1::int4[], $2::int8[]) AS u(shard, epoch)
		WHERE l.shard = u.shard AND l.epoch = u.epoch AND l.owner = $3`, shards, epochs, n.cfg.NodeID)
	return n.pool.SendBatch(ctx, b).Close()
}

// Stop stops heartbeating and renewing without releasing anything, as a
// crash would (the leases expire; tests use it), and closes the pool.
func (n *Node) Stop() {
	n.stopOnce.Do(func() {
		close(n.stop)
		<-n.done
		n.pool.Close()
	})
}

// Leave leaves the cluster gracefully: it stops renewing, releases every
// shard (so the others take them at once, not after expiry) and removes
// the node's row.
func (n *Node) Leave(ctx context.Context) error {
	var err error
	n.stopOnce.Do(func() {
		close(n.stop)
		<-n.done
		defer n.pool.Close()
		n.mu.Lock()
		var shards []int32
		var epochs []int64
		for s, h := range n.held {
			shards = append(shards, int32(s))
			epochs = append(epochs, h.epoch)
		}
		clear(n.held)
		n.mu.Unlock()
		lost := make([]int, len(shards))
		for i, s := range shards {
			lost[i] = int(s)
		}
		n.notify(nil, lost)
		if err = n.release(ctx, shards, epochs); err != nil {
			err = fmt.Errorf("cluster: leave: release shards: %w", err)
			return
		}
		if _, err = n.pool.Exec(ctx, `DELETE FROM nodes WHERE node_id = $1`, n.cfg.NodeID); err != nil {
			err = fmt.Errorf("cluster: leave: %w", err)
		}
	})
	return err
}
