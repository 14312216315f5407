package execution

import (
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/api/workflowservice/v1"
)

// specSnapshot is what dropping a speculative task restores.
type specSnapshot struct {
	nextEventID   int64
	historySize   int64
	lastEventTime time.Time
	failedWFTs    int32
}

// scheduleSpeculativeWFT schedules a workflow task whose events stay out
// of history until something makes them matter.
func (s *State) scheduleSpeculativeWFT(now time.Time) {
	if s.failedWFTs > 0 {
		s.scheduleWFT(now) // a retry: transient, not speculative
		return
	}
	s.snapshotSpec()
	s.specMode = true
	s.scheduleWFT(now)
	s.specMode = false
	if s.WFT != nil {
		s.WFT.Speculative = true
	}
}

func (s *State) snapshotSpec() {
	s.specSnap = specSnapshot{s.NextEventID, s.HistorySize, s.LastEventTime, s.failedWFTs}
}

// discardSpec forgets the held events of a speculative or transient task
// and rewinds the counters to before it.
func (s *State) discardSpec() {
	s.spec = nil
	s.WFT = nil
	s.NextEventID = s.specSnap.nextEventID
	s.HistorySize = s.specSnap.historySize
	s.LastEventTime = s.specSnap.lastEventTime
	s.failedWFTs = s.specSnap.failedWFTs
}

// failTransient ends a failed or timed-out transient task: nothing is
// written, only the attempt count grows.
func (s *State) failTransient() {
	s.discardSpec()
	s.failedWFTs++
}

// materialize writes a speculative task's events to history: another
// event arrived, or the task did more than reject updates.
func (s *State) materialize() {
	if len(s.spec) == 0 {
		return
	}
	s.out.Events = append(s.out.Events, s.spec...)
	s.spec = nil
	if s.WFT != nil {
		s.WFT.Speculative = false
		s.WFT.Transient = false
	}
}

// SpeculativeEvents returns the events of a speculative task that are not
// in the stored history; a poll response appends them.
func (s *State) SpeculativeEvents() []*historypb.HistoryEvent {
	return append([]*historypb.HistoryEvent(nil), s.spec...)
}

// Dropped reports whether the last CompleteWorkflowTask dropped a
// speculative task; the worker must then rewind to PrevStartedEventID.
func (s *State) Dropped() bool { return s.dropped }

// droppable reports whether completing the speculative task changes
// nothing but rejecting updates.
func (s *State) droppable(req *workflowservice.RespondWorkflowTaskCompletedRequest) bool {
	if s.WFT == nil || !s.WFT.Speculative || len(s.spec) == 0 || len(req.Commands) > 0 || len(s.Buffered) > 0 || req.ForceCreateNewWorkflowTask {
		return false
	}
	for _, m := range req.Messages {
		body, err := m.GetBody().UnmarshalNew()
		if err != nil {
			return false
		}
		if _, ok := body.(*updatepb.Rejection); !ok {
			return false
		}
	}
	return true
}

// dropSpeculative ends a speculative task that only rejected updates:
// its events are discarded and the counters rewound.
func (s *State) dropSpeculative(now time.Time, req *workflowservice.RespondWorkflowTaskCompletedRequest) error {
	w := s.WFT
	for _, m := range req.Messages {
		if err := s.handleMessage(now, m); err != nil {
			return err
		}
	}
	s.rejectUnprocessed(w.UpdateIDs)
	s.discardSpec()
	s.dropped = true
	if req.StickyAttributes.GetWorkerTaskQueue().GetName() != "" {
		s.StickyQueue = req.StickyAttributes.WorkerTaskQueue.Name
		s.StickyTimeout = req.StickyAttributes.ScheduleToStartTimeout.AsDuration()
	}
	if s.hasUndeliveredUpdates() {
		s.scheduleSpeculativeWFT(now)
	}
	return nil
}

// StoredNextEventID is the id the next event written to history will have:
// NextEventID less the events of a speculative task, which are not
// written (yet).
func (s *State) StoredNextEventID() int64 { return s.NextEventID - int64(len(s.spec)) }

// SpeculativeScheduleToStartTimeout is how long a speculative workflow task
// on the normal queue waits for a worker (Temporal's
// SpeculativeWorkflowTaskScheduleToStartTimeout). On a sticky queue the
// sticky schedule-to-start timeout applies instead.
const SpeculativeScheduleToStartTimeout = 5 * time.Second

func speculativeDue(w *WorkflowTask, now time.Time, sticky time.Duration) bool {
	timeout := SpeculativeScheduleToStartTimeout
	if w.Sticky {
		timeout = sticky
	}
	return !now.Before(w.ScheduledTime.Add(timeout))
}

// speculativeNotStarted times out a speculative task that no worker took
// in time, as Temporal does: its scheduled event is written, followed by
// WorkflowTaskTimedOut (SCHEDULE_TO_START), and a normal task on the
// normal queue replaces it (attempt 1: a schedule-to-start timeout is not
// a failure). The updates it carried go with the new task.
func (s *State) speculativeNotStarted(now time.Time) {
	w := s.WFT
	s.materialize()
	s.addEvent(now, false, func(ev *historypb.HistoryEvent) {
		ev.Attributes = &historypb.HistoryEvent_WorkflowTaskTimedOutEventAttributes{WorkflowTaskTimedOutEventAttributes: &historypb.WorkflowTaskTimedOutEventAttributes{
			ScheduledEventId: w.ScheduledEventID,
			TimeoutType:      enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START,
		}}
	})
	s.StickyQueue = ""
	s.scheduleWFT(now)
}
