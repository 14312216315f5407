package execution

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"
)

// The command checks below follow Temporal's (history service: the command
// attribute validator and the workflow task completed handler) rule by
// rule. Both directions matter: a valid command refused here fails the
// workflow task over and over, so the workflow hangs; an invalid one
// accepted records a history Temporal would not.

// MaxIDLength is Temporal's default limit.maxIDLength: the longest id,
// type or name a command may carry.
const MaxIDLength = 1000

// maxDuration is the longest duration Temporal keeps; longer ones are
// capped to it, not refused.
const maxDuration = 100 * 365 * 24 * time.Hour

var (
	errNegativeDuration = errors.New("negative duration")
	errMismatchedSigns  = errors.New("duration has seconds and nanos with different signs")
)

// checkDuration accepts nil and zero, refuses negative durations and ones
// whose seconds and nanos disagree in sign, and caps (in place) those over
// maxDuration.
func checkDuration(d *durationpb.Duration) error {
	if d == nil {
		return nil
	}
	if (d.Seconds > 0 && d.Nanos < 0) || (d.Seconds < 0 && d.Nanos > 0) {
		return errMismatchedSigns
	}
	if d.AsDuration() < 0 {
		return errNegativeDuration
	}
	if d.AsDuration() > maxDuration {
		d.Seconds, d.Nanos = int64(maxDuration/time.Second), 0
	}
	return nil
}

// checkRetryPolicy validates a retry policy after Temporal's defaults are
// filled in (on a copy). A nil policy is valid.
func checkRetryPolicy(p *commonpb.RetryPolicy) error {
	if p == nil || p.MaximumAttempts == 1 {
		return nil // one attempt: nothing else matters
	}
	if err := checkDuration(p.InitialInterval); err != nil {
		return fmt.Errorf("invalid InitialInterval set on retry policy: %v", err)
	}
	if err := checkDuration(p.MaximumInterval); err != nil {
		return fmt.Errorf("invalid MaximumInterval set on retry policy: %v", err)
	}
	coef := p.BackoffCoefficient
	if coef == 0 {
		coef = 2
	}
	if coef < 1 {
		return errors.New("BackoffCoefficient cannot be less than 1 on retry policy.")
	}
	initial := p.InitialInterval.AsDuration()
	if initial == 0 {
		initial = time.Second
	}
	if max := p.MaximumInterval.AsDuration(); max > 0 && max < initial {
		return errors.New("MaximumInterval cannot be less than InitialInterval on retry policy.")
	}
	if p.MaximumAttempts < 0 {
		return errors.New("MaximumAttempts cannot be negative on retry policy.")
	}
	for _, t := range p.NonRetryableErrorTypes {
		if v, ok := strings.CutPrefix(t, "TemporalTimeout:"); ok {
			if tt, err := enumspb.TimeoutTypeFromString(v); err != nil || tt == enumspb.TIMEOUT_TYPE_UNSPECIFIED {
				return fmt.Errorf("Invalid timeout type value: %v.", v)
			}
		}
	}
	return nil
}

// SequenceError is a command list whose close command is not the last
// command. As in Temporal the worker gets InvalidArgument and the task is
// left as it is (it times out and is retried): nothing is recorded.
type SequenceError struct{ Message string }

func (e *SequenceError) Error() string { return e.Message }

func isCloseCommand(t enumspb.CommandType) bool {
	switch t {
	case enumspb.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION, enumspb.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION,
		enumspb.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION, enumspb.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION:
		return true
	}
	return false
}

