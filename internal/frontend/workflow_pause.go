package frontend

import (
	"context"

	"go.temporal.io/api/workflowservice/v1"
)

// Workflow pause (PauseWorkflowExecution, UnpauseWorkflowExecution) is an
// experimental Temporal feature behind its frontend.WorkflowPauseEnabled
// dynamic config; Sundial offers it always (execution/workflow_pause.go
// has the semantics). Validation follows Temporal's: reason, request id and
// identity within the id length limit (checked first, with Temporal's
// messages), then the workflow id and run id.

// checkPauseRequest validates what a pause and an unpause have in common.
func (s *Service) checkPauseRequest(ns, wfID, runID, reason, requestID, identity string) error {
	if err := s.ns(ns); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"reason", reason}, {"request id", requestID}, {"identity", identity}} {
		if len(f.v) > maxIDLength {
			return invalid("%s is too long.", f.name)
		}
	}
	if err := checkID("WorkflowId", wfID); err != nil {
		return err
	}
	return checkRunID(runID)
}

// PauseWorkflowExecution pauses a running workflow: it records
// WorkflowExecutionPaused and no workflow code runs until it is unpaused.
func (s *Service) PauseWorkflowExecution(ctx context.Context, r *workflowservice.PauseWorkflowExecutionRequest) (*workflowservice.PauseWorkflowExecutionResponse, error) {
	if err := s.checkPauseRequest(r.Namespace, r.WorkflowId, r.RunId, r.Reason, r.RequestId, r.Identity); err != nil {
		return nil, err
	}
	if err := s.e.PauseWorkflow(ctx, r.Namespace, r.WorkflowId, r.RunId, r.Identity, r.Reason, r.RequestId); err != nil {
		return nil, err
	}
	return &workflowservice.PauseWorkflowExecutionResponse{}, nil
}

// UnpauseWorkflowExecution unpauses a paused workflow: it records
// WorkflowExecutionUnpaused and schedules the work the pause held back.
func (s *Service) UnpauseWorkflowExecution(ctx context.Context, r *workflowservice.UnpauseWorkflowExecutionRequest) (*workflowservice.UnpauseWorkflowExecutionResponse, error) {
	if err := s.checkPauseRequest(r.Namespace, r.WorkflowId, r.RunId, r.Reason, r.RequestId, r.Identity); err != nil {
		return nil, err
	}
	if err := s.e.UnpauseWorkflow(ctx, r.Namespace, r.WorkflowId, r.RunId, r.Identity, r.Reason, r.RequestId); err != nil {
		return nil, err
	}
	return &workflowservice.UnpauseWorkflowExecutionResponse{}, nil
}
