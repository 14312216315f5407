package gosdk

import (
	"context"
	"errors"
	"math/rand"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// MarkersResult is what MarkersWorkflow reports.
type MarkersResult struct {
	Random  int
	Version workflow.Version
}

var markerKeyword = temporal.NewSearchAttributeKeyKeyword("CustomKeywordField")
var markerInt = temporal.NewSearchAttributeKeyInt64("CustomIntField")

// MarkersWorkflow records a side effect and a version marker, upserts search
// attributes and memo, then waits for "finish".
func MarkersWorkflow(ctx workflow.Context) (MarkersResult, error) {
	var r MarkersResult
	if err := workflow.SideEffect(ctx, func(workflow.Context) interface{} { return rand.Intn(1 << 30) }).Get(&r.Random); err != nil {
		return r, err
	}
	r.Version = workflow.GetVersion(ctx, "change-1", workflow.DefaultVersion, 2)
	if err := workflow.SetQueryHandler(ctx, "result", func() (MarkersResult, error) { return r, nil }); err != nil {
		return r, err
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, markerKeyword.ValueSet("marked"), markerInt.ValueSet(42)); err != nil {
		return r, err
	}
	if err := workflow.UpsertMemo(ctx, map[string]interface{}{"note": "hello memo", "n": 7}); err != nil {
		return r, err
	}
	workflow.GetSignalChannel(ctx, "finish").Receive(ctx, nil)
	// Update the memo again and remove a key.
	if err := workflow.UpsertMemo(ctx, map[string]interface{}{"note": "second", "n": nil}); err != nil {
		return r, err
	}
	return r, nil
}

func TestFeatureMarkersAndUpserts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(MarkersWorkflow) })
	o := e.opts("markers")
	o.Memo = map[string]interface{}{"initial": "from start"}
	run, err := e.c.ExecuteWorkflow(e.ctx(), o, MarkersWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	dc := converter.GetDefaultDataConverter()
	// Wait until the upserts are in, then describe.
	var d interface{ String() string }
	deadline := time.Now().Add(3 * time.Second)
	for {
		desc, err := e.c.DescribeWorkflowExecution(e.ctx(), run.GetID(), "")
		if err != nil {
			t.Fatal(err)
		}
		info := desc.WorkflowExecutionInfo
		d = info
		if p := info.GetMemo().GetFields()["note"]; p != nil {
			var note string
			var n int
			if err := dc.FromPayload(p, &note); err != nil || note != "hello memo" {
				t.Fatalf("memo note %q %v", note, err)
			}
			if err := dc.FromPayload(info.Memo.Fields["n"], &n); err != nil || n != 7 {
				t.Fatalf("memo n %d %v", n, err)
			}
			var initial string
			if err := dc.FromPayload(info.Memo.Fields["initial"], &initial); err != nil || initial != "from start" {
				t.Fatalf("start memo lost after upsert: %q %v (%v)", initial, err, info.Memo)
			}
			sa := info.GetSearchAttributes().GetIndexedFields()
			var kw string
			if p := sa["CustomKeywordField"]; p == nil || dc.FromPayload(p, &kw) != nil || kw != "marked" {
				t.Fatalf("describe search attributes %v", sa)
			}
			var iv int64
			if p := sa["CustomIntField"]; p == nil || dc.FromPayload(p, &iv) != nil || iv != 42 {
				t.Fatalf("describe search attributes %v", sa)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("memo never appeared: %v", d)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Visibility sees the upserted attribute.
	lr, err := e.c.ListWorkflow(e.ctx(), &listReq{Query: "CustomKeywordField = 'marked' AND CustomIntField = 42"})
	if err != nil || len(lr.Executions) != 1 {
		t.Fatalf("list by upserted attributes: %v %v", lr, err)
	}
	if err := e.c.SignalWorkflow(e.ctx(), run.GetID(), "", "finish", nil); err != nil {
		t.Fatal(err)
	}
	var r MarkersResult
	if err := run.Get(e.ctx(), &r); err != nil {
		t.Fatal(err)
	}
	if r.Version != 2 {
		t.Fatalf("version %d, want 2", r.Version)
	}
	// A query of the closed workflow replays the markers: same values.
	v, err := e.c.QueryWorkflow(e.ctx(), run.GetID(), "", "result")
	if err != nil {
		t.Fatal(err)
	}
	var replayed MarkersResult
	if err := v.Get(&replayed); err != nil || replayed != r {
		t.Fatalf("replayed %v, want %v (%v)", replayed, r, err)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	requireClosedBy(t, evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
	markers := allOf(evs, enumspb.EVENT_TYPE_MARKER_RECORDED)
	if len(markers) != 2 {
		t.Fatalf("%d markers: %v", len(markers), types(evs))
	}
	if n := markers[0].GetMarkerRecordedEventAttributes().MarkerName; n != "SideEffect" {
		t.Fatalf("first marker %q", n)
	}
	if n := markers[1].GetMarkerRecordedEventAttributes().MarkerName; n != "Version" {
		t.Fatalf("second marker %q", n)
	}
	if markers[0].GetMarkerRecordedEventAttributes().WorkflowTaskCompletedEventId == 0 {
		t.Fatal("marker without WorkflowTaskCompletedEventId")
	}
	// GetVersion upserts TemporalChangeVersion; our own upsert is a second one.
	ups := allOf(evs, enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES)
	if len(ups) < 1 {
		t.Fatalf("no UpsertWorkflowSearchAttributes: %v", types(evs))
	}
	found := false
	for _, ev := range ups {
		if _, ok := ev.GetUpsertWorkflowSearchAttributesEventAttributes().SearchAttributes.GetIndexedFields()["CustomKeywordField"]; ok {
			found = true
		}
	}
	if !found {
		t.Fatalf("no upsert event carries CustomKeywordField")
	}
	props := allOf(evs, enumspb.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED)
	if len(props) != 2 {
		t.Fatalf("%d WorkflowPropertiesModified events: %v", len(props), types(evs))
	}
	if _, ok := props[0].GetWorkflowPropertiesModifiedEventAttributes().UpsertedMemo.GetFields()["note"]; !ok {
		t.Fatalf("memo event %v", props[0])
	}
	// After the second upsert the memo lost "n" and has the new note.
	desc, err := e.c.DescribeWorkflowExecution(e.ctx(), run.GetID(), "")
	if err != nil {
		t.Fatal(err)
	}
	var note string
	if f := desc.WorkflowExecutionInfo.Memo.GetFields(); f["n"] != nil || dc.FromPayload(f["note"], &note) != nil || note != "second" {
		t.Fatalf("final memo %v", desc.WorkflowExecutionInfo.Memo)
	}
}

var describeFailCount = make(chan struct{}, 100)

// FailsSlowly always fails (it is retried with a 200ms interval).
func FailsSlowly(ctx context.Context) error {
	describeFailCount <- struct{}{}
	return errors.New("still failing")
}

// DescribedWorkflow has a retrying activity and a blocked child pending.
func DescribedWorkflow(ctx workflow.Context) error {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 200 * time.Millisecond, BackoffCoefficient: 1},
	})
	workflow.ExecuteActivity(actx, FailsSlowly)
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID + "-child"})
	workflow.ExecuteChildWorkflow(cctx, ChildBlock)
	return workflow.Sleep(ctx, time.Hour)
}

