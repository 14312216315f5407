package gosdk

// Update semantics that must match Temporal 1.31 exactly (the SDKs and
// Temporal's feature suite, features/update/* and
// continue_as_new/updates_do_not_block_continue_as_new, rely on them).

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/types/known/durationpb"
)

// wftGate lets a test hold a workflow inside one workflow task (the
// workflow code blocks its goroutine, which real workflows must never do)
// so that an update is admitted while that task runs, unseen by it.
type wftGate struct {
	entered, release chan struct{}
	once             sync.Once
}

var wftGates sync.Map // workflow id -> *wftGate

func newWFTGate(workflowID string) *wftGate {
	g := &wftGate{entered: make(chan struct{}), release: make(chan struct{})}
	wftGates.Store(workflowID, g)
	return g
}

// hold blocks the first time it runs for the workflow id (not on replay).
func holdWFT(ctx workflow.Context) {
	if g, ok := wftGates.Load(workflow.GetInfo(ctx).WorkflowExecution.ID); ok {
		g := g.(*wftGate)
		g.once.Do(func() {
			close(g.entered)
			<-g.release
		})
	}
}

type updateResult struct {
	h   client.WorkflowUpdateHandle
	v   string
	err error
}

// sendUpdate runs UpdateWorkflow (and Get) in the background.
func sendUpdate(e *env, opts client.UpdateWorkflowOptions) <-chan updateResult {
	ch := make(chan updateResult, 1)
	go func() {
		h, err := e.c.UpdateWorkflow(e.ctx(), opts)
		if err != nil {
			ch <- updateResult{err: err}
			return
		}
		var v string
		err = h.Get(e.ctx(), &v)
		ch <- updateResult{h, v, err}
	}()
	return ch
}

func waitUpdateResult(t *testing.T, ch <-chan updateResult) updateResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(20 * time.Second):
		t.Fatalf("update call hung")
	}
	return updateResult{}
}

// pollStage calls PollWorkflowExecutionUpdate without a wait stage: it
// answers at once with the stage reached.
func pollStage(e *env, wid, runID, uid string) (*workflowservice.PollWorkflowExecutionUpdateResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return e.c.WorkflowService().PollWorkflowExecutionUpdate(ctx, &workflowservice.PollWorkflowExecutionUpdateRequest{
		Namespace: "default",
		UpdateRef: &updatepb.UpdateRef{WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: wid, RunId: runID}, UpdateId: uid},
	})
}

