package execution

import (
	"fmt"
	"sort"
	"time"

	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Nexus operations: a ScheduleNexusOperation command records
// NexusOperationScheduled and queues a Nexus task on the task queue of the
// endpoint's worker target. That worker's answer closes a synchronous
// operation (NexusOperationCompleted or NexusOperationFailed), starts an
// asynchronous one (NexusOperationStarted with the handler's operation
// token; nexus_async.go: its outcome arrives later through the completion
// callback), or, for a retryable handler error, sends the task again after
// a backoff until the schedule-to-close timeout (NexusOperationTimedOut).
// Start attempts are not persisted past the run record: after a restart
// every operation not yet started is sent again, which a handler must
// tolerate anyway (Temporal retries start requests with the same request
// id).

// NexusTaskTimeout is how long a worker may hold a Nexus task before the
// operation is retried (Temporal's frontend waits about as long for a
// handler's answer).
const NexusTaskTimeout = 10 * time.Second

// nexusMaxBackoff caps the retry backoff of a retryable handler error.
const nexusMaxBackoff = 10 * time.Second

// NexusOp is a pending Nexus operation.
type NexusOp struct {
	ScheduledEventID int64
	Attrs            *historypb.NexusOperationScheduledEventAttributes
	ScheduledTime    time.Time
	Attempt          int32
	// TaskHeld is set while a worker holds the start task.
	TaskHeld     bool
	TaskHeldTime time.Time
	// NextAttemptTime is set while the operation waits for a retry.
	NextAttemptTime time.Time
	LastFailure     *failurepb.Failure
	LastAttemptTime time.Time
	CancelRequested bool

	// Started: the handler answered asynchronously (NexusOperationStarted);
	// the operation now waits for its completion callback.
	Started        bool
	StartedTime    time.Time
	OperationToken string

	// Cancellation of a started operation (nexus_async.go): once both
	// CancelRequested and Started hold, a cancel-operation task goes to the
	// handler, retried like a start until it is delivered or refused.
	CancelRequestedEventID int64
	CancelRequestedTime    time.Time
	CancelState            enumspb.NexusOperationCancellationState
	CancelAttempt          int32
	CancelTaskHeld         bool
	CancelTaskHeldTime     time.Time
	CancelNextAttemptTime  time.Time
	CancelLastFailure      *failurepb.Failure
	CancelLastAttemptTime  time.Time
}

// SetNexusEndpoints gives the state the endpoint ids of the endpoint names
// a workflow task's commands use; the engine looks them up in its registry
// before it completes the task (the state machine does no I/O).
func (s *State) SetNexusEndpoints(ids map[string]string) { s.nexusEndpoints = ids }

func (s *State) checkScheduleNexus(a *commandpb.ScheduleNexusOperationCommandAttributes) *CommandError {
	bad := enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_NEXUS_OPERATION_ATTRIBUTES
	switch {
	case a == nil:
		return cmdErr(bad, "ScheduleNexusOperationCommandAttributes is not set on ScheduleNexusOperationCommand.")
	case a.Endpoint == "":
		return cmdErr(bad, "Endpoint is not set on ScheduleNexusOperationCommand.")
	case a.Service == "":
		return cmdErr(bad, "Service is not set on ScheduleNexusOperationCommand.")
	case a.Operation == "":
		return cmdErr(bad, "Operation is not set on ScheduleNexusOperationCommand.")
	case a.ScheduleToCloseTimeout.AsDuration() < 0:
		return cmdErr(bad, "ScheduleToCloseTimeout must not be negative.")
	case a.ScheduleToStartTimeout.AsDuration() < 0:
		return cmdErr(bad, "ScheduleToStartTimeout must not be negative.")
	case a.StartToCloseTimeout.AsDuration() < 0:
		return cmdErr(bad, "StartToCloseTimeout must not be negative.")
	}
	if _, ok := s.nexusEndpoints[a.Endpoint]; !ok {
		return cmdErr(bad, "endpoint %q not found", a.Endpoint)
	}
	return nil
}

func (s *State) checkCancelNexus(a *commandpb.RequestCancelNexusOperationCommandAttributes, seen map[int64]bool) *CommandError {
	bad := enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_NEXUS_OPERATION_ATTRIBUTES
	if a == nil {
		return cmdErr(bad, "RequestCancelNexusOperationCommandAttributes is not set on RequestCancelNexusOperationCommand.")
	}
	op := s.NexusOps[a.ScheduledEventId]
	if op == nil && !seen[a.ScheduledEventId] && s.bufferedNexusClose(a.ScheduledEventId) {
		// It closed while this task ran: the request is recorded and has
		// nothing left to cancel, as in Temporal.
		seen[a.ScheduledEventId] = true
		return nil
	}
	if op == nil || op.CancelRequested || seen[a.ScheduledEventId] {
		return cmdErr(bad, "requested cancelation for a non-existing or already canceled operation with scheduled event ID of %d", a.ScheduledEventId)
	}
	seen[a.ScheduledEventId] = true
	return nil
}

// scheduleNexus records NexusOperationScheduled and queues the first task.
func (c *cmdCtx) scheduleNexus(a *commandpb.ScheduleNexusOperationCommandAttributes) {
	s := c.s
	s2c := a.ScheduleToCloseTimeout.AsDuration()
	if run := s.Start.GetWorkflowRunTimeout().AsDuration(); run > 0 && (s2c <= 0 || s2c > run) {
		s2c = run
	}
	// The secondary timeouts never exceed the schedule-to-close one.
	s2s, start2c := a.ScheduleToStartTimeout, a.StartToCloseTimeout
	if s2c > 0 && s2s.AsDuration() > s2c {
		s2s = durationpb.New(s2c)
	}
	if s2c > 0 && start2c.AsDuration() > s2c {
		start2c = durationpb.New(s2c)
	}
	reqID := fmt.Sprintf("%s-%d", s.RunID, s.NextEventID)
	ev := c.add(func(ev *historypb.HistoryEvent) {
		ev.Attributes = &historypb.HistoryEvent_NexusOperationScheduledEventAttributes{NexusOperationScheduledEventAttributes: &historypb.NexusOperationScheduledEventAttributes{
			Endpoint: a.Endpoint, EndpointId: s.nexusEndpoints[a.Endpoint], Service: a.Service, Operation: a.Operation,
			Input: a.Input, ScheduleToCloseTimeout: durationpb.New(s2c), NexusHeader: a.NexusHeader,
			WorkflowTaskCompletedEventId: c.wftCompleted, RequestId: reqID,
			ScheduleToStartTimeout: s2s, StartToCloseTimeout: start2c,
		}}
	})
	s.out.Tasks = append(s.out.Tasks, Task{Kind: NexusTaskKind, Queue: s.nexusEndpoints[a.Endpoint], ScheduledEventID: ev.EventId, Attempt: 1})
}

// cancelNexus handles RequestCancelNexusOperation. As in Temporal, the
// request is recorded and sent to the handler only once the operation has
// started asynchronously: an operation not started yet (its start request
// may be in a handler's hands, or backing off) goes on, and a cancel
// request is sent if it starts; a synchronous answer simply closes it.
func (c *cmdCtx) cancelNexus(scheduledID int64) {
	s := c.s
	c.add(func(ev *historypb.HistoryEvent) {
		ev.Attributes = &historypb.HistoryEvent_NexusOperationCancelRequestedEventAttributes{NexusOperationCancelRequestedEventAttributes: &historypb.NexusOperationCancelRequestedEventAttributes{
			ScheduledEventId: scheduledID, WorkflowTaskCompletedEventId: c.wftCompleted,
		}}
	})
	if op := s.NexusOps[scheduledID]; op != nil {
		s.scheduleNexusCancel(op)
	}
}

// applyNexus applies a Nexus operation event (live and on replay).
func (s *State) applyNexus(ev *historypb.HistoryEvent) bool {
	switch a := ev.Attributes.(type) {
	case *historypb.HistoryEvent_NexusOperationScheduledEventAttributes:
		if s.NexusOps == nil {
			s.NexusOps = map[int64]*NexusOp{}
		}
		s.NexusOps[ev.EventId] = &NexusOp{ScheduledEventID: ev.EventId, Attrs: a.NexusOperationScheduledEventAttributes,
			ScheduledTime: ev.EventTime.AsTime(), Attempt: 1}
	case *historypb.HistoryEvent_NexusOperationCancelRequestedEventAttributes:
		if op := s.NexusOps[a.NexusOperationCancelRequestedEventAttributes.ScheduledEventId]; op != nil {
			op.CancelRequested, op.CancelRequestedEventID = true, ev.EventId
			op.CancelRequestedTime = ev.EventTime.AsTime()
			op.markCancelScheduled()
		}
	case *historypb.HistoryEvent_NexusOperationStartedEventAttributes:
		s.applyNexusStarted(ev, a.NexusOperationStartedEventAttributes)
	case *historypb.HistoryEvent_NexusOperationCancelRequestCompletedEventAttributes:
		if op := s.NexusOps[a.NexusOperationCancelRequestCompletedEventAttributes.ScheduledEventId]; op != nil {
			op.CancelState = enumspb.NEXUS_OPERATION_CANCELLATION_STATE_SUCCEEDED
		}
	case *historypb.HistoryEvent_NexusOperationCancelRequestFailedEventAttributes:
		if op := s.NexusOps[a.NexusOperationCancelRequestFailedEventAttributes.ScheduledEventId]; op != nil {
			op.CancelState = enumspb.NEXUS_OPERATION_CANCELLATION_STATE_FAILED
			op.CancelLastFailure = a.NexusOperationCancelRequestFailedEventAttributes.Failure
		}
	case *historypb.HistoryEvent_NexusOperationCompletedEventAttributes:
		delete(s.NexusOps, a.NexusOperationCompletedEventAttributes.ScheduledEventId)
	case *historypb.HistoryEvent_NexusOperationFailedEventAttributes:
		delete(s.NexusOps, a.NexusOperationFailedEventAttributes.ScheduledEventId)
	case *historypb.HistoryEvent_NexusOperationTimedOutEventAttributes:
		delete(s.NexusOps, a.NexusOperationTimedOutEventAttributes.ScheduledEventId)
	case *historypb.HistoryEvent_NexusOperationCanceledEventAttributes:
		delete(s.NexusOps, a.NexusOperationCanceledEventAttributes.ScheduledEventId)
	default:
		return false
	}
	return true
}

// nexusFailure wraps cause in the NexusOperationFailureInfo failure that
// Temporal records for an operation that did not succeed.
func (s *State) nexusFailure(op *NexusOp, msg string, cause *failurepb.Failure) *failurepb.Failure {
	return &failurepb.Failure{
		Message: msg,
		FailureInfo: &failurepb.Failure_NexusOperationExecutionFailureInfo{NexusOperationExecutionFailureInfo: &failurepb.NexusOperationFailureInfo{
			ScheduledEventId: op.ScheduledEventID, Endpoint: op.Attrs.Endpoint, Service: op.Attrs.Service, Operation: op.Attrs.Operation,
			OperationToken: op.OperationToken, OperationId: op.OperationToken,
		}},
		Cause: cause,
	}
}

// StartNexusTask records that a worker polled a Nexus task.
func (s *State) StartNexusTask(now time.Time, scheduledID int64, attempt int32) (*NexusOp, error) {
	op := s.NexusOps[scheduledID]
	if !s.Running() || op == nil || op.TaskHeld || op.Started || op.Attempt != attempt || !op.NextAttemptTime.IsZero() {
		return nil, ErrStaleTask
	}
	op.TaskHeld, op.TaskHeldTime = true, now
	return op, nil
}

func (s *State) pendingNexus(scheduledID int64, attempt int32) (*NexusOp, error) {
	op := s.NexusOps[scheduledID]
	if !s.Running() || op == nil || !op.TaskHeld || op.Started || op.Attempt != attempt {
		return nil, ErrStaleTask
	}
	return op, nil
}

// CompleteNexusOperation records a synchronous success (with the
// handler's links, as Temporal records them on the completed event).
func (s *State) CompleteNexusOperation(now time.Time, scheduledID int64, attempt int32, result *commonpb.Payload, links ...*commonpb.Link) error {
	op, err := s.pendingNexus(scheduledID, attempt)
	if err != nil {
		return err
	}
	s.addEvent(now, true, func(ev *historypb.HistoryEvent) {
		ev.Attributes = &historypb.HistoryEvent_NexusOperationCompletedEventAttributes{NexusOperationCompletedEventAttributes: &historypb.NexusOperationCompletedEventAttributes{
			ScheduledEventId: scheduledID, Result: result, RequestId: op.Attrs.RequestId,
		}}
		ev.Links = links
	})
	s.needWFT(now)
	return nil
}

// FailNexusOperation records that the operation failed for good (an
// operation error or a non-retryable handler error); cause is the
// handler's failure.
func (s *State) FailNexusOperation(now time.Time, scheduledID int64, attempt int32, cause *failurepb.Failure) error {
	op, err := s.pendingNexus(scheduledID, attempt)
	if err != nil {
		return err
	}
	s.failNexus(now, op, cause)
	return nil
}

func (s *State) failNexus(now time.Time, op *NexusOp, cause *failurepb.Failure) {
	s.addEvent(now, true, func(ev *historypb.HistoryEvent) {
		ev.Attributes = &historypb.HistoryEvent_NexusOperationFailedEventAttributes{NexusOperationFailedEventAttributes: &historypb.NexusOperationFailedEventAttributes{
			ScheduledEventId: op.ScheduledEventID, RequestId: op.Attrs.RequestId,
			Failure: s.nexusFailure(op, "nexus operation completed unsuccessfully", cause),
		}}
	})
	s.needWFT(now)
}

// RetryNexusOperation records a retryable handler error: the task is sent
// again after a backoff (doubling from 1 s, at most 10 s), until the
// schedule-to-close timeout ends the operation.
func (s *State) RetryNexusOperation(now time.Time, scheduledID int64, attempt int32, f *failurepb.Failure) error {
	op, err := s.pendingNexus(scheduledID, attempt)
	if err != nil {
		return err
	}
	s.retryNexus(now, op, f)
	return nil
}

func (s *State) retryNexus(now time.Time, op *NexusOp, f *failurepb.Failure) {
	backoff := time.Second << min(op.Attempt-1, 4)
	op.TaskHeld = false
	op.LastFailure, op.LastAttemptTime = f, now
	op.Attempt++
	s.out.RecordChanged = true // the attempt lives in the run record only
	op.NextAttemptTime = now.Add(min(backoff, nexusMaxBackoff))
}

// deadline is the operation's earliest timeout and its type: schedule to
// close; schedule to start until it starts (or completes synchronously);
// start to close once it started asynchronously (Temporal 1.31).
func (op *NexusOp) deadline() (time.Time, enumspb.TimeoutType) {
	var at time.Time
	typ := enumspb.TIMEOUT_TYPE_UNSPECIFIED
	consider := func(t time.Time, tt enumspb.TimeoutType) {
		if at.IsZero() || t.Before(at) {
			at, typ = t, tt
		}
	}
	if d := op.Attrs.ScheduleToCloseTimeout.AsDuration(); d > 0 {
		consider(op.ScheduledTime.Add(d), enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE)
	}
	if d := op.Attrs.GetScheduleToStartTimeout().AsDuration(); d > 0 && !op.Started {
		consider(op.ScheduledTime.Add(d), enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START)
	}
	if d := op.Attrs.GetStartToCloseTimeout().AsDuration(); d > 0 && op.Started {
		consider(op.StartedTime.Add(d), enumspb.TIMEOUT_TYPE_START_TO_CLOSE)
	}
	return at, typ
}

// nexusDeadlines adds the pending operations' deadlines to min.
func (s *State) nexusDeadlines(min func(time.Time)) {
	for _, op := range s.NexusOps {
		d, _ := op.deadline()
		min(d)
		min(op.NextAttemptTime)
		if op.TaskHeld {
			min(op.TaskHeldTime.Add(NexusTaskTimeout))
		}
		op.cancelDeadlines(min)
	}
}

// tickNexus fires due Nexus deadlines: schedule-to-close timeouts, retry
// backoffs, and tasks a worker held too long (retried).
func (s *State) tickNexus(now time.Time) {
	ids := make([]int64, 0, len(s.NexusOps))
	for id := range s.NexusOps {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		op := s.NexusOps[id]
		if d, typ := op.deadline(); !d.IsZero() && !now.Before(d) {
			s.addEvent(now, true, func(ev *historypb.HistoryEvent) {
				ev.Attributes = &historypb.HistoryEvent_NexusOperationTimedOutEventAttributes{NexusOperationTimedOutEventAttributes: &historypb.NexusOperationTimedOutEventAttributes{
					ScheduledEventId: id, RequestId: op.Attrs.RequestId,
					Failure: s.nexusFailure(op, "nexus operation completed unsuccessfully", &failurepb.Failure{
						Message: "operation timed out",
						FailureInfo: &failurepb.Failure_TimeoutFailureInfo{TimeoutFailureInfo: &failurepb.TimeoutFailureInfo{
							TimeoutType: typ,
						}},
					}),
				}}
			})
			s.needWFT(now)
			continue
		}
		s.tickNexusCancel(now, op)
		if op.TaskHeld && !now.Before(op.TaskHeldTime.Add(NexusTaskTimeout)) {
			s.retryNexus(now, op, &failurepb.Failure{Message: "the Nexus handler did not answer in time"})
		}
		if !op.NextAttemptTime.IsZero() && !now.Before(op.NextAttemptTime) {
			op.NextAttemptTime = time.Time{}
			s.out.Tasks = append(s.out.Tasks, Task{Kind: NexusTaskKind, Queue: op.Attrs.EndpointId, ScheduledEventID: id, Attempt: op.Attempt})
		}
	}
}

// recoverNexus queues a task for every pending operation not waiting for
// a retry (started ones too: who held the task is not persisted).
func (s *State) recoverNexus(o *Outbox) {
	for id, op := range s.NexusOps {
		op.TaskHeld, op.CancelTaskHeld = false, false
		if op.Started {
			s.recoverStartedNexus(o, op)
			continue
		}
		if op.NextAttemptTime.IsZero() {
			o.Tasks = append(o.Tasks, Task{Kind: NexusTaskKind, Queue: op.Attrs.EndpointId, ScheduledEventID: id, Attempt: op.Attempt})
		}
	}
}

// PendingNexusOperations reports the pending operations, in scheduled
// order, as Describe shows them; the run record keeps their attempt state.
func (s *State) PendingNexusOperations() []*workflowpb.PendingNexusOperationInfo {
	if len(s.NexusOps) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(s.NexusOps))
	for id := range s.NexusOps {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	out := make([]*workflowpb.PendingNexusOperationInfo, 0, len(ids))
	for _, id := range ids {
		op := s.NexusOps[id]
		state := enumspb.PENDING_NEXUS_OPERATION_STATE_SCHEDULED
		switch {
		case op.Started:
			state = enumspb.PENDING_NEXUS_OPERATION_STATE_STARTED
		case !op.NextAttemptTime.IsZero():
			state = enumspb.PENDING_NEXUS_OPERATION_STATE_BACKING_OFF
		}
		out = append(out, &workflowpb.PendingNexusOperationInfo{
			Endpoint: op.Attrs.Endpoint, Service: op.Attrs.Service, Operation: op.Attrs.Operation,
			ScheduleToCloseTimeout: op.Attrs.ScheduleToCloseTimeout, ScheduledTime: ts(op.ScheduledTime),
			State: state, Attempt: op.Attempt, LastAttemptCompleteTime: ts(op.LastAttemptTime),
			LastAttemptFailure: op.LastFailure, NextAttemptScheduleTime: ts(op.NextAttemptTime),
			ScheduledEventId: id, OperationToken: op.OperationToken, OperationId: op.OperationToken,
			CancellationInfo:       op.cancellationInfo(),
			ScheduleToStartTimeout: op.Attrs.ScheduleToStartTimeout, StartToCloseTimeout: op.Attrs.StartToCloseTimeout,
		})
	}
	return out
}

// restoreNexus overlays the recorded attempt state on the replayed
// operations.
func (s *State) restoreNexus(infos []*workflowpb.PendingNexusOperationInfo) {
	for _, p := range infos {
		op := s.NexusOps[p.ScheduledEventId]
		if op == nil {
			continue
		}
		op.Attempt = p.Attempt
		op.LastFailure = p.LastAttemptFailure
		if p.LastAttemptCompleteTime != nil {
			op.LastAttemptTime = p.LastAttemptCompleteTime.AsTime()
		}
		if p.NextAttemptScheduleTime != nil {
			op.NextAttemptTime = p.NextAttemptScheduleTime.AsTime()
		}
		op.restoreCancel(p.CancellationInfo)
	}
}

// NexusEndpointGone fails a queued operation whose endpoint was deleted
// after it was scheduled: its task has nowhere to go (Temporal fails the
// operation the same way, as a non-retryable error).
func (s *State) NexusEndpointGone(now time.Time, scheduledID int64, attempt int32) error {
	op := s.NexusOps[scheduledID]
	if !s.Running() || op == nil || op.TaskHeld || op.Started || op.Attempt != attempt {
		return ErrStaleTask
	}
	s.failNexus(now, op, &failurepb.Failure{
		Message: fmt.Sprintf("endpoint %q (id %s) is not registered", op.Attrs.Endpoint, op.Attrs.EndpointId),
		FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{
			Type: "EndpointNotFound", NonRetryable: true,
		}},
	})
	return nil
}
