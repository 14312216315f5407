package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/jackc/pgx/v5"

	"github.com/sundial-io/sundial/internal/store"
)

// Current-run lookups ride on group commits. Every workflow start asks
// for its id's current run (almost always a miss: the id is new), and as a
// query of its own that was one more round trip per workflow, each one
// waking a backend: a third of the database's CPU per one-activity
// workflow and a tenth of the server's. While the writer is committing a
// group, a lookup is queued instead and sent at the head of the writer's
// next pipeline, all queued lookups as one SELECT: it costs no round trip
// of its own and is answered as soon as its rows arrive, before that
// group's commit. When the writer is idle a lookup is a query of its own,
// so a lone start waits for nothing.
//
// Reading at the head of the next group is in Apply order: the lookup
// first waits for every queued batch that touches its pointer (waitKey),
// so a batch in the next group that touches it was applied after the
// lookup asked, and the SELECT runs before that group's writes.

// sqlLookup reads many current-run pointers at once: row i (from 1) is
// the run id of the i-th namespace and workflow id (NULL: none). The
// scalar subquery is one primary-key probe per id whatever the table's
// size (written as a join with unnest, the generic plan a prepared
// statement settles on while the table is empty is a hash join over the
// whole table). generate_subscripts, unlike unnest, has no row estimate
// from the array's length, so the custom plans of the first executions
// cost what the generic one does and PostgreSQL keeps the generic plan
// instead of planning every execution again.
const sqlLookup = `SELECT k.i, (SELECT c.run_id FROM current_runs c
	WHERE c.namespace = ($1::bytea[])[k.i] AND c.workflow_id = ($2::bytea[])[k.i])
	FROM generate_subscripts($1::bytea[], 1) AS k(i)`

// lookup is one queued current-run lookup.
type lookup struct {
	ns, wf string
	done   chan struct{}
	runID  string
	found  bool
	err    error // not answered in a group: the caller queries itself
}

// errNotBatched answers lookups a group could not carry (a fenced group,
// a failed attempt, a broken store): their callers query directly.
var errNotBatched = errors.New("pgstore: lookup not answered by a group")

// lookupsBatched counts lookups answered by a group (tests).
var lookupsBatched atomic.Int64

// CurrentRun returns the run id of the newest run of a workflow id.
func (s *Store) CurrentRun(ctx context.Context, namespace, workflowID string) (string, error) {
	if err := s.waitKey(ctx, rowKey{'c', namespace, workflowID}); err != nil {
		return "", err
	}
	s.mu.Lock()
	if s.writing && !s.closed {
		l := &lookup{ns: namespace, wf: workflowID, done: make(chan struct{})}
		s.lookups = append(s.lookups, l)
		s.mu.Unlock()
		s.signal()
		select {
		case <-l.done:
		case <-ctx.Done():
			return "", ctx.Err()
		}
		if l.err == nil {
			if !l.found {
				return "", store.ErrNotFound
			}
			return l.runID, nil
		}
	} else {
		s.mu.Unlock()
	}
	var id []byte
	err := s.pool.QueryRow(ctx, sqlCurrentRun, []byte(namespace), []byte(workflowID)).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", store.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("pgstore: read current run: %w", err)
	}
	return string(id), nil
}

// queueLookups adds the SELECT answering ls to b (nothing for none).
func queueLookups(b *pgx.Batch, ls []*lookup) {
	if len(ls) == 0 {
		return
	}
	ns, wfs := make([][]byte, len(ls)), make([][]byte, len(ls))
	for i, l := range ls {
		ns[i], wfs[i] = []byte(l.ns), []byte(l.wf)
	}
	b.Queue(sqlLookup, ns, wfs)
}

// answerLookups reads the SELECT's rows from br and answers ls.
func answerLookups(br pgx.BatchResults, ls []*lookup) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	got := make([]*string, len(ls))
	for rows.Next() {
		var i int32
		var run []byte
		if err := rows.Scan(&i, &run); err != nil {
			rows.Close()
			return err
		}
		if i >= 1 && int(i) <= len(ls) && run != nil {
			id := string(run)
			got[i-1] = &id
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for i, l := range ls {
		if got[i] != nil {
			l.runID, l.found = *got[i], true
		}
		close(l.done)
	}
	lookupsBatched.Add(int64(len(ls)))
	return nil
}

// failLookups sends the callers of unanswered lookups to query directly.
func failLookups(ls []*lookup) {
	for _, l := range ls {
		select {
		case <-l.done:
		default:
			l.err = errNotBatched
			close(l.done)
		}
	}
}
