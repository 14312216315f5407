package gosdk

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// resetWorkflow runs an activity, waits for a signal, runs another
// activity and waits for a second signal; its result lists what it saw.
func resetWorkflow(ctx workflow.Context) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	ch := workflow.GetSignalChannel(ctx, "sig")
	var out []string
	for _, step := range []string{"one", "two"} {
		var r string
		if err := workflow.ExecuteActivity(ctx, resetActivity, step).Get(ctx, &r); err != nil {
			return "", err
		}
		var s string
		ch.Receive(ctx, &s)
		out = append(out, r, "sig:"+s)
	}
	return strings.Join(out, ","), nil
}

func resetActivity(_ context.Context, s string) (string, error) { return s, nil }

func resetWorker(e *env) {
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(resetWorkflow)
		w.RegisterActivity(resetActivity)
	})
}

// waitEvents waits until a run's history has n events of type t.
func waitEvents(t *testing.T, e *env, id, runID string, typ enumspb.EventType, n int) []*historypb.HistoryEvent {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		evs := e.history(id, runID)
		if count(evs, typ) >= n {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %d %v: %v", n, typ, types(evs))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// nthEvent returns the id of the n-th (1-based) event of type typ.
func nthEvent(t *testing.T, evs []*historypb.HistoryEvent, typ enumspb.EventType, n int) int64 {
	t.Helper()
	for _, ev := range evs {
		if ev.EventType == typ {
			n--
			if n == 0 {
				return ev.EventId
			}
		}
	}
	t.Fatalf("no %v #%d in %v", typ, n, types(evs))
	return 0
}

func (e *env) reset(id, runID string, point int64, mod func(*workflowservice.ResetWorkflowExecutionRequest)) (string, error) {
	r := &workflowservice.ResetWorkflowExecutionRequest{
		Namespace:                 "default",
		WorkflowExecution:         &commonpb.WorkflowExecution{WorkflowId: id, RunId: runID},
		Reason:                    "reset by test",
		WorkflowTaskFinishEventId: point,
		RequestId:                 uuid.NewString(),
	}
	if mod != nil {
		mod(r)
	}
	resp, err := e.c.ResetWorkflowExecution(e.ctx(), r)
	if err != nil {
		return "", err
	}
	return resp.RunId, nil
}

// TestResetRunningReappliesSignals resets a running workflow to its first
// workflow task: the old run is terminated, the new one copies the history
// up to that task's start, fails it with RESET_WORKFLOW, gets the signal
// sent after the point again, and a worker carries it on to the end.
func TestResetRunningReappliesSignals(t *testing.T) {
	e := newEnv(t)
	resetWorker(e)
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("reset-running"), resetWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	id, oldRun := run.GetID(), run.GetRunID()
	waitEvents(t, e, id, oldRun, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, 1)
	if err := e.c.SignalWorkflow(e.ctx(), id, "", "sig", "a"); err != nil {
		t.Fatal(err)
	}
	old := waitEvents(t, e, id, oldRun, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, 2)
	point := nthEvent(t, old, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, 1)

	// Bad points first: nothing may change.
	_, err = e.reset(id, "", 1, nil)
	var inv *serviceerror.InvalidArgument
	if !errors.As(err, &inv) || !strings.Contains(err.Error(), "Workflow task finish ID must be > 1") {
		t.Fatalf("reset to event 1: %v", err)
	}
	_, err = e.reset(id, "", int64(len(old))+5, nil)
	if !errors.As(err, &inv) {
		t.Fatalf("reset past the end: %v", err)
	}
	scheduled := nthEvent(t, old, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, 1)
	_, err = e.reset(id, "", scheduled+1, nil) // the event after ActivityTaskScheduled: no workflow task pending
	if !errors.As(err, &inv) || !strings.Contains(err.Error(), "Can only reset workflow to event ID in range") {
		t.Fatalf("reset to a non-task event: %v", err)
	}
	if d, err := e.c.DescribeWorkflowExecution(e.ctx(), id, ""); err != nil || d.WorkflowExecutionInfo.Execution.RunId != oldRun ||
		d.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("a refused reset changed the workflow: %v %v", d, err)
	}
	// Reset points: one for the worker's build, at the first completed task.
	d, err := e.c.DescribeWorkflowExecution(e.ctx(), id, oldRun)
	if err != nil {
		t.Fatal(err)
	}
	points := d.WorkflowExecutionInfo.GetAutoResetPoints().GetPoints()
	if len(points) != 1 || points[0].FirstWorkflowTaskCompletedId != point || points[0].RunId != oldRun || !points[0].Resettable {
		t.Fatalf("auto reset points: %v", points)
	}

	reqID := uuid.NewString()
	newRun, err := e.reset(id, oldRun, point, func(r *workflowservice.ResetWorkflowExecutionRequest) { r.RequestId = reqID })
	if err != nil {
		t.Fatal(err)
	}
	if newRun == "" || newRun == oldRun {
		t.Fatalf("reset returned run %q", newRun)
	}
	// A retry with the same request id returns the same run.
	again, err := e.reset(id, oldRun, point, func(r *workflowservice.ResetWorkflowExecutionRequest) { r.RequestId = reqID })
	if err != nil || again != newRun {
		t.Fatalf("retried reset: %q %v, want %q", again, err, newRun)
	}

	// The old run ends terminated by the resetter with the reason.
	oldEvs := e.history(id, oldRun)
	last := oldEvs[len(oldEvs)-1]
	ta := last.GetWorkflowExecutionTerminatedEventAttributes()
	if ta == nil || ta.Reason != "reset by test" || ta.Identity != "history-resetter" {
		t.Fatalf("old run's last event: %v", last)
	}
	d, err = e.c.DescribeWorkflowExecution(e.ctx(), id, oldRun)
	if err != nil {
		t.Fatal(err)
	}
	if d.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED || d.WorkflowExtendedInfo.GetResetRunId() != newRun {
		t.Fatalf("old run: status %v reset run %q", d.WorkflowExecutionInfo.Status, d.WorkflowExtendedInfo.GetResetRunId())
	}

	// The new run: the copied prefix, the failed task, the reapplied signal.
	if err := e.c.SignalWorkflow(e.ctx(), id, "", "sig", "b"); err != nil {
		t.Fatal(err)
	}
	var res string
	if err := e.c.GetWorkflow(e.ctx(), id, newRun).Get(e.ctx(), &res); err != nil {
		t.Fatal(err)
	}
	if res != "one,sig:a,two,sig:b" {
		t.Fatalf("result %q", res)
	}
	evs := e.history(id, newRun)
	requireWellFormed(t, evs)
	for i := int64(0); i < point-1; i++ {
		if evs[i].EventType != oldEvs[i].EventType || !evs[i].EventTime.AsTime().Equal(oldEvs[i].EventTime.AsTime()) {
			t.Fatalf("event %d not copied: %v vs %v", i+1, evs[i], oldEvs[i])
		}
	}
	fa := evs[point-1].GetWorkflowTaskFailedEventAttributes()
	if fa == nil || fa.Cause != enumspb.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW || fa.BaseRunId != oldRun || fa.NewRunId != newRun ||
		fa.Failure.GetMessage() != "reset by test" || fa.Failure.GetResetWorkflowFailureInfo() == nil || fa.ScheduledEventId != point-2 || fa.StartedEventId != point-1 {
		t.Fatalf("event %d: %v", point, evs[point-1])
	}
	sa := evs[point].GetWorkflowExecutionSignaledEventAttributes()
	if sa == nil || sa.SignalName != "sig" {
		t.Fatalf("event %d is not the reapplied signal: %v", point+1, evs[point])
	}
	sched := evs[point+1].GetWorkflowTaskScheduledEventAttributes()
	if sched == nil || sched.Attempt != 1 {
		t.Fatalf("event %d: %v", point+2, evs[point+1])
	}
	if n := count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED); n != 2 {
		t.Fatalf("%d signals in the new run: %v", n, types(evs))
	}
	d, err = e.c.DescribeWorkflowExecution(e.ctx(), id, newRun)
	if err != nil {
		t.Fatal(err)
	}
	x := d.WorkflowExtendedInfo
	if x.GetLastResetTime() == nil || !x.GetOriginalStartTime().AsTime().Equal(oldEvs[0].EventTime.AsTime()) ||
		!d.WorkflowExecutionInfo.StartTime.AsTime().Equal(x.GetLastResetTime().AsTime()) {
		t.Fatalf("new run extended info: %v start %v", x, d.WorkflowExecutionInfo.StartTime)
	}
	if d.WorkflowExecutionInfo.FirstRunId != oldRun {
		t.Fatalf("first run id %q", d.WorkflowExecutionInfo.FirstRunId)
	}
	// Deleting the reset run leaves the base run readable by its run id.
	if _, err := e.c.WorkflowService().DeleteWorkflowExecution(e.ctx(), &workflowservice.DeleteWorkflowExecutionRequest{
		Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: newRun},
	}); err != nil {
		t.Fatal(err)
	}
	if got := e.history(id, oldRun); len(got) != len(oldEvs) {
		t.Fatalf("base run history after deleting the reset run: %d events, want %d", len(got), len(oldEvs))
	}
	if d, err := e.c.DescribeWorkflowExecution(e.ctx(), id, oldRun); err != nil || d.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED {
		t.Fatalf("describe base run after deleting the reset run: %v", err)
	}
}

