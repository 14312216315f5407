package execution

import (
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
)

// Asynchronous Nexus operations, as Temporal runs them. A handler that
// answers a start request with an operation token (typically after
// starting a workflow that carries the caller's completion callback)
// starts the operation: NexusOperationStarted records the token. The
// operation then waits for its completion callback (the handler
// workflow's close, delivered by the engine: CompleteNexusAsync), for its
// schedule-to-close or start-to-close timeout, or for a cancellation: a
// RequestCancelNexusOperation of a started operation sends a
// cancel-operation task to the handler, whose answer is recorded as
// NexusOperationCancelRequestCompleted or ...Failed (worker_may_ignore, as
// Temporal marks them); the operation itself ends only when the handler
// reports its outcome (NexusOperationCanceled when its workflow was
// canceled).

// Actions on other workflows that asynchronous Nexus operations need
// (numbered apart from the ActionKind list in state.go).
const (
	// DeliverNexusCallbacks: this run closed for good and has completion
	// callbacks (from its start, or attached since); the engine delivers
	// its outcome to each of them.
	DeliverNexusCallbacks ActionKind = 50
	// CheckNexusHandler: operation InitiatedEventID of this run started
	// asynchronously (or the run was recovered with it started); the
	// engine checks whether the handler workflow already closed, in case
	// the delivery of its callback was cut short (the server stopped
	// between the handler's close and the delivery).
	CheckNexusHandler ActionKind = 51
)

// NexusCancelTaskKind tasks carry a cancel-operation request to the worker
// target of the endpoint whose id is the task's Queue; Attempt is the
// cancel attempt.
const NexusCancelTaskKind TaskKind = 10

// NexusOutcome is how an asynchronous operation ended, as its completion
// callback reports it.
type NexusOutcome struct {
	// OperationToken and StartLinks identify the handler's operation; they
	// are used when the completion arrives before the start answer.
	OperationToken string
	StartLinks     []*commonpb.Link
	// A success has no Failure (Result may be nil: no value); otherwise
	// Failure is the cause, and Canceled says the handler canceled it.
	Result   *commonpb.Payload
	Failure  *failurepb.Failure
	Canceled bool
}

// applyNexusStarted applies NexusOperationStarted (live and on replay).
func (s *State) applyNexusStarted(ev *historypb.HistoryEvent, a *historypb.NexusOperationStartedEventAttributes) {
	op := s.NexusOps[a.ScheduledEventId]
	if op == nil {
		return
	}
	op.Started, op.StartedTime = true, ev.EventTime.AsTime()
	op.OperationToken = a.OperationToken
	if op.OperationToken == "" {
		op.OperationToken = a.OperationId
	}
	op.TaskHeld, op.NextAttemptTime = false, time.Time{}
	op.markCancelScheduled()
}

// StartNexusOperationAsync records a handler's asynchronous answer to the
// start task (scheduledID, attempt): NexusOperationStarted with its
// operation token and links (to the handler's workflow).
func (s *State) StartNexusOperationAsync(now time.Time, scheduledID int64, attempt int32, token string, links []*commonpb.Link) error {
	op, err := s.pendingNexus(scheduledID, attempt)
	if err != nil {
		return err
	}
	s.recordNexusStarted(now, op, token, links)
	s.needWFT(now)
	s.out.Actions = append(s.out.Actions, Action{Kind: CheckNexusHandler, InitiatedEventID: scheduledID})
	return nil
}

func (s *State) recordNexusStarted(now time.Time, op *NexusOp, token string, links []*commonpb.Link) {
	s.addEvent(now, true, func(ev *historypb.HistoryEvent) {
		ev.Attributes = &historypb.HistoryEvent_NexusOperationStartedEventAttributes{NexusOperationStartedEventAttributes: &historypb.NexusOperationStartedEventAttributes{
			ScheduledEventId: op.ScheduledEventID, OperationToken: token, OperationId: token, RequestId: op.Attrs.RequestId,
		}}
		ev.Links = links
	})
	// A cancellation requested before the start is sent now.
	if op.CancelState == enumspb.NEXUS_OPERATION_CANCELLATION_STATE_SCHEDULED {
		s.queueNexusCancel(op)
	}
}