// checkCommandSequence refuses commands after a close command and unknown
// command types.
func checkCommandSequence(cmds []*commandpb.Command) error {
	closing := enumspb.COMMAND_TYPE_UNSPECIFIED
	for _, c := range cmds {
		if closing != enumspb.COMMAND_TYPE_UNSPECIFIED {
			names := make([]string, len(cmds))
			for i, c := range cmds {
				names[i] = c.CommandType.String()
			}
			return &SequenceError{fmt.Sprintf("invalid command sequence: [%s], command %s must be the last command.", strings.Join(names, ", "), closing)}
		}
		if isCloseCommand(c.CommandType) {
			closing = c.CommandType
		}
		if _, ok := enumspb.CommandType_name[int32(c.CommandType)]; !ok || c.CommandType == enumspb.COMMAND_TYPE_UNSPECIFIED {
			return &SequenceError{fmt.Sprintf("unknown command type: %v", c.CommandType)}
		}
	}
	return nil
}

// validateCommands checks what can be checked before anything is applied,
// so a bad task leaves no partial effects (Temporal discards the partial
// effects of a failed task the same way).
func (s *State) validateCommands(req *workflowservice.RespondWorkflowTaskCompletedRequest) *CommandError {
	timers := map[string]bool{}
	canceledTimers := map[string]bool{}
	activities := map[string]bool{}
	cancelRequested := map[int64]bool{}
	children := map[string]bool{}
	nexusCancels := map[int64]bool{}
	for _, cmd := range req.Commands {
		var cerr *CommandError
		switch cmd.CommandType {
		case enumspb.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK:
			cerr = s.checkScheduleActivity(cmd.GetScheduleActivityTaskCommandAttributes(), activities)
		case enumspb.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK:
			cerr = s.checkCancelActivity(cmd.GetRequestCancelActivityTaskCommandAttributes(), cancelRequested)
		case enumspb.COMMAND_TYPE_SCHEDULE_NEXUS_OPERATION:
			cerr = s.checkScheduleNexus(cmd.GetScheduleNexusOperationCommandAttributes())
		case enumspb.COMMAND_TYPE_REQUEST_CANCEL_NEXUS_OPERATION:
			cerr = s.checkCancelNexus(cmd.GetRequestCancelNexusOperationCommandAttributes(), nexusCancels)
		case enumspb.COMMAND_TYPE_START_TIMER:
			cerr = s.checkStartTimer(cmd.GetStartTimerCommandAttributes(), timers, canceledTimers)
		case enumspb.COMMAND_TYPE_CANCEL_TIMER:
			cerr = s.checkCancelTimer(cmd.GetCancelTimerCommandAttributes(), timers, canceledTimers)
		case enumspb.COMMAND_TYPE_RECORD_MARKER:
			cerr = checkRecordMarker(cmd.GetRecordMarkerCommandAttributes())
		case enumspb.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION:
			cerr = checkStartChild(cmd.GetStartChildWorkflowExecutionCommandAttributes())
			if cerr == nil {
				children[cmd.GetStartChildWorkflowExecutionCommandAttributes().WorkflowId] = true
			}
		case enumspb.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION:
			cerr = checkSignalExternal(cmd.GetSignalExternalWorkflowExecutionCommandAttributes())
		case enumspb.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION:
			cerr = checkCancelExternal(cmd.GetRequestCancelExternalWorkflowExecutionCommandAttributes(), children)
		case enumspb.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			cerr = checkUpsertSearchAttributes(cmd.GetUpsertWorkflowSearchAttributesCommandAttributes())
		case enumspb.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES:
			cerr = checkModifyProperties(cmd.GetModifyWorkflowPropertiesCommandAttributes())
		case enumspb.COMMAND_TYPE_PROTOCOL_MESSAGE:
			a := cmd.GetProtocolMessageCommandAttributes()
			if a == nil {
				cerr = cmdErr(enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_UPDATE_WORKFLOW_EXECUTION_MESSAGE, "ProtocolMessageCommandAttributes is not set on ProtocolMessageCommand.")
			} else if a.MessageId == "" {
				cerr = cmdErr(enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_UPDATE_WORKFLOW_EXECUTION_MESSAGE, "MessageID is not set on ProtocolMessageCommand.")
			}
		case enumspb.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION, enumspb.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION,
			enumspb.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION, enumspb.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION:
			// A workflow cannot close while events it has not seen are
			// waiting: the worker gets a new task with them instead.
			if s.hasUnseenEvents(canceledTimers) {
				return &CommandError{Cause: enumspb.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND}
			}
			cerr = checkCloseCommand(cmd)
		default:
			cerr = cmdErr(enumspb.WORKFLOW_TASK_FAILED_CAUSE_FEATURE_DISABLED, "Unknown or unsupported command type %v.", cmd.CommandType)
		}
		if cerr != nil {
			return cerr
		}
	}
	return s.validateMessages(req)
}

