package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// A group of batches becomes one transaction of a few statements: the
// rows of all its batches are merged per table and written with one
// multi-row statement each (INSERT ... SELECT FROM unnest(arrays) ON
// CONFLICT ...), not one statement per row. Merging keeps Apply order:
// a later write of a row replaces an earlier one of the same group, and
// deletes run after the upserts, as within one store.Batch. When a batch
// writes a row that an earlier batch of the group deleted, merging could
// reorder the two, so the group is cut there into segments, executed in
// order inside the same transaction.

// segment is the merged rows of consecutive batches.
type segment struct {
	state map[segKey]byte // 'u' upserted, 'd' deleted in this segment

	namespaces map[string][]byte
	nsOrder    []string
	nsDeletes  [][]byte
	searchAttr map[string][]byte
	saOrder    []string

	runs     map[rowKey]int // index in runRows of the run's newest row
	runRows  []runRow
	history  []runRow // appended history batches, in order
	current  map[rowKey][]byte
	curOrder []rowKey
	vis      map[rowKey]*visRow
	visOrder []rowKey
	deletes  []runDel

	keyed     map[segKey]int // index in keyedUps of the row's newest upsert
	keyedUps  []keyedOp
	keyedDels []keyedOp
}

// segKey names a row of any table, for the cut decision: a one-letter
// table id and the row's key (joinKey of its parts).
type segKey struct {
	table byte
	key   string
}

func sk(table byte, parts ...string) segKey {
	b := make([][]byte, len(parts))
	for i, p := range parts {
		b[i] = []byte(p)
	}
	return segKey{table, joinKey(b)}
}

func newSegment() *segment {
	return &segment{
		state: map[segKey]byte{}, namespaces: map[string][]byte{}, searchAttr: map[string][]byte{},
		runs: map[rowKey]int{}, current: map[rowKey][]byte{}, vis: map[rowKey]*visRow{},
		keyed: map[segKey]int{},
	}
}

// conflicts reports whether e upserts a row this segment deletes (then e
// must start a new segment).
func (sg *segment) conflicts(e *encoded) bool {
	del := func(k segKey) bool { return sg.state[k] == 'd' }
	for _, n := range e.namespaces {
		if del(sk('n', string(n.k))) {
			return true
		}
	}
	for _, r := range e.runs {
		if del(sk('r', string(r.ns), string(r.runID))) || r.workflowID != nil && del(sk('c', string(r.ns), string(r.workflowID))) {
			return true
		}
	}
	for _, o := range e.keyed {
		if !o.del && del(o.segKey()) {
			return true
		}
	}
	return false
}

