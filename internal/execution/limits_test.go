package execution

import (
	"fmt"
	"testing"

	commandpb "go.temporal.io/api/command/v1"
	enumspb "go.temporal.io/api/enums/v1"
)

func markers(n int) []*commandpb.Command {
	out := make([]*commandpb.Command, n)
	for i := range out {
		out[i] = &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_RECORD_MARKER, Attributes: &commandpb.Command_RecordMarkerCommandAttributes{
			RecordMarkerCommandAttributes: &commandpb.RecordMarkerCommandAttributes{MarkerName: fmt.Sprint("m", i)}}}
	}
	return out
}

// A long history first makes WorkflowTaskStarted suggest continue-as-new,
// then past the error limit the run is terminated.
func TestHistoryLimits(t *testing.T) {
	h := newHarness(t, startAttrs())
	h.pollComplete(markers(HistoryCountSuggestCAN)...)
	h.signal("go", "")
	h.poll()
	started := h.events[len(h.events)-1].GetWorkflowTaskStartedEventAttributes()
	if started == nil || !started.SuggestContinueAsNew || started.SuggestContinueAsNewReasons[0] != enumspb.SUGGEST_CONTINUE_AS_NEW_REASON_TOO_MANY_HISTORY_EVENTS {
		t.Fatalf("want SuggestContinueAsNew, got %v", started)
	}
	if h.s.EnforceLimits(h.now) {
		t.Fatal("terminated below the error limit")
	}
	for h.s.NextEventID-1 <= HistoryCountError {
		h.complete(markers(10000)...)
		h.signal("go", "")
		h.poll()
	}
	if !h.s.EnforceLimits(h.now) {
		t.Fatal("not terminated past the error limit")
	}
	h.sync("enforce")
	if h.s.Status != enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED {
		t.Fatalf("status %v", h.s.Status)
	}
	last := h.events[len(h.events)-1].GetWorkflowExecutionTerminatedEventAttributes()
	if last.GetReason() != historyCountExceededMessage {
		t.Fatalf("terminated event %v", last)
	}
}
