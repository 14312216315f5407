package execution

import (
	"errors"
	"testing"
	"time"

	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	protocolpb "go.temporal.io/api/protocol/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

type startMod = func(*historypb.WorkflowExecutionStartedEventAttributes)

func runTimeout(d time.Duration) startMod {
	return func(a *historypb.WorkflowExecutionStartedEventAttributes) { a.WorkflowRunTimeout = dur(d) }
}

func TestScheduleActivityTimeoutDefaults(t *testing.T) {
	type tmo struct{ s2c, s2s, st2c, hb time.Duration }
	cases := []struct {
		name string
		run  time.Duration // workflow run timeout
		in   tmo
		want tmo
	}{
		{"only schedule-to-close", 0, tmo{s2c: 100 * time.Second}, tmo{100 * time.Second, 100 * time.Second, 100 * time.Second, 0}},
		{"only start-to-close, no run timeout", 0, tmo{st2c: time.Minute}, tmo{0, 0, time.Minute, 0}},
		{"only start-to-close, run timeout caps it", 30 * time.Second, tmo{st2c: time.Minute}, tmo{30 * time.Second, 30 * time.Second, 30 * time.Second, 0}},
		{"start-to-close capped by schedule-to-close", 0, tmo{s2c: 50 * time.Second, st2c: 100 * time.Second}, tmo{50 * time.Second, 50 * time.Second, 50 * time.Second, 0}},
		{"schedule-to-start capped by schedule-to-close", 0, tmo{s2c: 50 * time.Second, s2s: 80 * time.Second, st2c: 10 * time.Second}, tmo{50 * time.Second, 50 * time.Second, 10 * time.Second, 0}},
		{"heartbeat capped by start-to-close", 0, tmo{st2c: time.Minute, hb: 2 * time.Minute}, tmo{0, 0, time.Minute, time.Minute}},
		{"all set and consistent", 0, tmo{100 * time.Second, 10 * time.Second, 20 * time.Second, 5 * time.Second}, tmo{100 * time.Second, 10 * time.Second, 20 * time.Second, 5 * time.Second}},
	}
	for _, c := range cases {
		c := c
		t.Run(c.name, func(t *testing.T) {
			var mods []startMod
			if c.run > 0 {
				mods = append(mods, runTimeout(c.run))
			}
			h := newHarness(t, startAttrs(mods...))
			h.pollComplete(scheduleActivity("a", func(a *commandpb.ScheduleActivityTaskCommandAttributes) {
				a.ScheduleToCloseTimeout, a.ScheduleToStartTimeout, a.StartToCloseTimeout, a.HeartbeatTimeout = dur(c.in.s2c), dur(c.in.s2s), dur(c.in.st2c), dur(c.in.hb)
			}))
			at := h.events[4].GetActivityTaskScheduledEventAttributes()
			got := tmo{at.ScheduleToCloseTimeout.AsDuration(), at.ScheduleToStartTimeout.AsDuration(), at.StartToCloseTimeout.AsDuration(), at.HeartbeatTimeout.AsDuration()}
			if got != c.want {
				t.Fatalf("timeouts = %+v, want %+v", got, c.want)
			}
			h.wantTasks(Task{Kind: ActivityTaskKind, Queue: testTQ, ScheduledEventID: 5, Attempt: 1})
			if at.TaskQueue.GetName() != testTQ || at.WorkflowTaskCompletedEventId != 4 {
				t.Fatalf("attrs %v", at)
			}
		})
	}
}

func TestScheduleActivityRetryPolicyDefaults(t *testing.T) {
	cases := []struct {
		name string
		in   *commonpb.RetryPolicy
		want *commonpb.RetryPolicy
	}{
		{"none", nil, &commonpb.RetryPolicy{InitialInterval: dur(time.Second), BackoffCoefficient: 2, MaximumInterval: dur(100 * time.Second)}},
		{"initial only", &commonpb.RetryPolicy{InitialInterval: dur(3 * time.Second)}, &commonpb.RetryPolicy{InitialInterval: dur(3 * time.Second), BackoffCoefficient: 2, MaximumInterval: dur(300 * time.Second)}},
		{"full", &commonpb.RetryPolicy{InitialInterval: dur(2 * time.Second), BackoffCoefficient: 1.5, MaximumInterval: dur(9 * time.Second), MaximumAttempts: 4, NonRetryableErrorTypes: []string{"X"}},
			&commonpb.RetryPolicy{InitialInterval: dur(2 * time.Second), BackoffCoefficient: 1.5, MaximumInterval: dur(9 * time.Second), MaximumAttempts: 4, NonRetryableErrorTypes: []string{"X"}}},
	}
	for _, c := range cases {
		c := c
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, startAttrs())
			h.pollComplete(scheduleActivity("a", func(a *commandpb.ScheduleActivityTaskCommandAttributes) { a.RetryPolicy = c.in }))
			if got := h.events[4].GetActivityTaskScheduledEventAttributes().RetryPolicy; !proto.Equal(got, c.want) {
				t.Fatalf("retry policy %v, want %v", got, c.want)
			}
		})
	}
}

