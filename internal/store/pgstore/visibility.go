package pgstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sundial-io/sundial/internal/store"
)

// The visibility table keeps one row per run. Its list_key column sorts,
// byte by byte, in Temporal's default list order:
//
//	0x00 <^start> <run id>            open run
//	0x01 <^close> <^start> <run id>   closed run
//
// ^t is the time's UnixNano mapped to an order-preserving uint64 and
// inverted, so ascending order is newest first. The (namespace, list_key)
// index makes a page one index range scan, and list_key is the cursor: it
// stays valid however the table changes, and any bytes a client sends back
// as a cursor simply select a suffix of the order. Counts are COUNT(*) over
// the (namespace, status), (namespace, workflow_type, status) and
// (namespace, task_queue, status) indexes.
const (
	partOpen   = 0x00
	partClosed = 0x01
)

// invTime encodes t so that later times sort first.
func invTime(dst []byte, nanos int64) []byte {
	return binary.BigEndian.AppendUint64(dst, ^(uint64(nanos) ^ (1 << 63)))
}

func nanosOf(info *workflowpb.WorkflowExecutionInfo, close bool) int64 {
	ts := info.GetStartTime()
	if close {
		ts = info.GetCloseTime()
	}
	if ts == nil {
		return 0
	}
	return ts.AsTime().UnixNano()
}

// encodeVis builds a run's visibility row.
func encodeVis(r *store.RunRecord, running bool) (*visRow, error) {
	v := &visRow{
		status:    int16(r.Info.GetStatus()),
		wfType:    []byte(r.Info.GetType().GetName()),
		taskQueue: []byte(r.Info.GetTaskQueue()),
	}
	k := make([]byte, 0, 17+len(r.RunID))
	if running {
		k = append(k, partOpen)
	} else {
		k = append(k, partClosed)
		k = invTime(k, nanosOf(r.Info, true))
		info := r.Info
		if info == nil {
			info = &workflowpb.WorkflowExecutionInfo{}
		}
		s, err := proto.Marshal(info)
		if err != nil {
			return nil, fmt.Errorf("pgstore: run %q: marshal info: %w", r.RunID, err)
		}
		v.summary = s
	}
	k = invTime(k, nanosOf(r.Info, false))
	v.listKey = append(k, r.RunID...)
	return v, nil
}

// ListRuns pages through the namespace's rows in list_key order.
func (s *Store) ListRuns(ctx context.Context, namespace string, opts store.ListOptions, fn func(cursor []byte, info *workflowpb.WorkflowExecutionInfo) error) error {
	if err := s.waitAll(ctx); err != nil {
		return err
	}
	lower, upper := []byte{}, []byte{0xff, 0xff} // every key starts with 0x00 or 0x01
	switch {
	case opts.OpenOnly && opts.ClosedOnly:
		return nil
	case opts.OpenOnly:
		upper = []byte{partClosed}
	case opts.ClosedOnly:
		lower = []byte{partClosed}
	}
	after := []byte{}
	if len(opts.After) > 0 {
		after = bytes.Clone(opts.After)
	}
	// An open run's row holds no summary: its Info comes from the record
	// (open runs are rewritten on every workflow task; copying the summary
	// into the index each time would double the write).
	const q = `SELECT v.list_key, v.summary, r.record FROM visibility v
		LEFT JOIN runs r ON v.summary IS NULL AND r.namespace = v.namespace AND r.run_id = v.run_id
		WHERE v.namespace = $1 AND v.list_key >= $2 AND v.list_key > $3 AND v.list_key < $4
		ORDER BY v.list_key` + limitPage
	for {
		type entry struct{ key, summary, record []byte }
		var page []entry
		rows, err := s.pool.Query(ctx, q, []byte(namespace), lower, after, upper)
		if err != nil {
			return fmt.Errorf("pgstore: list runs: %w", err)
		}
		for rows.Next() {
			var e entry
			if err := rows.Scan(&e.key, &e.summary, &e.record); err != nil {
				rows.Close()
				return fmt.Errorf("pgstore: list runs: %w", err)
			}
			page = append(page, e)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("pgstore: list runs: %w", err)
		}
		for _, e := range page {
			info, err := listedInfo(e.summary, e.record, opts)
			if err != nil {
				return err
			}
			if info == nil {
				continue // rejected by Match, or the run went away
			}
			if err := fn(e.key, info); err != nil {
				if errors.Is(err, store.ErrStop) {
					return nil
				}
				return err
			}
		}
		if len(page) < scanPage {
			return nil
		}
		after = page[len(page)-1].key
	}
}

