package execution

import (
	"time"

	activitypb "go.temporal.io/api/activity/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// maxResetPoints is Temporal's default history.maxAutoResetPoints.
const maxResetPoints = 20

// Describe answers DescribeWorkflowExecution with the fields Temporal
// fills (its history service describe handler): configuration with the
// start's user metadata, the run summary with its root execution and
// auto-reset points, the extended info, and the pending activities,
// children and workflow task. now (the run's virtual time) decides whether
// an activity is still waiting out a retry backoff.
func (s *State) Describe(now time.Time) *workflowservice.DescribeWorkflowExecutionResponse {
	info := s.Info()
	info.AutoResetPoints = s.AutoResetPoints()
	if info.Memo == nil {
		info.Memo = &commonpb.Memo{}
	}
	if info.SearchAttributes == nil {
		info.SearchAttributes = &commonpb.SearchAttributes{}
	}
	ext := &workflowpb.WorkflowExecutionExtendedInfo{
		ExecutionExpirationTime: s.Start.GetWorkflowExecutionExpirationTime(),
		// Temporal reports the zero time when the run has no run timeout.
		RunExpirationTime: timestamppb.New(s.runExpiration()),
		OriginalStartTime: timestamppb.New(s.StartTime),
		CancelRequested:   s.CancelRequested,
		RequestIdInfos:    map[string]*workflowpb.RequestIdInfo{},
		PauseInfo:         s.WorkflowPauseInfo(),
		TimeSkippingInfo:  s.TimeSkippingInfo(now),
	}
	if ext.ExecutionExpirationTime.AsTime().Unix() <= 0 {
		ext.ExecutionExpirationTime = nil
	}
	if s.StartRequestID != "" {
		ext.RequestIdInfos[s.StartRequestID] = &workflowpb.RequestIdInfo{EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, EventId: 1}
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{
		ExecutionConfig:        s.Config(),
		WorkflowExecutionInfo:  info,
		PendingActivities:      s.describeActivities(now),
		PendingChildren:        s.PendingChildren(),
		PendingNexusOperations: s.PendingNexusOperations(),
		PendingWorkflowTask:    s.PendingWorkflowTask(),
		WorkflowExtendedInfo:   ext,
	}
}

// runExpiration is when the run times out: start + first task backoff +
// run timeout, capped at the execution expiration (zero: no run timeout).
func (s *State) runExpiration() time.Time {
	rt := s.Start.GetWorkflowRunTimeout().AsDuration()
	if rt <= 0 {
		return time.Time{}
	}
	t := s.ExecutionTime().Add(rt)
	if exp := s.expiration(); !exp.IsZero() && t.After(exp) {
		t = exp
	}
	return t
}

// describeActivities is PendingActivities as Temporal's describe shows
// them: an activity waiting out a retry backoff is SCHEDULED at its next
// attempt's time, with the interval it waits; options as normalised.
func (s *State) describeActivities(now time.Time) []*workflowpb.PendingActivityInfo {
	var out []*workflowpb.PendingActivityInfo
	for _, p := range s.PendingActivities() {
		a := s.ActivityByID(p.ActivityId)
		if a == nil {
			continue
		}
		p.Priority = a.Attrs.Priority
		p.NextAttemptScheduleTime, p.CurrentRetryInterval = nil, nil
		if !a.NextAttemptTime.IsZero() {
			p.ScheduledTime = ts(a.NextAttemptTime)
			if p.State == enumspb.PENDING_ACTIVITY_STATE_SCHEDULED && now.Before(a.NextAttemptTime) {
				p.NextAttemptScheduleTime = ts(a.NextAttemptTime)
				p.CurrentRetryInterval = durationpb.New(a.NextAttemptTime.Sub(a.LastAttemptCompleteTime))
			}
		}
		if a.LastHeartbeat.IsZero() {
			p.HeartbeatDetails = nil
		}
		at := a.Attrs
		p.ActivityOptions = &activitypb.ActivityOptions{
			TaskQueue:              &taskqueuepb.TaskQueue{Name: at.TaskQueue.GetName(), NormalName: at.TaskQueue.GetName()},
			ScheduleToCloseTimeout: at.ScheduleToCloseTimeout,
			ScheduleToStartTimeout: at.ScheduleToStartTimeout,
			StartToCloseTimeout:    at.StartToCloseTimeout,
			HeartbeatTimeout:       at.HeartbeatTimeout,
			Priority:               at.Priority,
			RetryPolicy: &commonpb.RetryPolicy{
				InitialInterval:    at.RetryPolicy.GetInitialInterval(),
				BackoffCoefficient: at.RetryPolicy.GetBackoffCoefficient(),
				MaximumInterval:    at.RetryPolicy.GetMaximumInterval(),
				MaximumAttempts:    at.RetryPolicy.GetMaximumAttempts(),
			},
		}
		out = append(out, p)
	}
	return out
}

// AutoResetPoints are the points `temporal workflow reset` offers: the
// first workflow task completed by each binary checksum / build id,
// carried over from earlier runs of a continue-as-new chain.
func (s *State) AutoResetPoints() *workflowpb.ResetPoints {
	if len(s.resetPoints) == 0 {
		return nil
	}
	return &workflowpb.ResetPoints{Points: s.resetPoints}
}

// addResetPoint records a reset point for a completed workflow task whose
// binary checksum and build id no earlier point has, as Temporal does. A
// point is resettable unless children, signals or cancels to other
// workflows are pending.
func (s *State) addResetPoint(ev *historypb.HistoryEvent) {
	a := ev.GetWorkflowTaskCompletedEventAttributes()
	sum, build := a.GetBinaryChecksum(), a.GetWorkerVersion().GetBuildId()
	if d := a.GetDeploymentVersion().GetBuildId(); d != "" {
		build = d
	}
	for _, p := range s.resetPoints {
		if p.BinaryChecksum == sum && p.BuildId == build {
			return
		}
	}
	s.resetPoints = append(s.resetPoints, &workflowpb.ResetPointInfo{
		BinaryChecksum: sum, BuildId: build, RunId: s.RunID, FirstWorkflowTaskCompletedId: ev.EventId,
		CreateTime: ev.EventTime,
		Resettable: len(s.Children) == 0 && len(s.ExternalCancels) == 0 && len(s.ExternalSignals) == 0,
	})
	if n := len(s.resetPoints); n > maxResetPoints {
		s.resetPoints = s.resetPoints[n-maxResetPoints:]
	}
}
