package execution

import (
	"time"

	commandpb "go.temporal.io/api/command/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"google.golang.org/protobuf/proto"
)

// History limits, Temporal's defaults (see Limits): past the warn limits the engine
// logs, past the suggest limits workers are told to continue-as-new (in
// WorkflowTaskStarted), past the error limits the run is terminated.
const (
	HistoryCountWarn            = 10 * 1024
	HistoryCountError           = 50 * 1024
	HistoryCountSuggestCAN      = 4 * 1024
	HistorySizeWarn             = 10 << 20
	HistorySizeError            = 50 << 20
	HistorySizeSuggestCAN       = 4 << 20
	historyCountExceededMessage = "Workflow history count exceeds limit."
	historySizeExceededMessage  = "Workflow history size exceeds limit."

	// MaxPayloadBytes is the largest payload blob of one event.
	MaxPayloadBytes = 2 << 20
	// Buffered events (arriving while a workflow task runs) are capped:
	// past either limit the running task is failed and the buffer flushed.
	MaxBufferedEvents     = 100
	MaxBufferedEventBytes = 2 << 20
)

// Limits are a run's history limits, Temporal's dynamic config keys
// limit.historyCount.{warn,error,suggestContinueAsNew} and
// limit.historySize.{warn,error,suggestContinueAsNew} (test suites lower
// them on a dev server to exercise continue-as-new and termination).
type Limits struct {
	HistoryCountWarn, HistoryCountError, HistoryCountSuggestCAN int64
	HistorySizeWarn, HistorySizeError, HistorySizeSuggestCAN    int64
}

// DefaultLimits are Temporal's defaults.
func DefaultLimits() Limits {
	return Limits{
		HistoryCountWarn: HistoryCountWarn, HistoryCountError: HistoryCountError, HistoryCountSuggestCAN: HistoryCountSuggestCAN,
		HistorySizeWarn: HistorySizeWarn, HistorySizeError: HistorySizeError, HistorySizeSuggestCAN: HistorySizeSuggestCAN,
	}
}

var defaultLimits = DefaultLimits()

// SetLimits sets the run's history limits (nil: the defaults). Runs it
// starts (continue-as-new, retry, cron) inherit them.
func (s *State) SetLimits(l *Limits) { s.lim = l }

// Limits returns the run's history limits.
func (s *State) Limits() *Limits {
	if s.lim == nil {
		return &defaultLimits
	}
	return s.lim
}

// oversized finds a command whose payload is over MaxPayloadBytes. Such a
// command fails the task and terminates the run, as in Temporal (the
// workflow would fail the same way on every retry).
func oversized(cmds []*commandpb.Command) (enumspb.WorkflowTaskFailedCause, string, bool) {
	for _, c := range cmds {
		var size int
		var what string
		cause := enumspb.WORKFLOW_TASK_FAILED_CAUSE_UNSPECIFIED
		switch c.CommandType {
		case enumspb.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION:
			size, what, cause = proto.Size(c.GetCompleteWorkflowExecutionCommandAttributes().GetResult()), "CompleteWorkflowExecutionCommandAttributes.Result", enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_COMPLETE_WORKFLOW_EXECUTION_ATTRIBUTES
		case enumspb.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION:
			size, what, cause = proto.Size(c.GetFailWorkflowExecutionCommandAttributes().GetFailure()), "FailWorkflowExecutionCommandAttributes.Failure", enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_FAIL_WORKFLOW_EXECUTION_ATTRIBUTES
		case enumspb.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION:
			size, what, cause = proto.Size(c.GetCancelWorkflowExecutionCommandAttributes().GetDetails()), "CancelWorkflowExecutionCommandAttributes.Details", enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_WORKFLOW_EXECUTION_ATTRIBUTES
		case enumspb.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK:
			size, what, cause = proto.Size(c.GetScheduleActivityTaskCommandAttributes().GetInput()), "ScheduleActivityTaskCommandAttributes.Input", enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES
		case enumspb.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION:
			size, what, cause = proto.Size(c.GetContinueAsNewWorkflowExecutionCommandAttributes().GetInput()), "ContinueAsNewWorkflowExecutionCommandAttributes.Input", enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_CONTINUE_AS_NEW_ATTRIBUTES
		case enumspb.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION:
			size, what, cause = proto.Size(c.GetStartChildWorkflowExecutionCommandAttributes().GetInput()), "StartChildWorkflowExecutionCommandAttributes.Input", enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_CHILD_EXECUTION_ATTRIBUTES
		case enumspb.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION:
			size, what, cause = proto.Size(c.GetSignalExternalWorkflowExecutionCommandAttributes().GetInput()), "SignalExternalWorkflowExecutionCommandAttributes.Input", enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_SIGNAL_INPUT_SIZE
		case enumspb.COMMAND_TYPE_RECORD_MARKER:
			size, what, cause = proto.Size(c.GetRecordMarkerCommandAttributes()), "RecordMarkerCommandAttributes.Details", enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_RECORD_MARKER_ATTRIBUTES
		case enumspb.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES:
			size, what, cause = proto.Size(c.GetModifyWorkflowPropertiesCommandAttributes().GetUpsertedMemo()), "ModifyWorkflowPropertiesCommandAttributes.UpsertedMemo", enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_MODIFY_WORKFLOW_PROPERTIES_ATTRIBUTES
		}
		if size > MaxPayloadBytes {
			return cause, what + " exceeds size limit.", true
		}
	}
	return 0, "", false
}

// terminateOversized fails the task and terminates the run for a command
// whose payload is over the limit.
func (s *State) terminateOversized(now time.Time, cause enumspb.WorkflowTaskFailedCause, msg, identity string) {
	s.RefuseWorkflowTask(now, cause, &failurepb.Failure{Message: msg}, identity)
	s.forceCloseWFT(now)
	_ = s.Terminate(now, msg, nil, "sundial")
}

// suggestContinueAsNew reports whether, and why, the worker should
// continue-as-new.
func (s *State) suggestContinueAsNew() (bool, []enumspb.SuggestContinueAsNewReason) {
	var why []enumspb.SuggestContinueAsNewReason
	l := s.Limits()
	if s.NextEventID-1 > l.HistoryCountSuggestCAN {
		why = append(why, enumspb.SUGGEST_CONTINUE_AS_NEW_REASON_TOO_MANY_HISTORY_EVENTS)
	}
	if s.HistorySize > l.HistorySizeSuggestCAN {
		why = append(why, enumspb.SUGGEST_CONTINUE_AS_NEW_REASON_HISTORY_SIZE_TOO_LARGE)
	}
	return len(why) > 0, why
}

// EnforceLimits terminates a running run whose history passed the error
// limits. It reports whether it did.
func (s *State) EnforceLimits(now time.Time) bool {
	if !s.Running() {
		return false
	}
	l := s.Limits()
	switch {
	case s.NextEventID-1 > l.HistoryCountError:
		_ = s.Terminate(now, historyCountExceededMessage, nil, "sundial")
	case s.HistorySize > l.HistorySizeError:
		_ = s.Terminate(now, historySizeExceededMessage, nil, "sundial")
	default:
		return false
	}
	return true
}
