package activityexec

import (
	"time"

	activitypb "go.temporal.io/api/activity/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundial-io/sundial/internal/execution"
)

// The operator commands of a standalone activity (Temporal's
// Pause/Unpause/Reset/UpdateActivityExecutionOptions): like the activity
// control of a workflow's activities they never disturb a running
// attempt; what they change takes effect at the next attempt. Each
// carries a request id, and repeating the last one is a no-op.

// APIStatus is the status reported to clients: PAUSED for a paused
// execution no worker holds, else Status.
func (x *Execution) APIStatus() enumspb.ActivityExecutionStatus {
	if x.Running() && x.Paused && !x.Started {
		return enumspb.ACTIVITY_EXECUTION_STATUS_PAUSED
	}
	return x.Status
}

// ControlFlags are what a heartbeat tells the worker besides a cancel
// request: that the activity was paused or reset meanwhile.
func (x *Execution) ControlFlags() (paused, reset bool) {
	return x.Paused && x.Started, x.ResetRequested
}

// Pause stops the dispatch of attempts (see Paused).
func (x *Execution) Pause(now time.Time, requestID, identity, reason string) error {
	if requestID != "" && requestID == x.PauseRequestID {
		return nil
	}
	if !x.Running() || x.Paused || x.CancelRequested {
		return serviceerror.NewFailedPreconditionf("activity is in non-pausable state %v", x.stateName())
	}
	x.Paused = true
	x.PauseRequestID, x.PauseIdentity, x.PauseReason, x.PauseTime = requestID, identity, reason, now
	x.Transitions++
	if !x.Started {
		x.newDispatch() // the task already queued, if any, is void
	}
	return nil
}

// Unpause resumes dispatch: the waiting attempt becomes dispatchable at
// now (plus a random jitter), but not before the start delay or a retry
// backoff ends; a pause asked of a running attempt is withdrawn.
func (x *Execution) Unpause(now time.Time, requestID string, jitter time.Duration, rnd func(n int64) int64) error {
	if requestID != "" && requestID == x.UnpauseRequestID {
		return nil
	}
	if !x.Running() {
		return serviceerror.NewFailedPreconditionf("activity is in terminal state %v", x.Status)
	}
	if !x.Paused {
		return serviceerror.NewFailedPreconditionf("activity is in non-unpausable state %v", x.stateName())
	}
	x.Paused = false
	x.UnpauseRequestID = requestID
	x.Transitions++
	if !x.Started {
		at := now
		if jitter > 0 {
			at = at.Add(time.Duration(rnd(int64(jitter))))
		}
		if first := x.firstDispatch(); at.Before(first) {
			at = first
		}
		if at.Before(x.DispatchAt) {
			at = x.DispatchAt // a retry backoff still running
		}
		x.DispatchAt = at
		x.newDispatch()
	}
	return nil
}

// ResetOptions are ResetActivityExecution's choices.
type ResetOptions struct {
	RequestID       string
	KeepPaused      bool
	ResetHeartbeat  bool
	RestoreOriginal bool
	Jitter          time.Duration
}

// Reset starts the execution over at attempt 1: at once when no attempt
// runs (a pending backoff is dropped, the start delay still holds),
// otherwise when the running attempt fails or times out (ResetRequested).
func (x *Execution) Reset(now time.Time, o ResetOptions, rnd func(n int64) int64) error {
	if o.RequestID != "" && o.RequestID == x.ResetRequestID {
		return nil
	}
	switch {
	case !x.Running():
		return serviceerror.NewFailedPrecondition("activity execution is not running")
	case x.CancelRequested:
		return serviceerror.NewFailedPrecondition("cannot reset an activity with a pending cancellation")
	case x.ResetRequested:
		return serviceerror.NewFailedPrecondition("cannot reset an activity with a pending reset")
	}
	x.ResetRequestID = o.RequestID
	x.Transitions++
	if x.Started {
		if x.Paused && !o.KeepPaused {
			x.Paused = false
		}
		x.ResetRequested = true
		x.ResetKeepPaused = o.KeepPaused && x.Paused
		x.ResetClearHeartbeat = o.ResetHeartbeat
		x.ResetRestoreOptions = o.RestoreOriginal
		return nil
	}
	if o.RestoreOriginal {
		x.restoreOriginalOptions()
	}
	if o.ResetHeartbeat {
		x.HeartbeatDetails, x.HeartbeatTime = nil, time.Time{}
	}
	x.Attempt = 1
	x.RetryInterval = 0
	at := now
	if jitter := o.Jitter; jitter > 0 {
		at = at.Add(time.Duration(rnd(int64(jitter))))
	}
	if first := x.firstDispatch(); at.Before(first) {
		at = first
	}
	x.DispatchAt = at
	if x.Paused && !o.KeepPaused {
		x.Paused = false
	}
	x.newDispatch()
	return nil
}