func TestCommands(t *testing.T) {
	closeEvent := func(h *harness) *historypb.HistoryEvent {
		h.t.Helper()
		if h.s.CloseEvent == nil || h.s.Running() || h.s.WFT != nil || !h.s.NextDeadline().IsZero() {
			h.t.Fatalf("run not closed properly: status %v wft %v", h.s.Status, h.s.WFT)
		}
		return h.s.CloseEvent
	}
	runScenarios(t, []scenario{
		{name: "cancel activity that was not started: canceled at once", run: func(h *harness) {
			h.pollComplete(scheduleActivity("a1"))
			h.pollOrSignal()
			h.complete(cancelActivityCmd(5))
			h.wantStep(evWFTCompleted, evActCancelReq, evActCanceled, evWFTSched)
			c := h.lastEvents(2)[0].GetActivityTaskCanceledEventAttributes()
			if c.ScheduledEventId != 5 || c.LatestCancelRequestedEventId != h.eventsOfType(evActCancelReq)[0].EventId {
				h.t.Fatalf("canceled attrs %v", c)
			}
			if len(h.s.Activities) != 0 {
				h.t.Fatalf("activity still pending")
			}
		}},
		{name: "cancel started activity: heartbeat reports it, worker cancels", run: func(h *harness) {
			h.pollComplete(scheduleActivity("a1", func(a *commandpb.ScheduleActivityTaskCommandAttributes) { a.HeartbeatTimeout = dur(10 * time.Second) }))
			h.startAct("a1")
			h.pollOrSignal()
			h.complete(cancelActivityCmd(5))
			h.wantStep(evWFTCompleted, evActCancelReq)
			act := h.act("a1")
			if !act.CancelRequested || act.CancelEventID != h.lastEvent().EventId {
				h.t.Fatalf("cancel not recorded: %+v", act)
			}
			h.advance(time.Second)
			req, err := h.s.Heartbeat(h.now, 5, 1, payloads("progress"))
			if err != nil || !req {
				h.t.Fatalf("Heartbeat = %v, %v; want cancel requested", req, err)
			}
			h.sync("Heartbeat")
			if p := h.s.PendingActivities()[0]; p.State != enumspb.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED {
				h.t.Fatalf("pending state %v", p.State)
			}
			if err := h.s.CancelActivity(h.now, 5, 1, payloads("d"), "act-worker"); err != nil {
				h.t.Fatal(err)
			}
			h.sync("CancelActivity")
			h.wantStep(evActStarted, evActCanceled, evWFTSched)
			c := h.lastEvents(2)[0].GetActivityTaskCanceledEventAttributes()
			if c.StartedEventId != h.eventsOfType(evActStarted)[0].EventId || c.LatestCancelRequestedEventId != h.eventsOfType(evActCancelReq)[0].EventId {
				h.t.Fatalf("canceled attrs %v", c)
			}
		}},
		{name: "timer fires on Tick", run: func(h *harness) {
			h.pollComplete(startTimer("t1", 30*time.Second), startTimer("t2", 10*time.Second))
			h.wantStep(evWFTCompleted, evTimerStarted, evTimerStarted)
			h.wantDeadline(10 * time.Second)
			h.at(10 * time.Second)
			h.tick()
			h.wantStep(evTimerFired, evWFTSched)
			if f := h.events[6].GetTimerFiredEventAttributes(); f.TimerId != "t2" || f.StartedEventId != 6 {
				h.t.Fatalf("fired %v", f)
			}
			h.wantDeadline(30 * time.Second)
			h.at(25 * time.Second)
			h.poll()
			h.at(30 * time.Second)
			h.tick() // t1 fires into the buffer (deadline of the task is later)
			h.wantStep()
			h.complete()
			h.wantStep(evWFTCompleted, evTimerFired, evWFTSched)
		}},
		{name: "timers due at the same Tick fire in start order", run: func(h *harness) {
			h.pollComplete(startTimer("b", 5*time.Second), startTimer("a", 5*time.Second), startTimer("c", 4*time.Second))
			h.at(time.Minute)
			h.tick()
			// the first fired timer schedules the task; the others follow it
			h.wantStep(evTimerFired, evWFTSched, evTimerFired, evTimerFired)
			var ids []string
			for _, ev := range h.eventsOfType(evTimerFired) {
				ids = append(ids, ev.GetTimerFiredEventAttributes().TimerId)
			}
			if got := ids[0] + ids[1] + ids[2]; got != "bac" {
				h.t.Fatalf("fire order %v", ids)
			}
		}},
		{name: "cancel timer; cancel of a timer that fired during the task drops the firing", run: func(h *harness) {
			h.pollComplete(startTimer("t1", 30*time.Second), startTimer("t2", time.Second))
			h.signal("s", "")
			h.poll()
			h.at(time.Second)
			h.tick() // t2 fires into the buffer
			h.complete(cancelTimer("t1"), cancelTimer("t2"))
			// As in Temporal: the buffered TimerFired is removed and a
			// TimerCanceled written instead; no new task is needed.
			h.wantStep(evWFTCompleted, evTimerCancel, evTimerCancel)
			if c := h.eventsOfType(evTimerCancel)[0].GetTimerCanceledEventAttributes(); c.TimerId != "t1" || c.StartedEventId != 5 {
				h.t.Fatalf("canceled %v", c)
			}
			if c := h.eventsOfType(evTimerCancel)[1].GetTimerCanceledEventAttributes(); c.TimerId != "t2" || c.StartedEventId != 6 {
				h.t.Fatalf("canceled %v", c)
			}
			if len(h.s.Buffered) != 0 {
				h.t.Fatalf("buffered left %v", h.s.Buffered)
			}
			h.signal("s2", "")
			if len(h.s.Timers) != 0 {
				h.t.Fatalf("timers left %v", h.s.Timers)
			}
			h.pollComplete(startTimer("t2", time.Second)) // an id can be reused once the timer is gone
		}},
		{name: "complete workflow", run: func(h *harness) {
			h.pollComplete(completeWF("done"))
			h.wantStep(evWFTCompleted, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
			h.wantStatus(enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED)
			if ce := closeEvent(h); ce.GetWorkflowExecutionCompletedEventAttributes().WorkflowTaskCompletedEventId != 4 {
				h.t.Fatalf("close event %v", ce)
			}
			if err := h.s.Signal(h.now, "late", nil, nil, "", "", nil); !errors.Is(err, ErrClosed) {
				h.t.Fatalf("signal after close: %v", err)
			}
			if !h.s.FinalClose() {
				h.t.Fatalf("FinalClose false")
			}
		}},
		{name: "fail workflow without retry policy", run: func(h *harness) {
			h.pollComplete(failWF(appFailure("E", false)))
			h.wantStatus(enumspb.WORKFLOW_EXECUTION_STATUS_FAILED)
			a := closeEvent(h).GetWorkflowExecutionFailedEventAttributes()
			if a.RetryState != enumspb.RETRY_STATE_RETRY_POLICY_NOT_SET || a.NewExecutionRunId != "" || h.last.NewRun != nil {
				h.t.Fatalf("failed attrs %v newRun %v", a, h.last.NewRun)
			}
		}},
		{name: "cancel workflow", run: func(h *harness) {
			if err := h.s.RequestCancel(h.now, "please", "client", nil, 0); err != nil {
				h.t.Fatal(err)
			}
			h.sync("RequestCancel")
			h.wantStep(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED)
			if err := h.s.RequestCancel(h.now, "again", "client", nil, 0); err != nil {
				h.t.Fatal(err)
			}
			h.sync("RequestCancel again")
			h.wantStep() // idempotent
			h.pollComplete(cancelWF())
			h.wantStatus(enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED)
			closeEvent(h)
		}},
		{name: "continue-as-new", attrs: []startMod{runTimeout(time.Hour), func(a *historypb.WorkflowExecutionStartedEventAttributes) {
			a.Memo = &commonpb.Memo{Fields: map[string]*commonpb.Payload{"m": payload("1")}}
			a.RetryPolicy = &commonpb.RetryPolicy{MaximumAttempts: 3}
		}}, run: func(h *harness) {
			h.pollComplete(continueAsNew(func(a *commandpb.ContinueAsNewWorkflowExecutionCommandAttributes) {
				a.TaskQueue = &taskqueuepb.TaskQueue{Name: "tq2"}
			}))
			h.wantStep(evWFTCompleted, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW)
			h.wantStatus(enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW)
			can := closeEvent(h).GetWorkflowExecutionContinuedAsNewEventAttributes()
			nr := h.last.NewRun
			if nr == nil || can.NewExecutionRunId != "run-2" || nr.RunID != "run-2" || h.s.FinalClose() {
				h.t.Fatalf("CAN %v new run %v", can, nr)
			}
			n := adopt(h.t, nr, h.now)
			n.wantStep(evStarted, evWFTSched)
			n.wantTasks(Task{Kind: WorkflowTaskKind, Queue: "tq2", ScheduledEventID: 2, Attempt: 1})
			st := nr.Start
			if st.ContinuedExecutionRunId != "run-1" || st.FirstExecutionRunId != "run-1" || st.Attempt != 1 ||
				st.Initiator != enumspb.CONTINUE_AS_NEW_INITIATOR_WORKFLOW || st.WorkflowRunTimeout.AsDuration() != time.Hour ||
				!proto.Equal(st.Input, payloads("next")) || st.Memo.GetFields()["m"] == nil || st.RetryPolicy.GetMaximumAttempts() != 3 {
				h.t.Fatalf("new run start attrs %v", st)
			}
			n.pollComplete(completeWF("x"))
		}},
		{name: "continue-as-new with backoff delays the first task", run: func(h *harness) {
			h.pollComplete(continueAsNew(func(a *commandpb.ContinueAsNewWorkflowExecutionCommandAttributes) {
				a.BackoffStartInterval = dur(time.Minute)
			}))
			n := adopt(h.t, h.last.NewRun, h.now)
			n.wantStep(evStarted)
			n.wantDeadline(time.Minute)
			n.at(time.Minute)
			n.tick()
			n.wantStep(evWFTSched)
		}},
		{name: "start child, started, completed", run: func(h *harness) {
			h.pollComplete(startChild("kid"))
			h.wantStep(evWFTCompleted, enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)
			if len(h.last.Actions) != 1 {
				h.t.Fatalf("actions %v", h.last.Actions)
			}
			a := h.last.Actions[0]
			if a.Kind != StartChild || a.InitiatedEventID != 5 || a.Child == nil || a.Child.Attrs.Namespace != testNS ||
				a.Child.Attrs.TaskQueue.GetName() != testTQ || a.Child.Attrs.WorkflowTaskTimeout.AsDuration() != DefaultWorkflowTaskTimeout {
				h.t.Fatalf("action %+v", a)
			}
			if o := h.s.Recover(h.now); len(o.Actions) != 1 || o.Actions[0].Kind != StartChild {
				h.t.Fatalf("Recover %+v", o.Actions)
			}
			if err := h.s.ChildStarted(h.now, 5, "kid-run"); err != nil {
				h.t.Fatal(err)
			}
			h.sync("ChildStarted")
			h.wantStep(enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED, evWFTSched)
			if err := h.s.ChildStarted(h.now, 5, "kid-run"); !errors.Is(err, ErrStaleTask) {
				h.t.Fatalf("duplicate ChildStarted: %v", err)
			}
			if err := h.s.ChildClosed(h.now, 5, "kid-run", &historypb.HistoryEvent{Attributes: &historypb.HistoryEvent_WorkflowExecutionFailedEventAttributes{WorkflowExecutionFailedEventAttributes: &historypb.WorkflowExecutionFailedEventAttributes{Failure: appFailure("c", true)}}}); err != nil {
				h.t.Fatal(err)
			}
			h.sync("ChildClosed")
			h.wantStep(enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED)
			if f := h.lastEvent().GetChildWorkflowExecutionFailedEventAttributes(); f.StartedEventId != 6 || f.InitiatedEventId != 5 {
				h.t.Fatalf("child failed %v", f)
			}
		}},
		{name: "child closed before its start was recorded", run: func(h *harness) {
			h.pollComplete(startChild("kid"))
			if err := h.s.ChildClosed(h.now, 5, "kid-run", &historypb.HistoryEvent{Attributes: &historypb.HistoryEvent_WorkflowExecutionTerminatedEventAttributes{WorkflowExecutionTerminatedEventAttributes: &historypb.WorkflowExecutionTerminatedEventAttributes{}}}); err != nil {
				h.t.Fatal(err)
			}
			h.sync("ChildClosed")
			h.wantStep(enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED, evWFTSched, enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED)
			if got := h.lastEvent().GetChildWorkflowExecutionTerminatedEventAttributes().StartedEventId; got != 6 {
				h.t.Fatalf("StartedEventId %d", got)
			}
		}},
		{name: "child start failed", run: func(h *harness) {
			h.pollComplete(startChild("kid"))
			if err := h.s.StartChildFailed(h.now, 5, enumspb.START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS); err != nil {
				h.t.Fatal(err)
			}
			h.sync("StartChildFailed")
			h.wantStep(enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED, evWFTSched)
			if len(h.s.Children) != 0 {
				h.t.Fatalf("child still pending")
			}
		}},
		{name: "closing with children applies the parent close policy", run: func(h *harness) {
			h.pollComplete(startChild("kid"))
			h.signal("s", "")
			h.pollComplete(completeWF("r"))
			var found bool
			for _, a := range h.last.Actions {
				if a.Kind == ApplyParentClose && len(a.Children) == 1 && a.Children[0].InitiatedEventID == 5 {
					found = true
				}
			}
			if !found {
				h.t.Fatalf("actions %+v", h.last.Actions)
			}
		}},
		{name: "signal and cancel external", run: func(h *harness) {
			h.pollComplete(signalExternal("other", "sig"), cancelExternal("other"), signalExternal("third", "sig"))
			h.wantStep(evWFTCompleted, enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
				enumspb.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED)
			acts := h.last.Actions
			if len(acts) != 3 || acts[0].Kind != SignalExternal || acts[0].InitiatedEventID != 5 || acts[0].External.Signal.Namespace != testNS ||
				acts[1].Kind != CancelExternal || acts[1].InitiatedEventID != 6 || acts[1].External.Cancel.WorkflowExecution.GetWorkflowId() != "other" {
				h.t.Fatalf("actions %+v", acts)
			}
			if err := h.s.ExternalSignalDone(h.now, 5, enumspb.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_UNSPECIFIED); err != nil {
				h.t.Fatal(err)
			}
			h.sync("ExternalSignalDone ok")
			h.wantStep(enumspb.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED, evWFTSched)
			if err := h.s.ExternalSignalDone(h.now, 7, enumspb.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND); err != nil {
				h.t.Fatal(err)
			}
			h.sync("ExternalSignalDone failed")
			h.wantStep(enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED)
			if err := h.s.ExternalCancelDone(h.now, 6, enumspb.CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_UNSPECIFIED); err != nil {
				h.t.Fatal(err)
			}
			h.sync("ExternalCancelDone")
			h.wantStep(enumspb.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED)
			if err := h.s.ExternalCancelDone(h.now, 6, enumspb.CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_UNSPECIFIED); !errors.Is(err, ErrStaleTask) {
				h.t.Fatalf("second done: %v", err)
			}
			if len(h.s.ExternalSignals)+len(h.s.ExternalCancels) != 0 {
				h.t.Fatalf("externals left")
			}
		}},
		{name: "record marker", run: func(h *harness) {
			h.pollComplete(marker("version"))
			h.wantStep(evWFTCompleted, enumspb.EVENT_TYPE_MARKER_RECORDED)
			if m := h.lastEvent().GetMarkerRecordedEventAttributes(); m.MarkerName != "version" || m.WorkflowTaskCompletedEventId != 4 {
				h.t.Fatalf("marker %v", m)
			}
		}},
		{name: "upsert search attributes and modify memo merge and unset", attrs: []startMod{func(a *historypb.WorkflowExecutionStartedEventAttributes) {
			a.SearchAttributes = &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{"keep": payload("k"), "drop": payload("d")}}
			a.Memo = &commonpb.Memo{Fields: map[string]*commonpb.Payload{"m1": payload("1"), "m2": payload("2")}}
		}}, run: func(h *harness) {
			null := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("binary/null")}}
			h.pollComplete(upsertSA(map[string]*commonpb.Payload{"new": payload("n"), "drop": null}), modifyProps(map[string]*commonpb.Payload{"m2": null, "m3": payload("3")}))
			h.wantStep(evWFTCompleted, enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, enumspb.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED)
			sa := h.s.Info().SearchAttributes.GetIndexedFields()
			if len(sa) != 2 || sa["keep"] == nil || sa["new"] == nil {
				h.t.Fatalf("search attributes %v", sa)
			}
			memo := h.s.Info().Memo.GetFields()
			if len(memo) != 2 || memo["m1"] == nil || memo["m3"] == nil {
				h.t.Fatalf("memo %v", memo)
			}
		}},
		{name: "terminate with a started task", run: func(h *harness) {
			h.poll()
			h.signal("s", "")
			if err := h.s.Terminate(h.now, "stop", payloads("d"), "admin"); err != nil {
				h.t.Fatal(err)
			}
			h.sync("Terminate")
			h.wantStep(evWFTFailed, evSignaled, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED)
			if c := h.events[3].GetWorkflowTaskFailedEventAttributes().Cause; c != enumspb.WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND {
				h.t.Fatalf("cause %v", c)
			}
			h.wantStatus(enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED)
			closeEvent(h)
			if err := h.s.Terminate(h.now, "again", nil, ""); !errors.Is(err, ErrClosed) {
				h.t.Fatalf("second terminate: %v", err)
			}
		}},
		{name: "terminate with a scheduled task writes no task event", run: func(h *harness) {
			if err := h.s.Terminate(h.now, "stop", nil, "admin"); err != nil {
				h.t.Fatal(err)
			}
			h.sync("Terminate")
			h.wantStep(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED)
		}},
		{name: "signal dedup by request id", run: func(h *harness) {
			h.signal("s", "req-1")
			h.wantStep(evSignaled)
			h.signal("s", "req-1")
			h.wantStep()
			h.poll()
			h.signal("s", "req-2")
			h.signal("s", "req-2") // buffered duplicate
			h.signal("s", "")
			h.signal("s", "") // no request id: never deduplicated
			if len(h.s.Buffered) != 3 {
				h.t.Fatalf("buffered %d", len(h.s.Buffered))
			}
			h.complete()
			h.wantStep(evWFTCompleted, evSignaled, evSignaled, evSignaled, evWFTSched)
			h.signal("s", "req-2")
			h.wantStep()
		}},
	})
}

