package gosdk

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// UpdateErrWorkflow has an update handler that fails for "bad".
func UpdateErrWorkflow(ctx workflow.Context) error {
	if err := workflow.SetUpdateHandler(ctx, "check", func(ctx workflow.Context, s string) (string, error) {
		if s == "bad" {
			return "", temporal.NewApplicationError("handler refused", "HandlerErr")
		}
		return "ok:" + s, nil
	}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, "validated", func(ctx workflow.Context) error { return nil },
		workflow.UpdateHandlerOptions{Validator: func() error { return errors.New("always rejected") }}); err != nil {
		return err
	}
	workflow.GetSignalChannel(ctx, "finish").Receive(ctx, nil)
	return nil
}

func TestFeatureUpdateHandlerErrorAndSpeculativeReject(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(UpdateErrWorkflow) })
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("upderr"), UpdateErrWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	upd := func(name string, args ...interface{}) (string, error) {
		h, err := e.c.UpdateWorkflow(e.ctx(), client.UpdateWorkflowOptions{WorkflowID: run.GetID(), UpdateName: name, Args: args, WaitForStage: client.WorkflowUpdateStageCompleted})
		if err != nil {
			return "", err
		}
		var s string
		err = h.Get(e.ctx(), &s)
		return s, err
	}
	if s, err := upd("check", "good"); err != nil || s != "ok:good" {
		t.Fatalf("good update %q %v", s, err)
	}
	_, err = upd("check", "bad")
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != "HandlerErr" {
		t.Fatalf("failing handler: want ApplicationError HandlerErr, got %T %v", err, err)
	}
	before := e.history(run.GetID(), run.GetRunID())
	if _, err := upd("validated"); err == nil || !strings.Contains(err.Error(), "always rejected") {
		t.Fatalf("rejected update: %v", err)
	}
	// Unknown update name is rejected too.
	if _, err := upd("no-such-update"); err == nil {
		t.Fatal("unknown update accepted")
	}
	after := e.history(run.GetID(), run.GetRunID())
	// Temporal runs an update on a speculative workflow task: when the
	// update is rejected and nothing else happened, no events are written.
	if len(after) != len(before) {
		t.Errorf("rejected updates added events: %v", types(after[len(before):]))
	}
	if err := e.c.SignalWorkflow(e.ctx(), run.GetID(), "", "finish", nil); err != nil {
		t.Fatal(err)
	}
	if err := run.Get(e.ctx(), nil); err != nil {
		t.Fatal(err)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	acc, done := updateEvents(evs)
	if len(acc) != 2 || len(done) != 2 {
		t.Fatalf("want 2 accepted + 2 completed updates: %v", types(evs))
	}
	f := done[1].GetWorkflowExecutionUpdateCompletedEventAttributes().Outcome.GetFailure()
	if f.GetApplicationFailureInfo().GetType() != "HandlerErr" {
		t.Fatalf("second update outcome %v", done[1])
	}
	// Update on a completed workflow fails.
	if _, err := upd("check", "late"); err == nil {
		t.Fatal("update on a completed workflow succeeded")
	}
}

// ActivityOnQueueWorkflow runs an activity on a queue nobody polls.
func ActivityOnQueueWorkflow(ctx workflow.Context, mode string) (string, error) {
	opts := workflow.ActivityOptions{TaskQueue: "nobody-polls-" + workflow.GetInfo(ctx).WorkflowExecution.ID, StartToCloseTimeout: time.Second}
	if mode == "schedule-to-start" {
		opts.ScheduleToStartTimeout = 300 * time.Millisecond
		ctx = workflow.WithActivityOptions(ctx, opts)
		return "", workflow.ExecuteActivity(ctx, "Nothing").Get(ctx, nil)
	}
	actx, cancel := workflow.WithCancel(ctx)
	actx = workflow.WithActivityOptions(actx, opts)
	f := workflow.ExecuteActivity(actx, "Nothing")
	if err := workflow.Sleep(ctx, 100*time.Millisecond); err != nil {
		return "", err
	}
	cancel()
	err := f.Get(ctx, nil)
	if temporal.IsCanceledError(err) {
		return "canceled", nil
	}
	return "", err
}

