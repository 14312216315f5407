package execution

import (
	"time"

	enumspb "go.temporal.io/api/enums/v1"
)

// History limits, Temporal's defaults: past the warn limits the engine
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
)

// suggestContinueAsNew reports whether, and why, the worker should
// continue-as-new.
func (s *State) suggestContinueAsNew() (bool, []enumspb.SuggestContinueAsNewReason) {
	var why []enumspb.SuggestContinueAsNewReason
	if s.NextEventID-1 > HistoryCountSuggestCAN {
		why = append(why, enumspb.SUGGEST_CONTINUE_AS_NEW_REASON_TOO_MANY_HISTORY_EVENTS)
	}
	if s.HistorySize > HistorySizeSuggestCAN {
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
	switch {
	case s.NextEventID-1 > HistoryCountError:
		_ = s.Terminate(now, historyCountExceededMessage, nil, "sundial")
	case s.HistorySize > HistorySizeError:
		_ = s.Terminate(now, historySizeExceededMessage, nil, "sundial")
	default:
		return false
	}
	return true
}
