package gosdk

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

var slowCompleteStarted = make(chan struct{}, 8)

// SlowCompleteWorkflow spends a while in its workflow task and then
// completes with the number of "late" signals it has seen. A signal that
// arrives during the task must not be lost: the server has to refuse the
// completion and give the workflow a new task that contains the signal.
func SlowCompleteWorkflow(ctx workflow.Context, can bool) (int, error) {
	if !workflow.IsReplaying(ctx) {
		select {
		case slowCompleteStarted <- struct{}{}:
		default:
		}
	}
	time.Sleep(300 * time.Millisecond)
	ch := workflow.GetSignalChannel(ctx, "late")
	n := 0
	for ch.ReceiveAsync(nil) {
		n++
	}
	if n == 0 && can {
		return 0, workflow.NewContinueAsNewError(ctx, SlowCompleteWorkflow, false)
	}
	return n, nil
}

func TestFeatureSignalDuringCompletingTask(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(SlowCompleteWorkflow) })
	for _, can := range []bool{false, true} {
		name := "complete"
		if can {
			name = "continue-as-new"
		}
		t.Run(name, func(t *testing.T) {
			for len(slowCompleteStarted) > 0 {
				<-slowCompleteStarted
			}
			run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("latesig"), SlowCompleteWorkflow, can)
			if err != nil {
				t.Fatal(err)
			}
			first := run.GetRunID()
			<-slowCompleteStarted
			time.Sleep(50 * time.Millisecond) // the task is running now
			if err := e.c.SignalWorkflow(e.ctx(), run.GetID(), "", "late", nil); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := run.Get(e.ctx(), &n); err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Fatalf("workflow saw %d signals, want 1 (signal lost)", n)
			}
			evs := e.history(run.GetID(), first)
			requireWellFormed(t, evs)
			requireNoEventsInsideWFT(t, evs)
			requireClosedBy(t, evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
			if count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) != 1 {
				t.Fatalf("history %v", types(evs))
			}
			// Temporal: the first completion is refused with UNHANDLED_COMMAND.
			f := firstOf(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED)
			if f == nil || f.GetWorkflowTaskFailedEventAttributes().Cause != enumspb.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND {
				t.Errorf("want a WorkflowTaskFailed with UNHANDLED_COMMAND: %v", types(evs))
			}
		})
	}
}

var wftTimeoutCalls atomic.Int32

// SlowFirstTaskWorkflow overruns its workflow task timeout on the first
// attempt only.
func SlowFirstTaskWorkflow(ctx workflow.Context) (string, error) {
	if wftTimeoutCalls.Add(1) == 1 {
		time.Sleep(800 * time.Millisecond)
	}
	return "second task ok", nil
}

