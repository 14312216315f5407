package execution

import (
	"errors"
	"fmt"
	"sort"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	updatepb "go.temporal.io/api/update/v1"
	"google.golang.org/protobuf/proto"
)

// Identities Temporal writes on the events a reset creates; workers and
// tools (the Web UI, tctl's reset detection) recognize them.
const (
	// ResetterIdentity terminates the run being replaced.
	ResetterIdentity = "history-resetter"
	// historyServiceIdentity starts and fails the reset point's workflow
	// task in the new run.
	historyServiceIdentity = "history-service"
)

// ResetInfo is what a run knows about ResetWorkflowExecution.
type ResetInfo struct {
	// RunID is set on a run that was reset: the newest run made from it.
	RunID string
	// RequestID is set on a run a reset created: that reset's request id.
	RequestID string
	// Time is when this run was created by a reset (zero otherwise). The
	// run's start time, run timeout and execution timeout count from it.
	Time time.Time
	// OriginalStartTime is the time of the WorkflowExecutionStarted event
	// (a reset run's StartTime is its reset time).
	OriginalStartTime time.Time
}

// ErrResetPoint is wrapped by errors that reject the requested reset
// point; the frontend answers InvalidArgument.
var ErrResetPoint = errors.New("invalid reset point")

// ResetParams describe a reset of a base run to one of its workflow tasks.
type ResetParams struct {
	Now       time.Time
	RunID     string // the new run's id
	BaseRunID string
	Reason    string
	// Prefix is the base run's history up to (not including) the reset
	// point's workflow-task-finish event.
	Prefix []*historypb.HistoryEvent
	// StartRequestID is the base run's start request id (kept, so a retried
	// start of the original request finds the reset run); RequestID is the
	// reset request's.
	StartRequestID string
	RequestID      string
}

// NewResetRun builds the run that replaces a reset workflow, as Temporal
// does: the base run's history up to the reset point is copied unchanged,
// the reset point's workflow task is failed with cause RESET_WORKFLOW
// (naming the base and new runs, which is how workers learn the new run
// id while they replay) and activities that had started are failed. An
// error wrapping ErrResetPoint means the point is not a workflow task's
// end. The caller then closes the run being replaced and calls FinishReset.
func NewResetRun(namespace, workflowID string, p ResetParams) (*State, error) {
	s := New(namespace, workflowID, p.RunID)
	for _, ev := range p.Prefix {
		ev = proto.Clone(ev).(*historypb.HistoryEvent)
		s.apply(ev)
		s.out.Events = append(s.out.Events, ev)
	}
	if s.Start == nil || !s.Running() || s.WFT == nil {
		next := int64(len(p.Prefix)) + 1
		return nil, fmt.Errorf("%w: Can only reset workflow to event ID in range [WorkflowTaskScheduled +1, WorkflowTaskStarted + 1]: %d", ErrResetPoint, next)
	}
	s.StartRequestID = p.StartRequestID
	s.Reset.RequestID = p.RequestID
	now := s.Clock(p.Now) // p.Now is wall time; the prefix may have skipped (time_skipping.go)
	w := s.WFT
	if w.StartedEventID == 0 {
		s.addEvent(now, false, func(ev *historypb.HistoryEvent) {
			ev.Attributes = &historypb.HistoryEvent_WorkflowTaskStartedEventAttributes{WorkflowTaskStartedEventAttributes: &historypb.WorkflowTaskStartedEventAttributes{
				ScheduledEventId: w.ScheduledEventID,
				Identity:         historyServiceIdentity,
				RequestId:        p.RequestID,
				HistorySizeBytes: s.HistorySize,
			}}
		})
	}
	s.addEvent(now, false, func(ev *historypb.HistoryEvent) {
		ev.Attributes = &historypb.HistoryEvent_WorkflowTaskFailedEventAttributes{WorkflowTaskFailedEventAttributes: &historypb.WorkflowTaskFailedEventAttributes{
			ScheduledEventId: w.ScheduledEventID,
			StartedEventId:   w.StartedEventID,
			Cause:            enumspb.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW,
			Failure:          resetFailure(p.Reason),
			Identity:         historyServiceIdentity,
			BaseRunId:        p.BaseRunID,
			NewRunId:         p.RunID,
		}}
	})
	s.failStartedActivities(now, p.Reason)
	return s, nil
}

