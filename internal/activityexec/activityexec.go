// Package activityexec is the pure state of one standalone activity
// execution (WorkflowService StartActivityExecution and friends): an
// activity started by a client without a workflow.
//
// Like package execution it does no I/O and reads no clock: every change
// takes the time as an input and says whether the state changed, and the
// engine persists the state (Encode) before it acknowledges the change or
// dispatches the task it implies. The rules follow Temporal's standalone
// activities (chasm/lib/activity): attempts retried under the retry
// policy with backoff, the four timeouts, heartbeats, cancellation (at
// once when no attempt is running, otherwise when the worker reports it),
// termination, and the outcome a closed execution keeps.
package activityexec

import (
	"encoding/json"

	"errors"
	activitypb "go.temporal.io/api/activity/v1"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundial-io/sundial/internal/execution"
)

// ErrStale is returned when a task token (or a by-id call) names an attempt
// that is not the one running; the worker is told the task is not found.
var ErrStale = errors.New("activityexec: stale activity task")

// Execution is one standalone activity execution (one run of an activity
// id).
type Execution struct {
	Namespace  string
	ActivityID string
	RunID      string
	// Start is the normalized start request (see Normalize): activity
	// type, queue, input, header, timeouts with their defaults filled in,
	// retry policy, search attributes, metadata and the request id. It
	// never changes (its options are the original ones).
	Start *workflowservice.StartActivityExecutionRequest
	// Options are the current options (queue, timeouts, retry policy,
	// priority, start delay): the start request's until
	// UpdateActivityExecutionOptions changes them.
	Options      *activitypb.ActivityOptions
	ScheduleTime time.Time

	// Status is RUNNING until the execution closes, then its outcome.
	Status enumspb.ActivityExecutionStatus
	// Started says a worker holds the current attempt.
	Started bool
	Attempt int32
	// Stamp identifies the current attempt's dispatch; task tokens carry
	// it, so an answer for an older attempt is recognized as stale.
	Stamp int64
	// DispatchAt is when the current attempt, not yet started, may be
	// handed to a worker (start delay, retry backoff).
	DispatchAt         time.Time
	StartedTime        time.Time
	LastWorkerIdentity string

	HeartbeatTime    time.Time
	HeartbeatDetails *commonpb.Payloads
	HeartbeatCount   int64

	LastFailure             *failurepb.Failure
	LastAttemptCompleteTime time.Time
	// RetryInterval is the backoff before the current attempt (zero for
	// the first).
	RetryInterval time.Duration

	CancelRequested    bool
	CancelRequestID    string
	CancelIdentity     string
	CancelReason       string
	TerminateRequestID string

	// Paused: PauseActivityExecution was asked. With no attempt running
	// the execution is paused (nothing dispatched; only the
	// schedule-to-close timeout runs); a running attempt goes on, its
	// heartbeats answer activity_paused, and a retry after it fails waits
	// for the unpause.
	Paused           bool
	PauseRequestID   string
	PauseIdentity    string
	PauseReason      string
	PauseTime        time.Time
	UnpauseRequestID string
	// ResetRequested: ResetActivityExecution was asked while an attempt
	// ran; heartbeats answer activity_reset, and when the attempt fails or
	// times out the execution starts over at attempt 1 (then the Reset*
	// flags apply).
	ResetRequested         bool
	ResetKeepPaused        bool
	ResetClearHeartbeat    bool
	ResetRestoreOptions    bool
	ResetRequestID         string
	UpdateOptionsRequestID string

	CloseTime  time.Time
	Result     *commonpb.Payloads
	Failure    *failurepb.Failure
	RetryState enumspb.RetryState

	Transitions int64

	// queued is true once the current attempt's task was handed to
	// matching (memory only: after a restart it is handed again).
	queued bool
}

// New makes the execution a validated, normalized start request asks for,
// scheduled at now (its first attempt dispatchable after the start delay).
func New(namespace, runID string, req *workflowservice.StartActivityExecutionRequest, now time.Time) *Execution {
	x := &Execution{
		Namespace:    namespace,
		ActivityID:   req.ActivityId,
		RunID:        runID,
		Start:        req,
		Options:      OriginalOptions(req),
		ScheduleTime: now,
		Status:       enumspb.ACTIVITY_EXECUTION_STATUS_RUNNING,
		Attempt:      1,
		Stamp:        1,
		Transitions:  1,
	}
	x.DispatchAt = x.firstDispatch()
	return x
}

