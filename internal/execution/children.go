package execution

import (
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
)

// ChildStarted records that the child of initiatedID was started as runID.
func (s *State) ChildStarted(now time.Time, initiatedID int64, runID string) error {
	c := s.Children[initiatedID]
	if !s.Running() || c == nil || c.Started {
		return ErrStaleTask
	}
	s.addEvent(now, true, func(ev *historypb.HistoryEvent) {
		ev.Attributes = &historypb.HistoryEvent_ChildWorkflowExecutionStartedEventAttributes{ChildWorkflowExecutionStartedEventAttributes: &historypb.ChildWorkflowExecutionStartedEventAttributes{
			Namespace: c.Attrs.Namespace, InitiatedEventId: initiatedID,
			WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: c.Attrs.WorkflowId, RunId: runID},
			WorkflowType:      c.Attrs.WorkflowType, Header: c.Attrs.Header,
		}}
	})
	s.needWFT(now)
	return nil
}

// StartChildFailed records that the child could not be started.
func (s *State) StartChildFailed(now time.Time, initiatedID int64, cause enumspb.StartChildWorkflowExecutionFailedCause) error {
	c := s.Children[initiatedID]
	if !s.Running() || c == nil || c.Started {
		return ErrStaleTask
	}
	s.addEvent(now, true, func(ev *historypb.HistoryEvent) {
		ev.Attributes = &historypb.HistoryEvent_StartChildWorkflowExecutionFailedEventAttributes{StartChildWorkflowExecutionFailedEventAttributes: &historypb.StartChildWorkflowExecutionFailedEventAttributes{
			Namespace: c.Attrs.Namespace, WorkflowId: c.Attrs.WorkflowId, WorkflowType: c.Attrs.WorkflowType,
			Cause: cause, Control: c.Attrs.Control, InitiatedEventId: initiatedID,
			WorkflowTaskCompletedEventId: c.Attrs.WorkflowTaskCompletedEventId,
		}}
	})
	s.needWFT(now)
	return nil
}

// ChildClosed records the close of a child, given the close event of its
// last run.
func (s *State) ChildClosed(now time.Time, initiatedID int64, childRunID string, closeEvent *historypb.HistoryEvent) error {
	c := s.Children[initiatedID]
	if !s.Running() || c == nil {
		return ErrStaleTask
	}
	if !c.Started {
		// The started notification was lost (crash); record it first.
		if err := s.ChildStarted(now, initiatedID, childRunID); err != nil {
			return err
		}
	}
	ns, typ := c.Attrs.Namespace, c.Attrs.WorkflowType
	exec := &commonpb.WorkflowExecution{WorkflowId: c.Attrs.WorkflowId, RunId: childRunID}
	started := c.StartedEventID
	s.addEvent(now, true, func(ev *historypb.HistoryEvent) {
		switch a := closeEvent.Attributes.(type) {
		case *historypb.HistoryEvent_WorkflowExecutionCompletedEventAttributes:
			ev.Attributes = &historypb.HistoryEvent_ChildWorkflowExecutionCompletedEventAttributes{ChildWorkflowExecutionCompletedEventAttributes: &historypb.ChildWorkflowExecutionCompletedEventAttributes{
				Result: a.WorkflowExecutionCompletedEventAttributes.Result, Namespace: ns, WorkflowExecution: exec, WorkflowType: typ, InitiatedEventId: initiatedID, StartedEventId: started,
			}}
		case *historypb.HistoryEvent_WorkflowExecutionFailedEventAttributes:
			ev.Attributes = &historypb.HistoryEvent_ChildWorkflowExecutionFailedEventAttributes{ChildWorkflowExecutionFailedEventAttributes: &historypb.ChildWorkflowExecutionFailedEventAttributes{
				Failure: a.WorkflowExecutionFailedEventAttributes.Failure, Namespace: ns, WorkflowExecution: exec, WorkflowType: typ, InitiatedEventId: initiatedID, StartedEventId: started,
				RetryState: a.WorkflowExecutionFailedEventAttributes.RetryState,
			}}
		case *historypb.HistoryEvent_WorkflowExecutionCanceledEventAttributes:
			ev.Attributes = &historypb.HistoryEvent_ChildWorkflowExecutionCanceledEventAttributes{ChildWorkflowExecutionCanceledEventAttributes: &historypb.ChildWorkflowExecutionCanceledEventAttributes{
				Details: a.WorkflowExecutionCanceledEventAttributes.Details, Namespace: ns, WorkflowExecution: exec, WorkflowType: typ, InitiatedEventId: initiatedID, StartedEventId: started,
			}}
		case *historypb.HistoryEvent_WorkflowExecutionTimedOutEventAttributes:
			ev.Attributes = &historypb.HistoryEvent_ChildWorkflowExecutionTimedOutEventAttributes{ChildWorkflowExecutionTimedOutEventAttributes: &historypb.ChildWorkflowExecutionTimedOutEventAttributes{
				Namespace: ns, WorkflowExecution: exec, WorkflowType: typ, InitiatedEventId: initiatedID, StartedEventId: started,
				RetryState: a.WorkflowExecutionTimedOutEventAttributes.RetryState,
			}}
		default: // terminated
			ev.Attributes = &historypb.HistoryEvent_ChildWorkflowExecutionTerminatedEventAttributes{ChildWorkflowExecutionTerminatedEventAttributes: &historypb.ChildWorkflowExecutionTerminatedEventAttributes{
				Namespace: ns, WorkflowExecution: exec, WorkflowType: typ, InitiatedEventId: initiatedID, StartedEventId: started,
			}}
		}
	})
	s.needWFT(now)
	return nil
}