// CompleteNexusAsync applies the completion callback of operation
// scheduledID, whose start request carried requestID. It is idempotent:
// an operation already closed (or a request id that does not match, as
// after a reset) is ErrStaleTask and changes nothing. A completion that
// arrives before the start answer records the start first, as Temporal
// does.
func (s *State) CompleteNexusAsync(now time.Time, scheduledID int64, requestID string, o NexusOutcome) error {
	op := s.NexusOps[scheduledID]
	if !s.Running() || op == nil || op.Attrs.RequestId != requestID {
		return ErrStaleTask
	}
	if !op.Started {
		s.recordNexusStarted(now, op, o.OperationToken, o.StartLinks)
	}
	s.addEvent(now, true, func(ev *historypb.HistoryEvent) {
		switch {
		case o.Failure != nil && o.Canceled:
			ev.Attributes = &historypb.HistoryEvent_NexusOperationCanceledEventAttributes{NexusOperationCanceledEventAttributes: &historypb.NexusOperationCanceledEventAttributes{
				ScheduledEventId: scheduledID, RequestId: requestID,
				Failure: s.nexusFailure(op, "nexus operation completed unsuccessfully", o.Failure),
			}}
		case o.Failure != nil:
			ev.Attributes = &historypb.HistoryEvent_NexusOperationFailedEventAttributes{NexusOperationFailedEventAttributes: &historypb.NexusOperationFailedEventAttributes{
				ScheduledEventId: scheduledID, RequestId: requestID,
				Failure: s.nexusFailure(op, "nexus operation completed unsuccessfully", o.Failure),
			}}
		default:
			ev.Attributes = &historypb.HistoryEvent_NexusOperationCompletedEventAttributes{NexusOperationCompletedEventAttributes: &historypb.NexusOperationCompletedEventAttributes{
				ScheduledEventId: scheduledID, Result: o.Result, RequestId: requestID,
			}}
		}
	})
	s.needWFT(now)
	return nil
}

// NexusOpStarted returns the started operation scheduledID (nil when it is
// not pending or not started).
func (s *State) NexusOpStarted(scheduledID int64) *NexusOp {
	if op := s.NexusOps[scheduledID]; op != nil && op.Started {
		return op
	}
	return nil
}

// scheduleNexusCancel is called when the cancel request is recorded: a
// started operation gets its cancel task now (applying the request made
// its cancellation SCHEDULED), others when they start.
func (s *State) scheduleNexusCancel(op *NexusOp) {
	if op.Started && op.CancelState == enumspb.NEXUS_OPERATION_CANCELLATION_STATE_SCHEDULED && !op.CancelTaskHeld {
		s.queueNexusCancel(op)
	}
}

// markCancelScheduled makes the cancellation of a started, cancel-requested
// operation SCHEDULED (on apply, in whichever order the two events came).
func (op *NexusOp) markCancelScheduled() {
	if op.Started && op.CancelRequested && op.CancelState == enumspb.NEXUS_OPERATION_CANCELLATION_STATE_UNSPECIFIED {
		op.CancelState = enumspb.NEXUS_OPERATION_CANCELLATION_STATE_SCHEDULED
		op.CancelAttempt = max(op.CancelAttempt, 1)
	}
}

func (s *State) queueNexusCancel(op *NexusOp) {
	s.out.Tasks = append(s.out.Tasks, Task{Kind: NexusCancelTaskKind, Queue: op.Attrs.EndpointId, ScheduledEventID: op.ScheduledEventID, Attempt: op.CancelAttempt})
}

func (op *NexusOp) cancelPending() bool {
	return op.Started && (op.CancelState == enumspb.NEXUS_OPERATION_CANCELLATION_STATE_SCHEDULED ||
		op.CancelState == enumspb.NEXUS_OPERATION_CANCELLATION_STATE_BACKING_OFF)
}

// StartNexusCancelTask records that a worker polled the cancel task.
func (s *State) StartNexusCancelTask(now time.Time, scheduledID int64, attempt int32) (*NexusOp, error) {
	op := s.NexusOps[scheduledID]
	if !s.Running() || op == nil || op.CancelState != enumspb.NEXUS_OPERATION_CANCELLATION_STATE_SCHEDULED ||
		op.CancelTaskHeld || op.CancelAttempt != attempt {
		return nil, ErrStaleTask
	}
	op.CancelTaskHeld, op.CancelTaskHeldTime = true, now
	return op, nil
}

