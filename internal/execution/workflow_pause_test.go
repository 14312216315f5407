package execution

import (
	"errors"
	"testing"
	"time"

	commandpb "go.temporal.io/api/command/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
)

const (
	evPaused   = enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_PAUSED
	evUnpaused = enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UNPAUSED
)

func (h *harness) pause(reqID string) {
	h.t.Helper()
	if noop, err := h.s.PauseWorkflow(h.now, "op", "because", reqID); err != nil || noop {
		h.t.Fatalf("PauseWorkflow: noop %v err %v", noop, err)
	}
	h.sync("PauseWorkflow")
}

func (h *harness) unpause() {
	h.t.Helper()
	if err := h.s.UnpauseWorkflow(h.now, "op", "done", "un-1"); err != nil {
		h.t.Fatalf("UnpauseWorkflow: %v", err)
	}
	h.sync("UnpauseWorkflow")
}

// TestWorkflowPauseHoldsWork: while paused, a signal and a fired timer
// are recorded but schedule no workflow task, the queued activity task is
// refused when polled, updates are refused; describe shows PAUSED and the
// pause info. A repeat with the same request id is a no-op, another
// request is refused. The unpause schedules the task and offers the
// activity again. Every step is checked against replay and the snapshot
// by the harness.
func TestWorkflowPauseHoldsWork(t *testing.T) {
	h := newHarness(t, startAttrs())
	h.pollComplete(startTimer("t", 10*time.Second), scheduleActivity("a"))
	h.advance(time.Second)
	h.pause("p-1")
	h.wantStep(evPaused)
	if ev := h.lastEvent(); !ev.WorkerMayIgnore || ev.GetWorkflowExecutionPausedEventAttributes().GetReason() != "because" ||
		ev.GetWorkflowExecutionPausedEventAttributes().GetRequestId() != "p-1" {
		t.Fatalf("paused event: %v", ev)
	}
	d := h.s.Describe(h.now)
	if d.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_PAUSED {
		t.Fatalf("describe status %v", d.WorkflowExecutionInfo.Status)
	}
	if p := d.WorkflowExtendedInfo.GetPauseInfo(); p.GetIdentity() != "op" || p.GetReason() != "because" || !p.GetPausedTime().AsTime().Equal(h.now) {
		t.Fatalf("pause info: %v", p)
	}
	if sa := h.s.Info().GetSearchAttributes().GetIndexedFields()[pauseInfoAttr]; sa == nil || string(sa.Data) != `["Workflow:wf-1","Reason:because"]` {
		t.Fatalf("TemporalPauseInfo: %v", sa)
	}

	if noop, err := h.s.PauseWorkflow(h.now, "op", "again", "p-1"); err != nil || !noop {
		t.Fatalf("repeated pause: noop %v err %v", noop, err)
	}
	h.sync("repeated pause")
	h.wantStep()
	if _, err := h.s.PauseWorkflow(h.now, "op", "again", "p-2"); !errors.Is(err, ErrWorkflowAlreadyPaused) {
		t.Fatalf("second pause: %v", err)
	}

	h.signal("sig", "s-1")
	h.wantStep(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
	h.wantTasks()
	if h.s.WFT != nil {
		t.Fatal("a workflow task was scheduled while paused")
	}
	a := h.act("a")
	if _, err := h.s.StartActivityTask(h.now, a.ScheduledEventID, 1, "r", "w"); !errors.Is(err, ErrStaleTask) {
		t.Fatalf("activity start while paused: %v", err)
	}
	if _, err := h.s.AdmitUpdate(h.now, updateRequest("u1"), false); !errors.Is(err, ErrWorkflowPaused) {
		t.Fatalf("update while paused: %v", err)
	}
	if o := h.s.Recover(h.now); len(o.Tasks) != 0 {
		t.Fatalf("Recover of a paused run: %+v", o.Tasks)
	}
	// The activity's attempt does not make the run need attention; its
	// timer does.
	if got := h.s.NextAttention(h.now); !got.Equal(t0.Add(10 * time.Second)) {
		t.Fatalf("NextAttention = %v", got.Sub(t0))
	}
	h.at(10 * time.Second)
	h.tick()
	h.wantStep(enumspb.EVENT_TYPE_TIMER_FIRED)
	h.wantTasks()

	h.advance(time.Second)
	h.unpause()
	h.wantStep(evUnpaused, evWFTSched)
	h.wantTasks(Task{Kind: WorkflowTaskKind, Queue: testTQ, ScheduledEventID: 11, Attempt: 1}, Task{Kind: ActivityTaskKind, Queue: testTQ, ScheduledEventID: 6, Attempt: 1})
	if err := h.s.UnpauseWorkflow(h.now, "op", "", ""); !errors.Is(err, ErrWorkflowNotPaused) {
		t.Fatalf("second unpause: %v", err)
	}
	if h.s.Describe(h.now).WorkflowExtendedInfo.PauseInfo != nil || h.s.ExecutionStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatal("still described as paused")
	}
	h.startAct("a")
	h.pollComplete(completeWF("ok"))
	h.wantStatus(enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED)
}