// pollOrSignal makes sure a workflow task is started: it signals when none
// is pending.
func (h *harness) pollOrSignal() {
	h.t.Helper()
	if h.s.WFT == nil {
		h.signal("wake", "")
	}
	h.poll()
}

func (h *harness) lastEvents(n int) []*historypb.HistoryEvent {
	evs := h.last.Events
	return evs[len(evs)-n:]
}

func TestBadCommands(t *testing.T) {
	cmd := func(ct enumspb.CommandType, attrs any) *commandpb.Command {
		c := &commandpb.Command{CommandType: ct}
		switch a := attrs.(type) {
		case *commandpb.ScheduleActivityTaskCommandAttributes:
			c.Attributes = &commandpb.Command_ScheduleActivityTaskCommandAttributes{ScheduleActivityTaskCommandAttributes: a}
		case *commandpb.StartTimerCommandAttributes:
			c.Attributes = &commandpb.Command_StartTimerCommandAttributes{StartTimerCommandAttributes: a}
		}
		return c
	}
	noTimeouts := scheduleActivity("a", func(a *commandpb.ScheduleActivityTaskCommandAttributes) { a.StartToCloseTimeout = nil })
	cases := []struct {
		name  string
		setup []*commandpb.Command // completed in a first task
		cmds  []*commandpb.Command
		cause enumspb.WorkflowTaskFailedCause
	}{
		{"activity without id", nil, []*commandpb.Command{scheduleActivity("")}, enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES},
		{"activity without attributes", nil, []*commandpb.Command{cmd(enumspb.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK, nil)}, enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES},
		{"activity without timeouts", nil, []*commandpb.Command{noTimeouts}, enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES},
		{"duplicate activity id in one task", nil, []*commandpb.Command{scheduleActivity("a"), scheduleActivity("a")}, enumspb.WORKFLOW_TASK_FAILED_CAUSE_SCHEDULE_ACTIVITY_DUPLICATE_ID},
		{"duplicate of a pending activity", []*commandpb.Command{scheduleActivity("a")}, []*commandpb.Command{scheduleActivity("a")}, enumspb.WORKFLOW_TASK_FAILED_CAUSE_SCHEDULE_ACTIVITY_DUPLICATE_ID},
		{"timer without id", nil, []*commandpb.Command{startTimer("", time.Second)}, enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES},
		{"timer with a negative duration", nil, []*commandpb.Command{startTimer("t", -time.Second)}, enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES},
		{"timer with mismatched signs", nil, []*commandpb.Command{cmd(enumspb.COMMAND_TYPE_START_TIMER, &commandpb.StartTimerCommandAttributes{TimerId: "t", StartToFireTimeout: &durationpb.Duration{Seconds: 1, Nanos: -1}})}, enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES},
		{"cancel of an unknown timer", nil, []*commandpb.Command{cancelTimer("nope")}, enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_TIMER_ATTRIBUTES},
		{"cancel of an unknown activity", nil, []*commandpb.Command{cancelActivityCmd(999)}, enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES},
		{"activity cancel requested twice", []*commandpb.Command{scheduleActivity("a")}, []*commandpb.Command{cancelActivityCmd(5), cancelActivityCmd(5)}, enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES},
		{"activity with a negative timeout", nil, []*commandpb.Command{scheduleActivity("a", func(a *commandpb.ScheduleActivityTaskCommandAttributes) { a.HeartbeatTimeout = dur(-time.Second) })}, enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES},
		{"activity with a bad retry policy", nil, []*commandpb.Command{scheduleActivity("a", func(a *commandpb.ScheduleActivityTaskCommandAttributes) {
			a.RetryPolicy = &commonpb.RetryPolicy{BackoffCoefficient: 0.5}
		})}, enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES},
		{"signal external with a bad run id", nil, []*commandpb.Command{func() *commandpb.Command {
			c := signalExternal("w", "sig")
			c.GetSignalExternalWorkflowExecutionCommandAttributes().Execution.RunId = "not-a-uuid"
			return c
		}()}, enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_SIGNAL_WORKFLOW_EXECUTION_ATTRIBUTES},
		{"start and cancel of one child in a task", nil, []*commandpb.Command{startChild("kid"), cancelExternal("kid")}, enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_ATTRIBUTES},
		{"upsert without search attributes", nil, []*commandpb.Command{{CommandType: enumspb.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, Attributes: &commandpb.Command_UpsertWorkflowSearchAttributesCommandAttributes{UpsertWorkflowSearchAttributesCommandAttributes: &commandpb.UpsertWorkflowSearchAttributesCommandAttributes{}}}}, enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES},
		{"modify properties without memo", nil, []*commandpb.Command{{CommandType: enumspb.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES, Attributes: &commandpb.Command_ModifyWorkflowPropertiesCommandAttributes{ModifyWorkflowPropertiesCommandAttributes: &commandpb.ModifyWorkflowPropertiesCommandAttributes{}}}}, enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_MODIFY_WORKFLOW_PROPERTIES_ATTRIBUTES},
		{"duplicate pending timer", []*commandpb.Command{startTimer("t", time.Hour)}, []*commandpb.Command{startTimer("t", time.Second)}, enumspb.WORKFLOW_TASK_FAILED_CAUSE_START_TIMER_DUPLICATE_ID},
		{"cancel timer without id", nil, []*commandpb.Command{cancelTimer("")}, enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_TIMER_ATTRIBUTES},
		{"cancel activity without id", nil, []*commandpb.Command{cancelActivityCmd(0)}, enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES},
		{"marker without name", nil, []*commandpb.Command{marker("")}, enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_RECORD_MARKER_ATTRIBUTES},
		{"child without workflow id", nil, []*commandpb.Command{startChild("")}, enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_CHILD_EXECUTION_ATTRIBUTES},
		{"signal external without name", nil, []*commandpb.Command{signalExternal("w", "")}, enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_SIGNAL_WORKFLOW_EXECUTION_ATTRIBUTES},
		{"cancel external without id", nil, []*commandpb.Command{cancelExternal("")}, enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_ATTRIBUTES},
		{"protocol message without id", nil, []*commandpb.Command{protocolCmd("")}, enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_UPDATE_WORKFLOW_EXECUTION_MESSAGE},
		{"continue-as-new without attributes", nil, []*commandpb.Command{{CommandType: enumspb.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION}}, enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_CONTINUE_AS_NEW_ATTRIBUTES},
		{"schedule Nexus operation without attributes", nil, []*commandpb.Command{{CommandType: enumspb.COMMAND_TYPE_SCHEDULE_NEXUS_OPERATION}}, enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_NEXUS_OPERATION_ATTRIBUTES},
		{"good commands before a bad one leave nothing behind", nil, []*commandpb.Command{startTimer("ok", time.Second), marker("m"), startTimer("", time.Second)}, enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES},
	}
	for _, c := range cases {
		c := c
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, startAttrs())
			if c.setup != nil {
				h.pollComplete(c.setup...)
				h.signal("wake", "")
			}
			h.poll()
			before := len(h.events)
			sched := h.s.WFT.ScheduledEventID
			err := h.completeReq(&workflowservice.RespondWorkflowTaskCompletedRequest{Commands: c.cmds})
			var ce *CommandError
			if !errors.As(err, &ce) || ce.Cause != c.cause || ce.Message == "" {
				t.Fatalf("err = %v, want CommandError %v", err, c.cause)
			}
			h.wantStep(evWFTFailed) // the retry is transient
			f := h.events[before].GetWorkflowTaskFailedEventAttributes()
			if f.Cause != c.cause || f.ScheduledEventId != sched || f.Failure.GetMessage() != ce.Message {
				t.Fatalf("failed event %v", f)
			}
			h.wantWFT(int64(before+2), 0, 2, testTQ)
		})
	}
}

