package execution

import (
	"errors"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
)

type scenario struct {
	name  string
	attrs []func(*historypb.WorkflowExecutionStartedEventAttributes)
	run   func(h *harness)
}

func runScenarios(t *testing.T, scenarios []scenario) {
	t.Helper()
	for _, sc := range scenarios {
		sc := sc
		t.Run(sc.name, func(t *testing.T) {
			h := newHarness(t, startAttrs(sc.attrs...))
			sc.run(h)
		})
	}
}

const (
	evStarted      = enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
	evWFTSched     = enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED
	evWFTStarted   = enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED
	evWFTCompleted = enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
	evWFTFailed    = enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED
	evWFTTimedOut  = enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT
	evSignaled     = enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
	evActSched     = enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
	evActStarted   = enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED
	evActCompleted = enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
	evActFailed    = enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED
	evActTimedOut  = enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT
	evActCancelReq = enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED
	evActCanceled  = enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCELED
	evTimerStarted = enumspb.EVENT_TYPE_TIMER_STARTED
	evTimerFired   = enumspb.EVENT_TYPE_TIMER_FIRED
	evTimerCancel  = enumspb.EVENT_TYPE_TIMER_CANCELED
)

func wftTask(sched int64, attempt int32) Task {
	return Task{Kind: WorkflowTaskKind, Queue: testTQ, ScheduledEventID: sched, Attempt: attempt}
}

func withSticky(queue string, timeout time.Duration) *taskqueuepb.StickyExecutionAttributes {
	return &taskqueuepb.StickyExecutionAttributes{WorkerTaskQueue: &taskqueuepb.TaskQueue{Name: queue, Kind: enumspb.TASK_QUEUE_KIND_STICKY}, ScheduleToStartTimeout: dur(timeout)}
}

