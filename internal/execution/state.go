// Package execution is the pure state machine of one workflow run.
//
// A State is changed only by history events: live operations (a signal, a
// completed workflow task, a fired timer) create events and apply them with
// the same function that Replay uses to rebuild a State from a stored
// history. Operations never do I/O: what they cause outside the run (tasks
// to dispatch, children to start, parents to notify) is collected in an
// Outbox that the engine drains after it has persisted the new events.
package execution

import (
	"time"

	commonpb "go.temporal.io/api/common/v1"
	deploymentpb "go.temporal.io/api/deployment/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	updatepb "go.temporal.io/api/update/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// State is the in-memory mutable state of one workflow run.
type State struct {
	Namespace      string
	WorkflowID     string
	RunID          string
	StartRequestID string
	// StoredDue is the engine's bookkeeping, never read here: the Due of
	// the run's stored record (store.RunRecord.Due), so the next write can
	// move the run's due index entry without reading it.
	StoredDue time.Time
	// StartMetadata is the user metadata (static summary, details) of the
	// started event.
	StartMetadata *sdkpb.UserMetadata
	lim           *Limits // nil: DefaultLimits
	// activityRules are the namespace's workflow rules (rules.go).
	activityRules []*ActivityRule
	// resetPoints are the run's auto-reset points (Describe's
	// AutoResetPoints), derived from WorkflowTaskCompleted events.
	resetPoints []*workflowpb.ResetPointInfo

	Start         *historypb.WorkflowExecutionStartedEventAttributes
	StartTime     time.Time
	Status        enumspb.WorkflowExecutionStatus
	CloseTime     time.Time
	CloseEvent    *historypb.HistoryEvent
	NextEventID   int64
	HistorySize   int64
	LastEventTime time.Time

	// WFT is the pending workflow task, nil when there is none.
	WFT *WorkflowTask
	// PrevStartedEventID is the started event id of the last completed
	// workflow task: a sticky poll returns only the events after it.
	PrevStartedEventID int64
	// firstTaskScheduled is false while the first workflow task waits for
	// FirstWorkflowTaskBackoff (retry, cron or start delay).
	firstTaskScheduled bool
	// failedWFTs counts consecutive failed or timed-out workflow tasks.
	failedWFTs    int32
	StickyQueue   string
	StickyTimeout time.Duration

	Activities map[int64]*Activity
	// NexusOps are the pending Nexus operations (nexus.go), by scheduled
	// event id.
	NexusOps map[int64]*NexusOp
	// nexusEndpoints maps endpoint names to ids for the workflow task
	// being completed (SetNexusEndpoints).
	nexusEndpoints  map[string]string
	activityIDs     map[string]int64
	Timers          map[string]*Timer
	Children        map[int64]*Child
	ExternalSignals map[int64]*External
	ExternalCancels map[int64]*External
	Updates         map[string]*Update
	updateSeq       int64
	// signalRequests holds request ids of received signals, so a retried
	// or re-driven signal is applied once.
	signalRequests  map[string]bool
	CancelRequested bool
	// paused is the WorkflowExecutionPaused event of a paused run, nil
	// when it is not paused (workflow_pause.go).
	paused *historypb.HistoryEvent
	// skip is the run's time skipping: its virtual clock (time_skipping.go).
	skip timeSkipping
	// Reset links the run to resets (see ResetInfo).
	Reset  ResetInfo
	Memo   *commonpb.Memo
	Search *commonpb.SearchAttributes
	// priority is the priority set by UpdateWorkflowExecutionOptions
	// (options.go), when priorityUpdated.
	priority        *commonpb.Priority
	priorityUpdated bool
	// ver is the run's worker versioning (versioning.go).
	ver versioning
	// Buffered events arrived while a workflow task was running; they get
	// ids when the task ends.
	Buffered      []*historypb.HistoryEvent
	bufferedBytes int

	// spec holds the scheduled/started events of a speculative workflow
	// task (one run only to deliver updates). They are written to history
	// only if the task turns out to matter; a task whose updates were all
	// rejected is dropped without a trace, as in Temporal.
	spec     []*historypb.HistoryEvent
	specMode bool
	specSnap specSnapshot
	dropped  bool
	// closeAttempted is set when the last workflow task tried to close the
	// run but was failed because events it had not seen were waiting
	// (UNHANDLED_COMMAND): its retry will most likely close the run, so
	// updates are refused while it runs (ErrWorkflowClosing), as in Temporal.
	closeAttempted bool
	// completing is set while CompleteWorkflowTask applies commands: a run
	// closed by one of them settles its updates only after the task's
	// remaining protocol messages (closeUpdates).
	completing bool

	// attached holds completion callbacks attached to the running run by
	// later starts (nexus_async.go), and their request ids.
	attached nexusAttached

	out Outbox
}

// WorkflowTask is the state of the pending workflow task.
type WorkflowTask struct {
	ScheduledEventID int64
	StartedEventID   int64 // 0 until a worker polled it
	Attempt          int32
	Queue            string // task queue it is dispatched to (sticky or normal)
	Sticky           bool
	// Speculative tasks exist only to deliver updates; transient ones are
	// retries of a failed task. Their events are held in State.spec.
	Speculative   bool
	Transient     bool
	ScheduledTime time.Time
	StartedTime   time.Time
	Timeout       time.Duration // start-to-close
	RequestID     string
	Identity      string
	// UpdateIDs are the updates whose requests were delivered with this task.
	UpdateIDs []string
}

// Activity is one pending activity.
type Activity struct {
	ScheduledEventID int64
	Attrs            *historypb.ActivityTaskScheduledEventAttributes
	ScheduledTime    time.Time
	Attempt          int32
	// AttemptScheduledTime is when the current attempt became dispatchable.
	AttemptScheduledTime time.Time
	// NextAttemptTime is set while the activity waits out a retry backoff.
	NextAttemptTime  time.Time
	Started          bool
	StartedTime      time.Time
	StartedIdentity  string
	StartedRequestID string
	HeartbeatDetails *commonpb.Payloads
	LastHeartbeat    time.Time
	LastFailure      *failurepb.Failure
	CancelRequested  bool
	CancelEventID    int64
	// StartedEventID is set once an ActivityTaskStarted event was written
	// (they are written lazily, just before the activity closes).
	StartedEventID int64
	// LastAttemptCompleteTime is when the last failed attempt ended.
	LastAttemptCompleteTime time.Time
	// Paused is set by PauseActivity (pause.go): the activity is not
	// dispatched and has no deadlines until it is unpaused.
	Paused         bool
	PauseInfo      *workflowpb.PendingActivityInfo_PauseInfo
	pauseRequestID string
	// resetRequested is set when ResetActivity reached a running attempt:
	// its heartbeats are told so, and its retry is attempt 1 again
	// (with heartbeat details cleared when resetHeartbeat is set).
	resetRequested bool
	resetHeartbeat bool
	// origAttrs are the scheduled event's attributes once
	// UpdateActivityOptions has replaced Attrs with a changed copy.
	origAttrs *historypb.ActivityTaskScheduledEventAttributes
}

// Timer is one pending user timer.
type Timer struct {
	ID             string
	StartedEventID int64
	FireTime       time.Time
}

// Child is one pending child workflow.
type Child struct {
	InitiatedEventID int64
	Attrs            *historypb.StartChildWorkflowExecutionInitiatedEventAttributes
	StartedEventID   int64
	RunID            string
	Started          bool
	// UserMetadata of the initiating command: the child's started event
	// gets it, as in Temporal.
	UserMetadata *sdkpb.UserMetadata
	// InheritedPin and InheritedOverride are the parent's pinned version
	// and pinned override when it was initiated (versioning.go); the
	// engine passes them on if the child's queue is in that version.
	InheritedPin      *deploymentpb.WorkerDeploymentVersion
	InheritedOverride *workflowpb.VersioningOverride
}

// External is a pending signal or cancel request to another workflow.
type External struct {
	InitiatedEventID int64
	Signal           *historypb.SignalExternalWorkflowExecutionInitiatedEventAttributes
	Cancel           *historypb.RequestCancelExternalWorkflowExecutionInitiatedEventAttributes
}

// UpdateState is the lifecycle stage of an update.
type UpdateState int

const (
	UpdateAdmitted  UpdateState = iota // received, not yet delivered
	UpdateSent                         // delivered to a worker in a workflow task
	UpdateAccepted                     // accepted: in history
	UpdateCompleted                    // completed or rejected: Outcome is set
	// UpdateAborted: the update ended before it was accepted; Abort says
	// why and so which error its callers get.
	UpdateAborted
)

// UpdateAbort says why an update that was never accepted was aborted.
type UpdateAbort int

const (
	// AbortNone: the update is not aborted.
	AbortNone UpdateAbort = iota
	// AbortTaskFailed: the server failed the workflow task that delivered
	// it (a bad command or message). The workflow saw the update, so it is
	// not retried: its callers get WorkflowNotReady, as in Temporal.
	AbortTaskFailed
	// AbortRunClosed: the run closed before accepting it. Its callers get
	// NotFound "workflow update was aborted by closing workflow". (An
	// update that follows the workflow id is moved to the new run instead
	// when the run continues as new, retries or starts its next cron run.)
	AbortRunClosed
)

// Update is one workflow update.
type Update struct {
	ID              string
	State           UpdateState
	Request         *updatepb.Request
	AcceptedEventID int64
	Outcome         *updatepb.Outcome
	// Rejected is true when the outcome came from a validator rejection.
	Rejected bool
	// Abort says why an UpdateAborted update was aborted.
	Abort UpdateAbort
	// Pinned is set when the request named this run: the update then ends
	// with the run instead of moving to a run that continues it.
	Pinned bool
	// InHistory marks an update admitted by a WorkflowExecutionUpdateAdmitted
	// event (a reset reapplies updates that way): workers read its request
	// from history, so it is never delivered as a protocol message.
	InHistory bool
	// MovedFrom lists the runs that continued as new (or retried) while the
	// update waited, oldest first: their callers now wait on this run.
	MovedFrom []string
	seq       int64
}

// Moved reports whether the update was carried here from run runID.
func (u *Update) Moved(runID string) bool {
	for _, r := range u.MovedFrom {
		if r == runID {
			return true
		}
	}
	return false
}

// New returns an empty state for a new run; StartWorkflow fills it in.
func New(namespace, workflowID, runID string) *State {
	return &State{
		Namespace:       namespace,
		WorkflowID:      workflowID,
		RunID:           runID,
		NextEventID:     1,
		Status:          enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
		Activities:      map[int64]*Activity{},
		activityIDs:     map[string]int64{},
		Timers:          map[string]*Timer{},
		Children:        map[int64]*Child{},
		ExternalSignals: map[int64]*External{},
		ExternalCancels: map[int64]*External{},
		Updates:         map[string]*Update{},
		signalRequests:  map[string]bool{},
	}
}

// Running reports whether the run is open.
func (s *State) Running() bool {
	return s.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
}

// WFTStarted reports whether a workflow task is in flight: events that
// arrive now are buffered.
func (s *State) WFTStarted() bool { return s.WFT != nil && s.WFT.StartedEventID != 0 }

// TaskQueue is the run's normal (non-sticky) workflow task queue.
func (s *State) TaskQueue() string { return s.Start.GetTaskQueue().GetName() }

// addEvent creates an event, applies it and records it in the outbox.
// When a workflow task is in flight and buffer is true the event is kept
// in Buffered without an id until the task ends.
func (s *State) addEvent(now time.Time, buffer bool, fill func(*historypb.HistoryEvent)) *historypb.HistoryEvent {
	ev := &historypb.HistoryEvent{EventTime: timestamppb.New(now)}
	fill(ev)
	ev.EventType = eventType(ev)
	if buffer && s.WFTStarted() {
		s.Buffered = append(s.Buffered, ev)
		s.applyBuffered(ev)
		s.out.RecordChanged = true // buffered events live in the run record
		if len(s.Buffered) > MaxBufferedEvents || s.bufferedBytes > MaxBufferedEventBytes {
			// Too much waits behind the running task: fail it so the
			// buffer reaches history (where history limits apply).
			s.FailWorkflowTask(now, enumspb.WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND, nil, "sundial")
		}
		return ev
	}
	ev.EventId = s.NextEventID
	s.apply(ev)
	if s.specMode {
		s.spec = append(s.spec, ev)
		return ev
	}
	s.materialize()
	s.out.Events = append(s.out.Events, ev)
	return ev
}

// flushBuffered gives buffered events ids and appends them to history,
// fixing references to started events that were buffered with them.
func (s *State) flushBuffered() {
	if len(s.Buffered) == 0 {
		return
	}
	buf := s.Buffered
	s.Buffered = nil
	s.bufferedBytes = 0
	activityStarted := map[int64]int64{} // scheduled id -> started event id
	childStarted := map[int64]int64{}    // initiated id -> started event id
	for _, ev := range buf {
		ev.EventId = s.NextEventID
		switch a := ev.Attributes.(type) {
		case *historypb.HistoryEvent_ActivityTaskStartedEventAttributes:
			activityStarted[a.ActivityTaskStartedEventAttributes.ScheduledEventId] = ev.EventId
		case *historypb.HistoryEvent_ActivityTaskCompletedEventAttributes:
			fixStarted(&a.ActivityTaskCompletedEventAttributes.StartedEventId, activityStarted, a.ActivityTaskCompletedEventAttributes.ScheduledEventId)
		case *historypb.HistoryEvent_ActivityTaskFailedEventAttributes:
			fixStarted(&a.ActivityTaskFailedEventAttributes.StartedEventId, activityStarted, a.ActivityTaskFailedEventAttributes.ScheduledEventId)
		case *historypb.HistoryEvent_ActivityTaskTimedOutEventAttributes:
			fixStarted(&a.ActivityTaskTimedOutEventAttributes.StartedEventId, activityStarted, a.ActivityTaskTimedOutEventAttributes.ScheduledEventId)
		case *historypb.HistoryEvent_ActivityTaskCanceledEventAttributes:
			fixStarted(&a.ActivityTaskCanceledEventAttributes.StartedEventId, activityStarted, a.ActivityTaskCanceledEventAttributes.ScheduledEventId)
		case *historypb.HistoryEvent_ChildWorkflowExecutionStartedEventAttributes:
			childStarted[a.ChildWorkflowExecutionStartedEventAttributes.InitiatedEventId] = ev.EventId
		case *historypb.HistoryEvent_ChildWorkflowExecutionCompletedEventAttributes:
			fixStarted(&a.ChildWorkflowExecutionCompletedEventAttributes.StartedEventId, childStarted, a.ChildWorkflowExecutionCompletedEventAttributes.InitiatedEventId)
		case *historypb.HistoryEvent_ChildWorkflowExecutionFailedEventAttributes:
			fixStarted(&a.ChildWorkflowExecutionFailedEventAttributes.StartedEventId, childStarted, a.ChildWorkflowExecutionFailedEventAttributes.InitiatedEventId)
		case *historypb.HistoryEvent_ChildWorkflowExecutionCanceledEventAttributes:
			fixStarted(&a.ChildWorkflowExecutionCanceledEventAttributes.StartedEventId, childStarted, a.ChildWorkflowExecutionCanceledEventAttributes.InitiatedEventId)
		case *historypb.HistoryEvent_ChildWorkflowExecutionTimedOutEventAttributes:
			fixStarted(&a.ChildWorkflowExecutionTimedOutEventAttributes.StartedEventId, childStarted, a.ChildWorkflowExecutionTimedOutEventAttributes.InitiatedEventId)
		case *historypb.HistoryEvent_ChildWorkflowExecutionTerminatedEventAttributes:
			fixStarted(&a.ChildWorkflowExecutionTerminatedEventAttributes.StartedEventId, childStarted, a.ChildWorkflowExecutionTerminatedEventAttributes.InitiatedEventId)
		}
		s.advance(ev)
		s.afterFlush(ev)
		s.out.Events = append(s.out.Events, ev)
	}
}

func fixStarted(field *int64, started map[int64]int64, key int64) {
	if *field == 0 {
		*field = started[key]
	}
}

// advance moves the event counters past ev.
func (s *State) advance(ev *historypb.HistoryEvent) {
	s.NextEventID = ev.EventId + 1
	s.HistorySize += int64(proto.Size(ev))
	s.LastEventTime = ev.EventTime.AsTime()
}

// Replay rebuilds a State from a run's stored history, then overlays what
// the history does not hold (see store.RunRecord).
func Replay(namespace, workflowID, runID string, events []*historypb.HistoryEvent) *State {
	s := New(namespace, workflowID, runID)
	lastWFTFailed := false
	for _, ev := range events {
		s.apply(ev)
		switch ev.EventType {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED, enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
			// A task a pause failed before any worker took it is not
			// retried; the unpause schedules attempt 1.
			lastWFTFailed = ev.GetWorkflowTaskFailedEventAttributes().GetCause() != enumspb.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_PAUSE_REQUESTED_BEFORE_TASK_STARTED
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
			lastWFTFailed = false
		}
	}
	// A failed or timed-out workflow task is always followed by a new one;
	// when history ends at the failure, that one was a transient retry
	// (not in history), so the failure counted as an attempt, whatever
	// queue the task had been scheduled on. A task scheduled sticky and
	// moved to the normal queue without an event (a sticky timeout of a
	// held-back task, ResetStickyTaskQueue, ShutdownWorker, recovery) is
	// counted live but looks sticky here: without this the rebuilt run had
	// no workflow task and nothing for Recover to schedule (found by the
	// cluster crash torture: a run stuck after a task timeout).
	if lastWFTFailed && s.WFT == nil && s.failedWFTs == 0 && s.Running() {
		s.failedWFTs = 1
	}
	s.out = Outbox{}
	return s
}

// Outbox collects what one operation produced. The engine persists Events
// (and the run record), then acts on the rest.
type Outbox struct {
	Events  []*historypb.HistoryEvent
	Tasks   []Task
	Actions []Action
	// NewRun is a run created by continue-as-new or a workflow retry in the
	// same transaction; it must be persisted with this run and made current.
	NewRun *State
	// UpdatesChanged is set when an update changed stage (waiters recheck).
	UpdatesChanged bool
	// RecordChanged is set when the run record changed without new history
	// events (an event was buffered); it must still be written.
	RecordChanged bool
	// StatusChanged is set when the run moved between the open statuses
	// (paused or unpaused): its index entries must be written again.
	StatusChanged bool
}

// TakeOutbox returns and clears what the last operations produced.
func (s *State) TakeOutbox() Outbox {
	o := s.out
	s.out = Outbox{}
	return o
}

// TaskKind says which queue a task goes to.
type TaskKind int

const (
	WorkflowTaskKind TaskKind = iota
	ActivityTaskKind
	// NexusTaskKind tasks go to the worker target of the Nexus endpoint
	// whose id is the task's Queue (the engine resolves it).
	NexusTaskKind
)

// Task is a workflow or activity task to hand to matching.
type Task struct {
	Kind             TaskKind
	Queue            string
	Sticky           bool
	ScheduledEventID int64
	Attempt          int32
	// PriorityKey, FairnessKey and FairnessWeight are the task's priority
	// (priority.go): they order the queue's backlog, and per-key rate
	// limits count the task under its fairness key.
	PriorityKey    int32
	FairnessKey    string
	FairnessWeight float32
}

// ActionKind names an effect on another workflow.
type ActionKind int

const (
	StartChild       ActionKind = iota // start the child of Child.InitiatedEventID
	SignalExternal                     // deliver External.Signal
	CancelExternal                     // deliver External.Cancel
	NotifyParent                       // report CloseEvent to the parent
	ApplyParentClose                   // terminate/cancel children per policy
)

// Action is an effect on another workflow that the engine carries out after
// this run's events are durable. Actions are idempotent and re-derived by
// Recover after a restart.
type Action struct {
	Kind             ActionKind
	InitiatedEventID int64
	Child            *Child
	// ChildPriority is a StartChild's priority: its command's merged over
	// the parent run's when the action was made (priority.go).
	ChildPriority *commonpb.Priority
	// ChildTimeSkipping and ChildTimeSkippingState are what a StartChild's
	// child inherits of the run's time skipping (ChildTimeSkipping).
	ChildTimeSkipping      *commonpb.TimeSkippingConfig
	ChildTimeSkippingState *commonpb.TimeSkippingStatePropagation
	External               *External
	Children               []*Child // for ApplyParentClose
}

// Outbox returns what the operations since the last TakeOutbox produced,
// without clearing it.
func (s *State) Outbox() *Outbox { return &s.out }

// OutboxSize is the encoded size of the events in the outbox.
func (s *State) OutboxSize() int64 {
	var n int64
	for _, ev := range s.out.Events {
		n += int64(proto.Size(ev))
	}
	return n
}

// bufferedTimerFired returns the buffered TimerFired event of a timer
// that fired while the current workflow task runs, if any.
func (s *State) bufferedTimerFired(timerID string) *historypb.HistoryEvent {
	for _, ev := range s.Buffered {
		if a := ev.GetTimerFiredEventAttributes(); a != nil && a.TimerId == timerID {
			return ev
		}
	}
	return nil
}

// removeBufferedTimerFired drops that event (the workflow canceled the
// timer before seeing it fire) and returns it.
func (s *State) removeBufferedTimerFired(timerID string) *historypb.HistoryEvent {
	for i, ev := range s.Buffered {
		if a := ev.GetTimerFiredEventAttributes(); a != nil && a.TimerId == timerID {
			s.Buffered = append(s.Buffered[:i:i], s.Buffered[i+1:]...)
			s.bufferedBytes -= proto.Size(ev)
			s.out.RecordChanged = true
			return ev
		}
	}
	return nil
}

// bufferedActivityClose reports whether the activity closed while the
// current workflow task runs (its close event is still buffered).
func (s *State) bufferedActivityClose(scheduledID int64) bool {
	for _, ev := range s.Buffered {
		var id int64
		switch a := ev.Attributes.(type) {
		case *historypb.HistoryEvent_ActivityTaskCompletedEventAttributes:
			id = a.ActivityTaskCompletedEventAttributes.ScheduledEventId
		case *historypb.HistoryEvent_ActivityTaskFailedEventAttributes:
			id = a.ActivityTaskFailedEventAttributes.ScheduledEventId
		case *historypb.HistoryEvent_ActivityTaskTimedOutEventAttributes:
			id = a.ActivityTaskTimedOutEventAttributes.ScheduledEventId
		case *historypb.HistoryEvent_ActivityTaskCanceledEventAttributes:
			id = a.ActivityTaskCanceledEventAttributes.ScheduledEventId
		}
		if id == scheduledID {
			return true
		}
	}
	return false
}
