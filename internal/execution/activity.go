package execution

import (
	"time"

	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// scheduleActivity records an ActivityTaskScheduled event with the
// timeouts filled in the way Temporal does and dispatches the first attempt.
func (c *cmdCtx) scheduleActivity(a *commandpb.ScheduleActivityTaskCommandAttributes, _ *commandpb.Command) {
	s := c.s
	tq := a.TaskQueue
	if tq.GetName() == "" {
		tq = &taskqueuepb.TaskQueue{Name: s.TaskQueue(), Kind: enumspb.TASK_QUEUE_KIND_NORMAL}
	}
	s2c, s2s, st2c, hb := activityTimeouts(a, s.Start.GetWorkflowRunTimeout().AsDuration())
	ev := c.add(func(ev *historypb.HistoryEvent) {
		ev.Attributes = &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{
			ActivityId: a.ActivityId, ActivityType: a.ActivityType, TaskQueue: tq, Header: a.Header, Input: a.Input,
			ScheduleToCloseTimeout: durationpb.New(s2c), ScheduleToStartTimeout: durationpb.New(s2s),
			StartToCloseTimeout: durationpb.New(st2c), HeartbeatTimeout: durationpb.New(hb),
			WorkflowTaskCompletedEventId: c.wftCompleted, RetryPolicy: DefaultRetryPolicy(a.RetryPolicy),
			UseWorkflowBuildId: a.UseWorkflowBuildId, Priority: a.Priority,
		}}
	})
	if !s.Paused() { // a paused run's activities are offered when it is unpaused
		s.out.Tasks = append(s.out.Tasks, s.activityTask(tq.Name, ev.EventId, 1, a.Priority))
	}
}

// activityTimeouts fills in unset activity timeouts as Temporal does: from
// schedule-to-close when it is set, else from the run timeout; none may
// exceed the run timeout, and the heartbeat timeout not the start-to-close.
func activityTimeouts(a *commandpb.ScheduleActivityTaskCommandAttributes, run time.Duration) (s2c, s2s, st2c, hb time.Duration) {
	s2c, s2s, st2c, hb = a.ScheduleToCloseTimeout.AsDuration(), a.ScheduleToStartTimeout.AsDuration(), a.StartToCloseTimeout.AsDuration(), a.HeartbeatTimeout.AsDuration()
	switch {
	case s2c > 0:
		if s2s <= 0 || s2s > s2c {
			s2s = s2c
		}
		if st2c <= 0 || st2c > s2c {
			st2c = s2c
		}
	case st2c > 0:
		s2c = run
		if s2s <= 0 {
			s2s = run
		}
	}
	if run > 0 {
		s2c, s2s, st2c, hb = min(s2c, run), min(s2s, run), min(st2c, run), min(hb, run)
	}
	return s2c, s2s, st2c, min(hb, st2c)
}

// cancelActivity handles RequestCancelActivityTask. An activity that no
// worker has started is canceled at once; a started one learns about it
// from its next heartbeat.
func (c *cmdCtx) cancelActivity(scheduledID int64) {
	s := c.s
	act := s.Activities[scheduledID]
	if act != nil && act.CancelRequested {
		return // refused by validateCommands
	}
	ev := c.add(func(ev *historypb.HistoryEvent) {
		ev.Attributes = &historypb.HistoryEvent_ActivityTaskCancelRequestedEventAttributes{ActivityTaskCancelRequestedEventAttributes: &historypb.ActivityTaskCancelRequestedEventAttributes{
			ScheduledEventId: scheduledID, WorkflowTaskCompletedEventId: c.wftCompleted,
		}}
	})
	if act == nil {
		// It closed while this task ran (its close event is buffered): as
		// in Temporal the request is recorded and nothing else happens.
		return
	}
	if !act.Started {
		c.add(func(e *historypb.HistoryEvent) {
			e.Attributes = &historypb.HistoryEvent_ActivityTaskCanceledEventAttributes{ActivityTaskCanceledEventAttributes: &historypb.ActivityTaskCanceledEventAttributes{
				ScheduledEventId: scheduledID, LatestCancelRequestedEventId: ev.EventId,
			}}
		})
		c.needTask = true
	}
}