// waitAdmitted waits until the server has admitted update uid.
func waitAdmitted(t *testing.T, e *env, wid, uid string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := pollStage(e, wid, "", uid)
		if err == nil {
			if resp.Stage != enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED {
				t.Fatalf("update %s is at stage %v, want ADMITTED", uid, resp.Stage)
			}
			return
		}
		var nf *serviceerror.NotFound
		if !errors.As(err, &nf) || time.Now().After(deadline) {
			t.Fatalf("update %s not admitted: %v", uid, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func updateIDsOf(evs []*historypb.HistoryEvent, et enumspb.EventType) []string {
	var out []string
	for _, ev := range evs {
		if ev.EventType != et {
			continue
		}
		if a := ev.GetWorkflowExecutionUpdateAcceptedEventAttributes(); a != nil {
			out = append(out, a.ProtocolInstanceId)
		}
		if a := ev.GetWorkflowExecutionUpdateCompletedEventAttributes(); a != nil {
			out = append(out, a.Meta.GetUpdateId())
		}
	}
	return out
}

// ---- an update whose handler fails the workflow task once ----

var panicOnce sync.Map // workflow id -> *atomic.Bool (true once it panicked)

func panicOnceWorkflow(ctx workflow.Context) (string, error) {
	done := false
	if err := workflow.SetUpdateHandler(ctx, "flaky", func(ctx workflow.Context) (string, error) {
		flag, _ := panicOnce.LoadOrStore(workflow.GetInfo(ctx).WorkflowExecution.ID, new(atomic.Bool))
		if flag.(*atomic.Bool).CompareAndSwap(false, true) {
			panic("intentional panic in the update handler")
		}
		done = true
		return "handled", nil
	}); err != nil {
		return "", err
	}
	err := workflow.Await(ctx, func() bool { return done })
	return "finished", err
}

// Temporal keeps an update delivered by a task the worker failed
// (RespondWorkflowTaskFailed) and delivers it again with the retried task
// (features/update/task_failure). The caller gets the result of the retry.
func TestFidelityUpdateRedeliveredAfterWorkerFailedTask(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(panicOnceWorkflow) })
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("flaky"), panicOnceWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	r := waitUpdateResult(t, sendUpdate(e, client.UpdateWorkflowOptions{
		WorkflowID: run.GetID(), RunID: run.GetRunID(), UpdateID: "u1", UpdateName: "flaky", WaitForStage: client.WorkflowUpdateStageCompleted,
	}))
	if r.err != nil || r.v != "handled" {
		t.Fatalf("update: %q %v", r.v, r.err)
	}
	var out string
	if err := run.Get(e.ctx(), &out); err != nil || out != "finished" {
		t.Fatalf("run: %q %v", out, err)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	failed := allOf(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED)
	if len(failed) != 1 {
		t.Fatalf("want one WorkflowTaskFailed: %v", types(evs))
	}
	fa := failed[0].GetWorkflowTaskFailedEventAttributes()
	if fa.Cause != enumspb.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE || !strings.Contains(fa.Failure.GetMessage(), "intentional panic") {
		t.Fatalf("failed attrs %v", fa)
	}
	acc := updateIDsOf(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
	done := updateIDsOf(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)
	if len(acc) != 1 || acc[0] != "u1" || len(done) != 1 || done[0] != "u1" {
		t.Fatalf("update events %v %v: %v", acc, done, types(evs))
	}
	// The retried task (attempt 2) accepted it, after the failure.
	if firstOf(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED).EventId < failed[0].EventId {
		t.Fatalf("accepted before the failure: %v", types(evs))
	}
	if n := count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_REJECTED); n != 0 {
		t.Fatalf("%d rejections", n)
	}
}

// ---- an update accepted by the task that completes the workflow ----

// acceptedThenDoneWorkflow completes as soon as its "start" update began;
// the update's handler waits for a signal that never comes.
func acceptedThenDoneWorkflow(ctx workflow.Context) (string, error) {
	started := false
	if err := workflow.SetUpdateHandler(ctx, "start", func(ctx workflow.Context) (string, error) {
		started = true
		err := workflow.Await(ctx, func() bool { return false })
		return "never", err
	}); err != nil {
		return "", err
	}
	err := workflow.Await(ctx, func() bool { return started })
	return "done", err
}

// Temporal fails an accepted update that is still running when its
// workflow completes with an update failure (AcceptedUpdateCompletedWorkflow),
// not an RPC error: a caller waiting for ACCEPTED gets the handle, and the
// outcome is that failure (features/update/deduplication).
func TestFidelityAcceptedUpdateFailsWhenWorkflowCompletes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(acceptedThenDoneWorkflow) })
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("accdone"), acceptedThenDoneWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	h, err := e.c.UpdateWorkflow(e.ctx(), client.UpdateWorkflowOptions{
		WorkflowID: run.GetID(), UpdateID: "u1", UpdateName: "start", WaitForStage: client.WorkflowUpdateStageAccepted,
	})
	if err != nil {
		t.Fatalf("waiting for ACCEPTED: %v", err)
	}
	var out string
	if err := run.Get(e.ctx(), &out); err != nil || out != "done" {
		t.Fatalf("run: %q %v", out, err)
	}
	requireAcceptedCompletedWorkflow := func(err error) {
		t.Helper()
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || appErr.Type() != "AcceptedUpdateCompletedWorkflow" || !appErr.NonRetryable() ||
			!strings.Contains(appErr.Error(), "Workflow Update failed because the Workflow completed before the Update completed.") {
			t.Fatalf("want an AcceptedUpdateCompletedWorkflow update failure, got %T %v", err, err)
		}
	}
	requireAcceptedCompletedWorkflow(h.Get(e.ctx(), nil))
	// Asking again for the same update id on the closed run: same answer.
	h2, err := e.c.UpdateWorkflow(e.ctx(), client.UpdateWorkflowOptions{
		WorkflowID: run.GetID(), UpdateID: "u1", UpdateName: "start", WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		t.Fatal(err)
	}
	requireAcceptedCompletedWorkflow(h2.Get(e.ctx(), nil))
	// A new update id finds the workflow completed.
	_, err = e.c.UpdateWorkflow(e.ctx(), client.UpdateWorkflowOptions{
		WorkflowID: run.GetID(), UpdateID: "u2", UpdateName: "start", WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var nf *serviceerror.NotFound
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "workflow execution already completed") {
		t.Fatalf("update after close: %v", err)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	// The update may come with the first task or a later one; either way
	// one task accepts it and completes the workflow, and no
	// UpdateCompleted event is written.
	want := []enumspb.EventType{
		enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
	}
	if got := types(evs); len(got) < 3 || !equalTypes(got[len(got)-3:], want) || count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED) != 0 {
		t.Fatalf("history %v, want it to end with %v and no UpdateCompleted", got, want)
	}
}

func equalTypes(a, b []enumspb.EventType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ---- PollWorkflowExecutionUpdate stages and deadlines ----

func waitForUpdateWorkflow(ctx workflow.Context) (string, error) {
	done := false
	if err := workflow.SetUpdateHandler(ctx, "finish", func(ctx workflow.Context, v string) (string, error) {
		done = true
		return "got " + v, nil
	}); err != nil {
		return "", err
	}
	err := workflow.Await(ctx, func() bool { return done })
	return "finished", err
}

// With no wait stage, Temporal answers at once with the stage reached; a
// poll for a stage not reached before the caller's deadline fails with
// DeadlineExceeded (it does not answer empty just before the deadline,
// which made the SDKs poll again and again).
func TestFidelityUpdatePollStagesAndDeadline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("poll"), waitForUpdateWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	// No worker yet: the update stays admitted.
	pending := sendUpdate(e, client.UpdateWorkflowOptions{
		WorkflowID: run.GetID(), UpdateID: "u1", UpdateName: "finish", Args: []interface{}{"x"}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	waitAdmitted(t, e, run.GetID(), "u1")
	start := time.Now()
	resp, err := pollStage(e, run.GetID(), run.GetRunID(), "u1")
	if err != nil || resp.Stage != enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED || resp.Outcome != nil ||
		resp.UpdateRef.GetWorkflowExecution().GetRunId() != run.GetRunID() {
		t.Fatalf("poll without stage: %v %v", resp, err)
	}
	if el := time.Since(start); el > time.Second {
		t.Fatalf("poll without stage took %v", el)
	}
	// Waiting for COMPLETED with a 1 s deadline: DeadlineExceeded at the
	// deadline, not an empty answer.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	start = time.Now()
	resp, err = e.c.WorkflowService().PollWorkflowExecutionUpdate(ctx, &workflowservice.PollWorkflowExecutionUpdateRequest{
		Namespace:  "default",
		UpdateRef:  &updatepb.UpdateRef{WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: run.GetID()}, UpdateId: "u1"},
		WaitPolicy: &updatepb.WaitPolicy{LifecycleStage: enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED},
	})
	cancel()
	var de *serviceerror.DeadlineExceeded
	if !errors.As(err, &de) {
		t.Fatalf("poll past the deadline: %v %v", resp, err)
	}
	if el := time.Since(start); el < 900*time.Millisecond || el > 3*time.Second {
		t.Fatalf("poll returned after %v", el)
	}
	// The SDK's handle.Get with a short deadline reports a timeout.
	h := e.c.GetWorkflowUpdateHandle(client.GetWorkflowUpdateHandleOptions{WorkflowID: run.GetID(), UpdateID: "u1"})
	ctx, cancel = context.WithTimeout(context.Background(), time.Second)
	err = h.Get(ctx, nil)
	cancel()
	var te *client.WorkflowUpdateServiceTimeoutOrCanceledError
	if !errors.As(err, &te) {
		t.Fatalf("Get past the deadline: %T %v", err, err)
	}
	// An unknown update id on a running workflow: NotFound.
	if _, err := pollStage(e, run.GetID(), "", "nope"); err == nil || !strings.Contains(err.Error(), `update "nope" not found`) {
		t.Fatalf("unknown update: %v", err)
	}
	// A worker arrives: the update completes; a poll without stage now
	// answers COMPLETED with the outcome.
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(waitForUpdateWorkflow) })
	if r := waitUpdateResult(t, pending); r.err != nil || r.v != "got x" {
		t.Fatalf("update: %q %v", r.v, r.err)
	}
	resp, err = pollStage(e, run.GetID(), "", "u1")
	if err != nil || resp.Stage != enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED || resp.Outcome.GetSuccess() == nil {
		t.Fatalf("poll after completion: %v %v", resp, err)
	}
}

