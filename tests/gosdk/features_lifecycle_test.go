package gosdk

import (
	"context"
	"errors"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// CounterCANWorkflow continues as new until n reaches max.
func CounterCANWorkflow(ctx workflow.Context, n, max int) (int, error) {
	if n < max {
		return 0, workflow.NewContinueAsNewError(ctx, CounterCANWorkflow, n+1, max)
	}
	return n * 100, nil
}

func TestFeatureContinueAsNewChain(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(CounterCANWorkflow) })
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("can"), CounterCANWorkflow, 0, 5)
	if err != nil {
		t.Fatal(err)
	}
	first := run.GetRunID() // GetRunID follows the chain once Get has run
	var out int
	if err := run.Get(e.ctx(), &out); err != nil || out != 500 {
		t.Fatalf("result %d err %v", out, err)
	}
	runID, prev := first, ""
	dc := converter.GetDefaultDataConverter()
	for i := 0; i <= 5; i++ {
		evs := e.history(run.GetID(), runID)
		requireWellFormed(t, evs)
		sa := evs[0].GetWorkflowExecutionStartedEventAttributes()
		if sa.FirstExecutionRunId != first {
			t.Fatalf("run %d FirstExecutionRunId %q, want %q", i, sa.FirstExecutionRunId, first)
		}
		if sa.ContinuedExecutionRunId != prev {
			t.Fatalf("run %d ContinuedExecutionRunId %q, want %q", i, sa.ContinuedExecutionRunId, prev)
		}
		if i > 0 && sa.Initiator != enumspb.CONTINUE_AS_NEW_INITIATOR_WORKFLOW {
			t.Fatalf("run %d initiator %v", i, sa.Initiator)
		}
		var n, max int
		if err := dc.FromPayloads(sa.Input, &n, &max); err != nil || n != i || max != 5 {
			t.Fatalf("run %d input %d %d %v", i, n, max, err)
		}
		last := evs[len(evs)-1]
		if i == 5 {
			requireClosedBy(t, evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
			if a := last.GetWorkflowExecutionCompletedEventAttributes(); a.NewExecutionRunId != "" {
				t.Fatalf("last run names a successor %q", a.NewExecutionRunId)
			}
			break
		}
		requireClosedBy(t, evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW)
		ca := last.GetWorkflowExecutionContinuedAsNewEventAttributes()
		if ca.NewExecutionRunId == "" || ca.WorkflowType.GetName() != "CounterCANWorkflow" || ca.TaskQueue.GetName() != e.tq {
			t.Fatalf("run %d continued-as-new attrs %v", i, ca)
		}
		d, err := e.c.DescribeWorkflowExecution(e.ctx(), run.GetID(), runID)
		if err != nil {
			t.Fatal(err)
		}
		if d.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
			t.Fatalf("run %d status %v", i, d.WorkflowExecutionInfo.Status)
		}
		prev, runID = runID, ca.NewExecutionRunId
	}
	// The current run is the last one.
	d, err := e.c.DescribeWorkflowExecution(e.ctx(), run.GetID(), "")
	if err != nil {
		t.Fatal(err)
	}
	if d.WorkflowExecutionInfo.Execution.GetRunId() != runID || d.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("current run %v %v, want %s completed", d.WorkflowExecutionInfo.Execution, d.WorkflowExecutionInfo.Status, runID)
	}
	// GetWorkflow without a run id follows to the end too.
	if err := e.c.GetWorkflow(e.ctx(), run.GetID(), "").Get(e.ctx(), &out); err != nil || out != 500 {
		t.Fatalf("GetWorkflow result %d err %v", out, err)
	}
}

func Cleanup(ctx context.Context) (string, error) { return "cleaned", nil }

// CancellableWorkflow waits to be canceled, then runs a cleanup activity
// on a disconnected context and returns the cancellation.
func CancellableWorkflow(ctx workflow.Context) (string, error) {
	err := workflow.Await(ctx, func() bool { return false })
	if !temporal.IsCanceledError(err) {
		return "", errors.New("await ended without cancellation")
	}
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	dctx = workflow.WithActivityOptions(dctx, workflow.ActivityOptions{StartToCloseTimeout: 5 * time.Second})
	var s string
	if err := workflow.ExecuteActivity(dctx, Cleanup).Get(dctx, &s); err != nil {
		return "", err
	}
	return s, ctx.Err()
}

func TestFeatureWorkflowCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(CancellableWorkflow)
		w.RegisterActivity(Cleanup)
	})
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("wfcancel"), CancellableWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if err := e.c.CancelWorkflow(e.ctx(), run.GetID(), ""); err != nil {
		t.Fatal(err)
	}
	err = run.Get(e.ctx(), nil)
	var ce *temporal.CanceledError
	if !errors.As(err, &ce) {
		t.Fatalf("want CanceledError, got %T %v", err, err)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	requireNoEventsInsideWFT(t, evs)
	requireClosedBy(t, evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED)
	cr := firstOf(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED)
	ac := firstOf(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
	if cr == nil || ac == nil || cr.EventId > ac.EventId || count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED) != 1 {
		t.Fatalf("want one cancel request then the cleanup activity: %v", types(evs))
	}
	can := evs[len(evs)-1].GetWorkflowExecutionCanceledEventAttributes()
	if can.WorkflowTaskCompletedEventId != evs[len(evs)-2].EventId {
		t.Fatalf("canceled event WorkflowTaskCompletedEventId %d", can.WorkflowTaskCompletedEventId)
	}
	d, err := e.c.DescribeWorkflowExecution(e.ctx(), run.GetID(), "")
	if err != nil || d.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED {
		t.Fatalf("describe %v %v", d, err)
	}
	// As in Temporal, cancelling a closed workflow succeeds and changes nothing.
	if err := e.c.CancelWorkflow(e.ctx(), run.GetID(), ""); err != nil {
		t.Fatalf("cancel of a canceled workflow: %v", err)
	}
	if n := len(e.history(run.GetID(), run.GetRunID())); n != len(evs) {
		t.Fatalf("history grew from %d to %d events", len(evs), n)
	}
}

// BusyWorkflow has a pending timer and a pending activity forever.
func BusyWorkflow(ctx workflow.Context) error {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute, HeartbeatTimeout: 10 * time.Second})
	workflow.ExecuteActivity(actx, BlockForever)
	return workflow.Sleep(ctx, time.Hour)
}

func TestFeatureWorkflowTerminate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(BusyWorkflow)
		w.RegisterActivity(BlockForever)
	})
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("terminate"), BusyWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if err := e.c.TerminateWorkflow(e.ctx(), run.GetID(), "", "enough", "detail-1"); err != nil {
		t.Fatal(err)
	}
	err = run.Get(e.ctx(), nil)
	var te *temporal.TerminatedError
	if !errors.As(err, &te) {
		t.Fatalf("want TerminatedError, got %T %v", err, err)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	requireClosedBy(t, evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED)
	ta := evs[len(evs)-1].GetWorkflowExecutionTerminatedEventAttributes()
	var detail string
	if ta.Reason != "enough" || converter.GetDefaultDataConverter().FromPayloads(ta.Details, &detail) != nil || detail != "detail-1" {
		t.Fatalf("terminated attrs %v", ta)
	}
	if count(evs, enumspb.EVENT_TYPE_TIMER_STARTED) != 1 || count(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) != 1 {
		t.Fatalf("history %v", types(evs))
	}
	d, err := e.c.DescribeWorkflowExecution(e.ctx(), run.GetID(), "")
	if err != nil || d.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED {
		t.Fatalf("describe %v %v", d, err)
	}
	// Nothing more is written after termination.
	time.Sleep(100 * time.Millisecond)
	if n := len(e.history(run.GetID(), run.GetRunID())); n != len(evs) {
		t.Fatalf("history grew after termination: %d -> %d", len(evs), n)
	}
}

func SleepForever(ctx workflow.Context) error {
	return workflow.Sleep(ctx, time.Hour)
}

func TestFeatureWorkflowRunTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(SleepForever) })
	o := e.opts("runtimeout")
	o.WorkflowRunTimeout = 500 * time.Millisecond
	start := time.Now()
	run, err := e.c.ExecuteWorkflow(e.ctx(), o, SleepForever)
	if err != nil {
		t.Fatal(err)
	}
	err = run.Get(e.ctx(), nil)
	var to *temporal.TimeoutError
	if !errors.As(err, &to) {
		t.Fatalf("want TimeoutError, got %T %v", err, err)
	}
	if el := time.Since(start); el < 500*time.Millisecond || el > 5*time.Second {
		t.Fatalf("timed out after %v", el)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	requireClosedBy(t, evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT)
	if rs := evs[len(evs)-1].GetWorkflowExecutionTimedOutEventAttributes().RetryState; rs != enumspb.RETRY_STATE_RETRY_POLICY_NOT_SET {
		t.Fatalf("retry state %v", rs)
	}
	if rt := evs[0].GetWorkflowExecutionStartedEventAttributes().WorkflowRunTimeout.AsDuration(); rt != 500*time.Millisecond {
		t.Fatalf("run timeout in start event %v", rt)
	}
	d, err := e.c.DescribeWorkflowExecution(e.ctx(), run.GetID(), "")
	if err != nil || d.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT {
		t.Fatalf("describe %v %v", d, err)
	}
}