func TestCompletionWithUnhandledEvents(t *testing.T) {
	for _, closing := range []*commandpb.Command{completeWF("r"), failWF(appFailure("x", false)), cancelWF(), continueAsNew()} {
		closing := closing
		t.Run(closing.CommandType.String(), func(t *testing.T) {
			h := newHarness(t, startAttrs())
			h.poll()
			h.signal("late", "")
			err := h.completeReq(&workflowservice.RespondWorkflowTaskCompletedRequest{Commands: []*commandpb.Command{marker("m"), closing}})
			var ce *CommandError
			if !errors.As(err, &ce) || ce.Cause != enumspb.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND {
				t.Fatalf("err = %v", err)
			}
			h.wantStep(evWFTFailed, evSignaled, evWFTSched)
			h.wantStatus(enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING)
			if h.last.NewRun != nil {
				t.Fatalf("new run created")
			}
			h.poll()
			h.complete(closing)
			if h.s.Running() {
				t.Fatalf("still running")
			}
		})
	}
	// Updates the workflow has not seen do not hold it open, as in
	// Temporal: the completion goes through and the update is aborted.
	t.Run("undelivered update", func(t *testing.T) {
		h := newHarness(t, startAttrs())
		h.poll()
		u, err := h.s.AdmitUpdate(h.now, updateRequest("u1"), false)
		if err != nil {
			t.Fatal(err)
		}
		h.sync("AdmitUpdate")
		if err := h.completeReq(&workflowservice.RespondWorkflowTaskCompletedRequest{Commands: []*commandpb.Command{completeWF("r")}}); err != nil {
			t.Fatal(err)
		}
		h.wantStatus(enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED)
		if u.State != UpdateAborted || u.Abort != AbortRunClosed || !h.last.UpdatesChanged {
			t.Fatalf("update %+v", u)
		}
	})
}

