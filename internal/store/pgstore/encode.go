package pgstore

import (
	"errors"
	"fmt"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/operatorservice/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sundial-io/sundial/internal/store"
)

// encoded is a store.Batch validated and turned into rows, so Apply can
// return before the writer runs and the caller may reuse its batch.
type encoded struct {
	namespaces  []kv // name -> DescribeNamespaceResponse
	nsDeletes   [][]byte
	searchAttrs []kv // namespace -> registry
	runs        []runRow
	deletes     []runDel
	// keyed holds the batch's writes of keyed tables (schedules, batch
	// jobs, endpoints, records, ...): upserts first, then deletes.
	keyed []keyedOp
	// fence is the batch's store.Fence (nil: unfenced), checked by the
	// writer in the group's transaction (fence.go).
	fence *store.Fence
	// expectNS and expectSA are the batch's expectations (nil: an
	// unconditional batch), checked like the fence (conditional.go).
	expectNS  []store.NamespaceExpect
	expectSA  []store.SearchAttributesExpect
	expectRec []store.RecordExpect
}

type kv struct{ k, v []byte }

// runRow is one RunWrite.
type runRow struct {
	ns, runID, wfID, record []byte
	// history batch, when events were appended
	firstID, lastID int64
	events          []byte
	// current pointer, when SetCurrent
	workflowID []byte
	// visibility row, unless an open run's row is known to be stored
	vis *visRow
	due time.Time // zero: no due entry
}

type visRow struct {
	listKey   []byte
	status    int16
	wfType    []byte
	taskQueue []byte
	summary   []byte // closed runs only
}

// runDel is one RunDelete.
type runDel struct {
	ns, runID  []byte
	workflowID []byte // set when the current pointer goes too
}

func (e *encoded) empty() bool {
	return len(e.namespaces)+len(e.nsDeletes)+len(e.searchAttrs)+len(e.runs)+len(e.deletes)+len(e.keyed) == 0
}

// encode validates b whole (a bad part fails the whole batch before
// anything is queued) and copies it into rows.
func encode(b *store.Batch) (*encoded, error) {
	e := &encoded{}
	if f := b.Fence; f != nil {
		if f.Shard < 0 || f.Node == "" || f.Epoch <= 0 {
			return nil, fmt.Errorf("pgstore: invalid fence (shard %d, node %q, epoch %d)", f.Shard, f.Node, f.Epoch)
		}
		fc := *f
		e.fence = &fc
	}
	if b.Conditional() {
		if err := validateExpectations(b); err != nil {
			return nil, err
		}
		e.expectNS = cloneExpectNS(b.ExpectNamespaces)
		e.expectSA = cloneExpectSA(b.ExpectSearchAttributes)
		e.expectRec = cloneExpectRec(b.ExpectRecords)
	}
	for _, ns := range b.Namespaces {
		name := ns.GetNamespaceInfo().GetName()
		if name == "" {
			return nil, errors.New("pgstore: namespace without a name")
		}
		v, err := proto.Marshal(ns)
		if err != nil {
			return nil, fmt.Errorf("pgstore: marshal namespace %q: %w", name, err)
		}
		e.namespaces = append(e.namespaces, kv{[]byte(name), v})
	}
	for _, name := range b.DeleteNamespaces {
		if name == "" {
			return nil, errors.New("pgstore: namespace delete without a name")
		}
		e.nsDeletes = append(e.nsDeletes, []byte(name))
	}
	for _, r := range b.SearchAttributes {
		if r == nil || r.Namespace == "" {
			return nil, errors.New("pgstore: search attribute registry without a namespace")
		}
		v, err := proto.Marshal(&operatorservice.ListSearchAttributesResponse{CustomAttributes: r.Custom})
		if err != nil {
			return nil, fmt.Errorf("pgstore: marshal search attributes of %q: %w", r.Namespace, err)
		}
		e.searchAttrs = append(e.searchAttrs, kv{[]byte(r.Namespace), v})
	}
	for _, w := range b.Runs {
		row, err := encodeRun(w)
		if err != nil {
			return nil, err
		}
		e.runs = append(e.runs, row)
	}
	for _, d := range b.Deletes {
		if d == nil || d.Record == nil || d.Record.Namespace == "" || d.Record.RunID == "" {
			return nil, errors.New("pgstore: run delete without namespace and run id")
		}
		r := d.Record
		del := runDel{ns: []byte(r.Namespace), runID: []byte(r.RunID)}
		if d.ClearCurrent {
			if r.WorkflowID == "" {
				return nil, fmt.Errorf("pgstore: run %q: ClearCurrent without a workflow id", r.RunID)
			}
			del.workflowID = []byte(r.WorkflowID)
		}
		e.deletes = append(e.deletes, del)
	}
	var ups, dels []keyedOp
	add := func(op keyedOp, err error) error {
		if err != nil {
			return err
		}
		if op.del {
			dels = append(dels, op)
		} else {
			ups = append(ups, op)
		}
		return nil
	}
	for _, r := range b.Schedules {
		if r == nil {
			return nil, errors.New("pgstore: nil schedule record")
		}
		if err := add(keyedUpsert(tableSchedules, "schedule record", r.State, r.Namespace, r.ScheduleID)); err != nil {
			return nil, err
		}
	}
	for _, k := range b.ScheduleDeletes {
		if err := add(keyedDelete(tableSchedules, "schedule", k.Namespace, k.ScheduleID)); err != nil {
			return nil, err
		}
	}
	for _, r := range b.BatchJobs {
		if r == nil {
			return nil, errors.New("pgstore: nil batch job record")
		}
		if err := add(keyedUpsert(tableBatchJobs, "batch job record", r.State, r.Namespace, r.JobID)); err != nil {
			return nil, err
		}
	}
	for _, k := range b.BatchJobDeletes {
		if err := add(keyedDelete(tableBatchJobs, "batch job", k.Namespace, k.JobID)); err != nil {
			return nil, err
		}
	}
	for _, r := range b.NexusEndpoints {
		if r == nil {
			return nil, errors.New("pgstore: nil Nexus endpoint record")
		}
		if err := add(keyedUpsert(tableEndpoints, "Nexus endpoint record", r.State, r.ID)); err != nil {
			return nil, err
		}
	}
	for _, id := range b.NexusEndpointDeletes {
		if err := add(keyedDelete(tableEndpoints, "Nexus endpoint", id)); err != nil {
			return nil, err
		}
	}
	records, err := encodeRecords(b)
	if err != nil {
		return nil, err
	}
	for _, op := range records {
		_ = add(op, nil)
	}
	acts, err := encodeActivityExecutions(b.ActivityExecutions, b.ActivityExecutionDeletes)
	if err != nil {
		return nil, err
	}
	deps, err := encodeWorkerDeployments(b.WorkerDeployments, b.WorkerDeploymentDeletes)
	if err != nil {
		return nil, err
	}
	for _, op := range append(acts, deps...) {
		_ = add(op, nil)
	}
	e.keyed = append(ups, dels...)
	return e, nil
}