// TestResetClosedExcludingSignals resets a completed workflow with
// signals excluded (the run waits for new ones), then resets the original
// run again while the first reset's run is open: that run is terminated
// and the signals of the original run are reapplied this time.
func TestResetClosedExcludingSignals(t *testing.T) {
	e := newEnv(t)
	resetWorker(e)
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("reset-closed"), resetWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	id, r0 := run.GetID(), run.GetRunID()
	waitEvents(t, e, id, r0, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, 1) // the signals come after the reset point
	for _, s := range []string{"a", "b"} {
		if err := e.c.SignalWorkflow(e.ctx(), id, "", "sig", s); err != nil {
			t.Fatal(err)
		}
	}
	var res string
	if err := run.Get(e.ctx(), &res); err != nil || res != "one,sig:a,two,sig:b" {
		t.Fatalf("first run: %q %v", res, err)
	}
	h0 := e.history(id, r0)
	point := nthEvent(t, h0, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, 1)

	r1, err := e.reset(id, r0, point, func(r *workflowservice.ResetWorkflowExecutionRequest) {
		r.ResetReapplyExcludeTypes = []enumspb.ResetReapplyExcludeType{enumspb.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL}
	})
	if err != nil {
		t.Fatal(err)
	}
	// The completed run stays completed, linked to the new run.
	d, err := e.c.DescribeWorkflowExecution(e.ctx(), id, r0)
	if err != nil || d.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED || d.WorkflowExtendedInfo.GetResetRunId() != r1 {
		t.Fatalf("original run after reset: %v %v", d, err)
	}
	waitEvents(t, e, id, r1, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, 1)
	if n := count(e.history(id, r1), enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED); n != 0 {
		t.Fatalf("excluded signals were reapplied: %d", n)
	}

	// Reset the original run again (reapply type ALL): r1 is current and
	// running, so it is terminated.
	r2, err := e.reset(id, r0, point, func(r *workflowservice.ResetWorkflowExecutionRequest) {
		r.ResetReapplyType = enumspb.RESET_REAPPLY_TYPE_ALL_ELIGIBLE
	})
	if err != nil {
		t.Fatal(err)
	}
	var res2 string
	if err := e.c.GetWorkflow(e.ctx(), id, r2).Get(e.ctx(), &res2); err != nil || res2 != "one,sig:a,two,sig:b" {
		t.Fatalf("second reset run: %q %v", res2, err)
	}
	h1 := e.history(id, r1)
	if ta := h1[len(h1)-1].GetWorkflowExecutionTerminatedEventAttributes(); ta == nil || ta.Identity != "history-resetter" {
		t.Fatalf("first reset run was not terminated by the reset: %v", types(h1))
	}
	d, err = e.c.DescribeWorkflowExecution(e.ctx(), id, r0)
	if err != nil || d.WorkflowExtendedInfo.GetResetRunId() != r2 {
		t.Fatalf("original run's reset run after the second reset: %v %v", d.GetWorkflowExtendedInfo(), err)
	}
	// Resetting with RESET_REAPPLY_TYPE_NONE reapplies nothing. The point
	// is r2's failed (reset) workflow task, which ends a task too; the
	// signals reapplied into r2 come after it.
	h2 := e.history(id, r2)
	r3, err := e.reset(id, r2, nthEvent(t, h2, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED, 1), func(r *workflowservice.ResetWorkflowExecutionRequest) {
		r.ResetReapplyType = enumspb.RESET_REAPPLY_TYPE_NONE
	})
	if err != nil {
		t.Fatal(err)
	}
	h3 := waitEvents(t, e, id, r3, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, 1)
	if n := count(h3, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED); n != 0 {
		t.Fatalf("reapply type NONE reapplied %d signals", n)
	}
}

