package gosdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/sundial-io/sundial/internal/server"
)

// Tests that workflow state survives a server restart on the same data
// directory: pending timers, activities (scheduled and started), buffered
// signals, accepted updates and many workflows at once. env.restart gives
// a new port, so every test stops its workers before the restart and
// starts new ones (on the new client) afterwards.

// rsKnownBug skips a test that exposes a known server bug, unless
// SUNDIAL_KNOWN_BUGS=1 (then it runs, to check whether the bug is fixed).
func rsKnownBug(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("SUNDIAL_KNOWN_BUGS") == "" {
		t.Skip(msg)
	}
}

// rsWorker starts a worker on any task queue of the env's current client.
func rsWorker(e *env, tq string, register func(w worker.Worker)) worker.Worker {
	e.t.Helper()
	w := worker.New(e.c, tq, worker.Options{})
	register(w)
	if err := w.Start(); err != nil {
		e.t.Fatalf("worker start: %v", err)
	}
	e.t.Cleanup(w.Stop)
	return w
}

// rsWaitHistory polls a run's history until cond holds.
func rsWaitHistory(e *env, id, runID string, timeout time.Duration, what string, cond func(evs []*historypb.HistoryEvent) bool) []*historypb.HistoryEvent {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		evs := e.history(id, runID)
		if cond(evs) {
			return evs
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s; history: %v", what, types(evs))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// RestartEcho is the activity of the restart tests.
func RestartEcho(ctx context.Context, s string) (string, error) {
	return "echo-" + s, nil
}

// RestartComboWorkflow schedules an activity on each of two task queues
// and a 3 s timer, then waits for two "sig" signals, the timer and both
// activities.
func RestartComboWorkflow(ctx workflow.Context, tqA, tqB string) (string, error) {
	opts := func(tq string) workflow.Context {
		return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			TaskQueue:           tq,
			StartToCloseTimeout: 2 * time.Second,
			RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 100 * time.Millisecond, BackoffCoefficient: 1, MaximumAttempts: 10},
		})
	}
	fa := workflow.ExecuteActivity(opts(tqA), "RestartEcho", "a")
	fb := workflow.ExecuteActivity(opts(tqB), "RestartEcho", "b")
	timer := workflow.NewTimer(ctx, 3*time.Second)
	ch := workflow.GetSignalChannel(ctx, "sig")
	var sigs []string
	for len(sigs) < 2 {
		var s string
		ch.Receive(ctx, &s)
		sigs = append(sigs, s)
	}
	if err := timer.Get(ctx, nil); err != nil {
		return "", err
	}
	var ra, rb string
	if err := fa.Get(ctx, &ra); err != nil {
		return "", err
	}
	if err := fb.Get(ctx, &rb); err != nil {
		return "", err
	}
	return ra + "|" + rb + "|" + strings.Join(sigs, ","), nil
}