// clone copies a value; a nil state is stored as empty (the columns are
// NOT NULL).
func clone(b []byte) []byte { return append([]byte{}, b...) }

// encodeRun turns one RunWrite into its rows: the record, the appended
// history batch, the current pointer and, when the run's index entries may
// have changed, its visibility row.
func encodeRun(w *store.RunWrite) (runRow, error) {
	if w == nil || w.Record == nil || w.Record.Namespace == "" || w.Record.RunID == "" {
		return runRow{}, errors.New("pgstore: run write without namespace and run id")
	}
	r := w.Record
	if w.SetCurrent && r.WorkflowID == "" {
		return runRow{}, fmt.Errorf("pgstore: run %q: SetCurrent without a workflow id", r.RunID)
	}
	if err := checkEvents(w.Events); err != nil {
		return runRow{}, fmt.Errorf("pgstore: run %q: %w", r.RunID, err)
	}
	rec, err := r.Marshal()
	if err != nil {
		return runRow{}, err
	}
	row := runRow{ns: []byte(r.Namespace), runID: []byte(r.RunID), wfID: []byte(r.WorkflowID), record: rec, due: dueOf(w)}
	if len(w.Events) > 0 {
		v, err := proto.Marshal(&historypb.History{Events: w.Events})
		if err != nil {
			return runRow{}, fmt.Errorf("pgstore: run %q: marshal history: %w", r.RunID, err)
		}
		row.firstID, row.lastID, row.events = w.Events[0].GetEventId(), w.Events[len(w.Events)-1].GetEventId(), v
	}
	if w.SetCurrent {
		row.workflowID = []byte(r.WorkflowID)
	}
	// An open run already indexed keeps its row: what the row holds never
	// changes while the run is open, and skipping it saves an index update
	// on every workflow task.
	running := store.Open(r.Info.GetStatus())
	if !running || !w.OpenIndexed {
		vis, err := encodeVis(r, running)
		if err != nil {
			return runRow{}, err
		}
		row.vis = vis
	}
	return row, nil
}

// checkEvents rejects events whose ids are not positive and consecutive:
// History relies on batches being keyed by their first id and gap-free.
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