// hasUnseenEvents reports buffered events the workflow has not seen yet,
// other than the firing of a timer this task cancels (the cancel removes
// it). Updates it has not seen do not hold it open (as in Temporal): they
// move to the run that continues this one, or are aborted (closeUpdates).
func (s *State) hasUnseenEvents(canceledTimers map[string]bool) bool {
	for _, ev := range s.Buffered {
		if a := ev.GetTimerFiredEventAttributes(); a != nil && canceledTimers[a.TimerId] {
			continue
		}
		return true
	}
	return false
}

func (s *State) checkScheduleActivity(a *commandpb.ScheduleActivityTaskCommandAttributes, seen map[string]bool) *CommandError {
	const cause = enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES
	if a == nil {
		return cmdErr(cause, "ScheduleActivityTaskCommandAttributes is not set on ScheduleActivityTaskCommand.")
	}
	if a.TaskQueue.GetName() != "" && len(a.TaskQueue.Name) > MaxIDLength {
		return cmdErr(cause, "task queue name exceeds length limit of %d", MaxIDLength)
	}
	if a.ActivityId == "" {
		return cmdErr(cause, "activityId is not set")
	}
	if a.ActivityType.GetName() == "" {
		return cmdErr(cause, "activityType is not set")
	}
	if err := checkRetryPolicy(a.RetryPolicy); err != nil {
		return cmdErr(cause, "%v", err)
	}
	if len(a.ActivityId) > MaxIDLength {
		return cmdErr(cause, "activityId exceeds length limit. Length=%d Limit=%d", len(a.ActivityId), MaxIDLength)
	}
	if len(a.ActivityType.Name) > MaxIDLength {
		return cmdErr(cause, "activityType exceeds length limit. Length=%d Limit=%d", len(a.ActivityType.Name), MaxIDLength)
	}
	for _, d := range []struct {
		name string
		d    *durationpb.Duration
	}{{"ScheduleToCloseTimeout", a.ScheduleToCloseTimeout}, {"ScheduleToStartTimeout", a.ScheduleToStartTimeout},
		{"StartToCloseTimeout", a.StartToCloseTimeout}, {"HeartbeatTimeout", a.HeartbeatTimeout}} {
		if err := checkDuration(d.d); err != nil {
			return cmdErr(cause, "invalid %s: %v", d.name, err)
		}
	}
	if a.ScheduleToCloseTimeout.AsDuration() <= 0 && a.StartToCloseTimeout.AsDuration() <= 0 {
		return cmdErr(cause, "a valid StartToCloseTimeout or ScheduleToCloseTimeout must be set on the activity. ActivityId=%s ActivityType=%s", a.ActivityId, a.ActivityType.Name)
	}
	if _, dup := s.activityIDs[a.ActivityId]; dup || seen[a.ActivityId] {
		return cmdErr(enumspb.WORKFLOW_TASK_FAILED_CAUSE_SCHEDULE_ACTIVITY_DUPLICATE_ID, "invalid history builder state for action: add-activitytask-scheduled-event, ActivityID: %s", a.ActivityId)
	}
	seen[a.ActivityId] = true
	return nil
}