// ActivityByID returns the pending activity with the given activity id.
func (s *State) ActivityByID(id string) *Activity {
	if sid, ok := s.activityIDs[id]; ok {
		return s.Activities[sid]
	}
	return nil
}

// pendingActivity returns the activity a task token points at, if the
// token's attempt is the current, started one.
func (s *State) pendingActivity(scheduledID int64, attempt int32) (*Activity, error) {
	act := s.Activities[scheduledID]
	if !s.Running() || act == nil || !act.Started || (attempt != 0 && act.Attempt != attempt) {
		return nil, ErrStaleTask
	}
	return act, nil
}

// StartActivityTask records that a worker polled an activity attempt. No
// history event is written now: ActivityTaskStarted is written when the
// activity closes, with the final attempt number (as Temporal does).
func (s *State) StartActivityTask(now time.Time, scheduledID int64, attempt int32, requestID, identity string) (*Activity, error) {
	act := s.Activities[scheduledID]
	if !s.Running() || act == nil || act.Attempt != attempt || !act.NextAttemptTime.IsZero() || act.Paused || s.Paused() {
		return nil, ErrStaleTask // a paused run's task is offered again by the unpause
	}
	if act.Started {
		if act.StartedRequestID == requestID && requestID != "" {
			return act, nil
		}
		return nil, ErrStaleTask
	}
	if act.Attempt == 1 && s.applyActivityRules(now, act) {
		return nil, errPausedByRule // later attempts were checked when the last one failed
	}
	act.Started = true
	act.StartedTime = now
	act.StartedIdentity = identity
	act.StartedRequestID = requestID
	return act, nil
}

// StartEagerActivities implements Temporal's eager activity dispatch (on by
// default there): the activities a workflow task completion scheduled with
// RequestEagerExecution are started at once for the worker that completed
// the task, and their queued tasks are dropped; the engine returns them in
// the completion response, saving the worker an activity poll. Only
// activities scheduled by this completion (event id >= firstEventID) of a
// workflow that is still running qualify. The SDKs ask only for activities
// on the workflow's own task queue and only as many as they have free slots.
func (s *State) StartEagerActivities(now time.Time, firstEventID int64, cmds []*commandpb.Command, identity string, requestID func() string) []*Activity {
	if !s.Running() || s.Paused() {
		return nil
	}
	var started []*Activity
	for _, c := range cmds {
		a := c.GetScheduleActivityTaskCommandAttributes()
		if !a.GetRequestEagerExecution() {
			continue
		}
		act := s.ActivityByID(a.ActivityId)
		if act == nil || act.ScheduledEventID < firstEventID || act.Started {
			continue
		}
		if _, err := s.StartActivityTask(now, act.ScheduledEventID, act.Attempt, requestID(), identity); err != nil {
			continue
		}
		s.DropTask(ActivityTaskKind, act.ScheduledEventID)
		started = append(started, act)
	}
	return started
}

// writeActivityStarted writes the deferred ActivityTaskStarted event. Its
// time is when the attempt started, as in Temporal (tools such as
// `temporal workflow show` draw the attempt from it), not now.
func (s *State) writeActivityStarted(now time.Time, act *Activity) int64 {
	ev := s.addEvent(now, true, func(ev *historypb.HistoryEvent) {
		if !act.StartedTime.IsZero() {
			ev.EventTime = timestamppb.New(act.StartedTime)
		}
		ev.Attributes = &historypb.HistoryEvent_ActivityTaskStartedEventAttributes{ActivityTaskStartedEventAttributes: &historypb.ActivityTaskStartedEventAttributes{
			ScheduledEventId: act.ScheduledEventID, Identity: act.StartedIdentity, RequestId: act.StartedRequestID,
			Attempt: act.Attempt, LastFailure: act.LastFailure,
		}}
	})
	return ev.EventId
}