// TestRestartPendingTimerActivitiesBufferedSignal restarts the server while
// a workflow has a pending timer, an activity started by a worker that
// then vanished (its start-to-close timeout expires after the restart and
// the activity is retried), an activity scheduled but never started, and
// a signal that arrived while a workflow task was in flight.
func TestRestartPendingTimerActivitiesBufferedSignal(t *testing.T) {
	e := newEnv(t)
	tqA, tqB := e.tq+"-a", e.tq+"-b"
	w1 := e.worker(func(w worker.Worker) { w.RegisterWorkflow(RestartComboWorkflow) })
	opts := e.opts("restart-combo")
	opts.WorkflowTaskTimeout = 2 * time.Second
	run, err := e.c.ExecuteWorkflow(e.ctx(), opts, RestartComboWorkflow, tqA, tqB)
	if err != nil {
		t.Fatal(err)
	}
	id, runID := run.GetID(), run.GetRunID()
	rsWaitHistory(e, id, runID, 10*time.Second, "timer and activities scheduled", func(evs []*historypb.HistoryEvent) bool {
		return count(evs, enumspb.EVENT_TYPE_TIMER_STARTED) == 1 && count(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) == 2
	})
	w1.Stop()
	svc := e.c.WorkflowService()
	ctx := e.ctx()
	ex := &commonpb.WorkflowExecution{WorkflowId: id, RunId: runID}
	if _, err := svc.ResetStickyTaskQueue(ctx, &workflowservice.ResetStickyTaskQueueRequest{Namespace: "default", Execution: ex}); err != nil {
		t.Fatalf("reset sticky: %v", err)
	}

	// Activity A is started by a "worker" that never answers.
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	at, err := svc.PollActivityTaskQueue(pctx, &workflowservice.PollActivityTaskQueueRequest{Namespace: "default", TaskQueue: &taskqueuepb.TaskQueue{Name: tqA}, Identity: "vanishing-activity-worker"})
	cancel()
	if err != nil || len(at.TaskToken) == 0 {
		t.Fatalf("poll activity A: %v (empty=%v)", err, at == nil || len(at.TaskToken) == 0)
	}
	if at.Attempt != 1 {
		t.Fatalf("activity A attempt %d", at.Attempt)
	}

	// Signal "a" schedules a workflow task, which a raw poller starts and
	// never completes; signal "b" arrives while it is in flight.
	if err := e.c.SignalWorkflow(ctx, id, runID, "sig", "a"); err != nil {
		t.Fatal(err)
	}
	pctx, cancel = context.WithTimeout(ctx, 10*time.Second)
	wt, err := svc.PollWorkflowTaskQueue(pctx, &workflowservice.PollWorkflowTaskQueueRequest{Namespace: "default", TaskQueue: &taskqueuepb.TaskQueue{Name: e.tq, Kind: enumspb.TASK_QUEUE_KIND_NORMAL}, Identity: "vanishing-workflow-worker"})
	cancel()
	if err != nil || len(wt.TaskToken) == 0 {
		t.Fatalf("poll workflow task: %v", err)
	}
	if err := e.c.SignalWorkflow(ctx, id, runID, "sig", "b"); err != nil {
		t.Fatal(err)
	}

	e.restart()

	rsWorker(e, e.tq, func(w worker.Worker) { w.RegisterWorkflow(RestartComboWorkflow) })
	for _, tq := range []string{tqA, tqB} {
		rsWorker(e, tq, func(w worker.Worker) {
			w.RegisterActivityWithOptions(RestartEcho, activity.RegisterOptions{Name: "RestartEcho"})
		})
	}
	var out string
	wctx, wcancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer wcancel()
	if err := e.c.GetWorkflow(wctx, id, runID).Get(wctx, &out); err != nil {
		t.Fatalf("workflow after restart: %v; history: %v", err, types(e.history(id, runID)))
	}
	if out != "echo-a|echo-b|a,b" {
		t.Fatalf("result %q", out)
	}
	evs := e.history(id, runID)
	requireWellFormed(t, evs)
	if n := count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED); n != 2 {
		t.Fatalf("%d signal events: %v", n, types(evs))
	}
	if n := count(evs, enumspb.EVENT_TYPE_TIMER_FIRED); n != 1 {
		t.Fatalf("%d timer fired events: %v", n, types(evs))
	}
	if n := count(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT); n != 1 {
		t.Fatalf("want the abandoned workflow task to time out once, got %d: %v", n, types(evs))
	}
	if n := count(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED); n != 2 {
		t.Fatalf("%d activity completions: %v", n, types(evs))
	}
	// Activity A's recorded attempt is a retry (the first one timed out).
	queueOf := map[int64]string{}
	for _, ev := range evs {
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			queueOf[ev.EventId] = a.TaskQueue.GetName()
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil {
			q := queueOf[a.ScheduledEventId]
			if q == tqA && a.Attempt < 2 {
				t.Fatalf("activity A started with attempt %d, want a retry", a.Attempt)
			}
			if q == tqB && a.Attempt != 1 {
				t.Fatalf("activity B started with attempt %d, want 1", a.Attempt)
			}
		}
		if ev.EventType == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED && ev.EventId != int64(len(evs)) {
			t.Fatalf("completion is not the last event: %v", types(evs))
		}
	}
}

// restartAsync hands the task token of its activity to the test.
var restartAsync = struct {
	sync.Mutex
	tokens map[string]chan []byte
}{tokens: map[string]chan []byte{}}

func restartAsyncChan(key string) chan []byte {
	restartAsync.Lock()
	defer restartAsync.Unlock()
	c := restartAsync.tokens[key]
	if c == nil {
		c = make(chan []byte, 4)
		restartAsync.tokens[key] = c
	}
	return c
}