// Running reports whether the execution has not closed.
func (x *Execution) Running() bool {
	return x.Status == enumspb.ACTIVITY_EXECUTION_STATUS_RUNNING
}

func (x *Execution) firstDispatch() time.Time {
	return x.ScheduleTime.Add(x.Options.GetStartDelay().AsDuration())
}

// ScheduleToCloseDeadline is when the whole execution times out (zero:
// never).
func (x *Execution) ScheduleToCloseDeadline() time.Time {
	d := x.Options.GetScheduleToCloseTimeout().AsDuration()
	if d <= 0 {
		return time.Time{}
	}
	return x.firstDispatch().Add(d)
}

// TakeDispatch reports whether the current attempt should be handed to
// matching now, and if so marks it handed.
func (x *Execution) TakeDispatch(now time.Time) bool {
	if !x.Running() || x.Started || x.queued || x.Paused || now.Before(x.DispatchAt) {
		return false
	}
	x.queued = true
	return true
}

// StartAttempt gives the current attempt to a worker that polled the task
// with stamp.
func (x *Execution) StartAttempt(now time.Time, stamp int64, identity string) error {
	if !x.Running() || x.Started || x.Paused || stamp != x.Stamp || now.Before(x.DispatchAt) {
		return ErrStale
	}
	x.Started = true
	x.StartedTime = now
	x.LastWorkerIdentity = identity
	x.Transitions++
	return nil
}

// check admits an answer for the attempt stamp names (0: a by-id call,
// which names the current attempt whatever it is). started requires that a
// worker holds the attempt.
func (x *Execution) check(stamp int64, started bool) error {
	if !x.Running() {
		return ErrStale
	}
	if stamp != 0 && (stamp != x.Stamp || !x.Started) {
		return ErrStale
	}
	if started && !x.Started {
		return ErrStale
	}
	return nil
}

// Heartbeat records a running attempt's progress; it reports whether
// cancellation was requested.
func (x *Execution) Heartbeat(now time.Time, stamp int64, details *commonpb.Payloads) (cancelRequested bool, err error) {
	if err := x.check(stamp, true); err != nil {
		return false, err
	}
	x.HeartbeatTime = now
	if details != nil {
		x.HeartbeatDetails = details
	}
	x.HeartbeatCount++
	return x.CancelRequested, nil
}

// Complete closes the execution with a result. A by-id completion may
// complete an attempt no worker holds, as in Temporal.
func (x *Execution) Complete(now time.Time, stamp int64, result *commonpb.Payloads, identity string) error {
	if err := x.check(stamp, false); err != nil {
		return err
	}
	if !x.Started {
		x.StartedTime = now
	}
	x.LastWorkerIdentity = identity
	x.LastAttemptCompleteTime = now
	x.Result = result
	x.close(now, enumspb.ACTIVITY_EXECUTION_STATUS_COMPLETED)
	return nil
}

// Fail ends the current attempt with a failure: it is retried under the
// retry policy, else the execution closes as failed.
func (x *Execution) Fail(now time.Time, stamp int64, f *failurepb.Failure, lastHeartbeat *commonpb.Payloads, identity string) error {
	if err := x.check(stamp, false); err != nil {
		return err
	}
	if f == nil {
		f = &failurepb.Failure{Message: "activity task failed without failure details"}
	}
	if lastHeartbeat != nil {
		x.HeartbeatDetails = lastHeartbeat
		x.HeartbeatTime = now
		x.HeartbeatCount++
	}
	x.LastWorkerIdentity = identity
	x.attemptFailed(now, f, enumspb.ACTIVITY_EXECUTION_STATUS_FAILED)
	return nil
}

// ReportCanceled closes the execution as canceled after the worker
// acknowledged a cancel request.
func (x *Execution) ReportCanceled(now time.Time, stamp int64, details *commonpb.Payloads, identity string) error {
	if err := x.check(stamp, false); err != nil {
		return err
	}
	if !x.CancelRequested {
		return serviceerror.NewFailedPrecondition("unable to mark activity as canceled without activity being request canceled")
	}
	x.LastWorkerIdentity = identity
	x.LastAttemptCompleteTime = now
	x.closeCanceled(now, details)
	return nil
}