// listedInfo decodes one listed entry as ListRuns hands it on: nil when
// Match rejects it.
func listedInfo(summary, record []byte, opts store.ListOptions) (*workflowpb.WorkflowExecutionInfo, error) {
	if summary == nil {
		if record == nil {
			return nil, nil // an open run's record deleted between the queries of a page
		}
		r := &store.RunRecord{}
		if err := r.Unmarshal(record); err != nil {
			return nil, err
		}
		info := r.Info
		if info == nil {
			info = &workflowpb.WorkflowExecutionInfo{}
		}
		if opts.Match != nil && !opts.Match(info) {
			return nil, nil
		}
		return info, nil
	}
	info, err := store.DecodeInfo(summary, opts.Fields)
	if err != nil {
		return nil, fmt.Errorf("pgstore: corrupt visibility summary: %w", err)
	}
	if opts.Match == nil {
		return info, nil
	}
	if !opts.Match(info) {
		return nil, nil
	}
	if opts.Fields != nil {
		// Matched on a partial decode: fn gets the whole summary.
		if info, err = store.DecodeInfo(summary, nil); err != nil {
			return nil, fmt.Errorf("pgstore: corrupt visibility summary: %w", err)
		}
	}
	return info, nil
}

// CountRuns counts index entries; no record is read.
func (s *Store) CountRuns(ctx context.Context, namespace string, by store.CountBy, status enumspb.WorkflowExecutionStatus) (int64, error) {
	var q string
	args := []any{[]byte(namespace), int16(status)}
	switch by.Field {
	case store.CountAll:
		q = `SELECT count(*) FROM visibility WHERE namespace = $1 AND status = $2`
	case store.CountWorkflowType:
		q = `SELECT count(*) FROM visibility WHERE namespace = $1 AND status = $2 AND workflow_type = $3`
		args = append(args, []byte(by.Value))
	case store.CountTaskQueue:
		q = `SELECT count(*) FROM visibility WHERE namespace = $1 AND status = $2 AND task_queue = $3`
		args = append(args, []byte(by.Value))
	default:
		return 0, fmt.Errorf("pgstore: CountRuns by unknown field %d", by.Field)
	}
	if err := s.waitAll(ctx); err != nil {
		return 0, err
	}
	var n int64
	if err := s.pool.QueryRow(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("pgstore: count runs: %w", err)
	}
	return n, nil
}

// ClosedBefore walks the closed part of the order backwards: the oldest
// close times have the largest keys.
func (s *Store) ClosedBefore(ctx context.Context, namespace string, t time.Time, fn func(*store.RunRecord) error) error {
	if err := s.waitAll(ctx); err != nil {
		return err
	}
	// Keys at or above this one have a close time before t.
	limit := invTime([]byte{partClosed}, t.UnixNano()-1)
	upper := []byte{partClosed + 1}
	const q = `SELECT v.list_key, r.record FROM visibility v
		JOIN runs r ON r.namespace = v.namespace AND r.run_id = v.run_id
		WHERE v.namespace = $1 AND v.list_key >= $2 AND v.list_key < $3
		ORDER BY v.list_key DESC` + limitPage
	for {
		var keys, recs [][]byte
		rows, err := s.pool.Query(ctx, q, []byte(namespace), limit, upper)
		if err != nil {
			return fmt.Errorf("pgstore: closed runs: %w", err)
		}
		for rows.Next() {
			var k, rec []byte
			if err := rows.Scan(&k, &rec); err != nil {
				rows.Close()
				return fmt.Errorf("pgstore: closed runs: %w", err)
			}
			keys, recs = append(keys, k), append(recs, rec)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("pgstore: closed runs: %w", err)
		}
		for _, v := range recs {
			r := &store.RunRecord{}
			if err := r.Unmarshal(v); err != nil {
				return err
			}
			if err := fn(r); err != nil {
				if errors.Is(err, store.ErrStop) {
					return nil
				}
				return err
			}
		}
		if len(keys) < scanPage {
			return nil
		}
		upper = keys[len(keys)-1]
	}
}
