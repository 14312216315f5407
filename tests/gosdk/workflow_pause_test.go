package gosdk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	querypb "go.temporal.io/api/query/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Workflow pause (PauseWorkflowExecution / UnpauseWorkflowExecution),
// driven through the Go SDK's raw WorkflowService client as the SDK has no
// wrapper for it.

// wfPauseSignalWorkflow appends every "step" signal to its result until
// "done"; its query "got" answers what it has seen.
func wfPauseSignalWorkflow(ctx workflow.Context) ([]string, error) {
	got := []string{}
	if err := workflow.SetQueryHandler(ctx, "got", func() ([]string, error) { return got, nil }); err != nil {
		return nil, err
	}
	if err := workflow.SetUpdateHandler(ctx, "add", func(ctx workflow.Context, s string) (string, error) {
		got = append(got, s)
		return s, nil
	}); err != nil {
		return nil, err
	}
	ch := workflow.GetSignalChannel(ctx, "step")
	for {
		var s string
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(ch, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &s) })
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
		sel.Select(ctx)
		if ctx.Err() != nil {
			return got, ctx.Err() // canceled
		}
		if s == "done" {
			return got, nil
		}
		got = append(got, s)
	}
}

func pauseReq(id, reason, requestID string) *workflowservice.PauseWorkflowExecutionRequest {
	return &workflowservice.PauseWorkflowExecutionRequest{Namespace: "default", WorkflowId: id, Identity: "operator", Reason: reason, RequestId: requestID}
}

func unpauseReq(id, reason string) *workflowservice.UnpauseWorkflowExecutionRequest {
	return &workflowservice.UnpauseWorkflowExecutionRequest{Namespace: "default", WorkflowId: id, Identity: "operator", Reason: reason, RequestId: "unpause-1"}
}

// after returns the types of the events after the first of type typ.
func after(evs []*historypb.HistoryEvent, typ enumspb.EventType) []enumspb.EventType {
	for i, ev := range evs {
		if ev.EventType == typ {
			return types(evs[i+1:])
		}
	}
	return nil
}

func wantFailedPrecondition(t *testing.T, what string, err error, msg string) {
	t.Helper()
	var fp *serviceerror.FailedPrecondition
	if !errors.As(err, &fp) || !strings.Contains(err.Error(), msg) {
		t.Fatalf("%s: %v, want FailedPrecondition %q", what, err, msg)
	}
}

func countByQuery(t *testing.T, e *env, q string) int64 {
	t.Helper()
	r, err := e.c.CountWorkflow(e.ctx(), &workflowservice.CountWorkflowExecutionsRequest{Namespace: "default", Query: q})
	if err != nil {
		t.Fatalf("count %q: %v", q, err)
	}
	return r.Count
}

