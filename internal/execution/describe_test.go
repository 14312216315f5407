package execution

import (
	"testing"
	"time"

	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
)

func TestDescribe(t *testing.T) {
	h := newHarness(t, startAttrs(runTimeout(time.Hour)))
	h.poll()
	if err := h.completeReq(&workflowservice.RespondWorkflowTaskCompletedRequest{BinaryChecksum: "v1",
		Commands: []*commandpb.Command{scheduleActivity("a", withRetry(&commonpb.RetryPolicy{InitialInterval: dur(time.Minute)}))}}); err != nil {
		t.Fatal(err)
	}
	h.at(time.Second)
	h.startAct("a")
	h.at(2 * time.Second)
	h.failAct("a", appFailure("boom", false))

	d := h.s.Describe(h.now)
	info := d.WorkflowExecutionInfo
	if info.RootExecution.GetWorkflowId() != testWFID || info.RootExecution.GetRunId() != testRunID {
		t.Fatalf("root %v", info.RootExecution)
	}
	rp := info.AutoResetPoints.GetPoints()
	if len(rp) != 1 || rp[0].BinaryChecksum != "v1" || rp[0].FirstWorkflowTaskCompletedId != 4 || !rp[0].Resettable || rp[0].RunId != testRunID {
		t.Fatalf("reset points %v", rp)
	}
	ext := d.WorkflowExtendedInfo
	if !ext.OriginalStartTime.AsTime().Equal(t0) || !ext.RunExpirationTime.AsTime().Equal(t0.Add(time.Hour)) || ext.ExecutionExpirationTime != nil ||
		ext.RequestIdInfos["start-req"].GetEventId() != 1 {
		t.Fatalf("extended %v", ext)
	}
	a := d.PendingActivities[0]
	if a.Attempt != 2 || !a.LastAttemptCompleteTime.AsTime().Equal(t0.Add(2*time.Second)) || !a.NextAttemptScheduleTime.AsTime().Equal(t0.Add(62*time.Second)) ||
		a.CurrentRetryInterval.AsDuration() != time.Minute || !a.ScheduledTime.AsTime().Equal(t0.Add(62*time.Second)) || a.ActivityOptions == nil {
		t.Fatalf("activity %v", a)
	}
	// Once the backoff has passed (the retry is dispatched) there is no
	// next attempt time; LastAttemptCompleteTime survives a reload.
	h.at(62 * time.Second)
	h.tick()
	l := Load(h.s.Record(), h.events)
	if a := l.Describe(h.now).PendingActivities[0]; a.NextAttemptScheduleTime != nil || a.CurrentRetryInterval != nil || !a.LastAttemptCompleteTime.AsTime().Equal(t0.Add(2*time.Second)) {
		t.Fatalf("after the backoff %v", a)
	}

	// A second completion by the same binary adds no point; a new binary does.
	h.signal("s", "")
	h.poll()
	if err := h.completeReq(&workflowservice.RespondWorkflowTaskCompletedRequest{BinaryChecksum: "v1"}); err != nil {
		t.Fatal(err)
	}
	h.signal("s", "")
	h.poll()
	if err := h.completeReq(&workflowservice.RespondWorkflowTaskCompletedRequest{BinaryChecksum: "v2", Commands: []*commandpb.Command{continueAsNew()}}); err != nil {
		t.Fatal(err)
	}
	if n := len(h.s.AutoResetPoints().GetPoints()); n != 2 {
		t.Fatalf("%d reset points", n)
	}
	// The next run inherits them (PrevAutoResetPoints) and is its own root.
	next := h.last.NewRun
	nd := next.Describe(h.now)
	if got := nd.WorkflowExecutionInfo.AutoResetPoints.GetPoints(); len(got) != 2 || got[1].BinaryChecksum != "v2" {
		t.Fatalf("inherited points %v", got)
	}
	if nd.WorkflowExecutionInfo.RootExecution.GetRunId() != next.RunID {
		t.Fatalf("next run root %v", nd.WorkflowExecutionInfo.RootExecution)
	}
	if a := next.Start; a.OriginalExecutionRunId != next.RunID || a.WorkflowRunTimeout.AsDuration() != time.Hour {
		t.Fatalf("next run started %v", a)
	}
}

// A run without a run timeout reports the zero time as its run expiration,
// as Temporal does.
func TestDescribeNoRunTimeout(t *testing.T) {
	h := newHarness(t, startAttrs(func(a *historypb.WorkflowExecutionStartedEventAttributes) { a.WorkflowRunTimeout = nil }))
	d := h.s.Describe(h.now)
	if !d.WorkflowExtendedInfo.RunExpirationTime.AsTime().Equal(time.Time{}) || d.PendingWorkflowTask.GetState() != enumspb.PENDING_WORKFLOW_TASK_STATE_SCHEDULED {
		t.Fatalf("%v %v", d.WorkflowExtendedInfo, d.PendingWorkflowTask)
	}
}
