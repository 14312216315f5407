package execution

import (
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
)

// Child and continue-as-new timeouts are normalised as Temporal does: the
// run timeout falls back to (and is bounded by) the execution timeout, the
// task timeout defaults to 10s and is bounded by the run timeout.
func TestNewRunTimeoutNormalisation(t *testing.T) {
	if OverrideRunTimeout(0, time.Hour) != time.Hour || OverrideRunTimeout(2*time.Hour, time.Hour) != time.Hour ||
		OverrideRunTimeout(time.Minute, 0) != time.Minute || OverrideRunTimeout(0, 0) != 0 {
		t.Fatal("OverrideRunTimeout")
	}
	if OverrideTaskTimeout(0, 0) != DefaultWorkflowTaskTimeout || OverrideTaskTimeout(0, 5*time.Second) != 5*time.Second ||
		OverrideTaskTimeout(time.Hour, 0) != MaxWorkflowTaskTimeout {
		t.Fatal("OverrideTaskTimeout")
	}
	h := newHarness(t, startAttrs())
	child := startChild("kid")
	a := child.GetStartChildWorkflowExecutionCommandAttributes()
	a.WorkflowExecutionTimeout = dur(3 * time.Second)
	h.pollComplete(child)
	ini := h.eventsOfType(enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)[0].GetStartChildWorkflowExecutionInitiatedEventAttributes()
	if ini.WorkflowRunTimeout.AsDuration() != 3*time.Second || ini.WorkflowTaskTimeout.AsDuration() != 3*time.Second {
		t.Fatalf("child timeouts %v", ini)
	}
}
