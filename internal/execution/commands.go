package execution

import (
	"fmt"
	"time"

	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	protocolpb "go.temporal.io/api/protocol/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"
)

// CommandError is a bad command: the workflow task fails with Cause and the
// worker gets InvalidArgument with Message.
type CommandError struct {
	Cause   enumspb.WorkflowTaskFailedCause
	Message string
}

func (e *CommandError) Error() string { return e.Message }

func cmdErr(cause enumspb.WorkflowTaskFailedCause, format string, args ...any) *CommandError {
	return &CommandError{Cause: cause, Message: fmt.Sprintf(format, args...)}
}

// CompleteWorkflowTask applies a worker's RespondWorkflowTaskCompleted to the
// started workflow task. The caller has checked the task token. A
// *CommandError means the task was failed instead (events for that are
// already recorded) and the worker must be told InvalidArgument.
func (s *State) CompleteWorkflowTask(now time.Time, req *workflowservice.RespondWorkflowTaskCompletedRequest, newRunID NewRunID) error {
	w := s.WFT
	s.dropped = false
	if err := checkCommandSequence(req.Commands); err != nil {
		return err
	}
	if cerr := s.validateCommands(req); cerr != nil {
		// As in Temporal the worker is told "<cause>: <reason>", and a
		// retried task (attempt > 1) that fails this way is not failed
		// again: it is left to time out, so a bad command does not spin.
		cerr.Message = cerr.Cause.String() + withReason(cerr.Message)
		if w.Attempt > 1 && cerr.Cause != enumspb.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND {
			return cerr
		}
		s.RefuseWorkflowTask(now, cerr.Cause, &failurepb.Failure{Message: cerr.Message, FailureInfo: &failurepb.Failure_ServerFailureInfo{ServerFailureInfo: &failurepb.ServerFailureInfo{}}}, req.Identity)
		return cerr
	}
	if cause, msg, ok := oversized(req.Commands); ok {
		s.terminateOversized(now, cause, msg, req.Identity)
		return cmdErr(cause, "%s", msg)
	}
	if s.droppable(req) {
		return s.dropSpeculative(now, req)
	}
	completed := s.addEvent(now, false, func(ev *historypb.HistoryEvent) {
		ev.Attributes = &historypb.HistoryEvent_WorkflowTaskCompletedEventAttributes{WorkflowTaskCompletedEventAttributes: &historypb.WorkflowTaskCompletedEventAttributes{
			ScheduledEventId: w.ScheduledEventID,
			StartedEventId:   w.StartedEventID,
			Identity:         req.Identity,
			BinaryChecksum:   req.BinaryChecksum,
			WorkerVersion:    req.WorkerVersionStamp,
			SdkMetadata:      req.SdkMetadata,
			MeteringMetadata: req.MeteringMetadata,
		}}
		decorateCompleted(ev.GetWorkflowTaskCompletedEventAttributes(), req)
	})
	c := &cmdCtx{s: s, now: now, wftCompleted: completed.EventId, newRunID: newRunID, msgs: map[string]*protocolpb.Message{}, identity: req.Identity}
	for _, m := range req.Messages {
		c.msgs[m.Id] = m
		c.order = append(c.order, m.Id)
	}
	s.completing = true
	defer func() {
		s.completing = false
		if !s.Running() {
			s.closeUpdates()
		}
	}()
	for _, cmd := range req.Commands {
		if !s.Running() {
			break // commands after the run closed are ignored, as in Temporal
		}
		c.meta = cmd.UserMetadata
		if err := c.handle(cmd); err != nil {
			return err
		}
	}
	// Messages not referenced by a ProtocolMessage command (rejections,
	// and accept/response from SDKs that do not send such commands) are
	// handled after the commands, in request order. Once the run closed,
	// only rejections apply (they write no event); an acceptance or
	// response aborts its update, as in Temporal.
	for _, id := range c.order {
		m, ok := c.msgs[id]
		if !ok {
			continue
		}
		delete(c.msgs, id)
		if !s.Running() && !isRejection(m) {
			s.abortClosedOut(m.ProtocolInstanceId)
			continue
		}
		if err := s.handleMessage(now, m); err != nil {
			return err
		}
	}
	s.rejectUnprocessed(w.UpdateIDs)

	if req.StickyAttributes.GetWorkerTaskQueue().GetName() != "" && s.Running() {
		s.StickyQueue = req.StickyAttributes.WorkerTaskQueue.Name
		s.StickyTimeout = req.StickyAttributes.ScheduleToStartTimeout.AsDuration()
	} else {
		s.StickyQueue = ""
	}
	hadBuffered := len(s.Buffered) > 0
	s.flushBuffered()
	if s.Running() && (hadBuffered || req.ForceCreateNewWorkflowTask || c.needTask || s.hasUndeliveredUpdates()) {
		s.scheduleWFT(now)
	}
	return nil
}

