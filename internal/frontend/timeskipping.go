package frontend

import (
	"context"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
)

// Time skipping (per-execution virtual clocks, fast-forwards and the
// PollWorkflowExecutionTimeSkipping long poll) is built in Temporal's
// server, but behind the per-namespace dynamic config flag
// frontend.WorkflowTimeSkippingEnabled, which is off by default. With the
// flag off Temporal's frontend refuses every request that carries a
// TimeSkippingConfig (start, signal-with-start, update-with-start's start,
// UpdateWorkflowExecutionOptions, a reset's and a batch's update-options
// operation), even one that disables skipping, and refuses the poll, all
// with Unimplemented and one sentence. Sundial has not built time skipping
// yet, so it answers as Temporal does with the flag off: the same code and
// sentence first (callers matching it keep working), then what Sundial
// lacks and the field that asked for it. Nothing carrying a config is
// accepted and silently run on the wall clock.

// temporalTimeSkippingOff is Temporal's answer with the feature flag off.
const temporalTimeSkippingOff = "The Time-Skipping feature is not enabled for namespace."

// timeSkippingOff is the refusal of a request whose field (message.field)
// asks for time skipping.
func timeSkippingOff(field string) error {
	return serviceerror.NewUnimplemented(temporalTimeSkippingOff + " Sundial does not implement time skipping yet (" + field + ").")
}

// checkNoTimeSkipping refuses a set TimeSkippingConfig, as Temporal does
// with the feature off (a nil config is no request at all).
func checkNoTimeSkipping(cfg *commonpb.TimeSkippingConfig, field string) error {
	if cfg != nil {
		return timeSkippingOff(field)
	}
	return nil
}

// checkStartNoTimeSkipping checks a start request's two time-skipping
// fields. Temporal's frontend does not validate the state propagation (its
// history service shifts the new run's clock by the skipped duration it
// carries; the field is meant for the server itself, e.g. schedules);
// Sundial cannot honour it, so it refuses it rather than ignore it.
func checkStartNoTimeSkipping(msg string, cfg *commonpb.TimeSkippingConfig, prop *commonpb.TimeSkippingStatePropagation) error {
	if err := checkNoTimeSkipping(cfg, msg+".time_skipping_config"); err != nil {
		return err
	}
	if prop != nil {
		return timeSkippingOff(msg + ".time_skipping_state_propagation")
	}
	return nil
}

// PollWorkflowExecutionTimeSkipping waits, in Temporal, for a fast-forward
// to complete. Temporal validates the execution and namespace first, then
// checks the flag; Sundial refuses first, whatever the request: the RPC
// does not exist here yet, so a request's shape cannot change the answer.
func (s *Service) PollWorkflowExecutionTimeSkipping(context.Context, *workflowservice.PollWorkflowExecutionTimeSkippingRequest) (*workflowservice.PollWorkflowExecutionTimeSkippingResponse, error) {
	return nil, serviceerror.NewUnimplemented(temporalTimeSkippingOff + " " + notYet("PollWorkflowExecutionTimeSkipping").Error())
}
