package gosdk

import (
	"testing"
	"time"

	batchpb "go.temporal.io/api/batch/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Batch operations (StartBatchOperation and friends) through the SDK's raw
// WorkflowService client, over workflows that wait forever (no worker is
// needed: terminate, signal and cancel are recorded in history as they
// arrive).

// startIdle starts n workflows of type typ that nobody works on.
func (e *env) startIdle(typ string, n int) []*commonpb.WorkflowExecution {
	e.t.Helper()
	var out []*commonpb.WorkflowExecution
	for i := 0; i < n; i++ {
		run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts(typ), typ)
		if err != nil {
			e.t.Fatalf("start %s: %v", typ, err)
		}
		out = append(out, &commonpb.WorkflowExecution{WorkflowId: run.GetID(), RunId: run.GetRunID()})
	}
	return out
}

func (e *env) describeBatch(job string) *workflowservice.DescribeBatchOperationResponse {
	e.t.Helper()
	d, err := e.c.WorkflowService().DescribeBatchOperation(e.ctx(), &workflowservice.DescribeBatchOperationRequest{Namespace: "default", JobId: job})
	if err != nil {
		e.t.Fatalf("DescribeBatchOperation(%s): %v", job, err)
	}
	return d
}

// waitBatch polls Describe until cond holds (or fails the test after 20 s).
func (e *env) waitBatch(job string, what string, cond func(*workflowservice.DescribeBatchOperationResponse) bool) *workflowservice.DescribeBatchOperationResponse {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		d := e.describeBatch(job)
		if cond(d) {
			return d
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("batch %s: timed out waiting for %s; last %v", job, what, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func batchDone(d *workflowservice.DescribeBatchOperationResponse) bool {
	return d.State != enumspb.BATCH_OPERATION_STATE_RUNNING
}

func (e *env) status(ex *commonpb.WorkflowExecution) enumspb.WorkflowExecutionStatus {
	e.t.Helper()
	d, err := e.c.DescribeWorkflowExecution(e.ctx(), ex.WorkflowId, ex.RunId)
	if err != nil {
		e.t.Fatalf("describe %s: %v", ex.WorkflowId, err)
	}
	return d.WorkflowExecutionInfo.Status
}

func grpcCode(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	return serviceerror.ToStatus(err).Code()
}

func TestBatchTerminateByQuery(t *testing.T) {
	e := newEnv(t)
	defer e.stop()
	targets := e.startIdle("BatchTarget", 3)
	others := e.startIdle("BatchOther", 2)
	svc := e.c.WorkflowService()
	req := &workflowservice.StartBatchOperationRequest{
		Namespace: "default", JobId: "term-1", Reason: "cleanup", VisibilityQuery: "WorkflowType = 'BatchTarget'",
		Operation: &workflowservice.StartBatchOperationRequest_TerminationOperation{TerminationOperation: &batchpb.BatchOperationTermination{Identity: "batch-tester"}},
	}
	if _, err := svc.StartBatchOperation(e.ctx(), req); err != nil {
		t.Fatal(err)
	}
	d := e.waitBatch("term-1", "completion", batchDone)
	if d.State != enumspb.BATCH_OPERATION_STATE_COMPLETED || d.TotalOperationCount != 3 || d.CompleteOperationCount != 3 || d.FailureOperationCount != 0 {
		t.Fatalf("describe = %v; want COMPLETED with 3 of 3 complete", d)
	}
	if d.OperationType != enumspb.BATCH_OPERATION_TYPE_TERMINATE || d.Reason != "cleanup" || d.Identity != "batch-tester" || d.Query != req.VisibilityQuery ||
		d.StartTime == nil || d.CloseTime == nil || d.CloseTime.AsTime().Before(d.StartTime.AsTime()) {
		t.Fatalf("describe = %v", d)
	}
	for _, ex := range targets {
		if s := e.status(ex); s != enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED {
			t.Fatalf("%s: status %v, want TERMINATED", ex.WorkflowId, s)
		}
		h := e.history(ex.WorkflowId, ex.RunId)
		last := h[len(h)-1].GetWorkflowExecutionTerminatedEventAttributes()
		if last == nil || last.Reason != "cleanup" || last.Identity != "batch-tester" || count(h, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED) != 1 {
			t.Fatalf("%s: history %v", ex.WorkflowId, types(h))
		}
	}
	for _, ex := range others {
		if s := e.status(ex); s != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			t.Fatalf("%s (not matched): status %v, want RUNNING", ex.WorkflowId, s)
		}
	}

	list, err := svc.ListBatchOperations(e.ctx(), &workflowservice.ListBatchOperationsRequest{Namespace: "default"})
	if err != nil || len(list.OperationInfo) != 1 {
		t.Fatalf("ListBatchOperations = %v, %v", list, err)
	}
	if in := list.OperationInfo[0]; in.JobId != "term-1" || in.State != enumspb.BATCH_OPERATION_STATE_COMPLETED || in.OperationType != enumspb.BATCH_OPERATION_TYPE_TERMINATE || in.CloseTime == nil {
		t.Fatalf("ListBatchOperations entry = %v", in)
	}

	// The same job id again: AlreadyExists (WorkflowExecutionAlreadyStarted
	// in Temporal, where a job is a workflow).
	_, err = svc.StartBatchOperation(e.ctx(), req)
	if grpcCode(err) != codes.AlreadyExists {
		t.Fatalf("duplicate job id: %v; want AlreadyExists", err)
	}
	// Bad requests name what is wrong.
	bad := map[string]*workflowservice.StartBatchOperationRequest{
		"Reason":           {Namespace: "default", JobId: "b1", VisibilityQuery: "WorkflowType='x'", Operation: req.Operation},
		"JobId":            {Namespace: "default", Reason: "r", VisibilityQuery: "WorkflowType='x'", Operation: req.Operation},
		"mutually":         {Namespace: "default", JobId: "b2", Reason: "r", VisibilityQuery: "WorkflowType='x'", Executions: targets[:1], Operation: req.Operation},
		"VisibilityQuery":  {Namespace: "default", JobId: "b3", Reason: "r", VisibilityQuery: "WorkflowType = = 'x'", Operation: req.Operation},
		"operation is not": {Namespace: "default", JobId: "b4", Reason: "r", VisibilityQuery: "WorkflowType='x'"},
		"Signal":           {Namespace: "default", JobId: "b5", Reason: "r", VisibilityQuery: "WorkflowType='x'", Operation: &workflowservice.StartBatchOperationRequest_SignalOperation{SignalOperation: &batchpb.BatchOperationSignal{}}},
	}
	for want, r := range bad {
		_, err := svc.StartBatchOperation(e.ctx(), r)
		if grpcCode(err) != codes.InvalidArgument || !contains(err.Error(), want) {
			t.Errorf("bad request (%s): %v; want InvalidArgument naming it", want, err)
		}
	}
	_, err = svc.DescribeBatchOperation(e.ctx(), &workflowservice.DescribeBatchOperationRequest{Namespace: "default", JobId: "nope"})
	if grpcCode(err) != codes.NotFound {
		t.Fatalf("describe unknown job: %v; want NotFound", err)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// signalCount is how many times a run was signaled with name.
func (e *env) signalCount(ex *commonpb.WorkflowExecution, name string) int {
	e.t.Helper()
	n := 0
	for _, ev := range e.history(ex.WorkflowId, ex.RunId) {
		if a := ev.GetWorkflowExecutionSignaledEventAttributes(); a != nil && a.SignalName == name {
			n++
		}
	}
	return n
}

func TestBatchSignalExecutions(t *testing.T) {
	e := newEnv(t)
	defer e.stop()
	targets := e.startIdle("BatchSig", 3)
	input, _ := converter.GetDefaultDataConverter().ToPayloads("hello")
	list := append([]*commonpb.WorkflowExecution{}, targets...)
	list = append(list, &commonpb.WorkflowExecution{WorkflowId: "does-not-exist"})
	_, err := e.c.WorkflowService().StartBatchOperation(e.ctx(), &workflowservice.StartBatchOperationRequest{
		Namespace: "default", JobId: "sig-1", Reason: "poke", Executions: list,
		Operation: &workflowservice.StartBatchOperationRequest_SignalOperation{SignalOperation: &batchpb.BatchOperationSignal{Signal: "poke", Input: input, Identity: "batcher"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	d := e.waitBatch("sig-1", "completion", batchDone)
	// As in Temporal, an execution that is not found counts as done.
	if d.State != enumspb.BATCH_OPERATION_STATE_COMPLETED || d.TotalOperationCount != 4 || d.CompleteOperationCount != 4 || d.FailureOperationCount != 0 {
		t.Fatalf("describe = %v", d)
	}
	if d.OperationType != enumspb.BATCH_OPERATION_TYPE_SIGNAL || len(d.Executions) != 4 || d.Executions[0].BusinessId != targets[0].WorkflowId || d.Executions[0].RunId != targets[0].RunId || d.Query != "" {
		t.Fatalf("describe = %v", d)
	}
	for _, ex := range targets {
		h := e.history(ex.WorkflowId, ex.RunId)
		var sig int
		for _, ev := range h {
			if a := ev.GetWorkflowExecutionSignaledEventAttributes(); a != nil {
				sig++
				var got string
				if a.SignalName != "poke" || a.Identity != "batcher" || a.RequestId == "" || converter.GetDefaultDataConverter().FromPayloads(a.Input, &got) != nil || got != "hello" {
					t.Fatalf("%s: signal event %v", ex.WorkflowId, a)
				}
			}
		}
		if sig != 1 {
			t.Fatalf("%s: %d signals, want 1: %v", ex.WorkflowId, sig, types(h))
		}
	}
}

// A job cut short by a restart resumes where it was and signals every
// workflow exactly once.
func TestBatchResumesAfterRestart(t *testing.T) {
	e := newEnv(t)
	defer e.stop()
	targets := e.startIdle("BatchSlow", 8)
	_, err := e.c.WorkflowService().StartBatchOperation(e.ctx(), &workflowservice.StartBatchOperationRequest{
		Namespace: "default", JobId: "slow-1", Reason: "slow", VisibilityQuery: "WorkflowType='BatchSlow'", MaxOperationsPerSecond: 4,
		Operation: &workflowservice.StartBatchOperationRequest_SignalOperation{SignalOperation: &batchpb.BatchOperationSignal{Signal: "tick"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	before := e.waitBatch("slow-1", "some progress", func(d *workflowservice.DescribeBatchOperationResponse) bool { return d.CompleteOperationCount >= 2 })
	if before.State != enumspb.BATCH_OPERATION_STATE_RUNNING || before.TotalOperationCount != 8 || before.CompleteOperationCount >= 8 {
		t.Fatalf("before restart: %v; want a running job part way through", before)
	}
	e.restart()
	mid := e.describeBatch("slow-1")
	if mid.State != enumspb.BATCH_OPERATION_STATE_RUNNING || mid.CompleteOperationCount < before.CompleteOperationCount || !mid.StartTime.AsTime().Equal(before.StartTime.AsTime()) {
		t.Fatalf("after restart: %v; before %v", mid, before)
	}
	d := e.waitBatch("slow-1", "completion", batchDone)
	if d.State != enumspb.BATCH_OPERATION_STATE_COMPLETED || d.TotalOperationCount != 8 || d.CompleteOperationCount != 8 || d.FailureOperationCount != 0 {
		t.Fatalf("describe = %v", d)
	}
	for _, ex := range targets {
		if n := e.signalCount(ex, "tick"); n != 1 {
			t.Fatalf("%s signaled %d times, want 1", ex.WorkflowId, n)
		}
	}
}

func TestBatchStop(t *testing.T) {
	e := newEnv(t)
	defer e.stop()
	targets := e.startIdle("BatchStop", 10)
	svc := e.c.WorkflowService()
	_, err := svc.StartBatchOperation(e.ctx(), &workflowservice.StartBatchOperationRequest{
		Namespace: "default", JobId: "stop-1", Reason: "slow terminate", VisibilityQuery: "WorkflowType='BatchStop'", MaxOperationsPerSecond: 2,
		Operation: &workflowservice.StartBatchOperationRequest_TerminationOperation{TerminationOperation: &batchpb.BatchOperationTermination{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// One job at a time per namespace, as Temporal's default.
	_, err = svc.StartBatchOperation(e.ctx(), &workflowservice.StartBatchOperationRequest{
		Namespace: "default", JobId: "stop-2", Reason: "r", VisibilityQuery: "WorkflowType='BatchStop'",
		Operation: &workflowservice.StartBatchOperationRequest_CancellationOperation{CancellationOperation: &batchpb.BatchOperationCancellation{}},
	})
	if grpcCode(err) != codes.ResourceExhausted {
		t.Fatalf("a second concurrent job: %v; want ResourceExhausted", err)
	}
	e.waitBatch("stop-1", "some progress", func(d *workflowservice.DescribeBatchOperationResponse) bool { return d.CompleteOperationCount >= 1 })
	if _, err := svc.StopBatchOperation(e.ctx(), &workflowservice.StopBatchOperationRequest{Namespace: "default", JobId: "stop-1"}); grpcCode(err) != codes.InvalidArgument {
		t.Fatalf("stop without reason: %v; want InvalidArgument", err)
	}
	if _, err := svc.StopBatchOperation(e.ctx(), &workflowservice.StopBatchOperationRequest{Namespace: "default", JobId: "stop-1", Reason: "enough", Identity: "op"}); err != nil {
		t.Fatal(err)
	}
	d := e.describeBatch("stop-1")
	if d.State != enumspb.BATCH_OPERATION_STATE_FAILED || d.CloseTime == nil || d.CompleteOperationCount >= 10 {
		t.Fatalf("after stop: %v; want FAILED part way through", d)
	}
	terminated := func() int {
		n := 0
		for _, ex := range targets {
			if e.status(ex) == enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED {
				n++
			}
		}
		return n
	}
	n := terminated()
	if int64(n) < d.CompleteOperationCount || int64(n) > d.CompleteOperationCount+1 {
		t.Fatalf("%d terminated, job counted %d", n, d.CompleteOperationCount)
	}
	time.Sleep(1500 * time.Millisecond)
	if m := terminated(); m != n {
		t.Fatalf("after stop, terminated went from %d to %d", n, m)
	}
	if again := e.describeBatch("stop-1"); again.CompleteOperationCount != d.CompleteOperationCount || again.State != d.State {
		t.Fatalf("stopped job changed: %v -> %v", d, again)
	}
	if _, err := svc.StopBatchOperation(e.ctx(), &workflowservice.StopBatchOperationRequest{Namespace: "default", JobId: "stop-1", Reason: "again"}); grpcCode(err) != codes.NotFound {
		t.Fatalf("stop of a stopped job: %v; want NotFound", err)
	}
	// The stopped job no longer counts against the limit, and it stays
	// stopped across a restart.
	e.restart()
	if d2 := e.describeBatch("stop-1"); d2.State != enumspb.BATCH_OPERATION_STATE_FAILED || d2.CompleteOperationCount != d.CompleteOperationCount {
		t.Fatalf("after restart: %v", d2)
	}
	_, err = e.c.WorkflowService().StartBatchOperation(e.ctx(), &workflowservice.StartBatchOperationRequest{
		Namespace: "default", JobId: "stop-2", Reason: "r", VisibilityQuery: "WorkflowType='BatchStop'",
		Operation: &workflowservice.StartBatchOperationRequest_CancellationOperation{CancellationOperation: &batchpb.BatchOperationCancellation{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	d3 := e.waitBatch("stop-2", "completion", batchDone)
	if d3.State != enumspb.BATCH_OPERATION_STATE_COMPLETED || d3.TotalOperationCount != int64(10-n) || d3.CompleteOperationCount != int64(10-n) {
		t.Fatalf("cancel job: %v; want the %d still running", d3, 10-n)
	}
	list, err := e.c.WorkflowService().ListBatchOperations(e.ctx(), &workflowservice.ListBatchOperationsRequest{Namespace: "default", PageSize: 1})
	if err != nil || len(list.OperationInfo) != 1 || len(list.NextPageToken) == 0 || list.OperationInfo[0].JobId != "stop-2" {
		t.Fatalf("list page 1: %v, %v", list, err)
	}
	list, err = e.c.WorkflowService().ListBatchOperations(e.ctx(), &workflowservice.ListBatchOperationsRequest{Namespace: "default", PageSize: 1, NextPageToken: list.NextPageToken})
	if err != nil || len(list.OperationInfo) != 1 || len(list.NextPageToken) != 0 || list.OperationInfo[0].JobId != "stop-1" || list.OperationInfo[0].State != enumspb.BATCH_OPERATION_STATE_FAILED {
		t.Fatalf("list page 2: %v, %v", list, err)
	}
}

// batchResettable waits for one "done" signal; a reset to its first
// workflow task makes it wait again.
func batchResettable(ctx workflow.Context) (string, error) {
	var v string
	workflow.GetSignalChannel(ctx, "done").Receive(ctx, &v)
	return v, nil
}

func TestBatchResetAndDelete(t *testing.T) {
	e := newEnv(t)
	defer e.stop()
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(batchResettable) })
	var targets []*commonpb.WorkflowExecution
	for i := 0; i < 3; i++ {
		run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("reset"), batchResettable)
		if err != nil {
			t.Fatal(err)
		}
		targets = append(targets, &commonpb.WorkflowExecution{WorkflowId: run.GetID(), RunId: run.GetRunID()})
	}
	// Wait for each first workflow task to complete (the reset point).
	for _, ex := range targets {
		deadline := time.Now().Add(10 * time.Second)
		for count(e.history(ex.WorkflowId, ex.RunId), enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: no workflow task completed", ex.WorkflowId)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	svc := e.c.WorkflowService()
	_, err := svc.StartBatchOperation(e.ctx(), &workflowservice.StartBatchOperationRequest{
		Namespace: "default", JobId: "reset-1", Reason: "redo", Executions: targets,
		Operation: &workflowservice.StartBatchOperationRequest_ResetOperation{ResetOperation: &batchpb.BatchOperationReset{
			Options: &commonpb.ResetOptions{Target: &commonpb.ResetOptions_FirstWorkflowTask{FirstWorkflowTask: &emptypb.Empty{}}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	d := e.waitBatch("reset-1", "completion", batchDone)
	if d.State != enumspb.BATCH_OPERATION_STATE_COMPLETED || d.CompleteOperationCount != 3 || d.FailureOperationCount != 0 || d.OperationType != enumspb.BATCH_OPERATION_TYPE_RESET {
		t.Fatalf("reset job: %v", d)
	}
	for _, ex := range targets {
		if s := e.status(ex); s != enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED {
			t.Fatalf("%s: base run status %v, want TERMINATED by the reset", ex.WorkflowId, s)
		}
		cur, err := e.c.DescribeWorkflowExecution(e.ctx(), ex.WorkflowId, "")
		if err != nil || cur.WorkflowExecutionInfo.Execution.RunId == ex.RunId || cur.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			t.Fatalf("%s: current run after reset: %v, %v", ex.WorkflowId, cur, err)
		}
		h := e.history(ex.WorkflowId, cur.WorkflowExecutionInfo.Execution.RunId)
		var resetSeen bool
		for _, ev := range h {
			if a := ev.GetWorkflowTaskFailedEventAttributes(); a != nil && a.Cause == enumspb.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW && a.BaseRunId == ex.RunId {
				resetSeen = true
			}
		}
		if !resetSeen {
			t.Fatalf("%s: reset run history %v has no RESET_WORKFLOW failure naming the base run", ex.WorkflowId, types(h))
		}
	}

	// Delete every closed run of the type: the three terminated base runs.
	_, err = svc.StartBatchOperation(e.ctx(), &workflowservice.StartBatchOperationRequest{
		Namespace: "default", JobId: "delete-1", Reason: "tidy", VisibilityQuery: "WorkflowType='batchResettable' AND ExecutionStatus='Terminated'",
		Operation: &workflowservice.StartBatchOperationRequest_DeletionOperation{DeletionOperation: &batchpb.BatchOperationDeletion{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	d = e.waitBatch("delete-1", "completion", batchDone)
	if d.State != enumspb.BATCH_OPERATION_STATE_COMPLETED || d.CompleteOperationCount != 3 || d.OperationType != enumspb.BATCH_OPERATION_TYPE_DELETE {
		t.Fatalf("delete job: %v", d)
	}
	for _, ex := range targets {
		if _, err := e.c.DescribeWorkflowExecution(e.ctx(), ex.WorkflowId, ex.RunId); grpcCode(err) != codes.NotFound {
			t.Fatalf("%s: base run after delete: %v; want NotFound", ex.WorkflowId, err)
		}
		cur, err := e.c.DescribeWorkflowExecution(e.ctx(), ex.WorkflowId, "")
		if err != nil || cur.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			t.Fatalf("%s: the reset run should be untouched: %v, %v", ex.WorkflowId, cur, err)
		}
	}
	// A build-id reset target without a build id is refused up front
	// (resets by build id: reset_buildid_test.go).
	_, err = svc.StartBatchOperation(e.ctx(), &workflowservice.StartBatchOperationRequest{
		Namespace: "default", JobId: "reset-2", Reason: "redo", Executions: targets,
		Operation: &workflowservice.StartBatchOperationRequest_ResetOperation{ResetOperation: &batchpb.BatchOperationReset{
			Options: &commonpb.ResetOptions{Target: &commonpb.ResetOptions_BuildId{}},
		}},
	})
	if grpcCode(err) != codes.InvalidArgument || !contains(err.Error(), "BuildId") {
		t.Fatalf("build id reset without a build id: %v; want InvalidArgument", err)
	}
}