// RestartAsyncActivity completes asynchronously: its token goes to the test.
func RestartAsyncActivity(ctx context.Context, key string) (string, error) {
	restartAsyncChan(key) <- activity.GetInfo(ctx).TaskToken
	return "", activity.ErrResultPending
}

func RestartAsyncWorkflow(ctx workflow.Context, key string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second})
	var out string
	err := workflow.ExecuteActivity(ctx, "RestartAsyncActivity", key).Get(ctx, &out)
	return "got " + out, err
}

// TestRestartActivityCompletedAfterRestart: an activity started before the
// restart is completed after it, with the task token issued before.
func TestRestartActivityCompletedAfterRestart(t *testing.T) {
	e := newEnv(t)
	key := uuid.NewString()
	register := func(w worker.Worker) {
		w.RegisterWorkflow(RestartAsyncWorkflow)
		w.RegisterActivityWithOptions(RestartAsyncActivity, activity.RegisterOptions{Name: "RestartAsyncActivity"})
	}
	w1 := e.worker(register)
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("restart-async"), RestartAsyncWorkflow, key)
	if err != nil {
		t.Fatal(err)
	}
	var token []byte
	select {
	case token = <-restartAsyncChan(key):
	case <-time.After(10 * time.Second):
		t.Fatal("activity did not start")
	}
	w1.Stop()
	e.restart()
	rsWorker(e, e.tq, register)

	// A heartbeat with the old token works after the restart.
	if err := e.c.RecordActivityHeartbeat(e.ctx(), token, "still here"); err != nil {
		t.Fatalf("heartbeat with a pre-restart token: %v", err)
	}
	if err := e.c.CompleteActivity(e.ctx(), token, "done after restart", nil); err != nil {
		t.Fatalf("complete with a pre-restart token: %v", err)
	}
	var out string
	if err := e.c.GetWorkflow(e.ctx(), run.GetID(), run.GetRunID()).Get(e.ctx(), &out); err != nil {
		t.Fatal(err)
	}
	if out != "got done after restart" {
		t.Fatalf("result %q", out)
	}
	// Completing again is refused: the activity is closed.
	if err := e.c.CompleteActivity(e.ctx(), token, "twice", nil); err == nil {
		t.Fatal("second completion with the same token was accepted")
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	if n := count(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED); n != 1 {
		t.Fatalf("%d activity completions: %v", n, types(evs))
	}
	if n := count(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED); n != 1 {
		t.Fatalf("%d activity starts: %v", n, types(evs))
	}
}

// RestartUpdateWorkflow accepts "hold" updates that finish only after a
// "release" signal, and ends on a "finish" signal.
func RestartUpdateWorkflow(ctx workflow.Context) (int, error) {
	released, finished := false, false
	total := 0
	if err := workflow.SetUpdateHandler(ctx, "hold", func(ctx workflow.Context, n int) (int, error) {
		if err := workflow.Await(ctx, func() bool { return released }); err != nil {
			return 0, err
		}
		total += n
		return total, nil
	}); err != nil {
		return 0, err
	}
	workflow.Go(ctx, func(ctx workflow.Context) {
		workflow.GetSignalChannel(ctx, "release").Receive(ctx, nil)
		released = true
	})
	workflow.Go(ctx, func(ctx workflow.Context) {
		workflow.GetSignalChannel(ctx, "finish").Receive(ctx, nil)
		finished = true
	})
	if err := workflow.Await(ctx, func() bool { return finished && workflow.AllHandlersFinished(ctx) }); err != nil {
		return 0, err
	}
	return total, nil
}

