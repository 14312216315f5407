package frontend

import (
	"context"

	"github.com/google/uuid"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sundial-io/sundial/internal/activityexec"
)

// Standalone activities (an activity started by a client, without a
// workflow): request checks here, the state rules in package activityexec,
// storage and dispatch in the engine (standalone_activities.go). Pause,
// unpause, reset and options updates are in activity_execution_control.go.

// activityAddress checks the activity id and run id of a request that
// names one execution.
func (s *Service) activityAddress(ns, activityID, runID string) error {
	if err := s.ns(ns); err != nil {
		return err
	}
	if err := checkID("ActivityId", activityID); err != nil {
		return err
	}
	return checkLoadRunID(runID)
}

func (s *Service) StartActivityExecution(ctx context.Context, r *workflowservice.StartActivityExecutionRequest) (*workflowservice.StartActivityExecutionResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if len(r.RequestId) > maxIDLength {
		return nil, invalid("RequestId exceeds length limit. Length=%d Limit=%d", len(r.RequestId), maxIDLength)
	}
	if len(r.Identity) > maxIDLength {
		return nil, invalid("Identity exceeds length limit. Length=%d Limit=%d", len(r.Identity), maxIDLength)
	}
	if proto.Size(r.Input) > MaxPayloadBytes {
		return nil, invalid("Input exceeds size limit. Size=%d Limit=%d", proto.Size(r.Input), MaxPayloadBytes)
	}
	req, err := activityexec.Normalize(r)
	if err != nil {
		return nil, err
	}
	if err := s.e.ValidateSearchAttributes(r.Namespace, req.SearchAttributes); err != nil {
		return nil, err
	}
	if req.RequestId == "" {
		req.RequestId = uuid.NewString()
	}
	return s.e.StartActivityExecution(ctx, req)
}

func (s *Service) DescribeActivityExecution(ctx context.Context, r *workflowservice.DescribeActivityExecutionRequest) (*workflowservice.DescribeActivityExecutionResponse, error) {
	if err := s.activityAddress(r.Namespace, r.ActivityId, r.RunId); err != nil {
		return nil, err
	}
	if len(r.LongPollToken) > 0 && r.RunId == "" {
		return nil, invalid("RunId is required when LongPollToken is set.")
	}
	return s.e.DescribeActivityExecution(ctx, r)
}

func (s *Service) PollActivityExecution(ctx context.Context, r *workflowservice.PollActivityExecutionRequest) (*workflowservice.PollActivityExecutionResponse, error) {
	if err := s.activityAddress(r.Namespace, r.ActivityId, r.RunId); err != nil {
		return nil, err
	}
	return s.e.PollActivityExecution(ctx, r)
}

func (s *Service) ListActivityExecutions(ctx context.Context, r *workflowservice.ListActivityExecutionsRequest) (*workflowservice.ListActivityExecutionsResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if r.PageSize < 0 {
		return nil, invalid("PageSize cannot be negative.")
	}
	return s.e.ListActivityExecutions(ctx, r)
}

func (s *Service) CountActivityExecutions(ctx context.Context, r *workflowservice.CountActivityExecutionsRequest) (*workflowservice.CountActivityExecutionsResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	return s.e.CountActivityExecutions(ctx, r)
}

func (s *Service) RequestCancelActivityExecution(ctx context.Context, r *workflowservice.RequestCancelActivityExecutionRequest) (*workflowservice.RequestCancelActivityExecutionResponse, error) {
	if err := s.activityAddress(r.Namespace, r.ActivityId, r.RunId); err != nil {
		return nil, err
	}
	if len(r.Reason) > maxIDLength {
		return nil, invalid("Reason exceeds length limit. Length=%d Limit=%d", len(r.Reason), maxIDLength)
	}
	if err := s.e.RequestCancelActivityExecution(ctx, r); err != nil {
		return nil, err
	}
	return &workflowservice.RequestCancelActivityExecutionResponse{}, nil
}

func (s *Service) TerminateActivityExecution(ctx context.Context, r *workflowservice.TerminateActivityExecutionRequest) (*workflowservice.TerminateActivityExecutionResponse, error) {
	if err := s.activityAddress(r.Namespace, r.ActivityId, r.RunId); err != nil {
		return nil, err
	}
	if len(r.Reason) > maxIDLength {
		return nil, invalid("Reason exceeds length limit. Length=%d Limit=%d", len(r.Reason), maxIDLength)
	}
	if err := s.e.TerminateActivityExecution(ctx, r); err != nil {
		return nil, err
	}
	return &workflowservice.TerminateActivityExecutionResponse{}, nil
}

func (s *Service) DeleteActivityExecution(ctx context.Context, r *workflowservice.DeleteActivityExecutionRequest) (*workflowservice.DeleteActivityExecutionResponse, error) {
	if err := s.activityAddress(r.Namespace, r.ActivityId, r.RunId); err != nil {
		return nil, err
	}
	if err := s.e.DeleteActivityExecution(ctx, r.Namespace, r.ActivityId, r.RunId); err != nil {
		return nil, err
	}
	return &workflowservice.DeleteActivityExecutionResponse{}, nil
}
