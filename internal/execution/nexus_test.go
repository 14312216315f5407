package execution

import (
	"testing"
	"time"

	commandpb "go.temporal.io/api/command/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"
)

func scheduleNexusCmd(endpoint string, s2c time.Duration) *commandpb.Command {
	return &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_SCHEDULE_NEXUS_OPERATION,
		Attributes: &commandpb.Command_ScheduleNexusOperationCommandAttributes{ScheduleNexusOperationCommandAttributes: &commandpb.ScheduleNexusOperationCommandAttributes{
			Endpoint: endpoint, Service: "svc", Operation: "op", Input: payload("in"), ScheduleToCloseTimeout: durationpb.New(s2c),
		}}}
}

// nexusHarness starts a run whose first task schedules one Nexus operation
// on endpoint "ep" (id "ep-id") and returns its scheduled event id.
func nexusHarness(t *testing.T, s2c time.Duration) (*harness, int64) {
	h := newHarness(t, startAttrs())
	h.poll()
	h.s.SetNexusEndpoints(map[string]string{"ep": "ep-id"})
	h.complete(scheduleNexusCmd("ep", s2c))
	h.wantStep(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, enumspb.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED)
	ev := h.lastEvent()
	if len(h.last.Tasks) != 1 || h.last.Tasks[0].Kind != NexusTaskKind || h.last.Tasks[0].Queue != "ep-id" || h.last.Tasks[0].ScheduledEventID != ev.EventId {
		t.Fatalf("tasks %+v: want one Nexus task for endpoint ep-id", h.last.Tasks)
	}
	if a := ev.GetNexusOperationScheduledEventAttributes(); a.EndpointId != "ep-id" || a.RequestId == "" {
		t.Fatalf("scheduled %v", a)
	}
	return h, ev.EventId
}

// TestNexusSyncCompletion: a handler's result closes the operation with
// NexusOperationCompleted and schedules a workflow task; no started event.
func TestNexusSyncCompletion(t *testing.T) {
	h, id := nexusHarness(t, time.Minute)
	if _, err := h.s.StartNexusTask(h.now, id, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := h.s.StartNexusTask(h.now, id, 1); err != ErrStaleTask {
		t.Fatalf("second start: %v, want ErrStaleTask", err)
	}
	if err := h.s.CompleteNexusOperation(h.now, id, 1, payload("out")); err != nil {
		t.Fatal(err)
	}
	h.sync("CompleteNexusOperation")
	h.wantStep(enumspb.EVENT_TYPE_NEXUS_OPERATION_COMPLETED, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
	if len(h.s.NexusOps) != 0 {
		t.Fatalf("operation still pending")
	}
	if err := h.s.CompleteNexusOperation(h.now, id, 1, payload("out")); err != ErrStaleTask {
		t.Fatalf("second completion: %v, want ErrStaleTask", err)
	}
}

// TestNexusUnknownEndpoint: a command naming an endpoint the registry does
// not know fails the workflow task with BAD_SCHEDULE_NEXUS_OPERATION_ATTRIBUTES.
func TestNexusUnknownEndpoint(t *testing.T) {
	h := newHarness(t, startAttrs())
	h.poll()
	h.s.SetNexusEndpoints(map[string]string{})
	err := h.completeReq(&workflowservice.RespondWorkflowTaskCompletedRequest{Commands: []*commandpb.Command{scheduleNexusCmd("missing", time.Minute)}})
	ce, ok := err.(*CommandError)
	if !ok || ce.Cause != enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_NEXUS_OPERATION_ATTRIBUTES {
		t.Fatalf("error %v, want BAD_SCHEDULE_NEXUS_OPERATION_ATTRIBUTES", err)
	}
}

// TestNexusRetryThenTimeout: a retryable handler error sends the task again
// after a backoff; the schedule-to-close timeout ends the operation with
// NexusOperationTimedOut, whose failure wraps a schedule-to-close timeout.
func TestNexusRetryThenTimeout(t *testing.T) {
	h, id := nexusHarness(t, 5*time.Second)
	if _, err := h.s.StartNexusTask(h.now, id, 1); err != nil {
		t.Fatal(err)
	}
	if err := h.s.RetryNexusOperation(h.now, id, 1, &failurepb.Failure{Message: "unavailable"}); err != nil {
		t.Fatal(err)
	}
	h.sync("RetryNexusOperation")
	if len(h.last.Events) != 0 {
		t.Fatalf("a retry wrote %v", h.stepTypes())
	}
	if p := h.s.PendingNexusOperations(); len(p) != 1 || p[0].State != enumspb.PENDING_NEXUS_OPERATION_STATE_BACKING_OFF || p[0].Attempt != 2 || p[0].LastAttemptFailure.GetMessage() != "unavailable" {
		t.Fatalf("pending %v: want one operation backing off before attempt 2", p)
	}
	if got, want := h.s.NextDeadline(), h.now.Add(time.Second); !got.Equal(want) {
		t.Fatalf("next deadline %v, want the 1 s backoff %v", got, want)
	}
	h.advance(time.Second)
	h.tick()
	if len(h.last.Tasks) != 1 || h.last.Tasks[0].Kind != NexusTaskKind || h.last.Tasks[0].Attempt != 2 {
		t.Fatalf("tasks after backoff %+v: want attempt 2", h.last.Tasks)
	}
	h.at(10 * time.Second)
	h.tick()
	h.wantStep(enumspb.EVENT_TYPE_NEXUS_OPERATION_TIMED_OUT, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
	f := h.eventsOfType(enumspb.EVENT_TYPE_NEXUS_OPERATION_TIMED_OUT)[0].GetNexusOperationTimedOutEventAttributes().Failure
	if f.GetNexusOperationExecutionFailureInfo().GetScheduledEventId() != id || f.GetCause().GetTimeoutFailureInfo().GetTimeoutType() != enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE {
		t.Fatalf("timed-out failure %v", f)
	}
}
