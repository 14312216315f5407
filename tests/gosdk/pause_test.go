package gosdk

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	activitypb "go.temporal.io/api/activity/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// pauseFlaky is an activity that fails until ok is set; it counts its
// attempts and records the attempt number it last ran as.
type pauseFlaky struct {
	ok       atomic.Bool
	attempts atomic.Int32
	last     atomic.Int32
}

func (p *pauseFlaky) Flaky(ctx context.Context) (string, error) {
	p.attempts.Add(1)
	p.last.Store(activity.GetInfo(ctx).Attempt)
	if p.ok.Load() {
		return "done", nil
	}
	return "", errors.New("not yet")
}

func pauseFlakyWorkflow(ctx workflow.Context) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		ActivityID: "flaky", StartToCloseTimeout: 10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 50 * time.Millisecond, BackoffCoefficient: 1},
	})
	var r string
	err := workflow.ExecuteActivity(ctx, "Flaky").Get(ctx, &r)
	return r, err
}

func describeActivity(t *testing.T, e *env, id, runID string) *workflowpb.PendingActivityInfo {
	t.Helper()
	d, err := e.c.DescribeWorkflowExecution(e.ctx(), id, runID)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.PendingActivities) != 1 {
		t.Fatalf("pending activities: %v", d.PendingActivities)
	}
	return d.PendingActivities[0]
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPauseActivityStopsRetries: a paused activity is not retried (its
// attempts stop, describe shows PAUSED with the pause info), survives a
// restart paused, and after UnpauseActivity with reset_attempts it runs
// again as attempt 1 and the workflow completes. Pausing writes no
// history event. Unknown activities are NotFound, a second pause is
// FailedPrecondition.
func TestPauseActivityStopsRetries(t *testing.T) {
	e := newEnv(t)
	fl := &pauseFlaky{}
	register := func(w worker.Worker) {
		w.RegisterWorkflow(pauseFlakyWorkflow)
		w.RegisterActivityWithOptions(fl.Flaky, activity.RegisterOptions{Name: "Flaky"})
	}
	e.worker(register)
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("pause"), pauseFlakyWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "three attempts", func() bool { return fl.attempts.Load() >= 3 })
	svc := e.c.WorkflowService()
	ex := &commonpb.WorkflowExecution{WorkflowId: run.GetID()}

	_, err = svc.PauseActivity(e.ctx(), &workflowservice.PauseActivityRequest{Namespace: "default", Execution: ex, Activity: &workflowservice.PauseActivityRequest_Id{Id: "nope"}})
	var nf *serviceerror.NotFound
	if !errors.As(err, &nf) {
		t.Fatalf("pause of an unknown activity: %v, want NotFound", err)
	}
	_, err = svc.PauseActivity(e.ctx(), &workflowservice.PauseActivityRequest{Namespace: "default", Execution: ex, Activity: &workflowservice.PauseActivityRequest_Type{Type: "NoSuchType"}})
	if !errors.As(err, &nf) {
		t.Fatalf("pause of an unknown type: %v, want NotFound", err)
	}
	_, err = svc.PauseActivity(e.ctx(), &workflowservice.PauseActivityRequest{Namespace: "default", Execution: ex})
	var inv *serviceerror.InvalidArgument
	if !errors.As(err, &inv) {
		t.Fatalf("pause without activity: %v, want InvalidArgument", err)
	}

	if _, err := svc.PauseActivity(e.ctx(), &workflowservice.PauseActivityRequest{
		Namespace: "default", Execution: ex, Activity: &workflowservice.PauseActivityRequest_Type{Type: "Flaky"},
		Identity: "operator", Reason: "too flaky", RequestId: "p1",
	}); err != nil {
		t.Fatal(err)
	}
	_, err = svc.PauseActivity(e.ctx(), &workflowservice.PauseActivityRequest{Namespace: "default", Execution: ex, Activity: &workflowservice.PauseActivityRequest_Id{Id: "flaky"}, RequestId: "p2"})
	var fp *serviceerror.FailedPrecondition
	if !errors.As(err, &fp) {
		t.Fatalf("second pause: %v, want FailedPrecondition", err)
	}
	// An attempt running at the pause may still end; after that, none.
	time.Sleep(300 * time.Millisecond)
	n := fl.attempts.Load()
	time.Sleep(time.Second)
	if got := fl.attempts.Load(); got != n {
		t.Fatalf("paused activity ran %d more attempts", got-n)
	}
	p := describeActivity(t, e, run.GetID(), "")
	if !p.Paused || p.State != enumspb.PENDING_ACTIVITY_STATE_PAUSED || p.NextAttemptScheduleTime != nil ||
		p.PauseInfo.GetManual().GetIdentity() != "operator" || p.PauseInfo.GetManual().GetReason() != "too flaky" || p.PauseInfo.GetPauseTime() == nil {
		t.Fatalf("describe of the paused activity: %v", p)
	}
	if p.Attempt < 3 {
		t.Fatalf("attempt %d, want the failed attempts counted", p.Attempt)
	}
	// Visibility finds the run by its paused activity type, as Temporal's
	// TemporalPauseInfo search attribute does.
	pausedQuery := `TemporalPauseInfo = "property:activityType=Flaky"`
	listPaused := func() []string {
		resp, err := e.c.ListWorkflow(e.ctx(), &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default", Query: pausedQuery})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, ex := range resp.Executions {
			ids = append(ids, ex.Execution.GetWorkflowId())
		}
		return ids
	}
	if ids := listPaused(); len(ids) != 1 || ids[0] != run.GetID() {
		t.Fatalf("%s lists %v, want the paused run", pausedQuery, ids)
	}

	// The pause is durable.
	e.restart()
	e.worker(register)
	time.Sleep(500 * time.Millisecond)
	if got := fl.attempts.Load(); got != n {
		t.Fatalf("paused activity ran after restart")
	}
	if p := describeActivity(t, e, run.GetID(), ""); !p.Paused || p.PauseInfo.GetManual().GetReason() != "too flaky" {
		t.Fatalf("pause lost on restart: %v", p)
	}

	fl.ok.Store(true)
	svc = e.c.WorkflowService()
	if _, err := svc.UnpauseActivity(e.ctx(), &workflowservice.UnpauseActivityRequest{
		Namespace: "default", Execution: ex, Activity: &workflowservice.UnpauseActivityRequest_UnpauseAll{UnpauseAll: true}, ResetAttempts: true,
	}); err != nil {
		t.Fatal(err)
	}
	var r string
	if err := e.c.GetWorkflow(e.ctx(), run.GetID(), "").Get(e.ctx(), &r); err != nil || r != "done" {
		t.Fatalf("result %q %v", r, err)
	}
	if fl.last.Load() != 1 {
		t.Fatalf("unpause with reset_attempts ran attempt %d, want 1", fl.last.Load())
	}
	if ids := listPaused(); len(ids) != 0 {
		t.Fatalf("%s still lists %v after the activity completed", pausedQuery, ids)
	}
	evs := e.history(run.GetID(), "")
	requireWellFormed(t, evs)
	want := []enumspb.EventType{
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED,
		enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
	}
	if got := types(evs); len(got) != len(want) || count(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED) != 1 {
		t.Fatalf("history %v, want %v", got, want)
	}
	for i := range want {
		if evs[i].EventType != want[i] {
			t.Fatalf("history %v, want %v", types(evs), want)
		}
	}
	if a := evs[5].GetActivityTaskStartedEventAttributes().GetAttempt(); a != 1 {
		t.Fatalf("ActivityTaskStarted attempt %d, want 1", a)
	}

	// The run is closed now: activity control answers NotFound.
	_, err = svc.UnpauseActivity(e.ctx(), &workflowservice.UnpauseActivityRequest{Namespace: "default", Execution: ex, Activity: &workflowservice.UnpauseActivityRequest_Id{Id: "flaky"}})
	if !errors.As(err, &nf) {
		t.Fatalf("unpause on a closed run: %v, want NotFound", err)
	}
}

