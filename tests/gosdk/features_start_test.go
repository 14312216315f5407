package gosdk

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// QuickWorkflow completes (or fails, on "fail") at once.
func QuickWorkflow(ctx workflow.Context, mode string) (string, error) {
	if mode == "fail" {
		return "", temporal.NewNonRetryableApplicationError("failed on purpose", "Purpose", nil)
	}
	return "quick:" + mode, nil
}

// WaitSignalsWorkflow collects n "msg" signals and returns them.
func WaitSignalsWorkflow(ctx workflow.Context, n int) ([]string, error) {
	var got []string
	ch := workflow.GetSignalChannel(ctx, "msg")
	for len(got) < n {
		var s string
		ch.Receive(ctx, &s)
		got = append(got, s)
	}
	return got, nil
}

func startEnv(t *testing.T) *env {
	e := newEnv(t)
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(QuickWorkflow)
		w.RegisterWorkflow(WaitSignalsWorkflow)
		w.RegisterWorkflow(MessagesWorkflow)
		w.RegisterActivity(AddOne)
	})
	return e
}

func (e *env) fixedOpts(id string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{ID: id, TaskQueue: e.tq, WorkflowExecutionErrorWhenAlreadyStarted: true}
}

func requireAlreadyStarted(t *testing.T, err error) {
	t.Helper()
	var as *serviceerror.WorkflowExecutionAlreadyStarted
	if !errors.As(err, &as) {
		t.Fatalf("want WorkflowExecutionAlreadyStarted, got %T %v", err, err)
	}
}

func TestFeatureIDReusePolicy(t *testing.T) {
	t.Parallel()
	e := startEnv(t)
	t.Run("RejectDuplicate", func(t *testing.T) {
		id := "reject-" + uuid.NewString()[:8]
		run, err := e.c.ExecuteWorkflow(e.ctx(), e.fixedOpts(id), QuickWorkflow, "a")
		if err != nil {
			t.Fatal(err)
		}
		if err := run.Get(e.ctx(), nil); err != nil {
			t.Fatal(err)
		}
		o := e.fixedOpts(id)
		o.WorkflowIDReusePolicy = enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
		_, err = e.c.ExecuteWorkflow(e.ctx(), o, QuickWorkflow, "b")
		requireAlreadyStarted(t, err)
		// The default policy (AllowDuplicate) starts a new run.
		run2, err := e.c.ExecuteWorkflow(e.ctx(), e.fixedOpts(id), QuickWorkflow, "c")
		if err != nil {
			t.Fatal(err)
		}
		var out string
		if err := run2.Get(e.ctx(), &out); err != nil || out != "quick:c" || run2.GetRunID() == run.GetRunID() {
			t.Fatalf("second run %s result %q err %v", run2.GetRunID(), out, err)
		}
	})
	t.Run("AllowDuplicateFailedOnly", func(t *testing.T) {
		o := func(id string) client.StartWorkflowOptions {
			o := e.fixedOpts(id)
			o.WorkflowIDReusePolicy = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY
			return o
		}
		okID, failID := "afo-ok-"+uuid.NewString()[:8], "afo-fail-"+uuid.NewString()[:8]
		run, err := e.c.ExecuteWorkflow(e.ctx(), o(okID), QuickWorkflow, "ok")
		if err != nil {
			t.Fatal(err)
		}
		if err := run.Get(e.ctx(), nil); err != nil {
			t.Fatal(err)
		}
		_, err = e.c.ExecuteWorkflow(e.ctx(), o(okID), QuickWorkflow, "again")
		requireAlreadyStarted(t, err)

		run, err = e.c.ExecuteWorkflow(e.ctx(), o(failID), QuickWorkflow, "fail")
		if err != nil {
			t.Fatal(err)
		}
		if err := run.Get(e.ctx(), nil); err == nil {
			t.Fatal("workflow did not fail")
		}
		run2, err := e.c.ExecuteWorkflow(e.ctx(), o(failID), QuickWorkflow, "retry")
		if err != nil {
			t.Fatalf("restart after failure rejected: %v", err)
		}
		var out string
		if err := run2.Get(e.ctx(), &out); err != nil || out != "quick:retry" {
			t.Fatalf("result %q err %v", out, err)
		}
	})
}

