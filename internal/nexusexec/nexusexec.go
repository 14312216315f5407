// Package nexusexec is the pure state of one standalone Nexus operation
// (WorkflowService StartNexusOperationExecution and friends): a Nexus
// operation a client starts on an endpoint without a caller workflow.
//
// Like packages execution and activityexec it does no I/O and reads no
// clock: every change takes the time as an input, and the engine persists
// the state (Encode) before it acknowledges the change or dispatches the
// task it implies. The rules follow Temporal's standalone Nexus operations
// (chasm/lib/nexusoperation): the start request goes to the endpoint's
// handler, retried with backoff on retryable errors; a synchronous answer
// closes the operation, an asynchronous one (an operation token) starts it
// and its outcome arrives later through the completion callback; the
// schedule-to-close, schedule-to-start and start-to-close timeouts;
// cancellation (sent to the handler once the operation has started);
// termination; and the outcome a closed operation keeps.
package nexusexec

import (
	"errors"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
)

// ErrStale is returned when a task token (or a completion) names an
// attempt or request that is not the current one; the worker is told the
// task is not found.
var ErrStale = errors.New("nexusexec: stale Nexus task")

// TaskTimeout is how long a worker may hold a start or cancel task before
// the attempt counts as failed and is retried (the same as a workflow's
// Nexus operations: execution.NexusTaskTimeout).
const TaskTimeout = 10 * time.Second

// maxBackoff caps the retry backoff after a retryable handler error.
const maxBackoff = 10 * time.Second

// backoff is the wait before the attempt after attempt (1 s doubling, at
// most 10 s), as for a workflow's Nexus operations.
func backoff(attempt int32) time.Duration {
	return min(time.Second<<min(max(attempt-1, 0), 4), maxBackoff)
}

// Operation is one standalone Nexus operation execution (one run of an
// operation id).
type Operation struct {
	Namespace   string
	OperationID string
	RunID       string
	// EndpointID is the id of the endpoint Start.Endpoint named when the
	// operation was started; tasks go to its current target.
	EndpointID string
	// Start is the normalized start request (Normalize). It never changes.
	Start *workflowservice.StartNexusOperationExecutionRequest
	// RequestID is the server-made request id sent to the handler (the
	// handler's idempotency key), distinct from Start.RequestId.
	RequestID    string
	ScheduleTime time.Time

	// Status is RUNNING until the operation closes, then its outcome.
	Status enumspb.NexusOperationExecutionStatus
	// Attempt counts start requests sent to the handler.
	Attempt int32
	// TaskHeld is set while a worker holds the current start task.
	TaskHeld     bool
	TaskHeldTime time.Time
	// NextAttemptTime is set while a start waits for its retry.
	NextAttemptTime time.Time
	LastFailure     *failurepb.Failure
	LastAttemptTime time.Time

	// Started: the handler answered asynchronously with OperationToken;
	// the outcome now comes through the completion callback.
	Started        bool
	StartedTime    time.Time
	OperationToken string
	// Links are the handler's links (start and completion).
	Links []*commonpb.Link

	// Cancel is set once cancellation was requested.
	Cancel *Cancel

	TerminateRequestID string
	// AttachedRequestIDs are start request ids a USE_EXISTING start
	// attached (on_conflict_options.attach_request_id): a retry of such a
	// start is recognized as already applied.
	AttachedRequestIDs []string

	CloseTime time.Time
	Result    *commonpb.Payload
	Failure   *failurepb.Failure

	Transitions int64

	// queued and cancelQueued are set once the current start or cancel
	// task was handed to matching (memory only: after a restart it is
	// handed again).
	queued, cancelQueued bool
}

// Cancel is the state of a cancellation request. Until the operation has
// started (the handler gave a token), State is UNSPECIFIED: nothing can be
// sent yet, and a synchronous answer simply closes the operation.
type Cancel struct {
	RequestID     string
	Identity      string
	Reason        string
	RequestedTime time.Time

	State           enumspb.NexusOperationCancellationState
	Attempt         int32
	TaskHeld        bool
	TaskHeldTime    time.Time
	NextAttemptTime time.Time
	LastFailure     *failurepb.Failure
	LastAttemptTime time.Time
}