func withReason(msg string) string {
	if msg == "" {
		return ""
	}
	return ": " + msg
}

type cmdCtx struct {
	s            *State
	now          time.Time
	wftCompleted int64
	newRunID     NewRunID
	msgs         map[string]*protocolpb.Message
	order        []string
	needTask     bool // an event was written that the workflow must see
	identity     string
	meta         *sdkpb.UserMetadata // of the command being handled, until its first event
}

// add records an event of the current command. The first one gets the
// command's user metadata (summaries the UI shows), as in Temporal.
func (c *cmdCtx) add(fill func(*historypb.HistoryEvent)) *historypb.HistoryEvent {
	md := c.meta
	c.meta = nil
	return c.s.addEvent(c.now, false, func(ev *historypb.HistoryEvent) {
		fill(ev)
		ev.UserMetadata = md
	})
}

func (c *cmdCtx) handle(cmd *commandpb.Command) error {
	s := c.s
	switch cmd.CommandType {
	case enumspb.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK:
		c.scheduleActivity(cmd.GetScheduleActivityTaskCommandAttributes(), cmd)
	case enumspb.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK:
		c.cancelActivity(cmd.GetRequestCancelActivityTaskCommandAttributes().ScheduledEventId)
	case enumspb.COMMAND_TYPE_SCHEDULE_NEXUS_OPERATION:
		c.scheduleNexus(cmd.GetScheduleNexusOperationCommandAttributes())
	case enumspb.COMMAND_TYPE_REQUEST_CANCEL_NEXUS_OPERATION:
		c.cancelNexus(cmd.GetRequestCancelNexusOperationCommandAttributes().ScheduledEventId)
	case enumspb.COMMAND_TYPE_START_TIMER:
		a := cmd.GetStartTimerCommandAttributes()
		c.add(func(ev *historypb.HistoryEvent) {
			ev.Attributes = &historypb.HistoryEvent_TimerStartedEventAttributes{TimerStartedEventAttributes: &historypb.TimerStartedEventAttributes{
				TimerId: a.TimerId, StartToFireTimeout: a.StartToFireTimeout, WorkflowTaskCompletedEventId: c.wftCompleted,
			}}
		})
	case enumspb.COMMAND_TYPE_CANCEL_TIMER:
		a := cmd.GetCancelTimerCommandAttributes()
		var startedID int64
		if t := s.Timers[a.TimerId]; t != nil {
			startedID = t.StartedEventID
		} else if fired := s.removeBufferedTimerFired(a.TimerId); fired != nil {
			// It fired while this task ran: as in Temporal the cancel wins
			// and the workflow never sees the firing.
			startedID = fired.GetTimerFiredEventAttributes().StartedEventId
		}
		c.add(func(ev *historypb.HistoryEvent) {
			ev.Attributes = &historypb.HistoryEvent_TimerCanceledEventAttributes{TimerCanceledEventAttributes: &historypb.TimerCanceledEventAttributes{
				TimerId: a.TimerId, StartedEventId: startedID, WorkflowTaskCompletedEventId: c.wftCompleted, Identity: c.identity,
			}}
		})
	case enumspb.COMMAND_TYPE_RECORD_MARKER:
		a := cmd.GetRecordMarkerCommandAttributes()
		c.add(func(ev *historypb.HistoryEvent) {
			ev.Attributes = &historypb.HistoryEvent_MarkerRecordedEventAttributes{MarkerRecordedEventAttributes: &historypb.MarkerRecordedEventAttributes{
				MarkerName: a.MarkerName, Details: a.Details, Header: a.Header, Failure: a.Failure, WorkflowTaskCompletedEventId: c.wftCompleted,
			}}
		})
	case enumspb.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
		a := cmd.GetUpsertWorkflowSearchAttributesCommandAttributes()
		c.add(func(ev *historypb.HistoryEvent) {
			ev.Attributes = &historypb.HistoryEvent_UpsertWorkflowSearchAttributesEventAttributes{UpsertWorkflowSearchAttributesEventAttributes: &historypb.UpsertWorkflowSearchAttributesEventAttributes{
				SearchAttributes: a.GetSearchAttributes(), WorkflowTaskCompletedEventId: c.wftCompleted,
			}}
		})
	case enumspb.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES:
		a := cmd.GetModifyWorkflowPropertiesCommandAttributes()
		c.add(func(ev *historypb.HistoryEvent) {
			ev.Attributes = &historypb.HistoryEvent_WorkflowPropertiesModifiedEventAttributes{WorkflowPropertiesModifiedEventAttributes: &historypb.WorkflowPropertiesModifiedEventAttributes{
				UpsertedMemo: a.GetUpsertedMemo(), WorkflowTaskCompletedEventId: c.wftCompleted,
			}}
		})
	case enumspb.COMMAND_TYPE_PROTOCOL_MESSAGE:
		id := cmd.GetProtocolMessageCommandAttributes().MessageId
		m, ok := c.msgs[id]
		if !ok {
			return cmdErr(enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_UPDATE_WORKFLOW_EXECUTION_MESSAGE, "ProtocolMessageCommand referenced absent message ID %s", id)
		}
		delete(c.msgs, id)
		return s.handleMessage(c.now, m)
	case enumspb.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION:
		a := cmd.GetCompleteWorkflowExecutionCommandAttributes()
		next := s.cronNext(c.newRunID)
		c.add(func(ev *historypb.HistoryEvent) {
			ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionCompletedEventAttributes{WorkflowExecutionCompletedEventAttributes: &historypb.WorkflowExecutionCompletedEventAttributes{
				Result: a.GetResult(), WorkflowTaskCompletedEventId: c.wftCompleted, NewExecutionRunId: next,
			}}
		})
		if next != "" {
			s.startCron(c.now, next, a.GetResult(), nil)
		}
		s.onClosed(next == "")
	case enumspb.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION:
		f := cmd.GetFailWorkflowExecutionCommandAttributes().GetFailure()
		delay, state := s.workflowRetry(c.now, f)
		var next string
		cronRun := false
		if state == enumspb.RETRY_STATE_IN_PROGRESS {
			next = c.newRunID()
		} else if next = s.cronNext(c.newRunID); next != "" {
			cronRun = true
		}
		c.add(func(ev *historypb.HistoryEvent) {
			ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionFailedEventAttributes{WorkflowExecutionFailedEventAttributes: &historypb.WorkflowExecutionFailedEventAttributes{
				Failure: f, RetryState: state, WorkflowTaskCompletedEventId: c.wftCompleted, NewExecutionRunId: next,
			}}
		})
		switch {
		case cronRun:
			s.startCron(c.now, next, nil, f)
		case next != "":
			s.startRetry(c.now, next, delay, f)
		}
		s.onClosed(next == "")
	case enumspb.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION:
		a := cmd.GetCancelWorkflowExecutionCommandAttributes()
		c.add(func(ev *historypb.HistoryEvent) {
			ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionCanceledEventAttributes{WorkflowExecutionCanceledEventAttributes: &historypb.WorkflowExecutionCanceledEventAttributes{
				Details: a.GetDetails(), WorkflowTaskCompletedEventId: c.wftCompleted,
			}}
		})
		s.onClosed(true)
	case enumspb.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION:
		c.continueAsNew(cmd.GetContinueAsNewWorkflowExecutionCommandAttributes())
	case enumspb.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION:
		c.startChild(cmd.GetStartChildWorkflowExecutionCommandAttributes())
	case enumspb.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION:
		a := cmd.GetSignalExternalWorkflowExecutionCommandAttributes()
		ns := a.Namespace
		if ns == "" {
			ns = s.Namespace
		}
		ev := c.add(func(ev *historypb.HistoryEvent) {
			ev.Attributes = &historypb.HistoryEvent_SignalExternalWorkflowExecutionInitiatedEventAttributes{SignalExternalWorkflowExecutionInitiatedEventAttributes: &historypb.SignalExternalWorkflowExecutionInitiatedEventAttributes{
				WorkflowTaskCompletedEventId: c.wftCompleted, Namespace: ns, WorkflowExecution: a.Execution, SignalName: a.SignalName,
				Input: a.Input, Control: a.Control, ChildWorkflowOnly: a.ChildWorkflowOnly, Header: a.Header,
			}}
		})
		s.out.Actions = append(s.out.Actions, Action{Kind: SignalExternal, InitiatedEventID: ev.EventId, External: s.ExternalSignals[ev.EventId]})
	case enumspb.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION:
		a := cmd.GetRequestCancelExternalWorkflowExecutionCommandAttributes()
		ns := a.Namespace
		if ns == "" {
			ns = s.Namespace
		}
		ev := c.add(func(ev *historypb.HistoryEvent) {
			ev.Attributes = &historypb.HistoryEvent_RequestCancelExternalWorkflowExecutionInitiatedEventAttributes{RequestCancelExternalWorkflowExecutionInitiatedEventAttributes: &historypb.RequestCancelExternalWorkflowExecutionInitiatedEventAttributes{
				WorkflowTaskCompletedEventId: c.wftCompleted, Namespace: ns,
				WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: a.WorkflowId, RunId: a.RunId},
				Control:           a.Control, ChildWorkflowOnly: a.ChildWorkflowOnly, Reason: a.Reason,
			}}
		})
		s.out.Actions = append(s.out.Actions, Action{Kind: CancelExternal, InitiatedEventID: ev.EventId, External: s.ExternalCancels[ev.EventId]})
	}
	return nil
}