func TestFeatureActivityNotStarted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(ActivityOnQueueWorkflow) })
	t.Run("ScheduleToStart timeout", func(t *testing.T) {
		run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("s2s"), ActivityOnQueueWorkflow, "schedule-to-start")
		if err != nil {
			t.Fatal(err)
		}
		err = run.Get(e.ctx(), nil)
		var to *temporal.TimeoutError
		if !errors.As(err, &to) || to.TimeoutType() != enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START {
			t.Fatalf("want SCHEDULE_TO_START timeout, got %v", err)
		}
		evs := e.history(run.GetID(), run.GetRunID())
		requireWellFormed(t, evs)
		if count(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED) != 0 || count(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT) != 1 {
			t.Fatalf("history %v", types(evs))
		}
		a := firstOf(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT).GetActivityTaskTimedOutEventAttributes()
		if a.StartedEventId != 0 || a.RetryState != enumspb.RETRY_STATE_TIMEOUT {
			t.Fatalf("timed out attrs %v", a)
		}
	})
	t.Run("cancel before start", func(t *testing.T) {
		run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("cancelunstarted"), ActivityOnQueueWorkflow, "cancel")
		if err != nil {
			t.Fatal(err)
		}
		var out string
		if err := run.Get(e.ctx(), &out); err != nil || out != "canceled" {
			t.Fatalf("result %q err %v", out, err)
		}
		evs := e.history(run.GetID(), run.GetRunID())
		requireWellFormed(t, evs)
		cr := firstOf(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED)
		cd := firstOf(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCELED)
		if cr == nil || cd == nil || cd.EventId != cr.EventId+1 || count(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED) != 0 {
			t.Fatalf("history %v", types(evs))
		}
	})
}

var localCalls sync.Map

// FlakyLocal fails on its first two attempts.
func FlakyLocal(ctx context.Context, key string) (string, error) {
	v, _ := localCalls.LoadOrStore(key, new(int))
	n := v.(*int)
	*n++
	if *n < 3 {
		return "", errors.New("local flake")
	}
	return "local ok after " + string(rune('0'+*n)), nil
}

// LocalActivityWorkflow runs a flaky local activity.
func LocalActivityWorkflow(ctx workflow.Context) (string, error) {
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 2 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 20 * time.Millisecond, BackoffCoefficient: 1},
	})
	var s string
	err := workflow.ExecuteLocalActivity(ctx, FlakyLocal, workflow.GetInfo(ctx).WorkflowExecution.ID).Get(ctx, &s)
	return s, err
}

func TestFeatureLocalActivity(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(LocalActivityWorkflow)
		w.RegisterActivity(FlakyLocal)
	})
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("local"), LocalActivityWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if err := run.Get(e.ctx(), &out); err != nil || out != "local ok after 3" {
		t.Fatalf("result %q err %v", out, err)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	requireClosedBy(t, evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
	ms := allOf(evs, enumspb.EVENT_TYPE_MARKER_RECORDED)
	if len(ms) != 1 || ms[0].GetMarkerRecordedEventAttributes().MarkerName != "LocalActivity" {
		t.Fatalf("history %v", types(evs))
	}
	if count(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) != 0 {
		t.Fatalf("local activity scheduled a task: %v", types(evs))
	}
}

var asyncTokens = make(chan []byte, 4)

// AsyncActivity hands its task token to the test and completes later.
func AsyncActivity(ctx context.Context) (string, error) {
	asyncTokens <- activity.GetInfo(ctx).TaskToken
	return "", activity.ErrResultPending
}

// AsyncWorkflow runs two async activities: one completed by token, one by id.
func AsyncWorkflow(ctx workflow.Context) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	var a, b string
	if err := workflow.ExecuteActivity(ctx, AsyncActivity).Get(ctx, &a); err != nil {
		return "", err
	}
	bctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{ActivityID: "by-id", StartToCloseTimeout: 10 * time.Second})
	if err := workflow.ExecuteActivity(bctx, AsyncActivity).Get(ctx, &b); err != nil {
		return "", err
	}
	return a + "+" + b, nil
}

func TestFeatureAsyncActivityCompletion(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(AsyncWorkflow)
		w.RegisterActivity(AsyncActivity)
	})
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("async"), AsyncWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	var tok []byte
	select {
	case tok = <-asyncTokens:
	case <-time.After(5 * time.Second):
		t.Fatal("activity did not start")
	}
	if err := e.c.RecordActivityHeartbeat(e.ctx(), tok, "progress"); err != nil {
		t.Fatalf("heartbeat by token: %v", err)
	}
	if err := e.c.CompleteActivity(e.ctx(), tok, "by-token", nil); err != nil {
		t.Fatalf("complete by token: %v", err)
	}
	// Completing twice is an error.
	if err := e.c.CompleteActivity(e.ctx(), tok, "again", nil); err == nil {
		t.Fatal("second completion accepted")
	}
	select {
	case <-asyncTokens:
	case <-time.After(5 * time.Second):
		t.Fatal("second activity did not start")
	}
	if err := e.c.RecordActivityHeartbeatByID(e.ctx(), "default", run.GetID(), "", "by-id", "p"); err != nil {
		t.Fatalf("heartbeat by id: %v", err)
	}
	if err := e.c.CompleteActivityByID(e.ctx(), "default", run.GetID(), "", "by-id", "by-id-result", nil); err != nil {
		t.Fatalf("complete by id: %v", err)
	}
	var out string
	if err := run.Get(e.ctx(), &out); err != nil || out != "by-token+by-id-result" {
		t.Fatalf("result %q err %v", out, err)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	if count(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) != 2 {
		t.Fatalf("history %v", types(evs))
	}
}

