package execution

import (
	"time"

	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/proto"
)

// Workflow execution options (UpdateWorkflowExecutionOptions): the
// priority, the worker versioning override (versioning.go) and the time
// skipping config (time_skipping.go).

// Priority is the run's priority: the start's, or the last one set by
// UpdateWorkflowExecutionOptions.
func (s *State) Priority() *commonpb.Priority {
	if s.priorityUpdated {
		return s.priority
	}
	return s.Start.GetPriority()
}

// WorkflowOptions are the run's current options as Temporal reports them.
func (s *State) WorkflowOptions() *workflowpb.WorkflowExecutionOptions {
	o := &workflowpb.WorkflowExecutionOptions{}
	if p := s.Priority(); p != nil {
		o.Priority = proto.Clone(p).(*commonpb.Priority)
	}
	if v := s.ver.override; v != nil {
		o.VersioningOverride = proto.Clone(v).(*workflowpb.VersioningOverride)
	}
	if s.skip.on && s.skip.cfg != nil {
		o.TimeSkippingConfig = proto.Clone(s.skip.cfg).(*commonpb.TimeSkippingConfig)
	}
	return o
}

// OptionsMerge merges requested options into a run's current ones
// (UpdateWorkflowExecutionOptions' update mask, checked by the frontend).
type OptionsMerge func(cur *workflowpb.WorkflowExecutionOptions) (*workflowpb.WorkflowExecutionOptions, error)

// UpdateWorkflowOptions gives the run the options o (already merged with
// the current ones by the caller). As in Temporal an update that changes
// nothing writes nothing; otherwise a WorkflowExecutionOptionsUpdated
// event records the new priority (buffered while a workflow task runs,
// like a signal) and no workflow task is scheduled for it.
func (s *State) UpdateWorkflowOptions(now time.Time, o *workflowpb.WorkflowExecutionOptions, identity string) (changed bool, err error) {
	if !s.Running() {
		return false, ErrClosed
	}
	cur := s.WorkflowOptions()
	if proto.Equal(o, cur) {
		return false, nil
	}
	// As Temporal: the event carries the config only when it changed,
	// and then it starts a new skipping session (and fast-forward).
	skipChanged := !proto.Equal(o.GetTimeSkippingConfig(), cur.GetTimeSkippingConfig())
	var skipCfg *commonpb.TimeSkippingConfig
	if skipChanged {
		skipCfg = o.GetTimeSkippingConfig()
	}
	s.redispatchForPriority(o.GetPriority())
	s.addEvent(now, true, func(ev *historypb.HistoryEvent) {
		ev.WorkerMayIgnore = true // as Temporal marks it: workers skip it on replay
		ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionOptionsUpdatedEventAttributes{WorkflowExecutionOptionsUpdatedEventAttributes: &historypb.WorkflowExecutionOptionsUpdatedEventAttributes{
			VersioningOverride: o.GetVersioningOverride(), UnsetVersioningOverride: o.GetVersioningOverride() == nil,
			Identity: identity, Priority: o.GetPriority(),
			TimeSkippingConfig: skipCfg, TimeSkippingConfigUpdated: skipChanged,
		}}
	})
	return true, nil
}

// applyOptionsUpdated is the state change of a WorkflowExecutionOptionsUpdated event.
func (s *State) applyOptionsUpdated(a *historypb.WorkflowExecutionOptionsUpdatedEventAttributes) {
	if s.applyAttached(a) {
		return // a start attached callbacks; the options are unchanged
	}
	// As Temporal applies the event: an event without a priority leaves
	// the run's as it was (so a mask that clears the priority changes
	// nothing but the history).
	if p := a.GetPriority(); p != nil {
		s.priority, s.priorityUpdated = p, true
	}
	s.applyVersioningOptions(a)
}
