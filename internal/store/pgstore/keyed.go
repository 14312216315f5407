package pgstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sundial-io/sundial/internal/store"
)

// Keyed tables hold opaque values under a composite key (schedules, batch
// jobs, Nexus endpoints, keyed records, activity executions, worker
// deployments): every such table has key columns and a state column, and
// one description drives its upserts, deletes and ordered scans.
type keyedTable struct {
	id   byte // distinguishes tables in a segment's row map
	name string
	cols []string // key columns, in key order

	upsert, delete string // SQL, built once
}

func newKeyedTable(id byte, name string, cols ...string) *keyedTable {
	t := &keyedTable{id: id, name: name, cols: cols}
	params := make([]string, len(cols))
	where := make([]string, len(cols))
	for i, c := range cols {
		params[i] = fmt.Sprintf("$%d", i+1)
		where[i] = fmt.Sprintf("%s = $%d", c, i+1)
	}
	keys := strings.Join(cols, ", ")
	t.upsert = fmt.Sprintf("INSERT INTO %s (%s, state) VALUES (%s, $%d) ON CONFLICT (%s) DO UPDATE SET state = excluded.state",
		name, keys, strings.Join(params, ", "), len(cols)+1, keys)
	t.delete = fmt.Sprintf("DELETE FROM %s WHERE %s", name, strings.Join(where, " AND "))
	return t
}

var (
	tableSchedules   = newKeyedTable('s', "schedules", "namespace", "schedule_id")
	tableBatchJobs   = newKeyedTable('j', "batch_jobs", "namespace", "job_id")
	tableEndpoints   = newKeyedTable('e', "nexus_endpoints", "id")
	tableRecords     = newKeyedTable('k', "records", "kind", "key")
	tableActivities  = newKeyedTable('a', "activity_executions", "namespace", "activity_id", "run_id")
	tableDeployments = newKeyedTable('w', "worker_deployments", "namespace", "name")
)

// keyedOp is one upsert or delete of a keyed table row.
type keyedOp struct {
	t     *keyedTable
	key   [][]byte
	state []byte // upserts only
	del   bool
}

// segKey is the row's identity, for merging within a segment.
func (o keyedOp) segKey() segKey { return segKey{o.t.id, joinKey(o.key)} }

// joinKey encodes key parts unambiguously (length-prefixed).
func joinKey(parts [][]byte) string {
	var b []byte
	for _, p := range parts {
		b = binary.AppendUvarint(b, uint64(len(p)))
		b = append(b, p...)
	}
	return string(b)
}

// keyedUpsert and keyedDelete build ops from string key parts, refusing
// empty ones: what names a record must not be empty (a keyed record's Key
// excepted, see encodeRecords).
func keyedUpsert(t *keyedTable, what string, state []byte, parts ...string) (keyedOp, error) {
	op := keyedOp{t: t, state: clone(state)}
	for _, p := range parts {
		if p == "" {
			return keyedOp{}, fmt.Errorf("pgstore: %s with an empty key (%s)", what, strings.Join(t.cols, ", "))
		}
		op.key = append(op.key, []byte(p))
	}
	return op, nil
}

func keyedDelete(t *keyedTable, what string, parts ...string) (keyedOp, error) {
	op, err := keyedUpsert(t, what+" delete", nil, parts...)
	op.state, op.del = nil, true
	return op, err
}

// encodeRecords turns the batch's keyed records (store.KeyedRecord) into
// ops. A record's kind must be set; its key may be anything, "" included.
func encodeRecords(b *store.Batch) ([]keyedOp, error) {
	var ops []keyedOp
	for _, r := range b.Records {
		if r == nil || r.Kind == "" {
			return nil, errors.New("pgstore: keyed record without a kind")
		}
		ops = append(ops, keyedOp{t: tableRecords, key: [][]byte{[]byte(r.Kind), []byte(r.Key)}, state: clone(r.State)})
	}
	for _, k := range b.RecordDeletes {
		if k.Kind == "" {
			return nil, errors.New("pgstore: keyed record delete without a kind")
		}
		ops = append(ops, keyedOp{t: tableRecords, key: [][]byte{[]byte(k.Kind), []byte(k.Key)}, del: true})
	}
	return ops, nil
}