func (c *cmdCtx) continueAsNew(a *commandpb.ContinueAsNewWorkflowExecutionCommandAttributes) {
	s := c.s
	next := c.newRunID()
	attrs := s.successorAttrs()
	if a.WorkflowType.GetName() != "" {
		attrs.WorkflowType = a.WorkflowType
	}
	if a.TaskQueue.GetName() != "" {
		attrs.TaskQueue = &taskqueuepb.TaskQueue{Name: a.TaskQueue.Name, Kind: enumspb.TASK_QUEUE_KIND_NORMAL}
	}
	s.inheritVersioning(attrs, a.GetInitialVersioningBehavior())
	if a.WorkflowRunTimeout.AsDuration() > 0 {
		attrs.WorkflowRunTimeout = a.WorkflowRunTimeout
	}
	if a.WorkflowTaskTimeout.AsDuration() > 0 {
		attrs.WorkflowTaskTimeout = a.WorkflowTaskTimeout
	}
	// As Temporal: the run timeout is always written (0s when none) and
	// bounded by the chain's execution timeout, the task timeout by both.
	run := OverrideRunTimeout(attrs.WorkflowRunTimeout.AsDuration(), attrs.WorkflowExecutionTimeout.AsDuration())
	attrs.WorkflowRunTimeout = durationpb.New(run)
	attrs.WorkflowTaskTimeout = durationpb.New(OverrideTaskTimeout(attrs.WorkflowTaskTimeout.AsDuration(), run))
	if a.RetryPolicy != nil {
		attrs.RetryPolicy = a.RetryPolicy
	}
	attrs.Input = a.Input
	attrs.Header = a.Header
	attrs.Initiator = enumspb.CONTINUE_AS_NEW_INITIATOR_WORKFLOW
	attrs.LastCompletionResult = a.LastCompletionResult
	attrs.ContinuedFailure = a.Failure
	attrs.FirstWorkflowTaskBackoff = a.BackoffStartInterval
	attrs.Memo = a.Memo
	if attrs.Memo == nil {
		attrs.Memo = s.Memo
	}
	attrs.SearchAttributes = a.SearchAttributes
	if attrs.SearchAttributes == nil {
		attrs.SearchAttributes = s.Search
	}
	c.add(func(ev *historypb.HistoryEvent) {
		ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionContinuedAsNewEventAttributes{WorkflowExecutionContinuedAsNewEventAttributes: &historypb.WorkflowExecutionContinuedAsNewEventAttributes{
			NewExecutionRunId: next, WorkflowType: attrs.WorkflowType, TaskQueue: attrs.TaskQueue, Input: a.Input,
			WorkflowRunTimeout: attrs.WorkflowRunTimeout, WorkflowTaskTimeout: attrs.WorkflowTaskTimeout,
			WorkflowTaskCompletedEventId: c.wftCompleted, BackoffStartInterval: a.BackoffStartInterval,
			Initiator: attrs.Initiator, Failure: a.Failure, LastCompletionResult: a.LastCompletionResult,
			Header: a.Header, Memo: attrs.Memo, SearchAttributes: attrs.SearchAttributes,
		}}
	})
	s.newRun(c.now, next, attrs)
	s.onClosed(false)
}