// ChildTwiceWorkflow starts a child whose id a running workflow already
// has (the server must refuse it), then starts and cancels another child.
func ChildTwiceWorkflow(ctx workflow.Context, takenID string) (string, error) {
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: takenID})
	err := workflow.ExecuteChildWorkflow(cctx, ChildBlock).GetChildWorkflowExecution().Get(ctx, nil)
	if err == nil {
		return "", errors.New("second child with the same id started")
	}
	if !strings.Contains(err.Error(), "already") {
		return "", err
	}
	// Cancel the first child and wait for it.
	cctx2, cancel := workflow.WithCancel(ctx)
	cctx2 = workflow.WithChildOptions(cctx2, workflow.ChildWorkflowOptions{WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID + "-cancel", WaitForCancellation: true})
	second := workflow.ExecuteChildWorkflow(cctx2, ChildBlock)
	if err := second.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		return "", err
	}
	cancel()
	if err := second.Get(ctx, nil); !temporal.IsCanceledError(err) {
		return "", errors.New("canceled child ended with " + errString(err))
	}
	return "dup rejected, child canceled", nil
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}

func TestFeatureChildConflictAndCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(ChildTwiceWorkflow)
		w.RegisterWorkflow(ChildBlock)
	})
	taken, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("taken"), ChildBlock)
	if err != nil {
		t.Fatal(err)
	}
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("childdup"), ChildTwiceWorkflow, taken.GetID())
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if err := run.Get(e.ctx(), &out); err != nil || out != "dup rejected, child canceled" {
		t.Fatalf("result %q err %v", out, err)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	requireNoEventsInsideWFT(t, evs)
	sf := firstOf(evs, enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED)
	if sf == nil || sf.GetStartChildWorkflowExecutionFailedEventAttributes().Cause != enumspb.START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS {
		t.Fatalf("history %v", types(evs))
	}
	if count(evs, enumspb.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED) != 1 ||
		count(evs, enumspb.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED) != 1 ||
		count(evs, enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED) != 1 {
		t.Fatalf("child cancel events: %v", types(evs))
	}
	cevs := e.history(run.GetID()+"-cancel", "")
	requireClosedBy(t, cevs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED)
	// The workflow that held the id is untouched.
	d, err := e.c.DescribeWorkflowExecution(e.ctx(), taken.GetID(), taken.GetRunID())
	if err != nil || d.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING || d.WorkflowExecutionInfo.ParentExecution != nil {
		t.Fatalf("taken workflow %v %v", d.GetWorkflowExecutionInfo(), err)
	}
}

func TestFeatureStartDelay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(QuickWorkflow) })
	o := e.opts("delay")
	o.StartDelay = 400 * time.Millisecond
	start := time.Now()
	run, err := e.c.ExecuteWorkflow(e.ctx(), o, QuickWorkflow, "late")
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.c.DescribeWorkflowExecution(e.ctx(), run.GetID(), "")
	if err != nil {
		t.Fatal(err)
	}
	if et := d.WorkflowExecutionInfo.ExecutionTime.AsTime().Sub(d.WorkflowExecutionInfo.StartTime.AsTime()); et != 400*time.Millisecond {
		t.Fatalf("execution time - start time = %v, want 400ms", et)
	}
	var out string
	if err := run.Get(e.ctx(), &out); err != nil || out != "quick:late" {
		t.Fatalf("result %q err %v", out, err)
	}
	if el := time.Since(start); el < 400*time.Millisecond {
		t.Fatalf("completed after %v, before the start delay", el)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	if b := evs[0].GetWorkflowExecutionStartedEventAttributes().FirstWorkflowTaskBackoff.AsDuration(); b != 400*time.Millisecond {
		t.Fatalf("FirstWorkflowTaskBackoff %v", b)
	}
	if d := evs[1].EventTime.AsTime().Sub(evs[0].EventTime.AsTime()); evs[1].EventType != enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED || d < 400*time.Millisecond {
		t.Fatalf("first task scheduled %v after start (%v)", d, types(evs))
	}
}