// FinishReset completes a run made by NewResetRun: signals received after
// the reset point (after, oldest first: the rest of the base run and of
// the runs that continued it, including what closing the replaced run
// flushed) are recorded again unless excluded, a workflow task is
// scheduled, and activities that were scheduled but not running, children
// not yet started and pending external signals and cancels are dispatched
// as after a restart. Between the reapplied events and the workflow task,
// the post-reset operations' option changes are applied, each merged into
// the options the run has then (as Temporal's resetter does; one that
// changes nothing records nothing), so the new run's first task already
// follows a versioning override set there.
func (s *State) FinishReset(now time.Time, after []*historypb.HistoryEvent, excludeSignals, excludeUpdates bool, options ...OptionsMerge) error {
	for _, ev := range after {
		if a := ev.GetWorkflowExecutionSignaledEventAttributes(); a != nil && !excludeSignals {
			s.addEvent(now, false, func(ev *historypb.HistoryEvent) {
				ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionSignaledEventAttributes{WorkflowExecutionSignaledEventAttributes: &historypb.WorkflowExecutionSignaledEventAttributes{
					SignalName: a.SignalName, Input: a.Input, Identity: a.Identity, Header: a.Header, RequestId: a.RequestId,
					ExternalWorkflowExecution: a.ExternalWorkflowExecution,
				}}
			})
		}
		if req := reappliedUpdate(ev); req != nil && !excludeUpdates {
			s.addEvent(now, false, func(ev *historypb.HistoryEvent) {
				ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionUpdateAdmittedEventAttributes{WorkflowExecutionUpdateAdmittedEventAttributes: &historypb.WorkflowExecutionUpdateAdmittedEventAttributes{
					Request: req, Origin: enumspb.UPDATE_ADMITTED_EVENT_ORIGIN_REAPPLY,
				}}
			})
		}
	}
	for _, merge := range options {
		o, err := merge(s.WorkflowOptions())
		if err != nil {
			return err
		}
		if _, err := s.UpdateWorkflowOptions(now, o, ""); err != nil {
			return err
		}
	}
	s.scheduleWFT(now)
	o := s.recoverRest(Outbox{}, true)
	s.out.Tasks = append(s.out.Tasks, o.Tasks...)
	s.out.Actions = append(s.out.Actions, o.Actions...)
	return nil
}

// reappliedUpdate returns the request of an update a reset records again:
// one admitted by an UpdateAdmitted event, or accepted with its request in
// the UpdateAccepted event (an accepted event without it follows an
// UpdateAdmitted event, which is reapplied instead), as Temporal does.
func reappliedUpdate(ev *historypb.HistoryEvent) *updatepb.Request {
	if a := ev.GetWorkflowExecutionUpdateAdmittedEventAttributes(); a != nil {
		return a.Request
	}
	return ev.GetWorkflowExecutionUpdateAcceptedEventAttributes().GetAcceptedRequest()
}

// applyUpdateAdmitted registers an update admitted by a history event.
func (s *State) applyUpdateAdmitted(a *historypb.WorkflowExecutionUpdateAdmittedEventAttributes) {
	id := a.GetRequest().GetMeta().GetUpdateId()
	if id == "" || s.Updates[id] != nil {
		return
	}
	s.updateSeq++
	s.Updates[id] = &Update{ID: id, State: UpdateAdmitted, Request: a.Request, InHistory: true, seq: s.updateSeq}
}

