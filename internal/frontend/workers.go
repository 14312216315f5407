package frontend

import (
	"context"

	workerpb "go.temporal.io/api/worker/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundial-io/sundial/internal/workers"
)

// Worker heartbeats: SDK workers report themselves (the namespace's
// WorkerHeartbeats capability turns this on); the CLI and the Web UI's
// Workers page list and describe them. Kept in memory (internal/workers).

func (s *Service) RecordWorkerHeartbeat(ctx context.Context, r *workflowservice.RecordWorkerHeartbeatRequest) (*workflowservice.RecordWorkerHeartbeatResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	s.workers.Record(r.Namespace, r.WorkerHeartbeat)
	return &workflowservice.RecordWorkerHeartbeatResponse{}, nil
}

func (s *Service) ListWorkers(ctx context.Context, r *workflowservice.ListWorkersRequest) (*workflowservice.ListWorkersResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	hbs, next, err := s.workers.List(r.Namespace, r.Query, int(r.PageSize), r.NextPageToken, r.IncludeSystemWorkers)
	if err != nil {
		return nil, err
	}
	resp := &workflowservice.ListWorkersResponse{
		// Temporal still fills the deprecated full form next to the short one.
		WorkersInfo:   make([]*workerpb.WorkerInfo, len(hbs)), //nolint:staticcheck // deprecated, still read by older clients
		Workers:       make([]*workerpb.WorkerListInfo, len(hbs)),
		NextPageToken: next,
	}
	for i, hb := range hbs {
		resp.WorkersInfo[i] = &workerpb.WorkerInfo{WorkerHeartbeat: hb} //nolint:staticcheck // deprecated, still read by older clients
		resp.Workers[i] = workers.ListInfo(hb)
	}
	return resp, nil
}

func (s *Service) CountWorkers(ctx context.Context, r *workflowservice.CountWorkersRequest) (*workflowservice.CountWorkersResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	n, err := s.workers.Count(r.Namespace, r.Query, r.IncludeSystemWorkers)
	if err != nil {
		return nil, err
	}
	return &workflowservice.CountWorkersResponse{Count: n}, nil
}

func (s *Service) DescribeWorker(ctx context.Context, r *workflowservice.DescribeWorkerRequest) (*workflowservice.DescribeWorkerResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	hb, err := s.workers.Describe(r.Namespace, r.WorkerInstanceKey)
	if err != nil {
		return nil, err
	}
	return &workflowservice.DescribeWorkerResponse{WorkerInfo: &workerpb.WorkerInfo{WorkerHeartbeat: hb}}, nil
}
