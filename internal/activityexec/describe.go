package activityexec

import (
	"time"

	activitypb "go.temporal.io/api/activity/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// RunState is the detail of a running execution DescribeActivityExecution
// reports.
func (x *Execution) RunState() enumspb.PendingActivityState {
	switch {
	case !x.Running():
		return enumspb.PENDING_ACTIVITY_STATE_UNSPECIFIED
	case x.CancelRequested:
		return enumspb.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED
	case x.Paused && x.Started:
		return enumspb.PENDING_ACTIVITY_STATE_PAUSE_REQUESTED
	case x.Paused:
		return enumspb.PENDING_ACTIVITY_STATE_PAUSED
	case x.Started:
		return enumspb.PENDING_ACTIVITY_STATE_STARTED
	}
	return enumspb.PENDING_ACTIVITY_STATE_SCHEDULED
}

// ExecutionTime is when the first attempt became dispatchable (schedule
// time plus start delay).
func (x *Execution) ExecutionTime() time.Time { return x.firstDispatch() }

// Info is DescribeActivityExecution's info at now; heartbeat details and
// the last failure only when asked for, as in Temporal.
func (x *Execution) Info(now time.Time, withHeartbeat, withLastFailure bool) *activitypb.ActivityExecutionInfo {
	r, o := x.Start, x.Options
	info := &activitypb.ActivityExecutionInfo{
		ActivityId:              x.ActivityID,
		RunId:                   x.RunID,
		ActivityType:            r.ActivityType,
		Status:                  x.APIStatus(),
		RunState:                x.RunState(),
		TaskQueue:               o.TaskQueue.GetName(),
		ScheduleToCloseTimeout:  o.ScheduleToCloseTimeout,
		ScheduleToStartTimeout:  o.ScheduleToStartTimeout,
		StartToCloseTimeout:     o.StartToCloseTimeout,
		HeartbeatTimeout:        o.HeartbeatTimeout,
		RetryPolicy:             o.RetryPolicy,
		LastHeartbeatTime:       ts(x.HeartbeatTime),
		LastStartedTime:         ts(x.StartedTime),
		Attempt:                 x.Attempt,
		ScheduleTime:            ts(x.ScheduleTime),
		ExpirationTime:          ts(x.ScheduleToCloseDeadline()),
		CloseTime:               ts(x.CloseTime),
		LastWorkerIdentity:      x.LastWorkerIdentity,
		LastAttemptCompleteTime: ts(x.LastAttemptCompleteTime),
		Priority:                o.Priority,
		StateTransitionCount:    x.Transitions,
		SearchAttributes:        r.SearchAttributes,
		Header:                  r.Header,
		UserMetadata:            r.UserMetadata,
		CanceledReason:          x.CancelReason,
		TotalHeartbeatCount:     x.HeartbeatCount,
		StartDelay:              o.StartDelay,
		ExecutionTime:           ts(x.firstDispatch()),
	}
	if x.Running() {
		info.ExecutionDuration = durationpb.New(now.Sub(x.ScheduleTime))
		if !x.Started && !x.Paused && x.DispatchAt.After(now) {
			info.NextAttemptScheduleTime = ts(x.DispatchAt)
		}
		if x.RetryInterval > 0 {
			info.CurrentRetryInterval = durationpb.New(x.RetryInterval)
		}
	} else {
		info.ExecutionDuration = durationpb.New(x.CloseTime.Sub(x.ScheduleTime))
	}
	if withHeartbeat {
		info.HeartbeatDetails = x.HeartbeatDetails
	}
	if withLastFailure {
		info.LastFailure = x.LastFailure
	}
	return info
}

// ListInfo is the execution's entry in ListActivityExecutions.
func (x *Execution) ListInfo() *activitypb.ActivityExecutionListInfo {
	info := &activitypb.ActivityExecutionListInfo{
		ActivityId:           x.ActivityID,
		RunId:                x.RunID,
		ActivityType:         x.Start.ActivityType,
		ScheduleTime:         ts(x.ScheduleTime),
		CloseTime:            ts(x.CloseTime),
		Status:               x.APIStatus(),
		SearchAttributes:     x.Start.SearchAttributes,
		TaskQueue:            x.Options.TaskQueue.GetName(),
		StateTransitionCount: x.Transitions,
		ExecutionTime:        ts(x.firstDispatch()),
	}
	if !x.Running() {
		info.ExecutionDuration = durationpb.New(x.CloseTime.Sub(x.ScheduleTime))
	}
	return info
}

// Outcome is the closed execution's result or failure (nil while
// running).
func (x *Execution) Outcome() *activitypb.ActivityExecutionOutcome {
	switch {
	case x.Running():
		return nil
	case x.Status == enumspb.ACTIVITY_EXECUTION_STATUS_COMPLETED:
		return &activitypb.ActivityExecutionOutcome{Value: &activitypb.ActivityExecutionOutcome_Result{Result: x.Result}}
	}
	return &activitypb.ActivityExecutionOutcome{
		Value:      &activitypb.ActivityExecutionOutcome_Failure{Failure: x.Failure},
		RetryState: x.RetryState,
	}
}

// TaskResponse is the poll response for the attempt just started, without
// its task token: what Temporal gives a worker for a standalone activity
// (no workflow execution or type; the activity's run id instead).
func (x *Execution) TaskResponse() *workflowservice.PollActivityTaskQueueResponse {
	r, o := x.Start, x.Options
	attemptScheduled := x.DispatchAt
	return &workflowservice.PollActivityTaskQueueResponse{
		WorkflowNamespace:           x.Namespace,
		WorkflowExecution:           &commonpb.WorkflowExecution{},
		ActivityType:                r.ActivityType,
		ActivityId:                  x.ActivityID,
		ActivityRunId:               x.RunID,
		Header:                      r.Header,
		Input:                       r.Input,
		HeartbeatDetails:            x.HeartbeatDetails,
		ScheduledTime:               ts(x.ScheduleTime),
		CurrentAttemptScheduledTime: ts(attemptScheduled),
		StartedTime:                 ts(x.StartedTime),
		Attempt:                     x.Attempt,
		ScheduleToCloseTimeout:      o.ScheduleToCloseTimeout,
		StartToCloseTimeout:         o.StartToCloseTimeout,
		HeartbeatTimeout:            o.HeartbeatTimeout,
		RetryPolicy:                 o.RetryPolicy,
		Priority:                    o.Priority,
	}
}
