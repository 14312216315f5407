package execution

import (
	"errors"
	"testing"
	"time"

	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"
)

// resetBase drives a run through: task 1 schedules activity "a" (events
// 1-5), signal "s" arrives (6), task 2 starts (7-8) and completes with
// nothing (9), while "a" is still pending.
func resetBase(t *testing.T) *harness {
	h := newHarness(t, startAttrs())
	h.poll()
	if err := h.completeReq(&workflowservice.RespondWorkflowTaskCompletedRequest{
		Commands: []*commandpb.Command{scheduleActivity("a")}, BinaryChecksum: "bin-1",
	}); err != nil {
		t.Fatal(err)
	}
	h.advance(time.Second)
	h.signal("s", "sig-1")
	h.poll()
	if err := h.completeReq(&workflowservice.RespondWorkflowTaskCompletedRequest{BinaryChecksum: "bin-1"}); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestAutoResetPoints(t *testing.T) {
	h := resetBase(t)
	points := h.s.AutoResetPoints().GetPoints()
	if len(points) != 1 || points[0].BinaryChecksum != "bin-1" || points[0].FirstWorkflowTaskCompletedId != 4 ||
		points[0].RunId != testRunID || !points[0].Resettable || !points[0].CreateTime.AsTime().Equal(t0) {
		t.Fatalf("points after two tasks of one build: %v", points)
	}
	h.signal("s2", "sig-2")
	h.poll()
	if err := h.completeReq(&workflowservice.RespondWorkflowTaskCompletedRequest{BinaryChecksum: "bin-2"}); err != nil {
		t.Fatal(err)
	}
	if r := reload(t, h.s, h.events); !proto.Equal(r.AutoResetPoints(), h.s.AutoResetPoints()) {
		t.Fatalf("reset points after replay: %v, live %v", r.AutoResetPoints(), h.s.AutoResetPoints())
	}
	points = h.s.AutoResetPoints().GetPoints()
	if len(points) != 2 || points[1].BinaryChecksum != "bin-2" || points[1].FirstWorkflowTaskCompletedId != h.lastEvent().EventId {
		t.Fatalf("points after a new build: %v", points)
	}
}

func TestResetRunFromPrefix(t *testing.T) {
	base := resetBase(t)
	now := t0.Add(time.Hour)
	// Event 9 ends task 2: the prefix is events 1-8, activity "a" pending.
	s, err := NewResetRun(testNS, testWFID, ResetParams{
		Now: now, RunID: "run-reset", BaseRunID: testRunID, Reason: "why",
		Prefix: base.events[:8], StartRequestID: "start-req", RequestID: "reset-req",
	})
	if err != nil {
		t.Fatal(err)
	}
	after := append(base.events[8:], &historypb.HistoryEvent{
		EventId: 10, EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
		Attributes: &historypb.HistoryEvent_WorkflowExecutionSignaledEventAttributes{WorkflowExecutionSignaledEventAttributes: &historypb.WorkflowExecutionSignaledEventAttributes{SignalName: "later"}},
	}, &historypb.HistoryEvent{
		EventId: 11, EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
		Attributes: &historypb.HistoryEvent_WorkflowExecutionUpdateAcceptedEventAttributes{WorkflowExecutionUpdateAcceptedEventAttributes: &historypb.WorkflowExecutionUpdateAcceptedEventAttributes{
			ProtocolInstanceId: "u1", AcceptedRequest: &updatepb.Request{Meta: &updatepb.Meta{UpdateId: "u1"}, Input: &updatepb.Input{Name: "add"}},
		}},
	})
	if err := s.FinishReset(now, after, false, false); err != nil {
		t.Fatal(err)
	}
	h := adopt(t, s, now) // checks that replay reproduces the reset run
	want := []enumspb.EventType{
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ADMITTED, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
	}
	h.wantStep(want...)
	for i := 0; i < 8; i++ {
		if !h.events[i].EventTime.AsTime().Equal(base.events[i].EventTime.AsTime()) || h.events[i].EventId != base.events[i].EventId {
			t.Fatalf("event %d not copied", i+1)
		}
	}
	f := h.events[8].GetWorkflowTaskFailedEventAttributes()
	if f.Cause != enumspb.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW || f.BaseRunId != testRunID || f.NewRunId != "run-reset" ||
		f.ScheduledEventId != 7 || f.StartedEventId != 8 || f.Failure.GetMessage() != "why" || f.Identity != "history-service" {
		t.Fatalf("failed task: %v", f)
	}
	if a := h.events[10].GetWorkflowExecutionUpdateAdmittedEventAttributes(); a.Origin != enumspb.UPDATE_ADMITTED_EVENT_ORIGIN_REAPPLY || a.Request.GetMeta().GetUpdateId() != "u1" {
		t.Fatalf("reapplied update: %v", a)
	}
	// The next task is attempt 1 (a reset does not count as a failure),
	// and activity "a" is dispatched again, scheduled anew at the reset.
	h.wantWFT(12, 0, 1, testTQ)
	act := h.act("a")
	if !act.ScheduledTime.Equal(now) || act.Started {
		t.Fatalf("pending activity after reset: %+v", act)
	}
	if len(h.last.Tasks) != 2 || h.last.Tasks[1].Kind != ActivityTaskKind || h.last.Tasks[1].ScheduledEventID != 5 {
		t.Fatalf("tasks: %+v", h.last.Tasks)
	}
	if !h.s.StartTime.Equal(now) || !h.s.ExecutionTime().Equal(now) || !h.s.Reset.OriginalStartTime.Equal(t0) || h.s.Reset.RequestID != "reset-req" {
		t.Fatalf("reset run times: start %v execution %v original %v", h.s.StartTime, h.s.ExecutionTime(), h.s.Reset.OriginalStartTime)
	}
	// The reapplied update is read from history, never sent as a message.
	if msgs := h.poll(); len(msgs) != 0 {
		t.Fatalf("update delivered as a message: %v", msgs)
	}
	if u := h.s.Updates["u1"]; u == nil || !u.InHistory || u.State != UpdateAdmitted {
		t.Fatalf("reapplied update state: %+v", u)
	}
}

func TestResetRunPoints(t *testing.T) {
	base := resetBase(t)
	for _, n := range []int{4, 5} { // prefixes ending in a completed task, and after it
		_, err := NewResetRun(testNS, testWFID, ResetParams{Now: t0, RunID: "r", Prefix: base.events[:n]})
		if !errors.Is(err, ErrResetPoint) {
			t.Fatalf("prefix of %d events: %v", n, err)
		}
	}
	// A prefix ending with a scheduled, not started task: the reset
	// records the start itself.
	s, err := NewResetRun(testNS, testWFID, ResetParams{Now: t0, RunID: "r", BaseRunID: testRunID, Prefix: base.events[:7]})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.FinishReset(t0, nil, true, true); err != nil {
		t.Fatal(err)
	}
	h := adopt(t, s, t0)
	if st := h.events[7].GetWorkflowTaskStartedEventAttributes(); st == nil || st.Identity != "history-service" || st.ScheduledEventId != 7 {
		t.Fatalf("event 8: %v", h.events[7])
	}
}

func TestTerminateForReset(t *testing.T) {
	h := resetBase(t)
	kid := &Child{InitiatedEventID: 99, Attrs: &historypb.StartChildWorkflowExecutionInitiatedEventAttributes{WorkflowId: "kid", WorkflowType: &commonpb.WorkflowType{Name: "k"}}}
	h.s.Children[99] = kid
	if err := h.s.TerminateForReset(h.now, "why", "run-reset"); err != nil {
		t.Fatal(err)
	}
	o := h.s.TakeOutbox()
	if len(o.Actions) != 0 {
		t.Fatalf("a reset applied the parent close policy: %+v", o.Actions)
	}
	if !h.s.TerminatedByReset() || h.s.Record().ResetRunID != "run-reset" {
		t.Fatalf("not linked: %+v", h.s.Reset)
	}
}
