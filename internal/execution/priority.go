package execution

import (
	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/proto"
)

// Task priority, as Temporal's history service gives it to matching: a
// workflow task carries the run's priority (the start's, or the latest
// UpdateWorkflowExecutionOptions'); an activity task the activity's own
// priority merged over the run's, field by field, at the time the task is
// made. So a changed run priority applies to the tasks made after the
// change (an activity's next attempt included), and an activity's fields
// set by UpdateActivityOptions to its next attempt.

// MergePriority is Temporal's merge of two priorities: each field of
// override when it is set (non-zero), else base's.
func MergePriority(base, override *commonpb.Priority) *commonpb.Priority {
	switch {
	case base == nil:
		return override
	case override == nil:
		return base
	}
	m := &commonpb.Priority{PriorityKey: base.PriorityKey, FairnessKey: base.FairnessKey, FairnessWeight: base.FairnessWeight}
	if override.PriorityKey != 0 {
		m.PriorityKey = override.PriorityKey
	}
	if override.FairnessKey != "" {
		m.FairnessKey = override.FairnessKey
	}
	if override.FairnessWeight != 0 {
		m.FairnessWeight = override.FairnessWeight
	}
	return m
}

// prioritized returns t carrying priority p.
func (t Task) prioritized(p *commonpb.Priority) Task {
	t.PriorityKey, t.FairnessKey, t.FairnessWeight = p.GetPriorityKey(), p.GetFairnessKey(), p.GetFairnessWeight()
	return t
}

// workflowTask is a workflow task of the run, with the run's priority.
func (s *State) workflowTask(queue string, sticky bool, scheduled int64, attempt int32) Task {
	return Task{Kind: WorkflowTaskKind, Queue: queue, Sticky: sticky, ScheduledEventID: scheduled, Attempt: attempt}.prioritized(s.Priority())
}

// activityTask is an attempt's task of an activity whose own priority is
// own, merged over the run's.
func (s *State) activityTask(queue string, scheduled int64, attempt int32, own *commonpb.Priority) Task {
	return Task{Kind: ActivityTaskKind, Queue: queue, ScheduledEventID: scheduled, Attempt: attempt}.prioritized(MergePriority(s.Priority(), own))
}

// startChildAction is the action that starts child c, whose priority is its
// command's merged over the run's, as Temporal starts children.
func (s *State) startChildAction(initiated int64, c *Child) Action {
	a := Action{Kind: StartChild, InitiatedEventID: initiated, Child: c, ChildPriority: MergePriority(s.Priority(), c.Attrs.GetPriority())}
	a.ChildTimeSkipping, a.ChildTimeSkippingState = s.ChildTimeSkipping()
	return a
}

// redispatchForPriority sends a workflow task that is scheduled but not
// started again with the run's new priority p, as Temporal reschedules its
// pending workflow task when UpdateWorkflowExecutionOptions changes the
// priority (a speculative task is left alone, as there). The earlier copy
// stays queued; whichever a poller gets first starts the task and the
// other is then stale.
func (s *State) redispatchForPriority(p *commonpb.Priority) {
	w := s.WFT
	if w == nil || w.StartedEventID != 0 || w.Speculative || p == nil || proto.Equal(p, s.Priority()) {
		return
	}
	s.out.Tasks = append(s.out.Tasks, Task{Kind: WorkflowTaskKind, Queue: w.Queue, Sticky: w.Sticky, ScheduledEventID: w.ScheduledEventID, Attempt: w.Attempt}.prioritized(p))
}
