package execution

import (
	"testing"
	"time"

	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
)

func cancelNexusCmd(id int64) *commandpb.Command {
	return &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_REQUEST_CANCEL_NEXUS_OPERATION,
		Attributes: &commandpb.Command_RequestCancelNexusOperationCommandAttributes{RequestCancelNexusOperationCommandAttributes: &commandpb.RequestCancelNexusOperationCommandAttributes{ScheduledEventId: id}}}
}

var handlerLink = &commonpb.Link{Variant: &commonpb.Link_WorkflowEvent_{WorkflowEvent: &commonpb.Link_WorkflowEvent{
	Namespace: "default", WorkflowId: "handler-wf", RunId: "handler-run"}}}

// startAsync answers the start task of operation id asynchronously.
func startAsync(h *harness, id int64) {
	h.t.Helper()
	if _, err := h.s.StartNexusTask(h.now, id, 1); err != nil {
		h.t.Fatal(err)
	}
	if err := h.s.StartNexusOperationAsync(h.now, id, 1, "tok-1", []*commonpb.Link{handlerLink}); err != nil {
		h.t.Fatal(err)
	}
	h.sync("StartNexusOperationAsync")
}

// TestNexusAsyncCompletion: an asynchronous answer records
// NexusOperationStarted (token, request id, links) and asks the engine to
// check the handler; the operation is STARTED with its token, has no task
// timeout any more, and its completion callback closes it once.
func TestNexusAsyncCompletion(t *testing.T) {
	h, id := nexusHarness(t, time.Minute)
	startAsync(h, id)
	h.wantStep(enumspb.EVENT_TYPE_NEXUS_OPERATION_STARTED, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
	ev := h.eventsOfType(enumspb.EVENT_TYPE_NEXUS_OPERATION_STARTED)[0]
	a := ev.GetNexusOperationStartedEventAttributes()
	req := h.s.NexusOps[id].Attrs.RequestId
	if a.ScheduledEventId != id || a.OperationToken != "tok-1" || a.RequestId != req || len(ev.Links) != 1 {
		t.Fatalf("started event %v", ev)
	}
	if len(h.last.Actions) != 1 || h.last.Actions[0].Kind != CheckNexusHandler || h.last.Actions[0].InitiatedEventID != id {
		t.Fatalf("actions %+v: want a handler check", h.last.Actions)
	}
	p := h.s.PendingNexusOperations()
	if len(p) != 1 || p[0].State != enumspb.PENDING_NEXUS_OPERATION_STATE_STARTED || p[0].OperationToken != "tok-1" {
		t.Fatalf("pending %v", p)
	}
	if got, want := h.s.NextDeadline(), t0.Add(time.Minute); !got.Equal(want) {
		t.Fatalf("deadline %v, want only the schedule-to-close timeout %v", got, want)
	}
	if err := h.s.CompleteNexusAsync(h.now, id, "other-request", NexusOutcome{Result: payload("x")}); err != ErrStaleTask {
		t.Fatalf("completion with another request id: %v, want ErrStaleTask", err)
	}
	h.poll()
	if err := h.s.CompleteNexusAsync(h.now, id, req, NexusOutcome{Result: payload("out")}); err != nil {
		t.Fatal(err)
	}
	h.sync("completion buffered")
	h.complete()
	h.wantStep(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, enumspb.EVENT_TYPE_NEXUS_OPERATION_COMPLETED, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
	if err := h.s.CompleteNexusAsync(h.now, id, req, NexusOutcome{Result: payload("out")}); err != ErrStaleTask {
		t.Fatalf("second completion: %v, want ErrStaleTask", err)
	}
}

// TestNexusCompletionBeforeStart: a callback that arrives while the start
// answer is still out records the start (with the callback's token and
// links) and then the outcome, as Temporal does; the late start answer is
// stale.
func TestNexusCompletionBeforeStart(t *testing.T) {
	h, id := nexusHarness(t, time.Minute)
	if _, err := h.s.StartNexusTask(h.now, id, 1); err != nil {
		t.Fatal(err)
	}
	req := h.s.NexusOps[id].Attrs.RequestId
	f := &failurepb.Failure{Message: "boom", FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{Type: "E"}}}
	if err := h.s.CompleteNexusAsync(h.now, id, req, NexusOutcome{OperationToken: "tok-9", StartLinks: []*commonpb.Link{handlerLink}, Failure: f}); err != nil {
		t.Fatal(err)
	}
	h.sync("early completion")
	h.wantStep(enumspb.EVENT_TYPE_NEXUS_OPERATION_STARTED, enumspb.EVENT_TYPE_NEXUS_OPERATION_FAILED, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
	started := h.eventsOfType(enumspb.EVENT_TYPE_NEXUS_OPERATION_STARTED)[0]
	if started.GetNexusOperationStartedEventAttributes().OperationToken != "tok-9" || len(started.Links) != 1 {
		t.Fatalf("fabricated started event %v", started)
	}
	fail := h.eventsOfType(enumspb.EVENT_TYPE_NEXUS_OPERATION_FAILED)[0].GetNexusOperationFailedEventAttributes().Failure
	if fail.GetNexusOperationExecutionFailureInfo().GetOperationToken() != "tok-9" || fail.GetCause().GetMessage() != "boom" {
		t.Fatalf("failure %v", fail)
	}
	if err := h.s.StartNexusOperationAsync(h.now, id, 1, "tok-9", nil); err != ErrStaleTask {
		t.Fatalf("late start answer: %v, want ErrStaleTask", err)
	}
}

// TestNexusCancelBeforeStart: as in Temporal, canceling an operation that
// has not started only records the request; the operation's start goes
// on, and once it starts asynchronously the cancel request is sent.
// (Sundial used to cancel such an operation at once, which Temporal does
// not do.)
func TestNexusCancelBeforeStart(t *testing.T) {
	h, id := nexusHarness(t, time.Minute)
	h.signal("wake", "r1")
	h.pollComplete(cancelNexusCmd(id))
	h.wantStep(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, enumspb.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUESTED)
	if len(h.last.Tasks) != 0 {
		t.Fatalf("tasks %+v: nothing to send before the start", h.last.Tasks)
	}
	p := h.s.PendingNexusOperations()
	if len(p) != 1 || p[0].CancellationInfo.GetState() != enumspb.NEXUS_OPERATION_CANCELLATION_STATE_SCHEDULED {
		t.Fatalf("pending %v", p)
	}
	startAsync(h, id)
	h.wantStep(enumspb.EVENT_TYPE_NEXUS_OPERATION_STARTED, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
	var cancelTasks []Task
	for _, tk := range h.last.Tasks {
		if tk.Kind == NexusCancelTaskKind {
			cancelTasks = append(cancelTasks, tk)
		}
	}
	if len(cancelTasks) != 1 || cancelTasks[0].ScheduledEventID != id || cancelTasks[0].Attempt != 1 || cancelTasks[0].Queue != "ep-id" {
		t.Fatalf("tasks %+v: want one cancel task", h.last.Tasks)
	}
}

// TestNexusCancelStarted: a cancel of a started operation sends a cancel
// task; a retryable handler error retries it after a backoff, the
// handler's acceptance records NexusOperationCancelRequestCompleted
// (worker_may_ignore), and the operation ends when the handler's workflow
// reports its cancellation.
func TestNexusCancelStarted(t *testing.T) {
	h, id := nexusHarness(t, time.Minute)
	startAsync(h, id)
	h.pollComplete(cancelNexusCmd(id))
	h.wantStep(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, enumspb.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUESTED)
	requested := h.lastEvent().EventId
	h.wantTasks(Task{Kind: NexusCancelTaskKind, Queue: "ep-id", ScheduledEventID: id, Attempt: 1})
	if _, err := h.s.StartNexusCancelTask(h.now, id, 1); err != nil {
		t.Fatal(err)
	}
	if err := h.s.NexusCancelFailed(h.now, id, 1, &failurepb.Failure{Message: "busy"}, true); err != nil {
		t.Fatal(err)
	}
	h.sync("cancel retry")
	if p := h.s.PendingNexusOperations(); p[0].CancellationInfo.GetState() != enumspb.NEXUS_OPERATION_CANCELLATION_STATE_BACKING_OFF || p[0].CancellationInfo.GetAttempt() != 2 {
		t.Fatalf("cancellation %v", p[0].CancellationInfo)
	}
	// The backoff survives a reload (run record).
	if got := reload(t, h.s, h.events).PendingNexusOperations()[0].CancellationInfo; got.GetState() != enumspb.NEXUS_OPERATION_CANCELLATION_STATE_BACKING_OFF || got.GetAttempt() != 2 {
		t.Fatalf("reloaded cancellation %v", got)
	}
	h.advance(time.Second)
	h.tick()
	h.wantTasks(Task{Kind: NexusCancelTaskKind, Queue: "ep-id", ScheduledEventID: id, Attempt: 2})
	if _, err := h.s.StartNexusCancelTask(h.now, id, 2); err != nil {
		t.Fatal(err)
	}
	if err := h.s.NexusCancelDelivered(h.now, id, 2); err != nil {
		t.Fatal(err)
	}
	h.sync("cancel delivered")
	h.wantStep(enumspb.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUEST_COMPLETED, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
	ev := h.lastEvent()
	if ev.EventType != enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED {
		t.Fatal("unexpected order")
	}
	done := h.eventsOfType(enumspb.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUEST_COMPLETED)[0]
	if a := done.GetNexusOperationCancelRequestCompletedEventAttributes(); a.RequestedEventId != requested || a.ScheduledEventId != id || !done.WorkerMayIgnore {
		t.Fatalf("cancel request completed %v", done)
	}
	req := h.s.NexusOps[id].Attrs.RequestId
	canceled := &failurepb.Failure{Message: "operation canceled", FailureInfo: &failurepb.Failure_CanceledFailureInfo{CanceledFailureInfo: &failurepb.CanceledFailureInfo{}}}
	if err := h.s.CompleteNexusAsync(h.now, id, req, NexusOutcome{Failure: canceled, Canceled: true}); err != nil {
		t.Fatal(err)
	}
	h.sync("canceled")
	h.wantStep(enumspb.EVENT_TYPE_NEXUS_OPERATION_CANCELED)
	if f := h.lastEvent().GetNexusOperationCanceledEventAttributes().Failure; f.GetCause().GetCanceledFailureInfo() == nil {
		t.Fatalf("canceled failure %v", f)
	}
}

// TestNexusCancelRefused: a non-retryable handler error for the cancel
// request records NexusOperationCancelRequestFailed; the operation stays.
func TestNexusCancelRefused(t *testing.T) {
	h, id := nexusHarness(t, time.Minute)
	startAsync(h, id)
	h.pollComplete(cancelNexusCmd(id))
	if _, err := h.s.StartNexusCancelTask(h.now, id, 1); err != nil {
		t.Fatal(err)
	}
	if err := h.s.NexusCancelFailed(h.now, id, 1, &failurepb.Failure{Message: "no"}, false); err != nil {
		t.Fatal(err)
	}
	h.sync("cancel refused")
	h.wantStep(enumspb.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUEST_FAILED, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
	if len(h.s.NexusOps) != 1 {
		t.Fatal("the operation closed")
	}
}

// TestNexusStartedRecover: after a reload a started operation re-creates
// its pending cancel task and a handler check, but no start task.
func TestNexusStartedRecover(t *testing.T) {
	h, id := nexusHarness(t, time.Minute)
	startAsync(h, id)
	h.pollComplete(cancelNexusCmd(id))
	st := reload(t, h.s, h.events)
	o := st.Recover(h.now)
	var kinds []TaskKind
	for _, tk := range o.Tasks {
		if tk.ScheduledEventID == id {
			kinds = append(kinds, tk.Kind)
		}
	}
	if len(kinds) != 1 || kinds[0] != NexusCancelTaskKind {
		t.Fatalf("recovered tasks %+v: want only the cancel task", o.Tasks)
	}
	if len(o.Actions) != 1 || o.Actions[0].Kind != CheckNexusHandler {
		t.Fatalf("recovered actions %+v", o.Actions)
	}
}

// TestNexusStartedTimesOut: the schedule-to-close timeout covers the
// asynchronous phase.
func TestNexusStartedTimesOut(t *testing.T) {
	h, id := nexusHarness(t, 30*time.Second)
	startAsync(h, id)
	h.at(30 * time.Second)
	h.tick()
	h.wantStep(enumspb.EVENT_TYPE_NEXUS_OPERATION_TIMED_OUT)
	f := h.lastEvent().GetNexusOperationTimedOutEventAttributes().Failure
	if f.GetNexusOperationExecutionFailureInfo().GetOperationToken() != "tok-1" || f.GetCause().GetTimeoutFailureInfo().GetTimeoutType() != enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE {
		t.Fatalf("timed-out failure %v", f)
	}
}

// TestCompletionCallbacksOnClose: a run whose started event carries
// completion callbacks asks for their delivery when it closes for good;
// a continue-as-new passes them to the new run instead.
func TestCompletionCallbacksOnClose(t *testing.T) {
	cb := &commonpb.Callback{Variant: &commonpb.Callback_Nexus_{Nexus: &commonpb.Callback_Nexus{Url: "temporal://system"}}}
	withCB := func(a *historypb.WorkflowExecutionStartedEventAttributes) {
		a.CompletionCallbacks = []*commonpb.Callback{cb}
	}

	h := newHarness(t, startAttrs(withCB))
	h.pollComplete(continueAsNew())
	for _, a := range h.last.Actions {
		if a.Kind == DeliverNexusCallbacks {
			t.Fatal("continue-as-new delivered the callbacks")
		}
	}
	next := h.last.NewRun
	if next == nil || len(next.Start.GetCompletionCallbacks()) != 1 {
		t.Fatalf("new run's callbacks: %v", next.Start.GetCompletionCallbacks())
	}
	h2 := adopt(t, next, h.now)
	h2.pollComplete(completeWF("done"))
	found := false
	for _, a := range h2.last.Actions {
		found = found || a.Kind == DeliverNexusCallbacks
	}
	if !found {
		t.Fatalf("actions %+v: want DeliverNexusCallbacks", h2.last.Actions)
	}
}

// TestNexusStartTimeouts: schedule-to-start ends an operation that has not
// started in time; start-to-close one that started but did not complete
// (Temporal 1.31's secondary Nexus timeouts, capped to schedule-to-close).
func TestNexusStartTimeouts(t *testing.T) {
	sched := func(h *harness, s2s, start2c time.Duration) int64 {
		h.poll()
		h.s.SetNexusEndpoints(map[string]string{"ep": "ep-id"})
		cmd := scheduleNexusCmd("ep", time.Minute)
		a := cmd.GetScheduleNexusOperationCommandAttributes()
		a.ScheduleToStartTimeout, a.StartToCloseTimeout = dur(s2s), dur(start2c)
		h.complete(cmd)
		return h.lastEvent().EventId
	}
	h := newHarness(t, startAttrs())
	id := sched(h, 5*time.Second, 0)
	h.at(5 * time.Second)
	h.tick()
	h.wantStep(enumspb.EVENT_TYPE_NEXUS_OPERATION_TIMED_OUT, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
	f := h.eventsOfType(enumspb.EVENT_TYPE_NEXUS_OPERATION_TIMED_OUT)[0].GetNexusOperationTimedOutEventAttributes()
	if f.ScheduledEventId != id || f.Failure.GetCause().GetTimeoutFailureInfo().GetTimeoutType() != enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START {
		t.Fatalf("timed out %v", f)
	}

	h3 := newHarness(t, startAttrs())
	sched(h3, 0, 2*time.Hour)
	if a := h3.lastEvent().GetNexusOperationScheduledEventAttributes(); a.StartToCloseTimeout.AsDuration() != time.Minute {
		t.Fatalf("start-to-close %v, want capped to the schedule-to-close 1m", a.StartToCloseTimeout)
	}

	h2 := newHarness(t, startAttrs())
	id2 := sched(h2, 0, 10*time.Second)
	h2.advance(5 * time.Second)
	startAsync(h2, id2)
	h2.advance(10 * time.Second)
	h2.tick()
	h2.wantStep(enumspb.EVENT_TYPE_NEXUS_OPERATION_TIMED_OUT)
	if f := h2.lastEvent().GetNexusOperationTimedOutEventAttributes(); f.Failure.GetCause().GetTimeoutFailureInfo().GetTimeoutType() != enumspb.TIMEOUT_TYPE_START_TO_CLOSE {
		t.Fatalf("timed out %v", f)
	}
}

// TestNexusCancelAfterBufferedClose: a cancel of an operation whose close
// is buffered behind the running task is recorded (no task failure), as
// in Temporal; nothing is sent to the handler.
func TestNexusCancelAfterBufferedClose(t *testing.T) {
	h, id := nexusHarness(t, time.Minute)
	startAsync(h, id)
	h.poll()
	req := h.s.NexusOps[id].Attrs.RequestId
	if err := h.s.CompleteNexusAsync(h.now, id, req, NexusOutcome{Result: payload("done")}); err != nil {
		t.Fatal(err)
	}
	h.sync("completion buffered")
	h.complete(cancelNexusCmd(id))
	h.wantStep(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, enumspb.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUESTED,
		enumspb.EVENT_TYPE_NEXUS_OPERATION_COMPLETED, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
	for _, tk := range h.last.Tasks {
		if tk.Kind == NexusCancelTaskKind {
			t.Fatalf("cancel task for a closed operation: %+v", h.last.Tasks)
		}
	}
}
