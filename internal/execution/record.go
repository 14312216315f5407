package execution

import (
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundial-io/sundial/internal/store"
	historypb "go.temporal.io/api/history/v1"
)

// Record returns the run's store record: its summary and the state that
// history does not hold.
func (s *State) Record() *store.RunRecord {
	return &store.RunRecord{
		Namespace:       s.Namespace,
		WorkflowID:      s.WorkflowID,
		RunID:           s.RunID,
		Info:            s.Info(),
		StartRequestID:  s.StartRequestID,
		Activities:      s.PendingActivities(),
		NexusOperations: s.PendingNexusOperations(),
		Buffered:        s.Buffered,
		ResetRunID:      s.Reset.RunID,
		ResetRequestID:  s.Reset.RequestID,
		Snapshot:        s.Snapshot(),
	}
}

// Load rebuilds a run from its record and history.
func Load(rec *store.RunRecord, events []*historypb.HistoryEvent) *State {
	s := Replay(rec.Namespace, rec.WorkflowID, rec.RunID, events)
	s.StartRequestID = rec.StartRequestID
	s.StoredDue = rec.Due
	s.Reset.RunID, s.Reset.RequestID = rec.ResetRunID, rec.ResetRequestID
	for _, p := range rec.Activities {
		a := s.ActivityByID(p.ActivityId)
		if a == nil {
			continue
		}
		a.Attempt = p.Attempt
		a.Paused, a.PauseInfo = p.Paused, p.PauseInfo
		if p.ActivityOptions != nil {
			s.restoreOptions(a, p.ActivityOptions)
		}
		a.HeartbeatDetails = p.HeartbeatDetails
		a.LastFailure = p.LastFailure
		if p.LastHeartbeatTime != nil {
			a.LastHeartbeat = p.LastHeartbeatTime.AsTime()
		}
		if p.ScheduledTime != nil {
			a.AttemptScheduledTime = p.ScheduledTime.AsTime()
		}
		if p.NextAttemptScheduleTime != nil {
			a.NextAttemptTime = p.NextAttemptScheduleTime.AsTime()
		}
		a.StartedIdentity = p.LastWorkerIdentity
		if p.LastAttemptCompleteTime != nil {
			a.LastAttemptCompleteTime = p.LastAttemptCompleteTime.AsTime()
		}
		if p.LastStartedTime != nil {
			a.Started = true
			a.StartedTime = p.LastStartedTime.AsTime()
		}
	}
	s.restoreNexus(rec.NexusOperations)
	for _, ev := range rec.Buffered {
		s.Buffered = append(s.Buffered, ev)
		s.applyBuffered(ev)
	}
	s.out = Outbox{}
	return s
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// PendingActivities describes the pending activities, as
// DescribeWorkflowExecution returns them.
func (s *State) PendingActivities() []*workflowpb.PendingActivityInfo {
	if len(s.Activities) == 0 {
		return nil
	}
	out := make([]*workflowpb.PendingActivityInfo, 0, len(s.Activities))
	for _, a := range s.Activities {
		st := enumspb.PENDING_ACTIVITY_STATE_SCHEDULED
		if a.Started {
			st = enumspb.PENDING_ACTIVITY_STATE_STARTED
		}
		if a.Paused && st == enumspb.PENDING_ACTIVITY_STATE_SCHEDULED {
			st = enumspb.PENDING_ACTIVITY_STATE_PAUSED
		} else if a.Paused && st == enumspb.PENDING_ACTIVITY_STATE_STARTED {
			st = enumspb.PENDING_ACTIVITY_STATE_PAUSE_REQUESTED
		}
		if a.CancelRequested {
			st = enumspb.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED
		}
		p := &workflowpb.PendingActivityInfo{
			ActivityId:              a.Attrs.ActivityId,
			ActivityType:            a.Attrs.ActivityType,
			State:                   st,
			HeartbeatDetails:        a.HeartbeatDetails,
			LastHeartbeatTime:       ts(a.LastHeartbeat),
			Attempt:                 a.Attempt,
			MaximumAttempts:         a.Attrs.RetryPolicy.GetMaximumAttempts(),
			ScheduledTime:           ts(a.AttemptScheduledTime),
			LastFailure:             a.LastFailure,
			LastWorkerIdentity:      a.StartedIdentity,
			NextAttemptScheduleTime: ts(a.NextAttemptTime),
			LastAttemptCompleteTime: ts(a.LastAttemptCompleteTime),
			Paused:                  a.Paused,
			PauseInfo:               a.PauseInfo,
		}
		if a.origAttrs != nil {
			p.ActivityOptions = ActivityOptionsOf(a) // changed options live in the record
		}
		if a.Started {
			p.LastStartedTime = ts(a.StartedTime)
		}
		if d := a.Attrs.ScheduleToCloseTimeout.AsDuration(); d > 0 {
			p.ExpirationTime = ts(a.ScheduledTime.Add(d))
		}
		out = append(out, p)
	}
	return out
}

// PendingChildren describes the pending children.
func (s *State) PendingChildren() []*workflowpb.PendingChildExecutionInfo {
	var out []*workflowpb.PendingChildExecutionInfo
	for id, c := range s.Children {
		out = append(out, &workflowpb.PendingChildExecutionInfo{
			WorkflowId: c.Attrs.WorkflowId, RunId: c.RunID, WorkflowTypeName: c.Attrs.WorkflowType.GetName(),
			InitiatedId: id, ParentClosePolicy: c.Attrs.ParentClosePolicy,
		})
	}
	return out
}

// PendingWorkflowTask describes the pending workflow task, if any.
func (s *State) PendingWorkflowTask() *workflowpb.PendingWorkflowTaskInfo {
	w := s.WFT
	if w == nil {
		return nil
	}
	st := enumspb.PENDING_WORKFLOW_TASK_STATE_SCHEDULED
	if w.StartedEventID != 0 {
		st = enumspb.PENDING_WORKFLOW_TASK_STATE_STARTED
	}
	return &workflowpb.PendingWorkflowTaskInfo{
		State: st, ScheduledTime: ts(w.ScheduledTime), OriginalScheduledTime: ts(w.ScheduledTime),
		StartedTime: ts(w.StartedTime), Attempt: w.Attempt,
	}
}

// Info summarizes the run for Describe and the visibility APIs.
func (s *State) Info() *workflowpb.WorkflowExecutionInfo {
	st := s.Start
	info := &workflowpb.WorkflowExecutionInfo{
		Execution:            &commonpb.WorkflowExecution{WorkflowId: s.WorkflowID, RunId: s.RunID},
		Type:                 st.GetWorkflowType(),
		StartTime:            ts(s.StartTime),
		CloseTime:            ts(s.CloseTime),
		Status:               s.ExecutionStatus(), // PAUSED for a paused run (workflow_pause.go)
		HistoryLength:        s.NextEventID - 1,
		ExecutionTime:        ts(s.ExecutionTime()),
		Memo:                 s.Memo,
		SearchAttributes:     s.Search,
		TaskQueue:            st.GetTaskQueue().GetName(),
		HistorySizeBytes:     s.HistorySize,
		FirstRunId:           st.GetFirstExecutionRunId(),
		RootExecution:        st.GetRootWorkflowExecution(),
		Priority:             s.Priority(),
		StateTransitionCount: s.NextEventID,
	}
	if p := s.pauseInfoAttribute(); p != nil {
		info.SearchAttributes = withPauseInfo(info.SearchAttributes, p)
	}
	info.VersioningInfo = s.VersioningInfo()
	info.SearchAttributes = s.withVersioningAttributes(info.SearchAttributes)
	info.WorkerDeploymentName = s.ver.version.GetDeploymentName()
	if info.RootExecution == nil {
		// A run without a parent is its own root, as Temporal reports it
		// (the UI draws the parent/child tree from this).
		info.RootExecution = &commonpb.WorkflowExecution{WorkflowId: s.WorkflowID, RunId: s.RunID}
	}
	if p := st.GetParentWorkflowExecution(); p != nil {
		info.ParentExecution = p
		info.ParentNamespaceId = st.ParentWorkflowNamespaceId
	}
	if !s.CloseTime.IsZero() {
		info.ExecutionDuration = durationpb.New(s.CloseTime.Sub(s.ExecutionTime()))
	}
	return info
}

// Config describes the run's configuration for DescribeWorkflowExecution.
func (s *State) Config() *workflowpb.WorkflowExecutionConfig {
	st := s.Start
	return &workflowpb.WorkflowExecutionConfig{
		TaskQueue:                  &taskqueuepb.TaskQueue{Name: st.GetTaskQueue().GetName(), Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		WorkflowExecutionTimeout:   st.GetWorkflowExecutionTimeout(),
		WorkflowRunTimeout:         st.GetWorkflowRunTimeout(),
		DefaultWorkflowTaskTimeout: st.GetWorkflowTaskTimeout(),
		UserMetadata:               s.StartMetadata,
	}
}