// checkCancelActivity: the activity must be pending (or have closed while
// this task ran, its close event still buffered) and not already asked to
// cancel.
func (s *State) checkCancelActivity(a *commandpb.RequestCancelActivityTaskCommandAttributes, seen map[int64]bool) *CommandError {
	const cause = enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES
	if a == nil {
		return cmdErr(cause, "RequestCancelActivityTaskCommandAttributes is not set on RequestCancelActivityTaskCommand.")
	}
	if a.ScheduledEventId <= 0 {
		return cmdErr(cause, "ScheduledEventId is not set on RequestCancelActivityTaskCommand.")
	}
	act := s.Activities[a.ScheduledEventId]
	if (act == nil && !s.bufferedActivityClose(a.ScheduledEventId)) || (act != nil && act.CancelRequested) || seen[a.ScheduledEventId] {
		return cmdErr(cause, "invalid history builder state for action: add-activitytask-cancel-requested-event, ScheduledEventID: %d", a.ScheduledEventId)
	}
	seen[a.ScheduledEventId] = true
	return nil
}

func (s *State) checkStartTimer(a *commandpb.StartTimerCommandAttributes, seen, canceled map[string]bool) *CommandError {
	const cause = enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES
	if a == nil {
		return cmdErr(cause, "StartTimerCommandAttributes is not set on StartTimerCommand.")
	}
	if a.TimerId == "" {
		return cmdErr(cause, "TimerId is not set on StartTimerCommand.")
	}
	if len(a.TimerId) > MaxIDLength {
		return cmdErr(cause, "TimerId on StartTimerCommand exceeds length limit. TimerId=%s Length=%d Limit=%d", a.TimerId, len(a.TimerId), MaxIDLength)
	}
	if err := checkDuration(a.StartToFireTimeout); err != nil {
		return cmdErr(cause, "An invalid StartToFireTimeout is set on StartTimerCommand: %v. TimerId=%s", err, a.TimerId)
	}
	if _, dup := s.Timers[a.TimerId]; (dup && !canceled[a.TimerId]) || seen[a.TimerId] {
		return cmdErr(enumspb.WORKFLOW_TASK_FAILED_CAUSE_START_TIMER_DUPLICATE_ID, "invalid history builder state for action: add-timer-started-event, TimerID: %s", a.TimerId)
	}
	seen[a.TimerId] = true
	delete(canceled, a.TimerId)
	return nil
}

// checkCancelTimer: the timer must be pending, or have fired while this
// task ran (the cancel then removes the buffered TimerFired event).
func (s *State) checkCancelTimer(a *commandpb.CancelTimerCommandAttributes, started, canceled map[string]bool) *CommandError {
	const cause = enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_TIMER_ATTRIBUTES
	if a == nil {
		return cmdErr(cause, "CancelTimerCommandAttributes is not set on CancelTimerCommand.")
	}
	if a.TimerId == "" {
		return cmdErr(cause, "TimerId is not set on CancelTimerCommand.")
	}
	if len(a.TimerId) > MaxIDLength {
		return cmdErr(cause, "TimerId on CancelTimerCommand exceeds length limit. TimerId=%s Length=%d Limit=%d", a.TimerId, len(a.TimerId), MaxIDLength)
	}
	_, pending := s.Timers[a.TimerId]
	ok := started[a.TimerId] || (!canceled[a.TimerId] && (pending || s.bufferedTimerFired(a.TimerId) != nil))
	if !ok {
		return cmdErr(cause, "invalid history builder state for action: add-timer-canceled-event, TimerID: %s", a.TimerId)
	}
	delete(started, a.TimerId)
	canceled[a.TimerId] = true
	return nil
}

func checkRecordMarker(a *commandpb.RecordMarkerCommandAttributes) *CommandError {
	const cause = enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_RECORD_MARKER_ATTRIBUTES
	if a == nil {
		return cmdErr(cause, "RecordMarkerCommandAttributes is not set on RecordMarkerCommand.")
	}
	if a.MarkerName == "" {
		return cmdErr(cause, "MarkerName is not set on RecordMarkerCommand.")
	}
	if len(a.MarkerName) > MaxIDLength {
		return cmdErr(cause, "MarkerName on RecordMarkerCommand exceeds length limit. MarkerName=%s Length=%d Limit=%d", a.MarkerName, len(a.MarkerName), MaxIDLength)
	}
	return nil
}