func TestFeatureIDConflictPolicy(t *testing.T) {
	t.Parallel()
	e := startEnv(t)
	id := "conflict-" + uuid.NewString()[:8]
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.fixedOpts(id), WaitSignalsWorkflow, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Default (FAIL): a running workflow with the id rejects the start.
	_, err = e.c.ExecuteWorkflow(e.ctx(), e.fixedOpts(id), WaitSignalsWorkflow, 1)
	requireAlreadyStarted(t, err)
	// UseExisting returns the running run.
	o := e.fixedOpts(id)
	o.WorkflowIDConflictPolicy = enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
	same, err := e.c.ExecuteWorkflow(e.ctx(), o, WaitSignalsWorkflow, 1)
	if err != nil {
		t.Fatal(err)
	}
	if same.GetRunID() != run.GetRunID() {
		t.Fatalf("UseExisting returned run %s, want %s", same.GetRunID(), run.GetRunID())
	}
	// TerminateExisting terminates it and starts a new run.
	o.WorkflowIDConflictPolicy = enumspb.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING
	fresh, err := e.c.ExecuteWorkflow(e.ctx(), o, WaitSignalsWorkflow, 1)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.GetRunID() == run.GetRunID() {
		t.Fatal("TerminateExisting returned the old run")
	}
	var te *temporal.TerminatedError
	if err := e.c.GetWorkflow(e.ctx(), id, run.GetRunID()).Get(e.ctx(), nil); !errors.As(err, &te) {
		t.Fatalf("old run: want TerminatedError, got %v", err)
	}
	old := e.history(id, run.GetRunID())
	requireWellFormed(t, old)
	requireClosedBy(t, old, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED)
	if err := e.c.SignalWorkflow(e.ctx(), id, "", "msg", "to-new"); err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := fresh.Get(e.ctx(), &got); err != nil || len(got) != 1 || got[0] != "to-new" {
		t.Fatalf("new run result %v err %v", got, err)
	}
}

func TestFeatureStartRequestIDIdempotent(t *testing.T) {
	t.Parallel()
	e := startEnv(t)
	svc := e.c.WorkflowService()
	id := "reqid-" + uuid.NewString()[:8]
	input, err := converter.GetDefaultDataConverter().ToPayloads(1)
	if err != nil {
		t.Fatal(err)
	}
	req := func(reqID string) *workflowservice.StartWorkflowExecutionRequest {
		return &workflowservice.StartWorkflowExecutionRequest{
			Namespace: "default", WorkflowId: id, WorkflowType: &commonpb.WorkflowType{Name: "WaitSignalsWorkflow"}, Input: input,
			TaskQueue: &taskqueuepb.TaskQueue{Name: e.tq}, Identity: "test", RequestId: reqID,
		}
	}
	r1, err := svc.StartWorkflowExecution(e.ctx(), req("req-1"))
	if err != nil {
		t.Fatal(err)
	}
	if !r1.Started {
		t.Fatal("first start reports Started=false")
	}
	r2, err := svc.StartWorkflowExecution(e.ctx(), req("req-1"))
	if err != nil {
		t.Fatalf("retried start with the same request id: %v", err)
	}
	if r2.RunId != r1.RunId {
		t.Fatalf("same request id gave run %s, want %s", r2.RunId, r1.RunId)
	}
	_, err = svc.StartWorkflowExecution(e.ctx(), req("req-2"))
	requireAlreadyStarted(t, err)
	evs := e.history(id, r1.RunId)
	if count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED) != 1 {
		t.Fatalf("history %v", types(evs))
	}
}

