package gosdk

import (
	"testing"
	"time"

	batchpb "go.temporal.io/api/batch/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/proto"
)

// buildWF collects "add" signals until "done" and returns them.
func buildWF(ctx workflow.Context) ([]string, error) {
	var got []string
	add := workflow.GetSignalChannel(ctx, "add")
	done := workflow.GetSignalChannel(ctx, "done")
	for finished := false; !finished; {
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(add, func(c workflow.ReceiveChannel, _ bool) {
			var s string
			c.Receive(ctx, &s)
			got = append(got, s)
		})
		sel.AddReceive(done, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, nil)
			finished = true
		})
		sel.Select(ctx)
	}
	return got, nil
}

// TestResetByBuildID: a batch reset with ResetOptions.BuildId resets each
// workflow to just before the first workflow task a worker of that build
// completed, as Temporal's batcher does: the SDK stamps its build id on
// every WorkflowTaskCompleted, the run's auto reset points keep the first
// one per build, and the reset fails that task (cause RESET_WORKFLOW) in a
// new run that keeps the history before it and reapplies the signals
// after it. The new run then goes on with the workers of the other build.
// A build id with no reset point fails that execution (Temporal: "Can't
// find reset point").
func TestResetByBuildID(t *testing.T) {
	e := newEnv(t)
	svc := e.c.WorkflowService()
	startWorker := func(build string) worker.Worker {
		w := worker.New(e.c, e.tq, worker.Options{BuildID: build})
		w.RegisterWorkflowWithOptions(buildWF, workflow.RegisterOptions{Name: "BuildWF"})
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		return w
	}
	signal := func(id, s string) {
		t.Helper()
		if err := e.c.SignalWorkflow(e.ctx(), id, "", "add", s); err != nil {
			t.Fatal(err)
		}
	}
	// waitCompleted waits until n workflow tasks completed in the run.
	waitCompleted := func(id, runID string, n int) []*historypb.HistoryEvent {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			h := e.history(id, runID)
			if count(h, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) >= n {
				return h
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d workflow tasks did not complete: %v", id, n, types(h))
			}
		}
	}

	w1 := startWorker("build-1")
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("build"), "BuildWF")
	if err != nil {
		t.Fatal(err)
	}
	id := run.GetID()
	waitCompleted(id, run.GetRunID(), 1)
	signal(id, "a")
	waitCompleted(id, run.GetRunID(), 2)
	w1.Stop()
	w2 := startWorker("build-2")
	defer w2.Stop()
	signal(id, "b")
	waitCompleted(id, run.GetRunID(), 3)
	signal(id, "c")
	base := waitCompleted(id, run.GetRunID(), 4)

	// The auto reset points: the first task each build completed.
	var firstOf = map[string]int64{}
	for _, ev := range base {
		if a := ev.GetWorkflowTaskCompletedEventAttributes(); a != nil {
			b := a.GetWorkerVersion().GetBuildId()
			if _, ok := firstOf[b]; !ok {
				firstOf[b] = ev.EventId
			}
		}
	}
	if len(firstOf) != 2 || firstOf["build-1"] == 0 || firstOf["build-2"] == 0 {
		t.Fatalf("build ids on WorkflowTaskCompleted: %v", firstOf)
	}
	desc, err := e.c.DescribeWorkflowExecution(e.ctx(), id, "")
	if err != nil {
		t.Fatal(err)
	}
	points := desc.WorkflowExecutionInfo.GetAutoResetPoints().GetPoints()
	if len(points) != 2 || points[1].BuildId != "build-2" || points[1].FirstWorkflowTaskCompletedId != firstOf["build-2"] || !points[1].Resettable {
		t.Fatalf("auto reset points = %v; want build-2 at event %d", points, firstOf["build-2"])
	}

	point := firstOf["build-2"]
	if _, err := svc.StartBatchOperation(e.ctx(), &workflowservice.StartBatchOperationRequest{
		Namespace: "default", JobId: "reset-build-2", Reason: "bad build",
		Executions: []*commonpb.WorkflowExecution{{WorkflowId: id}},
		Operation: &workflowservice.StartBatchOperationRequest_ResetOperation{ResetOperation: &batchpb.BatchOperationReset{
			Identity: "ops", Options: &commonpb.ResetOptions{Target: &commonpb.ResetOptions_BuildId{BuildId: "build-2"}},
		}},
	}); err != nil {
		t.Fatal(err)
	}
	d := e.waitBatch("reset-build-2", "completion", batchDone)
	if d.State != enumspb.BATCH_OPERATION_STATE_COMPLETED || d.CompleteOperationCount != 1 || d.FailureOperationCount != 0 {
		t.Fatalf("reset job: %v", d)
	}

	cur, err := e.c.DescribeWorkflowExecution(e.ctx(), id, "")
	if err != nil {
		t.Fatal(err)
	}
	newRun := cur.WorkflowExecutionInfo.Execution.RunId
	if newRun == run.GetRunID() {
		t.Fatal("no new run after the reset")
	}
	if s := e.status(&commonpb.WorkflowExecution{WorkflowId: id, RunId: run.GetRunID()}); s != enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED {
		t.Fatalf("base run status %v, want TERMINATED", s)
	}
	h := e.history(id, newRun)
	// The new run keeps the base history up to the build's first task ...
	for i := int64(1); i < point; i++ {
		if !proto.Equal(h[i-1], base[i-1]) {
			t.Fatalf("event %d differs from the base run:\n%v\n%v", i, h[i-1], base[i-1])
		}
	}
	// ... fails that task for the reset ...
	f := h[point-1].GetWorkflowTaskFailedEventAttributes()
	if f == nil || f.Cause != enumspb.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW || f.BaseRunId != run.GetRunID() || f.NewRunId != newRun {
		t.Fatalf("event %d of the new run = %v; want WorkflowTaskFailed RESET_WORKFLOW", point, h[point-1])
	}
	// ... and reapplies the signal that came after it ("b" came before).
	var reapplied []string
	for _, ev := range h[point:] {
		if a := ev.GetWorkflowExecutionSignaledEventAttributes(); a != nil {
			reapplied = append(reapplied, string(a.Input.Payloads[0].Data))
		}
	}
	if len(reapplied) != 1 || reapplied[0] != `"c"` {
		t.Fatalf("signals after the reset point = %v, want [\"c\"]", reapplied)
	}
	// The new run goes on (with build-2's worker) and sees every signal once.
	if err := e.c.SignalWorkflow(e.ctx(), id, "", "done", nil); err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := e.c.GetWorkflow(e.ctx(), id, "").Get(e.ctx(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0] != "a" || got[1] != "b" || got[2] != "c" {
		t.Fatalf("result after reset = %v, want [a b c]", got)
	}
	requireWellFormed(t, e.history(id, newRun))

	// A build id the workflow never ran on: that execution fails.
	if _, err := svc.StartBatchOperation(e.ctx(), &workflowservice.StartBatchOperationRequest{
		Namespace: "default", JobId: "reset-build-x", Reason: "no such build",
		Executions: []*commonpb.WorkflowExecution{{WorkflowId: id}},
		Operation: &workflowservice.StartBatchOperationRequest_ResetOperation{ResetOperation: &batchpb.BatchOperationReset{
			Options: &commonpb.ResetOptions{Target: &commonpb.ResetOptions_BuildId{BuildId: "build-x"}},
		}},
	}); err != nil {
		t.Fatal(err)
	}
	d = e.waitBatch("reset-build-x", "completion", batchDone)
	if d.CompleteOperationCount != 0 || d.FailureOperationCount != 1 {
		t.Fatalf("reset to an unknown build: %v; want 1 failure", d)
	}
}