// TestResetErrors checks the request validation answers.
func TestResetErrors(t *testing.T) {
	e := newEnv(t)
	svc := e.c.WorkflowService()
	base := func() *workflowservice.ResetWorkflowExecutionRequest {
		return &workflowservice.ResetWorkflowExecutionRequest{
			Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: "nope"},
			WorkflowTaskFinishEventId: 4, RequestId: uuid.NewString(),
		}
	}
	cases := map[string]struct {
		mod  func(*workflowservice.ResetWorkflowExecutionRequest)
		want string
	}{
		"no request id":  {func(r *workflowservice.ResetWorkflowExecutionRequest) { r.RequestId = "" }, "RequestId is not set"},
		"no workflow id": {func(r *workflowservice.ResetWorkflowExecutionRequest) { r.WorkflowExecution.WorkflowId = "" }, "WorkflowId is not set"},
		"signal post op": {func(r *workflowservice.ResetWorkflowExecutionRequest) {
			r.PostResetOperations = []*workflowpb.PostResetOperation{{Variant: &workflowpb.PostResetOperation_SignalWorkflow_{SignalWorkflow: &workflowpb.PostResetOperation_SignalWorkflow{SignalName: "x"}}}}
		}, "unsupported post reset operation"},
	}
	for name, c := range cases {
		r := base()
		c.mod(r)
		_, err := svc.ResetWorkflowExecution(e.ctx(), r)
		var inv *serviceerror.InvalidArgument
		if !errors.As(err, &inv) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want InvalidArgument %q", name, err, c.want)
		}
	}
	_, err := svc.ResetWorkflowExecution(e.ctx(), base())
	var nf *serviceerror.NotFound
	if !errors.As(err, &nf) {
		t.Fatalf("unknown workflow: %v", err)
	}
}

