package cluster

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sundial-io/sundial/internal/store/pgstore/pgtest"
)

// The lease tests run nodes in this process on one throwaway database,
// with short leases so failover takes about a second.
const testLease = 900 * time.Millisecond

func join(t *testing.T, url, id string, lease time.Duration) *Node {
	t.Helper()
	n, err := Join(t.Context(), url, Config{NodeID: id, Address: "127.0.0.1:" + id, LeasePeriod: lease})
	if err != nil {
		t.Fatalf("join %s: %v", id, err)
	}
	t.Cleanup(n.Stop)
	return n
}

// waitFor polls cond until it returns "" or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, cond func() string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		msg := cond()
		if msg == "" {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("after %v: %s", timeout, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// balanced reports "" when the nodes' held shards are disjoint, cover
// every shard, match the database's lease rows, and are spread to the
// planner's targets.
func balanced(t *testing.T, url string, nodes ...*Node) func() string {
	return func() string {
		var ids []string
		for _, n := range nodes {
			ids = append(ids, n.ID())
		}
		db := leaseRows(t, url)
		seen := map[int]string{}
		for _, n := range nodes {
			owned := n.Owned()
			if want := Target(n.ID(), ids, n.ShardCount()); len(owned) != want {
				return fmt.Sprintf("node %s holds %d shards, target %d", n.ID(), len(owned), want)
			}
			for s, e := range owned {
				if o, dup := seen[s]; dup {
					return fmt.Sprintf("shard %d held by %s and %s", s, o, n.ID())
				}
				seen[s] = n.ID()
				if r := db[s]; r.owner != n.ID() || r.epoch != e {
					return fmt.Sprintf("shard %d: node %s holds epoch %d, database says %s at %d", s, n.ID(), e, r.owner, r.epoch)
				}
			}
		}
		if len(seen) != len(db) {
			return fmt.Sprintf("%d of %d shards held", len(seen), len(db))
		}
		return ""
	}
}

type leaseRow struct {
	owner string
	epoch int64
}

func leaseRows(t *testing.T, url string) map[int]leaseRow {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, _ := conn.Query(t.Context(), `SELECT shard, coalesce(owner, ''), epoch FROM shard_leases`)
	out := map[int]leaseRow{}
	for rows.Next() {
		var s int
		var r leaseRow
		if err := rows.Scan(&s, &r.owner, &r.epoch); err != nil {
			t.Fatal(err)
		}
		out[s] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestThreeNodesBalanceAndFailOver: three nodes join and settle on 22,
// 21 and 21 shards; one stops heartbeating (as a crash or a pause) and
// the other two take its shards, each at a higher epoch, about a lease
// period later; one leaves gracefully and the last takes everything
// before any lease could have expired.
func TestThreeNodesBalanceAndFailOver(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	url := pg.NewDatabase(t)
	a := join(t, url, "a", testLease)
	if len(a.Owned()) != DefaultShardCount {
		t.Fatalf("the first node holds %d shards after joining, want all %d", len(a.Owned()), DefaultShardCount)
	}
	b := join(t, url, "b", testLease)
	c := join(t, url, "c", testLease)
	took := waitFor(t, 10*testLease, balanced(t, url, a, b, c))
	t.Logf("3 nodes balanced %v after the last joined", took)

	// c stops: no heartbeat, no renewal, nothing released.
	before := c.Owned()
	c.Stop()
	took = waitFor(t, 10*testLease, balanced(t, url, a, b))
	t.Logf("c's %d shards moved to a and b %v after it stopped (lease %v)", len(before), took, testLease)
	// c renewed at most a heartbeat (lease/3) before it stopped, so its
	// leases expired between 2/3 of a lease and a lease after; the others
	// notice at their next heartbeat. Three lease periods leave room for
	// a loaded machine.
	if took < testLease/2 || took > 3*testLease {
		t.Errorf("shards moved %v after c stopped, want between %v (its leases could not have expired before) and %v", took, testLease/2, 3*testLease)
	}
	db := leaseRows(t, url)
	for s, e := range before {
		if db[s].epoch <= e {
			t.Errorf("shard %d moved from c without a new epoch (%d -> %d)", s, e, db[s].epoch)
		}
	}

	// b leaves gracefully: its shards are released in the database when
	// Leave returns (not left to expire), and a takes them.
	if err := b.Leave(t.Context()); err != nil {
		t.Fatal(err)
	}
	for s, r := range leaseRows(t, url) {
		if r.owner == "b" {
			t.Fatalf("shard %d still owned by b after it left", s)
		}
	}
	took = waitFor(t, 10*testLease, balanced(t, url, a))
	t.Logf("a holds all shards %v after b left", took)
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var nodes []string
	rows, _ := conn.Query(t.Context(), `SELECT node_id FROM nodes ORDER BY node_id`)
	if nodes, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	if strings.Join(nodes, ",") != "a,c" { // b left; c's row stays (it crashed)
		t.Errorf("node rows %v, want [a c]", nodes)
	}
}

// TestJoinerGetsShares: a node alone owns every shard and keeps renewing;
// two nodes join and get their shares from its releases (no lease of it
// ever expires, so only a release can hand them over).
func TestJoinerGetsShares(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	url := pg.NewDatabase(t)
	lease := 3 * time.Second
	a := join(t, url, "a", lease)
	b := join(t, url, "b", lease)
	took := waitFor(t, 5*lease, balanced(t, url, a, b))
	t.Logf("joiner b got its share %v after joining (lease %v)", took, lease)
	c := join(t, url, "c", lease)
	took = waitFor(t, 5*lease, balanced(t, url, a, b, c))
	t.Logf("joiner c got its share %v after joining", took)
	var owned []int
	for s := range c.Owned() {
		owned = append(owned, s)
	}
	sort.Ints(owned)
	for _, s := range owned {
		f, ok := c.Fence(s)
		if !ok || f.Node != "c" || f.Shard != s || f.Epoch < 2 {
			t.Fatalf("c's fence for shard %d: %+v %v (a shard released once is at epoch >= 2)", s, f, ok)
		}
	}
	if _, ok := a.Fence(owned[0]); ok {
		t.Fatalf("a still offers a fence for shard %d, which it released", owned[0])
	}
}

// TestShardCountFixed: the first node fixes the shard count; a node
// configured with another count refuses to join, one with none adopts it.
func TestShardCountFixed(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	url := pg.NewDatabase(t)
	a, err := Join(t.Context(), url, Config{NodeID: "a", Address: "x:1", ShardCount: 16, LeasePeriod: testLease})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Stop()
	if a.ShardCount() != 16 || len(a.Owned()) != 16 {
		t.Fatalf("shard count %d, owned %d; want 16", a.ShardCount(), len(a.Owned()))
	}
	_, err = Join(t.Context(), url, Config{NodeID: "b", Address: "x:2", ShardCount: 64, LeasePeriod: testLease})
	if !errors.Is(err, ErrShardCountMismatch) || !strings.Contains(err.Error(), "created with 16") {
		t.Fatalf("join with 64 shards: %v, want ErrShardCountMismatch naming 16", err)
	}
	b, err := Join(t.Context(), url, Config{NodeID: "b", Address: "x:2", LeasePeriod: testLease})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Stop()
	if b.ShardCount() != 16 {
		t.Fatalf("node without a configured count got %d shards, want the cluster's 16", b.ShardCount())
	}
	if _, err := Join(t.Context(), url, Config{NodeID: "c"}); err == nil {
		t.Fatal("join without an address succeeded")
	}
}

// TestRestartedNodeRetakesItsShards: a node that crashed and comes back
// under the same id takes its shards anew at a higher epoch (fencing its
// previous incarnation) instead of waiting for their leases to expire.
func TestRestartedNodeRetakesItsShards(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	url := pg.NewDatabase(t)
	a := join(t, url, "a", 10*time.Second)
	old := a.Owned()
	a.Stop()
	a2 := join(t, url, "a", 10*time.Second)
	now := a2.Owned()
	if len(now) != DefaultShardCount {
		t.Fatalf("restarted node holds %d shards right after joining, want all %d", len(now), DefaultShardCount)
	}
	for s, e := range now {
		if e != old[s]+1 {
			t.Fatalf("shard %d: epoch %d after restart, want %d + 1", s, e, old[s])
		}
	}
}

// TestDatabaseRestart: PostgreSQL restarts (a fast shutdown cuts every
// connection) under two nodes; their heartbeats fail while it is down and
// resume after, and they keep their shards at the same epochs when the
// outage is shorter than the lease, or retake them at new epochs if not.
// Either way they end balanced, each holding valid fences again.
func TestDatabaseRestart(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	url := pg.NewDatabase(t)
	lease := 3 * time.Second
	a := join(t, url, "a", lease)
	b := join(t, url, "b", lease)
	waitFor(t, 5*lease, balanced(t, url, a, b))
	before := map[string]map[int]int64{"a": a.Owned(), "b": b.Owned()}
	start := time.Now()
	if err := pg.Restart(); err != nil {
		t.Fatal(err)
	}
	outage := time.Since(start)
	// Wait past a heartbeat, so both nodes have renewed over new
	// connections, then for balance.
	time.Sleep(lease / 2)
	took := waitFor(t, 10*lease, balanced(t, url, a, b))
	t.Logf("database restart took %v; nodes balanced %v after it (lease %v)", outage, took+lease/2, lease)
	for _, n := range []*Node{a, b} {
		owned := n.Owned()
		for s, e := range owned {
			if _, ok := n.Fence(s); !ok {
				t.Errorf("node %s holds shard %d but offers no fence after the restart", n.ID(), s)
			}
			if old, ok := before[n.ID()][s]; ok && outage < lease/2 && e != old {
				t.Errorf("node %s: shard %d moved from epoch %d to %d over an outage of %v, shorter than the lease", n.ID(), s, old, e, outage)
			}
		}
	}
}