func TestFeatureWorkflowTaskTimeout(t *testing.T) {
	t.Parallel()
	wftTimeoutCalls.Store(0)
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(SlowFirstTaskWorkflow) })
	o := e.opts("wfttimeout")
	o.WorkflowTaskTimeout = 400 * time.Millisecond
	run, err := e.c.ExecuteWorkflow(e.ctx(), o, SlowFirstTaskWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if err := run.Get(e.ctx(), &out); err != nil || out != "second task ok" {
		t.Fatalf("result %q err %v", out, err)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	requireClosedBy(t, evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
	to := firstOf(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT)
	if to == nil || to.GetWorkflowTaskTimedOutEventAttributes().TimeoutType != enumspb.TIMEOUT_TYPE_START_TO_CLOSE {
		t.Fatalf("want WorkflowTaskTimedOut: %v", types(evs))
	}
	if evs[0].GetWorkflowExecutionStartedEventAttributes().WorkflowTaskTimeout.AsDuration() != 400*time.Millisecond {
		t.Fatalf("task timeout in start event %v", evs[0].GetWorkflowExecutionStartedEventAttributes().WorkflowTaskTimeout)
	}
	if count(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) != 1 {
		t.Fatalf("the late completion of the timed-out task was accepted: %v", types(evs))
	}
}

var orphanSawCancel = make(chan bool, 2)

// OrphanHeartbeater heartbeats until its context ends.
func OrphanHeartbeater(ctx context.Context) error {
	for {
		activity.RecordHeartbeat(ctx)
		select {
		case <-ctx.Done():
			orphanSawCancel <- true
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// LeaveActivityWorkflow starts an activity and completes without waiting.
func LeaveActivityWorkflow(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute, HeartbeatTimeout: 500 * time.Millisecond})
	workflow.ExecuteActivity(ctx, OrphanHeartbeater)
	return workflow.Sleep(ctx, 200*time.Millisecond)
}

func TestFeatureActivityOutlivesWorkflow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(LeaveActivityWorkflow)
		w.RegisterActivity(OrphanHeartbeater)
	})
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("orphan"), LeaveActivityWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(e.ctx(), nil); err != nil {
		t.Fatal(err)
	}
	// The heartbeat of the orphaned activity fails and the SDK cancels it.
	select {
	case <-orphanSawCancel:
	case <-time.After(3 * time.Second):
		t.Fatal("activity of a completed workflow was never told to stop")
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	requireClosedBy(t, evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
	if count(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED) != 0 {
		t.Fatalf("history %v", types(evs))
	}
}

// ManyMarkersWorkflow records n side effects in one task, then waits for a
// signal, so its history is longer than one page.
func ManyMarkersWorkflow(ctx workflow.Context, n int) (int, error) {
	sum := 0
	for i := 0; i < n; i++ {
		var v int
		if err := workflow.SideEffect(ctx, func(workflow.Context) interface{} { return i }).Get(&v); err != nil {
			return 0, err
		}
		sum += v
	}
	if err := workflow.SetQueryHandler(ctx, "sum", func() (int, error) { return sum, nil }); err != nil {
		return 0, err
	}
	workflow.GetSignalChannel(ctx, "go").Receive(ctx, nil)
	return sum, nil
}

func TestFeatureLongHistoryPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(ManyMarkersWorkflow) })
	const n = 2500
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("paging"), ManyMarkersWorkflow, n)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.c.SignalWorkflow(e.ctx(), run.GetID(), "", "go", nil); err != nil {
		t.Fatal(err)
	}
	want := n * (n - 1) / 2
	var sum int
	if err := run.Get(e.ctx(), &sum); err != nil || sum != want {
		t.Fatalf("result %d err %v", sum, err)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	if c := count(evs, enumspb.EVENT_TYPE_MARKER_RECORDED); c != n {
		t.Fatalf("%d markers", c)
	}
	// A query of the closed workflow replays the whole (multi-page) history
	// on a fresh worker path.
	v, err := e.c.QueryWorkflow(e.ctx(), run.GetID(), "", "sum")
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Get(&sum); err != nil || sum != want {
		t.Fatalf("query %d err %v", sum, err)
	}
	d, err := e.c.DescribeWorkflowExecution(e.ctx(), run.GetID(), "")
	if err != nil {
		t.Fatal(err)
	}
	if d.WorkflowExecutionInfo.HistoryLength != int64(len(evs)) {
		t.Fatalf("describe history length %d, history has %d", d.WorkflowExecutionInfo.HistoryLength, len(evs))
	}
}

// WaitAnySignalWorkflow completes on the first "go" signal.
func WaitAnySignalWorkflow(ctx workflow.Context) (string, error) {
	var s string
	workflow.GetSignalChannel(ctx, "go").Receive(ctx, &s)
	return "got " + s, nil
}

func TestFeatureWorkerShutdownMovesStickyTasks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w1 := worker.New(e.c, e.tq, worker.Options{StickyScheduleToStartTimeout: 10 * time.Second})
	w1.RegisterWorkflow(WaitAnySignalWorkflow)
	if err := w1.Start(); err != nil {
		t.Fatal(err)
	}
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("shutdown"), WaitAnySignalWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	// Wait for the first task to complete on w1 (the run is now sticky to it).
	deadline := time.Now().Add(3 * time.Second)
	for count(e.history(run.GetID(), run.GetRunID()), enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("first task never completed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	w1.Stop()
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(WaitAnySignalWorkflow) })
	start := time.Now()
	if err := e.c.SignalWorkflow(e.ctx(), run.GetID(), "", "go", "w2"); err != nil {
		t.Fatal(err)
	}
	var out string
	if err := run.Get(e.ctx(), &out); err != nil || out != "got w2" {
		t.Fatalf("result %q err %v", out, err)
	}
	// ShutdownWorker moved the run off w1's sticky queue: no wait for the
	// 10s sticky schedule-to-start timeout.
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("task took %v to reach the new worker", el)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	requireClosedBy(t, evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
}