// New makes the operation a validated, normalized start request asks for,
// scheduled at now; requestID is the id its start requests to the handler
// carry.
func New(namespace, runID, endpointID, requestID string, req *workflowservice.StartNexusOperationExecutionRequest, now time.Time) *Operation {
	return &Operation{
		Namespace:    namespace,
		OperationID:  req.OperationId,
		RunID:        runID,
		EndpointID:   endpointID,
		Start:        req,
		RequestID:    requestID,
		ScheduleTime: now,
		Status:       enumspb.NEXUS_OPERATION_EXECUTION_STATUS_RUNNING,
		Attempt:      1,
		Transitions:  1,
	}
}

// Running reports whether the operation has not closed.
func (o *Operation) Running() bool {
	return o.Status == enumspb.NEXUS_OPERATION_EXECUTION_STATUS_RUNNING
}

// Task is a task to hand to the endpoint's queue: a start request, or a
// cancel request (Cancel), for the given attempt.
type Task struct {
	Cancel  bool
	Attempt int32
}

// TakeDispatch returns the tasks that should be handed to matching now
// and marks them handed.
func (o *Operation) TakeDispatch() []Task {
	if !o.Running() {
		return nil
	}
	var out []Task
	if !o.Started && !o.TaskHeld && !o.queued && o.NextAttemptTime.IsZero() {
		o.queued = true
		out = append(out, Task{Attempt: o.Attempt})
	}
	if c := o.Cancel; c != nil && o.Started && !o.cancelQueued && !c.TaskHeld && c.State == enumspb.NEXUS_OPERATION_CANCELLATION_STATE_SCHEDULED {
		o.cancelQueued = true
		out = append(out, Task{Cancel: true, Attempt: c.Attempt})
	}
	return out
}

// StartTask gives the start task of attempt to a worker that polled it.
func (o *Operation) StartTask(now time.Time, attempt int32) error {
	if !o.Running() || o.Started || o.TaskHeld || attempt != o.Attempt || !o.NextAttemptTime.IsZero() {
		return ErrStale
	}
	o.TaskHeld, o.TaskHeldTime = true, now
	o.queued = false
	return nil
}

// StartCancelTask gives the cancel task of attempt to a worker that
// polled it.
func (o *Operation) StartCancelTask(now time.Time, attempt int32) error {
	c := o.Cancel
	if !o.Running() || !o.Started || c == nil || c.TaskHeld || c.Attempt != attempt || c.State != enumspb.NEXUS_OPERATION_CANCELLATION_STATE_SCHEDULED {
		return ErrStale
	}
	c.TaskHeld, c.TaskHeldTime = true, now
	o.cancelQueued = false
	return nil
}

// held checks that an answer is for the start task a worker holds.
func (o *Operation) held(attempt int32) error {
	if !o.Running() || !o.TaskHeld || o.Started || attempt != o.Attempt {
		return ErrStale
	}
	return nil
}

// CompleteSync closes the operation with a synchronous result.
func (o *Operation) CompleteSync(now time.Time, attempt int32, result *commonpb.Payload, links []*commonpb.Link) error {
	if err := o.held(attempt); err != nil {
		return err
	}
	o.TaskHeld = false
	o.LastAttemptTime = now
	o.Links = append(o.Links, links...)
	o.Result = result
	o.close(now, enumspb.NEXUS_OPERATION_EXECUTION_STATUS_COMPLETED)
	return nil
}

// StartAsync records the handler's asynchronous answer: the operation is
// started with token; a cancellation requested before is now sent.
func (o *Operation) StartAsync(now time.Time, attempt int32, token string, links []*commonpb.Link) error {
	if err := o.held(attempt); err != nil {
		return err
	}
	o.markStarted(now, token, links)
	return nil
}

func (o *Operation) markStarted(now time.Time, token string, links []*commonpb.Link) {
	o.TaskHeld = false
	o.queued = false
	o.Started, o.StartedTime, o.OperationToken = true, now, token
	o.LastAttemptTime, o.LastFailure = now, nil
	o.NextAttemptTime = time.Time{}
	o.Links = append(o.Links, links...)
	if c := o.Cancel; c != nil && c.State == enumspb.NEXUS_OPERATION_CANCELLATION_STATE_UNSPECIFIED {
		c.State, c.Attempt = enumspb.NEXUS_OPERATION_CANCELLATION_STATE_SCHEDULED, 1
	}
	o.Transitions++
}