func (s *State) heldNexusCancel(scheduledID int64, attempt int32) (*NexusOp, error) {
	op := s.NexusOps[scheduledID]
	if !s.Running() || op == nil || !op.CancelTaskHeld || op.CancelAttempt != attempt {
		return nil, ErrStaleTask
	}
	return op, nil
}

// NexusCancelDelivered records that the handler accepted the cancel
// request (NexusOperationCancelRequestCompleted). The operation stays
// open: the handler reports its outcome through the callback.
func (s *State) NexusCancelDelivered(now time.Time, scheduledID int64, attempt int32) error {
	op, err := s.heldNexusCancel(scheduledID, attempt)
	if err != nil {
		return err
	}
	op.CancelTaskHeld = false
	op.CancelLastAttemptTime = now
	s.addEvent(now, true, func(ev *historypb.HistoryEvent) {
		ev.Attributes = &historypb.HistoryEvent_NexusOperationCancelRequestCompletedEventAttributes{NexusOperationCancelRequestCompletedEventAttributes: &historypb.NexusOperationCancelRequestCompletedEventAttributes{
			ScheduledEventId: scheduledID, RequestedEventId: op.CancelRequestedEventID,
		}}
		ev.WorkerMayIgnore = true
	})
	s.needWFT(now)
	return nil
}

// NexusCancelFailed records a handler error for the cancel request: a
// retryable one sends it again after a backoff; otherwise the request
// failed for good (NexusOperationCancelRequestFailed) and the operation
// goes on.
func (s *State) NexusCancelFailed(now time.Time, scheduledID int64, attempt int32, f *failurepb.Failure, retryable bool) error {
	op, err := s.heldNexusCancel(scheduledID, attempt)
	if err != nil {
		return err
	}
	if retryable {
		s.retryNexusCancel(now, op, f)
		return nil
	}
	s.failNexusCancel(now, op, f)
	return nil
}

// NexusCancelEndpointGone fails a cancel request whose endpoint was
// deleted before it could be dispatched.
func (s *State) NexusCancelEndpointGone(now time.Time, scheduledID int64, attempt int32, f *failurepb.Failure) error {
	op := s.NexusOps[scheduledID]
	if !s.Running() || op == nil || op.CancelState != enumspb.NEXUS_OPERATION_CANCELLATION_STATE_SCHEDULED || op.CancelTaskHeld || op.CancelAttempt != attempt {
		return ErrStaleTask
	}
	s.failNexusCancel(now, op, f)
	return nil
}

func (s *State) failNexusCancel(now time.Time, op *NexusOp, f *failurepb.Failure) {
	op.CancelTaskHeld = false
	op.CancelLastAttemptTime = now
	s.addEvent(now, true, func(ev *historypb.HistoryEvent) {
		ev.Attributes = &historypb.HistoryEvent_NexusOperationCancelRequestFailedEventAttributes{NexusOperationCancelRequestFailedEventAttributes: &historypb.NexusOperationCancelRequestFailedEventAttributes{
			ScheduledEventId: op.ScheduledEventID, RequestedEventId: op.CancelRequestedEventID, Failure: f,
		}}
		ev.WorkerMayIgnore = true
	})
	s.needWFT(now)
}

func (s *State) retryNexusCancel(now time.Time, op *NexusOp, f *failurepb.Failure) {
	backoff := time.Second << min(op.CancelAttempt-1, 4)
	op.CancelTaskHeld = false
	op.CancelLastFailure, op.CancelLastAttemptTime = f, now
	op.CancelAttempt++
	s.out.RecordChanged = true // the attempt lives in the run record only
	op.CancelState = enumspb.NEXUS_OPERATION_CANCELLATION_STATE_BACKING_OFF
	op.CancelNextAttemptTime = now.Add(min(backoff, nexusMaxBackoff))
}

