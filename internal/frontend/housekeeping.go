package frontend

import (
	"context"

	"go.temporal.io/api/workflowservice/v1"
)

// DeleteWorkflowExecution and GetWorkflowExecutionHistoryReverse: the
// housekeeping and history-browsing calls of the CLI and Web UI.

func (s *Service) DeleteWorkflowExecution(ctx context.Context, r *workflowservice.DeleteWorkflowExecutionRequest) (*workflowservice.DeleteWorkflowExecutionResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if err := checkExecution(r.WorkflowExecution); err != nil {
		return nil, err
	}
	if err := s.e.DeleteWorkflow(ctx, r.Namespace, r.WorkflowExecution); err != nil {
		return nil, err
	}
	return &workflowservice.DeleteWorkflowExecutionResponse{}, nil
}

func (s *Service) GetWorkflowExecutionHistoryReverse(ctx context.Context, r *workflowservice.GetWorkflowExecutionHistoryReverseRequest) (*workflowservice.GetWorkflowExecutionHistoryReverseResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if err := checkExecution(r.Execution); err != nil {
		return nil, err
	}
	return s.e.HistoryReverse(ctx, r)
}