// CompleteActivity records a successful attempt.
func (s *State) CompleteActivity(now time.Time, scheduledID int64, attempt int32, result *commonpb.Payloads, identity string) error {
	act, err := s.pendingActivity(scheduledID, attempt)
	if err != nil {
		return err
	}
	started := s.writeActivityStarted(now, act)
	s.addEvent(now, true, func(ev *historypb.HistoryEvent) {
		ev.Attributes = &historypb.HistoryEvent_ActivityTaskCompletedEventAttributes{ActivityTaskCompletedEventAttributes: &historypb.ActivityTaskCompletedEventAttributes{
			Result: result, ScheduledEventId: scheduledID, StartedEventId: started, Identity: identity,
		}}
	})
	s.needWFT(now)
	return nil
}

// FailActivity records a failed attempt: it is retried under the activity's
// retry policy, or the activity fails.
func (s *State) FailActivity(now time.Time, scheduledID int64, attempt int32, f *failurepb.Failure, details *commonpb.Payloads, identity string) error {
	act, err := s.pendingActivity(scheduledID, attempt)
	if err != nil {
		return err
	}
	if details != nil {
		act.HeartbeatDetails = details
		act.LastHeartbeat = now // as Temporal records a failure's last heartbeat details
	}
	if s.retryActivity(now, act, f) {
		return nil
	}
	_, state := s.activityRetryDecision(now, act, f)
	started := s.writeActivityStarted(now, act)
	s.addEvent(now, true, func(ev *historypb.HistoryEvent) {
		ev.Attributes = &historypb.HistoryEvent_ActivityTaskFailedEventAttributes{ActivityTaskFailedEventAttributes: &historypb.ActivityTaskFailedEventAttributes{
			Failure: f, ScheduledEventId: scheduledID, StartedEventId: started, Identity: identity, RetryState: state,
		}}
	})
	s.needWFT(now)
	return nil
}

// CancelActivity records that the worker canceled the activity.
func (s *State) CancelActivity(now time.Time, scheduledID int64, attempt int32, details *commonpb.Payloads, identity string) error {
	act, err := s.pendingActivity(scheduledID, attempt)
	if err != nil {
		return err
	}
	started := s.writeActivityStarted(now, act)
	s.addEvent(now, true, func(ev *historypb.HistoryEvent) {
		ev.Attributes = &historypb.HistoryEvent_ActivityTaskCanceledEventAttributes{ActivityTaskCanceledEventAttributes: &historypb.ActivityTaskCanceledEventAttributes{
			Details: details, ScheduledEventId: scheduledID, StartedEventId: started, Identity: identity,
			LatestCancelRequestedEventId: act.CancelEventID,
		}}
	})
	s.needWFT(now)
	return nil
}

// Heartbeat records progress of a started attempt and reports whether the
// workflow asked to cancel it.
func (s *State) Heartbeat(now time.Time, scheduledID int64, attempt int32, details *commonpb.Payloads) (cancelRequested bool, err error) {
	act, err := s.pendingActivity(scheduledID, attempt)
	if err != nil {
		return false, err
	}
	act.LastHeartbeat = now
	if details != nil {
		act.HeartbeatDetails = details
	}
	return act.CancelRequested, nil
}

// activityRetryDecision follows Temporal's RetryActivity: an activity
// asked to cancel is not retried, schedule-to-start and schedule-to-close
// timeouts are deadlines (RETRY_STATE_TIMEOUT), anything else goes by the
// retry policy.
func (s *State) activityRetryDecision(now time.Time, act *Activity, f *failurepb.Failure) (time.Duration, enumspb.RetryState) {
	if act.CancelRequested {
		return 0, enumspb.RETRY_STATE_CANCEL_REQUESTED
	}
	if tt := f.GetTimeoutFailureInfo().GetTimeoutType(); tt == enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START || tt == enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE {
		return 0, enumspb.RETRY_STATE_TIMEOUT
	}
	var exp time.Time
	if d := act.Attrs.ScheduleToCloseTimeout.AsDuration(); d > 0 {
		exp = act.ScheduledTime.Add(d)
	}
	return nextRetry(act.Attrs.RetryPolicy, act.Attempt, f, now, exp)
}

