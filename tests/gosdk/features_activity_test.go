package gosdk

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// ActivityCallParams configures GenericActivityWorkflow.
type ActivityCallParams struct {
	Activity           string
	StartToClose       time.Duration
	ScheduleToClose    time.Duration
	Heartbeat          time.Duration
	InitialInterval    time.Duration
	Coefficient        float64
	MaxAttempts        int32
	NonRetryableErrors []string
}

// GenericActivityWorkflow runs one activity (by name) with the given
// options and returns its string result.
func GenericActivityWorkflow(ctx workflow.Context, p ActivityCallParams) (string, error) {
	rp := &temporal.RetryPolicy{
		InitialInterval:        p.InitialInterval,
		BackoffCoefficient:     p.Coefficient,
		MaximumAttempts:        p.MaxAttempts,
		NonRetryableErrorTypes: p.NonRetryableErrors,
	}
	if rp.InitialInterval == 0 {
		rp.InitialInterval = 50 * time.Millisecond
	}
	if rp.BackoffCoefficient == 0 {
		rp.BackoffCoefficient = 1
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    p.StartToClose,
		ScheduleToCloseTimeout: p.ScheduleToClose,
		HeartbeatTimeout:       p.Heartbeat,
		RetryPolicy:            rp,
	})
	var out string
	err := workflow.ExecuteActivity(ctx, p.Activity).Get(ctx, &out)
	return out, err
}

// activityEnv starts an env with GenericActivityWorkflow and the given
// activities registered under their function names.
func activityEnv(t *testing.T, acts ...interface{}) *env {
	e := newEnv(t)
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(GenericActivityWorkflow)
		for _, a := range acts {
			w.RegisterActivity(a)
		}
	})
	return e
}

func runActivityWorkflow(e *env, id string, p ActivityCallParams) (client.WorkflowRun, string, error) {
	e.t.Helper()
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts(id), GenericActivityWorkflow, p)
	if err != nil {
		e.t.Fatal(err)
	}
	var out string
	err = run.Get(e.ctx(), &out)
	return run, out, err
}

func activityStarted(t *testing.T, evs []*historypb.HistoryEvent) *historypb.ActivityTaskStartedEventAttributes {
	t.Helper()
	ss := allOf(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED)
	if len(ss) != 1 {
		t.Fatalf("%d ActivityTaskStarted events, want 1: %v", len(ss), types(evs))
	}
	return ss[0].GetActivityTaskStartedEventAttributes()
}

func requireOneScheduled(t *testing.T, evs []*historypb.HistoryEvent) {
	t.Helper()
	if c := count(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED); c != 1 {
		t.Fatalf("%d ActivityTaskScheduled events, want 1 (retries are not new events): %v", c, types(evs))
	}
}

// SlowUntilThird blocks past its start-to-close timeout on attempts 1 and 2.
func SlowUntilThird(ctx context.Context) (string, error) {
	if activity.GetInfo(ctx).Attempt < 3 {
		<-ctx.Done()
		return "", ctx.Err()
	}
	return "third", nil
}