// TestRestartUpdateAcceptedBeforeRestart: an update accepted before the
// restart completes after it; its result reaches a new client, and the
// same update id asked again is deduplicated.
func TestRestartUpdateAcceptedBeforeRestart(t *testing.T) {
	e := newEnv(t)
	w1 := e.worker(func(w worker.Worker) { w.RegisterWorkflow(RestartUpdateWorkflow) })
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("restart-update"), RestartUpdateWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	updID := "upd-" + uuid.NewString()[:8]
	h, err := e.c.UpdateWorkflow(e.ctx(), client.UpdateWorkflowOptions{
		WorkflowID: run.GetID(), RunID: run.GetRunID(), UpdateID: updID, UpdateName: "hold", Args: []interface{}{42},
		WaitForStage: client.WorkflowUpdateStageAccepted,
	})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if h.UpdateID() != updID {
		t.Fatalf("update id %q", h.UpdateID())
	}
	w1.Stop()
	e.restart()
	rsWorker(e, e.tq, func(w worker.Worker) { w.RegisterWorkflow(RestartUpdateWorkflow) })

	// Before release the update is accepted, not completed.
	desc, err := e.c.DescribeWorkflowExecution(e.ctx(), run.GetID(), run.GetRunID())
	if err != nil {
		t.Fatal(err)
	}
	if s := desc.WorkflowExecutionInfo.Status; s != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("status after restart %v", s)
	}
	if err := e.c.SignalWorkflow(e.ctx(), run.GetID(), run.GetRunID(), "release", nil); err != nil {
		t.Fatal(err)
	}
	h2 := e.c.GetWorkflowUpdateHandle(client.GetWorkflowUpdateHandleOptions{WorkflowID: run.GetID(), RunID: run.GetRunID(), UpdateID: updID})
	var v int
	if err := h2.Get(e.ctx(), &v); err != nil {
		t.Fatalf("update result after restart: %v", err)
	}
	if v != 42 {
		t.Fatalf("update result %d", v)
	}
	// The same update id again: deduplicated, same outcome, no new event.
	h3, err := e.c.UpdateWorkflow(e.ctx(), client.UpdateWorkflowOptions{
		WorkflowID: run.GetID(), RunID: run.GetRunID(), UpdateID: updID, UpdateName: "hold", Args: []interface{}{1000},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		t.Fatalf("repeated update: %v", err)
	}
	if err := h3.Get(e.ctx(), &v); err != nil || v != 42 {
		t.Fatalf("repeated update: %d, %v", v, err)
	}
	if err := e.c.SignalWorkflow(e.ctx(), run.GetID(), run.GetRunID(), "finish", nil); err != nil {
		t.Fatal(err)
	}
	var total int
	if err := e.c.GetWorkflow(e.ctx(), run.GetID(), run.GetRunID()).Get(e.ctx(), &total); err != nil {
		t.Fatal(err)
	}
	if total != 42 {
		t.Fatalf("workflow result %d", total)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	if a, c := count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED), count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED); a != 1 || c != 1 {
		t.Fatalf("%d accepted, %d completed update events: %v", a, c, types(evs))
	}
}

// RestartManyWorkflow alternates activities and short timers.
func RestartManyWorkflow(ctx workflow.Context, n int) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 5 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 100 * time.Millisecond, BackoffCoefficient: 1}})
	var parts []string
	for i := 0; i < 3; i++ {
		var s string
		if err := workflow.ExecuteActivity(ctx, "RestartEcho", fmt.Sprintf("%d.%d", n, i)).Get(ctx, &s); err != nil {
			return "", err
		}
		parts = append(parts, s)
		if err := workflow.Sleep(ctx, 300*time.Millisecond); err != nil {
			return "", err
		}
	}
	return strings.Join(parts, ","), nil
}

