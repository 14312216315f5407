package execution

import (
	"testing"
	"time"

	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/proto"
)

func TestMergePriority(t *testing.T) {
	wf := &commonpb.Priority{PriorityKey: 2, FairnessKey: "tenant", FairnessWeight: 3}
	for _, tc := range []struct {
		base, over, want *commonpb.Priority
	}{
		{nil, nil, nil},
		{wf, nil, wf},
		{nil, wf, wf},
		{wf, &commonpb.Priority{PriorityKey: 5}, &commonpb.Priority{PriorityKey: 5, FairnessKey: "tenant", FairnessWeight: 3}},
		{wf, &commonpb.Priority{FairnessKey: "x"}, &commonpb.Priority{PriorityKey: 2, FairnessKey: "x", FairnessWeight: 3}},
		{wf, &commonpb.Priority{FairnessWeight: 0.5}, &commonpb.Priority{PriorityKey: 2, FairnessKey: "tenant", FairnessWeight: 0.5}},
	} {
		if got := MergePriority(tc.base, tc.over); !proto.Equal(got, tc.want) {
			t.Errorf("Merge(%v, %v) = %v, want %v", tc.base, tc.over, got, tc.want)
		}
	}
}

func withPriority(p *commonpb.Priority) func(*commandpb.ScheduleActivityTaskCommandAttributes) {
	return func(a *commandpb.ScheduleActivityTaskCommandAttributes) { a.Priority = p }
}

func prioOf(t Task) *commonpb.Priority {
	return &commonpb.Priority{PriorityKey: t.PriorityKey, FairnessKey: t.FairnessKey, FairnessWeight: t.FairnessWeight}
}

// Workflow tasks carry the run's priority; activity tasks their own merged
// over the run's; after UpdateWorkflowExecutionOptions both carry the new
// one (an activity's retry included), and a scheduled workflow task not yet
// started is sent again with it. Recovery derives the same priorities.
func TestTaskPriorities(t *testing.T) {
	h := newHarness(t, startAttrs(func(a *historypb.WorkflowExecutionStartedEventAttributes) {
		a.Priority = &commonpb.Priority{PriorityKey: 2, FairnessKey: "tenant-a", FairnessWeight: 2}
	}))
	if len(h.last.Tasks) != 1 || !proto.Equal(prioOf(h.last.Tasks[0]), &commonpb.Priority{PriorityKey: 2, FairnessKey: "tenant-a", FairnessWeight: 2}) {
		t.Fatalf("first workflow task %+v", h.last.Tasks)
	}
	h.pollComplete(
		scheduleActivity("own", withPriority(&commonpb.Priority{PriorityKey: 5}), withRetry(&commonpb.RetryPolicy{InitialInterval: dur(time.Second)})),
		scheduleActivity("inherits"),
	)
	if len(h.last.Tasks) != 2 {
		t.Fatalf("tasks %+v", h.last.Tasks)
	}
	if got := prioOf(h.last.Tasks[0]); !proto.Equal(got, &commonpb.Priority{PriorityKey: 5, FairnessKey: "tenant-a", FairnessWeight: 2}) {
		t.Fatalf("activity with its own priority key: %v", got)
	}
	if got := prioOf(h.last.Tasks[1]); !proto.Equal(got, &commonpb.Priority{PriorityKey: 2, FairnessKey: "tenant-a", FairnessWeight: 2}) {
		t.Fatalf("activity without a priority: %v", got)
	}
	h.startAct("own")

	// A new run priority: the retry of "own" keeps its own key but takes
	// the new fairness key.
	if _, err := h.s.UpdateWorkflowOptions(h.now, &workflowpb.WorkflowExecutionOptions{Priority: &commonpb.Priority{PriorityKey: 1, FairnessKey: "tenant-b"}}, "me"); err != nil {
		t.Fatal(err)
	}
	h.sync("update options")
	h.wantTasks() // no workflow task pending: nothing to send again
	h.failAct("own", appFailure("Flaky", false))
	h.advance(time.Second)
	h.tick()
	if len(h.last.Tasks) != 1 || !proto.Equal(prioOf(h.last.Tasks[0]), &commonpb.Priority{PriorityKey: 5, FairnessKey: "tenant-b"}) {
		t.Fatalf("retry after the update: %+v", h.last.Tasks)
	}

	// A workflow task scheduled and not started goes again at a new priority.
	h.signal("s", "sig-1")
	if h.s.WFT == nil || len(h.last.Tasks) != 1 || h.last.Tasks[0].PriorityKey != 1 {
		t.Fatalf("workflow task after signal: %+v", h.last.Tasks)
	}
	if _, err := h.s.UpdateWorkflowOptions(h.now, &workflowpb.WorkflowExecutionOptions{Priority: &commonpb.Priority{PriorityKey: 4}}, "me"); err != nil {
		t.Fatal(err)
	}
	h.sync("update options with a workflow task pending")
	if len(h.last.Tasks) != 1 || h.last.Tasks[0].Kind != WorkflowTaskKind || h.last.Tasks[0].ScheduledEventID != h.s.WFT.ScheduledEventID || h.last.Tasks[0].PriorityKey != 4 || h.last.Tasks[0].FairnessKey != "" {
		t.Fatalf("pending workflow task not sent again at the new priority: %+v", h.last.Tasks)
	}

	// Recovery after a restart derives the tasks with the current priority.
	l := reload(t, h.s, h.events)
	o := l.Recover(h.now)
	for _, tk := range o.Tasks {
		want := int32(4)
		if tk.Kind == ActivityTaskKind {
			want = 5 // "own" keeps its key; "inherits" was never started
			if tk.ScheduledEventID != h.act("own").ScheduledEventID {
				want = 4
			}
		}
		if tk.PriorityKey != want {
			t.Fatalf("recovered task %+v, want key %d", tk, want)
		}
	}
	if len(o.Tasks) != 3 {
		t.Fatalf("recovered tasks %+v", o.Tasks)
	}
}