// add merges one batch into the segment, in the batch's own order
// (upserts, then deletes).
func (sg *segment) add(e *encoded) {
	for _, n := range e.namespaces {
		k := string(n.k)
		if _, ok := sg.namespaces[k]; !ok {
			sg.nsOrder = append(sg.nsOrder, k)
		}
		sg.namespaces[k] = n.v
		sg.state[sk('n', k)] = 'u'
	}
	for _, a := range e.searchAttrs {
		k := string(a.k)
		if _, ok := sg.searchAttr[k]; !ok {
			sg.saOrder = append(sg.saOrder, k)
		}
		sg.searchAttr[k] = a.v
	}
	for _, r := range e.runs {
		k := rowKey{'r', string(r.ns), string(r.runID)}
		if i, ok := sg.runs[k]; ok {
			sg.runRows[i] = r
		} else {
			sg.runs[k] = len(sg.runRows)
			sg.runRows = append(sg.runRows, r)
		}
		sg.state[sk('r', k.ns, k.id)] = 'u'
		if r.events != nil {
			sg.history = append(sg.history, r)
		}
		if r.workflowID != nil {
			ck := rowKey{'c', k.ns, string(r.workflowID)}
			if _, ok := sg.current[ck]; !ok {
				sg.curOrder = append(sg.curOrder, ck)
			}
			sg.current[ck] = r.runID
			sg.state[sk('c', ck.ns, ck.id)] = 'u'
		}
		if r.vis != nil {
			if _, ok := sg.vis[k]; !ok {
				sg.visOrder = append(sg.visOrder, k)
			}
			sg.vis[k] = r.vis
		}
	}
	for _, o := range e.keyed {
		if o.del {
			continue
		}
		k := o.segKey()
		if i, ok := sg.keyed[k]; ok {
			sg.keyedUps[i] = o
		} else {
			sg.keyed[k] = len(sg.keyedUps)
			sg.keyedUps = append(sg.keyedUps, o)
		}
		sg.state[k] = 'u'
	}
	// Deletes: applied after every upsert of the segment, which is right
	// for rows upserted before them; conflicts() cut the segment for rows
	// upserted after them.
	for _, n := range e.nsDeletes {
		sg.nsDeletes = append(sg.nsDeletes, n)
		sg.state[sk('n', string(n))] = 'd'
	}
	for _, d := range e.deletes {
		sg.deletes = append(sg.deletes, d)
		sg.state[sk('r', string(d.ns), string(d.runID))] = 'd'
		if d.workflowID != nil {
			sg.state[sk('c', string(d.ns), string(d.workflowID))] = 'd'
		}
	}
	for _, o := range e.keyed {
		if o.del {
			sg.keyedDels = append(sg.keyedDels, o)
			sg.state[o.segKey()] = 'd'
		}
	}
}

// buildGroup turns a group of batches into the statements of one
// transaction.
func buildGroup(group []*commit) *pgx.Batch {
	b := &pgx.Batch{}
	sg := newSegment()
	for _, c := range group {
		if sg.conflicts(c.enc) {
			sg.queue(b)
			sg = newSegment()
		}
		sg.add(c.enc)
	}
	sg.queue(b)
	return b
}

// The hot statements, one per table per segment.
const (
	sqlRuns = `INSERT INTO runs (namespace, run_id, workflow_id, record, due)
		SELECT * FROM unnest($1::bytea[], $2::bytea[], $3::bytea[], $4::bytea[], $5::timestamptz[])
		ON CONFLICT (namespace, run_id) DO UPDATE SET record = excluded.record, due = excluded.due`
	// A history batch already there is the same batch written by an
	// attempt whose commit outcome was unknown (see commitGroup).
	sqlHistory = `INSERT INTO history (namespace, run_id, first_event_id, last_event_id, events)
		SELECT * FROM unnest($1::bytea[], $2::bytea[], $3::int8[], $4::int8[], $5::bytea[])
		ON CONFLICT (namespace, run_id, first_event_id) DO NOTHING`
	sqlCurrent = `INSERT INTO current_runs (namespace, workflow_id, run_id)
		SELECT * FROM unnest($1::bytea[], $2::bytea[], $3::bytea[])
		ON CONFLICT (namespace, workflow_id) DO UPDATE SET run_id = excluded.run_id`
	sqlVis = `INSERT INTO visibility (namespace, run_id, list_key, status, workflow_type, task_queue, summary)
		SELECT * FROM unnest($1::bytea[], $2::bytea[], $3::bytea[], $4::int2[], $5::bytea[], $6::bytea[], $7::bytea[])
		ON CONFLICT (namespace, run_id) DO UPDATE SET list_key = excluded.list_key, status = excluded.status,
			workflow_type = excluded.workflow_type, task_queue = excluded.task_queue, summary = excluded.summary`
)