var resetSlowRuns atomic.Int32

func resetSlowActivity(_ context.Context) (string, error) {
	resetSlowRuns.Add(1)
	time.Sleep(300 * time.Millisecond)
	return "act", nil
}

// resetActivityWorkflow receives a signal while its activity runs.
func resetActivityWorkflow(ctx workflow.Context) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	f := workflow.ExecuteActivity(ctx, resetSlowActivity)
	var s string
	workflow.GetSignalChannel(ctx, "sig").Receive(ctx, &s)
	var r string
	if err := f.Get(ctx, &r); err != nil {
		return "", err
	}
	return r + ":" + s, nil
}

// TestResetReschedulesPendingActivity resets a completed run to a
// workflow task that ran while its activity was pending: the new run
// schedules that activity again (same scheduled event, dispatched anew)
// and the worker runs it a second time.
func TestResetReschedulesPendingActivity(t *testing.T) {
	e := newEnv(t)
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(resetActivityWorkflow)
		w.RegisterActivity(resetSlowActivity)
	})
	resetSlowRuns.Store(0)
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("reset-activity"), resetActivityWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	waitEvents(t, e, run.GetID(), run.GetRunID(), enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, 1)
	if err := e.c.SignalWorkflow(e.ctx(), run.GetID(), "", "sig", "s"); err != nil {
		t.Fatal(err)
	}
	var res string
	if err := run.Get(e.ctx(), &res); err != nil || res != "act:s" {
		t.Fatalf("first run: %q %v", res, err)
	}
	old := e.history(run.GetID(), run.GetRunID())
	scheduled := nthEvent(t, old, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, 1)
	point := nthEvent(t, old, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, 2)
	if completed := nthEvent(t, old, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, 1); completed < point {
		t.Skipf("the activity finished before the signal's task (%v); nothing pending at the point", types(old))
	}
	newRun, err := e.reset(run.GetID(), run.GetRunID(), point, nil)
	if err != nil {
		t.Fatal(err)
	}
	var res2 string
	if err := e.c.GetWorkflow(e.ctx(), run.GetID(), newRun).Get(e.ctx(), &res2); err != nil || res2 != "act:s" {
		t.Fatalf("reset run: %q %v", res2, err)
	}
	if n := resetSlowRuns.Load(); n != 2 {
		t.Fatalf("activity ran %d times, want 2", n)
	}
	evs := e.history(run.GetID(), newRun)
	requireWellFormed(t, evs)
	var done *historypb.ActivityTaskCompletedEventAttributes
	for _, ev := range evs {
		if a := ev.GetActivityTaskCompletedEventAttributes(); a != nil {
			done = a
		}
	}
	if done == nil || done.ScheduledEventId != scheduled || count(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) != 1 {
		t.Fatalf("new run's activity: %v", types(evs))
	}
}