// TestRestartManyInFlight restarts while 50 workflows are mid-flight.
func TestRestartManyInFlight(t *testing.T) {
	e := newEnv(t)
	register := func(w worker.Worker) {
		w.RegisterWorkflow(RestartManyWorkflow)
		w.RegisterActivityWithOptions(RestartEcho, activity.RegisterOptions{Name: "RestartEcho"})
	}
	w1 := e.worker(register)
	const n = 50
	type ref struct{ id, runID string }
	runs := make([]ref, n)
	for i := 0; i < n; i++ {
		r, err := e.c.ExecuteWorkflow(e.ctx(), e.opts(fmt.Sprintf("restart-many-%d", i)), RestartManyWorkflow, i)
		if err != nil {
			t.Fatal(err)
		}
		runs[i] = ref{r.GetID(), r.GetRunID()}
	}
	time.Sleep(500 * time.Millisecond)
	w1.Stop()
	e.restart()
	// Nothing is closed that should not be: most runs are still open.
	open := 0
	for _, r := range runs {
		d, err := e.c.DescribeWorkflowExecution(e.ctx(), r.id, r.runID)
		if err != nil {
			t.Fatalf("describe %s after restart: %v", r.id, err)
		}
		if d.WorkflowExecutionInfo.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			open++
		}
	}
	t.Logf("%d of %d workflows open at restart", open, n)
	rsWorker(e, e.tq, register)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, r := range runs {
		wg.Add(1)
		go func(i int, r ref) {
			defer wg.Done()
			var out string
			if err := e.c.GetWorkflow(e.ctx(), r.id, r.runID).Get(e.ctx(), &out); err != nil {
				errs[i] = err
				return
			}
			want := fmt.Sprintf("echo-%d.0,echo-%d.1,echo-%d.2", i, i, i)
			if out != want {
				errs[i] = fmt.Errorf("result %q, want %q", out, want)
			}
		}(i, r)
	}
	wg.Wait()
	var bad []string
	for i, err := range errs {
		if err != nil {
			bad = append(bad, fmt.Sprintf("%d: %v", i, err))
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		t.Fatalf("%d workflows failed after restart:\n%s", len(bad), strings.Join(bad, "\n"))
	}
	for _, r := range runs[:10] {
		evs := e.history(r.id, r.runID)
		requireWellFormed(t, evs)
		if c := count(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED); c != 3 {
			t.Fatalf("%s: %d activity completions: %v", r.id, c, types(evs))
		}
		if c := count(evs, enumspb.EVENT_TYPE_TIMER_FIRED); c != 3 {
			t.Fatalf("%s: %d timers fired: %v", r.id, c, types(evs))
		}
	}
}

func RestartCancelWorkflow(ctx workflow.Context) (string, error) {
	err := workflow.Sleep(ctx, time.Hour)
	if temporal.IsCanceledError(err) {
		return "", err
	}
	return "slept", err
}

// rsTakeWorkflowTask stops w, clears stickiness, sends a signal and starts
// the resulting workflow task with a raw poll that is never answered.
func rsTakeWorkflowTask(e *env, w worker.Worker, id, runID string) {
	e.t.Helper()
	w.Stop()
	svc := e.c.WorkflowService()
	ctx := e.ctx()
	if _, err := svc.ResetStickyTaskQueue(ctx, &workflowservice.ResetStickyTaskQueueRequest{Namespace: "default", Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: runID}}); err != nil {
		e.t.Fatalf("reset sticky: %v", err)
	}
	if err := e.c.SignalWorkflow(ctx, id, runID, "poke", nil); err != nil {
		e.t.Fatal(err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	wt, err := svc.PollWorkflowTaskQueue(pctx, &workflowservice.PollWorkflowTaskQueueRequest{Namespace: "default", TaskQueue: &taskqueuepb.TaskQueue{Name: e.tq, Kind: enumspb.TASK_QUEUE_KIND_NORMAL}, Identity: "vanishing-workflow-worker"})
	if err != nil || len(wt.TaskToken) == 0 {
		e.t.Fatalf("poll workflow task: %v", err)
	}
}

// TestRestartBufferedCancelRequest: a cancel request that arrives while a
// workflow task is in flight is acknowledged, so it must survive a restart.
func TestRestartBufferedCancelRequest(t *testing.T) {
	e := newEnv(t)
	w1 := e.worker(func(w worker.Worker) { w.RegisterWorkflow(RestartCancelWorkflow) })
	opts := e.opts("restart-cancel")
	opts.WorkflowTaskTimeout = time.Second
	run, err := e.c.ExecuteWorkflow(e.ctx(), opts, RestartCancelWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	id, runID := run.GetID(), run.GetRunID()
	rsWaitHistory(e, id, runID, 10*time.Second, "timer started", func(evs []*historypb.HistoryEvent) bool {
		return count(evs, enumspb.EVENT_TYPE_TIMER_STARTED) == 1
	})
	rsTakeWorkflowTask(e, w1, id, runID)
	if err := e.c.CancelWorkflow(e.ctx(), id, runID); err != nil {
		t.Fatal(err)
	}
	e.restart()
	rsWorker(e, e.tq, func(w worker.Worker) { w.RegisterWorkflow(RestartCancelWorkflow) })
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	err = e.c.GetWorkflow(wctx, id, runID).Get(wctx, nil)
	var canceled *temporal.CanceledError
	if !errors.As(err, &canceled) {
		t.Fatalf("want the workflow canceled, got %v; history: %v", err, types(e.history(id, runID)))
	}
	evs := e.history(id, runID)
	requireWellFormed(t, evs)
	if n := count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED); n != 1 {
		t.Fatalf("%d cancel requests: %v", n, types(evs))
	}
}

// RestartSignalLoopWorkflow returns the signals it got once "done" arrives.
func RestartSignalLoopWorkflow(ctx workflow.Context) ([]string, error) {
	var got []string
	ch := workflow.GetSignalChannel(ctx, "s")
	for {
		var v string
		ch.Receive(ctx, &v)
		if v == "done" {
			return got, nil
		}
		got = append(got, v)
	}
}

// TestRestartWorkerShutdownUnsticks: after a worker shuts down (the SDK
// sends ShutdownWorker), new workflow tasks of its runs go to the normal
// queue at once, so another worker picks them up without waiting for the
// sticky schedule-to-start timeout (ShutdownWorker's documented contract).
func TestRestartWorkerShutdownUnsticks(t *testing.T) {
	e := newEnv(t)
	w1 := e.worker(func(w worker.Worker) { w.RegisterWorkflow(RestartSignalLoopWorkflow) })
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("unstick"), RestartSignalLoopWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.c.SignalWorkflow(e.ctx(), run.GetID(), run.GetRunID(), "s", "one"); err != nil {
		t.Fatal(err)
	}
	// Wait until a workflow task completed after the signal was recorded
	// (the signal may arrive before the first task or after it).
	rsWaitHistory(e, run.GetID(), run.GetRunID(), 10*time.Second, "a workflow task completed after the signal", func(evs []*historypb.HistoryEvent) bool {
		signaled := false
		for _, ev := range evs {
			switch ev.EventType {
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
				signaled = true
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
				if signaled {
					return count(evs[ev.EventId-1:], enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) > 0
				}
			}
		}
		return false
	})
	w1.Stop()
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(RestartSignalLoopWorkflow) })
	began := time.Now()
	if err := e.c.SignalWorkflow(e.ctx(), run.GetID(), run.GetRunID(), "s", "done"); err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := run.Get(e.ctx(), &got); err != nil {
		t.Fatal(err)
	}
	took := time.Since(began)
	if len(got) != 1 || got[0] != "one" {
		t.Fatalf("got %v", got)
	}
	if took > 3*time.Second {
		t.Fatalf("the next workflow task took %v to reach the new worker: it waited on the shut-down worker's sticky queue", took.Round(time.Millisecond))
	}
	requireWellFormed(t, e.history(run.GetID(), run.GetRunID()))
}