func TestWorkflowTaskLifecycle(t *testing.T) {
	runScenarios(t, []scenario{
		{name: "start poll complete", run: func(h *harness) {
			h.wantStep(evStarted, evWFTSched)
			h.wantTasks(wftTask(2, 1))
			h.wantWFT(2, 0, 1, testTQ)
			h.wantDeadline(-1)
			h.advance(time.Second)
			msgs := h.poll()
			if len(msgs) != 0 {
				h.t.Fatalf("unexpected messages %v", msgs)
			}
			h.wantStep(evWFTStarted)
			h.wantWFT(2, 3, 1, testTQ)
			h.wantDeadline(11 * time.Second)
			h.complete()
			h.wantStep(evWFTCompleted)
			if h.s.WFT != nil || h.s.PrevStartedEventID != 3 {
				h.t.Fatalf("after completion WFT=%v prevStarted=%d", h.s.WFT, h.s.PrevStartedEventID)
			}
			c := h.lastEvent().GetWorkflowTaskCompletedEventAttributes()
			if c.ScheduledEventId != 2 || c.StartedEventId != 3 || c.Identity != "worker" {
				h.t.Fatalf("completed attrs %v", c)
			}
			h.wantDeadline(-1)
		}},
		{name: "re-poll with same request id is idempotent, other request is stale", run: func(h *harness) {
			if _, err := h.s.StartWorkflowTask(h.now, 2, "r1", "w"); err != nil {
				h.t.Fatal(err)
			}
			h.sync("poll r1")
			if _, err := h.s.StartWorkflowTask(h.now, 2, "r1", "w"); err != nil {
				h.t.Fatalf("same request id: %v", err)
			}
			h.sync("poll r1 again")
			h.wantStep()
			if _, err := h.s.StartWorkflowTask(h.now, 2, "r2", "w"); !errors.Is(err, ErrStaleTask) {
				h.t.Fatalf("other request id: %v", err)
			}
			if _, err := h.s.StartWorkflowTask(h.now, 99, "r3", "w"); !errors.Is(err, ErrStaleTask) {
				h.t.Fatalf("wrong scheduled id: %v", err)
			}
			h.sync("stale polls")
		}},
		{name: "signal during started task is buffered and flushed after commands", run: func(h *harness) {
			h.poll()
			h.advance(time.Second)
			h.signal("s1", "")
			h.wantStep()
			if len(h.s.Buffered) != 1 {
				h.t.Fatalf("buffered = %d", len(h.s.Buffered))
			}
			h.advance(time.Second)
			h.complete(startTimer("t1", time.Minute))
			h.wantStep(evWFTCompleted, evTimerStarted, evSignaled, evWFTSched)
			h.wantTasks(wftTask(7, 1))
			if len(h.s.Buffered) != 0 {
				h.t.Fatalf("buffer not flushed")
			}
			// the buffered event keeps the time it arrived at
			if got := h.events[5].EventTime.AsTime(); !got.Equal(t0.Add(time.Second)) {
				h.t.Fatalf("signal time %v", got)
			}
		}},
		{name: "activity completed during started task: StartedEventId fixed up", run: func(h *harness) {
			h.pollComplete(scheduleActivity("a1"))
			h.wantStep(evWFTCompleted, evActSched)
			h.startAct("a1")
			h.wantStep() // ActivityTaskStarted is deferred
			h.signal("wake", "")
			h.wantStep(evSignaled, evWFTSched)
			h.poll()
			h.completeAct("a1")
			h.wantStep()
			h.complete()
			h.wantStep(evWFTCompleted, evActStarted, evActCompleted, evWFTSched)
			started, completed := h.events[9], h.events[10]
			if started.EventId != 10 || completed.GetActivityTaskCompletedEventAttributes().StartedEventId != 10 ||
				completed.GetActivityTaskCompletedEventAttributes().ScheduledEventId != 5 {
				h.t.Fatalf("started %v completed %v", started, completed)
			}
			if len(h.s.Activities) != 0 || len(h.s.activityIDs) != 0 {
				h.t.Fatalf("activity still pending")
			}
		}},
		{name: "activity completed while no task is started gets ids at once", run: func(h *harness) {
			h.pollComplete(scheduleActivity("a1"))
			h.startAct("a1")
			h.completeAct("a1")
			h.wantStep(evActStarted, evActCompleted, evWFTSched)
			if h.events[6].GetActivityTaskCompletedEventAttributes().StartedEventId != 6 {
				h.t.Fatalf("completed %v", h.events[6])
			}
		}},
		{name: "failure retries with attempt+1 and flushes buffered events", run: func(h *harness) {
			h.poll()
			h.signal("s", "")
			h.s.FailWorkflowTask(h.now, enumspb.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE, &failurepb.Failure{Message: "panic"}, "worker")
			h.sync("FailWorkflowTask")
			// The retry is transient: its events are held back.
			h.wantStep(evWFTFailed, evSignaled)
			h.wantWFT(6, 0, 2, testTQ)
			h.wantTasks(wftTask(6, 2))
			h.poll()
			h.s.FailWorkflowTask(h.now, enumspb.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE, nil, "worker")
			h.sync("FailWorkflowTask 2")
			h.wantStep() // a failed transient task writes nothing
			h.wantWFT(6, 0, 3, testTQ)
			h.poll()
			if err := h.completeReq(&workflowservice.RespondWorkflowTaskCompletedRequest{ForceCreateNewWorkflowTask: true}); err != nil {
				h.t.Fatal(err)
			}
			h.wantStep(evWFTSched, evWFTStarted, evWFTCompleted, evWFTSched)
			if a := h.events[5].GetWorkflowTaskScheduledEventAttributes(); a.Attempt != 3 {
				h.t.Fatalf("completed transient task has attempt %d, want 3", a.Attempt)
			}
			h.wantWFT(9, 0, 1, testTQ) // success resets the attempt
		}},
		{name: "started task times out on Tick", run: func(h *harness) {
			h.advance(time.Second)
			h.poll()
			h.wantDeadline(11 * time.Second)
			h.at(11*time.Second - time.Nanosecond)
			h.tick()
			h.wantStep()
			h.at(11 * time.Second)
			h.tick()
			h.wantStep(evWFTTimedOut)
			if a := h.events[3].GetWorkflowTaskTimedOutEventAttributes(); a.ScheduledEventId != 2 || a.StartedEventId != 3 || a.TimeoutType != enumspb.TIMEOUT_TYPE_START_TO_CLOSE {
				h.t.Fatalf("timed out attrs %v", a)
			}
			h.wantWFT(5, 0, 2, testTQ)
			h.wantDeadline(-1)
		}},
		{name: "sticky queue from StickyAttributes, dropped on failure", run: func(h *harness) {
			h.poll()
			if err := h.completeReq(&workflowservice.RespondWorkflowTaskCompletedRequest{StickyAttributes: withSticky("sticky-1", DefaultStickyTimeout)}); err != nil {
				h.t.Fatal(err)
			}
			if h.s.StickyQueue != "sticky-1" {
				h.t.Fatalf("sticky queue %q", h.s.StickyQueue)
			}
			h.signal("s", "")
			h.wantTasks(Task{Kind: WorkflowTaskKind, Queue: "sticky-1", Sticky: true, ScheduledEventID: 6, Attempt: 1})
			if sa := h.events[5].GetWorkflowTaskScheduledEventAttributes(); sa.TaskQueue.Kind != enumspb.TASK_QUEUE_KIND_STICKY || sa.TaskQueue.NormalName != testTQ {
				h.t.Fatalf("scheduled on %v", sa.TaskQueue)
			}
			h.wantWFT(6, 0, 1, "sticky-1")
			h.poll()
			h.s.FailWorkflowTask(h.now, enumspb.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE, nil, "w")
			h.sync("FailWorkflowTask")
			if h.s.StickyQueue != "" {
				h.t.Fatalf("sticky kept after failure")
			}
			// A sticky failure is retried on the normal queue as attempt 1.
			h.wantTasks(wftTask(9, 1))
		}},
		{name: "completion without sticky attributes clears stickiness", run: func(h *harness) {
			h.poll()
			if err := h.completeReq(&workflowservice.RespondWorkflowTaskCompletedRequest{StickyAttributes: withSticky("sticky-1", 0)}); err != nil {
				h.t.Fatal(err)
			}
			h.signal("s", "")
			h.poll()
			h.complete()
			if h.s.StickyQueue != "" {
				h.t.Fatalf("sticky kept")
			}
		}},
		{name: "sticky schedule-to-start timeout moves the task to the normal queue", run: func(h *harness) {
			h.poll()
			if err := h.completeReq(&workflowservice.RespondWorkflowTaskCompletedRequest{StickyAttributes: withSticky("sticky-1", 3*time.Second)}); err != nil {
				h.t.Fatal(err)
			}
			h.at(time.Second)
			h.signal("s", "")
			h.wantWFT(6, 0, 1, "sticky-1")
			h.wantDeadline(4 * time.Second)
			h.at(4 * time.Second)
			h.tick()
			// As in Temporal: the sticky task times out (schedule-to-start,
			// no attempt added) and a new one goes to the normal queue.
			h.wantStep(enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, evWFTSched)
			if to := h.lastEvents(2)[0].GetWorkflowTaskTimedOutEventAttributes(); to.TimeoutType != enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START || to.ScheduledEventId != 6 || to.StartedEventId != 0 {
				h.t.Fatalf("timed out %v", to)
			}
			h.wantTasks(wftTask(8, 1))
			h.wantWFT(8, 0, 1, testTQ)
			if h.s.WFT.Sticky || h.s.StickyQueue != "" {
				h.t.Fatalf("still sticky")
			}
			h.wantDeadline(-1)
			h.poll()
			h.complete()
		}},
		{name: "ResetSticky re-dispatches a pending sticky task", run: func(h *harness) {
			h.poll()
			if err := h.completeReq(&workflowservice.RespondWorkflowTaskCompletedRequest{StickyAttributes: withSticky("sticky-1", 0)}); err != nil {
				h.t.Fatal(err)
			}
			h.signal("s", "")
			h.s.ResetSticky()
			h.sync("ResetSticky")
			h.wantTasks(wftTask(6, 1))
			h.wantWFT(6, 0, 1, testTQ)
		}},
		{name: "first task delayed by FirstWorkflowTaskBackoff", attrs: []func(*historypb.WorkflowExecutionStartedEventAttributes){func(a *historypb.WorkflowExecutionStartedEventAttributes) {
			a.FirstWorkflowTaskBackoff = dur(30 * time.Second)
		}}, run: func(h *harness) {
			h.wantStep(evStarted)
			h.wantDeadline(30 * time.Second)
			h.signal("early", "")
			h.wantStep(evSignaled)
			if h.s.WFT != nil {
				h.t.Fatalf("task scheduled before backoff")
			}
			h.at(29 * time.Second)
			h.tick()
			h.wantStep()
			h.at(30 * time.Second)
			h.tick()
			h.wantStep(evWFTSched)
			h.wantWFT(3, 0, 1, testTQ)
		}},
		{name: "DropTask removes the dispatched task from the outbox", run: func(h *harness) {
			h.poll()
			h.complete()
			h.s.Signal(h.now, "s", nil, nil, "c", "", nil)
			h.s.DropTask(WorkflowTaskKind, h.s.WFT.ScheduledEventID)
			h.sync("signal+DropTask")
			h.wantTasks()
		}},
	})
}

