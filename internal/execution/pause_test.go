package execution

import (
	"errors"
	"testing"
	"time"

	activitypb "go.temporal.io/api/activity/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
)

// TestPauseActivityStopsRetries: a running attempt of a paused activity
// goes on; its failure counts but nothing is dispatched or timed until the
// unpause, which dispatches at once (and can reset the attempt count).
// Pausing writes no history event, and the pause survives a reload.
func TestPauseActivityStopsRetries(t *testing.T) {
	h := newHarness(t, startAttrs())
	h.pollComplete(scheduleActivity("a", withRetry(&commonpb.RetryPolicy{InitialInterval: dur(time.Second), MaximumAttempts: 3})))
	h.startAct("a")
	acts, err := h.s.SelectActivities(ActivitySelector{Type: "act-type-none"})
	if !errors.Is(err, ErrActivityNotFound) || acts != nil {
		t.Fatalf("select unknown type: %v %v", acts, err)
	}
	acts, err = h.s.SelectActivities(ActivitySelector{ID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.s.PauseActivity(h.now, acts[0], "me", "why", "req-1"); err != nil {
		t.Fatal(err)
	}
	h.sync("pause")
	h.wantStep()
	if !h.last.RecordChanged {
		t.Fatal("pause did not mark the record changed")
	}
	if err := h.s.PauseActivity(h.now, acts[0], "me", "why", "req-1"); err != nil {
		t.Fatalf("repeated pause: %v", err)
	}
	if err := h.s.PauseActivity(h.now, acts[0], "me", "why", "req-2"); !errors.Is(err, ErrActivityAlreadyPaused) {
		t.Fatalf("second pause: %v", err)
	}
	if p := h.s.PendingActivities()[0]; p.State != enumspb.PENDING_ACTIVITY_STATE_PAUSE_REQUESTED || !p.Paused || p.PauseInfo.GetManual().GetReason() != "why" {
		t.Fatalf("running paused activity: %v", p)
	}
	if paused, _ := h.s.ActivityControl(5); !paused {
		t.Fatal("heartbeat not told about the pause")
	}
	h.wantDeadline(-1)
	// Even past the attempt limit's next attempt, the failure waits.
	h.failAct("a", appFailure("Flaky", false))
	h.wantStep()
	h.wantTasks()
	h.wantDeadline(-1)
	a := h.act("a")
	if a.Attempt != 2 || a.Started || !a.NextAttemptTime.IsZero() {
		t.Fatalf("after failure while paused: attempt %d started %v next %v", a.Attempt, a.Started, a.NextAttemptTime)
	}
	if _, err := h.s.StartActivityTask(h.now, 5, 2, "r", "w"); !errors.Is(err, ErrStaleTask) {
		t.Fatalf("a paused activity was started: %v", err)
	}
	if p := h.s.PendingActivities()[0]; p.State != enumspb.PENDING_ACTIVITY_STATE_PAUSED {
		t.Fatalf("state %v, want PAUSED", p.State)
	}
	// Reload from record and history: still paused, nothing dispatched.
	l := Load(h.s.Record(), h.events)
	if la := l.ActivityByID("a"); !la.Paused || la.PauseInfo.GetManual().GetIdentity() != "me" {
		t.Fatalf("pause lost on load: %+v", la)
	}
	if o := l.Recover(h.now); len(o.Tasks) != 0 {
		t.Fatalf("recovered tasks for a paused activity: %+v", o.Tasks)
	}
	h.advance(time.Hour)
	h.tick()
	h.wantTasks()
	h.s.UnpauseActivity(h.now, a, true, false, 0)
	h.sync("unpause")
	h.wantStep()
	h.wantTasks(actTask(1))
	h.startAct("a")
	h.completeAct("a")
	h.wantStep(enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
}

// TestResetAndUpdateActivityOptions: reset of an activity in backoff sets
// attempt 1 and dispatches it now; updated options move the next attempt
// to the new queue, survive a reload, and restore_original puts the
// scheduled options back.
func TestResetAndUpdateActivityOptions(t *testing.T) {
	h := newHarness(t, startAttrs())
	h.pollComplete(scheduleActivity("a", withRetry(&commonpb.RetryPolicy{InitialInterval: dur(time.Minute)})))
	h.startAct("a")
	h.failAct("a", appFailure("Flaky", false))
	a := h.act("a")
	if a.Attempt != 2 || a.NextAttemptTime.IsZero() {
		t.Fatalf("not in backoff: %+v", a)
	}
	mask, err := NormalizeActivityOptionPaths([]string{"task_queue.name", "retry_policy.maximum_attempts"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NormalizeActivityOptionPaths([]string{"input"}); err == nil {
		t.Fatal("unknown path accepted")
	}
	merged, err := MergeActivityOptions(ActivityOptionsOf(a), &activitypb.ActivityOptions{
		TaskQueue: &taskqueuepb.TaskQueue{Name: "other-tq"}, RetryPolicy: &commonpb.RetryPolicy{MaximumAttempts: 7},
	}, mask)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckActivityOptions(merged); err != nil {
		t.Fatal(err)
	}
	got := h.s.UpdateActivityOptions(h.now, a, merged)
	h.sync("update options")
	h.wantStep()
	h.wantTasks() // still waiting out its backoff
	if got.TaskQueue.GetName() != "other-tq" || got.RetryPolicy.GetMaximumAttempts() != 7 || got.RetryPolicy.GetInitialInterval().AsDuration() != time.Minute {
		t.Fatalf("options after update: %v", got)
	}
	if sched := h.events[4].GetActivityTaskScheduledEventAttributes(); sched.TaskQueue.GetName() != testTQ {
		t.Fatalf("the scheduled event was changed: %v", sched)
	}
	l := Load(h.s.Record(), h.events)
	if la := l.ActivityByID("a"); la.Attrs.TaskQueue.GetName() != "other-tq" || la.Attrs.RetryPolicy.GetMaximumAttempts() != 7 {
		t.Fatalf("options lost on load: %v", la.Attrs)
	}
	h.s.ResetActivity(h.now, a, false, false, false, 0)
	h.sync("reset")
	h.wantStep()
	h.wantTasks(Task{Kind: ActivityTaskKind, Queue: "other-tq", ScheduledEventID: 5, Attempt: 1})
	h.s.ResetActivity(h.now, a, false, false, true, 10*time.Second)
	h.sync("reset with restore and jitter")
	h.wantTasks()
	if a.Attrs.TaskQueue.GetName() != testTQ || a.Attempt != 1 || !a.NextAttemptTime.Equal(h.now.Add(10*time.Second)) {
		t.Fatalf("after restore: queue %s attempt %d next %v", a.Attrs.TaskQueue.GetName(), a.Attempt, a.NextAttemptTime)
	}
}

// TestUpdateWorkflowOptionsPriority: a priority update writes one
// WorkflowExecutionOptionsUpdated event (buffered behind a running
// workflow task, no task of its own), a repeat writes nothing, and replay
// restores the priority.
func TestUpdateWorkflowOptionsPriority(t *testing.T) {
	h := newHarness(t, startAttrs())
	h.poll()
	o := &workflowpb.WorkflowExecutionOptions{Priority: &commonpb.Priority{PriorityKey: 2}}
	if changed, err := h.s.UpdateWorkflowOptions(h.now, o, "me"); err != nil || !changed {
		t.Fatalf("update: %v %v", changed, err)
	}
	h.sync("update while task runs")
	h.wantStep() // buffered
	h.complete()
	if n := len(h.eventsOfType(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED)); n != 1 {
		t.Fatalf("%d options events", n)
	}
	if h.s.WFT != nil { // flushed buffered events get a task, as in Temporal
		h.pollComplete()
	}
	if changed, _ := h.s.UpdateWorkflowOptions(h.now, &workflowpb.WorkflowExecutionOptions{Priority: &commonpb.Priority{PriorityKey: 4}}, "me"); !changed {
		t.Fatal("a new priority changed nothing")
	}
	h.sync("update while idle")
	h.wantStep(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED)
	if h.s.WFT != nil {
		t.Fatal("an options update scheduled a workflow task")
	}
	o = &workflowpb.WorkflowExecutionOptions{Priority: &commonpb.Priority{PriorityKey: 4}}
	if changed, _ := h.s.UpdateWorkflowOptions(h.now, o, "me"); changed {
		t.Fatal("a repeated update changed something")
	}
	h.sync("repeat")
	h.wantStep()
	if r := Replay(h.s.Namespace, h.s.WorkflowID, h.s.RunID, h.events); r.Info().GetPriority().GetPriorityKey() != 4 {
		t.Fatalf("replayed priority %v", r.Info().GetPriority())
	}
}

// TestResetRunningActivity: a reset reaching a running attempt lets it
// finish; its heartbeats are told; when it fails, even at the attempt
// limit, the activity starts over at attempt 1 at once, with heartbeat
// details cleared when asked.
func TestResetRunningActivity(t *testing.T) {
	h := newHarness(t, startAttrs())
	h.pollComplete(scheduleActivity("a", withRetry(&commonpb.RetryPolicy{InitialInterval: dur(time.Minute), MaximumAttempts: 2})))
	h.startAct("a")
	h.failAct("a", appFailure("Flaky", false))
	h.advance(time.Minute)
	h.tick()
	a := h.startAct("a")
	if a.Attempt != 2 {
		t.Fatalf("attempt %d", a.Attempt)
	}
	if _, err := h.s.Heartbeat(h.now, 5, 2, payloads("progress")); err != nil {
		t.Fatal(err)
	}
	h.s.ResetActivity(h.now, a, true, false, false, 0)
	h.sync("reset running")
	h.wantTasks()
	if _, reset := h.s.ActivityControl(5); !reset {
		t.Fatal("heartbeat not told about the reset")
	}
	h.failAct("a", appFailure("Flaky", false))
	h.wantStep()
	h.wantTasks(actTask(1))
	if a.Attempt != 1 || a.HeartbeatDetails != nil {
		t.Fatalf("after reset and failure: attempt %d details %v", a.Attempt, a.HeartbeatDetails)
	}
	if _, reset := h.s.ActivityControl(5); reset {
		t.Fatal("reset flag outlived the attempt")
	}
}