// TestRestartSamePortWorkersReconnect: the server restarts on the same
// address while client and worker stay up; the worker reconnects and the
// in-flight workflows finish.
func TestRestartSamePortWorkersReconnect(t *testing.T) {
	e := newEnv(t)
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(RestartManyWorkflow)
		w.RegisterActivityWithOptions(RestartEcho, activity.RegisterOptions{Name: "RestartEcho"})
	})
	const n = 10
	var runs []client.WorkflowRun
	for i := 0; i < n; i++ {
		r, err := e.c.ExecuteWorkflow(e.ctx(), e.opts(fmt.Sprintf("same-port-%d", i)), RestartManyWorkflow, i)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r)
	}
	time.Sleep(400 * time.Millisecond)
	addr := e.srv.Addr()
	e.srv.Stop()
	e.srv = nil
	time.Sleep(200 * time.Millisecond)
	srv, err := server.Start(server.Config{Addr: addr, DataDir: e.dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("restart on %s: %v", addr, err)
	}
	e.srv = srv
	began := time.Now()
	for i, r := range runs {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var out string
		err := r.Get(ctx, &out)
		cancel()
		if err != nil {
			t.Fatalf("%s after same-port restart: %v; history %v", r.GetID(), err, types(e.history(r.GetID(), r.GetRunID())))
		}
		if want := fmt.Sprintf("echo-%d.0,echo-%d.1,echo-%d.2", i, i, i); out != want {
			t.Fatalf("%s: %q want %q", r.GetID(), out, want)
		}
		requireWellFormed(t, e.history(r.GetID(), r.GetRunID()))
	}
	t.Logf("all done %v after the restart", time.Since(began).Round(time.Millisecond))
}

// RestartParentWorkflow runs ChildBlock on childTQ and returns its result.
func RestartParentWorkflow(ctx workflow.Context, childTQ string) (string, error) {
	ctx = workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID + "-child", TaskQueue: childTQ,
	})
	var out string
	err := workflow.ExecuteChildWorkflow(ctx, ChildBlock).Get(ctx, &out)
	return "parent:" + out, err
}