// UpdateWorkflowExecution may not wait for ADMITTED (PermissionDenied, as
// in Temporal: an admitted update is not durable).
func TestFidelityUpdateWaitForAdmittedRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("admitted"), waitForUpdateWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.c.WorkflowService().UpdateWorkflowExecution(e.ctx(), &workflowservice.UpdateWorkflowExecutionRequest{
		Namespace:         "default",
		WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: run.GetID()},
		WaitPolicy:        &updatepb.WaitPolicy{LifecycleStage: enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED},
		Request:           &updatepb.Request{Meta: &updatepb.Meta{UpdateId: "u1"}, Input: &updatepb.Input{Name: "finish"}},
	})
	var pd *serviceerror.PermissionDenied
	if !errors.As(err, &pd) {
		t.Fatalf("wait for ADMITTED: %v", err)
	}
}

// ---- updates sent before any worker polled ----

// The first workflow task is handed to the first worker that polls, with
// every update sent before it, for both a plain update and update-with-start.
func TestFidelityUpdatesBeforeAnyWorker(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := "early-" + e.tq
	op := e.c.NewWithStartWorkflowOperation(client.StartWorkflowOptions{ID: id, TaskQueue: e.tq, WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING}, waitForUpdateWorkflow)
	uws := make(chan updateResult, 1)
	go func() {
		h, err := e.c.UpdateWithStartWorkflow(e.ctx(), client.UpdateWithStartWorkflowOptions{StartWorkflowOperation: op,
			UpdateOptions: client.UpdateWorkflowOptions{UpdateID: "a", UpdateName: "finish", Args: []interface{}{"a"}, WaitForStage: client.WorkflowUpdateStageCompleted}})
		if err != nil {
			uws <- updateResult{err: err}
			return
		}
		var v string
		err = h.Get(e.ctx(), &v)
		uws <- updateResult{h, v, err}
	}()
	waitAdmitted(t, e, id, "a")
	plain := sendUpdate(e, client.UpdateWorkflowOptions{WorkflowID: id, UpdateID: "b", UpdateName: "finish", Args: []interface{}{"b"}, WaitForStage: client.WorkflowUpdateStageCompleted})
	waitAdmitted(t, e, id, "b")
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(waitForUpdateWorkflow) })
	for _, ch := range []<-chan updateResult{uws, plain} {
		r := waitUpdateResult(t, ch)
		if r.err != nil || !strings.HasPrefix(r.v, "got ") {
			t.Fatalf("update: %q %v", r.v, r.err)
		}
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("updates took %v after the worker started", el)
	}
	evs := e.history(id, "")
	requireWellFormed(t, evs)
	if got := updateIDsOf(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("accepted %v: %v", got, types(evs))
	}
	// Both were delivered with the first workflow task.
	if n := count(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED); n != 1 {
		t.Fatalf("%d workflow tasks: %v", n, types(evs))
	}
}