// A child's priority is its command's merged over the parent run's.
func TestChildPriorityInherited(t *testing.T) {
	h := newHarness(t, startAttrs(func(a *historypb.WorkflowExecutionStartedEventAttributes) {
		a.Priority = &commonpb.Priority{PriorityKey: 1, FairnessKey: "tenant"}
	}))
	c := startChild("kid")
	c.GetStartChildWorkflowExecutionCommandAttributes().Priority = &commonpb.Priority{FairnessWeight: 4}
	h.pollComplete(c, startChild("kid2"))
	if len(h.last.Actions) != 2 {
		t.Fatalf("actions %+v", h.last.Actions)
	}
	if got := h.last.Actions[0].ChildPriority; !proto.Equal(got, &commonpb.Priority{PriorityKey: 1, FairnessKey: "tenant", FairnessWeight: 4}) {
		t.Fatalf("child priority %v", got)
	}
	if got := h.last.Actions[1].ChildPriority; !proto.Equal(got, &commonpb.Priority{PriorityKey: 1, FairnessKey: "tenant"}) {
		t.Fatalf("child without a priority: %v", got)
	}
}

// An options update whose event carries no priority (a mask that clears
// it) leaves the run's priority as it was, as Temporal applies the event;
// the event is still written.
func TestOptionsUpdateWithoutPriorityKeepsIt(t *testing.T) {
	h := newHarness(t, startAttrs(func(a *historypb.WorkflowExecutionStartedEventAttributes) {
		a.Priority = &commonpb.Priority{PriorityKey: 2}
	}))
	changed, err := h.s.UpdateWorkflowOptions(h.now, &workflowpb.WorkflowExecutionOptions{}, "me")
	if err != nil || !changed {
		t.Fatalf("update clearing the priority: changed %v, %v; want an event", changed, err)
	}
	h.sync("update options without a priority")
	if got := h.s.Priority().GetPriorityKey(); got != 2 {
		t.Fatalf("priority key after an update without one: %d, want 2 (unchanged)", got)
	}
	if l := reload(t, h.s, h.events); l.Priority().GetPriorityKey() != 2 {
		t.Fatalf("replayed priority key %d, want 2", l.Priority().GetPriorityKey())
	}
}