// FailTwiceWorkflow fails on attempts 1 and 2 and returns its attempt.
func FailTwiceWorkflow(ctx workflow.Context) (int32, error) {
	a := workflow.GetInfo(ctx).Attempt
	if a < 3 {
		return 0, temporal.NewApplicationError("attempt failed", "TryAgain")
	}
	return a, nil
}

func TestFeatureWorkflowRetryPolicy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(FailTwiceWorkflow) })
	o := e.opts("wfretry")
	o.RetryPolicy = &temporal.RetryPolicy{InitialInterval: 100 * time.Millisecond, BackoffCoefficient: 1, MaximumAttempts: 5}
	run, err := e.c.ExecuteWorkflow(e.ctx(), o, FailTwiceWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	first := run.GetRunID()
	var attempt int32
	if err := run.Get(e.ctx(), &attempt); err != nil || attempt != 3 {
		t.Fatalf("result %d err %v", attempt, err)
	}
	runID, prev := first, ""
	for i := int32(1); i <= 3; i++ {
		evs := e.history(run.GetID(), runID)
		requireWellFormed(t, evs)
		sa := evs[0].GetWorkflowExecutionStartedEventAttributes()
		if sa.Attempt != i || sa.FirstExecutionRunId != first || sa.ContinuedExecutionRunId != prev {
			t.Fatalf("run %d start attrs attempt %d first %q continued %q", i, sa.Attempt, sa.FirstExecutionRunId, sa.ContinuedExecutionRunId)
		}
		if i > 1 {
			if sa.Initiator != enumspb.CONTINUE_AS_NEW_INITIATOR_RETRY {
				t.Fatalf("run %d initiator %v", i, sa.Initiator)
			}
			if sa.FirstWorkflowTaskBackoff.AsDuration() != 100*time.Millisecond {
				t.Fatalf("run %d backoff %v", i, sa.FirstWorkflowTaskBackoff.AsDuration())
			}
			if sa.ContinuedFailure.GetApplicationFailureInfo().GetType() != "TryAgain" {
				t.Fatalf("run %d continued failure %v", i, sa.ContinuedFailure)
			}
		}
		if i == 3 {
			requireClosedBy(t, evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
			break
		}
		requireClosedBy(t, evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED)
		fa := evs[len(evs)-1].GetWorkflowExecutionFailedEventAttributes()
		if fa.RetryState != enumspb.RETRY_STATE_IN_PROGRESS || fa.NewExecutionRunId == "" {
			t.Fatalf("run %d failed attrs %v", i, fa)
		}
		prev, runID = runID, fa.NewExecutionRunId
	}
}

// FailAlwaysWorkflow always fails.
func FailAlwaysWorkflow(ctx workflow.Context) error {
	return temporal.NewApplicationError("nope", "Nope")
}

func TestFeatureWorkflowRetryExhausted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(FailAlwaysWorkflow) })
	o := e.opts("wfretryx")
	o.RetryPolicy = &temporal.RetryPolicy{InitialInterval: 50 * time.Millisecond, MaximumAttempts: 2}
	run, err := e.c.ExecuteWorkflow(e.ctx(), o, FailAlwaysWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	first := run.GetRunID()
	err = run.Get(e.ctx(), nil)
	var we *temporal.WorkflowExecutionError
	var app *temporal.ApplicationError
	if !errors.As(err, &we) || !errors.As(err, &app) || app.Type() != "Nope" {
		t.Fatalf("want WorkflowExecutionError(Nope), got %T %v", err, err)
	}
	d, err := e.c.DescribeWorkflowExecution(e.ctx(), run.GetID(), "")
	if err != nil {
		t.Fatal(err)
	}
	if d.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_FAILED || d.WorkflowExecutionInfo.Execution.GetRunId() == first {
		t.Fatalf("current run %v status %v", d.WorkflowExecutionInfo.Execution, d.WorkflowExecutionInfo.Status)
	}
	evs := e.history(run.GetID(), d.WorkflowExecutionInfo.Execution.GetRunId())
	requireClosedBy(t, evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED)
	if evs[0].GetWorkflowExecutionStartedEventAttributes().Attempt != 2 {
		t.Fatalf("last attempt %d", evs[0].GetWorkflowExecutionStartedEventAttributes().Attempt)
	}
	if fa := evs[len(evs)-1].GetWorkflowExecutionFailedEventAttributes(); fa.RetryState != enumspb.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED || fa.NewExecutionRunId != "" {
		t.Fatalf("final failed attrs %v", fa)
	}
}

var _ client.Client