// RequestCancel asks for cancellation: with no attempt running the
// execution is canceled at once; otherwise the worker learns of it from
// its next heartbeat and reports the cancellation. A repeated request
// (same request id) is accepted again.
func (x *Execution) RequestCancel(now time.Time, requestID, identity, reason string) error {
	if requestID != "" && requestID == x.CancelRequestID {
		return nil
	}
	if !x.Running() {
		return serviceerror.NewFailedPreconditionf("activity is in terminal state %v", x.Status)
	}
	if x.CancelRequested {
		return serviceerror.NewFailedPreconditionf("cancellation already requested with request ID %s", x.CancelRequestID)
	}
	x.CancelRequested = true
	x.CancelRequestID, x.CancelIdentity, x.CancelReason = requestID, identity, reason
	// Cancellation takes precedence over a reset still pending.
	x.ResetRequested, x.ResetKeepPaused, x.ResetClearHeartbeat, x.ResetRestoreOptions = false, false, false, false
	x.Transitions++
	if !x.Started {
		x.closeCanceled(now, stringPayloads(reason))
	}
	return nil
}

// Terminate closes a running execution as terminated. Terminating again
// with the same request id is accepted; otherwise a closed execution
// refuses.
func (x *Execution) Terminate(now time.Time, requestID, reason, identity string) error {
	if x.Status == enumspb.ACTIVITY_EXECUTION_STATUS_TERMINATED {
		if requestID == x.TerminateRequestID {
			return nil
		}
		return serviceerror.NewFailedPreconditionf("already terminated with request ID %s", x.TerminateRequestID)
	}
	if !x.Running() {
		return serviceerror.NewFailedPreconditionf("activity is in terminal state %v", x.Status)
	}
	x.TerminateRequestID = requestID
	x.Failure = &failurepb.Failure{Message: reason, FailureInfo: &failurepb.Failure_TerminatedFailureInfo{
		TerminatedFailureInfo: &failurepb.TerminatedFailureInfo{Identity: identity}}}
	x.close(now, enumspb.ACTIVITY_EXECUTION_STATUS_TERMINATED)
	return nil
}

// NextDeadline is the earliest time Tick has something to do: a timeout,
// or the end of a start delay or retry backoff (zero: none).
func (x *Execution) NextDeadline() time.Time {
	if !x.Running() {
		return time.Time{}
	}
	var next time.Time
	add := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	add(x.ScheduleToCloseDeadline())
	if x.Started {
		add(x.startToCloseDeadline())
		add(x.heartbeatDeadline())
	} else if !x.Paused {
		if !x.queued {
			add(x.DispatchAt)
		}
		add(x.scheduleToStartDeadline())
	}
	return next
}

func (x *Execution) startToCloseDeadline() time.Time {
	d := x.Options.GetStartToCloseTimeout().AsDuration()
	if d <= 0 {
		return time.Time{}
	}
	return x.StartedTime.Add(d)
}

func (x *Execution) heartbeatDeadline() time.Time {
	d := x.Options.GetHeartbeatTimeout().AsDuration()
	if d <= 0 {
		return time.Time{}
	}
	last := x.StartedTime
	if x.HeartbeatTime.After(last) {
		last = x.HeartbeatTime
	}
	return last.Add(d)
}

func (x *Execution) scheduleToStartDeadline() time.Time {
	d := x.Options.GetScheduleToStartTimeout().AsDuration()
	if d <= 0 {
		return time.Time{}
	}
	return x.DispatchAt.Add(d)
}

// Tick fires the timeouts due at now; it reports whether the state
// changed (a dispatch that came due is TakeDispatch's, not a change).
func (x *Execution) Tick(now time.Time) bool {
	if !x.Running() {
		return false
	}
	if d := x.ScheduleToCloseDeadline(); !d.IsZero() && !now.Before(d) {
		x.timedOut(now, enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE, x.LastFailure)
		return true
	}
	if !x.Started {
		if x.Paused {
			return false
		}
		if d := x.scheduleToStartDeadline(); !d.IsZero() && !now.Before(d) {
			x.timedOut(now, enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START, x.LastFailure)
			return true
		}
		return false
	}
	tt := enumspb.TIMEOUT_TYPE_UNSPECIFIED
	if d := x.startToCloseDeadline(); !d.IsZero() && !now.Before(d) {
		tt = enumspb.TIMEOUT_TYPE_START_TO_CLOSE
	} else if d := x.heartbeatDeadline(); !d.IsZero() && !now.Before(d) {
		tt = enumspb.TIMEOUT_TYPE_HEARTBEAT
	}
	if tt == enumspb.TIMEOUT_TYPE_UNSPECIFIED {
		return false
	}
	f := timeoutFailure(tt, x.LastFailure)
	f.GetTimeoutFailureInfo().LastHeartbeatDetails = x.HeartbeatDetails
	x.attemptFailed(now, f, enumspb.ACTIVITY_EXECUTION_STATUS_TIMED_OUT)
	return true
}

