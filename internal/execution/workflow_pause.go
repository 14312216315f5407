package execution

import (
	"errors"
	"sort"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
)

// Workflow pause (PauseWorkflowExecution / UnpauseWorkflowExecution), as
// Temporal's history service does it (behind its
// frontend.WorkflowPauseEnabled flag; always on here):
//
//   - Pausing writes WorkflowExecutionPaused (buffered like a signal while
//     a workflow task runs, so a task in flight is left alone and its
//     completion, failure or timeout is accepted as usual). A workflow task
//     scheduled but not yet taken by a worker is failed at once with cause
//     WORKFLOW_PAUSE_REQUESTED_BEFORE_TASK_STARTED, which does not count as
//     a failed attempt; a held-back one is just dropped (a speculative task's
//     updates wait for the unpause; a transient retry is scheduled again by
//     the unpause, with its attempt count: history cannot tell it from a
//     task that failed while paused, so replay could not restart it at 1
//     as Temporal does).
//   - While paused no workflow task is scheduled: signals, timers, activity
//     results, cancel requests and child results are recorded and wait.
//     Updates are refused (FailedPrecondition), queries rejected with status
//     PAUSED, and a completion asking for a new task (ForceCreateNewWorkflowTask)
//     is refused. No activity attempt is handed to a worker (a queued task
//     is dropped when polled); one already running carries on and its
//     result is recorded. Timeouts of the run and of its activities still
//     run on wall-clock time, as in Temporal; terminate works as usual.
//   - Unpausing writes WorkflowExecutionUnpaused, schedules the workflow
//     task that was held back and offers the held activity attempts again
//     (an activity paused on its own stays paused).
//
// Both events are marked worker_may_ignore, as Temporal marks them, so SDKs
// that do not know them (the Go SDK 1.50) skip them on replay. The pause is
// state rebuilt from history (mutate), so replay and snapshots agree.

// ErrWorkflowAlreadyPaused and ErrWorkflowNotPaused carry Temporal's
// messages; the engine answers FailedPrecondition with them.
var (
	ErrWorkflowAlreadyPaused = errors.New("workflow is already paused.")
	ErrWorkflowNotPaused     = errors.New("workflow is not paused.")
	// ErrWorkflowPaused refuses an update to a paused run.
	ErrWorkflowPaused = errors.New("Workflow is paused. Cannot update the workflow.")
	// ErrPausedForceCreate refuses a completion that asks for a new
	// workflow task while the run is paused.
	ErrPausedForceCreate = errors.New("Workflow is paused and force create new workflow task is not allowed.")
)

// pauseIdentity names the server in the workflow task failure it writes
// when a pause finds a task no worker took yet.
const pauseIdentity = "sundial"

// Paused reports whether the run is open and paused.
func (s *State) Paused() bool { return s.paused != nil && s.Running() }

// ExecutionStatus is the status clients see: PAUSED for a paused open
// run, else the run's status.
func (s *State) ExecutionStatus() enumspb.WorkflowExecutionStatus {
	if s.Paused() {
		return enumspb.WORKFLOW_EXECUTION_STATUS_PAUSED
	}
	return s.Status
}

// WorkflowPauseInfo is Describe's pause info of a paused run, nil otherwise.
func (s *State) WorkflowPauseInfo() *workflowpb.WorkflowExecutionPauseInfo {
	if !s.Paused() {
		return nil
	}
	a := s.paused.GetWorkflowExecutionPausedEventAttributes()
	return &workflowpb.WorkflowExecutionPauseInfo{
		Identity:   a.GetIdentity(),
		PausedTime: s.paused.GetEventTime(),
		Reason:     a.GetReason(),
	}
}

// PauseWorkflow pauses the run. A repeated request with the request id of
// the pause in effect changes nothing and reports noop; any other request
// to a paused run is ErrWorkflowAlreadyPaused.
func (s *State) PauseWorkflow(now time.Time, identity, reason, requestID string) (noop bool, err error) {
	if !s.Running() {
		return false, ErrClosed
	}
	if s.paused != nil {
		if requestID != "" && s.paused.GetWorkflowExecutionPausedEventAttributes().GetRequestId() == requestID {
			return true, nil
		}
		return false, ErrWorkflowAlreadyPaused
	}
	s.failUnstartedWFTForPause(now)
	s.addEvent(now, true, func(ev *historypb.HistoryEvent) {
		ev.WorkerMayIgnore = true
		ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionPausedEventAttributes{WorkflowExecutionPausedEventAttributes: &historypb.WorkflowExecutionPausedEventAttributes{
			Identity: identity, Reason: reason, RequestId: requestID,
		}}
	})
	return false, nil
}