// TestResetSurvivesRestart: the links, times and request id of a reset are
// durable, and the reset run goes on after a restart.
func TestResetSurvivesRestart(t *testing.T) {
	e := newEnv(t)
	w1 := rsWorker(e, e.tq, func(w worker.Worker) {
		w.RegisterWorkflow(resetWorkflow)
		w.RegisterActivity(resetActivity)
	})
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("reset-restart"), resetWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	id, oldRun := run.GetID(), run.GetRunID()
	waitEvents(t, e, id, oldRun, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, 1)
	if err := e.c.SignalWorkflow(e.ctx(), id, "", "sig", "a"); err != nil {
		t.Fatal(err)
	}
	old := waitEvents(t, e, id, oldRun, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, 2)
	reqID := uuid.NewString()
	withReq := func(r *workflowservice.ResetWorkflowExecutionRequest) { r.RequestId = reqID }
	newRun, err := e.reset(id, oldRun, nthEvent(t, old, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, 1), withReq)
	if err != nil {
		t.Fatal(err)
	}
	// Let the reset run reach its wait for the second signal, so the
	// worker stops between tasks.
	waitEvents(t, e, id, newRun, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, 2)
	before, err := e.c.DescribeWorkflowExecution(e.ctx(), id, newRun)
	if err != nil {
		t.Fatal(err)
	}
	w1.Stop()
	e.restart()

	after, err := e.c.DescribeWorkflowExecution(e.ctx(), id, newRun)
	if err != nil {
		t.Fatal(err)
	}
	if !after.WorkflowExtendedInfo.GetLastResetTime().AsTime().Equal(before.WorkflowExtendedInfo.GetLastResetTime().AsTime()) ||
		!after.WorkflowExecutionInfo.StartTime.AsTime().Equal(before.WorkflowExecutionInfo.StartTime.AsTime()) {
		t.Fatalf("reset run changed across restart: %v -> %v", before.WorkflowExtendedInfo, after.WorkflowExtendedInfo)
	}
	if d, err := e.c.DescribeWorkflowExecution(e.ctx(), id, oldRun); err != nil || d.WorkflowExtendedInfo.GetResetRunId() != newRun {
		t.Fatalf("old run's reset link after restart: %v", err)
	}
	if again, err := e.reset(id, oldRun, 4, withReq); err != nil || again != newRun {
		t.Fatalf("retried reset after restart: %q %v", again, err)
	}
	rsWorker(e, e.tq, func(w worker.Worker) {
		w.RegisterWorkflow(resetWorkflow)
		w.RegisterActivity(resetActivity)
	})
	if err := e.c.SignalWorkflow(e.ctx(), id, "", "sig", "b"); err != nil {
		t.Fatal(err)
	}
	var res string
	if err := e.c.GetWorkflow(e.ctx(), id, newRun).Get(e.ctx(), &res); err != nil || res != "one,sig:a,two,sig:b" {
		t.Fatalf("reset run after restart: %q %v", res, err)
	}
}

