package execution

import (
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/types/known/durationpb"
)

// NewRunID returns a fresh run id; the engine sets it (ids are random, so
// the pure state machine takes them as input).
type NewRunID func() string

// Terminate closes the run at once (TerminateWorkflowExecution, parent
// close policy). A running workflow task is failed first so the history
// stays well formed.
func (s *State) Terminate(now time.Time, reason string, details *commonpb.Payloads, identity string) error {
	if !s.Running() {
		return ErrClosed
	}
	s.forceCloseWFT(now)
	s.addEvent(now, false, func(ev *historypb.HistoryEvent) {
		ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionTerminatedEventAttributes{WorkflowExecutionTerminatedEventAttributes: &historypb.WorkflowExecutionTerminatedEventAttributes{
			Reason: reason, Details: details, Identity: identity,
		}}
	})
	s.onClosed(true)
	return nil
}

// forceCloseWFT fails a started workflow task because the run is being
// closed from outside, and flushes buffered events into history.
func (s *State) forceCloseWFT(now time.Time) {
	if len(s.spec) > 0 {
		s.discardSpec() // a speculative or transient task leaves no trace
	} else if s.WFTStarted() {
		w := s.WFT
		s.addEvent(now, false, func(ev *historypb.HistoryEvent) {
			ev.Attributes = &historypb.HistoryEvent_WorkflowTaskFailedEventAttributes{WorkflowTaskFailedEventAttributes: &historypb.WorkflowTaskFailedEventAttributes{
				ScheduledEventId: w.ScheduledEventID,
				StartedEventId:   w.StartedEventID,
				Cause:            enumspb.WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND,
			}}
		})
	}
	s.flushBuffered()
}

// timeoutWorkflow closes the run because its run or execution timeout
// passed; a retry policy may start a new run.
func (s *State) timeoutWorkflow(now time.Time, newRunID NewRunID, mayRetry bool) {
	s.forceCloseWFT(now)
	f := &failurepb.Failure{Message: "workflow timed out", FailureInfo: &failurepb.Failure_TimeoutFailureInfo{TimeoutFailureInfo: &failurepb.TimeoutFailureInfo{TimeoutType: enumspb.TIMEOUT_TYPE_START_TO_CLOSE}}}
	delay, state := time.Duration(0), enumspb.RETRY_STATE_TIMEOUT
	if mayRetry {
		delay, state = s.workflowRetry(now, f)
	}
	var next string
	cronRun := false
	if state == enumspb.RETRY_STATE_IN_PROGRESS {
		next = newRunID()
	} else if mayRetry {
		if next = s.cronNext(newRunID); next != "" {
			cronRun = true
		}
	}
	s.addEvent(now, false, func(ev *historypb.HistoryEvent) {
		ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionTimedOutEventAttributes{WorkflowExecutionTimedOutEventAttributes: &historypb.WorkflowExecutionTimedOutEventAttributes{
			RetryState: state, NewExecutionRunId: next,
		}}
	})
	switch {
	case cronRun:
		s.startCron(now, next, nil, f)
	case next != "":
		s.startRetry(now, next, delay, f)
	}
	s.onClosed(next == "")
}

// workflowRetry applies the workflow's retry policy, if any, to a failure.
// Retries never outlive the workflow execution timeout.
func (s *State) workflowRetry(now time.Time, f *failurepb.Failure) (time.Duration, enumspb.RetryState) {
	p := s.Start.GetRetryPolicy()
	if p == nil {
		return 0, enumspb.RETRY_STATE_RETRY_POLICY_NOT_SET
	}
	var exp time.Time
	if t := s.Start.GetWorkflowExecutionExpirationTime(); t != nil && !t.AsTime().IsZero() && t.AsTime().Unix() > 0 {
		exp = t.AsTime()
	}
	return nextRetry(p, s.Start.GetAttempt(), f, now, exp)
}

// startRetry starts the next attempt of this workflow as a new run.
func (s *State) startRetry(now time.Time, runID string, delay time.Duration, f *failurepb.Failure) {
	attrs := s.rerunAttrs(enumspb.CONTINUE_AS_NEW_INITIATOR_RETRY, delay, f)
	attrs.Attempt = s.Start.GetAttempt() + 1
	s.newRun(now, runID, attrs)
}

// rerunAttrs starts a run that repeats this one (a retry or the next cron
// run): same input, header, memo and search attributes, after a backoff.
func (s *State) rerunAttrs(initiator enumspb.ContinueAsNewInitiator, backoff time.Duration, f *failurepb.Failure) *historypb.WorkflowExecutionStartedEventAttributes {
	attrs := s.successorAttrs()
	attrs.Initiator = initiator
	attrs.ContinuedFailure = f
	attrs.FirstWorkflowTaskBackoff = durationpb.New(backoff)
	attrs.Input = s.Start.Input
	attrs.Header = s.Start.Header
	attrs.Memo = s.Memo
	attrs.SearchAttributes = s.Search
	s.inheritVersioning(attrs, enumspb.CONTINUE_AS_NEW_VERSIONING_BEHAVIOR_UNSPECIFIED)
	return attrs
}

