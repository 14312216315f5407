package pebblestore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/sundial-io/sundial/internal/store"
)

// Visibility index. Listing used to decode every record of a namespace and
// sort them; with a million runs that is seconds per page. Two index
// tables make the common questions cost what their answer costs:
//
//	v/<ns> 0x00 <^start> <runid>            open run    -> summary
//	v/<ns> 0x01 <^close> <^start> <runid>   closed run  -> summary
//	s/<ns> <status> <runid>                 empty (per-status membership)
//	t/<ns> <type> <status> <runid>          empty (per workflow type and status)
//	q/<ns> <task queue> <status> <runid>    empty (per task queue and status)
//
// A closed run's entry is the run id (length-prefixed) followed by its
// encoded WorkflowExecutionInfo: a covering index, so a filtered listing of
// closed runs is one sequential scan instead of a point read per run
// (measured 3x faster over a million runs). An open run's entry holds only
// its run id and the summary is read from its record: open runs are
// rewritten on every workflow task, and copying their summary each time
// cost a quarter of the store's write throughput, while closed runs are
// written about once.
//
// ^t is the time's UnixNano mapped to an order-preserving uint64 and then
// inverted, so ascending key order is Temporal's default list order: open
// runs first (newest start first), then closed runs by close time and start
// time descending, run id ascending. A page is a seek plus as many reads as
// it has entries, and a cursor (the key after the namespace prefix) stays
// valid however the table changes. The status table answers "how many runs
// are Completed" by counting keys, never decoding records.
const (
	tableVis    = "v/"
	tableStatus = "s/"
	tableType   = "t/"
	tableQueue  = "q/"
	partOpen    = 0x00
	partClosed  = 0x01
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

// visKey is the index key of a run in its open or closed partition.
func visKey(ns, runID string, info *workflowpb.WorkflowExecutionInfo, closed bool) []byte {
	k := key(tableVis, ns)
	if closed {
		k = append(k, partClosed)
		k = invTime(k, nanosOf(info, true))
	} else {
		k = append(k, partOpen)
	}
	k = invTime(k, nanosOf(info, false))
	return appendComponent(k, runID)
}

func statusKey(ns string, status enumspb.WorkflowExecutionStatus, runID string) []byte {
	k := append(key(tableStatus, ns), byte(status))
	return appendComponent(k, runID)
}

// typeKey is a run's entry in the per-type table, which answers counts
// such as `WorkflowType = 'x' AND ExecutionStatus = 'Completed'` (the
// question a dashboard asks most after plain status counts) by counting
// keys: reading every summary took ~1.6 s per million runs.
func typeKey(ns, wfType string, status enumspb.WorkflowExecutionStatus, runID string) []byte {
	k := append(key(tableType, ns, wfType), byte(status))
	return appendComponent(k, runID)
}

// queueKey is a run's entry in the per-task-queue table (`TaskQueue = 'q'`
// counts, with or without a status), built like typeKey.
func queueKey(ns, queue string, status enumspb.WorkflowExecutionStatus, runID string) []byte {
	k := append(key(tableQueue, ns, queue), byte(status))
	return appendComponent(k, runID)
}

// indexRun writes the index entries of a record and removes the entries a
// run leaves behind when it closes. A run's start time never changes and it
// closes at most once, so the old entries are computable from the new
// record without reading the store.
func indexRun(pb *pebble.Batch, r *store.RunRecord) error {
	status := r.Info.GetStatus()
	wfType, queue := r.Info.GetType().GetName(), r.Info.GetTaskQueue()
	open := visKey(r.Namespace, r.RunID, r.Info, false)
	if store.Open(status) {
		pb.Set(open, protowire.AppendString(nil, r.RunID), nil)
		// A run paused or unpaused moves between the open statuses.
		for _, st := range store.OpenStatuses {
			if st != status {
				pb.Delete(statusKey(r.Namespace, st, r.RunID), nil)
				pb.Delete(typeKey(r.Namespace, wfType, st, r.RunID), nil)
				pb.Delete(queueKey(r.Namespace, queue, st, r.RunID), nil)
			}
		}
	} else {
		v, err := summary(r)
		if err != nil {
			return err
		}
		pb.Delete(open, nil)
		pb.Set(visKey(r.Namespace, r.RunID, r.Info, true), v, nil)
		for _, st := range store.OpenStatuses {
			pb.Delete(statusKey(r.Namespace, st, r.RunID), nil)
			pb.Delete(typeKey(r.Namespace, wfType, st, r.RunID), nil)
			pb.Delete(queueKey(r.Namespace, queue, st, r.RunID), nil)
		}
	}
	pb.Set(statusKey(r.Namespace, r.Info.GetStatus(), r.RunID), nil, nil)
	pb.Set(typeKey(r.Namespace, wfType, r.Info.GetStatus(), r.RunID), nil, nil)
	pb.Set(queueKey(r.Namespace, queue, r.Info.GetStatus(), r.RunID), nil, nil)
	return nil
}

// summary encodes an index value: run id, then the run's Info.
func summary(r *store.RunRecord) ([]byte, error) {
	v := protowire.AppendString(nil, r.RunID)
	if r.Info == nil {
		return v, nil
	}
	v, err := proto.MarshalOptions{}.MarshalAppend(v, r.Info)
	if err != nil {
		return nil, fmt.Errorf("pebblestore: run %q: marshal info: %w", r.RunID, err)
	}
	return v, nil
}

// parseSummary splits an index value into run id and encoded Info.
func parseSummary(v []byte) (runID string, info []byte, err error) {
	id, n := protowire.ConsumeBytes(v)
	if n < 0 {
		return "", nil, fmt.Errorf("pebblestore: corrupt visibility index entry: %w", protowire.ParseError(n))
	}
	return string(id), v[n:], nil
}

// unindexRun removes every index entry a run can have.
func unindexRun(pb *pebble.Batch, r *store.RunRecord) {
	pb.Delete(visKey(r.Namespace, r.RunID, r.Info, false), nil)
	if r.Info.GetCloseTime() != nil {
		pb.Delete(visKey(r.Namespace, r.RunID, r.Info, true), nil)
	}
	for st := range enumspb.WorkflowExecutionStatus_name {
		pb.Delete(statusKey(r.Namespace, enumspb.WorkflowExecutionStatus(st), r.RunID), nil)
		pb.Delete(typeKey(r.Namespace, r.Info.GetType().GetName(), enumspb.WorkflowExecutionStatus(st), r.RunID), nil)
		pb.Delete(queueKey(r.Namespace, r.Info.GetTaskQueue(), enumspb.WorkflowExecutionStatus(st), r.RunID), nil)
	}
}

// ListRuns walks the v/ table of a namespace from the cursor on.
func (s *Store) ListRuns(ctx context.Context, namespace string, opts store.ListOptions, fn func(cursor []byte, info *workflowpb.WorkflowExecutionInfo) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.exit()
	prefix := key(tableVis, namespace)
	lower, upper := prefix, prefixEnd(prefix)
	switch {
	case opts.OpenOnly && opts.ClosedOnly:
		return nil
	case opts.OpenOnly:
		upper = append(bytes.Clone(prefix), partClosed)
	case opts.ClosedOnly:
		lower = append(bytes.Clone(prefix), partClosed)
	}
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return s.readError(err)
	}
	defer it.Close()
	var ok bool
	if len(opts.After) > 0 {
		after := append(bytes.Clone(prefix), opts.After...)
		ok = it.SeekGE(after)
		if ok && bytes.Equal(it.Key(), after) {
			ok = it.Next()
		}
	} else {
		ok = it.First()
	}
	fields := opts.Fields
	for ; ok; ok = it.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		info, raw, err := s.summaryInfo(namespace, it.Value(), fields)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted after the iterator's snapshot was taken
		}
		if err != nil {
			return err
		}
		if opts.Match != nil {
			if !opts.Match(info) {
				continue
			}
			if raw != nil && fields != nil {
				// Matched on a partial decode: fn gets the whole summary.
				if info, err = store.DecodeInfo(raw, nil); err != nil {
					return fmt.Errorf("pebblestore: corrupt visibility index entry: %w", err)
				}
			}
		}
		if err := fn(bytes.Clone(it.Key()[len(prefix):]), info); err != nil {
			if errors.Is(err, store.ErrStop) {
				return nil
			}
			return err
		}
	}
	return s.readError(it.Error())
}