// ExternalSignalDone records the outcome of a SignalExternalWorkflowExecution.
func (s *State) ExternalSignalDone(now time.Time, initiatedID int64, cause enumspb.SignalExternalWorkflowExecutionFailedCause) error {
	e := s.ExternalSignals[initiatedID]
	if !s.Running() || e == nil {
		return ErrStaleTask
	}
	a := e.Signal
	s.addEvent(now, true, func(ev *historypb.HistoryEvent) {
		if cause == enumspb.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_UNSPECIFIED {
			ev.Attributes = &historypb.HistoryEvent_ExternalWorkflowExecutionSignaledEventAttributes{ExternalWorkflowExecutionSignaledEventAttributes: &historypb.ExternalWorkflowExecutionSignaledEventAttributes{
				InitiatedEventId: initiatedID, Namespace: a.Namespace, WorkflowExecution: a.WorkflowExecution, Control: a.Control,
			}}
		} else {
			ev.Attributes = &historypb.HistoryEvent_SignalExternalWorkflowExecutionFailedEventAttributes{SignalExternalWorkflowExecutionFailedEventAttributes: &historypb.SignalExternalWorkflowExecutionFailedEventAttributes{
				Cause: cause, WorkflowTaskCompletedEventId: a.WorkflowTaskCompletedEventId, Namespace: a.Namespace,
				WorkflowExecution: a.WorkflowExecution, InitiatedEventId: initiatedID, Control: a.Control,
			}}
		}
	})
	s.needWFT(now)
	return nil
}

// ExternalCancelDone records the outcome of a RequestCancelExternalWorkflowExecution.
func (s *State) ExternalCancelDone(now time.Time, initiatedID int64, cause enumspb.CancelExternalWorkflowExecutionFailedCause) error {
	e := s.ExternalCancels[initiatedID]
	if !s.Running() || e == nil {
		return ErrStaleTask
	}
	a := e.Cancel
	s.addEvent(now, true, func(ev *historypb.HistoryEvent) {
		if cause == enumspb.CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_UNSPECIFIED {
			ev.Attributes = &historypb.HistoryEvent_ExternalWorkflowExecutionCancelRequestedEventAttributes{ExternalWorkflowExecutionCancelRequestedEventAttributes: &historypb.ExternalWorkflowExecutionCancelRequestedEventAttributes{
				InitiatedEventId: initiatedID, Namespace: a.Namespace, WorkflowExecution: a.WorkflowExecution,
			}}
		} else {
			ev.Attributes = &historypb.HistoryEvent_RequestCancelExternalWorkflowExecutionFailedEventAttributes{RequestCancelExternalWorkflowExecutionFailedEventAttributes: &historypb.RequestCancelExternalWorkflowExecutionFailedEventAttributes{
				Cause: cause, WorkflowTaskCompletedEventId: a.WorkflowTaskCompletedEventId, Namespace: a.Namespace,
				WorkflowExecution: a.WorkflowExecution, InitiatedEventId: initiatedID, Control: a.Control,
			}}
		}
	})
	s.needWFT(now)
	return nil
}

// Recover returns everything a reloaded run still has to do: tasks to
// dispatch and actions on other workflows. Every action is idempotent.
func (s *State) Recover(now time.Time) Outbox {
	var o Outbox
	if !s.Running() {
		return o
	}
	// A transient retry of a failed workflow task is not in history:
	// schedule it again.
	if s.WFT == nil && s.firstTaskScheduled && s.failedWFTs > 0 && !s.Paused() {
		s.scheduleWFT(now)
		o.Tasks = append(o.Tasks, s.out.Tasks...)
		s.out.Tasks = nil
		return s.recoverRest(o, true)
	}
	return s.recoverRest(o, false)
}

func (s *State) recoverRest(o Outbox, skipWFT bool) Outbox {
	if w := s.WFT; w != nil && w.StartedEventID == 0 && !skipWFT {
		// Stickiness is not persisted; the normal queue is always safe.
		w.Sticky, w.Queue = false, s.TaskQueue()
		o.Tasks = append(o.Tasks, s.workflowTask(w.Queue, false, w.ScheduledEventID, w.Attempt))
	}
	for _, a := range s.Activities {
		if activityWaitsForWorker(a) && !s.Paused() { // a paused run's wait for the unpause
			o.Tasks = append(o.Tasks, s.attemptTask(a))
		}
	}
	for id, c := range s.Children {
		if !c.Started {
			o.Actions = append(o.Actions, s.startChildAction(id, c))
		}
	}
	for id, e := range s.ExternalSignals {
		o.Actions = append(o.Actions, Action{Kind: SignalExternal, InitiatedEventID: id, External: e})
	}
	for id, e := range s.ExternalCancels {
		o.Actions = append(o.Actions, Action{Kind: CancelExternal, InitiatedEventID: id, External: e})
	}
	s.recoverNexus(&o)
	return o
}