// scanKeyed pages through a keyed table in key order, limited to the rows
// whose first len(fixed) key columns equal fixed.
func (s *Store) scanKeyed(ctx context.Context, t *keyedTable, fixed [][]byte, fn func(key [][]byte, state []byte) error) error {
	if err := s.waitAll(ctx); err != nil {
		return err
	}
	n := len(t.cols)
	var where []string
	args := make([]any, 0, n)
	for i := range fixed {
		where = append(where, fmt.Sprintf("%s = $%d", t.cols[i], i+1))
		args = append(args, fixed[i])
	}
	rest := t.cols[len(fixed):]
	after := make([]string, len(rest))
	for i := range rest {
		after[i] = fmt.Sprintf("$%d", len(fixed)+i+1)
	}
	// The first page starts at (and includes) the smallest key, "" parts
	// included; later pages start after the last key seen.
	query := func(op string) string {
		w := append(where[:len(where):len(where)], fmt.Sprintf("(%s) %s (%s)", strings.Join(rest, ", "), op, strings.Join(after, ", ")))
		return fmt.Sprintf("SELECT %s, state FROM %s WHERE %s ORDER BY %s",
			strings.Join(t.cols, ", "), t.name, strings.Join(w, " AND "), strings.Join(t.cols, ", ")) + limitPage
	}
	q, qNext := query(">="), query(">")
	last := make([][]byte, len(rest))
	for i := range last {
		last[i] = []byte{}
	}
	for {
		type row struct {
			key   [][]byte
			state []byte
		}
		var page []row
		qargs := append(append([]any{}, args...), asArgs(last)...)
		rows, err := s.pool.Query(ctx, q, qargs...)
		if err != nil {
			return fmt.Errorf("pgstore: read %s: %w", t.name, err)
		}
		for rows.Next() {
			r := row{key: make([][]byte, n)}
			dest := make([]any, n+1)
			for i := range r.key {
				dest[i] = &r.key[i]
			}
			dest[n] = &r.state
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return fmt.Errorf("pgstore: read %s: %w", t.name, err)
			}
			page = append(page, r)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("pgstore: read %s: %w", t.name, err)
		}
		for _, r := range page {
			if r.state == nil {
				r.state = []byte{}
			}
			if err := fn(r.key, r.state); err != nil {
				if errors.Is(err, store.ErrStop) {
					return nil
				}
				return err
			}
		}
		if len(page) < scanPage {
			return nil
		}
		last = page[len(page)-1].key[len(fixed):]
		q = qNext
	}
}

func asArgs(parts [][]byte) []any {
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out
}

// queueKeyed appends an op's statement to b.
func queueKeyed(b *pgx.Batch, o keyedOp) {
	args := asArgs(o.key)
	if o.del {
		b.Queue(o.t.delete, args...)
		return
	}
	b.Queue(o.t.upsert, append(args, o.state)...)
}

// namespaceFilter is the fixed key prefix of a per-namespace scan ("" for
// every namespace).
func namespaceFilter(namespace string) [][]byte {
	if namespace == "" {
		return nil
	}
	return [][]byte{[]byte(namespace)}
}

// Schedules calls fn for every stored schedule of a namespace ("" for all).
func (s *Store) Schedules(ctx context.Context, namespace string, fn func(*store.ScheduleRecord) error) error {
	return s.scanKeyed(ctx, tableSchedules, namespaceFilter(namespace), func(k [][]byte, state []byte) error {
		return fn(&store.ScheduleRecord{Namespace: string(k[0]), ScheduleID: string(k[1]), State: state})
	})
}

// BatchJobs calls fn for every stored batch job of a namespace ("" for all).
func (s *Store) BatchJobs(ctx context.Context, namespace string, fn func(*store.BatchJobRecord) error) error {
	return s.scanKeyed(ctx, tableBatchJobs, namespaceFilter(namespace), func(k [][]byte, state []byte) error {
		return fn(&store.BatchJobRecord{Namespace: string(k[0]), JobID: string(k[1]), State: state})
	})
}

// NexusEndpoints calls fn for every stored Nexus endpoint, in id order.
func (s *Store) NexusEndpoints(ctx context.Context, fn func(*store.NexusEndpointRecord) error) error {
	return s.scanKeyed(ctx, tableEndpoints, nil, func(k [][]byte, state []byte) error {
		return fn(&store.NexusEndpointRecord{ID: string(k[0]), State: state})
	})
}

// Records calls fn for every stored keyed record of a kind, in key order.
func (s *Store) Records(ctx context.Context, kind string, fn func(*store.KeyedRecord) error) error {
	if kind == "" {
		return errors.New("pgstore: Records without a kind")
	}
	return s.scanKeyed(ctx, tableRecords, [][]byte{[]byte(kind)}, func(k [][]byte, state []byte) error {
		return fn(&store.KeyedRecord{Kind: kind, Key: string(k[1]), State: state})
	})
}