func TestFeatureDescribePendingAndTaskQueue(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(DescribedWorkflow)
		w.RegisterWorkflow(ChildBlock)
		w.RegisterActivity(FailsSlowly)
	})
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("describe"), DescribedWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	// Wait for at least two attempts.
	for i := 0; i < 2; i++ {
		select {
		case <-describeFailCount:
		case <-time.After(5 * time.Second):
			t.Fatal("activity did not run")
		}
	}
	time.Sleep(50 * time.Millisecond)
	d, err := e.c.DescribeWorkflowExecution(e.ctx(), run.GetID(), "")
	if err != nil {
		t.Fatal(err)
	}
	if d.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING || d.WorkflowExecutionInfo.Type.GetName() != "DescribedWorkflow" || d.WorkflowExecutionInfo.TaskQueue != e.tq {
		t.Fatalf("info %v", d.WorkflowExecutionInfo)
	}
	if d.ExecutionConfig.GetTaskQueue().GetName() != e.tq {
		t.Fatalf("execution config %v", d.ExecutionConfig)
	}
	if len(d.PendingActivities) != 1 {
		t.Fatalf("pending activities %v", d.PendingActivities)
	}
	pa := d.PendingActivities[0]
	if pa.ActivityType.GetName() != "FailsSlowly" || pa.Attempt < 2 {
		t.Fatalf("pending activity %v (want attempt >= 2)", pa)
	}
	if pa.LastFailure == nil || pa.LastFailure.Message != "still failing" {
		t.Fatalf("pending activity last failure %v", pa.LastFailure)
	}
	if pa.State != enumspb.PENDING_ACTIVITY_STATE_SCHEDULED && pa.State != enumspb.PENDING_ACTIVITY_STATE_STARTED {
		t.Fatalf("pending activity state %v", pa.State)
	}
	if pa.State == enumspb.PENDING_ACTIVITY_STATE_SCHEDULED && pa.NextAttemptScheduleTime == nil {
		t.Fatalf("backing-off activity has no NextAttemptScheduleTime: %v", pa)
	}
	if len(d.PendingChildren) != 1 {
		t.Fatalf("pending children %v", d.PendingChildren)
	}
	pc := d.PendingChildren[0]
	if pc.WorkflowId != run.GetID()+"-child" || pc.WorkflowTypeName != "ChildBlock" || pc.RunId == "" {
		t.Fatalf("pending child %v", pc)
	}
	// Temporal records the default policy (TERMINATE) for an unset one.
	if pc.ParentClosePolicy != enumspb.PARENT_CLOSE_POLICY_TERMINATE {
		t.Errorf("pending child parent close policy %v, want TERMINATE (the default)", pc.ParentClosePolicy)
	}
	for _, typ := range []enumspb.TaskQueueType{enumspb.TASK_QUEUE_TYPE_WORKFLOW, enumspb.TASK_QUEUE_TYPE_ACTIVITY} {
		tq, err := e.c.DescribeTaskQueue(e.ctx(), e.tq, typ)
		if err != nil {
			t.Fatal(err)
		}
		if len(tq.Pollers) == 0 {
			t.Fatalf("%v task queue has no pollers", typ)
		}
		for _, p := range tq.Pollers {
			if p.Identity == "" || p.LastAccessTime == nil {
				t.Fatalf("poller %v", p)
			}
		}
	}
	if err := e.c.TerminateWorkflow(e.ctx(), run.GetID(), "", "done"); err != nil {
		t.Fatal(err)
	}
}

var _ client.Client

type listReq = workflowservice.ListWorkflowExecutionsRequest
