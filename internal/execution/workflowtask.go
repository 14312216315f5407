package execution

import (
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	protocolpb "go.temporal.io/api/protocol/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
)

// DefaultWorkflowTaskTimeout is used when a start request sets none.
const DefaultWorkflowTaskTimeout = 10 * time.Second

// MaxWorkflowTaskTimeout caps the workflow task timeout, as Temporal does.
const MaxWorkflowTaskTimeout = 120 * time.Second

// StartWorkflow records the run's first event and schedules its first
// workflow task (unless the start is delayed by a backoff). now is the
// wall time; a start that inherits skipped time (time_skipping.go) begins
// on its virtual clock.
func (s *State) StartWorkflow(now time.Time, attrs *historypb.WorkflowExecutionStartedEventAttributes, requestID string) {
	s.RecordStart(now, attrs, requestID)
	s.ScheduleFirstTask(s.Clock(now))
}

// RecordStart writes the WorkflowExecutionStarted event only; callers that
// add events before the first task (signal-with-start) then call
// ScheduleFirstTask (with the run's Clock). now is the wall time.
func (s *State) RecordStart(now time.Time, attrs *historypb.WorkflowExecutionStartedEventAttributes, requestID string) {
	s.RecordStartWithMetadata(now, attrs, requestID, nil)
}

// RecordStartWithMetadata is RecordStart with the start request's user
// metadata (static summary and details), which Temporal keeps on the
// started event.
func (s *State) RecordStartWithMetadata(now time.Time, attrs *historypb.WorkflowExecutionStartedEventAttributes, requestID string, md *sdkpb.UserMetadata) {
	s.StartRequestID = requestID
	now = now.Add(attrs.GetTimeSkippingStatePropagation().GetInitialSkippedDuration().AsDuration())
	s.addEvent(now, false, func(ev *historypb.HistoryEvent) {
		ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{WorkflowExecutionStartedEventAttributes: attrs}
		ev.UserMetadata = md
	})
}

// ScheduleFirstTask schedules the first workflow task unless the start is
// delayed by a backoff (then a deadline schedules it).
func (s *State) ScheduleFirstTask(now time.Time) {
	if s.Start.FirstWorkflowTaskBackoff.AsDuration() <= 0 {
		s.scheduleWFT(now)
	}
}

// ExecutionTime is when the first workflow task may run.
func (s *State) ExecutionTime() time.Time {
	if !s.Reset.Time.IsZero() {
		return s.Reset.Time // a reset run's first task ran long ago
	}
	return s.StartTime.Add(s.Start.GetFirstWorkflowTaskBackoff().AsDuration())
}

// wftAttempt is the attempt number of the next workflow task: one more
// than the number of consecutive failed or timed-out tasks.
func (s *State) wftAttempt() int32 {
	return s.failedWFTs + 1
}

// scheduleWFT schedules a workflow task if the run needs one and has none;
// a paused run gets it when it is unpaused (workflow_pause.go).
func (s *State) scheduleWFT(now time.Time) {
	if !s.Running() || s.WFT != nil || s.Paused() {
		return
	}
	// A retry of a failed task is transient: its events stay out of
	// history unless it completes, so a task failing over and over does
	// not grow the history (as in Temporal).
	if s.failedWFTs > 0 && !s.specMode {
		s.snapshotSpec()
		s.specMode = true
		defer func() {
			s.specMode = false
			if s.WFT != nil {
				s.WFT.Transient = true
			}
		}()
	}
	name, kind := s.TaskQueue(), enumspb.TASK_QUEUE_KIND_NORMAL
	if s.StickyQueue != "" {
		name, kind = s.StickyQueue, enumspb.TASK_QUEUE_KIND_STICKY
	}
	timeout := s.Start.GetWorkflowTaskTimeout().AsDuration()
	ev := s.addEvent(now, false, func(ev *historypb.HistoryEvent) {
		ev.Attributes = &historypb.HistoryEvent_WorkflowTaskScheduledEventAttributes{WorkflowTaskScheduledEventAttributes: &historypb.WorkflowTaskScheduledEventAttributes{
			TaskQueue:           &taskqueuepb.TaskQueue{Name: name, Kind: kind, NormalName: normalName(kind, s.TaskQueue())},
			StartToCloseTimeout: durationpb.New(timeout),
			Attempt:             s.wftAttempt(),
		}}
	})
	s.out.Tasks = append(s.out.Tasks, s.workflowTask(name, kind == enumspb.TASK_QUEUE_KIND_STICKY, ev.EventId, s.WFT.Attempt))
}