// resetFailure is the failure Temporal records for what a reset cut short.
func resetFailure(reason string) *failurepb.Failure {
	return &failurepb.Failure{Message: reason, FailureInfo: &failurepb.Failure_ResetWorkflowFailureInfo{ResetWorkflowFailureInfo: &failurepb.ResetWorkflowFailureInfo{}}}
}

// failStartedActivities fails the activities whose start is in the copied
// history: their attempt belonged to the old run. (Sundial, like
// Temporal for activities with a retry policy, writes ActivityTaskStarted
// only when the activity closes, so this is rare: most pending activities
// are simply scheduled again.)
func (s *State) failStartedActivities(now time.Time, reason string) {
	var started []*Activity
	for _, a := range s.Activities {
		if a.StartedEventID != 0 {
			started = append(started, a)
		}
	}
	sort.Slice(started, func(i, j int) bool { return started[i].ScheduledEventID < started[j].ScheduledEventID })
	for _, a := range started {
		f := resetFailure(reason)
		f.GetResetWorkflowFailureInfo().LastHeartbeatDetails = a.HeartbeatDetails
		s.addEvent(now, false, func(ev *historypb.HistoryEvent) {
			ev.Attributes = &historypb.HistoryEvent_ActivityTaskFailedEventAttributes{ActivityTaskFailedEventAttributes: &historypb.ActivityTaskFailedEventAttributes{
				ScheduledEventId: a.ScheduledEventID,
				StartedEventId:   a.StartedEventID,
				Failure:          f,
				RetryState:       enumspb.RETRY_STATE_NON_RETRYABLE_FAILURE,
				Identity:         a.StartedIdentity,
			}}
		})
	}
}

// applyResetTaskFailed is the part of applying WorkflowTaskFailed that is
// particular to resets. A reset always restarts the workflow task attempt
// count. The failed event that created this run (NewRunId is this run)
// makes its time the run's start: the run and execution timeouts count
// from it, and the activities still pending are scheduled anew at it.
func (s *State) applyResetTaskFailed(ev *historypb.HistoryEvent, a *historypb.WorkflowTaskFailedEventAttributes) {
	if a.Cause != enumspb.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW {
		return
	}
	s.failedWFTs = 0
	if a.NewRunId != s.RunID {
		return // copied from an earlier reset of this workflow
	}
	t := ev.EventTime.AsTime()
	s.Reset.OriginalStartTime = s.StartTime
	s.Reset.Time = t
	s.StartTime = t
	for _, act := range s.Activities {
		if !act.Started {
			act.ScheduledTime = t
			act.AttemptScheduledTime = t
			act.Attempt = 1
		}
	}
}

// TerminateForReset closes the run because it is being replaced by the
// reset run resetRunID. Unlike Terminate it neither applies the parent
// close policy (the reset run keeps the children) nor reports to a parent
// (the reset run takes this run's place), as in Temporal.
func (s *State) TerminateForReset(now time.Time, reason, resetRunID string) error {
	if !s.Running() {
		return ErrClosed
	}
	s.forceCloseWFT(now)
	s.addEvent(now, false, func(ev *historypb.HistoryEvent) {
		ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionTerminatedEventAttributes{WorkflowExecutionTerminatedEventAttributes: &historypb.WorkflowExecutionTerminatedEventAttributes{
			Reason: reason, Identity: ResetterIdentity,
		}}
	})
	s.closeUpdates()
	s.WFT = nil
	s.Reset.RunID = resetRunID
	return nil
}

// MarkReset records that the (closed) run was reset to run resetRunID.
func (s *State) MarkReset(resetRunID string) {
	s.Reset.RunID = resetRunID
	s.out.RecordChanged = true
}

// TerminatedByReset reports whether the run was closed by a reset.
func (s *State) TerminatedByReset() bool {
	return s.CloseEvent.GetWorkflowExecutionTerminatedEventAttributes().GetIdentity() == ResetterIdentity && s.Reset.RunID != ""
}