func checkStartChild(a *commandpb.StartChildWorkflowExecutionCommandAttributes) *CommandError {
	const cause = enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_CHILD_EXECUTION_ATTRIBUTES
	if a == nil {
		return cmdErr(cause, "StartChildWorkflowExecutionCommandAttributes is not set on StartChildWorkflowExecutionCommand.")
	}
	id, typ, ns := a.WorkflowId, a.WorkflowType.GetName(), a.Namespace
	switch {
	case id == "":
		return cmdErr(cause, "Required field WorkflowId is not set on StartChildWorkflowExecutionCommand. WorkflowType=%s Namespace=%s", typ, ns)
	case typ == "":
		return cmdErr(cause, "Required field WorkflowType is not set on StartChildWorkflowExecutionCommand. WorkflowId=%s Namespace=%s", id, ns)
	case len(ns) > MaxIDLength:
		return cmdErr(cause, "Namespace on StartChildWorkflowExecutionCommand exceeds length limit. WorkflowId=%s WorkflowType=%s Namespace=%s Length=%d Limit=%d", id, typ, ns, len(ns), MaxIDLength)
	case len(id) > MaxIDLength:
		return cmdErr(cause, "WorkflowId on StartChildWorkflowExecutionCommand exceeds length limit. WorkflowId=%s Length=%d Limit=%d WorkflowType=%s Namespace=%s", id, len(id), MaxIDLength, typ, ns)
	case len(typ) > MaxIDLength:
		return cmdErr(cause, "WorkflowType on StartChildWorkflowExecutionCommand exceeds length limit. WorkflowId=%s WorkflowType=%s Length=%d Limit=%d Namespace=%s", id, typ, len(typ), MaxIDLength, ns)
	}
	for _, d := range []struct {
		name string
		d    *durationpb.Duration
	}{{"WorkflowExecutionTimeout", a.WorkflowExecutionTimeout}, {"WorkflowRunTimeout", a.WorkflowRunTimeout}, {"WorkflowTaskTimeout", a.WorkflowTaskTimeout}} {
		if err := checkDuration(d.d); err != nil {
			return cmdErr(cause, "Invalid %s on StartChildWorkflowExecutionCommand: %v. WorkflowId=%s WorkflowType=%s Namespace=%s", d.name, err, id, typ, ns)
		}
	}
	if err := checkRetryPolicy(a.RetryPolicy); err != nil {
		return cmdErr(cause, "invalid WorkflowRetryPolicy on StartChildWorkflowExecutionCommand: %v. WorkflowId=%s WorkflowType=%s Namespace=%s", err, id, typ, ns)
	}
	if a.CronSchedule != "" {
		if err := ValidateCron(a.CronSchedule); err != nil {
			return cmdErr(cause, "invalid CronSchedule on StartChildWorkflowExecutionCommand: %v. WorkflowId=%s WorkflowType=%s Namespace=%s", err, id, typ, ns)
		}
	}
	if tq := a.TaskQueue.GetName(); len(tq) > MaxIDLength {
		return cmdErr(cause, "invalid TaskQueue on StartChildWorkflowExecutionCommand: task queue name exceeds length limit of %d. WorkflowId=%s WorkflowType=%s Namespace=%s", MaxIDLength, id, typ, ns)
	}
	return nil
}