// pauseHeartbeater heartbeats until its context ends and reports why.
type pauseHeartbeater struct {
	cause   chan error
	attempt atomic.Int32
}

func (p *pauseHeartbeater) Beat(ctx context.Context) (string, error) {
	a := activity.GetInfo(ctx).Attempt
	p.attempt.Store(a)
	if a > 1 {
		return "second", nil
	}
	for {
		activity.RecordHeartbeat(ctx, "tick")
		select {
		case <-ctx.Done():
			p.cause <- context.Cause(ctx)
			return "", ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func pauseBeatWorkflow(ctx workflow.Context) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		ActivityID: "beat", StartToCloseTimeout: 30 * time.Second, HeartbeatTimeout: time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 50 * time.Millisecond, BackoffCoefficient: 1},
	})
	var r string
	err := workflow.ExecuteActivity(ctx, "Beat").Get(ctx, &r)
	return r, err
}

// TestPauseRunningActivity: pausing a running activity shows
// PAUSE_REQUESTED; its heartbeat tells the worker (the SDK cancels it with
// ErrActivityPaused); the failed attempt is not retried while paused and
// the heartbeat timeout does not fire; the unpause runs attempt 2.
func TestPauseRunningActivity(t *testing.T) {
	e := newEnv(t)
	hb := &pauseHeartbeater{cause: make(chan error, 1)}
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(pauseBeatWorkflow)
		w.RegisterActivityWithOptions(hb.Beat, activity.RegisterOptions{Name: "Beat"})
	})
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("pause-beat"), pauseBeatWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the activity to start", func() bool { return hb.attempt.Load() == 1 })
	svc := e.c.WorkflowService()
	ex := &commonpb.WorkflowExecution{WorkflowId: run.GetID(), RunId: run.GetRunID()}
	if _, err := svc.PauseActivity(e.ctx(), &workflowservice.PauseActivityRequest{Namespace: "default", Execution: ex, Activity: &workflowservice.PauseActivityRequest_Id{Id: "beat"}}); err != nil {
		t.Fatal(err)
	}
	if p := describeActivity(t, e, run.GetID(), ""); p.State != enumspb.PENDING_ACTIVITY_STATE_PAUSE_REQUESTED && p.State != enumspb.PENDING_ACTIVITY_STATE_PAUSED {
		t.Fatalf("state %v right after pausing a running activity", p.State)
	}
	select {
	case c := <-hb.cause:
		if !errors.Is(c, activity.ErrActivityPaused) {
			t.Fatalf("activity context ended with %v, want ErrActivityPaused", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the heartbeat did not tell the activity it was paused")
	}
	waitUntil(t, "the attempt to end", func() bool {
		return describeActivity(t, e, run.GetID(), "").State == enumspb.PENDING_ACTIVITY_STATE_PAUSED
	})
	time.Sleep(1500 * time.Millisecond) // past the heartbeat timeout
	p := describeActivity(t, e, run.GetID(), "")
	if p.State != enumspb.PENDING_ACTIVITY_STATE_PAUSED || p.Attempt != 2 || hb.attempt.Load() != 1 {
		t.Fatalf("while paused: state %v attempt %d (worker ran attempt %d)", p.State, p.Attempt, hb.attempt.Load())
	}
	if _, err := svc.UnpauseActivity(e.ctx(), &workflowservice.UnpauseActivityRequest{Namespace: "default", Execution: ex, Activity: &workflowservice.UnpauseActivityRequest_Type{Type: "Beat"}, Jitter: durationpb.New(200 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	var r string
	if err := run.Get(e.ctx(), &r); err != nil || r != "second" {
		t.Fatalf("result %q %v", r, err)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	if count(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) != 1 || count(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED) != 0 || count(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT) != 0 {
		t.Fatalf("history %v", types(evs))
	}
	for _, ev := range evs {
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && a.Attempt != 2 {
			t.Fatalf("ActivityTaskStarted attempt %d, want 2", a.Attempt)
		}
	}
}

// TestResetActivityAndUpdateOptions: UpdateActivityOptions moves a
// retrying activity to another task queue (where another worker runs it)
// and changes its retry policy; describe shows the new options and the
// scheduled event keeps the original ones. ResetActivity sets the attempt
// count back to 1 and runs it at once.
func TestResetActivityAndUpdateOptions(t *testing.T) {
	e := newEnv(t)
	fl := &pauseFlaky{}
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(pauseFlakyWorkflow)
		w.RegisterActivityWithOptions(fl.Flaky, activity.RegisterOptions{Name: "Flaky"})
	})
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("opts"), pauseFlakyWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "two attempts", func() bool { return fl.attempts.Load() >= 2 })
	svc := e.c.WorkflowService()
	ex := &commonpb.WorkflowExecution{WorkflowId: run.GetID()}

	_, err = svc.UpdateActivityOptions(e.ctx(), &workflowservice.UpdateActivityOptionsRequest{Namespace: "default", Execution: ex, Activity: &workflowservice.UpdateActivityOptionsRequest_Id{Id: "flaky"},
		ActivityOptions: &activitypb.ActivityOptions{}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"input"}}})
	var inv *serviceerror.InvalidArgument
	if !errors.As(err, &inv) {
		t.Fatalf("unknown mask path: %v, want InvalidArgument", err)
	}

	// The merged policy must be valid: a maximum interval below the new
	// initial one is refused, naming the field.
	_, err = svc.UpdateActivityOptions(e.ctx(), &workflowservice.UpdateActivityOptionsRequest{Namespace: "default", Execution: ex, Activity: &workflowservice.UpdateActivityOptionsRequest_Id{Id: "flaky"},
		ActivityOptions: &activitypb.ActivityOptions{RetryPolicy: &commonpb.RetryPolicy{InitialInterval: durationpb.New(time.Hour)}},
		UpdateMask:      &fieldmaskpb.FieldMask{Paths: []string{"retryPolicy.initialInterval"}}})
	if !errors.As(err, &inv) || !strings.Contains(err.Error(), "MaximumInterval") {
		t.Fatalf("invalid merged retry policy: %v, want InvalidArgument", err)
	}

	// Long backoff, so the activity waits; and move it to another queue.
	resp, err := svc.UpdateActivityOptions(e.ctx(), &workflowservice.UpdateActivityOptionsRequest{
		Namespace: "default", Execution: ex, Activity: &workflowservice.UpdateActivityOptionsRequest_MatchAll{MatchAll: true},
		ActivityOptions: &activitypb.ActivityOptions{
			TaskQueue:   &taskqueuepb.TaskQueue{Name: e.tq + "-other"},
			RetryPolicy: &commonpb.RetryPolicy{InitialInterval: durationpb.New(time.Hour), MaximumInterval: durationpb.New(2 * time.Hour), MaximumAttempts: 50},
		},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"task_queue.name", "retry_policy.initial_interval", "retry_policy.maximum_interval", "retry_policy.maximum_attempts"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if o := resp.ActivityOptions; o.TaskQueue.GetName() != e.tq+"-other" || o.RetryPolicy.GetMaximumAttempts() != 50 ||
		o.RetryPolicy.GetInitialInterval().AsDuration() != time.Hour || o.StartToCloseTimeout.AsDuration() != 10*time.Second {
		t.Fatalf("options answered: %v", o)
	}
	time.Sleep(300 * time.Millisecond)
	n := fl.attempts.Load()
	time.Sleep(500 * time.Millisecond)
	if fl.attempts.Load() != n {
		t.Fatal("activity kept retrying on the old queue after its options changed")
	}
	p := describeActivity(t, e, run.GetID(), "")
	if p.ActivityOptions.GetTaskQueue().GetName() != e.tq+"-other" || p.MaximumAttempts != 50 || p.ActivityOptions.GetRetryPolicy().GetInitialInterval().AsDuration() != time.Hour {
		t.Fatalf("describe after update: %v", p)
	}
	if p.Attempt < 2 {
		t.Fatalf("attempt %d before reset", p.Attempt)
	}

	// Another worker serves the new queue; reset runs attempt 1 there now.
	other := &pauseFlaky{}
	other.ok.Store(true)
	w2 := worker.New(e.c, e.tq+"-other", worker.Options{})
	w2.RegisterActivityWithOptions(other.Flaky, activity.RegisterOptions{Name: "Flaky"})
	if err := w2.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w2.Stop)
	if _, err := svc.ResetActivity(e.ctx(), &workflowservice.ResetActivityRequest{Namespace: "default", Execution: ex, Activity: &workflowservice.ResetActivityRequest_Type{Type: "Flaky"}}); err != nil {
		t.Fatal(err)
	}
	var r string
	if err := run.Get(e.ctx(), &r); err != nil || r != "done" {
		t.Fatalf("result %q %v", r, err)
	}
	if other.attempts.Load() != 1 || other.last.Load() != 1 {
		t.Fatalf("other queue's worker ran %d attempts, last %d; want one, attempt 1", other.attempts.Load(), other.last.Load())
	}
	evs := e.history(run.GetID(), "")
	for _, ev := range evs {
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && (a.TaskQueue.GetName() != e.tq || a.RetryPolicy.GetInitialInterval().AsDuration() != 50*time.Millisecond) {
			t.Fatalf("the scheduled event changed: %v", a)
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && a.Attempt != 1 {
			t.Fatalf("ActivityTaskStarted attempt %d, want 1", a.Attempt)
		}
	}
	_, err = svc.ResetActivity(e.ctx(), &workflowservice.ResetActivityRequest{Namespace: "default", Execution: ex, Activity: &workflowservice.ResetActivityRequest_Id{Id: "flaky"}})
	var nf *serviceerror.NotFound
	if !errors.As(err, &nf) {
		t.Fatalf("reset on a closed run: %v, want NotFound", err)
	}
}

func optionsWaitWorkflow(ctx workflow.Context) (string, error) {
	var s string
	workflow.GetSignalChannel(ctx, "go").Receive(ctx, &s)
	return s, nil
}

// TestUpdateWorkflowExecutionOptions: the priority is updated (a
// WorkflowExecutionOptionsUpdated event, describe shows it, a repeat
// writes nothing, the worker replays the event and the run completes);
// a one-time versioning override is refused as not offered (pinned and
// auto-upgrade overrides are tested in deployments_test.go); unpausing a
// running workflow that is not paused says so (workflow pause itself is
// tested in workflow_pause_test.go).
func TestUpdateWorkflowExecutionOptions(t *testing.T) {
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(optionsWaitWorkflow) })
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("options"), optionsWaitWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	svc := e.c.WorkflowService()
	ex := &commonpb.WorkflowExecution{WorkflowId: run.GetID()}
	waitEvents(t, e, run.GetID(), "", enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, 1)
	req := &workflowservice.UpdateWorkflowExecutionOptionsRequest{
		Namespace: "default", WorkflowExecution: ex, Identity: "operator",
		WorkflowExecutionOptions: &workflowpb.WorkflowExecutionOptions{Priority: &commonpb.Priority{PriorityKey: 3, FairnessKey: "ignored"}},
		UpdateMask:               &fieldmaskpb.FieldMask{Paths: []string{"priority.priority_key"}},
	}
	for i := 0; i < 2; i++ {
		resp, err := svc.UpdateWorkflowExecutionOptions(e.ctx(), req)
		if err != nil {
			t.Fatal(err)
		}
		if p := resp.WorkflowExecutionOptions.GetPriority(); p.GetPriorityKey() != 3 || p.GetFairnessKey() != "" || resp.WorkflowExecutionOptions.VersioningOverride != nil {
			t.Fatalf("options answered: %v", resp.WorkflowExecutionOptions)
		}
	}
	d, err := e.c.DescribeWorkflowExecution(e.ctx(), run.GetID(), "")
	if err != nil {
		t.Fatal(err)
	}
	if d.WorkflowExecutionInfo.GetPriority().GetPriorityKey() != 3 {
		t.Fatalf("describe priority: %v", d.WorkflowExecutionInfo.GetPriority())
	}

	_, err = svc.UpdateWorkflowExecutionOptions(e.ctx(), &workflowservice.UpdateWorkflowExecutionOptionsRequest{
		Namespace: "default", WorkflowExecution: ex,
		WorkflowExecutionOptions: &workflowpb.WorkflowExecutionOptions{VersioningOverride: &workflowpb.VersioningOverride{
			Override: &workflowpb.VersioningOverride_OneTime{OneTime: &workflowpb.VersioningOverride_OneTimeOverride{}}}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"versioning_override"}},
	})
	var un *serviceerror.Unimplemented
	if !errors.As(err, &un) || !strings.Contains(err.Error(), "one_time") {
		t.Fatalf("one-time versioning override: %v, want Unimplemented naming it", err)
	}
	_, err = svc.UpdateWorkflowExecutionOptions(e.ctx(), &workflowservice.UpdateWorkflowExecutionOptionsRequest{
		Namespace: "default", WorkflowExecution: ex, WorkflowExecutionOptions: &workflowpb.WorkflowExecutionOptions{},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"no_such_option"}},
	})
	var inv *serviceerror.InvalidArgument
	if !errors.As(err, &inv) || !strings.Contains(err.Error(), "no_such_option") {
		t.Fatalf("unknown mask path: %v, want InvalidArgument naming it", err)
	}
	_, err = svc.UpdateWorkflowExecutionOptions(e.ctx(), &workflowservice.UpdateWorkflowExecutionOptionsRequest{Namespace: "default", WorkflowExecution: ex, WorkflowExecutionOptions: &workflowpb.WorkflowExecutionOptions{}})
	if !errors.As(err, &inv) || !strings.Contains(err.Error(), "UpdateMask") {
		t.Fatalf("no mask: %v, want InvalidArgument naming UpdateMask", err)
	}

	_, err = svc.UnpauseWorkflowExecution(e.ctx(), &workflowservice.UnpauseWorkflowExecutionRequest{Namespace: "default", WorkflowId: run.GetID()})
	var fp *serviceerror.FailedPrecondition
	if !errors.As(err, &fp) {
		t.Fatalf("unpause of a running workflow: %v, want FailedPrecondition", err)
	}
	_, err = svc.UnpauseWorkflowExecution(e.ctx(), &workflowservice.UnpauseWorkflowExecutionRequest{Namespace: "default", WorkflowId: "no-such-workflow"})
	var nf *serviceerror.NotFound
	if !errors.As(err, &nf) {
		t.Fatalf("unpause of a missing workflow: %v, want NotFound", err)
	}

	if err := e.c.SignalWorkflow(e.ctx(), run.GetID(), "", "go", "done"); err != nil {
		t.Fatal(err)
	}
	var r string
	if err := run.Get(e.ctx(), &r); err != nil || r != "done" {
		for _, ev := range e.history(run.GetID(), "") {
			t.Logf("%d %v %v", ev.EventId, ev.EventType, ev.GetWorkflowTaskFailedEventAttributes())
		}
		t.Fatalf("result %q %v", r, err)
	}
	evs := e.history(run.GetID(), "")
	requireWellFormed(t, evs)
	if n := count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED); n != 1 {
		t.Fatalf("%d options-updated events, want 1: %v", n, types(evs))
	}
	for _, ev := range evs {
		if a := ev.GetWorkflowExecutionOptionsUpdatedEventAttributes(); a != nil {
			if a.Priority.GetPriorityKey() != 3 || a.Identity != "operator" || !a.UnsetVersioningOverride {
				t.Fatalf("options-updated event: %v", a)
			}
			if ev.EventId != 5 {
				t.Fatalf("options-updated event has id %d, want 5 (after the first task): %v", ev.EventId, types(evs))
			}
		}
	}
	// The event is durable and replays: after a restart describe still shows it.
	e.restart()
	d, err = e.c.DescribeWorkflowExecution(e.ctx(), run.GetID(), "")
	if err != nil || d.WorkflowExecutionInfo.GetPriority().GetPriorityKey() != 3 {
		t.Fatalf("after restart: %v %v", d.GetWorkflowExecutionInfo().GetPriority(), err)
	}
}