// CronWorkflow returns its attempt count from the previous run's result.
func CronWorkflow(ctx workflow.Context) (int, error) {
	n := 0
	if workflow.HasLastCompletionResult(ctx) {
		if err := workflow.GetLastCompletionResult(ctx, &n); err != nil {
			return 0, err
		}
	}
	return n + 1, nil
}

func TestFeatureCron(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(CronWorkflow) })
	o := e.opts("cron")
	o.CronSchedule = "@every 1s"
	run, err := e.c.ExecuteWorkflow(e.ctx(), o, CronWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	first := run.GetRunID()
	// Wait for the third run to begin.
	deadline := time.Now().Add(5 * time.Second)
	var runs []string
	for {
		runs = runs[:0]
		id := first
		for id != "" {
			runs = append(runs, id)
			evs := e.history(run.GetID(), id)
			last := evs[len(evs)-1]
			id = ""
			if a := last.GetWorkflowExecutionCompletedEventAttributes(); a != nil {
				id = a.NewExecutionRunId
			}
			if a := last.GetWorkflowExecutionContinuedAsNewEventAttributes(); a != nil {
				id = a.NewExecutionRunId
			}
		}
		if len(runs) >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(runs) < 3 {
		t.Fatalf("only %d cron runs", len(runs))
	}
	second := e.history(run.GetID(), runs[1])
	sa := second[0].GetWorkflowExecutionStartedEventAttributes()
	if sa.Initiator != enumspb.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE || sa.CronSchedule != "@every 1s" || sa.LastCompletionResult == nil || sa.FirstExecutionRunId != first {
		t.Fatalf("second cron run start attrs %v", sa)
	}
	if b := sa.FirstWorkflowTaskBackoff.AsDuration(); b <= 0 || b > time.Second {
		t.Fatalf("cron backoff %v", b)
	}
	var n int
	if err := e.c.GetWorkflow(e.ctx(), run.GetID(), runs[1]).GetWithOptions(e.ctx(), &n, client.WorkflowRunGetOptions{DisableFollowingRuns: true}); err != nil || n != 2 {
		t.Fatalf("second run result %d err %v", n, err)
	}
	if err := e.c.TerminateWorkflow(e.ctx(), run.GetID(), "", "stop cron"); err != nil {
		t.Fatal(err)
	}
}

// ExecTimeoutWorkflow fails each attempt after a short sleep.
func ExecTimeoutWorkflow(ctx workflow.Context) error {
	if err := workflow.Sleep(ctx, 200*time.Millisecond); err != nil {
		return err
	}
	return errors.New("fail, retry")
}

func TestFeatureExecutionTimeoutEndsRetries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(ExecTimeoutWorkflow) })
	o := e.opts("exectimeout")
	o.WorkflowExecutionTimeout = time.Second
	o.RetryPolicy = &temporal.RetryPolicy{InitialInterval: 100 * time.Millisecond, BackoffCoefficient: 1}
	start := time.Now()
	run, err := e.c.ExecuteWorkflow(e.ctx(), o, ExecTimeoutWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	err = run.Get(e.ctx(), nil)
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("took %v", el)
	}
	var to *temporal.TimeoutError
	if !errors.As(err, &to) {
		t.Fatalf("want TimeoutError at the execution timeout, got %T %v", err, err)
	}
	d, err := e.c.DescribeWorkflowExecution(e.ctx(), run.GetID(), "")
	if err != nil || d.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT {
		t.Fatalf("describe %v %v", d.GetWorkflowExecutionInfo().GetStatus(), err)
	}
	evs := e.history(run.GetID(), "")
	a := evs[len(evs)-1].GetWorkflowExecutionTimedOutEventAttributes()
	if a == nil || a.NewExecutionRunId != "" {
		t.Fatalf("last run close %v", types(evs))
	}
}

// ConcurrentWorkflow is HelloWorkflow under load.
func TestFeatureManyConcurrentWorkflows(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(StickyLoopWorkflow)
		w.RegisterActivity(AddOne)
	})
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			run, err := e.c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: "many-" + uuid.NewString(), TaskQueue: e.tq}, StickyLoopWorkflow, 3)
			if err != nil {
				errs <- err
				return
			}
			var v int
			if err := run.Get(context.Background(), &v); err != nil || v != 3 {
				errs <- errors.New("bad result " + errString(err))
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