// TestWorkflowPauseFailsUnstartedTask: a workflow task no worker took is
// failed by the pause (cause WORKFLOW_PAUSE_REQUESTED_BEFORE_TASK_STARTED,
// before the paused event, as in Temporal) and the unpause schedules
// attempt 1, not a transient retry.
func TestWorkflowPauseFailsUnstartedTask(t *testing.T) {
	h := newHarness(t, startAttrs())
	h.pause("")
	h.wantStep(evWFTFailed, evPaused)
	f := h.events[2].GetWorkflowTaskFailedEventAttributes()
	if f.Cause != enumspb.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_PAUSE_REQUESTED_BEFORE_TASK_STARTED || f.ScheduledEventId != 2 || f.StartedEventId != 0 {
		t.Fatalf("failed event: %v", f)
	}
	if h.s.WFT != nil || h.s.failedWFTs != 0 {
		t.Fatalf("after pause: WFT %v failed %d", h.s.WFT, h.s.failedWFTs)
	}
	if _, err := h.s.StartWorkflowTask(h.now, 2, "r", "w"); !errors.Is(err, ErrStaleTask) {
		t.Fatalf("the failed task was started: %v", err)
	}
	h.unpause()
	h.wantStep(evUnpaused, evWFTSched)
	h.wantWFT(6, 0, 1, testTQ)
	h.pollComplete(completeWF("ok"))
	h.wantStatus(enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED)
}

// TestWorkflowPauseLeavesStartedTask: a task in flight is not disturbed;
// the paused event waits behind it like a signal. Its completion is
// accepted, but no task follows and the activity it schedules is not
// offered until the unpause. Its timeout while paused schedules no retry
// either.
func TestWorkflowPauseLeavesStartedTask(t *testing.T) {
	h := newHarness(t, startAttrs())
	h.poll()
	h.pause("p")
	h.wantStep()
	if !h.s.Paused() {
		t.Fatal("not paused while the task runs")
	}
	if err := h.s.CheckCompletion(true); !errors.Is(err, ErrPausedForceCreate) {
		t.Fatalf("force-create while paused: %v", err)
	}
	h.complete(scheduleActivity("a"), startTimer("t", time.Minute))
	h.wantStep(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, enumspb.EVENT_TYPE_TIMER_STARTED, evPaused)
	h.wantTasks()
	if h.s.WFT != nil {
		t.Fatal("a task followed the completion while paused")
	}
	h.unpause()
	h.wantStep(evUnpaused, evWFTSched)
	h.wantTasks(Task{Kind: WorkflowTaskKind, Queue: testTQ, ScheduledEventID: 9, Attempt: 1}, Task{Kind: ActivityTaskKind, Queue: testTQ, ScheduledEventID: 5, Attempt: 1})

	// Paused again while the next task runs, which then times out.
	h.poll()
	h.pause("p2")
	h.advance(10 * time.Second)
	h.tick()
	h.wantStep(enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, evPaused)
	if h.s.WFT != nil {
		t.Fatal("a retry was scheduled while paused")
	}
	h.unpause()
	if h.s.WFT == nil || h.s.WFT.Attempt != 2 || !h.s.WFT.Transient {
		t.Fatalf("after unpause: %+v, want the transient retry (attempt 2)", h.s.WFT)
	}
}

// TestWorkflowPauseTerminate: a paused run can be terminated; it is then
// closed, not paused, and pause and unpause find it closed.
func TestWorkflowPauseTerminate(t *testing.T) {
	h := newHarness(t, startAttrs())
	h.pollComplete(startTimer("t", time.Minute))
	h.pause("p")
	if err := h.s.Terminate(h.now, "stop", nil, "op"); err != nil {
		t.Fatal(err)
	}
	h.sync("Terminate")
	if h.s.Paused() || h.s.ExecutionStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED || h.s.Describe(h.now).WorkflowExtendedInfo.PauseInfo != nil {
		t.Fatalf("terminated paused run: status %v", h.s.ExecutionStatus())
	}
	if _, err := h.s.PauseWorkflow(h.now, "", "", ""); !errors.Is(err, ErrClosed) {
		t.Fatalf("pause of a closed run: %v", err)
	}
	if err := h.s.UnpauseWorkflow(h.now, "", "", ""); !errors.Is(err, ErrClosed) {
		t.Fatalf("unpause of a closed run: %v", err)
	}
}