// attemptFailed ends the running (or scheduled, for a by-id failure)
// attempt: a retry is scheduled after the policy's backoff unless the
// policy, the failure, a cancel request or the schedule-to-close timeout
// forbid it; then the execution closes with status.
func (x *Execution) attemptFailed(now time.Time, f *failurepb.Failure, status enumspb.ActivityExecutionStatus) {
	x.LastFailure = f
	x.LastAttemptCompleteTime = now
	if !x.Started {
		x.StartedTime = now
	}
	if x.ResetRequested {
		x.applyDeferredReset(now)
		return
	}
	var delay time.Duration
	rs := enumspb.RETRY_STATE_CANCEL_REQUESTED
	if !x.CancelRequested {
		delay, rs = execution.NextRetry(x.Options.GetRetryPolicy(), x.Attempt, f, now, x.ScheduleToCloseDeadline())
	}
	if rs == enumspb.RETRY_STATE_IN_PROGRESS {
		x.Started = false
		x.queued = false
		x.Attempt++
		x.Stamp++
		x.RetryInterval = delay
		x.DispatchAt = now.Add(delay)
		x.Transitions++
		return
	}
	x.RetryState = rs
	x.Failure = f
	if status == enumspb.ACTIVITY_EXECUTION_STATUS_TIMED_OUT && rs == enumspb.RETRY_STATE_TIMEOUT {
		// No time left for another attempt: the execution times out as
		// schedule-to-close, the attempt's timeout as its cause.
		x.Failure = timeoutFailure(enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE, f)
	}
	x.close(now, status)
}

func (x *Execution) timedOut(now time.Time, tt enumspb.TimeoutType, cause *failurepb.Failure) {
	x.Failure = timeoutFailure(tt, cause)
	x.RetryState = enumspb.RETRY_STATE_TIMEOUT
	if tt == enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START {
		x.RetryState = enumspb.RETRY_STATE_NON_RETRYABLE_FAILURE
	}
	x.close(now, enumspb.ACTIVITY_EXECUTION_STATUS_TIMED_OUT)
}

func (x *Execution) closeCanceled(now time.Time, details *commonpb.Payloads) {
	x.Failure = &failurepb.Failure{Message: "Activity canceled", FailureInfo: &failurepb.Failure_CanceledFailureInfo{
		CanceledFailureInfo: &failurepb.CanceledFailureInfo{Details: details, Identity: x.CancelIdentity}}}
	x.RetryState = enumspb.RETRY_STATE_CANCEL_REQUESTED
	x.close(now, enumspb.ACTIVITY_EXECUTION_STATUS_CANCELED)
}

func (x *Execution) close(now time.Time, status enumspb.ActivityExecutionStatus) {
	x.Status = status
	x.Started = false
	x.queued = false
	x.CloseTime = now
	x.Transitions++
}

// timeoutFailure is Temporal's failure for an activity timeout.
func timeoutFailure(tt enumspb.TimeoutType, cause *failurepb.Failure) *failurepb.Failure {
	return &failurepb.Failure{
		Message: "activity " + tt.String() + " timeout",
		Cause:   cause,
		FailureInfo: &failurepb.Failure_TimeoutFailureInfo{TimeoutFailureInfo: &failurepb.TimeoutFailureInfo{
			TimeoutType: tt,
		}},
	}
}

// stringPayloads encodes s as one JSON payload, as the SDKs' default
// converter would (the details of an immediate cancellation).
func stringPayloads(s string) *commonpb.Payloads {
	data, _ := json.Marshal(s)
	return &commonpb.Payloads{Payloads: []*commonpb.Payload{{
		Metadata: map[string][]byte{"encoding": []byte("json/plain")},
		Data:     data,
	}}}
}