// FailAttempt records the handler's final answer to a start: an operation
// error or a non-retryable handler error closes the operation as failed
// (as canceled when the handler says the operation was canceled); cause is
// the failure reported as its outcome.
func (o *Operation) FailAttempt(now time.Time, attempt int32, cause *failurepb.Failure, canceled bool) error {
	if err := o.held(attempt); err != nil {
		return err
	}
	o.TaskHeld = false
	o.LastFailure, o.LastAttemptTime = cause, now
	o.Failure = cause
	status := enumspb.NEXUS_OPERATION_EXECUTION_STATUS_FAILED
	if canceled {
		status = enumspb.NEXUS_OPERATION_EXECUTION_STATUS_CANCELED
	}
	o.close(now, status)
	return nil
}

// RetryAttempt records a retryable handler error: the start is sent again
// after a backoff, until a timeout ends the operation.
func (o *Operation) RetryAttempt(now time.Time, attempt int32, f *failurepb.Failure) error {
	if err := o.held(attempt); err != nil {
		return err
	}
	o.retry(now, f)
	return nil
}

func (o *Operation) retry(now time.Time, f *failurepb.Failure) {
	o.TaskHeld, o.queued = false, false
	o.LastFailure, o.LastAttemptTime = f, now
	o.NextAttemptTime = now.Add(backoff(o.Attempt))
	o.Attempt++
	o.Transitions++
}

// EndpointGone fails an operation whose endpoint was deleted before its
// start task could be dispatched (Temporal: a non-retryable "endpoint not
// registered" handler error).
func (o *Operation) EndpointGone(now time.Time, attempt int32) error {
	if !o.Running() || o.Started || o.TaskHeld || attempt != o.Attempt {
		return ErrStale
	}
	o.queued = false
	f := &failurepb.Failure{
		Message: "endpoint not registered",
		FailureInfo: &failurepb.Failure_NexusHandlerFailureInfo{NexusHandlerFailureInfo: &failurepb.NexusHandlerFailureInfo{
			Type: "NOT_FOUND", RetryBehavior: enumspb.NEXUS_HANDLER_ERROR_RETRY_BEHAVIOR_NON_RETRYABLE,
		}},
	}
	o.LastFailure, o.LastAttemptTime, o.Failure = f, now, f
	o.close(now, enumspb.NEXUS_OPERATION_EXECUTION_STATUS_FAILED)
	return nil
}

// Outcome is how an asynchronous operation ended, as its completion
// callback reports it.
type Outcome struct {
	// OperationToken and StartLinks are used when the completion arrives
	// before the start answer (the operation is marked started first).
	OperationToken string
	StartLinks     []*commonpb.Link
	// A success has no Failure (Result may be nil: no value); otherwise
	// Failure is reported, and Canceled says the handler canceled it.
	Result   *commonpb.Payload
	Failure  *failurepb.Failure
	Canceled bool
}

// Complete applies a completion callback for the handler request
// requestID; a completion for another request (an older run of the
// operation id) or for a closed operation is stale.
func (o *Operation) Complete(now time.Time, requestID string, out Outcome) error {
	if !o.Running() || (requestID != "" && requestID != o.RequestID) {
		return ErrStale
	}
	if !o.Started {
		o.markStarted(now, out.OperationToken, out.StartLinks)
	}
	switch {
	case out.Failure == nil:
		o.Result = out.Result
		o.close(now, enumspb.NEXUS_OPERATION_EXECUTION_STATUS_COMPLETED)
	case out.Canceled:
		o.Failure = out.Failure
		o.close(now, enumspb.NEXUS_OPERATION_EXECUTION_STATUS_CANCELED)
	default:
		o.Failure = out.Failure
		o.close(now, enumspb.NEXUS_OPERATION_EXECUTION_STATUS_FAILED)
	}
	return nil
}