// summaryInfo decodes the Info of an index entry (only fields, unless
// nil), reading the run's record for an open run's entry, which holds only
// the run id. raw is the encoded Info of a closed run's entry (valid until
// the iterator moves), nil for an open run's, whose Info is always whole.
func (s *Store) summaryInfo(namespace string, v []byte, fields []protoreflect.FieldNumber) (info *workflowpb.WorkflowExecutionInfo, raw []byte, err error) {
	runID, b, err := parseSummary(v)
	if err != nil {
		return nil, nil, err
	}
	if len(b) == 0 {
		r, err := s.run(namespace, runID)
		if err != nil {
			return nil, nil, err
		}
		if r.Info == nil {
			return &workflowpb.WorkflowExecutionInfo{}, nil, nil
		}
		return r.Info, nil, nil
	}
	info, err = store.DecodeInfo(b, fields)
	if err != nil {
		return nil, nil, fmt.Errorf("pebblestore: corrupt visibility index entry: %w", err)
	}
	return info, b, nil
}

// CountRuns counts the keys of one status in the s/ table, or of one
// workflow type (t/) or task queue (q/) and status.
func (s *Store) CountRuns(ctx context.Context, namespace string, by store.CountBy, status enumspb.WorkflowExecutionStatus) (int64, error) {
	count, err := s.CountRunsLater(ctx, namespace, by, status)
	if err != nil {
		return 0, err
	}
	return count()
}