// successorAttrs copies what every following run (retry or
// continue-as-new) keeps from this one.
func (s *State) successorAttrs() *historypb.WorkflowExecutionStartedEventAttributes {
	st := s.Start
	attrs := &historypb.WorkflowExecutionStartedEventAttributes{
		WorkflowType:                    st.WorkflowType,
		TaskQueue:                       st.TaskQueue,
		WorkflowExecutionTimeout:        st.WorkflowExecutionTimeout,
		WorkflowRunTimeout:              st.WorkflowRunTimeout,
		WorkflowTaskTimeout:             st.WorkflowTaskTimeout,
		ParentWorkflowNamespace:         st.ParentWorkflowNamespace,
		ParentWorkflowNamespaceId:       st.ParentWorkflowNamespaceId,
		ParentWorkflowExecution:         st.ParentWorkflowExecution,
		ParentInitiatedEventId:          st.ParentInitiatedEventId,
		RootWorkflowExecution:           st.RootWorkflowExecution,
		ContinuedExecutionRunId:         s.RunID,
		OriginalExecutionRunId:          st.OriginalExecutionRunId,
		FirstExecutionRunId:             st.FirstExecutionRunId,
		RetryPolicy:                     st.RetryPolicy,
		Attempt:                         1,
		WorkflowExecutionExpirationTime: st.WorkflowExecutionExpirationTime,
		Identity:                        st.Identity,
		WorkflowId:                      s.WorkflowID,
		Priority:                        s.Priority(),
		CronSchedule:                    st.CronSchedule,
		PrevAutoResetPoints:             s.AutoResetPoints(),
		CompletionCallbacks:             s.CompletionCallbacks(), // as in Temporal: the run that closes for good calls them
	}
	attrs.TimeSkippingConfig, attrs.TimeSkippingStatePropagation = s.NextRunTimeSkipping()
	return attrs
}

func (s *State) newRun(now time.Time, runID string, attrs *historypb.WorkflowExecutionStartedEventAttributes) {
	attrs.OriginalExecutionRunId = runID // as in Temporal: each run's own id
	n := New(s.Namespace, s.WorkflowID, runID)
	n.lim = s.lim
	// The new run's clock starts where this one's is: its start adds the
	// skipped time it inherits to the wall time.
	n.StartWorkflow(s.WallTime(now), attrs, "")
	s.out.NewRun = n
}

// onClosed runs after a close event (and after the new run, if any, was
// created): updates not yet accepted move to the new run or are aborted,
// children get the parent close policy and, when the chain of runs ends
// here, the parent is notified.
func (s *State) onClosed(final bool) {
	if !s.completing {
		s.closeUpdates()
	}
	s.WFT = nil
	if len(s.Children) > 0 {
		var kids []*Child
		for _, c := range s.Children {
			kids = append(kids, c)
		}
		s.out.Actions = append(s.out.Actions, Action{Kind: ApplyParentClose, Children: kids})
	}
	if final && s.Start.GetParentWorkflowExecution() != nil {
		s.out.Actions = append(s.out.Actions, Action{Kind: NotifyParent})
	}
	s.nexusCallbacksOnClose(final)
}

// HasParent reports whether the run is a child workflow.
func (s *State) HasParent() bool { return s.Start.GetParentWorkflowExecution() != nil }

// FinalClose reports whether the run closed without a successor run (a
// continue-as-new or retry): only then is the parent told.
func (s *State) FinalClose() bool {
	if s.Running() || s.CloseEvent == nil {
		return false
	}
	switch a := s.CloseEvent.Attributes.(type) {
	case *historypb.HistoryEvent_WorkflowExecutionContinuedAsNewEventAttributes:
		return false
	case *historypb.HistoryEvent_WorkflowExecutionFailedEventAttributes:
		return a.WorkflowExecutionFailedEventAttributes.NewExecutionRunId == ""
	case *historypb.HistoryEvent_WorkflowExecutionTimedOutEventAttributes:
		return a.WorkflowExecutionTimedOutEventAttributes.NewExecutionRunId == ""
	case *historypb.HistoryEvent_WorkflowExecutionCompletedEventAttributes:
		return a.WorkflowExecutionCompletedEventAttributes.NewExecutionRunId == ""
	}
	return true
}

// RequestCancel records a cancellation request from a client or another
// workflow; the workflow code decides what to do with it.
func (s *State) RequestCancel(now time.Time, cause, identity string, external *commonpb.WorkflowExecution, externalInitiatedID int64) error {
	if !s.Running() {
		return ErrClosed
	}
	if s.CancelRequested {
		return nil // idempotent, as in Temporal
	}
	s.addEvent(now, true, func(ev *historypb.HistoryEvent) {
		ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionCancelRequestedEventAttributes{WorkflowExecutionCancelRequestedEventAttributes: &historypb.WorkflowExecutionCancelRequestedEventAttributes{
			Cause: cause, Identity: identity, ExternalWorkflowExecution: external, ExternalInitiatedEventId: externalInitiatedID,
		}}
	})
	s.CancelRequested = true
	s.needWFT(now)
	return nil
}

// Signal records a signal.
func (s *State) Signal(now time.Time, name string, input *commonpb.Payloads, header *commonpb.Header, identity, requestID string, external *commonpb.WorkflowExecution) error {
	if !s.Running() {
		return ErrClosed
	}
	if requestID != "" && s.signalRequests[requestID] {
		return nil // duplicate delivery of the same signal request
	}
	s.addEvent(now, true, func(ev *historypb.HistoryEvent) {
		ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionSignaledEventAttributes{WorkflowExecutionSignaledEventAttributes: &historypb.WorkflowExecutionSignaledEventAttributes{
			SignalName: name, Input: input, Header: header, Identity: identity, RequestId: requestID, ExternalWorkflowExecution: external,
		}}
	})
	s.needWFT(now)
	return nil
}

// needWFT schedules a workflow task for a new event unless one is pending
// (a running task is followed by a new one when it ends, because of the
// buffered event) or the first task still waits for its backoff.
func (s *State) needWFT(now time.Time) {
	if s.WFT == nil && s.firstTaskScheduled {
		s.scheduleWFT(now)
	}
}