// RequestCancel asks for cancellation. It is sent to the handler once the
// operation has started; until then the operation goes on. A repeated
// request (same request id) is accepted again, even after the operation
// closed, as in Temporal.
func (o *Operation) RequestCancel(now time.Time, requestID, identity, reason string) error {
	if o.Cancel != nil && o.Cancel.RequestID == requestID {
		return nil
	}
	if !o.Running() {
		return serviceerror.NewFailedPrecondition("operation already completed")
	}
	if o.Cancel != nil {
		return serviceerror.NewFailedPreconditionf("cancellation already requested with request ID %s", o.Cancel.RequestID)
	}
	o.Cancel = &Cancel{RequestID: requestID, Identity: identity, Reason: reason, RequestedTime: now}
	if o.Started {
		o.Cancel.State, o.Cancel.Attempt = enumspb.NEXUS_OPERATION_CANCELLATION_STATE_SCHEDULED, 1
	}
	o.Transitions++
	return nil
}

func (o *Operation) cancelHeld(attempt int32) (*Cancel, error) {
	c := o.Cancel
	if !o.Running() || c == nil || !c.TaskHeld || c.Attempt != attempt {
		return nil, ErrStale
	}
	return c, nil
}

// CancelDelivered records that the handler accepted the cancel request;
// the operation ends when the handler reports its outcome.
func (o *Operation) CancelDelivered(now time.Time, attempt int32) error {
	c, err := o.cancelHeld(attempt)
	if err != nil {
		return err
	}
	c.TaskHeld = false
	c.LastAttemptTime, c.LastFailure = now, nil
	c.State = enumspb.NEXUS_OPERATION_CANCELLATION_STATE_SUCCEEDED
	o.Transitions++
	return nil
}

// CancelFailed records a handler error for the cancel request: retryable
// ones send it again after a backoff, others fail the cancel request (the
// operation goes on).
func (o *Operation) CancelFailed(now time.Time, attempt int32, f *failurepb.Failure, retryable bool) error {
	c, err := o.cancelHeld(attempt)
	if err != nil {
		return err
	}
	if retryable {
		o.retryCancel(now, f)
		return nil
	}
	c.TaskHeld = false
	c.LastAttemptTime, c.LastFailure = now, f
	c.State = enumspb.NEXUS_OPERATION_CANCELLATION_STATE_FAILED
	o.Transitions++
	return nil
}

func (o *Operation) retryCancel(now time.Time, f *failurepb.Failure) {
	c := o.Cancel
	c.TaskHeld = false
	o.cancelQueued = false
	c.LastAttemptTime, c.LastFailure = now, f
	c.NextAttemptTime = now.Add(backoff(c.Attempt))
	c.State = enumspb.NEXUS_OPERATION_CANCELLATION_STATE_BACKING_OFF
	c.Attempt++
	o.Transitions++
}

// Terminate closes a running operation as terminated (the handler is not
// told). Terminating again with the same request id is accepted;
// otherwise a closed operation refuses.
func (o *Operation) Terminate(now time.Time, requestID, reason, identity string) error {
	if o.Status == enumspb.NEXUS_OPERATION_EXECUTION_STATUS_TERMINATED {
		if requestID == o.TerminateRequestID {
			return nil
		}
		return serviceerror.NewFailedPreconditionf("already terminated with request ID %s", o.TerminateRequestID)
	}
	if !o.Running() {
		return serviceerror.NewFailedPrecondition("operation already completed")
	}
	o.TerminateRequestID = requestID
	o.Failure = &failurepb.Failure{Message: reason, FailureInfo: &failurepb.Failure_TerminatedFailureInfo{
		TerminatedFailureInfo: &failurepb.TerminatedFailureInfo{Identity: identity}}}
	o.close(now, enumspb.NEXUS_OPERATION_EXECUTION_STATUS_TERMINATED)
	return nil
}

