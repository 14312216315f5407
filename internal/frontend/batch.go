package frontend

import (
	"context"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
)

// Sundial runs no batch operations (terminate, cancel, signal, reset ... on
// every workflow a query matches). Starting one is Unimplemented with a
// message that says so; the read side answers truthfully that there are
// none, as Temporal does for a namespace where none was started: an empty
// list, and NotFound for a job id. The Web UI's Batch page lists them on
// load, and an Unimplemented there left the page blank but for an error
// toast; with an empty list it shows its own empty state.

const batchUnsupported = "Sundial does not support batch operations"

// StartBatchOperation is not supported.
func (s *Service) StartBatchOperation(ctx context.Context, r *workflowservice.StartBatchOperationRequest) (*workflowservice.StartBatchOperationResponse, error) {
	return nil, serviceerror.NewUnimplemented(batchUnsupported + ": terminate, cancel, signal or reset each workflow on its own.")
}

// StopBatchOperation finds no job to stop.
func (s *Service) StopBatchOperation(ctx context.Context, r *workflowservice.StopBatchOperationRequest) (*workflowservice.StopBatchOperationResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if r.JobId == "" {
		return nil, invalid("JobId is not set on request.")
	}
	return nil, serviceerror.NewNotFoundf("Batch operation %q not found (%s).", r.JobId, batchUnsupported)
}

// DescribeBatchOperation finds no job.
func (s *Service) DescribeBatchOperation(ctx context.Context, r *workflowservice.DescribeBatchOperationRequest) (*workflowservice.DescribeBatchOperationResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if r.JobId == "" {
		return nil, invalid("JobId is not set on request.")
	}
	return nil, serviceerror.NewNotFoundf("Batch operation %q not found (%s).", r.JobId, batchUnsupported)
}

// ListBatchOperations answers that there are none.
func (s *Service) ListBatchOperations(ctx context.Context, r *workflowservice.ListBatchOperationsRequest) (*workflowservice.ListBatchOperationsResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if r.PageSize < 0 {
		return nil, invalid("PageSize must not be negative.")
	}
	if len(r.NextPageToken) > 0 {
		return nil, invalid("Invalid NextPageToken: there are no more batch operations.")
	}
	return &workflowservice.ListBatchOperationsResponse{}, nil
}