func checkSignalExternal(a *commandpb.SignalExternalWorkflowExecutionCommandAttributes) *CommandError {
	const cause = enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_SIGNAL_WORKFLOW_EXECUTION_ATTRIBUTES
	if a == nil {
		return cmdErr(cause, "SignalExternalWorkflowExecutionCommandAttributes is not set on SignalExternalWorkflowExecutionCommand.")
	}
	if a.Execution == nil {
		return cmdErr(cause, "Execution is not set on SignalExternalWorkflowExecutionCommand.")
	}
	id, run, ns, name := a.Execution.WorkflowId, a.Execution.RunId, a.Namespace, a.SignalName
	switch {
	case id == "":
		return cmdErr(cause, "WorkflowId is not set on SignalExternalWorkflowExecutionCommand. Namespace=%s RunId=%s SignalName=%s", ns, run, name)
	case len(ns) > MaxIDLength:
		return cmdErr(cause, "Namespace on SignalExternalWorkflowExecutionCommand exceeds length limit. WorkflowId=%s Namespace=%s Length=%d Limit=%d RunId=%s SignalName=%s", id, ns, len(ns), MaxIDLength, run, name)
	case len(id) > MaxIDLength:
		return cmdErr(cause, "WorkflowId on SignalExternalWorkflowExecutionCommand exceeds length limit. WorkflowId=%s Length=%d Limit=%d Namespace=%s RunId=%s SignalName=%s", id, len(id), MaxIDLength, ns, run, name)
	case run != "" && uuid.Validate(run) != nil:
		return cmdErr(cause, "Invalid RunId set on SignalExternalWorkflowExecutionCommand. WorkflowId=%s Namespace=%s RunId=%s SignalName=%s", id, ns, run, name)
	case name == "":
		return cmdErr(cause, "SignalName is not set on SignalExternalWorkflowExecutionCommand. WorkflowId=%s Namespace=%s RunId=%s", id, ns, run)
	}
	return nil
}

func checkCancelExternal(a *commandpb.RequestCancelExternalWorkflowExecutionCommandAttributes, children map[string]bool) *CommandError {
	const cause = enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_ATTRIBUTES
	if a == nil {
		return cmdErr(cause, "RequestCancelExternalWorkflowExecutionCommandAttributes is not set on RequestCancelExternalWorkflowExecutionCommand.")
	}
	id, run, ns := a.WorkflowId, a.RunId, a.Namespace
	switch {
	case id == "":
		return cmdErr(cause, "WorkflowId is not set on RequestCancelExternalWorkflowExecutionCommand. Namespace=%s RunId=%s", ns, run)
	case len(ns) > MaxIDLength:
		return cmdErr(cause, "Namespace on RequestCancelExternalWorkflowExecutionCommand exceeds length limit. WorkflowId=%s RunId=%s Namespace=%s Length=%d Limit=%d", id, run, ns, len(ns), MaxIDLength)
	case len(id) > MaxIDLength:
		return cmdErr(cause, "WorkflowId on RequestCancelExternalWorkflowExecutionCommand exceeds length limit. WorkflowId=%s Length=%d Limit=%d RunId=%s Namespace=%s", id, len(id), MaxIDLength, run, ns)
	case run != "" && uuid.Validate(run) != nil:
		return cmdErr(cause, "Invalid RunId set on RequestCancelExternalWorkflowExecutionCommand. WorkflowId=%s RunId=%s Namespace=%s", id, run, ns)
	case children[id]:
		return cmdErr(cause, "Start and RequestCancel for child workflow is not allowed in same workflow task. WorkflowId=%s RunId=%s Namespace=%s", id, run, ns)
	}
	return nil
}

func checkUpsertSearchAttributes(a *commandpb.UpsertWorkflowSearchAttributesCommandAttributes) *CommandError {
	const cause = enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES
	switch {
	case a == nil:
		return cmdErr(cause, "UpsertWorkflowSearchAttributesCommandAttributes is not set on UpsertWorkflowSearchAttributesCommand.")
	case a.SearchAttributes == nil:
		return cmdErr(cause, "SearchAttributes is not set on UpsertWorkflowSearchAttributesCommand.")
	case len(a.SearchAttributes.IndexedFields) == 0:
		return cmdErr(cause, "IndexedFields is not set on UpsertWorkflowSearchAttributesCommand.")
	}
	return nil
}

