package pebblestore

import (
	"errors"
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sundial-io/sundial/internal/store"
)

// Apply encodes b into one Pebble batch and commits it through Pebble's
// commit pipeline without waiting for the WAL fsync. The pipeline assigns
// sequence numbers, writes the WAL and publishes batches in call order, and
// one fsync covers every batch queued behind it (group commit); Wait blocks
// for that fsync. Apply copies everything it needs, so the caller may
// mutate b once Apply returns. A batch is visible to reads when Apply
// returns.
func (s *Store) Apply(b *store.Batch) (store.Commit, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.exit()
	if guardsRegistries(b) { // rare admin writes only (conditional.go)
		s.condMu.Lock()
		defer s.condMu.Unlock()
		if err := s.checkExpectations(b); err != nil {
			return nil, err
		}
	}
	pb := s.db.NewBatch()
	if err := encodeBatch(pb, b); err != nil {
		pb.Close()
		return nil, err
	}
	if pb.Empty() {
		pb.Close()
		return doneCommit{}, nil
	}
	s.writes.Add(1)
	if s.opts.NoSync {
		err := s.db.Apply(pb, pebble.NoSync)
		pb.Close()
		if err != nil {
			return nil, fmt.Errorf("pebblestore: apply: %w", err)
		}
		return doneCommit{}, nil
	}
	if err := s.db.ApplyNoSyncWait(pb, pebble.Sync); err != nil {
		pb.Close() // safe: Pebble never pools a batch that failed to commit
		err = fmt.Errorf("pebblestore: apply: %w", err)
		s.markBroken(err)
		return nil, err
	}
	return &syncCommit{batch: pb, s: s}, nil
}

// encodeBufs holds scratch buffers for run records: a record is encoded
// on every write and copied into the batch, and allocating a fresh buffer
// each time was 7% of the server's allocations under load.
var encodeBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// encodeBatch validates b and writes its keys into pb.
func encodeBatch(pb *pebble.Batch, b *store.Batch) error {
	for _, ns := range b.Namespaces {
		name := ns.GetNamespaceInfo().GetName()
		if name == "" {
			return errors.New("pebblestore: namespace without a name")
		}
		v, err := proto.Marshal(ns)
		if err != nil {
			return fmt.Errorf("pebblestore: marshal namespace %q: %w", name, err)
		}
		pb.Set(key(tableNS, name), v, nil)
	}
	for _, name := range b.DeleteNamespaces {
		if name == "" {
			return errors.New("pebblestore: namespace delete without a name")
		}
		pb.Delete(key(tableNS, name), nil)
	}
	for _, r := range b.SearchAttributes {
		if err := encodeRegistry(pb, r); err != nil {
			return err
		}
	}
	bp := encodeBufs.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 64<<10 { // don't pin the buffer of a huge record
			encodeBufs.Put(bp)
		}
	}()
	for _, w := range b.Runs {
		var err error
		if *bp, err = encodeRun(pb, w, (*bp)[:0]); err != nil {
			return err
		}
	}
	for _, d := range b.Deletes {
		if err := encodeDelete(pb, d); err != nil {
			return err
		}
	}
	if err := encodeSchedules(pb, b); err != nil {
		return err
	}
	if err := encodeBatchJobs(pb, b); err != nil {
		return err
	}
	if err := encodeNexusEndpoints(pb, b); err != nil {
		return err
	}
	if err := encodeRecords(pb, b); err != nil {
		return err
	}
	if err := encodeActivityExecs(pb, b); err != nil {
		return err
	}
	return encodeWorkerDeployments(pb, b)
}