// SignalAfterCANWorkflow continues as new once, then waits for a signal.
func SignalAfterCANWorkflow(ctx workflow.Context, first bool) (string, error) {
	if first {
		return "", workflow.NewContinueAsNewError(ctx, SignalAfterCANWorkflow, false)
	}
	var s string
	workflow.GetSignalChannel(ctx, "go").Receive(ctx, &s)
	return "second run got " + s, nil
}

func TestFeatureSignalFollowsContinueAsNew(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(SignalAfterCANWorkflow) })
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("sigcan"), SignalAfterCANWorkflow, true)
	if err != nil {
		t.Fatal(err)
	}
	first := run.GetRunID()
	deadline := time.Now().Add(3 * time.Second)
	for {
		d, err := e.c.DescribeWorkflowExecution(e.ctx(), run.GetID(), "")
		if err == nil && d.WorkflowExecutionInfo.Execution.GetRunId() != first {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("never continued as new")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Signalling the old run by run id fails; by workflow id reaches the new run.
	if err := e.c.SignalWorkflow(e.ctx(), run.GetID(), first, "go", "old"); err == nil {
		t.Fatal("signal to the closed first run succeeded")
	}
	if err := e.c.SignalWorkflow(e.ctx(), run.GetID(), "", "go", "x"); err != nil {
		t.Fatal(err)
	}
	var out string
	if err := run.Get(e.ctx(), &out); err != nil || out != "second run got x" {
		t.Fatalf("result %q err %v", out, err)
	}
}

var _ client.Client

// QueryErrWorkflow has a query handler that fails and one that works.
func QueryErrWorkflow(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, "bad", func() (string, error) { return "", errors.New("query handler failed") }); err != nil {
		return err
	}
	if err := workflow.SetQueryHandler(ctx, "good", func() (string, error) { return "fine", nil }); err != nil {
		return err
	}
	workflow.GetSignalChannel(ctx, "finish").Receive(ctx, nil)
	return nil
}

func TestFeatureQueryErrorsAndRejectCondition(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(QueryErrWorkflow) })
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("queryerr"), QueryErrWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.QueryWorkflow(e.ctx(), run.GetID(), "", "bad"); err == nil || !strings.Contains(err.Error(), "query handler failed") {
		t.Fatalf("failing query handler: %v", err)
	}
	var qf *serviceerror.QueryFailed
	if _, err := e.c.QueryWorkflow(e.ctx(), run.GetID(), "", "bad"); !errors.As(err, &qf) {
		t.Fatalf("want QueryFailed, got %T", err)
	}
	resp, err := e.c.QueryWorkflowWithOptions(e.ctx(), &client.QueryWorkflowWithOptionsRequest{
		WorkflowID: run.GetID(), QueryType: "good", QueryRejectCondition: enumspb.QUERY_REJECT_CONDITION_NOT_OPEN,
	})
	if err != nil || resp.QueryRejected != nil {
		t.Fatalf("query of open workflow with NOT_OPEN: %v %v", resp, err)
	}
	var s string
	if err := resp.QueryResult.Get(&s); err != nil || s != "fine" {
		t.Fatalf("query result %q %v", s, err)
	}
	if err := e.c.SignalWorkflow(e.ctx(), run.GetID(), "", "finish", nil); err != nil {
		t.Fatal(err)
	}
	if err := run.Get(e.ctx(), nil); err != nil {
		t.Fatal(err)
	}
	resp, err = e.c.QueryWorkflowWithOptions(e.ctx(), &client.QueryWorkflowWithOptionsRequest{
		WorkflowID: run.GetID(), QueryType: "good", QueryRejectCondition: enumspb.QUERY_REJECT_CONDITION_NOT_OPEN,
	})
	if err != nil || resp.QueryRejected == nil || resp.QueryRejected.Status != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("query of closed workflow with NOT_OPEN: %v %v", resp, err)
	}
	// Unknown workflow: NotFound everywhere.
	var nf *serviceerror.NotFound
	if _, err := e.c.QueryWorkflow(e.ctx(), "no-such-workflow", "", "good"); !errors.As(err, &nf) {
		t.Fatalf("query unknown workflow: %T %v", err, err)
	}
	if _, err := e.c.DescribeWorkflowExecution(e.ctx(), "no-such-workflow", ""); !errors.As(err, &nf) {
		t.Fatalf("describe unknown workflow: %T %v", err, err)
	}
	if err := e.c.SignalWorkflow(e.ctx(), "no-such-workflow", "", "x", nil); !errors.As(err, &nf) {
		t.Fatalf("signal unknown workflow: %T %v", err, err)
	}
}
