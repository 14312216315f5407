package frontend

import (
	"context"

	"go.temporal.io/api/workflowservice/v1"
)

// The Nexus task calls of a handler worker (engine/nexus_tasks.go):
// start-operation requests (answered synchronously, or asynchronously with
// an operation token) and cancel-operation requests for started ones.

func (s *Service) PollNexusTaskQueue(ctx context.Context, r *workflowservice.PollNexusTaskQueueRequest) (*workflowservice.PollNexusTaskQueueResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if err := checkTaskQueue(r.TaskQueue.GetName()); err != nil {
		return nil, err
	}
	return s.e.PollNexusTask(ctx, r)
}

func (s *Service) RespondNexusTaskCompleted(ctx context.Context, r *workflowservice.RespondNexusTaskCompletedRequest) (*workflowservice.RespondNexusTaskCompletedResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if len(r.TaskToken) == 0 {
		return nil, invalid("TaskToken is not set on request.")
	}
	if r.Response == nil {
		return nil, invalid("Response is not set on request.")
	}
	if err := s.e.CompleteNexusTask(ctx, r); err != nil {
		return nil, err
	}
	return &workflowservice.RespondNexusTaskCompletedResponse{}, nil
}

func (s *Service) RespondNexusTaskFailed(ctx context.Context, r *workflowservice.RespondNexusTaskFailedRequest) (*workflowservice.RespondNexusTaskFailedResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if len(r.TaskToken) == 0 {
		return nil, invalid("TaskToken is not set on request.")
	}
	if err := s.e.FailNexusTask(ctx, r); err != nil {
		return nil, err
	}
	return &workflowservice.RespondNexusTaskFailedResponse{}, nil
}
