package execution

import (
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/proto"
)

// apply changes the state by one history event that has an id. It is the
// only place where history shapes state, so live operations and Replay
// cannot disagree.
func (s *State) apply(ev *historypb.HistoryEvent) {
	s.mutate(ev)
	s.advance(ev)
}

// applyBuffered applies a buffered event (no id yet).
func (s *State) applyBuffered(ev *historypb.HistoryEvent) {
	s.bufferedBytes += proto.Size(ev)
	s.mutate(ev)
}

// afterFlush records ids of buffered events that later events refer to.
func (s *State) afterFlush(ev *historypb.HistoryEvent) {
	if a := ev.GetChildWorkflowExecutionStartedEventAttributes(); a != nil {
		if c := s.Children[a.InitiatedEventId]; c != nil {
			c.StartedEventID = ev.EventId
		}
	}
}

func (s *State) mutate(ev *historypb.HistoryEvent) {
	if s.applyNexus(ev) || s.mutatePause(ev) {
		return
	}
	t := ev.EventTime.AsTime()
	switch a := ev.Attributes.(type) {
	case *historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes:
		at := a.WorkflowExecutionStartedEventAttributes
		s.Start = at
		s.StartMetadata = ev.UserMetadata
		s.resetPoints = append([]*workflowpb.ResetPointInfo(nil), at.PrevAutoResetPoints.GetPoints()...)
		s.StartTime = t
		s.Memo = at.Memo
		s.Search = at.SearchAttributes
		s.Status = enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
		s.applyVersioningStarted(at)
		s.initTimeSkipping(at.TimeSkippingConfig, at.TimeSkippingStatePropagation, t)
	case *historypb.HistoryEvent_WorkflowTaskScheduledEventAttributes:
		at := a.WorkflowTaskScheduledEventAttributes
		s.firstTaskScheduled = true
		s.WFT = &WorkflowTask{
			ScheduledEventID: ev.EventId,
			Attempt:          at.Attempt,
			Queue:            at.TaskQueue.GetName(),
			Sticky:           at.TaskQueue.GetKind() == enumspb.TASK_QUEUE_KIND_STICKY,
			ScheduledTime:    t,
			Timeout:          at.StartToCloseTimeout.AsDuration(),
		}
	case *historypb.HistoryEvent_WorkflowTaskStartedEventAttributes:
		if s.WFT != nil {
			s.WFT.StartedEventID = ev.EventId
			s.WFT.StartedTime = t
			s.WFT.RequestID = a.WorkflowTaskStartedEventAttributes.RequestId
			s.WFT.Identity = a.WorkflowTaskStartedEventAttributes.Identity
		}
	case *historypb.HistoryEvent_WorkflowTaskCompletedEventAttributes:
		s.addResetPoint(ev)
		s.applyVersioningCompleted(a.WorkflowTaskCompletedEventAttributes)
		s.PrevStartedEventID = a.WorkflowTaskCompletedEventAttributes.StartedEventId
		s.WFT = nil
		s.failedWFTs = 0
		s.closeAttempted = false
	case *historypb.HistoryEvent_WorkflowTaskFailedEventAttributes:
		// As in Temporal, the attempt grows only for a failure on the normal
		// queue that is not an unhandled-command race; a sticky failure is
		// first retried on the normal queue as attempt 1.
		cause := a.WorkflowTaskFailedEventAttributes.Cause
		s.closeAttempted = cause == enumspb.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND
		if s.WFT != nil && !s.WFT.Sticky && cause != enumspb.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND &&
			cause != enumspb.WORKFLOW_TASK_FAILED_CAUSE_RESET_STICKY_TASK_QUEUE &&
			cause != enumspb.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_PAUSE_REQUESTED_BEFORE_TASK_STARTED {
			s.failedWFTs++
		}
		s.applyResetTaskFailed(ev, a.WorkflowTaskFailedEventAttributes)
		s.WFT = nil
	case *historypb.HistoryEvent_WorkflowTaskTimedOutEventAttributes:
		s.closeAttempted = false
		// A task no worker took in time (schedule-to-start) did not fail:
		// the next one is attempt 1 again.
		if s.WFT != nil && !s.WFT.Sticky && a.WorkflowTaskTimedOutEventAttributes.TimeoutType != enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START {
			s.failedWFTs++
		}
		s.WFT = nil

	case *historypb.HistoryEvent_ActivityTaskScheduledEventAttributes:
		at := a.ActivityTaskScheduledEventAttributes
		s.Activities[ev.EventId] = &Activity{
			ScheduledEventID:     ev.EventId,
			Attrs:                at,
			ScheduledTime:        t,
			AttemptScheduledTime: t,
			Attempt:              1,
		}
		s.activityIDs[at.ActivityId] = ev.EventId
	case *historypb.HistoryEvent_ActivityTaskStartedEventAttributes:
		at := a.ActivityTaskStartedEventAttributes
		if act := s.Activities[at.ScheduledEventId]; act != nil {
			act.Started = true
			act.StartedEventID = ev.EventId
			act.Attempt = at.Attempt
		}
	case *historypb.HistoryEvent_ActivityTaskCancelRequestedEventAttributes:
		if act := s.Activities[a.ActivityTaskCancelRequestedEventAttributes.ScheduledEventId]; act != nil {
			act.CancelRequested = true
			act.CancelEventID = ev.EventId
		}
	case *historypb.HistoryEvent_ActivityTaskCompletedEventAttributes:
		s.removeActivity(a.ActivityTaskCompletedEventAttributes.ScheduledEventId)
	case *historypb.HistoryEvent_ActivityTaskFailedEventAttributes:
		s.removeActivity(a.ActivityTaskFailedEventAttributes.ScheduledEventId)
	case *historypb.HistoryEvent_ActivityTaskTimedOutEventAttributes:
		s.removeActivity(a.ActivityTaskTimedOutEventAttributes.ScheduledEventId)
	case *historypb.HistoryEvent_ActivityTaskCanceledEventAttributes:
		s.removeActivity(a.ActivityTaskCanceledEventAttributes.ScheduledEventId)

	case *historypb.HistoryEvent_TimerStartedEventAttributes:
		at := a.TimerStartedEventAttributes
		s.Timers[at.TimerId] = &Timer{ID: at.TimerId, StartedEventID: ev.EventId, FireTime: t.Add(at.StartToFireTimeout.AsDuration())}
	case *historypb.HistoryEvent_TimerFiredEventAttributes:
		delete(s.Timers, a.TimerFiredEventAttributes.TimerId)
	case *historypb.HistoryEvent_TimerCanceledEventAttributes:
		delete(s.Timers, a.TimerCanceledEventAttributes.TimerId)

	case *historypb.HistoryEvent_WorkflowExecutionCancelRequestedEventAttributes:
		s.CancelRequested = true
	case *historypb.HistoryEvent_WorkflowExecutionSignaledEventAttributes:
		if id := a.WorkflowExecutionSignaledEventAttributes.RequestId; id != "" {
			s.signalRequests[id] = true
		}

	case *historypb.HistoryEvent_WorkflowExecutionCompletedEventAttributes:
		s.close(ev, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED)
	case *historypb.HistoryEvent_WorkflowExecutionFailedEventAttributes:
		s.close(ev, enumspb.WORKFLOW_EXECUTION_STATUS_FAILED)
	case *historypb.HistoryEvent_WorkflowExecutionTimedOutEventAttributes:
		s.close(ev, enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT)
	case *historypb.HistoryEvent_WorkflowExecutionCanceledEventAttributes:
		s.close(ev, enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED)
	case *historypb.HistoryEvent_WorkflowExecutionTerminatedEventAttributes:
		s.close(ev, enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED)
	case *historypb.HistoryEvent_WorkflowExecutionContinuedAsNewEventAttributes:
		s.close(ev, enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW)

	case *historypb.HistoryEvent_StartChildWorkflowExecutionInitiatedEventAttributes:
		s.Children[ev.EventId] = &Child{InitiatedEventID: ev.EventId, Attrs: a.StartChildWorkflowExecutionInitiatedEventAttributes, UserMetadata: ev.UserMetadata,
			InheritedPin: s.pinToInherit(), InheritedOverride: s.pinnedOverride()}
	case *historypb.HistoryEvent_StartChildWorkflowExecutionFailedEventAttributes:
		delete(s.Children, a.StartChildWorkflowExecutionFailedEventAttributes.InitiatedEventId)
	case *historypb.HistoryEvent_ChildWorkflowExecutionStartedEventAttributes:
		at := a.ChildWorkflowExecutionStartedEventAttributes
		if c := s.Children[at.InitiatedEventId]; c != nil {
			c.Started = true
			c.RunID = at.WorkflowExecution.GetRunId()
			c.StartedEventID = ev.EventId
		}
	case *historypb.HistoryEvent_ChildWorkflowExecutionCompletedEventAttributes:
		delete(s.Children, a.ChildWorkflowExecutionCompletedEventAttributes.InitiatedEventId)
	case *historypb.HistoryEvent_ChildWorkflowExecutionFailedEventAttributes:
		delete(s.Children, a.ChildWorkflowExecutionFailedEventAttributes.InitiatedEventId)
	case *historypb.HistoryEvent_ChildWorkflowExecutionCanceledEventAttributes:
		delete(s.Children, a.ChildWorkflowExecutionCanceledEventAttributes.InitiatedEventId)
	case *historypb.HistoryEvent_ChildWorkflowExecutionTimedOutEventAttributes:
		delete(s.Children, a.ChildWorkflowExecutionTimedOutEventAttributes.InitiatedEventId)
	case *historypb.HistoryEvent_ChildWorkflowExecutionTerminatedEventAttributes:
		delete(s.Children, a.ChildWorkflowExecutionTerminatedEventAttributes.InitiatedEventId)

	case *historypb.HistoryEvent_SignalExternalWorkflowExecutionInitiatedEventAttributes:
		s.ExternalSignals[ev.EventId] = &External{InitiatedEventID: ev.EventId, Signal: a.SignalExternalWorkflowExecutionInitiatedEventAttributes}
	case *historypb.HistoryEvent_SignalExternalWorkflowExecutionFailedEventAttributes:
		delete(s.ExternalSignals, a.SignalExternalWorkflowExecutionFailedEventAttributes.InitiatedEventId)
	case *historypb.HistoryEvent_ExternalWorkflowExecutionSignaledEventAttributes:
		delete(s.ExternalSignals, a.ExternalWorkflowExecutionSignaledEventAttributes.InitiatedEventId)
	case *historypb.HistoryEvent_RequestCancelExternalWorkflowExecutionInitiatedEventAttributes:
		s.ExternalCancels[ev.EventId] = &External{InitiatedEventID: ev.EventId, Cancel: a.RequestCancelExternalWorkflowExecutionInitiatedEventAttributes}
	case *historypb.HistoryEvent_RequestCancelExternalWorkflowExecutionFailedEventAttributes:
		delete(s.ExternalCancels, a.RequestCancelExternalWorkflowExecutionFailedEventAttributes.InitiatedEventId)
	case *historypb.HistoryEvent_ExternalWorkflowExecutionCancelRequestedEventAttributes:
		delete(s.ExternalCancels, a.ExternalWorkflowExecutionCancelRequestedEventAttributes.InitiatedEventId)

	case *historypb.HistoryEvent_UpsertWorkflowSearchAttributesEventAttributes:
		s.Search = mergeSearch(s.Search, a.UpsertWorkflowSearchAttributesEventAttributes.SearchAttributes)
	case *historypb.HistoryEvent_WorkflowPropertiesModifiedEventAttributes:
		s.Memo = mergeMemo(s.Memo, a.WorkflowPropertiesModifiedEventAttributes.UpsertedMemo)
	case *historypb.HistoryEvent_WorkflowExecutionOptionsUpdatedEventAttributes:
		s.applyOptionsUpdated(a.WorkflowExecutionOptionsUpdatedEventAttributes)
		if at := a.WorkflowExecutionOptionsUpdatedEventAttributes; at.TimeSkippingConfigUpdated {
			s.updateTimeSkipping(at.TimeSkippingConfig, t)
		}
	case *historypb.HistoryEvent_WorkflowExecutionTimeSkippingTransitionedEventAttributes:
		s.applyTimeSkippingTransitioned(ev, a.WorkflowExecutionTimeSkippingTransitionedEventAttributes)

	case *historypb.HistoryEvent_WorkflowExecutionUpdateAcceptedEventAttributes:
		at := a.WorkflowExecutionUpdateAcceptedEventAttributes
		u := s.Updates[at.ProtocolInstanceId]
		if u == nil {
			u = &Update{ID: at.ProtocolInstanceId}
			s.Updates[u.ID] = u
		}
		u.State = UpdateAccepted
		if at.AcceptedRequest != nil { // nil when an UpdateAdmitted event holds it
			u.Request = at.AcceptedRequest
		}
		u.AcceptedEventID = ev.EventId
	case *historypb.HistoryEvent_WorkflowExecutionUpdateAdmittedEventAttributes:
		s.applyUpdateAdmitted(a.WorkflowExecutionUpdateAdmittedEventAttributes)
	case *historypb.HistoryEvent_WorkflowExecutionUpdateCompletedEventAttributes:
		at := a.WorkflowExecutionUpdateCompletedEventAttributes
		id := at.Meta.GetUpdateId()
		u := s.Updates[id]
		if u == nil {
			u = &Update{ID: id}
			s.Updates[id] = u
		}
		u.State = UpdateCompleted
		u.Outcome = at.Outcome
	}
}

