package frontend

import (
	"context"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundial-io/sundial/internal/execution"
)

// Time skipping (per-execution virtual clocks, fast-forwards and the
// PollWorkflowExecutionTimeSkipping long poll; execution/time_skipping.go)
// is offered always, as Temporal offers it with its per-namespace flag
// frontend.WorkflowTimeSkippingEnabled on. A config is checked as
// Temporal's frontend checks it (on starts, signal-with-start,
// update-with-start's start, UpdateWorkflowExecutionOptions, and a reset's
// or a batch's update-options operation): a missing maximum skip count
// gets the default, a fast-forward needs a positive duration and an id,
// and a config that disables skipping cannot carry a fast-forward. The
// state a start propagates (time_skipping_state_propagation) is not
// checked, as in Temporal.

// checkTimeSkipping checks a time-skipping config and fills its default
// maximum skip count in place, as Temporal's frontend does. A nil config
// is no request at all.
func checkTimeSkipping(cfg *commonpb.TimeSkippingConfig) error {
	if cfg == nil {
		return nil
	}
	if cfg.MaxSessionSkipCount <= 0 {
		cfg.MaxSessionSkipCount = execution.DefaultMaxSessionSkipCount
	}
	if ff := cfg.FastForwardConfig; ff != nil {
		if ff.GetDuration().AsDuration() <= 0 {
			return invalid("Time skipping config invalid: fast_forward duration must be positive")
		}
		if strings.TrimSpace(ff.GetId()) == "" {
			return invalid("Time skipping config invalid: fast_forward_id must be set")
		}
	}
	if !cfg.Enabled && cfg.FastForwardConfig != nil {
		return invalid("time_skipping_config: cannot set fast_forward when enabled is false")
	}
	return nil
}

// PollWorkflowExecutionTimeSkipping waits for a fast-forward to complete
// (engine.PollTimeSkipping). As Temporal's frontend it checks the
// execution and the namespace first, then that the fast-forward id is set.
func (s *Service) PollWorkflowExecutionTimeSkipping(ctx context.Context, r *workflowservice.PollWorkflowExecutionTimeSkippingRequest) (*workflowservice.PollWorkflowExecutionTimeSkippingResponse, error) {
	if err := checkExecution(r.WorkflowExecution); err != nil {
		return nil, err
	}
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if strings.TrimSpace(r.FastForwardId) == "" {
		return nil, invalid("Time skipping config invalid: fast_forward_id must be set")
	}
	return s.e.PollTimeSkipping(ctx, r.Namespace, r.WorkflowExecution, r.FastForwardId)
}