// encodeDelete removes a run's record, history and index entries, and the
// current-run pointer when asked to.
func encodeDelete(pb *pebble.Batch, d *store.RunDelete) error {
	if d == nil || d.Record == nil || d.Record.Namespace == "" || d.Record.RunID == "" {
		return errors.New("pebblestore: run delete without namespace and run id")
	}
	r := d.Record
	if d.ClearCurrent && r.WorkflowID == "" {
		return fmt.Errorf("pebblestore: run %q: ClearCurrent without a workflow id", r.RunID)
	}
	pb.Delete(key(tableRun, r.Namespace, r.RunID), nil)
	pb.Delete(key(tableOpen, r.Namespace, r.RunID), nil)
	if !r.Due.IsZero() {
		pb.Delete(dueKey(r.Due, r.Namespace, r.RunID), nil)
	}
	hist := key(tableHistory, r.Namespace, r.RunID)
	pb.DeleteRange(hist, prefixEnd(hist), nil)
	unindexRun(pb, r)
	if d.ClearCurrent {
		pb.Delete(key(tableCurrent, r.Namespace, r.WorkflowID), nil)
	}
	return nil
}

// encodeRun writes one RunWrite: the record, the open-run key and index
// entries (unless OpenIndexed), the appended history and the current-run
// pointer. buf is scratch space.
func encodeRun(pb *pebble.Batch, w *store.RunWrite, buf []byte) ([]byte, error) {
	if w == nil || w.Record == nil || w.Record.Namespace == "" || w.Record.RunID == "" {
		return buf, errors.New("pebblestore: run write without namespace and run id")
	}
	r := w.Record
	if w.SetCurrent && r.WorkflowID == "" {
		return buf, fmt.Errorf("pebblestore: run %q: SetCurrent without a workflow id", r.RunID)
	}
	if err := checkEvents(w.Events); err != nil {
		return buf, fmt.Errorf("pebblestore: run %q: %w", r.RunID, err)
	}
	buf, err := r.AppendMarshal(buf)
	if err != nil {
		return buf, err
	}
	pb.Set(key(tableRun, r.Namespace, r.RunID), buf, nil)
	encodeDue(pb, r, w.PrevDue)
	// An OpenIndexed run's open-run key and index entries are stored and
	// unchanged; rewriting them on every workflow task was four memtable
	// inserts per write for compaction to throw away.
	if running := store.Open(r.Info.GetStatus()); !running || !w.OpenIndexed {
		if running {
			pb.Set(key(tableOpen, r.Namespace, r.RunID), nil, nil)
		} else {
			pb.Delete(key(tableOpen, r.Namespace, r.RunID), nil)
		}
		if err := indexRun(pb, r); err != nil {
			return buf, err
		}
	}
	if len(w.Events) > 0 {
		v, err := proto.Marshal(&historypb.History{Events: w.Events})
		if err != nil {
			return buf, fmt.Errorf("pebblestore: run %q: marshal history: %w", r.RunID, err)
		}
		pb.Set(historyKey(r.Namespace, r.RunID, w.Events[0].GetEventId()), v, nil)
	}
	if w.SetCurrent {
		pb.Set(key(tableCurrent, r.Namespace, r.WorkflowID), []byte(r.RunID), nil)
	}
	return buf, nil
}

// checkEvents rejects events whose ids are not positive and consecutive:
// History relies on batches being keyed by their first id and gap-free.
// (That the first id continues the stored history is the caller's
// contract; checking it would cost a read on every write.)
func checkEvents(events []*historypb.HistoryEvent) error {
	for i, e := range events {
		if e == nil {
			return errors.New("nil history event")
		}
		if i == 0 && e.GetEventId() < 1 {
			return fmt.Errorf("event id %d is not positive", e.GetEventId())
		}
		if i > 0 && e.GetEventId() != events[i-1].GetEventId()+1 {
			return fmt.Errorf("event id %d follows %d", e.GetEventId(), events[i-1].GetEventId())
		}
	}
	return nil
}

// syncCommit waits for the WAL fsync that covers its batch.
type syncCommit struct {
	once  sync.Once
	batch *pebble.Batch
	s     *Store
	err   error
}

// Wait may be called any number of times; the batch is released after the
// first call (Pebble forbids closing it before SyncWait).
func (c *syncCommit) Wait() error {
	c.once.Do(func() {
		if err := c.batch.SyncWait(); err != nil {
			c.err = fmt.Errorf("pebblestore: sync: %w", err)
			c.s.markBroken(c.err)
		}
		c.batch.Close()
		c.batch = nil
	})
	return c.err
}

// doneCommit is a commit with nothing left to wait for.
type doneCommit struct{}

func (doneCommit) Wait() error { return nil }
