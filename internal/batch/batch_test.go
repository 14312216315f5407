package batch

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	batchpb "go.temporal.io/api/batch/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundial-io/sundial/internal/engine"
	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/store/pebblestore"
)

type rig struct {
	t   *testing.T
	dir string
	st  *pebblestore.Store
	eng *engine.Engine
	b   *Batcher
}

func (r *rig) open() {
	r.t.Helper()
	var err error
	if r.st, err = pebblestore.Open(r.dir, pebblestore.Options{}); err != nil {
		r.t.Fatal(err)
	}
	if r.eng, err = engine.New(r.st, engine.Options{}); err != nil {
		r.t.Fatal(err)
	}
	if r.b, err = New(r.eng, r.st, nil, Options{MaxOperationsPerSecond: 1000}); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) close() {
	r.b.Close()
	r.eng.Close()
	if err := r.st.Close(); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) wait(job string) *workflowservice.DescribeBatchOperationResponse {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := r.b.Describe(context.Background(), engine.DefaultNamespace, job)
		if err != nil {
			r.t.Fatal(err)
		}
		if d.State != enumspb.BATCH_OPERATION_STATE_RUNNING {
			return d
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("job %s did not finish: %v", job, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRepeatedActionsAreIdempotent rewinds a finished job's stored
// progress to the start, as if the server had crashed after acting on
// every execution but before recording any of it, and restarts: the job
// acts on every execution again, and no workflow is signaled twice, a
// second terminate counts as done, and the counts come out right.
func TestRepeatedActionsAreIdempotent(t *testing.T) {
	ops := map[string]*workflowservice.StartBatchOperationRequest{
		"signal":    {Operation: &workflowservice.StartBatchOperationRequest_SignalOperation{SignalOperation: &batchpb.BatchOperationSignal{Signal: "s"}}},
		"terminate": {Operation: &workflowservice.StartBatchOperationRequest_TerminationOperation{TerminationOperation: &batchpb.BatchOperationTermination{}}},
		"cancel":    {Operation: &workflowservice.StartBatchOperationRequest_CancellationOperation{CancellationOperation: &batchpb.BatchOperationCancellation{}}},
	}
	for name, tmpl := range ops {
		t.Run(name, func(t *testing.T) {
			r := &rig{t: t, dir: t.TempDir()}
			r.open()
			ctx := context.Background()
			var runs []*commonpb.WorkflowExecution
			for i := 0; i < 4; i++ {
				res, err := r.eng.StartWorkflow(ctx, &engine.StartParams{
					Namespace: engine.DefaultNamespace, WorkflowID: "wf-" + string(rune('a'+i)), WorkflowType: &commonpb.WorkflowType{Name: "T"},
					TaskQueue: "tq", RequestID: "req-" + string(rune('a'+i)),
				})
				if err != nil {
					t.Fatal(err)
				}
				runs = append(runs, &commonpb.WorkflowExecution{WorkflowId: "wf-" + string(rune('a'+i)), RunId: res.RunID})
			}
			if err := r.b.Start(ctx, &workflowservice.StartBatchOperationRequest{
				Namespace: engine.DefaultNamespace, JobId: "j", Reason: "r", VisibilityQuery: "WorkflowType='T'", Operation: tmpl.Operation,
			}); err != nil {
				t.Fatal(err)
			}
			if d := r.wait("j"); d.CompleteOperationCount != 4 {
				t.Fatalf("first pass: %v", d)
			}
			r.close()

			// Rewind the stored job.
			st, err := pebblestore.Open(r.dir, pebblestore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var rec *store.BatchJobRecord
			_ = st.BatchJobs(ctx, "", func(x *store.BatchJobRecord) error { rec = x; return nil })
			js, _, err := unmarshalState(rec.State)
			if err != nil {
				t.Fatal(err)
			}
			js.State, js.CloseTime, js.Complete, js.Failure, js.Cursor, js.Total = int32(enumspb.BATCH_OPERATION_STATE_RUNNING), time.Time{}, 0, 0, nil, 4
			rec.State, _ = json.Marshal(js)
			c, err := st.Apply(&store.Batch{BatchJobs: []*store.BatchJobRecord{rec}})
			if err == nil {
				err = c.Wait()
			}
			if err != nil {
				t.Fatal(err)
			}
			st.Close()

			r.open()
			defer r.close()
			// Signal and cancel leave the runs open, so the query finds
			// them all again; terminated runs no longer match a running
			// query, so the resumed job finds nothing left.
			want := int64(4)
			if name == "terminate" {
				want = 0
			}
			if d := r.wait("j"); d.State != enumspb.BATCH_OPERATION_STATE_COMPLETED || d.CompleteOperationCount != want || d.FailureOperationCount != 0 {
				t.Fatalf("after rewind: %v; want %d complete", d, want)
			}
			for _, ex := range runs {
				h, err := r.eng.History(ctx, &workflowservice.GetWorkflowExecutionHistoryRequest{Namespace: engine.DefaultNamespace, Execution: ex})
				if err != nil {
					t.Fatal(err)
				}
				n := map[enumspb.EventType]int{}
				for _, ev := range h.History.Events {
					n[ev.EventType]++
				}
				if n[enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED] > 1 || n[enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED] > 1 || n[enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED] > 1 {
					t.Fatalf("%s acted on twice: %v", ex.WorkflowId, n)
				}
			}
		})
	}
}

// TestRetention: a finished job stays for its namespace's retention, then
// is deleted from memory and the store; a recent one stays.
func TestRetention(t *testing.T) {
	r := &rig{t: t, dir: t.TempDir()}
	r.open()
	ctx := context.Background()
	n, err := r.eng.DescribeNamespace(engine.DefaultNamespace, "")
	if err != nil {
		t.Fatal(err)
	}
	ret := n.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration()
	if ret <= 0 {
		t.Fatalf("default namespace has no retention: %v", n)
	}
	r.b.opts.MaxConcurrentPerNamespace = 2
	for _, id := range []string{"old", "recent"} {
		if err := r.b.Start(ctx, &workflowservice.StartBatchOperationRequest{
			Namespace: engine.DefaultNamespace, JobId: id, Reason: "r", Executions: []*commonpb.WorkflowExecution{{WorkflowId: "none"}},
			Operation: &workflowservice.StartBatchOperationRequest_TerminationOperation{TerminationOperation: &batchpb.BatchOperationTermination{}},
		}); err != nil {
			t.Fatal(err)
		}
		r.wait(id)
	}
	if n, err := r.b.PurgeExpired(ctx); err != nil || n != 0 {
		t.Fatalf("PurgeExpired = %d, %v; want nothing expired yet", n, err)
	}
	old, _ := r.b.get(engine.DefaultNamespace, "old")
	old.mu.Lock()
	old.st.CloseTime = r.eng.Now().Add(-ret - time.Minute)
	old.mu.Unlock()
	if n, err := r.b.PurgeExpired(ctx); err != nil || n != 1 {
		t.Fatalf("PurgeExpired = %d, %v; want 1", n, err)
	}
	r.close()
	r.open()
	defer r.close()
	if _, err := r.b.Describe(ctx, engine.DefaultNamespace, "old"); err == nil {
		t.Fatal("expired job still there after a restart")
	}
	if d, err := r.b.Describe(ctx, engine.DefaultNamespace, "recent"); err != nil || d.State != enumspb.BATCH_OPERATION_STATE_COMPLETED {
		t.Fatalf("recent job: %v, %v", d, err)
	}
}

// TestRate: a job acts at most at its requested rate, and never faster
// than the server's limit.
func TestRate(t *testing.T) {
	r := &rig{t: t, dir: t.TempDir()}
	r.open()
	defer r.close()
	ctx := context.Background()
	r.b.opts.MaxOperationsPerSecond = 20
	list := make([]*commonpb.WorkflowExecution, 6)
	for i := range list {
		list[i] = &commonpb.WorkflowExecution{WorkflowId: "missing-" + string(rune('a'+i))}
	}
	for _, c := range []struct {
		id   string
		rps  float32
		min  time.Duration // 5 waits after the first action
		want float64
	}{
		{"asked-5", 5, 5 * 200 * time.Millisecond, 5},
		{"asked-1000", 1000, 5 * 50 * time.Millisecond, 20},
	} {
		began := time.Now()
		if err := r.b.Start(ctx, &workflowservice.StartBatchOperationRequest{
			Namespace: engine.DefaultNamespace, JobId: c.id, Reason: "r", Executions: list, MaxOperationsPerSecond: c.rps,
			Operation: &workflowservice.StartBatchOperationRequest_DeletionOperation{DeletionOperation: &batchpb.BatchOperationDeletion{}},
		}); err != nil {
			t.Fatal(err)
		}
		j, _ := r.b.get(engine.DefaultNamespace, c.id)
		if got := r.b.rate(j); got != c.want {
			t.Fatalf("%s: rate %v, want %v", c.id, got, c.want)
		}
		d := r.wait(c.id)
		if took := time.Since(began); took < c.min-20*time.Millisecond || d.CompleteOperationCount != 6 {
			t.Fatalf("%s: 6 actions took %v (want >= %v): %v", c.id, took, c.min, d)
		}
	}
}