// TestCompletionIdsContiguous drives a busy task: many buffered events of
// several kinds are flushed in order and every id is assigned exactly once.
func TestCompletionIdsContiguous(t *testing.T) {
	h := newHarness(t, startAttrs())
	h.pollComplete(scheduleActivity("a1"), scheduleActivity("a2"), startTimer("t1", time.Second), startChild("kid"))
	h.wantStep(evWFTCompleted, evActSched, evActSched, evTimerStarted, enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)
	h.startAct("a1")
	h.startAct("a2")
	h.signal("go", "")
	h.poll()
	h.completeAct("a1")
	h.failAct("a2", appFailure("x", true))
	h.at(time.Second)
	h.tick() // timer fires into the buffer
	if err := h.s.ChildStarted(h.now, 8, "kid-run"); err != nil {
		t.Fatal(err)
	}
	h.sync("ChildStarted")
	if err := h.s.ChildClosed(h.now, 8, "kid-run", &historypb.HistoryEvent{Attributes: &historypb.HistoryEvent_WorkflowExecutionCompletedEventAttributes{WorkflowExecutionCompletedEventAttributes: &historypb.WorkflowExecutionCompletedEventAttributes{Result: payloads("r")}}}); err != nil {
		t.Fatal(err)
	}
	h.sync("ChildClosed")
	h.signal("again", "")
	if len(h.s.Buffered) != 8 {
		t.Fatalf("buffered %d", len(h.s.Buffered))
	}
	h.complete(marker("m"))
	h.wantStep(evWFTCompleted, enumspb.EVENT_TYPE_MARKER_RECORDED, evActStarted, evActCompleted, evActStarted, evActFailed, evTimerFired,
		enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED, enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED, evSignaled, evWFTSched)
	byType := func(et enumspb.EventType, i int) *historypb.HistoryEvent { return h.eventsOfType(et)[i] }
	if got := byType(evActCompleted, 0).GetActivityTaskCompletedEventAttributes().StartedEventId; got != byType(evActStarted, 0).EventId {
		t.Fatalf("completed.StartedEventId %d", got)
	}
	if got := byType(evActFailed, 0).GetActivityTaskFailedEventAttributes().StartedEventId; got != byType(evActStarted, 1).EventId {
		t.Fatalf("failed.StartedEventId %d", got)
	}
	cs := byType(enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED, 0)
	if got := byType(enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED, 0).GetChildWorkflowExecutionCompletedEventAttributes().StartedEventId; got != cs.EventId {
		t.Fatalf("child completed.StartedEventId %d, want %d", got, cs.EventId)
	}
	if len(h.s.Children) != 0 || len(h.s.Activities) != 0 || len(h.s.Timers) != 0 {
		t.Fatalf("leftovers: %d children %d activities %d timers", len(h.s.Children), len(h.s.Activities), len(h.s.Timers))
	}
}
