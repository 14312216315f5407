package frontend

import (
	"context"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundial-io/sundial/internal/execution"
)

// Activity control RPCs (PauseActivity, UnpauseActivity, ResetActivity,
// UpdateActivityOptions): validated as Temporal's frontend does, carried
// out by the engine (execution/pause.go has the semantics).

// checkActivityTarget checks the namespace, the execution and the choice
// of activities shared by the activity control requests.
func (s *Service) checkActivityTarget(ns string, ex interface {
	GetWorkflowId() string
	GetRunId() string
}, sel execution.ActivitySelector, chosen bool) error {
	if err := s.ns(ns); err != nil {
		return err
	}
	if err := checkID("WorkflowId", ex.GetWorkflowId()); err != nil {
		return err
	}
	if err := checkRunID(ex.GetRunId()); err != nil {
		return err
	}
	if !chosen || (sel.ID == "" && sel.Type == "" && !sel.All) {
		return invalid("Either activity id, activity type or match all must be set on request.")
	}
	if len(sel.ID) > maxIDLength || len(sel.Type) > maxIDLength {
		return invalid("ActivityId or ActivityType exceeds length limit. Limit=%d", maxIDLength)
	}
	return nil
}

// PauseActivity pauses the activities the request names.
func (s *Service) PauseActivity(ctx context.Context, r *workflowservice.PauseActivityRequest) (*workflowservice.PauseActivityResponse, error) {
	sel := execution.ActivitySelector{}
	switch a := r.GetActivity().(type) {
	case *workflowservice.PauseActivityRequest_Id:
		sel.ID = a.Id
	case *workflowservice.PauseActivityRequest_Type:
		sel.Type = a.Type
	}
	if err := s.checkActivityTarget(r.Namespace, r.GetExecution(), sel, r.Activity != nil); err != nil {
		return nil, err
	}
	if len(r.Reason) > maxIDLength {
		return nil, invalid("Reason exceeds length limit. Length=%d Limit=%d", len(r.Reason), maxIDLength)
	}
	if err := s.e.PauseActivity(ctx, r, sel); err != nil {
		return nil, err
	}
	return &workflowservice.PauseActivityResponse{}, nil
}

// UnpauseActivity unpauses the activities the request names.
func (s *Service) UnpauseActivity(ctx context.Context, r *workflowservice.UnpauseActivityRequest) (*workflowservice.UnpauseActivityResponse, error) {
	sel := execution.ActivitySelector{}
	switch a := r.GetActivity().(type) {
	case *workflowservice.UnpauseActivityRequest_Id:
		sel.ID = a.Id
	case *workflowservice.UnpauseActivityRequest_Type:
		sel.Type = a.Type
	case *workflowservice.UnpauseActivityRequest_UnpauseAll:
		sel.All = a.UnpauseAll
	}
	if err := s.checkActivityTarget(r.Namespace, r.GetExecution(), sel, r.Activity != nil); err != nil {
		return nil, err
	}
	if err := checkDuration("Jitter", r.Jitter, r.Jitter != nil); err != nil {
		return nil, err
	}
	if err := s.e.UnpauseActivity(ctx, r, sel); err != nil {
		return nil, err
	}
	return &workflowservice.UnpauseActivityResponse{}, nil
}

// ResetActivity resets the attempts of the activities the request names.
func (s *Service) ResetActivity(ctx context.Context, r *workflowservice.ResetActivityRequest) (*workflowservice.ResetActivityResponse, error) {
	sel := execution.ActivitySelector{}
	switch a := r.GetActivity().(type) {
	case *workflowservice.ResetActivityRequest_Id:
		sel.ID = a.Id
	case *workflowservice.ResetActivityRequest_Type:
		sel.Type = a.Type
	case *workflowservice.ResetActivityRequest_MatchAll:
		sel.All = a.MatchAll
	}
	if err := s.checkActivityTarget(r.Namespace, r.GetExecution(), sel, r.Activity != nil); err != nil {
		return nil, err
	}
	if err := checkDuration("Jitter", r.Jitter, r.Jitter != nil); err != nil {
		return nil, err
	}
	if err := s.e.ResetActivity(ctx, r, sel); err != nil {
		return nil, err
	}
	return &workflowservice.ResetActivityResponse{}, nil
}

// UpdateActivityOptions changes the options of the activities the
// request names, the fields chosen by update_mask (or restores the
// scheduled options with restore_original).
func (s *Service) UpdateActivityOptions(ctx context.Context, r *workflowservice.UpdateActivityOptionsRequest) (*workflowservice.UpdateActivityOptionsResponse, error) {
	sel := execution.ActivitySelector{}
	switch a := r.GetActivity().(type) {
	case *workflowservice.UpdateActivityOptionsRequest_Id:
		sel.ID = a.Id
	case *workflowservice.UpdateActivityOptionsRequest_Type:
		sel.Type = a.Type
	case *workflowservice.UpdateActivityOptionsRequest_MatchAll:
		sel.All = a.MatchAll
	}
	if err := s.checkActivityTarget(r.Namespace, r.GetExecution(), sel, r.Activity != nil); err != nil {
		return nil, err
	}
	var mask map[string]bool
	if r.RestoreOriginal {
		if r.ActivityOptions != nil || len(r.UpdateMask.GetPaths()) > 0 {
			return nil, invalid("RestoreOriginal cannot be combined with ActivityOptions or UpdateMask.")
		}
	} else {
		if r.ActivityOptions == nil {
			return nil, invalid("ActivityOptions are not provided")
		}
		if r.UpdateMask == nil {
			return nil, invalid("UpdateMask is not provided")
		}
		m, err := execution.NormalizeActivityOptionPaths(r.UpdateMask.Paths)
		if err != nil {
			return nil, invalid("%v", err)
		}
		mask = m
	}
	opts, err := s.e.UpdateActivityOptions(ctx, r, sel, mask)
	if err != nil {
		return nil, err
	}
	return &workflowservice.UpdateActivityOptionsResponse{ActivityOptions: opts}, nil
}