// retryActivity schedules the next attempt after a backoff if the policy
// allows it. It reports whether it did.
func (s *State) retryActivity(now time.Time, act *Activity, f *failurepb.Failure) bool {
	delay, state := s.activityRetryDecision(now, act, f)
	if state == enumspb.RETRY_STATE_IN_PROGRESS || state == enumspb.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED {
		s.applyActivityRules(now, act) // a retryable failure: a workflow rule may pause the retry (rules.go)
	}
	if (act.Paused || act.resetRequested) && state == enumspb.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED {
		// As in Temporal, a paused activity's failure is not checked
		// against the attempt limit (it waits for the unpause), nor is
		// that of an attempt whose activity was reset (it starts over).
		state = enumspb.RETRY_STATE_IN_PROGRESS
	}
	if state != enumspb.RETRY_STATE_IN_PROGRESS {
		return false
	}
	act.Attempt++
	// The new attempt lives in the run record only (no event until the
	// activity closes): the record must be written, or a run evicted from
	// the engine's cache would come back on its old attempt.
	s.out.RecordChanged = true
	if act.resetRequested {
		act.Attempt = 1
		if act.resetHeartbeat {
			act.HeartbeatDetails, act.LastHeartbeat = nil, time.Time{}
		}
		act.resetRequested, act.resetHeartbeat = false, false
		delay = 0 // a reset activity runs again at once
	}
	act.Started = false
	act.StartedTime = time.Time{}
	act.StartedRequestID = ""
	act.LastAttemptCompleteTime = now
	act.LastFailure = f
	act.NextAttemptTime = now.Add(delay)
	if act.Paused {
		act.NextAttemptTime = time.Time{} // scheduled by the unpause
		return true
	}
	if delay <= 0 {
		s.dispatchActivity(now, act)
	}
	return true
}

// dispatchActivity makes the current attempt available to pollers.
func (s *State) dispatchActivity(now time.Time, act *Activity) {
	act.NextAttemptTime = time.Time{}
	act.AttemptScheduledTime = now
	if !s.Paused() { // else the unpause offers it
		s.out.Tasks = append(s.out.Tasks, s.attemptTask(act))
	}
}

// timeoutActivity handles an expired activity timeout as Temporal does:
// the attempt is retried if the policy allows it; otherwise the activity
// times out, reported as a schedule-to-close timeout when it ran out of
// time for another attempt (any type but schedule-to-start).
func (s *State) timeoutActivity(now time.Time, act *Activity, tt enumspb.TimeoutType) {
	f := &failurepb.Failure{
		Message:     "activity " + timeoutName(tt) + " timeout",
		FailureInfo: &failurepb.Failure_TimeoutFailureInfo{TimeoutFailureInfo: &failurepb.TimeoutFailureInfo{TimeoutType: tt}},
	}
	if act.Started && s.retryActivity(now, act, f) {
		return
	}
	_, state := s.activityRetryDecision(now, act, f)
	if state == enumspb.RETRY_STATE_TIMEOUT && tt != enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START {
		f = &failurepb.Failure{
			Message:     "Not enough time to schedule next retry before activity ScheduleToClose timeout, giving up retrying",
			FailureInfo: &failurepb.Failure_TimeoutFailureInfo{TimeoutFailureInfo: &failurepb.TimeoutFailureInfo{TimeoutType: enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE}},
		}
	}
	f.GetTimeoutFailureInfo().LastHeartbeatDetails = act.HeartbeatDetails
	if act.LastFailure != nil {
		f.Cause = act.LastFailure
	}
	var started int64
	if act.Started {
		started = s.writeActivityStarted(now, act)
	}
	s.addEvent(now, true, func(ev *historypb.HistoryEvent) {
		ev.Attributes = &historypb.HistoryEvent_ActivityTaskTimedOutEventAttributes{ActivityTaskTimedOutEventAttributes: &historypb.ActivityTaskTimedOutEventAttributes{
			Failure: f, ScheduledEventId: act.ScheduledEventID, StartedEventId: started, RetryState: state,
		}}
	})
	s.needWFT(now)
}

func timeoutName(tt enumspb.TimeoutType) string {
	switch tt {
	case enumspb.TIMEOUT_TYPE_START_TO_CLOSE:
		return "StartToClose"
	case enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START:
		return "ScheduleToStart"
	case enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE:
		return "ScheduleToClose"
	case enumspb.TIMEOUT_TYPE_HEARTBEAT:
		return "Heartbeat"
	}
	return "Unspecified"
}