// TestRestartChildCompletedWhileParentTaskInFlight: a child closes while
// its parent's workflow task is in flight (the parent's
// ChildWorkflowExecutionCompleted is buffered), then the server restarts.
// The parent must still learn the child's result.
func TestRestartChildCompletedWhileParentTaskInFlight(t *testing.T) {
	e := newEnv(t)
	childTQ := e.tq + "-child"
	w1 := e.worker(func(w worker.Worker) { w.RegisterWorkflow(RestartParentWorkflow) })
	wc := rsWorker(e, childTQ, func(w worker.Worker) { w.RegisterWorkflow(ChildBlock) })
	opts := e.opts("restart-parent")
	opts.WorkflowTaskTimeout = time.Second
	run, err := e.c.ExecuteWorkflow(e.ctx(), opts, RestartParentWorkflow, childTQ)
	if err != nil {
		t.Fatal(err)
	}
	id, runID := run.GetID(), run.GetRunID()
	rsWaitHistory(e, id, runID, 10*time.Second, "child started", func(evs []*historypb.HistoryEvent) bool {
		return count(evs, enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED) == 1 && count(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) == 2
	})
	rsTakeWorkflowTask(e, w1, id, runID)
	if err := e.c.SignalWorkflow(e.ctx(), id+"-child", "", "release", nil); err != nil {
		t.Fatal(err)
	}
	var childOut string
	if err := e.c.GetWorkflow(e.ctx(), id+"-child", "").Get(e.ctx(), &childOut); err != nil || childOut != "released" {
		t.Fatalf("child: %q %v", childOut, err)
	}
	wc.Stop()
	e.restart()
	rsWorker(e, e.tq, func(w worker.Worker) { w.RegisterWorkflow(RestartParentWorkflow) })
	rsWorker(e, childTQ, func(w worker.Worker) { w.RegisterWorkflow(ChildBlock) })
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	var out string
	if err := e.c.GetWorkflow(wctx, id, runID).Get(wctx, &out); err != nil {
		t.Fatalf("parent after restart: %v; history %v", err, types(e.history(id, runID)))
	}
	if out != "parent:released" {
		t.Fatalf("parent result %q", out)
	}
	evs := e.history(id, runID)
	requireWellFormed(t, evs)
	if n := count(evs, enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED); n != 1 {
		t.Fatalf("%d child completed events: %v", n, types(evs))
	}
}

// TestRestartRunTimeout: a run timeout that falls due while the server is
// down fires after the restart, with no worker needed.
func TestRestartRunTimeout(t *testing.T) {
	e := newEnv(t)
	w1 := e.worker(func(w worker.Worker) { w.RegisterWorkflow(RestartCancelWorkflow) })
	opts := e.opts("restart-runtimeout")
	opts.WorkflowRunTimeout = 2 * time.Second
	run, err := e.c.ExecuteWorkflow(e.ctx(), opts, RestartCancelWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	rsWaitHistory(e, run.GetID(), run.GetRunID(), 10*time.Second, "timer started", func(evs []*historypb.HistoryEvent) bool {
		return count(evs, enumspb.EVENT_TYPE_TIMER_STARTED) == 1
	})
	w1.Stop()
	e.stop()
	time.Sleep(2200 * time.Millisecond) // the deadline passes while down
	e.start()
	evs := rsWaitHistory(e, run.GetID(), run.GetRunID(), 5*time.Second, "run timed out", func(evs []*historypb.HistoryEvent) bool {
		return count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT) == 1
	})
	requireWellFormed(t, evs)
	d, err := e.c.DescribeWorkflowExecution(e.ctx(), run.GetID(), run.GetRunID())
	if err != nil || d.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT {
		t.Fatalf("describe: %v %v", d, err)
	}
}

// RestartCANWorkflow continues as new until n reaches 5.
func RestartCANWorkflow(ctx workflow.Context, n int) (int, error) {
	if n >= 5 {
		return n, nil
	}
	if err := workflow.Sleep(ctx, 150*time.Millisecond); err != nil {
		return 0, err
	}
	return 0, workflow.NewContinueAsNewError(ctx, RestartCANWorkflow, n+1)
}