// TestWorkflowPause: a paused workflow records signals but runs no
// workflow code (no workflow task) until it is unpaused; describe shows
// status PAUSED with the pause info, list and count find it by
// ExecutionStatus='Paused', queries are rejected with status PAUSED and
// updates refused. A repeated pause with the same request id is a no-op,
// another pause is refused. The pause survives a restart of the server
// (pebble). The unpause schedules the held-back workflow task and the run
// completes having seen the signals.
func TestWorkflowPause(t *testing.T) {
	e := newEnv(t)
	register := func(w worker.Worker) { w.RegisterWorkflow(wfPauseSignalWorkflow) }
	w := e.worker(register)
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("wfpause"), wfPauseSignalWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	id := run.GetID()
	svc := e.c.WorkflowService()
	waitEvents(t, e, id, "", enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, 1)
	before := time.Now()
	if _, err := svc.PauseWorkflowExecution(e.ctx(), pauseReq(id, "maintenance", "pause-1")); err != nil {
		t.Fatal(err)
	}
	// Same request id: nothing new; another: refused.
	if _, err := svc.PauseWorkflowExecution(e.ctx(), pauseReq(id, "maintenance", "pause-1")); err != nil {
		t.Fatalf("repeated pause: %v", err)
	}
	_, err = svc.PauseWorkflowExecution(e.ctx(), pauseReq(id, "again", "pause-2"))
	wantFailedPrecondition(t, "second pause", err, "workflow is already paused.")

	checkPaused := func(step string) {
		t.Helper()
		d, err := e.c.DescribeWorkflowExecution(e.ctx(), id, "")
		if err != nil {
			t.Fatal(err)
		}
		if st := d.WorkflowExecutionInfo.GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_PAUSED {
			t.Fatalf("%s: describe status %v, want PAUSED", step, st)
		}
		p := d.WorkflowExtendedInfo.GetPauseInfo()
		if p.GetReason() != "maintenance" || p.GetIdentity() != "operator" || p.GetPausedTime().AsTime().Before(before.Add(-time.Second)) {
			t.Fatalf("%s: pause info %v", step, p)
		}
		if d.PendingWorkflowTask != nil {
			t.Fatalf("%s: a workflow task is pending while paused: %v", step, d.PendingWorkflowTask)
		}
		q := fmt.Sprintf("WorkflowId = '%s' AND ExecutionStatus = 'Paused'", id)
		l, err := e.c.ListWorkflow(e.ctx(), &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default", Query: q})
		if err != nil || len(l.Executions) != 1 || l.Executions[0].Status != enumspb.WORKFLOW_EXECUTION_STATUS_PAUSED || l.Executions[0].CloseTime != nil {
			t.Fatalf("%s: list %q: %v %v", step, q, l, err)
		}
		if n := countByQuery(t, e, "ExecutionStatus = 'Paused'"); n != 1 {
			t.Fatalf("%s: %d paused runs counted, want 1", step, n)
		}
		if n := countByQuery(t, e, "ExecutionStatus = 'Running'"); n != 0 {
			t.Fatalf("%s: %d running runs counted, want 0", step, n)
		}
	}
	checkPaused("paused")

	if err := e.c.SignalWorkflow(e.ctx(), id, "", "step", "a"); err != nil {
		t.Fatal(err)
	}
	qr, err := svc.QueryWorkflow(e.ctx(), &workflowservice.QueryWorkflowRequest{Namespace: "default", Execution: &commonpb.WorkflowExecution{WorkflowId: id}, Query: &querypb.WorkflowQuery{QueryType: "got"}})
	if err != nil || qr.GetQueryRejected().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_PAUSED {
		t.Fatalf("query while paused: %v %v, want rejected with status PAUSED", qr, err)
	}
	ctx, cancel := context.WithTimeout(e.ctx(), 5*time.Second)
	_, err = e.c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: "add", Args: []any{"u"}, WaitForStage: client.WorkflowUpdateStageAccepted})
	cancel()
	wantFailedPrecondition(t, "update while paused", err, "Workflow is paused")

	// The restart: the pause is durable and rebuilt from the run.
	w.Stop()
	e.restart()
	svc = e.c.WorkflowService()
	checkPaused("after restart")
	if err := e.c.SignalWorkflow(e.ctx(), id, "", "step", "b"); err != nil {
		t.Fatal(err)
	}
	e.worker(register)
	time.Sleep(time.Second) // a worker polls; nothing may reach it
	evs := e.history(id, "")
	if got, want := after(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_PAUSED), []enumspb.EventType{enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED}; !slices.Equal(got, want) {
		t.Fatalf("events after the pause: %v, want %v", got, want)
	}

	if _, err := svc.UnpauseWorkflowExecution(e.ctx(), unpauseReq(id, "all clear")); err != nil {
		t.Fatal(err)
	}
	_, err = svc.UnpauseWorkflowExecution(e.ctx(), unpauseReq(id, "again"))
	wantFailedPrecondition(t, "second unpause", err, "workflow is not paused.")
	if err := e.c.SignalWorkflow(e.ctx(), id, "", "step", "done"); err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := e.c.GetWorkflow(e.ctx(), id, "").Get(e.ctx(), &got); err != nil || !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("result %v %v, want [a b]", got, err)
	}

	evs = e.history(id, "")
	requireWellFormed(t, evs)
	if n, m := count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_PAUSED), count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UNPAUSED); n != 1 || m != 1 {
		t.Fatalf("%d paused and %d unpaused events, want 1 each: %v", n, m, types(evs))
	}
	var paused, unpaused *historypb.HistoryEvent
	for i, ev := range evs {
		switch ev.EventType {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_PAUSED:
			paused = ev
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UNPAUSED:
			unpaused = ev
			if next := evs[i+1].EventType; next != enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED {
				t.Fatalf("after the unpause: %v, want the held-back workflow task", next)
			}
		}
	}
	if a := paused.GetWorkflowExecutionPausedEventAttributes(); !paused.WorkerMayIgnore || a.Reason != "maintenance" || a.Identity != "operator" || a.RequestId != "pause-1" {
		t.Fatalf("paused event: %v", paused)
	}
	if a := unpaused.GetWorkflowExecutionUnpausedEventAttributes(); !unpaused.WorkerMayIgnore || a.Reason != "all clear" || a.Identity != "operator" {
		t.Fatalf("unpaused event: %v", unpaused)
	}
	for _, ev := range evs[paused.EventId:unpaused.EventId] {
		if ev.EventType == enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED {
			t.Fatalf("a workflow task was scheduled while paused: %v", types(evs))
		}
	}
	d, err := e.c.DescribeWorkflowExecution(e.ctx(), id, "")
	if err != nil || d.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED || d.WorkflowExtendedInfo.GetPauseInfo() != nil {
		t.Fatalf("describe after completion: %v %v", d, err)
	}
	_, err = svc.PauseWorkflowExecution(e.ctx(), pauseReq(id, "late", ""))
	var nf *serviceerror.NotFound
	if !errors.As(err, &nf) {
		t.Fatalf("pause of a completed workflow: %v, want NotFound", err)
	}
}

