package frontend

import (
	"context"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundial-io/sundial/internal/batch"
)

// Batch operations (terminate, cancel, signal, delete, reset or update
// the options of every workflow a query matches, or a list of them, or
// unpause, reset or update the options of their activities) are run by
// package batch; these handlers check the namespace and hand the request
// over.

// WithBatches makes s answer the batch RPCs with b.
func (s *Service) WithBatches(b *batch.Batcher) *Service {
	s.batch = b
	return s
}

// batcher returns the batcher, or Unimplemented when the service was
// built without one.
func (s *Service) batcher(ns string) (*batch.Batcher, error) {
	if err := s.ns(ns); err != nil {
		return nil, err
	}
	if s.batch == nil {
		return nil, serviceerror.NewUnimplemented("batch operations are not enabled on this server")
	}
	return s.batch, nil
}

func (s *Service) StartBatchOperation(ctx context.Context, r *workflowservice.StartBatchOperationRequest) (*workflowservice.StartBatchOperationResponse, error) {
	b, err := s.batcher(r.Namespace)
	if err != nil {
		return nil, err
	}
	if err := b.Start(ctx, r); err != nil {
		return nil, err
	}
	return &workflowservice.StartBatchOperationResponse{}, nil
}

func (s *Service) StopBatchOperation(ctx context.Context, r *workflowservice.StopBatchOperationRequest) (*workflowservice.StopBatchOperationResponse, error) {
	b, err := s.batcher(r.Namespace)
	if err != nil {
		return nil, err
	}
	if err := b.Stop(ctx, r); err != nil {
		return nil, err
	}
	return &workflowservice.StopBatchOperationResponse{}, nil
}

func (s *Service) DescribeBatchOperation(ctx context.Context, r *workflowservice.DescribeBatchOperationRequest) (*workflowservice.DescribeBatchOperationResponse, error) {
	b, err := s.batcher(r.Namespace)
	if err != nil {
		return nil, err
	}
	if r.JobId == "" {
		return nil, invalid("JobId is not set on request.")
	}
	return b.Describe(ctx, r.Namespace, r.JobId)
}

func (s *Service) ListBatchOperations(ctx context.Context, r *workflowservice.ListBatchOperationsRequest) (*workflowservice.ListBatchOperationsResponse, error) {
	b, err := s.batcher(r.Namespace)
	if err != nil {
		return nil, err
	}
	if r.PageSize < 0 {
		return nil, invalid("PageSize must not be negative.")
	}
	return b.List(ctx, r)
}