// TestRestartContinueAsNewChain restarts in the middle of a
// continue-as-new chain; the chain finishes and visibility agrees.
func TestRestartContinueAsNewChain(t *testing.T) {
	e := newEnv(t)
	w1 := e.worker(func(w worker.Worker) { w.RegisterWorkflow(RestartCANWorkflow) })
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("restart-can"), RestartCANWorkflow, 0)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	w1.Stop()
	e.restart()
	rsWorker(e, e.tq, func(w worker.Worker) { w.RegisterWorkflow(RestartCANWorkflow) })
	var n int
	if err := e.c.GetWorkflow(e.ctx(), run.GetID(), "").Get(e.ctx(), &n); err != nil {
		t.Fatal(err)
	}
	if n != 5 {
		t.Fatalf("chain ended at %d", n)
	}
	first := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, first)
	if count(first, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW) != 1 {
		t.Fatalf("first run: %v", types(first))
	}
	// Restart again: the finished chain is still visible as such.
	e.restart()
	d, err := e.c.DescribeWorkflowExecution(e.ctx(), run.GetID(), "")
	if err != nil || d.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("describe current run after second restart: %v %v", d, err)
	}
	resp, err := e.c.ListWorkflow(e.ctx(), &workflowservice.ListWorkflowExecutionsRequest{Query: fmt.Sprintf("WorkflowId = '%s'", run.GetID())})
	if err != nil {
		t.Fatalf("list after restart: %v", err)
	}
	runs := map[enumspb.WorkflowExecutionStatus]int{}
	for _, ex := range resp.Executions {
		runs[ex.Status]++
	}
	if runs[enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW] != 5 || runs[enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED] != 1 || len(resp.Executions) != 6 {
		t.Fatalf("visibility after restart: %v (%d runs)", runs, len(resp.Executions))
	}
}

// TestRestartIdempotentRetries: a client that retries a start or a signal
// with the same request id after a server restart (it never saw the reply)
// must not create a second run or a second signal.
func TestRestartIdempotentRetries(t *testing.T) {
	e := newEnv(t)
	id := "restart-idem-" + uuid.NewString()[:8]
	startReq := &workflowservice.StartWorkflowExecutionRequest{
		Namespace: "default", WorkflowId: id, WorkflowType: &commonpb.WorkflowType{Name: "RestartSignalLoopWorkflow"},
		TaskQueue: &taskqueuepb.TaskQueue{Name: e.tq}, RequestId: uuid.NewString(), Identity: "idem",
	}
	first, err := e.c.WorkflowService().StartWorkflowExecution(e.ctx(), startReq)
	if err != nil {
		t.Fatal(err)
	}
	sigReq := &workflowservice.SignalWorkflowExecutionRequest{
		Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: id}, SignalName: "s",
		Input: mustPayloads(t, e, "once"), RequestId: uuid.NewString(), Identity: "idem",
	}
	if _, err := e.c.WorkflowService().SignalWorkflowExecution(e.ctx(), sigReq); err != nil {
		t.Fatal(err)
	}
	e.restart()
	again, err := e.c.WorkflowService().StartWorkflowExecution(e.ctx(), startReq)
	if err != nil {
		t.Fatalf("retried start after restart: %v", err)
	}
	if again.RunId != first.RunId {
		t.Fatalf("retried start after restart made run %s, first was %s", again.RunId, first.RunId)
	}
	if _, err := e.c.WorkflowService().SignalWorkflowExecution(e.ctx(), sigReq); err != nil {
		t.Fatalf("retried signal after restart: %v", err)
	}
	rsWorker(e, e.tq, func(w worker.Worker) { w.RegisterWorkflow(RestartSignalLoopWorkflow) })
	if err := e.c.SignalWorkflow(e.ctx(), id, "", "s", "done"); err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := e.c.GetWorkflow(e.ctx(), id, first.RunId).Get(e.ctx(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "once" {
		t.Fatalf("signals seen by the workflow: %v (the retried signal was applied twice?)", got)
	}
	evs := e.history(id, first.RunId)
	requireWellFormed(t, evs)
	if n := count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED); n != 2 {
		t.Fatalf("%d signal events, want 2 (once + done): %v", n, types(evs))
	}
}

func mustPayloads(t *testing.T, e *env, v interface{}) *commonpb.Payloads {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayloads(v)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