var wfPauseActivityCalls atomic.Int32

func wfPauseActivity(ctx context.Context) (string, error) {
	wfPauseActivityCalls.Add(1)
	return "act:" + activity.GetInfo(ctx).ActivityType.Name, nil
}

// wfPauseTimerWorkflow sleeps, then runs an activity on the task queue
// its input names.
func wfPauseTimerWorkflow(ctx workflow.Context, actQueue string) (string, error) {
	if err := workflow.Sleep(ctx, 1500*time.Millisecond); err != nil {
		return "", err
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{TaskQueue: actQueue, StartToCloseTimeout: 10 * time.Second})
	var r string
	err := workflow.ExecuteActivity(ctx, "WfPauseAct").Get(ctx, &r)
	return r, err
}

// TestWorkflowPauseTimerAndActivity: a timer that fires while the run is
// paused is recorded but the workflow code after it does not run; an
// activity scheduled before the pause is not handed to a worker while
// paused (its worker polls in vain), and runs after the unpause.
func TestWorkflowPauseTimerAndActivity(t *testing.T) {
	e := newEnv(t)
	wfPauseActivityCalls.Store(0)
	actQueue := e.tq + "-act"
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(wfPauseTimerWorkflow) })
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("wfpause-timer"), wfPauseTimerWorkflow, actQueue)
	if err != nil {
		t.Fatal(err)
	}
	id := run.GetID()
	svc := e.c.WorkflowService()
	waitEvents(t, e, id, "", enumspb.EVENT_TYPE_TIMER_STARTED, 1)
	if _, err := svc.PauseWorkflowExecution(e.ctx(), pauseReq(id, "hold", "")); err != nil {
		t.Fatal(err)
	}
	evs := waitEvents(t, e, id, "", enumspb.EVENT_TYPE_TIMER_FIRED, 1)
	time.Sleep(500 * time.Millisecond)
	evs = e.history(id, "")
	if got, want := after(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_PAUSED), []enumspb.EventType{enumspb.EVENT_TYPE_TIMER_FIRED}; !slices.Equal(got, want) {
		t.Fatalf("after the pause: %v, want only the timer firing", got)
	}
	if _, err := svc.UnpauseWorkflowExecution(e.ctx(), unpauseReq(id, "")); err != nil {
		t.Fatal(err)
	}
	waitEvents(t, e, id, "", enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, 1)

	// The activity waits on its own queue, no worker yet. Pause, then let
	// a worker poll it: it must not get the task.
	if _, err := svc.PauseWorkflowExecution(e.ctx(), pauseReq(id, "hold activities", "")); err != nil {
		t.Fatal(err)
	}
	aw := worker.New(e.c, actQueue, worker.Options{})
	aw.RegisterActivityWithOptions(wfPauseActivity, activity.RegisterOptions{Name: "WfPauseAct"})
	if err := aw.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(aw.Stop)
	time.Sleep(1500 * time.Millisecond)
	if n := wfPauseActivityCalls.Load(); n != 0 {
		t.Fatalf("the activity ran %d times while paused", n)
	}
	d, err := e.c.DescribeWorkflowExecution(e.ctx(), id, "")
	if err != nil || len(d.PendingActivities) != 1 || d.PendingActivities[0].State != enumspb.PENDING_ACTIVITY_STATE_SCHEDULED {
		t.Fatalf("describe while paused: %v %v", d.GetPendingActivities(), err)
	}
	if _, err := svc.UnpauseWorkflowExecution(e.ctx(), unpauseReq(id, "")); err != nil {
		t.Fatal(err)
	}
	var r string
	if err := run.Get(e.ctx(), &r); err != nil || r != "act:WfPauseAct" {
		t.Fatalf("result %q %v", r, err)
	}
	if n := wfPauseActivityCalls.Load(); n != 1 {
		t.Fatalf("activity ran %d times, want 1", n)
	}
	requireWellFormed(t, e.history(id, ""))
}