// TestWorkflowPauseStartDelay: a run paused before its first task's
// delay has passed has no deadline for it (nothing to do until the
// unpause); unpaused after it, the task is scheduled at once.
func TestWorkflowPauseStartDelay(t *testing.T) {
	h := newHarness(t, startAttrs(func(a *historypb.WorkflowExecutionStartedEventAttributes) {
		a.FirstWorkflowTaskBackoff = dur(time.Minute)
	}))
	h.pause("p")
	h.wantStep(evPaused)
	h.wantDeadline(-1)
	h.at(2 * time.Minute)
	h.tick()
	h.wantStep()
	h.unpause()
	h.wantStep(evUnpaused, evWFTSched)
}

// TestWorkflowPauseHeldBackTasks: a pending workflow task whose events are
// held back is dropped by the pause without an event: a transient retry
// (the unpause schedules it again, attempt 2) and a speculative task for
// an update admitted before the pause (the update waits and is delivered
// by the task the unpause schedules).
func TestWorkflowPauseHeldBackTasks(t *testing.T) {
	h := newHarness(t, startAttrs())
	h.poll()
	h.s.FailWorkflowTask(h.now, enumspb.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE, nil, "worker")
	h.sync("FailWorkflowTask")
	if w := h.s.WFT; w == nil || !w.Transient || w.Attempt != 2 {
		t.Fatalf("retry: %+v", w)
	}
	h.pause("p")
	h.wantStep(evPaused)
	if h.s.WFT != nil || h.s.failedWFTs != 1 {
		t.Fatalf("after pause: WFT %+v failed %d", h.s.WFT, h.s.failedWFTs)
	}
	h.unpause()
	h.wantStep(evUnpaused)
	if w := h.s.WFT; w == nil || !w.Transient || w.Attempt != 2 {
		t.Fatalf("after unpause: %+v, want the transient retry", w)
	}
	h.pollComplete()

	if _, err := h.s.AdmitUpdate(h.now, updateRequest("u1"), false); err != nil {
		t.Fatal(err)
	}
	h.sync("AdmitUpdate")
	if w := h.s.WFT; w == nil || !w.Speculative {
		t.Fatalf("speculative task: %+v", w)
	}
	h.pause("p2")
	h.wantStep(evPaused)
	if h.s.WFT != nil || h.s.Updates["u1"].State != UpdateAdmitted {
		t.Fatalf("after pause: WFT %+v update %v", h.s.WFT, h.s.Updates["u1"].State)
	}
	h.unpause()
	h.wantStep(evUnpaused, evWFTSched)
	if msgs := h.poll(); len(msgs) != 1 || msgs[0].ProtocolInstanceId != "u1" {
		t.Fatalf("messages of the task after the unpause: %v", msgs)
	}
}

// TestWorkflowPauseStickyTaskFails: a task on a sticky queue that fails
// while the run is paused leaves no task; the unpause schedules its retry
// (replay counts the failure as an attempt, and so does the live state).
func TestWorkflowPauseStickyTaskFails(t *testing.T) {
	h := newHarness(t, startAttrs())
	h.poll()
	if err := h.completeReq(&workflowservice.RespondWorkflowTaskCompletedRequest{StickyAttributes: withSticky("sticky-1", DefaultStickyTimeout)}); err != nil {
		t.Fatal(err)
	}
	h.signal("s", "")
	if w := h.s.WFT; w == nil || !w.Sticky {
		t.Fatalf("sticky task: %+v", w)
	}
	h.poll()
	h.pause("p")
	h.s.FailWorkflowTask(h.now, enumspb.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE, nil, "worker")
	h.sync("FailWorkflowTask")
	h.wantStep(evWFTFailed, evPaused)
	if h.s.WFT != nil {
		t.Fatalf("a retry while paused: %+v", h.s.WFT)
	}
	h.unpause()
	if w := h.s.WFT; w == nil || w.Sticky || w.Attempt != 2 {
		t.Fatalf("after unpause: %+v, want the retry on the normal queue", w)
	}
	h.pollComplete(completeWF("ok"))
}

// TestWorkflowPauseCloseInFlight: a task in flight that tries to close
// the run when it was paused meanwhile is failed (UNHANDLED_COMMAND: the
// paused event waits behind it, as a signal would), and no retry runs
// until the unpause; then the run can close.
func TestWorkflowPauseCloseInFlight(t *testing.T) {
	h := newHarness(t, startAttrs())
	h.poll()
	h.pause("p")
	err := h.completeReq(&workflowservice.RespondWorkflowTaskCompletedRequest{Commands: []*commandpb.Command{completeWF("ok")}})
	var ce *CommandError
	if !errors.As(err, &ce) || ce.Cause != enumspb.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND {
		t.Fatalf("completion while paused: %v", err)
	}
	h.wantStep(evWFTFailed, evPaused)
	if !h.s.Running() || h.s.WFT != nil {
		t.Fatalf("after the refused close: running %v WFT %+v", h.s.Running(), h.s.WFT)
	}
	h.unpause()
	h.pollComplete(completeWF("ok"))
	h.wantStatus(enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED)
}