// ---- update-with-start with an update id that already exists ----

var uwsCalls sync.Map // workflow id -> *atomic.Int32

func countingUpdateWorkflow(ctx workflow.Context) (string, error) {
	done := false
	if err := workflow.SetUpdateHandler(ctx, "count", func(ctx workflow.Context, v string) (string, error) {
		// Counted once per execution, not per replay: a worker that lost
		// its sticky cache (or a server that evicted the run) replays the
		// handler.
		if !workflow.IsReplaying(ctx) {
			n, _ := uwsCalls.LoadOrStore(workflow.GetInfo(ctx).WorkflowExecution.ID, new(atomic.Int32))
			n.(*atomic.Int32).Add(1)
		}
		return "handled " + v, nil
	}); err != nil {
		return "", err
	}
	if err := workflow.SetUpdateHandler(ctx, "finish", func(ctx workflow.Context) error {
		done = true
		return nil
	}); err != nil {
		return "", err
	}
	err := workflow.Await(ctx, func() bool { return done })
	return "finished", err
}

// Temporal's update-with-start looks for the update id first: one the
// current run completed (open or closed) answers with its outcome and
// starts nothing; one the running workflow knows is attached to, whatever
// the conflict policy.
func TestFidelityUpdateWithStartAttachesToExistingUpdate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(countingUpdateWorkflow) })
	id := "uws-" + e.tq
	uwsStart := func(policy enumspb.WorkflowIdConflictPolicy, uid, arg string) (client.WorkflowRun, string, error) {
		op := e.c.NewWithStartWorkflowOperation(client.StartWorkflowOptions{ID: id, TaskQueue: e.tq, WorkflowIDConflictPolicy: policy}, countingUpdateWorkflow)
		h, err := e.c.UpdateWithStartWorkflow(e.ctx(), client.UpdateWithStartWorkflowOptions{StartWorkflowOperation: op,
			UpdateOptions: client.UpdateWorkflowOptions{UpdateID: uid, UpdateName: "count", Args: []interface{}{arg}, WaitForStage: client.WorkflowUpdateStageCompleted}})
		if err != nil {
			return nil, "", err
		}
		var v string
		if err := h.Get(e.ctx(), &v); err != nil {
			return nil, "", err
		}
		run, err := op.Get(e.ctx())
		return run, v, err
	}
	run1, v, err := uwsStart(enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING, "u1", "first")
	if err != nil || v != "handled first" {
		t.Fatalf("first: %q %v", v, err)
	}
	// Running, FAIL policy, same update id: attached, not AlreadyStarted.
	run2, v, err := uwsStart(enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL, "u1", "second")
	if err != nil || v != "handled first" || run2.GetRunID() != run1.GetRunID() {
		t.Fatalf("same id while running: %q %v (run %s vs %s)", v, err, run2, run1.GetRunID())
	}
	// Running, FAIL policy, new update id: AlreadyStarted.
	_, _, err = uwsStart(enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL, "u2", "third")
	var as *serviceerror.WorkflowExecutionAlreadyStarted
	if !errors.As(err, &as) {
		t.Fatalf("new id with FAIL policy: %v", err)
	}
	// Close the workflow; the same update id still answers with its
	// outcome, and no new run starts.
	if _, err := e.c.UpdateWorkflow(e.ctx(), client.UpdateWorkflowOptions{WorkflowID: id, UpdateID: "fin", UpdateName: "finish", WaitForStage: client.WorkflowUpdateStageCompleted}); err != nil {
		t.Fatal(err)
	}
	if err := e.c.GetWorkflow(e.ctx(), id, run1.GetRunID()).Get(e.ctx(), nil); err != nil {
		t.Fatal(err)
	}
	run3, v, err := uwsStart(enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL, "u1", "fourth")
	if err != nil || v != "handled first" || run3.GetRunID() != run1.GetRunID() {
		t.Fatalf("same id after close: %q %v", v, err)
	}
	desc, err := e.c.DescribeWorkflowExecution(e.ctx(), id, "")
	if err != nil || desc.WorkflowExecutionInfo.Execution.RunId != run1.GetRunID() || desc.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("current run after update-with-start on a closed run: %v %v", desc.GetWorkflowExecutionInfo(), err)
	}
	if n, _ := uwsCalls.Load(id); n.(*atomic.Int32).Load() != 1 {
		t.Fatalf("handler ran %d times", n.(*atomic.Int32).Load())
	}
	evs := e.history(id, run1.GetRunID())
	requireWellFormed(t, evs)
	if got := updateIDsOf(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED); len(got) != 2 || got[0] != "u1" || got[1] != "fin" {
		t.Fatalf("accepted %v", got)
	}
}