// resetUpdateWorkflow collects the values of "add" updates until "done".
func resetUpdateWorkflow(ctx workflow.Context) (string, error) {
	var got []string
	if err := workflow.SetUpdateHandler(ctx, "add", func(ctx workflow.Context, v string) (int, error) {
		got = append(got, v)
		return len(got), nil
	}); err != nil {
		return "", err
	}
	workflow.GetSignalChannel(ctx, "done").Receive(ctx, nil)
	return strings.Join(got, ","), nil
}

// TestResetReappliesUpdates: updates accepted after the reset point are
// recorded again in the reset run as UpdateAdmitted (origin REAPPLY); the
// worker reads them from history and runs them again. Excluding updates
// leaves them out.
func TestResetReappliesUpdates(t *testing.T) {
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(resetUpdateWorkflow) })
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("reset-update"), resetUpdateWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	id, r0 := run.GetID(), run.GetRunID()
	waitEvents(t, e, id, r0, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, 1)
	for _, v := range []string{"x", "y"} {
		h, err := e.c.UpdateWorkflow(e.ctx(), client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: "add", Args: []interface{}{v}, WaitForStage: client.WorkflowUpdateStageCompleted})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Get(e.ctx(), nil); err != nil {
			t.Fatal(err)
		}
	}
	point := nthEvent(t, e.history(id, r0), enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, 1)

	r1, err := e.reset(id, r0, point, nil)
	if err != nil {
		t.Fatal(err)
	}
	evs := waitEvents(t, e, id, r1, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED, 2)
	var admitted []string
	for _, ev := range evs {
		if a := ev.GetWorkflowExecutionUpdateAdmittedEventAttributes(); a != nil {
			if a.Origin != enumspb.UPDATE_ADMITTED_EVENT_ORIGIN_REAPPLY {
				t.Fatalf("admitted event origin %v", a.Origin)
			}
			admitted = append(admitted, a.Request.GetMeta().GetUpdateId())
		}
	}
	if len(admitted) != 2 {
		t.Fatalf("reapplied updates %v in %v", admitted, types(evs))
	}
	if err := e.c.SignalWorkflow(e.ctx(), id, r1, "done", nil); err != nil {
		t.Fatal(err)
	}
	var res string
	if err := e.c.GetWorkflow(e.ctx(), id, r1).Get(e.ctx(), &res); err != nil || res != "x,y" {
		t.Fatalf("reset run with reapplied updates: %q %v", res, err)
	}

	// Excluding updates: the run sees none of them.
	r2, err := e.reset(id, r0, point, func(r *workflowservice.ResetWorkflowExecutionRequest) {
		r.ResetReapplyExcludeTypes = []enumspb.ResetReapplyExcludeType{enumspb.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.c.SignalWorkflow(e.ctx(), id, r2, "done", nil); err != nil {
		t.Fatal(err)
	}
	if err := e.c.GetWorkflow(e.ctx(), id, r2).Get(e.ctx(), &res); err != nil || res != "" {
		t.Fatalf("reset run without updates: %q %v", res, err)
	}
	if n := count(e.history(id, r2), enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ADMITTED); n != 0 {
		t.Fatalf("%d updates reapplied despite the exclusion", n)
	}
}

func resetChildWorkflow(ctx workflow.Context) (string, error) {
	workflow.GetSignalChannel(ctx, "go").Receive(ctx, nil)
	return "child", nil
}

func resetParentWorkflow(ctx workflow.Context) (string, error) {
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID + "-child"})
	f := workflow.ExecuteChildWorkflow(cctx, resetChildWorkflow)
	if err := f.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		return "", err
	}
	var s string
	workflow.GetSignalChannel(ctx, "sig").Receive(ctx, &s)
	var r string
	if err := f.Get(ctx, &r); err != nil {
		return "", err
	}
	return r + ":" + s, nil
}