// cancelDeadlines adds the cancel task's deadlines to min.
func (op *NexusOp) cancelDeadlines(min func(time.Time)) {
	if !op.cancelPending() {
		return
	}
	if op.CancelTaskHeld {
		min(op.CancelTaskHeldTime.Add(NexusTaskTimeout))
	}
	if op.CancelState == enumspb.NEXUS_OPERATION_CANCELLATION_STATE_BACKING_OFF {
		min(op.CancelNextAttemptTime)
	}
}

// tickNexusCancel retries a cancel task held too long and sends one whose
// backoff passed.
func (s *State) tickNexusCancel(now time.Time, op *NexusOp) {
	if !op.cancelPending() {
		return
	}
	if op.CancelTaskHeld && !now.Before(op.CancelTaskHeldTime.Add(NexusTaskTimeout)) {
		s.retryNexusCancel(now, op, &failurepb.Failure{Message: "the Nexus handler did not answer the cancel request in time"})
	}
	if op.CancelState == enumspb.NEXUS_OPERATION_CANCELLATION_STATE_BACKING_OFF && !now.Before(op.CancelNextAttemptTime) {
		op.CancelState = enumspb.NEXUS_OPERATION_CANCELLATION_STATE_SCHEDULED
		op.CancelNextAttemptTime = time.Time{}
		s.queueNexusCancel(op)
	}
}

// recoverStartedNexus re-creates what a started operation still has to
// do after a reload: its cancel task, and a check of its handler (the
// callback may have been cut short by the restart).
func (s *State) recoverStartedNexus(o *Outbox, op *NexusOp) {
	if op.CancelState == enumspb.NEXUS_OPERATION_CANCELLATION_STATE_SCHEDULED {
		o.Tasks = append(o.Tasks, Task{Kind: NexusCancelTaskKind, Queue: op.Attrs.EndpointId, ScheduledEventID: op.ScheduledEventID, Attempt: op.CancelAttempt})
	}
	o.Actions = append(o.Actions, Action{Kind: CheckNexusHandler, InitiatedEventID: op.ScheduledEventID})
}

// cancellationInfo describes the cancel request for Describe and the run
// record; nil when none was made.
func (op *NexusOp) cancellationInfo() *workflowpb.NexusOperationCancellationInfo {
	if !op.CancelRequested {
		return nil
	}
	st := op.CancelState
	if st == enumspb.NEXUS_OPERATION_CANCELLATION_STATE_UNSPECIFIED {
		// Requested before the operation started: waits for the start.
		st = enumspb.NEXUS_OPERATION_CANCELLATION_STATE_SCHEDULED
	}
	return &workflowpb.NexusOperationCancellationInfo{
		RequestedTime: ts(op.CancelRequestedTime), State: st, Attempt: op.CancelAttempt,
		LastAttemptCompleteTime: ts(op.CancelLastAttemptTime), LastAttemptFailure: op.CancelLastFailure,
		NextAttemptScheduleTime: ts(op.CancelNextAttemptTime),
	}
}

// restoreCancel overlays the recorded cancel attempt state.
func (op *NexusOp) restoreCancel(c *workflowpb.NexusOperationCancellationInfo) {
	if c == nil || !op.Started {
		return
	}
	op.CancelAttempt = max(c.Attempt, 1)
	op.CancelLastFailure = c.LastAttemptFailure
	if c.LastAttemptCompleteTime != nil {
		op.CancelLastAttemptTime = c.LastAttemptCompleteTime.AsTime()
	}
	if op.CancelState == enumspb.NEXUS_OPERATION_CANCELLATION_STATE_SCHEDULED && c.State == enumspb.NEXUS_OPERATION_CANCELLATION_STATE_BACKING_OFF && c.NextAttemptScheduleTime != nil {
		op.CancelState = c.State
		op.CancelNextAttemptTime = c.NextAttemptScheduleTime.AsTime()
	}
}

// nexusCallbacksOnClose asks the engine to deliver this run's outcome to
// its completion callbacks when it closed for good.
func (s *State) nexusCallbacksOnClose(final bool) {
	if final && len(s.CompletionCallbacks()) > 0 {
		s.out.Actions = append(s.out.Actions, Action{Kind: DeliverNexusCallbacks})
	}
}