// ---- updates and the close of the run ----

// continueAsNewWithUpdates handles "handled" in its first run, then (held
// in that task while the test sends "waiting") continues as new; the next
// run finishes once "waiting" ran, and the handlers return their run id.
func continueAsNewWithUpdates(ctx workflow.Context) (string, error) {
	done := false
	handler := func(ctx workflow.Context) (string, error) {
		done = true
		return workflow.GetInfo(ctx).WorkflowExecution.RunID, nil
	}
	for _, name := range []string{"handled", "waiting"} {
		if err := workflow.SetUpdateHandler(ctx, name, handler); err != nil {
			return "", err
		}
	}
	if err := workflow.Await(ctx, func() bool { return done }); err != nil {
		return "", err
	}
	if workflow.GetInfo(ctx).ContinuedExecutionRunID == "" {
		holdWFT(ctx)
		return "", workflow.NewContinueAsNewError(ctx, continueAsNewWithUpdates)
	}
	return workflow.GetInfo(ctx).WorkflowExecution.RunID, nil
}

// On Temporal, an update the workflow has not seen does not block
// continue-as-new: the update the closing task handled completes on the
// old run, and the waiting one is delivered to the new run
// (continue_as_new/updates_do_not_block_continue_as_new). A caller that
// named the old run gets NotFound instead, and the new run never sees it.
func TestFidelityContinueAsNewCarriesWaitingUpdate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(continueAsNewWithUpdates) })
	opts := e.opts("can")
	gate := newWFTGate(opts.ID)
	run, err := e.c.ExecuteWorkflow(e.ctx(), opts, continueAsNewWithUpdates)
	if err != nil {
		t.Fatal(err)
	}
	handled := sendUpdate(e, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), UpdateID: "handled", UpdateName: "handled", WaitForStage: client.WorkflowUpdateStageCompleted})
	select {
	case <-gate.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("workflow task with the first update never ran")
	}
	waiting := sendUpdate(e, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), UpdateID: "waiting", UpdateName: "waiting", WaitForStage: client.WorkflowUpdateStageCompleted})
	pinned := sendUpdate(e, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), RunID: run.GetRunID(), UpdateID: "pinned", UpdateName: "waiting", WaitForStage: client.WorkflowUpdateStageCompleted})
	waitAdmitted(t, e, run.GetID(), "waiting")
	waitAdmitted(t, e, run.GetID(), "pinned")
	close(gate.release)

	h := waitUpdateResult(t, handled)
	if h.err != nil || h.v != run.GetRunID() {
		t.Fatalf("handled update: %q %v (first run %s)", h.v, h.err, run.GetRunID())
	}
	w := waitUpdateResult(t, waiting)
	if w.err != nil || w.v == "" || w.v == run.GetRunID() || w.h.RunID() != w.v {
		t.Fatalf("waiting update: %q %v (handle run %s, first run %s)", w.v, w.err, w.h, run.GetRunID())
	}
	p := waitUpdateResult(t, pinned)
	var nf *serviceerror.NotFound
	if !errors.As(p.err, &nf) || !strings.Contains(p.err.Error(), "workflow execution already completed") {
		t.Fatalf("update pinned to the first run: %q %v", p.v, p.err)
	}
	var out string
	if err := e.c.GetWorkflow(e.ctx(), run.GetID(), "").Get(e.ctx(), &out); err != nil || out != w.v {
		t.Fatalf("second run: %q %v", out, err)
	}
	first := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, first)
	if got := updateIDsOf(first, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED); len(got) != 1 || got[0] != "handled" {
		t.Fatalf("first run completed updates %v: %v", got, types(first))
	}
	if got := updateIDsOf(first, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED); len(got) != 1 || got[0] != "handled" {
		t.Fatalf("first run accepted updates %v", got)
	}
	if last := first[len(first)-1]; last.EventType != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW || count(first, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED) != 0 {
		t.Fatalf("first run history %v", types(first))
	}
	second := e.history(run.GetID(), w.v)
	requireWellFormed(t, second)
	if got := updateIDsOf(second, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED); len(got) != 1 || got[0] != "waiting" {
		t.Fatalf("second run completed updates %v: %v", got, types(second))
	}
	// Delivered with the new run's first workflow task.
	if n := count(second, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED); n != 1 {
		t.Fatalf("second run history %v", types(second))
	}
}

func completeAfterHoldWorkflow(ctx workflow.Context) (string, error) {
	if err := workflow.SetUpdateHandler(ctx, "late", func(ctx workflow.Context) (string, error) { return "ran", nil }); err != nil {
		return "", err
	}
	holdWFT(ctx)
	return "done", nil
}