func normalName(kind enumspb.TaskQueueKind, normal string) string {
	if kind == enumspb.TASK_QUEUE_KIND_STICKY {
		return normal
	}
	return ""
}

// ErrStaleTask is returned when a task no longer matches the run's state
// (already started, completed or superseded); matching drops such tasks.
var ErrStaleTask = fmt.Errorf("task is no longer pending")

// StartWorkflowTask records that a worker polled the workflow task scheduled
// at scheduledID. It returns the protocol messages (update requests) to
// deliver with it.
func (s *State) StartWorkflowTask(now time.Time, scheduledID int64, requestID, identity string) ([]*protocolpb.Message, error) {
	w := s.WFT
	if !s.Running() || w == nil || w.ScheduledEventID != scheduledID {
		return nil, ErrStaleTask
	}
	if w.StartedEventID != 0 {
		if w.RequestID == requestID && requestID != "" {
			return s.updateMessages(w), nil
		}
		return nil, ErrStaleTask
	}
	s.specMode = w.Speculative || w.Transient
	suggest, why := s.suggestContinueAsNew()
	s.addEvent(now, false, func(ev *historypb.HistoryEvent) {
		ev.Attributes = &historypb.HistoryEvent_WorkflowTaskStartedEventAttributes{WorkflowTaskStartedEventAttributes: &historypb.WorkflowTaskStartedEventAttributes{
			ScheduledEventId:            scheduledID,
			Identity:                    identity,
			RequestId:                   requestID,
			HistorySizeBytes:            s.HistorySize,
			SuggestContinueAsNew:        suggest,
			SuggestContinueAsNewReasons: why,
		}}
	})
	s.specMode = false
	w.UpdateIDs = w.UpdateIDs[:0]
	for _, u := range s.sortedUpdates() {
		if (u.State == UpdateAdmitted || u.State == UpdateSent) && !u.InHistory {
			u.State = UpdateSent
			w.UpdateIDs = append(w.UpdateIDs, u.ID)
		}
	}
	return s.updateMessages(w), nil
}

func (s *State) updateMessages(w *WorkflowTask) []*protocolpb.Message {
	var msgs []*protocolpb.Message
	for _, id := range w.UpdateIDs {
		u := s.Updates[id]
		if u == nil || u.State != UpdateSent {
			continue
		}
		body, err := anypb.New(u.Request)
		if err != nil {
			continue
		}
		msgs = append(msgs, &protocolpb.Message{
			Id:                 id + "/request",
			ProtocolInstanceId: id,
			SequencingId:       &protocolpb.Message_EventId{EventId: w.StartedEventID - 1},
			Body:               body,
		})
	}
	return msgs
}

// FailWorkflowTask records a workflow task failure reported by a worker
// (RespondWorkflowTaskFailed) and schedules the next attempt. Updates the
// task delivered are delivered again with the retry, as in Temporal: the
// worker replays the whole history, and an update whose handler failed the
// task once may well succeed the next time.
func (s *State) FailWorkflowTask(now time.Time, cause enumspb.WorkflowTaskFailedCause, failure *failurepb.Failure, identity string) {
	if s.WFT == nil {
		return
	}
	s.failWFT(now, cause, failure, identity)
}

// RefuseWorkflowTask fails a workflow task whose completion the server
// refused (a bad command, message or search attribute). The updates it
// delivered are aborted, as Temporal does: the workflow saw them and its
// answer was refused, so retrying them would most likely fail the same way.
func (s *State) RefuseWorkflowTask(now time.Time, cause enumspb.WorkflowTaskFailedCause, failure *failurepb.Failure, identity string) {
	if s.WFT == nil {
		return
	}
	s.abortDelivered(s.WFT)
	s.failWFT(now, cause, failure, identity)
}