// OverrideRunTimeout is Temporal's run timeout for a new run: the run
// timeout, or the execution timeout when that is shorter or the only one.
func OverrideRunTimeout(run, exec time.Duration) time.Duration {
	switch {
	case exec <= 0:
		return run
	case run <= 0:
		return exec
	}
	return min(run, exec)
}

// OverrideTaskTimeout is Temporal's workflow task timeout for a new run:
// the default when unset, at most MaxWorkflowTaskTimeout and the run
// timeout.
func OverrideTaskTimeout(task, run time.Duration) time.Duration {
	if task <= 0 {
		task = DefaultWorkflowTaskTimeout
	}
	task = min(task, MaxWorkflowTaskTimeout)
	if run > 0 {
		task = min(task, run)
	}
	return task
}

func (c *cmdCtx) startChild(a *commandpb.StartChildWorkflowExecutionCommandAttributes) {
	s := c.s
	ns := a.Namespace
	if ns == "" {
		ns = s.Namespace
	}
	tq := a.TaskQueue
	if tq.GetName() == "" {
		tq = &taskqueuepb.TaskQueue{Name: s.TaskQueue(), Kind: enumspb.TASK_QUEUE_KIND_NORMAL}
	}
	policy := a.ParentClosePolicy
	if policy == enumspb.PARENT_CLOSE_POLICY_UNSPECIFIED {
		policy = enumspb.PARENT_CLOSE_POLICY_TERMINATE // Temporal's default
	}
	run := OverrideRunTimeout(a.WorkflowRunTimeout.AsDuration(), a.WorkflowExecutionTimeout.AsDuration())
	wrt := durationpb.New(run)
	wtt := durationpb.New(OverrideTaskTimeout(a.WorkflowTaskTimeout.AsDuration(), run))
	ev := c.add(func(ev *historypb.HistoryEvent) {
		ev.Attributes = &historypb.HistoryEvent_StartChildWorkflowExecutionInitiatedEventAttributes{StartChildWorkflowExecutionInitiatedEventAttributes: &historypb.StartChildWorkflowExecutionInitiatedEventAttributes{
			Namespace: ns, WorkflowId: a.WorkflowId, WorkflowType: a.WorkflowType, TaskQueue: tq, Input: a.Input,
			WorkflowExecutionTimeout: a.WorkflowExecutionTimeout, WorkflowRunTimeout: wrt, WorkflowTaskTimeout: wtt,
			ParentClosePolicy: policy, Control: a.Control, WorkflowTaskCompletedEventId: c.wftCompleted,
			WorkflowIdReusePolicy: a.WorkflowIdReusePolicy, RetryPolicy: a.RetryPolicy, CronSchedule: a.CronSchedule,
			Header: a.Header, Memo: a.Memo, SearchAttributes: a.SearchAttributes, Priority: a.Priority,
		}}
	})
	s.out.Actions = append(s.out.Actions, s.startChildAction(ev.EventId, s.Children[ev.EventId]))
}