func (s *State) removeActivity(scheduledID int64) {
	if act := s.Activities[scheduledID]; act != nil {
		delete(s.activityIDs, act.Attrs.ActivityId)
		delete(s.Activities, scheduledID)
	}
}

func (s *State) close(ev *historypb.HistoryEvent, status enumspb.WorkflowExecutionStatus) {
	s.Status = status
	s.CloseTime = ev.EventTime.AsTime()
	s.CloseEvent = ev
	s.WFT = nil
}

// mergeSearch applies an upsert: attributes with an empty payload (the
// SDKs' way of unsetting) are removed.
func mergeSearch(cur, upd *commonpb.SearchAttributes) *commonpb.SearchAttributes {
	return &commonpb.SearchAttributes{IndexedFields: mergePayloads(cur.GetIndexedFields(), upd.GetIndexedFields())}
}

// mergeMemo applies a memo upsert the same way.
func mergeMemo(cur, upd *commonpb.Memo) *commonpb.Memo {
	return &commonpb.Memo{Fields: mergePayloads(cur.GetFields(), upd.GetFields())}
}

func mergePayloads(cur, upd map[string]*commonpb.Payload) map[string]*commonpb.Payload {
	out := make(map[string]*commonpb.Payload, len(cur)+len(upd))
	for k, v := range cur {
		out[k] = v
	}
	for k, v := range upd {
		if isNullPayload(v) {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

func isNullPayload(p *commonpb.Payload) bool {
	if p == nil || len(p.Data) == 0 {
		return true
	}
	return string(p.Metadata["encoding"]) == "binary/null" || string(p.Data) == "null"
}