func checkModifyProperties(a *commandpb.ModifyWorkflowPropertiesCommandAttributes) *CommandError {
	const cause = enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_MODIFY_WORKFLOW_PROPERTIES_ATTRIBUTES
	switch {
	case a == nil:
		return cmdErr(cause, "ModifyWorkflowPropertiesCommandAttributes is not set on ModifyWorkflowPropertiesCommand.")
	case a.UpsertedMemo == nil:
		return cmdErr(cause, "UpsertedMemo is not set on ModifyWorkflowPropertiesCommand.")
	case len(a.UpsertedMemo.Fields) == 0:
		return cmdErr(cause, "UpsertedMemo.Fields is not set on ModifyWorkflowPropertiesCommand.")
	}
	return nil
}

func checkCloseCommand(cmd *commandpb.Command) *CommandError {
	switch cmd.CommandType {
	case enumspb.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION:
		if cmd.GetCompleteWorkflowExecutionCommandAttributes() == nil {
			return cmdErr(enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_COMPLETE_WORKFLOW_EXECUTION_ATTRIBUTES, "CompleteWorkflowExecutionCommandAttributes is not set on CompleteWorkflowExecutionCommand.")
		}
	case enumspb.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION:
		a := cmd.GetFailWorkflowExecutionCommandAttributes()
		if a == nil {
			return cmdErr(enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_FAIL_WORKFLOW_EXECUTION_ATTRIBUTES, "FailWorkflowExecutionCommandAttributes is not set on FailWorkflowExecutionCommand.")
		}
		if a.Failure == nil {
			return cmdErr(enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_FAIL_WORKFLOW_EXECUTION_ATTRIBUTES, "Failure is not set on FailWorkflowExecutionCommand.")
		}
	case enumspb.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION:
		if cmd.GetCancelWorkflowExecutionCommandAttributes() == nil {
			return cmdErr(enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_WORKFLOW_EXECUTION_ATTRIBUTES, "CancelWorkflowExecutionCommandAttributes is not set on CancelWorkflowExecutionCommand.")
		}
	case enumspb.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION:
		return checkContinueAsNew(cmd.GetContinueAsNewWorkflowExecutionCommandAttributes())
	}
	return nil
}

func checkContinueAsNew(a *commandpb.ContinueAsNewWorkflowExecutionCommandAttributes) *CommandError {
	const cause = enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_CONTINUE_AS_NEW_ATTRIBUTES
	if a == nil {
		return cmdErr(cause, "ContinueAsNewWorkflowExecutionCommandAttributes is not set on ContinueAsNewWorkflowExecutionCommand.")
	}
	typ, tq := a.WorkflowType.GetName(), a.TaskQueue.GetName()
	if len(typ) > MaxIDLength {
		return cmdErr(cause, "WorkflowType on ContinueAsNewWorkflowExecutionCommand exceeds length limit. WorkflowType=%s Length=%d Limit=%d", typ, len(typ), MaxIDLength)
	}
	if len(tq) > MaxIDLength {
		return cmdErr(cause, "error validating ContinueAsNewWorkflowExecutionCommand TaskQueue: task queue name exceeds length limit of %d. WorkflowType=%s TaskQueue=%s", MaxIDLength, typ, tq)
	}
	for _, d := range []struct {
		name string
		d    *durationpb.Duration
	}{{"WorkflowRunTimeout", a.WorkflowRunTimeout}, {"WorkflowTaskTimeout", a.WorkflowTaskTimeout}, {"BackoffStartInterval", a.BackoffStartInterval}} {
		if err := checkDuration(d.d); err != nil {
			return cmdErr(cause, "Invalid %s on ContinueAsNewWorkflowExecutionCommand: %v. WorkflowType=%s TaskQueue=%s", d.name, err, typ, tq)
		}
	}
	if err := checkRetryPolicy(a.RetryPolicy); err != nil {
		return cmdErr(cause, "invalid WorkflowRetryPolicy on ContinueAsNewWorkflowExecutionCommand: %v. WorkflowType=%s TaskQueue=%s", err, typ, tq)
	}
	return nil
}
