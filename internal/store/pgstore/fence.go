package pgstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/sundial-io/sundial/internal/store"
)

// Fencing. A group holding batches with a store.Fence is written in an
// explicit transaction that first reads the leases of the shards its
// batches name, with SELECT ... FOR SHARE in shard order. A batch whose
// fence does not match its shard's lease (another owner, another epoch,
// or no owner) is left out of the transaction and fails alone with
// store.ErrFenced; the other batches commit. The share lock holds the
// lease rows until the commit, so a node taking a shard over (an UPDATE
// of the row) waits for the transaction: every write made under epoch E
// commits before epoch E+1 begins, and none after. The check rests on
// the database alone, never on the writer's clock.
//
// Locking in shard order keeps two writers from deadlocking each other
// against a lease update that locks rows in the same order (the cluster's
// lease statements do); PostgreSQL's deadlock detector (SQLSTATE 40P01,
// retried) is the backstop. SELECT ... FOR SHARE is supported by
// CockroachDB and YugabyteDB too.
//
// The cost: two round trips (BEGIN with the lease read, then the writes
// with COMMIT) instead of one for groups that hold fenced batches.

// lease is one shard_leases row as the fence check reads it.
type lease struct {
	owner *string
	epoch int64
}

// execChecked writes the batches of group whose fences and expectations
// hold (conditional.go), in one transaction, and sets store.ErrFenced or
// store.ErrConflict on the others. Two round trips on
// one connection: BEGIN and the lease read in one pipeline, then the
// writes and COMMIT in another.
func (s *Store) execChecked(ctx context.Context, group []*commit) (err error) {
	for _, c := range group {
		c.err = nil // a retry checks the fences again
	}
	var shards []int32
	for _, c := range group {
		if f := c.enc.fence; f != nil && !slices.Contains(shards, int32(f.Shard)) {
			shards = append(shards, int32(f.Shard))
		}
	}
	slices.Sort(shards)
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	defer func() {
		if err != nil {
			// End the failed transaction; if even that fails, the pool
			// drops the connection (it is not idle).
			conn.Exec(context.Background(), "ROLLBACK")
		}
	}()
	leases := map[int]lease{}
	check := &pgx.Batch{}
	check.Queue("BEGIN")
	if len(shards) > 0 {
		queueLeaseRead(check, shards, leases)
	}
	var rows condRows
	queueConditionRead(check, group, &rows)
	if err := conn.SendBatch(ctx, check).Close(); err != nil {
		return err
	}
	if s.afterFenceCheck != nil {
		s.afterFenceCheck()
	}
	var kept []*commit
	for _, c := range group {
		if f := c.enc.fence; f != nil {
			if err := checkFence(f, leases); err != nil {
				c.err = err
				continue
			}
		}
		if err := rows.check(c.enc); err != nil {
			c.err = err
			continue
		}
		rows.wrote(c.enc)
		kept = append(kept, c)
	}
	b := &pgx.Batch{}
	for _, c := range kept {
		queueAbsentInserts(b, c.enc)
	}
	appendBatch(b, buildGroup(kept))
	b.Queue("COMMIT")
	br := conn.SendBatch(ctx, b)
	for range b.Len() {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return err
		}
	}
	return br.Close()
}

// checkFence returns a store.ErrFenced error unless the shard's lease is
// held by the fence's node at the fence's epoch.
func checkFence(f *store.Fence, leases map[int]lease) error {
	l, ok := leases[f.Shard]
	switch {
	case !ok:
		return fmt.Errorf("%w: shard %d has no lease row (is the cluster's shard count smaller?)", store.ErrFenced, f.Shard)
	case l.owner == nil:
		return fmt.Errorf("%w: shard %d: node %s writes at epoch %d, the shard is now free (epoch %d)", store.ErrFenced, f.Shard, f.Node, f.Epoch, l.epoch)
	case *l.owner != f.Node || l.epoch != f.Epoch:
		return fmt.Errorf("%w: shard %d: node %s writes at epoch %d, the lease is held by node %s at epoch %d", store.ErrFenced, f.Shard, f.Node, f.Epoch, *l.owner, l.epoch)
	}
	return nil
}

// queueLeaseRead queues the read, with share locks, of the leases of
// shards into leases.
func queueLeaseRead(b *pgx.Batch, shards []int32, leases map[int]lease) {
	b.Queue(`SELECT shard, owner, epoch FROM shard_leases WHERE shard = ANY($1::int4[]) ORDER BY shard FOR SHARE`, shards).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var shard int32
			var l lease
			if err := rows.Scan(&shard, &l.owner, &l.epoch); err != nil {
				return err
			}
			leases[int(shard)] = l
		}
		return rows.Err()
	})
}