// TestWorkflowPauseUnstartedTaskAndTerminate: pausing a workflow whose
// first task no worker has taken fails that task with cause
// WORKFLOW_PAUSE_REQUESTED_BEFORE_TASK_STARTED (as Temporal does); a
// worker that starts then gets nothing until the unpause. A cancel request
// while paused is recorded and waits; terminate and reset work on a paused
// run (the reset run is not paused).
// Bad requests get InvalidArgument naming the field, unknown workflows
// NotFound.
func TestWorkflowPauseUnstartedTaskAndTerminate(t *testing.T) {
	e := newEnv(t)
	svc := e.c.WorkflowService()
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("wfpause-unstarted"), wfPauseSignalWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	id := run.GetID()
	if _, err := svc.PauseWorkflowExecution(e.ctx(), pauseReq(id, "", "")); err != nil {
		t.Fatal(err)
	}
	evs := e.history(id, "")
	want := []enumspb.EventType{enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_PAUSED}
	if !slices.Equal(types(evs), want) {
		t.Fatalf("history %v, want %v", types(evs), want)
	}
	if c := evs[2].GetWorkflowTaskFailedEventAttributes().GetCause(); c != enumspb.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_PAUSE_REQUESTED_BEFORE_TASK_STARTED {
		t.Fatalf("failed cause %v", c)
	}
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(wfPauseSignalWorkflow) })
	if err := e.c.CancelWorkflow(e.ctx(), id, ""); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if got := types(e.history(id, "")); len(got) != 5 || got[4] != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED {
		t.Fatalf("history while paused: %v", got)
	}
	if _, err := svc.UnpauseWorkflowExecution(e.ctx(), unpauseReq(id, "")); err != nil {
		t.Fatal(err)
	}
	evs = waitEvents(t, e, id, "", enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, 1)
	if sched := evs[6]; sched.EventType != enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED || sched.GetWorkflowTaskScheduledEventAttributes().Attempt != 1 {
		t.Fatalf("after the unpause: %v", sched)
	}
	var got []string
	if err := run.Get(e.ctx(), &got); !temporal.IsCanceledError(err) {
		t.Fatalf("workflow canceled while paused: %v %v, want canceled after the unpause", got, err)
	}

	// Terminate a paused run.
	run2, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("wfpause-term"), wfPauseSignalWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	waitEvents(t, e, run2.GetID(), "", enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, 1)
	if _, err := svc.PauseWorkflowExecution(e.ctx(), pauseReq(run2.GetID(), "", "")); err != nil {
		t.Fatal(err)
	}
	if err := e.c.TerminateWorkflow(e.ctx(), run2.GetID(), "", "stop"); err != nil {
		t.Fatal(err)
	}
	d, err := e.c.DescribeWorkflowExecution(e.ctx(), run2.GetID(), "")
	if err != nil || d.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED {
		t.Fatalf("describe terminated: %v %v", d.GetWorkflowExecutionInfo(), err)
	}
	if n := countByQuery(t, e, "ExecutionStatus = 'Paused'"); n != 0 {
		t.Fatalf("%d paused runs after terminate", n)
	}
	_, err = svc.UnpauseWorkflowExecution(e.ctx(), unpauseReq(run2.GetID(), ""))
	var nf *serviceerror.NotFound
	if !errors.As(err, &nf) {
		t.Fatalf("unpause of a terminated workflow: %v, want NotFound", err)
	}

	// Reset a paused run: the reset run is not paused (pause is per run),
	// the paused one is terminated by the reset.
	run3, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("wfpause-reset"), wfPauseSignalWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	evs = waitEvents(t, e, run3.GetID(), "", enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, 1)
	if _, err := svc.PauseWorkflowExecution(e.ctx(), pauseReq(run3.GetID(), "", "")); err != nil {
		t.Fatal(err)
	}
	rr, err := e.c.ResetWorkflowExecution(e.ctx(), &workflowservice.ResetWorkflowExecutionRequest{Namespace: "default",
		WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: run3.GetID(), RunId: run3.GetRunID()}, Reason: "redo",
		WorkflowTaskFinishEventId: nthEvent(t, evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, 1), RequestId: "reset-1"})
	if err != nil {
		t.Fatal(err)
	}
	d, err = e.c.DescribeWorkflowExecution(e.ctx(), run3.GetID(), rr.RunId)
	if err != nil || d.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING || d.WorkflowExtendedInfo.GetPauseInfo() != nil {
		t.Fatalf("describe the reset run: %v %v", d, err)
	}
	d, err = e.c.DescribeWorkflowExecution(e.ctx(), run3.GetID(), run3.GetRunID())
	if err != nil || d.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED {
		t.Fatalf("describe the paused run after the reset: %v %v", d.GetWorkflowExecutionInfo(), err)
	}
	if err := e.c.SignalWorkflow(e.ctx(), run3.GetID(), "", "step", "done"); err != nil {
		t.Fatal(err)
	}
	if err := e.c.GetWorkflow(e.ctx(), run3.GetID(), "").Get(e.ctx(), nil); err != nil {
		t.Fatalf("reset run: %v", err)
	}

	// Validation.
	var inv *serviceerror.InvalidArgument
	long := strings.Repeat("x", 1001)
	for _, c := range []struct {
		req  *workflowservice.PauseWorkflowExecutionRequest
		want string
	}{
		{pauseReq(id, long, ""), "reason is too long."},
		{pauseReq(id, "", long), "request id is too long."},
		{&workflowservice.PauseWorkflowExecutionRequest{Namespace: "default", WorkflowId: id, Identity: long}, "identity is too long."},
		{pauseReq("", "", ""), "WorkflowId"},
		{&workflowservice.PauseWorkflowExecutionRequest{Namespace: "default", WorkflowId: id, RunId: "not-a-uuid"}, "RunId"},
	} {
		_, err := svc.PauseWorkflowExecution(e.ctx(), c.req)
		if !errors.As(err, &inv) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("pause %v: %v, want InvalidArgument %q", c.req, err, c.want)
		}
	}
	_, err = svc.UnpauseWorkflowExecution(e.ctx(), &workflowservice.UnpauseWorkflowExecutionRequest{Namespace: "default", WorkflowId: id, Reason: long})
	if !errors.As(err, &inv) || !strings.Contains(err.Error(), "reason is too long.") {
		t.Errorf("unpause with a long reason: %v", err)
	}
	_, err = svc.PauseWorkflowExecution(e.ctx(), pauseReq("no-such-workflow", "", ""))
	if !errors.As(err, &nf) {
		t.Errorf("pause of a missing workflow: %v, want NotFound", err)
	}
	_, err = svc.PauseWorkflowExecution(e.ctx(), &workflowservice.PauseWorkflowExecutionRequest{Namespace: "no-such-namespace", WorkflowId: id})
	var nsnf *serviceerror.NamespaceNotFound
	if !errors.As(err, &nsnf) {
		t.Errorf("pause in a missing namespace: %v, want NotFound", err)
	}
}