func TestFeatureActivityStartToCloseRetries(t *testing.T) {
	t.Parallel()
	e := activityEnv(t, SlowUntilThird)
	run, out, err := runActivityWorkflow(e, "s2c", ActivityCallParams{Activity: "SlowUntilThird", StartToClose: 300 * time.Millisecond})
	if err != nil || out != "third" {
		t.Fatalf("result %q err %v", out, err)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	requireOneScheduled(t, evs)
	st := activityStarted(t, evs)
	if st.Attempt != 3 {
		t.Fatalf("ActivityTaskStarted attempt %d, want 3", st.Attempt)
	}
	if tf := st.LastFailure.GetTimeoutFailureInfo(); tf == nil || tf.TimeoutType != enumspb.TIMEOUT_TYPE_START_TO_CLOSE {
		t.Fatalf("ActivityTaskStarted last failure %v, want a START_TO_CLOSE timeout", st.LastFailure)
	}
	if count(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) != 1 || count(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT) != 0 {
		t.Fatalf("history %v", types(evs))
	}
}

// BlockForever waits until its context ends.
func BlockForever(ctx context.Context) (string, error) {
	<-ctx.Done()
	return "", ctx.Err()
}

func TestFeatureActivityScheduleToCloseEndsRetries(t *testing.T) {
	t.Parallel()
	e := activityEnv(t, BlockForever)
	start := time.Now()
	run, _, err := runActivityWorkflow(e, "sched2close", ActivityCallParams{Activity: "BlockForever", StartToClose: 600 * time.Millisecond, ScheduleToClose: time.Second})
	var actErr *temporal.ActivityError
	if !errors.As(err, &actErr) {
		t.Fatalf("want ActivityError, got %T %v", err, err)
	}
	var to *temporal.TimeoutError
	if !errors.As(err, &to) || to.TimeoutType() != enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE {
		t.Fatalf("want SCHEDULE_TO_CLOSE TimeoutError, got %v", err)
	}
	if el := time.Since(start); el < 900*time.Millisecond || el > 5*time.Second {
		t.Fatalf("took %v, want about 1s", el)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	requireOneScheduled(t, evs)
	tos := allOf(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT)
	if len(tos) != 1 {
		t.Fatalf("%d ActivityTaskTimedOut: %v", len(tos), types(evs))
	}
	a := tos[0].GetActivityTaskTimedOutEventAttributes()
	if a.RetryState != enumspb.RETRY_STATE_TIMEOUT {
		t.Fatalf("retry state %v", a.RetryState)
	}
	if a.Failure.GetTimeoutFailureInfo().GetTimeoutType() != enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE {
		t.Fatalf("timeout failure %v", a.Failure)
	}
	// Attempt 1 timed out at 600ms, attempt 2 was running when the
	// schedule-to-close deadline passed.
	if st := activityStarted(t, evs); st.Attempt != 2 {
		t.Fatalf("ActivityTaskStarted attempt %d, want 2", st.Attempt)
	}
	requireClosedBy(t, evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED)
}

// HeartbeatOnceThenHang heartbeats once and then stops heartbeating.
func HeartbeatOnceThenHang(ctx context.Context) (string, error) {
	activity.RecordHeartbeat(ctx, "first")
	<-ctx.Done()
	return "", ctx.Err()
}

func TestFeatureActivityHeartbeatTimeout(t *testing.T) {
	t.Parallel()
	e := activityEnv(t, HeartbeatOnceThenHang)
	start := time.Now()
	run, _, err := runActivityWorkflow(e, "hbtimeout", ActivityCallParams{Activity: "HeartbeatOnceThenHang", StartToClose: 10 * time.Second, Heartbeat: 400 * time.Millisecond, MaxAttempts: 1})
	var to *temporal.TimeoutError
	if !errors.As(err, &to) || to.TimeoutType() != enumspb.TIMEOUT_TYPE_HEARTBEAT {
		t.Fatalf("want HEARTBEAT TimeoutError, got %T %v", err, err)
	}
	var details string
	if !to.HasLastHeartbeatDetails() || to.LastHeartbeatDetails(&details) != nil || details != "first" {
		t.Fatalf("timeout error heartbeat details %q", details)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("heartbeat timeout took %v", el)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	tos := allOf(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT)
	if len(tos) != 1 {
		t.Fatalf("%d ActivityTaskTimedOut: %v", len(tos), types(evs))
	}
	a := tos[0].GetActivityTaskTimedOutEventAttributes()
	if a.Failure.GetTimeoutFailureInfo().GetTimeoutType() != enumspb.TIMEOUT_TYPE_HEARTBEAT {
		t.Fatalf("timeout failure %v", a.Failure)
	}
	if a.RetryState != enumspb.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED {
		t.Fatalf("retry state %v", a.RetryState)
	}
}

// ResumeFromHeartbeat heartbeats progress and fails on attempt 1; attempt 2
// reads the progress back.
func ResumeFromHeartbeat(ctx context.Context) (string, error) {
	if activity.GetInfo(ctx).Attempt == 1 {
		activity.RecordHeartbeat(ctx, 41)
		return "", errors.New("fail after heartbeat")
	}
	if !activity.HasHeartbeatDetails(ctx) {
		return "no details", nil
	}
	var v int
	if err := activity.GetHeartbeatDetails(ctx, &v); err != nil {
		return "", err
	}
	if v != 41 {
		return "wrong details", nil
	}
	return "resumed", nil
}

// ResumeAfterHeartbeatTimeout heartbeats progress and stops on attempt 1
// (heartbeat timeout); attempt 2 reads the progress back.
func ResumeAfterHeartbeatTimeout(ctx context.Context) (string, error) {
	if activity.GetInfo(ctx).Attempt == 1 {
		activity.RecordHeartbeat(ctx, "step-7")
		<-ctx.Done()
		return "", ctx.Err()
	}
	var v string
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &v)
	}
	return "resumed from " + v, nil
}

func TestFeatureActivityHeartbeatDetailsNextAttempt(t *testing.T) {
	t.Parallel()
	e := activityEnv(t, ResumeFromHeartbeat, ResumeAfterHeartbeatTimeout)
	t.Run("after failure", func(t *testing.T) {
		run, out, err := runActivityWorkflow(e, "hbdetails", ActivityCallParams{Activity: "ResumeFromHeartbeat", StartToClose: 5 * time.Second})
		if err != nil || out != "resumed" {
			t.Fatalf("result %q err %v", out, err)
		}
		evs := e.history(run.GetID(), run.GetRunID())
		requireWellFormed(t, evs)
		if st := activityStarted(t, evs); st.Attempt != 2 {
			t.Fatalf("attempt %d", st.Attempt)
		}
	})
	t.Run("after heartbeat timeout", func(t *testing.T) {
		run, out, err := runActivityWorkflow(e, "hbdetails2", ActivityCallParams{Activity: "ResumeAfterHeartbeatTimeout", StartToClose: 5 * time.Second, Heartbeat: 300 * time.Millisecond})
		if err != nil || out != "resumed from step-7" {
			t.Fatalf("result %q err %v", out, err)
		}
		evs := e.history(run.GetID(), run.GetRunID())
		requireWellFormed(t, evs)
		st := activityStarted(t, evs)
		if st.Attempt != 2 {
			t.Fatalf("attempt %d", st.Attempt)
		}
		if st.LastFailure.GetTimeoutFailureInfo().GetTimeoutType() != enumspb.TIMEOUT_TYPE_HEARTBEAT {
			t.Fatalf("last failure %v", st.LastFailure)
		}
	})
}

var alwaysFailCalls atomic.Int32

func AlwaysFail(ctx context.Context) (string, error) {
	alwaysFailCalls.Add(1)
	return "", temporal.NewApplicationError("always fails", "Flaky")
}

func TestFeatureActivityMaximumAttempts(t *testing.T) {
	t.Parallel()
	e := activityEnv(t, AlwaysFail)
	alwaysFailCalls.Store(0)
	run, _, err := runActivityWorkflow(e, "maxattempts", ActivityCallParams{Activity: "AlwaysFail", StartToClose: 5 * time.Second, MaxAttempts: 3})
	var actErr *temporal.ActivityError
	if !errors.As(err, &actErr) {
		t.Fatalf("want ActivityError, got %T %v", err, err)
	}
	if actErr.RetryState() != enumspb.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED {
		t.Fatalf("ActivityError retry state %v", actErr.RetryState())
	}
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != "Flaky" {
		t.Fatalf("cause %v", err)
	}
	if n := alwaysFailCalls.Load(); n != 3 {
		t.Fatalf("activity ran %d times, want 3", n)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	requireOneScheduled(t, evs)
	if st := activityStarted(t, evs); st.Attempt != 3 {
		t.Fatalf("ActivityTaskStarted attempt %d, want 3", st.Attempt)
	}
	fs := allOf(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED)
	if len(fs) != 1 {
		t.Fatalf("%d ActivityTaskFailed: %v", len(fs), types(evs))
	}
	if rs := fs[0].GetActivityTaskFailedEventAttributes().RetryState; rs != enumspb.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED {
		t.Fatalf("ActivityTaskFailed retry state %v", rs)
	}
	requireClosedBy(t, evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED)
}

var nonRetryableCalls atomic.Int32

func FailBadInput(ctx context.Context) (string, error) {
	nonRetryableCalls.Add(1)
	return "", temporal.NewApplicationError("bad input", "BadInput")
}

var nonRetryableErrCalls atomic.Int32

func FailNonRetryable(ctx context.Context) (string, error) {
	nonRetryableErrCalls.Add(1)
	return "", temporal.NewNonRetryableApplicationError("give up", "Fatal", nil)
}

func TestFeatureActivityNonRetryable(t *testing.T) {
	t.Parallel()
	e := activityEnv(t, FailBadInput, FailNonRetryable)
	check := func(t *testing.T, run client.WorkflowRun, err error, calls *atomic.Int32, typ string) {
		var actErr *temporal.ActivityError
		if !errors.As(err, &actErr) || actErr.RetryState() != enumspb.RETRY_STATE_NON_RETRYABLE_FAILURE {
			t.Fatalf("want ActivityError with NON_RETRYABLE_FAILURE, got %v", err)
		}
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || appErr.Type() != typ {
			t.Fatalf("cause %v", err)
		}
		if n := calls.Load(); n != 1 {
			t.Fatalf("activity ran %d times, want 1", n)
		}
		evs := e.history(run.GetID(), run.GetRunID())
		requireWellFormed(t, evs)
		if st := activityStarted(t, evs); st.Attempt != 1 {
			t.Fatalf("attempt %d", st.Attempt)
		}
		fs := allOf(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED)
		if len(fs) != 1 || fs[0].GetActivityTaskFailedEventAttributes().RetryState != enumspb.RETRY_STATE_NON_RETRYABLE_FAILURE {
			t.Fatalf("ActivityTaskFailed %v", fs)
		}
	}
	t.Run("NonRetryableErrorTypes", func(t *testing.T) {
		nonRetryableCalls.Store(0)
		run, _, err := runActivityWorkflow(e, "nonretry-types", ActivityCallParams{Activity: "FailBadInput", StartToClose: 5 * time.Second, NonRetryableErrors: []string{"BadInput"}})
		check(t, run, err, &nonRetryableCalls, "BadInput")
	})
	t.Run("NewNonRetryableApplicationError", func(t *testing.T) {
		nonRetryableErrCalls.Store(0)
		run, _, err := runActivityWorkflow(e, "nonretry-err", ActivityCallParams{Activity: "FailNonRetryable", StartToClose: 5 * time.Second})
		check(t, run, err, &nonRetryableErrCalls, "Fatal")
	})
}

var backoffMu sync.Mutex
var backoffStarts []time.Time

func RecordStartAndFail(ctx context.Context) (string, error) {
	backoffMu.Lock()
	backoffStarts = append(backoffStarts, time.Now())
	backoffMu.Unlock()
	if activity.GetInfo(ctx).Attempt < 4 {
		return "", errors.New("not yet")
	}
	return "done", nil
}

func TestFeatureActivityRetryBackoff(t *testing.T) {
	t.Parallel()
	e := activityEnv(t, RecordStartAndFail)
	backoffMu.Lock()
	backoffStarts = nil
	backoffMu.Unlock()
	run, out, err := runActivityWorkflow(e, "backoff", ActivityCallParams{Activity: "RecordStartAndFail", StartToClose: 5 * time.Second, InitialInterval: 100 * time.Millisecond, Coefficient: 2})
	if err != nil || out != "done" {
		t.Fatalf("result %q err %v", out, err)
	}
	backoffMu.Lock()
	starts := append([]time.Time(nil), backoffStarts...)
	backoffMu.Unlock()
	if len(starts) != 4 {
		t.Fatalf("%d attempts", len(starts))
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}
	for i, w := range want {
		got := starts[i+1].Sub(starts[i])
		if got < w*9/10 || got > w+400*time.Millisecond {
			t.Errorf("delay before attempt %d: %v, want about %v", i+2, got, w)
		}
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	if st := activityStarted(t, evs); st.Attempt != 4 {
		t.Fatalf("attempt %d", st.Attempt)
	}
	sched := firstOf(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).GetActivityTaskScheduledEventAttributes()
	if rp := sched.RetryPolicy; rp.GetInitialInterval().AsDuration() != 100*time.Millisecond || rp.GetBackoffCoefficient() != 2 {
		t.Fatalf("scheduled retry policy %v", rp)
	}
}

var cancelSeen = make(chan string, 4)

// HeartbeatUntilCanceled heartbeats until its context is canceled.
func HeartbeatUntilCanceled(ctx context.Context) (string, error) {
	for {
		activity.RecordHeartbeat(ctx, "tick")
		select {
		case <-ctx.Done():
			cancelSeen <- activity.GetInfo(ctx).WorkflowExecution.ID
			return "", ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// CancelActivityWorkflow starts a heartbeating activity, cancels it after
// a short sleep and waits for the cancellation to complete.
func CancelActivityWorkflow(ctx workflow.Context) (string, error) {
	actCtx, cancel := workflow.WithCancel(ctx)
	actCtx = workflow.WithActivityOptions(actCtx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		HeartbeatTimeout:    500 * time.Millisecond,
		WaitForCancellation: true,
	})
	f := workflow.ExecuteActivity(actCtx, HeartbeatUntilCanceled)
	if err := workflow.Sleep(ctx, 300*time.Millisecond); err != nil {
		return "", err
	}
	cancel()
	err := f.Get(ctx, nil)
	var ce *temporal.CanceledError
	if errors.As(err, &ce) {
		return "activity canceled", nil
	}
	return "", err
}

func TestFeatureActivityCancellation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(CancelActivityWorkflow)
		w.RegisterActivity(HeartbeatUntilCanceled)
	})
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("actcancel"), CancelActivityWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if err := run.Get(e.ctx(), &out); err != nil || out != "activity canceled" {
		t.Fatalf("result %q err %v", out, err)
	}
	select {
	case id := <-cancelSeen:
		if id != run.GetID() {
			t.Fatalf("cancel seen by %s", id)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("activity never saw ctx.Done")
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	requireClosedBy(t, evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
	cr := firstOf(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED)
	cd := firstOf(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCELED)
	if cr == nil || cd == nil || cr.EventId > cd.EventId {
		t.Fatalf("want ActivityTaskCancelRequested then ActivityTaskCanceled: %v", types(evs))
	}
	ca := cd.GetActivityTaskCanceledEventAttributes()
	if ca.LatestCancelRequestedEventId != cr.EventId {
		t.Fatalf("canceled event points at cancel request %d, want %d", ca.LatestCancelRequestedEventId, cr.EventId)
	}
	st := firstOf(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED)
	if st == nil || ca.StartedEventId != st.EventId {
		t.Fatalf("canceled event started id %d: %v", ca.StartedEventId, types(evs))
	}
	sched := firstOf(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
	if ca.ScheduledEventId != sched.EventId || cr.GetActivityTaskCancelRequestedEventAttributes().ScheduledEventId != sched.EventId {
		t.Fatalf("scheduled ids wrong")
	}
}