// An update admitted while the workflow's last task runs, unseen by it,
// does not keep the workflow open (no UNHANDLED_COMMAND): the workflow
// completes and the caller gets Temporal's NotFound "workflow update was
// aborted by closing workflow".
func TestFidelityUnseenUpdateDoesNotBlockCompletion(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(completeAfterHoldWorkflow) })
	opts := e.opts("unseen")
	gate := newWFTGate(opts.ID)
	run, err := e.c.ExecuteWorkflow(e.ctx(), opts, completeAfterHoldWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-gate.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("first workflow task never ran")
	}
	late := sendUpdate(e, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), UpdateID: "late", UpdateName: "late", WaitForStage: client.WorkflowUpdateStageCompleted})
	waitAdmitted(t, e, run.GetID(), "late")
	close(gate.release)
	var out string
	if err := run.Get(e.ctx(), &out); err != nil || out != "done" {
		t.Fatalf("run: %q %v", out, err)
	}
	r := waitUpdateResult(t, late)
	var nf *serviceerror.NotFound
	if !errors.As(r.err, &nf) || !strings.Contains(r.err.Error(), "workflow update was aborted by closing workflow") {
		t.Fatalf("update: %q %v", r.v, r.err)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	want := []enumspb.EventType{
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
	}
	if got := types(evs); !equalTypes(got, want) {
		t.Fatalf("history %v, want %v", got, want)
	}
}

// Update-with-start whose update was sent to a running workflow that then
// completed without seeing it: Temporal retries the whole operation once,
// which starts a new run that handles the update.
func TestFidelityUpdateWithStartRetriedWhenRunClosesFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(completeAfterHoldWorkflow) })
	id := "uwsretry-" + e.tq
	gate := newWFTGate(id)
	first, err := e.c.ExecuteWorkflow(e.ctx(), client.StartWorkflowOptions{ID: id, TaskQueue: e.tq}, completeAfterHoldWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-gate.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("first workflow task never ran")
	}
	op := e.c.NewWithStartWorkflowOperation(client.StartWorkflowOptions{ID: id, TaskQueue: e.tq, WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING}, completeAfterHoldWorkflow)
	done := make(chan updateResult, 1)
	go func() {
		h, err := e.c.UpdateWithStartWorkflow(e.ctx(), client.UpdateWithStartWorkflowOptions{StartWorkflowOperation: op,
			UpdateOptions: client.UpdateWorkflowOptions{UpdateID: "late", UpdateName: "late", WaitForStage: client.WorkflowUpdateStageCompleted}})
		if err != nil {
			done <- updateResult{err: err}
			return
		}
		var v string
		err = h.Get(e.ctx(), &v)
		done <- updateResult{h, v, err}
	}()
	waitAdmitted(t, e, id, "late")
	close(gate.release)
	r := waitUpdateResult(t, done)
	if r.err != nil || r.v != "ran" {
		t.Fatalf("update-with-start: %q %v", r.v, r.err)
	}
	run, err := op.Get(e.ctx())
	if err != nil || run.GetRunID() == first.GetRunID() || r.h.RunID() != run.GetRunID() {
		t.Fatalf("update-with-start run %v (%v), first run %s", run, err, first.GetRunID())
	}
	firstEvs := e.history(id, first.GetRunID())
	if n := count(firstEvs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED); n != 0 || firstEvs[len(firstEvs)-1].EventType != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED {
		t.Fatalf("first run %v", types(firstEvs))
	}
	second := e.history(id, run.GetRunID())
	requireWellFormed(t, second)
	if got := updateIDsOf(second, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED); len(got) != 1 || got[0] != "late" {
		t.Fatalf("second run %v", types(second))
	}
}

func validatedUpdateWorkflow(ctx workflow.Context) (string, error) {
	var last string
	if err := workflow.SetUpdateHandlerWithOptions(ctx, "set", func(ctx workflow.Context, v string) (string, error) {
		last = v
		return "set " + v, nil
	}, workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, v string) error {
		if v == "bad" {
			return errors.New("bad value")
		}
		return nil
	}}); err != nil {
		return "", err
	}
	err := workflow.Await(ctx, func() bool { return last == "stop" })
	return last, err
}

// Temporal forgets a rejected update (it is in neither history nor the
// registry): the caller gets the rejection, a later poll finds the id
// unknown, and the same id can be sent again.
func TestFidelityRejectedUpdateIsForgotten(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(validatedUpdateWorkflow) })
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("rejected"), validatedUpdateWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	r := waitUpdateResult(t, sendUpdate(e, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), UpdateID: "u1", UpdateName: "set", Args: []interface{}{"bad"}, WaitForStage: client.WorkflowUpdateStageCompleted}))
	if r.err == nil || !strings.Contains(r.err.Error(), "bad value") {
		t.Fatalf("rejected update: %q %v", r.v, r.err)
	}
	if _, err := pollStage(e, run.GetID(), "", "u1"); err == nil || !strings.Contains(err.Error(), `update "u1" not found`) {
		t.Fatalf("poll of a rejected update: %v", err)
	}
	r = waitUpdateResult(t, sendUpdate(e, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), UpdateID: "u1", UpdateName: "set", Args: []interface{}{"stop"}, WaitForStage: client.WorkflowUpdateStageCompleted}))
	if r.err != nil || r.v != "set stop" {
		t.Fatalf("same id sent again: %q %v", r.v, r.err)
	}
	var out string
	if err := run.Get(e.ctx(), &out); err != nil || out != "stop" {
		t.Fatalf("run: %q %v", out, err)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	if got := updateIDsOf(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED); len(got) != 1 || got[0] != "u1" {
		t.Fatalf("accepted %v: %v", got, types(evs))
	}
	for _, ev := range evs {
		if strings.Contains(ev.String(), "bad value") {
			t.Fatalf("rejection left event %d %v", ev.EventId, ev.EventType)
		}
	}
}