// AttachStartLinks puts links on the run's started event, written in the
// same step (StartWorkflowExecution's links, as Temporal records them).
func (s *State) AttachStartLinks(links []*commonpb.Link) {
	if len(links) == 0 {
		return
	}
	for _, ev := range s.out.Events {
		if ev.EventId == 1 && ev.GetWorkflowExecutionStartedEventAttributes() != nil {
			ev.Links = links
		}
	}
}

// nexusAttached are the completion callbacks later starts attached to a
// running run (on_conflict_options with USE_EXISTING), derived from its
// WorkflowExecutionOptionsUpdated events.
type nexusAttached struct {
	callbacks  []*commonpb.Callback
	requestIDs map[string]bool
}

// CompletionCallbacks are the run's completion callbacks: those of its
// start and those attached since.
func (s *State) CompletionCallbacks() []*commonpb.Callback {
	if len(s.attached.callbacks) == 0 {
		return s.Start.GetCompletionCallbacks()
	}
	return append(append([]*commonpb.Callback(nil), s.Start.GetCompletionCallbacks()...), s.attached.callbacks...)
}

// HasAttachedRequest reports whether a start with this request id already
// attached to the run (a retried start: answered with the run, nothing
// attached again).
func (s *State) HasAttachedRequest(requestID string) bool {
	return requestID != "" && s.attached.requestIDs[requestID]
}

// AttachToRunning records what a start that found this run running
// attaches to it (Temporal's on_conflict_options): its request id, its
// completion callbacks and its links, in a WorkflowExecutionOptionsUpdated
// event (buffered like a signal, worker_may_ignore).
func (s *State) AttachToRunning(now time.Time, requestID string, callbacks []*commonpb.Callback, links []*commonpb.Link, identity string) error {
	if !s.Running() {
		return ErrClosed
	}
	if s.HasAttachedRequest(requestID) || (requestID == "" && len(callbacks) == 0 && len(links) == 0) {
		return nil
	}
	s.addEvent(now, true, func(ev *historypb.HistoryEvent) {
		ev.WorkerMayIgnore = true
		ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionOptionsUpdatedEventAttributes{WorkflowExecutionOptionsUpdatedEventAttributes: &historypb.WorkflowExecutionOptionsUpdatedEventAttributes{
			AttachedRequestId: requestID, AttachedCompletionCallbacks: callbacks, Identity: identity,
		}}
		ev.Links = links
	})
	return nil
}

// applyAttached applies the attachment part of an options event; it
// reports whether the event was only an attachment.
func (s *State) applyAttached(a *historypb.WorkflowExecutionOptionsUpdatedEventAttributes) bool {
	if a.AttachedRequestId == "" && len(a.AttachedCompletionCallbacks) == 0 {
		return false
	}
	s.attached.callbacks = append(s.attached.callbacks, a.AttachedCompletionCallbacks...)
	if a.AttachedRequestId != "" {
		if s.attached.requestIDs == nil {
			s.attached.requestIDs = map[string]bool{}
		}
		s.attached.requestIDs[a.AttachedRequestId] = true
	}
	return a.Priority == nil && a.VersioningOverride == nil && !a.UnsetVersioningOverride
}

// bufferedNexusClose reports whether operation scheduledID closed while the
// current workflow task runs (its close event is still buffered).
func (s *State) bufferedNexusClose(scheduledID int64) bool {
	for _, ev := range s.Buffered {
		var id int64
		switch a := ev.Attributes.(type) {
		case *historypb.HistoryEvent_NexusOperationCompletedEventAttributes:
			id = a.NexusOperationCompletedEventAttributes.ScheduledEventId
		case *historypb.HistoryEvent_NexusOperationFailedEventAttributes:
			id = a.NexusOperationFailedEventAttributes.ScheduledEventId
		case *historypb.HistoryEvent_NexusOperationCanceledEventAttributes:
			id = a.NexusOperationCanceledEventAttributes.ScheduledEventId
		case *historypb.HistoryEvent_NexusOperationTimedOutEventAttributes:
			id = a.NexusOperationTimedOutEventAttributes.ScheduledEventId
		}
		if id == scheduledID {
			return true
		}
	}
	return false
}