// TestResetKeepsPendingChild resets a parent to a point where its child
// was running: the reset does not apply the parent close policy (the child
// keeps running), and the child's completion, addressed to the replaced
// run, reaches the reset run.
func TestResetKeepsPendingChild(t *testing.T) {
	e := newEnv(t)
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(resetParentWorkflow)
		w.RegisterWorkflow(resetChildWorkflow)
	})
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("reset-parent"), resetParentWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	id, r0 := run.GetID(), run.GetRunID()
	old := waitEvents(t, e, id, r0, enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED, 1)
	started := nthEvent(t, old, enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED, 1)
	old = waitEvents(t, e, id, r0, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, 2)
	point := nthEvent(t, old, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, 2)
	if point < started {
		t.Fatalf("no task after the child started: %v", types(old))
	}
	if err := e.c.SignalWorkflow(e.ctx(), id, "", "sig", "s"); err != nil {
		t.Fatal(err)
	}
	r1, err := e.reset(id, r0, point, nil)
	if err != nil {
		t.Fatal(err)
	}
	child, err := e.c.DescribeWorkflowExecution(e.ctx(), id+"-child", "")
	if err != nil || child.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("child after the parent's reset: %v %v", child.GetWorkflowExecutionInfo().GetStatus(), err)
	}
	if err := e.c.SignalWorkflow(e.ctx(), id+"-child", "", "go", nil); err != nil {
		t.Fatal(err)
	}
	var res string
	if err := e.c.GetWorkflow(e.ctx(), id, r1).Get(e.ctx(), &res); err != nil || res != "child:s" {
		t.Fatalf("reset parent: %q %v; history %v", res, err, types(e.history(id, r1)))
	}
}

// resetCANWorkflow waits for a signal, then continues as new once; the
// second run waits for two more signals.
func resetCANWorkflow(ctx workflow.Context, n int) (string, error) {
	ch := workflow.GetSignalChannel(ctx, "sig")
	var s string
	ch.Receive(ctx, &s)
	if n == 0 {
		return "", workflow.NewContinueAsNewError(ctx, resetCANWorkflow, 1)
	}
	var s2 string
	ch.Receive(ctx, &s2)
	return s + s2, nil
}

// TestResetAcrossContinueAsNew resets the first run of a chain while its
// successor is current: the successor is terminated, and the signals of
// both runs after the reset point are reapplied, in order.
func TestResetAcrossContinueAsNew(t *testing.T) {
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(resetCANWorkflow) })
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("reset-can"), resetCANWorkflow, 0)
	if err != nil {
		t.Fatal(err)
	}
	id, r0 := run.GetID(), run.GetRunID()
	waitEvents(t, e, id, r0, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, 1)
	if err := e.c.SignalWorkflow(e.ctx(), id, "", "sig", "a"); err != nil {
		t.Fatal(err)
	}
	h0 := waitEvents(t, e, id, r0, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW, 1)
	r1 := h0[len(h0)-1].GetWorkflowExecutionContinuedAsNewEventAttributes().NewExecutionRunId
	waitEvents(t, e, id, r1, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, 1)
	if err := e.c.SignalWorkflow(e.ctx(), id, r1, "sig", "b"); err != nil {
		t.Fatal(err)
	}
	waitEvents(t, e, id, r1, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, 2)

	r2, err := e.reset(id, r0, nthEvent(t, h0, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	h1 := e.history(id, r1)
	if ta := h1[len(h1)-1].GetWorkflowExecutionTerminatedEventAttributes(); ta == nil || ta.Identity != "history-resetter" {
		t.Fatalf("current run of the chain not terminated by the reset: %v", types(h1))
	}
	var sigs []string
	for _, ev := range e.history(id, r2) {
		if a := ev.GetWorkflowExecutionSignaledEventAttributes(); a != nil {
			var s string
			if err := converter.GetDefaultDataConverter().FromPayloads(a.Input, &s); err != nil {
				t.Fatal(err)
			}
			sigs = append(sigs, s)
		}
	}
	if strings.Join(sigs, ",") != "a,b" {
		t.Fatalf("signals reapplied into the reset run: %v", sigs)
	}
}