// deadline is the operation's earliest timeout and its type:
// schedule-to-close over the whole operation, schedule-to-start until it
// starts (or completes synchronously), start-to-close once started.
func (o *Operation) deadline() (time.Time, enumspb.TimeoutType) {
	var at time.Time
	typ := enumspb.TIMEOUT_TYPE_UNSPECIFIED
	consider := func(t time.Time, tt enumspb.TimeoutType) {
		if at.IsZero() || t.Before(at) {
			at, typ = t, tt
		}
	}
	if d := o.Start.GetScheduleToCloseTimeout().AsDuration(); d > 0 {
		consider(o.ScheduleTime.Add(d), enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE)
	}
	if d := o.Start.GetScheduleToStartTimeout().AsDuration(); d > 0 && !o.Started {
		consider(o.ScheduleTime.Add(d), enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START)
	}
	if d := o.Start.GetStartToCloseTimeout().AsDuration(); d > 0 && o.Started {
		consider(o.StartedTime.Add(d), enumspb.TIMEOUT_TYPE_START_TO_CLOSE)
	}
	return at, typ
}

// ExpirationTime is when the schedule-to-close timeout ends the operation
// (zero: never).
func (o *Operation) ExpirationTime() time.Time {
	if d := o.Start.GetScheduleToCloseTimeout().AsDuration(); d > 0 {
		return o.ScheduleTime.Add(d)
	}
	return time.Time{}
}

// NextDeadline is the earliest time Tick has something to do (zero:
// none).
func (o *Operation) NextDeadline() time.Time {
	if !o.Running() {
		return time.Time{}
	}
	var next time.Time
	add := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	d, _ := o.deadline()
	add(d)
	add(o.NextAttemptTime)
	if o.TaskHeld {
		add(o.TaskHeldTime.Add(TaskTimeout))
	}
	if c := o.Cancel; c != nil {
		if c.TaskHeld {
			add(c.TaskHeldTime.Add(TaskTimeout))
		}
		if c.State == enumspb.NEXUS_OPERATION_CANCELLATION_STATE_BACKING_OFF {
			add(c.NextAttemptTime)
		}
	}
	return next
}

// Tick fires what is due at now: a timeout closes the operation; a task
// held too long is retried; a backoff that passed makes its task
// dispatchable again. It reports whether the state changed.
func (o *Operation) Tick(now time.Time) bool {
	if !o.Running() {
		return false
	}
	if d, typ := o.deadline(); !d.IsZero() && !now.Before(d) {
		o.Failure = &failurepb.Failure{
			Message: "operation timed out",
			FailureInfo: &failurepb.Failure_TimeoutFailureInfo{TimeoutFailureInfo: &failurepb.TimeoutFailureInfo{
				TimeoutType: typ,
			}},
		}
		o.close(now, enumspb.NEXUS_OPERATION_EXECUTION_STATUS_TIMED_OUT)
		return true
	}
	changed := false
	if o.TaskHeld && !now.Before(o.TaskHeldTime.Add(TaskTimeout)) {
		o.retry(now, &failurepb.Failure{Message: "the Nexus handler did not answer in time"})
		changed = true
	}
	if !o.NextAttemptTime.IsZero() && !now.Before(o.NextAttemptTime) {
		o.NextAttemptTime = time.Time{}
		o.Transitions++
		changed = true
	}
	if c := o.Cancel; c != nil {
		if c.TaskHeld && !now.Before(c.TaskHeldTime.Add(TaskTimeout)) {
			o.retryCancel(now, &failurepb.Failure{Message: "the Nexus handler did not answer the cancel request in time"})
			changed = true
		}
		if c.State == enumspb.NEXUS_OPERATION_CANCELLATION_STATE_BACKING_OFF && !now.Before(c.NextAttemptTime) {
			c.State, c.NextAttemptTime = enumspb.NEXUS_OPERATION_CANCELLATION_STATE_SCHEDULED, time.Time{}
			o.Transitions++
			changed = true
		}
	}
	return changed
}

// Recover forgets which worker held a task before a restart (that is not
// persisted): the tasks are dispatched again, with the same attempt and
// request id, which a handler must tolerate anyway.
func (o *Operation) Recover() {
	o.TaskHeld, o.queued, o.cancelQueued = false, false, false
	if o.Cancel != nil {
		o.Cancel.TaskHeld = false
	}
}

func (o *Operation) close(now time.Time, status enumspb.NexusOperationExecutionStatus) {
	o.Status = status
	o.TaskHeld, o.queued, o.cancelQueued = false, false, false
	o.NextAttemptTime = time.Time{}
	if c := o.Cancel; c != nil {
		c.TaskHeld = false
	}
	o.CloseTime = now
	o.Transitions++
}