func TestFeatureSignalWithStart(t *testing.T) {
	t.Parallel()
	e := startEnv(t)
	id := "sws-" + uuid.NewString()[:8]
	o := client.StartWorkflowOptions{ID: id, TaskQueue: e.tq}
	run, err := e.c.SignalWithStartWorkflow(e.ctx(), id, "msg", "first", o, WaitSignalsWorkflow, 2)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	run2, err := e.c.SignalWithStartWorkflow(e.ctx(), id, "msg", "second", o, WaitSignalsWorkflow, 2)
	if err != nil {
		t.Fatal(err)
	}
	if run2.GetRunID() != run.GetRunID() {
		t.Fatalf("signal-with-start on a running workflow started run %s, want %s", run2.GetRunID(), run.GetRunID())
	}
	var got []string
	if err := run.Get(e.ctx(), &got); err != nil || len(got) != 2 || got[0] != "first" || got[1] != "second" {
		t.Fatalf("result %v err %v", got, err)
	}
	evs := e.history(id, run.GetRunID())
	requireWellFormed(t, evs)
	requireNoEventsInsideWFT(t, evs)
	if evs[1].EventType != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED || evs[2].EventType != enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED {
		t.Fatalf("signal-with-start history should begin Started, Signaled, WorkflowTaskScheduled: %v", types(evs))
	}
	if count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) != 2 || count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED) != 1 {
		t.Fatalf("history %v", types(evs))
	}
	requireClosedBy(t, evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
}

func TestFeatureUpdateWithStart(t *testing.T) {
	t.Parallel()
	e := startEnv(t)
	id := "uws-" + uuid.NewString()[:8]
	var runIDs []string
	for i, n := range []int{3, 4} {
		op := e.c.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
			ID: id, TaskQueue: e.tq, WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		}, MessagesWorkflow)
		h, err := e.c.UpdateWithStartWorkflow(e.ctx(), client.UpdateWithStartWorkflowOptions{
			StartWorkflowOperation: op,
			UpdateOptions: client.UpdateWorkflowOptions{
				UpdateName: "add", Args: []interface{}{n}, WaitForStage: client.WorkflowUpdateStageCompleted,
			},
		})
		if err != nil {
			t.Fatalf("update-with-start %d: %v", i, err)
		}
		var v int
		if err := h.Get(e.ctx(), &v); err != nil {
			t.Fatal(err)
		}
		if want := []int{3, 7}[i]; v != want {
			t.Fatalf("update %d returned %d, want %d", i, v, want)
		}
		run, err := op.Get(e.ctx())
		if err != nil {
			t.Fatal(err)
		}
		runIDs = append(runIDs, run.GetRunID())
	}
	if runIDs[0] != runIDs[1] {
		t.Fatalf("UseExisting update-with-start used runs %v", runIDs)
	}
	if err := e.c.SignalWorkflow(e.ctx(), id, "", "finish", nil); err != nil {
		t.Fatal(err)
	}
	var total int
	if err := e.c.GetWorkflow(e.ctx(), id, runIDs[0]).Get(e.ctx(), &total); err != nil || total != 7 {
		t.Fatalf("result %d err %v", total, err)
	}
	evs := e.history(id, runIDs[0])
	requireWellFormed(t, evs)
	requireNoEventsInsideWFT(t, evs)
	acc, done := updateEvents(evs)
	if len(acc) != 2 || len(done) != 2 || count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED) != 1 {
		t.Fatalf("history %v", types(evs))
	}
	// Update-with-start on a closed workflow id starts a new run.
	op := e.c.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID: id, TaskQueue: e.tq, WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, MessagesWorkflow)
	h, err := e.c.UpdateWithStartWorkflow(e.ctx(), client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: op,
		UpdateOptions:          client.UpdateWorkflowOptions{UpdateName: "add", Args: []interface{}{1}, WaitForStage: client.WorkflowUpdateStageCompleted},
	})
	if err != nil {
		t.Fatal(err)
	}
	var v int
	if err := h.Get(e.ctx(), &v); err != nil || v != 1 {
		t.Fatalf("update on new run %d err %v", v, err)
	}
	run, err := op.Get(e.ctx())
	if err != nil || run.GetRunID() == runIDs[0] {
		t.Fatalf("new run %v err %v", run, err)
	}
}
