package pgstore

import (
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
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
	schedules   []kv2 // (namespace, schedule id) -> state
	schedDels   [][2][]byte
	jobs        []kv2 // (namespace, job id) -> state
	jobDels     [][2][]byte
	endpoints   []kv // id -> state
	endpointDel [][]byte
}

type kv struct{ k, v []byte }
type kv2 struct{ a, b, v []byte }

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
	return len(e.namespaces)+len(e.nsDeletes)+len(e.searchAttrs)+len(e.runs)+len(e.deletes)+
		len(e.schedules)+len(e.schedDels)+len(e.jobs)+len(e.jobDels)+len(e.endpoints)+len(e.endpointDel) == 0
}

// encode validates b whole (a bad part fails the whole batch before
// anything is queued) and copies it into rows.
func encode(b *store.Batch) (*encoded, error) {
	e := &encoded{}
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
	for _, r := range b.Schedules {
		if r == nil || r.Namespace == "" || r.ScheduleID == "" {
			return nil, errors.New("pgstore: schedule record without a namespace or id")
		}
		e.schedules = append(e.schedules, kv2{[]byte(r.Namespace), []byte(r.ScheduleID), clone(r.State)})
	}
	for _, k := range b.ScheduleDeletes {
		if k.Namespace == "" || k.ScheduleID == "" {
			return nil, errors.New("pgstore: schedule delete without a namespace or id")
		}
		e.schedDels = append(e.schedDels, [2][]byte{[]byte(k.Namespace), []byte(k.ScheduleID)})
	}
	for _, r := range b.BatchJobs {
		if r == nil || r.Namespace == "" || r.JobID == "" {
			return nil, errors.New("pgstore: batch job record without a namespace or id")
		}
		e.jobs = append(e.jobs, kv2{[]byte(r.Namespace), []byte(r.JobID), clone(r.State)})
	}
	for _, k := range b.BatchJobDeletes {
		if k.Namespace == "" || k.JobID == "" {
			return nil, errors.New("pgstore: batch job delete without a namespace or id")
		}
		e.jobDels = append(e.jobDels, [2][]byte{[]byte(k.Namespace), []byte(k.JobID)})
	}
	for _, r := range b.NexusEndpoints {
		if r == nil || r.ID == "" {
			return nil, errors.New("pgstore: Nexus endpoint record without an id")
		}
		e.endpoints = append(e.endpoints, kv{[]byte(r.ID), clone(r.State)})
	}
	for _, id := range b.NexusEndpointDeletes {
		if id == "" {
			return nil, errors.New("pgstore: Nexus endpoint delete without an id")
		}
		e.endpointDel = append(e.endpointDel, []byte(id))
	}
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
	running := r.Info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
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