func TestUpdates(t *testing.T) {
	admit := func(h *harness, id string) *Update {
		h.t.Helper()
		u, err := h.s.AdmitUpdate(h.now, updateRequest(id), false)
		if err != nil {
			h.t.Fatal(err)
		}
		h.sync("AdmitUpdate " + id)
		return u
	}
	runScenarios(t, []scenario{
		{name: "accept and complete in one task", run: func(h *harness) {
			h.pollComplete()
			u := admit(h, "u1")
			h.wantStep() // speculative: nothing in history until the task matters
			if len(h.s.SpeculativeEvents()) != 1 {
				h.t.Fatalf("want one speculative WorkflowTaskScheduled event")
			}
			if again := admit(h, "u1"); again != u {
				h.t.Fatalf("dedup by id failed")
			}
			msgs := h.poll()
			if len(msgs) != 1 || msgs[0].ProtocolInstanceId != "u1" || msgs[0].GetEventId() != h.s.WFT.StartedEventID-1 || u.State != UpdateSent {
				h.t.Fatalf("messages %v state %v", msgs, u.State)
			}
			err := h.completeReq(&workflowservice.RespondWorkflowTaskCompletedRequest{
				Messages: []*protocolpb.Message{acceptMsg("u1", 5), respondMsg("u1", "res")},
				Commands: []*commandpb.Command{protocolCmd("u1/accept"), protocolCmd("u1/complete")},
			})
			if err != nil {
				h.t.Fatal(err)
			}
			// The speculative task's events are written once it accepts.
			h.wantStep(evWFTSched, evWFTStarted, evWFTCompleted, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)
			if !h.last.UpdatesChanged || u.State != UpdateCompleted || u.Rejected || u.AcceptedEventID != 8 {
				h.t.Fatalf("update %+v", u)
			}
			if c := h.lastEvent().GetWorkflowExecutionUpdateCompletedEventAttributes(); c.AcceptedEventId != 8 || c.Meta.UpdateId != "u1" {
				h.t.Fatalf("completed %v", c)
			}
		}},
		{name: "accept now, respond in a later task (messages without commands)", run: func(h *harness) {
			admit(h, "u1")
			h.poll()
			if err := h.completeReq(&workflowservice.RespondWorkflowTaskCompletedRequest{Messages: []*protocolpb.Message{acceptMsg("u1", 2)}}); err != nil {
				h.t.Fatal(err)
			}
			h.wantStep(evWFTCompleted, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
			h.signal("s", "")
			h.poll()
			if err := h.completeReq(&workflowservice.RespondWorkflowTaskCompletedRequest{Messages: []*protocolpb.Message{respondMsg("u1", "r")}}); err != nil {
				h.t.Fatal(err)
			}
			h.wantStep(evWFTCompleted, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)
		}},
		{name: "rejection leaves no event", run: func(h *harness) {
			u := admit(h, "u1")
			h.poll()
			if err := h.completeReq(&workflowservice.RespondWorkflowTaskCompletedRequest{Messages: []*protocolpb.Message{rejectMsg("u1")}}); err != nil {
				h.t.Fatal(err)
			}
			h.wantStep(evWFTCompleted)
			if u.State != UpdateCompleted || !u.Rejected || u.Outcome.GetFailure().GetMessage() != "no" || !h.last.UpdatesChanged {
				h.t.Fatalf("update %+v", u)
			}
			// A rejected update is forgotten: the id is admitted again.
			if again := admit(h, "u1"); again == u || again.State != UpdateAdmitted {
				h.t.Fatalf("re-admit after rejection returned %+v", again)
			}
		}},
		{name: "update neither accepted nor rejected is rejected as unprocessed", run: func(h *harness) {
			u := admit(h, "u1")
			h.poll()
			h.complete()
			if u.State != UpdateCompleted || !u.Rejected || u.Outcome.GetFailure().GetApplicationFailureInfo().GetType() != "UnprocessedUpdate" {
				h.t.Fatalf("update %+v", u)
			}
		}},
		{name: "update admitted while a task runs gets its own task", run: func(h *harness) {
			h.poll()
			admit(h, "u1")
			h.complete()
			h.wantStep(evWFTCompleted, evWFTSched)
			if msgs := h.poll(); len(msgs) != 1 {
				h.t.Fatalf("messages %v", msgs)
			}
		}},
		{name: "a task the worker failed delivers its updates again with the retry", run: func(h *harness) {
			u := admit(h, "u1")
			h.poll()
			h.s.FailWorkflowTask(h.now, enumspb.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE, nil, "w")
			h.sync("FailWorkflowTask")
			if u.State != UpdateAdmitted {
				h.t.Fatalf("state %v", u.State)
			}
			msgs := h.poll()
			if len(msgs) != 1 || msgs[0].ProtocolInstanceId != "u1" || u.State != UpdateSent || h.s.WFT.Attempt != 2 {
				h.t.Fatalf("retry delivered %v (state %v, attempt %d)", msgs, u.State, h.s.WFT.Attempt)
			}
			if err := h.completeReq(&workflowservice.RespondWorkflowTaskCompletedRequest{
				Messages: []*protocolpb.Message{acceptMsg("u1", 2), respondMsg("u1", "r")},
			}); err != nil {
				h.t.Fatal(err)
			}
			if u.State != UpdateCompleted || u.Rejected {
				h.t.Fatalf("update %+v", u)
			}
		}},
		{name: "a task the server refused aborts the updates it delivered; the id can be admitted again", run: func(h *harness) {
			u := admit(h, "u1")
			h.poll()
			err := h.completeReq(&workflowservice.RespondWorkflowTaskCompletedRequest{Commands: []*commandpb.Command{protocolCmd("missing")}})
			var ce *CommandError
			if !errors.As(err, &ce) {
				h.t.Fatalf("err = %v", err)
			}
			if u.State != UpdateAborted || u.Abort != AbortTaskFailed || !h.last.UpdatesChanged {
				h.t.Fatalf("update %+v", u)
			}
			if msgs := h.poll(); len(msgs) != 0 {
				h.t.Fatalf("aborted update redelivered: %v", msgs)
			}
			if again := admit(h, "u1"); again == u || again.State != UpdateAdmitted {
				h.t.Fatalf("re-admit returned %+v", again)
			}
		}},
		{name: "updates are refused while the workflow task keeps failing", run: func(h *harness) {
			for i := 0; i < 2; i++ {
				h.poll()
				h.s.FailWorkflowTask(h.now, enumspb.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE, nil, "w")
				h.sync("FailWorkflowTask")
			}
			if _, err := h.s.AdmitUpdate(h.now, updateRequest("u1"), false); !errors.Is(err, ErrTaskFailing) {
				h.t.Fatalf("admit at attempt 3: %v", err)
			}
		}},
		{name: "an update accepted by the task that completes the run stays accepted", run: func(h *harness) {
			u := admit(h, "u1")
			h.poll()
			if err := h.completeReq(&workflowservice.RespondWorkflowTaskCompletedRequest{
				Messages: []*protocolpb.Message{acceptMsg("u1", 2)},
				Commands: []*commandpb.Command{protocolCmd("u1/accept"), completeWF("done")},
			}); err != nil {
				h.t.Fatal(err)
			}
			h.wantStep(evWFTCompleted, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
			if u.State != UpdateAccepted || h.s.Updates["u1"] != u {
				h.t.Fatalf("update %+v", u)
			}
		}},
		{name: "continue-as-new: the handled update completes here, the waiting ones move to the new run", run: func(h *harness) {
			handled := admit(h, "handled")
			h.poll()
			waiting := admit(h, "waiting") // arrives while the task runs
			pinned, err := h.s.AdmitUpdate(h.now, updateRequest("pinned"), true)
			if err != nil {
				h.t.Fatal(err)
			}
			h.sync("AdmitUpdate pinned")
			if err := h.completeReq(&workflowservice.RespondWorkflowTaskCompletedRequest{
				Messages: []*protocolpb.Message{acceptMsg("handled", 2), respondMsg("handled", "r")},
				Commands: []*commandpb.Command{protocolCmd("handled/accept"), protocolCmd("handled/complete"), continueAsNew()},
			}); err != nil {
				h.t.Fatal(err)
			}
			h.wantStep(evWFTCompleted, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW)
			if handled.State != UpdateCompleted || handled.Rejected {
				h.t.Fatalf("handled %+v", handled)
			}
			if pinned.State != UpdateAborted || pinned.Abort != AbortRunClosed {
				h.t.Fatalf("pinned %+v", pinned)
			}
			if h.s.Updates["waiting"] != nil || waiting.State != UpdateAdmitted {
				h.t.Fatalf("waiting update stayed on the old run: %+v", h.s.Updates["waiting"])
			}
			next := h.last.NewRun
			moved := next.Updates["waiting"]
			if moved == nil || moved.State != UpdateAdmitted || !moved.Moved(h.s.RunID) || next.Updates["pinned"] != nil || next.Updates["handled"] != nil {
				h.t.Fatalf("new run updates %+v", next.Updates)
			}
			// The new run's first task delivers it.
			msgs, err := next.StartWorkflowTask(h.now, next.WFT.ScheduledEventID, "req", "w")
			if err != nil || len(msgs) != 1 || msgs[0].ProtocolInstanceId != "waiting" {
				h.t.Fatalf("first task of the new run delivered %v (%v)", msgs, err)
			}
		}},
		{name: "messages after the close: a rejection still applies, an acceptance aborts its update (not carried over)", run: func(h *harness) {
			rej, acc := admit(h, "rej"), admit(h, "acc")
			h.poll()
			if err := h.completeReq(&workflowservice.RespondWorkflowTaskCompletedRequest{
				Messages: []*protocolpb.Message{rejectMsg("rej"), acceptMsg("acc", 2)},
				Commands: []*commandpb.Command{continueAsNew()},
			}); err != nil {
				h.t.Fatal(err)
			}
			h.wantStep(evWFTCompleted, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW)
			if rej.State != UpdateCompleted || !rej.Rejected {
				h.t.Fatalf("rejected update %+v", rej)
			}
			if acc.State != UpdateAborted || acc.Abort != AbortRunClosed || len(h.last.NewRun.Updates) != 0 {
				h.t.Fatalf("accepted-after-close update %+v, new run updates %v", acc, h.last.NewRun.Updates)
			}
		}},
		{name: "updates are refused while the retry of a refused close runs", run: func(h *harness) {
			h.poll()
			h.signal("late", "")
			err := h.completeReq(&workflowservice.RespondWorkflowTaskCompletedRequest{Commands: []*commandpb.Command{completeWF("r")}})
			var ce *CommandError
			if !errors.As(err, &ce) || ce.Cause != enumspb.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND {
				h.t.Fatalf("err = %v", err)
			}
			admit(h, "before") // the retry is scheduled, not started: admitted
			h.poll()
			if _, err := h.s.AdmitUpdate(h.now, updateRequest("during"), false); !errors.Is(err, ErrWorkflowClosing) {
				h.t.Fatalf("admit while the retry runs: %v", err)
			}
			if err := h.completeReq(&workflowservice.RespondWorkflowTaskCompletedRequest{Messages: []*protocolpb.Message{rejectMsg("before")}}); err != nil {
				h.t.Fatal(err)
			}
			// The retry did not close the run: updates are welcome again.
			admit(h, "after")
		}},
		{name: "a speculative task no worker takes within 5s is written and timed out; a normal task replaces it", run: func(h *harness) {
			h.pollComplete()
			u := admit(h, "u1")
			h.wantStep()
			spec := h.s.WFT.ScheduledEventID
			h.wantDeadline(h.now.Sub(t0) + SpeculativeScheduleToStartTimeout)
			h.advance(SpeculativeScheduleToStartTimeout)
			out := h.tick()
			h.wantStep(evWFTSched, evWFTTimedOut, evWFTSched)
			to := h.eventsOfType(evWFTTimedOut)[0].GetWorkflowTaskTimedOutEventAttributes()
			if to.ScheduledEventId != spec || to.StartedEventId != 0 || to.TimeoutType != enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START {
				h.t.Fatalf("timed out attrs %v", to)
			}
			if h.s.WFT == nil || h.s.WFT.Speculative || h.s.WFT.Attempt != 1 || len(out.Tasks) != 1 || out.Tasks[0].Sticky {
				h.t.Fatalf("replacement task %+v, outbox tasks %+v", h.s.WFT, out.Tasks)
			}
			msgs := h.poll()
			if len(msgs) != 1 || msgs[0].ProtocolInstanceId != "u1" {
				h.t.Fatalf("messages %v", msgs)
			}
			// Rejected on a normal task: the task stays in history.
			if err := h.completeReq(&workflowservice.RespondWorkflowTaskCompletedRequest{Messages: []*protocolpb.Message{rejectMsg("u1")}}); err != nil {
				h.t.Fatal(err)
			}
			h.wantStep(evWFTCompleted)
			if u.State != UpdateCompleted || !u.Rejected || h.s.Dropped() {
				h.t.Fatalf("update %+v dropped %v", u, h.s.Dropped())
			}
		}},
		{name: "an update delivered to a task that closes the run without handling it is aborted, not rejected", run: func(h *harness) {
			u := admit(h, "u1")
			h.poll()
			h.complete(completeWF("r"))
			if u.State != UpdateAborted || u.Abort != AbortRunClosed {
				h.t.Fatalf("update %+v", u)
			}
		}},
		{name: "closing aborts pending updates; admit after close fails", run: func(h *harness) {
			h.poll()
			h.complete(completeWF("r"))
			if _, err := h.s.AdmitUpdate(h.now, updateRequest("late"), false); !errors.Is(err, ErrClosed) {
				h.t.Fatalf("admit after close: %v", err)
			}
		}},
	})
}

// A zero-length timer is valid in Temporal (only negative or malformed
// durations are refused; over-long ones are capped): it fires at once.
func TestZeroLengthTimerFires(t *testing.T) {
	h := newHarness(t, startAttrs())
	long := startTimer("long", time.Hour)
	long.GetStartTimerCommandAttributes().StartToFireTimeout = &durationpb.Duration{Seconds: 200 * 365 * 24 * 3600}
	h.pollComplete(startTimer("zero", 0), long)
	h.wantStep(evWFTCompleted, evTimerStarted, evTimerStarted)
	if d := h.eventsOfType(evTimerStarted)[1].GetTimerStartedEventAttributes().StartToFireTimeout.AsDuration(); d != maxDuration {
		t.Fatalf("over-long timer recorded as %v, want capped to %v", d, maxDuration)
	}
	h.wantDeadline(0)
	h.tick()
	h.wantStep(evTimerFired, evWFTSched)
}

// Commands after a close command: as in Temporal the worker gets
// InvalidArgument and nothing is recorded (the task stays started).
func TestCommandAfterCloseIsRefused(t *testing.T) {
	h := newHarness(t, startAttrs())
	h.poll()
	before := len(h.events)
	err := h.completeReq(&workflowservice.RespondWorkflowTaskCompletedRequest{Commands: []*commandpb.Command{completeWF("r"), startTimer("t", time.Second)}})
	var se *SequenceError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want SequenceError", err)
	}
	if len(h.events) != before || h.s.WFT == nil || h.s.WFT.StartedEventID == 0 {
		t.Fatalf("something was recorded: %v", h.events[before:])
	}
}

// A bad command on a retried task (attempt > 1) does not fail the task
// again: Temporal leaves it to time out.
func TestBadCommandOnRetriedTaskIsLeftToTimeOut(t *testing.T) {
	h := newHarness(t, startAttrs())
	h.poll()
	if err := h.completeReq(&workflowservice.RespondWorkflowTaskCompletedRequest{Commands: []*commandpb.Command{startTimer("", time.Second)}}); err == nil {
		t.Fatal("bad command accepted")
	}
	h.wantStep(evWFTFailed)
	h.poll()
	if h.s.WFT.Attempt != 2 {
		t.Fatalf("attempt %d", h.s.WFT.Attempt)
	}
	err := h.completeReq(&workflowservice.RespondWorkflowTaskCompletedRequest{Commands: []*commandpb.Command{startTimer("", time.Second)}})
	var ce *CommandError
	if !errors.As(err, &ce) || ce.Message != "BadStartTimerAttributes: TimerId is not set on StartTimerCommand." {
		t.Fatalf("err = %v", err)
	}
	if h.s.WFT == nil || h.s.WFT.Attempt != 2 || h.s.WFT.StartedEventID == 0 {
		t.Fatalf("task was not left started: %+v", h.s.WFT)
	}
}