// failUnstartedWFTForPause resolves a workflow task no worker has taken:
// dispatching it now would run workflow code while paused, and nothing
// else would end it. A task in history fails; a held-back one is dropped
// (discardSpec restores the attempt count it was scheduled with). A
// started task is left to finish.
func (s *State) failUnstartedWFTForPause(now time.Time) {
	w := s.WFT
	if w == nil || w.StartedEventID != 0 {
		return
	}
	s.StickyQueue = ""
	if w.Speculative || w.Transient {
		s.discardSpec()
		return
	}
	s.addEvent(now, false, func(ev *historypb.HistoryEvent) {
		ev.Attributes = &historypb.HistoryEvent_WorkflowTaskFailedEventAttributes{WorkflowTaskFailedEventAttributes: &historypb.WorkflowTaskFailedEventAttributes{
			ScheduledEventId: w.ScheduledEventID,
			Cause:            enumspb.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_PAUSE_REQUESTED_BEFORE_TASK_STARTED,
			Identity:         pauseIdentity,
		}}
	})
}

// UnpauseWorkflow ends the pause: the workflow task held back is
// scheduled (or, before a start delay has passed, left to it) and the
// activity attempts held back are offered to workers.
func (s *State) UnpauseWorkflow(now time.Time, identity, reason, requestID string) error {
	if !s.Running() {
		return ErrClosed
	}
	if s.paused == nil {
		return ErrWorkflowNotPaused
	}
	s.addEvent(now, true, func(ev *historypb.HistoryEvent) {
		ev.WorkerMayIgnore = true
		ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionUnpausedEventAttributes{WorkflowExecutionUnpausedEventAttributes: &historypb.WorkflowExecutionUnpausedEventAttributes{
			Identity: identity, Reason: reason, RequestId: requestID,
		}}
	})
	if s.firstTaskScheduled || !now.Before(s.ExecutionTime()) {
		// (A task in flight is followed by one anyway: the buffered
		// events. Before a start delay has passed, Tick schedules it.)
		s.scheduleWFT(now)
	}
	ids := make([]int64, 0, len(s.Activities))
	for id := range s.Activities {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		if a := s.Activities[id]; activityWaitsForWorker(a) {
			s.out.Tasks = append(s.out.Tasks, s.attemptTask(a))
		}
	}
	return nil
}

// CheckCompletion refuses a workflow task completion Temporal refuses for
// a paused run before looking at it.
func (s *State) CheckCompletion(forceCreate bool) error {
	if forceCreate && s.Paused() {
		return ErrPausedForceCreate
	}
	return nil
}

// activityWaitsForWorker reports whether the activity's current attempt is
// due to be offered to a worker (not running, not backing off, not paused
// on its own).
func activityWaitsForWorker(a *Activity) bool {
	return !a.Started && a.NextAttemptTime.IsZero() && !a.Paused
}

// attemptTask is the matching task of the activity's current attempt.
func (s *State) attemptTask(a *Activity) Task {
	return s.activityTask(a.Attrs.TaskQueue.GetName(), a.ScheduledEventID, a.Attempt, a.Attrs.Priority)
}

// mutatePause applies the pause events (from mutate) and reports whether
// ev was one of them.
func (s *State) mutatePause(ev *historypb.HistoryEvent) bool {
	switch ev.Attributes.(type) {
	case *historypb.HistoryEvent_WorkflowExecutionPausedEventAttributes:
		s.paused = ev
	case *historypb.HistoryEvent_WorkflowExecutionUnpausedEventAttributes:
		s.paused = nil
	default:
		return false
	}
	s.out.StatusChanged = true
	return true
}

// workflowPauseEntries are the TemporalPauseInfo entries of a paused run,
// as Temporal writes them: "Workflow:<id>" and, with a reason,
// "Reason:<reason>".
func (s *State) workflowPauseEntries() []string {
	if !s.Paused() {
		return nil
	}
	out := []string{"Workflow:" + s.WorkflowID}
	if r := s.paused.GetWorkflowExecutionPausedEventAttributes().GetReason(); r != "" {
		out = append(out, "Reason:"+r)
	}
	return out
}