var secondHolds sync.Map // workflow id -> *wftGate

// closeRefusedWorkflow returns in its first task; a signal that arrived
// meanwhile makes the server refuse that completion (UNHANDLED_COMMAND).
// Its retry, which sees the signal, is held until the test releases it.
func closeRefusedWorkflow(ctx workflow.Context) (string, error) {
	if err := workflow.SetUpdateHandler(ctx, "late", func(ctx workflow.Context) (string, error) { return "ran", nil }); err != nil {
		return "", err
	}
	holdWFT(ctx)
	if workflow.GetSignalChannel(ctx, "sig").ReceiveAsync(nil) {
		if g, ok := secondHolds.Load(workflow.GetInfo(ctx).WorkflowExecution.ID); ok {
			g := g.(*wftGate)
			g.once.Do(func() {
				close(g.entered)
				<-g.release
			})
		}
	}
	return "done", nil
}

// While the retry of a task whose completion was refused (UNHANDLED_COMMAND)
// runs, Temporal refuses updates with the retryable ResourceExhausted
// (BUSY_WORKFLOW) "workflow is closing"; the SDK retries, and once the run
// closed the update finds the workflow completed.
func TestFidelityUpdateRefusedWhileWorkflowIsClosing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(closeRefusedWorkflow) })
	opts := e.opts("closing")
	first := newWFTGate(opts.ID)
	second := &wftGate{entered: make(chan struct{}), release: make(chan struct{})}
	secondHolds.Store(opts.ID, second)
	run, err := e.c.ExecuteWorkflow(e.ctx(), opts, closeRefusedWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	<-first.entered
	if err := e.c.SignalWorkflow(e.ctx(), run.GetID(), "", "sig", nil); err != nil {
		t.Fatal(err)
	}
	close(first.release)
	select {
	case <-second.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the retried task never ran")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_, err = e.c.WorkflowService().UpdateWorkflowExecution(ctx, &workflowservice.UpdateWorkflowExecutionRequest{
		Namespace:         "default",
		WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: run.GetID()},
		WaitPolicy:        &updatepb.WaitPolicy{LifecycleStage: enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED},
		Request:           &updatepb.Request{Meta: &updatepb.Meta{UpdateId: "raw"}, Input: &updatepb.Input{Name: "late"}},
	})
	cancel()
	var re *serviceerror.ResourceExhausted
	if !errors.As(err, &re) || re.Cause != enumspb.RESOURCE_EXHAUSTED_CAUSE_BUSY_WORKFLOW || !strings.Contains(err.Error(), "workflow is closing") {
		t.Fatalf("update while the workflow is closing: %v", err)
	}
	late := sendUpdate(e, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), UpdateID: "late", UpdateName: "late", WaitForStage: client.WorkflowUpdateStageCompleted})
	time.Sleep(100 * time.Millisecond)
	close(second.release)
	var out string
	if err := run.Get(e.ctx(), &out); err != nil || out != "done" {
		t.Fatalf("run: %q %v", out, err)
	}
	r := waitUpdateResult(t, late)
	var nf *serviceerror.NotFound
	if !errors.As(r.err, &nf) || !strings.Contains(r.err.Error(), "workflow execution already completed") {
		t.Fatalf("SDK update sent while closing: %q %v", r.v, r.err)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	failed := allOf(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED)
	if len(failed) != 1 || failed[0].GetWorkflowTaskFailedEventAttributes().Cause != enumspb.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND ||
		count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) != 0 || evs[len(evs)-1].EventType != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED {
		t.Fatalf("history %v", types(evs))
	}
}