func (s *State) failWFT(now time.Time, cause enumspb.WorkflowTaskFailedCause, failure *failurepb.Failure, identity string) {
	w := s.WFT
	if w.Transient {
		s.failTransient()
	} else {
		s.addEvent(now, false, func(ev *historypb.HistoryEvent) {
			ev.Attributes = &historypb.HistoryEvent_WorkflowTaskFailedEventAttributes{WorkflowTaskFailedEventAttributes: &historypb.WorkflowTaskFailedEventAttributes{
				ScheduledEventId: w.ScheduledEventID,
				StartedEventId:   w.StartedEventID,
				Cause:            cause,
				Failure:          failure,
				Identity:         identity,
			}}
		})
	}
	s.afterWFTFailure(now)
}

// timeoutWorkflowTask times out the started workflow task.
func (s *State) timeoutWorkflowTask(now time.Time) {
	w := s.WFT
	if w.Transient {
		s.failTransient()
	} else {
		s.addEvent(now, false, func(ev *historypb.HistoryEvent) {
			ev.Attributes = &historypb.HistoryEvent_WorkflowTaskTimedOutEventAttributes{WorkflowTaskTimedOutEventAttributes: &historypb.WorkflowTaskTimedOutEventAttributes{
				ScheduledEventId: w.ScheduledEventID,
				StartedEventId:   w.StartedEventID,
				TimeoutType:      enumspb.TIMEOUT_TYPE_START_TO_CLOSE,
			}}
		})
	}
	s.afterWFTFailure(now)
}

// afterWFTFailure drops stickiness (the worker's cache may be gone),
// returns delivered updates to the admitted state, flushes buffered events
// and schedules a retry.
func (s *State) afterWFTFailure(now time.Time) {
	s.StickyQueue = ""
	for _, u := range s.Updates {
		if u.State == UpdateSent {
			u.State = UpdateAdmitted
		}
	}
	s.flushBuffered()
	if s.Paused() && s.failedWFTs == 0 {
		// No task follows while paused; Replay counts a failure no task
		// follows as an attempt (whatever queue it was on), and so must the
		// live state: the unpause schedules the retry.
		s.failedWFTs = 1
	}
	s.scheduleWFT(now)
}

// stickyScheduleToStartTimeout handles a sticky workflow task no sticky
// poller took in time. As in Temporal a task recorded in history times out
// (WorkflowTaskTimedOut, SCHEDULE_TO_START, no attempt added) and a new one
// is scheduled on the normal queue. A task whose events are still held back
// (speculative or transient) is only moved to the normal queue.
func (s *State) stickyScheduleToStartTimeout(now time.Time) {
	w := s.WFT
	if w.Speculative || w.Transient {
		s.stickyTimedOut()
		return
	}
	s.addEvent(now, false, func(ev *historypb.HistoryEvent) {
		ev.Attributes = &historypb.HistoryEvent_WorkflowTaskTimedOutEventAttributes{WorkflowTaskTimedOutEventAttributes: &historypb.WorkflowTaskTimedOutEventAttributes{
			ScheduledEventId: w.ScheduledEventID,
			TimeoutType:      enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START,
		}}
	})
	s.afterWFTFailure(now)
}

// StickyTimedOut moves a sticky workflow task that no sticky poller took in
// time back to the normal queue. No event is written: the task itself is
// unchanged, only where it is dispatched.
func (s *State) stickyTimedOut() {
	w := s.WFT
	s.StickyQueue = ""
	w.Sticky = false
	w.Queue = s.TaskQueue()
	s.out.Tasks = append(s.out.Tasks, s.workflowTask(w.Queue, false, w.ScheduledEventID, w.Attempt))
}

// ResetSticky clears the run's sticky queue (ResetStickyTaskQueue,
// ShutdownWorker). A pending, not yet started task on the sticky queue is
// re-dispatched to the normal queue.
func (s *State) ResetSticky() {
	s.StickyQueue = ""
	if s.WFT != nil && s.WFT.Sticky && s.WFT.StartedEventID == 0 {
		s.stickyTimedOut()
	}
}

// DropTask removes a not-yet-dispatched task from the outbox: the engine
// handed it to a worker directly.
func (s *State) DropTask(kind TaskKind, scheduledID int64) {
	tasks := s.out.Tasks[:0]
	for _, t := range s.out.Tasks {
		if !(t.Kind == kind && t.ScheduledEventID == scheduledID) {
			tasks = append(tasks, t)
		}
	}
	s.out.Tasks = tasks
}
