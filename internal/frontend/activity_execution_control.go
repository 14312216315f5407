package frontend

import (
	"context"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
)

// Pause, unpause, reset and options updates through the
// *ActivityExecution RPCs. As in Temporal, a request with a workflow id
// targets that workflow's activity (the same as PauseActivity and friends
// with the activity id); without one it targets a standalone activity.

// checkControl checks the address of a control request: the activity id,
// and the run id (a workflow's or the standalone activity's).
func (s *Service) checkControl(ns, wfID, activityID, runID, identity string) error {
	if err := s.activityAddress(ns, activityID, runID); err != nil {
		return err
	}
	if len(wfID) > maxIDLength {
		return invalid("WorkflowId exceeds length limit. Length=%d Limit=%d", len(wfID), maxIDLength)
	}
	if len(identity) > maxIDLength {
		return invalid("Identity exceeds length limit. Length=%d Limit=%d", len(identity), maxIDLength)
	}
	return nil
}

func (s *Service) PauseActivityExecution(ctx context.Context, r *workflowservice.PauseActivityExecutionRequest) (*workflowservice.PauseActivityExecutionResponse, error) {
	if err := s.checkControl(r.Namespace, r.WorkflowId, r.ActivityId, r.RunId, r.Identity); err != nil {
		return nil, err
	}
	if len(r.Reason) > maxIDLength {
		return nil, invalid("Reason exceeds length limit. Length=%d Limit=%d", len(r.Reason), maxIDLength)
	}
	if r.WorkflowId != "" {
		_, err := s.PauseActivity(ctx, &workflowservice.PauseActivityRequest{Namespace: r.Namespace,
			Execution: &commonpb.WorkflowExecution{WorkflowId: r.WorkflowId, RunId: r.RunId}, Identity: r.Identity,
			Activity: &workflowservice.PauseActivityRequest_Id{Id: r.ActivityId}, Reason: r.Reason, RequestId: r.RequestId})
		if err != nil {
			return nil, err
		}
		return &workflowservice.PauseActivityExecutionResponse{}, nil
	}
	if err := s.e.PauseActivityExecution(ctx, r); err != nil {
		return nil, err
	}
	return &workflowservice.PauseActivityExecutionResponse{}, nil
}

func (s *Service) UnpauseActivityExecution(ctx context.Context, r *workflowservice.UnpauseActivityExecutionRequest) (*workflowservice.UnpauseActivityExecutionResponse, error) {
	if err := s.checkControl(r.Namespace, r.WorkflowId, r.ActivityId, r.RunId, r.Identity); err != nil {
		return nil, err
	}
	if err := checkDuration("Jitter", r.Jitter, r.Jitter != nil); err != nil {
		return nil, err
	}
	if r.WorkflowId != "" {
		_, err := s.UnpauseActivity(ctx, &workflowservice.UnpauseActivityRequest{Namespace: r.Namespace,
			Execution: &commonpb.WorkflowExecution{WorkflowId: r.WorkflowId, RunId: r.RunId}, Identity: r.Identity,
			Activity: &workflowservice.UnpauseActivityRequest_Id{Id: r.ActivityId}, Jitter: r.Jitter})
		if err != nil {
			return nil, err
		}
		return &workflowservice.UnpauseActivityExecutionResponse{}, nil
	}
	if err := s.e.UnpauseActivityExecution(ctx, r); err != nil {
		return nil, err
	}
	return &workflowservice.UnpauseActivityExecutionResponse{}, nil
}

func (s *Service) ResetActivityExecution(ctx context.Context, r *workflowservice.ResetActivityExecutionRequest) (*workflowservice.ResetActivityExecutionResponse, error) {
	if err := s.checkControl(r.Namespace, r.WorkflowId, r.ActivityId, r.RunId, r.Identity); err != nil {
		return nil, err
	}
	if err := checkDuration("Jitter", r.Jitter, r.Jitter != nil); err != nil {
		return nil, err
	}
	if r.WorkflowId != "" {
		_, err := s.ResetActivity(ctx, &workflowservice.ResetActivityRequest{Namespace: r.Namespace,
			Execution: &commonpb.WorkflowExecution{WorkflowId: r.WorkflowId, RunId: r.RunId}, Identity: r.Identity,
			Activity: &workflowservice.ResetActivityRequest_Id{Id: r.ActivityId}, ResetHeartbeat: r.ResetHeartbeat,
			KeepPaused: r.KeepPaused, Jitter: r.Jitter, RestoreOriginalOptions: r.RestoreOriginalOptions})
		if err != nil {
			return nil, err
		}
		return &workflowservice.ResetActivityExecutionResponse{}, nil
	}
	if err := s.e.ResetActivityExecution(ctx, r); err != nil {
		return nil, err
	}
	return &workflowservice.ResetActivityExecutionResponse{}, nil
}

func (s *Service) UpdateActivityExecutionOptions(ctx context.Context, r *workflowservice.UpdateActivityExecutionOptionsRequest) (*workflowservice.UpdateActivityExecutionOptionsResponse, error) {
	if err := s.checkControl(r.Namespace, r.WorkflowId, r.ActivityId, r.RunId, r.Identity); err != nil {
		return nil, err
	}
	if r.RestoreOriginal && len(r.UpdateMask.GetPaths()) > 0 {
		return nil, invalid("Both UpdateMask and RestoreOriginal are provided")
	}
	if r.WorkflowId != "" {
		resp, err := s.UpdateActivityOptions(ctx, &workflowservice.UpdateActivityOptionsRequest{Namespace: r.Namespace,
			Execution: &commonpb.WorkflowExecution{WorkflowId: r.WorkflowId, RunId: r.RunId}, Identity: r.Identity,
			Activity: &workflowservice.UpdateActivityOptionsRequest_Id{Id: r.ActivityId}, ActivityOptions: r.ActivityOptions,
			UpdateMask: r.UpdateMask, RestoreOriginal: r.RestoreOriginal})
		if err != nil {
			return nil, err
		}
		return &workflowservice.UpdateActivityExecutionOptionsResponse{ActivityOptions: resp.ActivityOptions}, nil
	}
	o, err := s.e.UpdateActivityExecutionOptions(ctx, r)
	if err != nil {
		return nil, err
	}
	return &workflowservice.UpdateActivityExecutionOptionsResponse{ActivityOptions: o}, nil
}