// CountRunsLater fixes the point in time of a count now (an iterator is a
// consistent view) and returns the counting, which reads every index key
// of the status (O(runs)): the engine counts open runs at startup that
// way, in the background, without missing or doubling a run started in
// between. The returned function must be called exactly once.
func (s *Store) CountRunsLater(ctx context.Context, namespace string, by store.CountBy, status enumspb.WorkflowExecutionStatus) (func() (int64, error), error) {
	var prefix []byte
	switch by.Field {
	case store.CountAll:
		prefix = append(key(tableStatus, namespace), byte(status))
	case store.CountWorkflowType:
		prefix = append(key(tableType, namespace, by.Value), byte(status))
	case store.CountTaskQueue:
		prefix = append(key(tableQueue, namespace, by.Value), byte(status))
	default:
		return nil, fmt.Errorf("pebblestore: CountRuns by unknown field %d", by.Field)
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		s.exit()
		return nil, s.readError(err)
	}
	return func() (int64, error) {
		defer s.exit()
		defer it.Close()
		var n int64
		for ok := it.First(); ok; ok = it.Next() {
			n++
			if n%65536 == 0 {
				if err := ctx.Err(); err != nil {
					return 0, err
				}
			}
		}
		return n, s.readError(it.Error())
	}, nil
}

// ClosedBefore walks the closed partition backwards: its oldest close
// times are at the end.
func (s *Store) ClosedBefore(ctx context.Context, namespace string, t time.Time, fn func(*store.RunRecord) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.exit()
	lower := append(key(tableVis, namespace), partClosed)
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(lower)})
	if err != nil {
		return s.readError(err)
	}
	defer it.Close()
	// Keys with close time >= t sort before this one.
	limit := invTime(bytes.Clone(lower), t.UnixNano()-1)
	for ok := it.Last(); ok && bytes.Compare(it.Key(), limit) >= 0; ok = it.Prev() {
		if err := ctx.Err(); err != nil {
			return err
		}
		runID, _, err := parseSummary(it.Value())
		if err != nil {
			return err
		}
		r, err := s.run(namespace, runID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if err := fn(r); err != nil {
			if errors.Is(err, store.ErrStop) {
				return nil
			}
			return err
		}
	}
	return s.readError(it.Error())
}

// backfillIndex (re)builds the index tables from the run records, in
// batches so memory stays flat: for stores written by a build without the
// index (format 1) or with run-id-only entries (format 2).
func (s *Store) backfillIndex() error {
	pb := s.db.NewBatch()
	n := 0
	err := s.scan(context.Background(), []byte(tableRun), func(_, v []byte) error {
		r, err := decodeRecord(v)
		if err != nil {
			return err
		}
		if err := indexRun(pb, r); err != nil {
			return err
		}
		if n++; n%10000 == 0 {
			err := pb.Commit(pebble.Sync)
			pb.Close()
			pb = s.db.NewBatch()
			return err
		}
		return nil
	})
	if err == nil {
		err = pb.Commit(pebble.Sync)
	}
	pb.Close()
	if err != nil {
		return fmt.Errorf("pebblestore: build visibility index: %w", err)
	}
	return nil
}