// An update for an idle workflow is delivered on a speculative workflow
// task; when no worker takes it within 5 s, Temporal writes that task to
// history as timed out (SCHEDULE_TO_START) and schedules a normal task
// (attempt 1), which the next worker gets with the update.
func TestFidelitySpeculativeTaskScheduleToStartTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w1 := worker.New(e.c, e.tq, worker.Options{})
	w1.RegisterWorkflow(waitForUpdateWorkflow)
	if err := w1.Start(); err != nil {
		t.Fatal(err)
	}
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("spec"), waitForUpdateWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	// Wait until the first task completed, then take the worker away.
	deadline := time.Now().Add(10 * time.Second)
	for count(e.history(run.GetID(), run.GetRunID()), enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("first workflow task never completed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	w1.Stop()
	pending := sendUpdate(e, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), UpdateID: "u1", UpdateName: "finish", Args: []interface{}{"x"}, WaitForStage: client.WorkflowUpdateStageCompleted})
	waitAdmitted(t, e, run.GetID(), "u1")
	time.Sleep(speculativeScheduleToStart + 500*time.Millisecond)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(waitForUpdateWorkflow) })
	if r := waitUpdateResult(t, pending); r.err != nil || r.v != "got x" {
		t.Fatalf("update: %q %v", r.v, r.err)
	}
	if err := run.Get(e.ctx(), nil); err != nil {
		t.Fatal(err)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	want := []enumspb.EventType{
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
	}
	if got := types(evs); !equalTypes(got, want) {
		t.Fatalf("history %v, want %v", got, want)
	}
	to := evs[5].GetWorkflowTaskTimedOutEventAttributes()
	if to.TimeoutType != enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START || to.ScheduledEventId != 5 || to.StartedEventId != 0 {
		t.Fatalf("timed out attrs %v", to)
	}
	if a := evs[6].GetWorkflowTaskScheduledEventAttributes(); a.Attempt != 1 || a.TaskQueue.GetKind() != enumspb.TASK_QUEUE_KIND_NORMAL {
		t.Fatalf("replacement task %v", a)
	}
}

const speculativeScheduleToStart = 5 * time.Second // Temporal's SpeculativeWorkflowTaskScheduleToStartTimeout

// Update-with-start refuses what Temporal refuses in its start (cron, start
// delay, eager start) and a FirstExecutionRunId in its update, each as an
// InvalidArgument of that operation.
func TestFidelityUpdateWithStartRefusedOptions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := "uwsbad-" + e.tq
	req := func(edit func(*workflowservice.StartWorkflowExecutionRequest, *workflowservice.UpdateWorkflowExecutionRequest)) *workflowservice.ExecuteMultiOperationRequest {
		start := &workflowservice.StartWorkflowExecutionRequest{
			Namespace: "default", WorkflowId: id, WorkflowType: &commonpb.WorkflowType{Name: "waitForUpdateWorkflow"},
			TaskQueue: &taskqueuepb.TaskQueue{Name: e.tq}, RequestId: "r1",
			WorkflowIdConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		}
		upd := &workflowservice.UpdateWorkflowExecutionRequest{
			Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: id},
			WaitPolicy: &updatepb.WaitPolicy{LifecycleStage: enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED},
			Request:    &updatepb.Request{Meta: &updatepb.Meta{UpdateId: "u"}, Input: &updatepb.Input{Name: "finish"}},
		}
		edit(start, upd)
		return &workflowservice.ExecuteMultiOperationRequest{Namespace: "default", Operations: []*workflowservice.ExecuteMultiOperationRequest_Operation{
			{Operation: &workflowservice.ExecuteMultiOperationRequest_Operation_StartWorkflow{StartWorkflow: start}},
			{Operation: &workflowservice.ExecuteMultiOperationRequest_Operation_UpdateWorkflow{UpdateWorkflow: upd}},
		}}
	}
	cases := []struct {
		name string
		op   int
		msg  string
		edit func(*workflowservice.StartWorkflowExecutionRequest, *workflowservice.UpdateWorkflowExecutionRequest)
	}{
		{"cron", 0, "CronSchedule is not allowed.", func(s *workflowservice.StartWorkflowExecutionRequest, _ *workflowservice.UpdateWorkflowExecutionRequest) {
			s.CronSchedule = "* * * * *"
		}},
		{"start delay", 0, "WorkflowStartDelay is not supported.", func(s *workflowservice.StartWorkflowExecutionRequest, _ *workflowservice.UpdateWorkflowExecutionRequest) {
			s.WorkflowStartDelay = durationpb.New(time.Second)
		}},
		{"eager", 0, "RequestEagerExecution is not supported.", func(s *workflowservice.StartWorkflowExecutionRequest, _ *workflowservice.UpdateWorkflowExecutionRequest) {
			s.RequestEagerExecution = true
		}},
		{"first execution run id", 1, "FirstExecutionRunId is not allowed.", func(_ *workflowservice.StartWorkflowExecutionRequest, u *workflowservice.UpdateWorkflowExecutionRequest) {
			u.FirstExecutionRunId = "01a21b6b-df3f-76ad-8b75-06937b6d9eb8"
		}},
	}
	for _, c := range cases {
		_, err := e.c.WorkflowService().ExecuteMultiOperation(e.ctx(), req(c.edit))
		var me *serviceerror.MultiOperationExecution
		if !errors.As(err, &me) || len(me.OperationErrors()) != 2 {
			t.Fatalf("%s: %v", c.name, err)
		}
		var ia *serviceerror.InvalidArgument
		if got := me.OperationErrors()[c.op]; !errors.As(got, &ia) || got.Error() != c.msg {
			t.Fatalf("%s: operation %d error %v", c.name, c.op, got)
		}
	}
	if _, err := e.c.DescribeWorkflowExecution(e.ctx(), id, ""); err == nil {
		t.Fatalf("a refused update-with-start started the workflow")
	}
}
