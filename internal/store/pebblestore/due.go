package pebblestore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble"

	"github.com/sundial-io/sundial/internal/store"
)

// The due index: one key per run whose record has a non-zero Due,
//
//	d/<due, 8 bytes><ns><runid>   value: <ns><wfid><runid> (escaped components)
//
// so that a scan from the start of the table meets runs oldest due first.
// The time is unix nanoseconds with the sign bit flipped, so byte order is
// time order for any time. The previous entry of a run is found from
// RunWrite.PrevDue (the engine knows what it stored last), so moving it
// costs no read.
const tableDue = "d/"

// dueKey is the index key of a run due at t.
func dueKey(t time.Time, ns, runID string) []byte {
	k := make([]byte, 0, len(tableDue)+8+len(ns)+len(runID)+4)
	k = append(k, tableDue...)
	k = binary.BigEndian.AppendUint64(k, uint64(t.UnixNano())^(1<<63))
	k = appendComponent(k, ns)
	return appendComponent(k, runID)
}

// dueValue is the value of a due entry: the names of the run.
func dueValue(r *store.RunRecord) []byte {
	v := appendComponent(nil, r.Namespace)
	v = appendComponent(v, r.WorkflowID)
	return appendComponent(v, r.RunID)
}

// encodeDue replaces the due entry of a written run: the old one (at
// prev) goes, the new one (at r.Due) comes, in the same batch as the
// record. PrevDue is the caller's word for what is stored.
func encodeDue(pb *pebble.Batch, r *store.RunRecord, prev time.Time) {
	if prev.Equal(r.Due) {
		return // the entry is stored already (or there is none)
	}
	if !prev.IsZero() {
		pb.Delete(dueKey(prev, r.Namespace, r.RunID), nil)
	}
	if !r.Due.IsZero() {
		pb.Set(dueKey(r.Due, r.Namespace, r.RunID), dueValue(r), nil)
	}
}

// Due calls fn with the due entries from <= time < before, oldest first.
func (s *Store) Due(ctx context.Context, from, before time.Time, fn func(store.DueEntry) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.exit()
	lower := []byte(tableDue)
	if !from.IsZero() {
		lower = binary.BigEndian.AppendUint64(lower, uint64(from.UnixNano())^(1<<63))
	}
	upper := binary.BigEndian.AppendUint64([]byte(tableDue), uint64(before.UnixNano())^(1<<63))
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return s.readError(err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		if err := ctx.Err(); err != nil {
			it.Close()
			return err
		}
		k, v := it.Key(), it.Value()
		if len(k) < len(tableDue)+8 {
			it.Close()
			return fmt.Errorf("pebblestore: corrupt due key %q", k)
		}
		nanos := int64(binary.BigEndian.Uint64(k[len(tableDue):]) ^ (1 << 63))
		parts, ok := splitComponents(v)
		if !ok || len(parts) != 3 {
			it.Close()
			return fmt.Errorf("pebblestore: corrupt due entry %q", k)
		}
		if err := fn(store.DueEntry{Time: time.Unix(0, nanos).UTC(), Namespace: parts[0], WorkflowID: parts[1], RunID: parts[2]}); err != nil {
			it.Close()
			if errors.Is(err, store.ErrStop) {
				return nil
			}
			return err
		}
	}
	return s.readError(it.Close())
}

// backfillDue gives every open run of a store written before the due
// index a due entry at its start time (long past), with the record's Due
// set to match, so the engine's startup recovery loads each once, as it
// used to load every open run, and stores its real next attention time.
// Closed runs need none. The writes are idempotent: a crash in between
// just does it again.
func (s *Store) backfillDue() error {
	pb := s.db.NewBatch()
	n := 0
	err := s.scan(context.Background(), []byte(tableRun), func(k, v []byte) error {
		r, err := decodeRecord(v)
		if err != nil {
			return err
		}
		if !store.Open(r.Info.GetStatus()) || !r.Due.IsZero() {
			return nil
		}
		r.Due = time.Unix(1, 0).UTC()
		if st := r.Info.GetStartTime(); st != nil && st.AsTime().After(r.Due) {
			r.Due = st.AsTime().UTC()
		}
		enc, err := r.Marshal()
		if err != nil {
			return err
		}
		pb.Set(k, enc, nil)
		encodeDue(pb, r, time.Time{})
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
		return fmt.Errorf("pebblestore: build due index: %w", err)
	}
	return nil
}