// queue appends the segment's statements to b.
func (sg *segment) queue(b *pgx.Batch) {
	for _, k := range sg.nsOrder {
		b.Queue(`INSERT INTO namespaces (name, info) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET info = excluded.info`, []byte(k), sg.namespaces[k])
	}
	for _, k := range sg.saOrder {
		b.Queue(`INSERT INTO search_attributes (namespace, registry) VALUES ($1, $2) ON CONFLICT (namespace) DO UPDATE SET registry = excluded.registry`, []byte(k), sg.searchAttr[k])
	}
	if n := len(sg.runRows); n > 0 {
		ns, ids, wids, recs, dues := make([][]byte, n), make([][]byte, n), make([][]byte, n), make([][]byte, n), make([]pgtype.Timestamptz, n)
		for i, r := range sg.runRows {
			ns[i], ids[i], wids[i], recs[i], dues[i] = r.ns, r.runID, r.wfID, r.record, dueParam(r.due)
		}
		b.Queue(sqlRuns, ns, ids, wids, recs, dues)
	}
	if n := len(sg.history); n > 0 {
		ns, ids, first, last, evs := make([][]byte, n), make([][]byte, n), make([]int64, n), make([]int64, n), make([][]byte, n)
		for i, r := range sg.history {
			ns[i], ids[i], first[i], last[i], evs[i] = r.ns, r.runID, r.firstID, r.lastID, r.events
		}
		b.Queue(sqlHistory, ns, ids, first, last, evs)
	}
	if n := len(sg.curOrder); n > 0 {
		ns, wids, ids := make([][]byte, n), make([][]byte, n), make([][]byte, n)
		for i, k := range sg.curOrder {
			ns[i], wids[i], ids[i] = []byte(k.ns), []byte(k.id), sg.current[k]
		}
		b.Queue(sqlCurrent, ns, wids, ids)
	}
	if n := len(sg.visOrder); n > 0 {
		ns, ids, keys, st, types, queues, sums := make([][]byte, n), make([][]byte, n), make([][]byte, n), make([]int16, n), make([][]byte, n), make([][]byte, n), make([][]byte, n)
		for i, k := range sg.visOrder {
			v := sg.vis[k]
			ns[i], ids[i], keys[i], st[i], types[i], queues[i], sums[i] = []byte(k.ns), []byte(k.id), v.listKey, v.status, v.wfType, v.taskQueue, v.summary
		}
		b.Queue(sqlVis, ns, ids, keys, st, types, queues, sums)
	}
	for _, n := range sg.nsDeletes {
		b.Queue(`DELETE FROM namespaces WHERE name = $1`, n)
	}
	for _, d := range sg.deletes {
		b.Queue(`DELETE FROM runs WHERE namespace = $1 AND run_id = $2`, d.ns, d.runID)
		b.Queue(`DELETE FROM history WHERE namespace = $1 AND run_id = $2`, d.ns, d.runID)
		b.Queue(`DELETE FROM visibility WHERE namespace = $1 AND run_id = $2`, d.ns, d.runID)
		if d.workflowID != nil {
			b.Queue(`DELETE FROM current_runs WHERE namespace = $1 AND workflow_id = $2`, d.ns, d.workflowID)
		}
	}
	for _, o := range sg.keyedUps {
		queueKeyed(b, o)
	}
	for _, o := range sg.keyedDels {
		queueKeyed(b, o)
	}
}

// exec runs the statements as one transaction: pgx sends a batch as one
// pipeline ending in a single Sync, which PostgreSQL (and CockroachDB)
// execute as one implicit transaction, committed at the Sync, or rolled
// back whole when any statement fails. One round trip per group. Queued
// current-run lookups go first, as one SELECT, answered as soon as its
// rows arrive.
func (s *Store) exec(ctx context.Context, b *pgx.Batch, lookups []*lookup) error {
	if len(lookups) > 0 {
		head := &pgx.Batch{}
		queueLookups(head, lookups)
		b.QueuedQueries = append(head.QueuedQueries, b.QueuedQueries...)
	}
	if b.Len() == 0 {
		return nil
	}
	br := s.pool.SendBatch(ctx, b)
	n := b.Len()
	if len(lookups) > 0 {
		n--
		if err := answerLookups(br, lookups); err != nil {
			br.Close()
			return err
		}
	}
	for range n {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return err
		}
	}
	return br.Close()
}