// applyDeferredReset starts over at attempt 1 after the attempt a reset
// was asked of ended without a result.
func (x *Execution) applyDeferredReset(now time.Time) {
	if x.ResetRestoreOptions {
		x.restoreOriginalOptions()
	}
	if x.ResetClearHeartbeat {
		x.HeartbeatDetails, x.HeartbeatTime = nil, time.Time{}
	}
	x.Paused = x.ResetKeepPaused
	x.ResetRequested, x.ResetKeepPaused, x.ResetClearHeartbeat, x.ResetRestoreOptions = false, false, false, false
	x.Started = false
	x.Attempt = 1
	x.RetryInterval = 0
	x.DispatchAt = now
	x.Transitions++
	x.newDispatch()
}

// newDispatch voids the current attempt's task: a new stamp, not queued.
func (x *Execution) newDispatch() {
	x.Stamp++
	x.queued = false
}

func (x *Execution) restoreOriginalOptions() {
	o := OriginalOptions(x.Start)
	if x.Attempt > 1 || !x.StartedTime.IsZero() {
		o.StartDelay = x.Options.StartDelay // only the first dispatch uses it
	}
	x.Options = o
}

// stateName is the execution's state as Temporal's messages name it.
func (x *Execution) stateName() string {
	switch {
	case !x.Running():
		return x.Status.String()
	case x.CancelRequested:
		return "CancelRequested"
	case x.Paused && x.Started:
		return "PauseRequested"
	case x.Paused:
		return "Paused"
	case x.Started:
		return "Started"
	}
	return "Scheduled"
}

// UpdateOptions changes the execution's options: the fields mask names
// (snake_case or camelCase paths of ActivityOptions), or all of them back
// to the start request's with restoreOriginal. Timeouts are normalized
// again; a running attempt keeps running under the new timeouts, and a
// waiting one is dispatched again (to the new queue, if it changed). It
// returns the options now in force.
func (x *Execution) UpdateOptions(now time.Time, requestID string, from *activitypb.ActivityOptions, mask []string, restoreOriginal bool) (*activitypb.ActivityOptions, error) {
	if requestID != "" && requestID == x.UpdateOptionsRequestID {
		return x.Options, nil
	}
	if !x.Running() || x.CancelRequested || x.ResetRequested {
		return nil, serviceerror.NewFailedPreconditionf("Cannot update options for activity in state %s", x.stateName())
	}
	if restoreOriginal {
		if len(mask) > 0 {
			return nil, invalid("Both UpdateMask and RestoreOriginal are provided")
		}
		x.restoreOriginalOptions()
	} else {
		if len(mask) == 0 {
			return nil, invalid("UpdateMask is not provided")
		}
		if from == nil {
			return nil, invalid("ActivityOptions are not provided")
		}
		var rest []string
		startDelay := false
		for _, p := range mask {
			if p == "start_delay" || p == "startDelay" {
				startDelay = true
				continue
			}
			rest = append(rest, p)
		}
		paths, err := execution.NormalizeActivityOptionPaths(rest)
		if err != nil {
			return nil, invalid("%v", err)
		}
		o, err := execution.MergeActivityOptions(x.Options, from, paths)
		if err != nil {
			return nil, invalid("%v", err)
		}
		if startDelay {
			if d := from.GetStartDelay(); d != nil && (d.CheckValid() != nil || d.AsDuration() < 0) {
				return nil, invalid("invalid StartDelay: negative or malformed duration")
			}
			if !x.firstDispatch().After(now) && !(x.Paused && x.StartedTime.IsZero()) {
				return nil, serviceerror.NewFailedPrecondition("cannot update start_delay: the first activity attempt has already been dispatched")
			}
			o.StartDelay = from.GetStartDelay()
		}
		if paths["retryPolicy"] || paths["retryPolicy.initialInterval"] || paths["retryPolicy.backoffCoefficient"] ||
			paths["retryPolicy.maximumInterval"] || paths["retryPolicy.maximumAttempts"] {
			probe := &workflowservice.StartActivityExecutionRequest{RetryPolicy: o.RetryPolicy}
			if err := checkRetryPolicy(probe); err != nil {
				return nil, err
			}
			o.RetryPolicy = probe.RetryPolicy
		}
		if err := normalizeTimeouts(o, x.ActivityID, x.Start.ActivityType.GetName()); err != nil {
			return nil, err
		}
		x.Options = o
	}
	x.UpdateOptionsRequestID = requestID
	x.Transitions++
	if !x.Started {
		if x.Attempt == 1 && x.StartedTime.IsZero() {
			x.DispatchAt = x.firstDispatch() // a new start delay moves the first dispatch
		}
		x.newDispatch()
	}
	return x.Options, nil
}
