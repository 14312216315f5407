package frontend

import (
	"context"

	failurepb "go.temporal.io/api/failure/v1"
	workerpb "go.temporal.io/api/worker/v1"
	"google.golang.org/protobuf/proto"

	"go.temporal.io/api/workflowservice/v1"
)

// resultTooLarge is the failure of an activity whose result is over the
// payload limit: a non-retryable server failure, as in Temporal.
func resultTooLarge(identity string) *workflowservice.RespondActivityTaskFailedRequest {
	return &workflowservice.RespondActivityTaskFailedRequest{Identity: identity, Failure: &failurepb.Failure{
		Message:     "Complete result exceeds size limit.",
		Source:      "Server",
		FailureInfo: &failurepb.Failure_ServerFailureInfo{ServerFailureInfo: &failurepb.ServerFailureInfo{NonRetryable: true}},
	}}
}

func checkTaskQueue(name string) error {
	if name == "" {
		return invalid("TaskQueue is not set on request.")
	}
	if len(name) > maxIDLength {
		return invalid("TaskQueue name exceeds length limit. Length=%d Limit=%d", len(name), maxIDLength)
	}
	return nil
}

func (s *Service) PollWorkflowTaskQueue(ctx context.Context, r *workflowservice.PollWorkflowTaskQueueRequest) (*workflowservice.PollWorkflowTaskQueueResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if err := checkTaskQueue(r.TaskQueue.GetName()); err != nil {
		return nil, err
	}
	if err := checkPollerDeployment(r.DeploymentOptions); err != nil {
		return nil, err
	}
	return s.e.PollWorkflowTask(ctx, r)
}

func (s *Service) RespondWorkflowTaskCompleted(ctx context.Context, r *workflowservice.RespondWorkflowTaskCompletedRequest) (*workflowservice.RespondWorkflowTaskCompletedResponse, error) {
	if err := checkCompletionVersioning(r); err != nil {
		return nil, err
	}
	return s.e.CompleteWorkflowTask(ctx, r)
}

func (s *Service) RespondWorkflowTaskFailed(ctx context.Context, r *workflowservice.RespondWorkflowTaskFailedRequest) (*workflowservice.RespondWorkflowTaskFailedResponse, error) {
	if err := s.e.FailWorkflowTask(ctx, r); err != nil {
		return nil, err
	}
	return &workflowservice.RespondWorkflowTaskFailedResponse{}, nil
}

func (s *Service) RespondQueryTaskCompleted(ctx context.Context, r *workflowservice.RespondQueryTaskCompletedRequest) (*workflowservice.RespondQueryTaskCompletedResponse, error) {
	if err := s.e.AnswerQuery(ctx, r); err != nil {
		return nil, err
	}
	return &workflowservice.RespondQueryTaskCompletedResponse{}, nil
}

func (s *Service) PollActivityTaskQueue(ctx context.Context, r *workflowservice.PollActivityTaskQueueRequest) (*workflowservice.PollActivityTaskQueueResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if err := checkTaskQueue(r.TaskQueue.GetName()); err != nil {
		return nil, err
	}
	if err := checkPollerDeployment(r.DeploymentOptions); err != nil {
		return nil, err
	}
	return s.e.PollActivityTask(ctx, r)
}

func (s *Service) RecordActivityTaskHeartbeat(ctx context.Context, r *workflowservice.RecordActivityTaskHeartbeatRequest) (*workflowservice.RecordActivityTaskHeartbeatResponse, error) {
	if len(r.TaskToken) == 0 {
		return nil, invalid("TaskToken is not set on request.")
	}
	c, err := s.e.Heartbeat(ctx, r.TaskToken, "", "", "", "", r.Details)
	if err != nil {
		return nil, err
	}
	return &workflowservice.RecordActivityTaskHeartbeatResponse{CancelRequested: c.CancelRequested, ActivityPaused: c.Paused, ActivityReset: c.Reset}, nil
}

func (s *Service) RecordActivityTaskHeartbeatById(ctx context.Context, r *workflowservice.RecordActivityTaskHeartbeatByIdRequest) (*workflowservice.RecordActivityTaskHeartbeatByIdResponse, error) {
	if err := s.byID(r.Namespace, r.WorkflowId, r.RunId, r.ActivityId); err != nil {
		return nil, err
	}
	c, err := s.e.Heartbeat(ctx, nil, r.Namespace, r.WorkflowId, r.RunId, r.ActivityId, r.Details)
	if err != nil {
		return nil, err
	}
	return &workflowservice.RecordActivityTaskHeartbeatByIdResponse{CancelRequested: c.CancelRequested, ActivityPaused: c.Paused, ActivityReset: c.Reset}, nil
}

// byID checks the activity address of the *ById calls, in Temporal's
// order: activity id, workflow id, then the run id on load. An empty
// workflow id addresses a standalone activity (the run id is then the
// activity's), as in Temporal.
func (s *Service) byID(ns, wfID, runID, activityID string) error {
	if err := s.ns(ns); err != nil {
		return err
	}
	if err := checkID("ActivityId", activityID); err != nil {
		return err
	}
	if wfID != "" {
		if err := checkID("WorkflowId", wfID); err != nil {
			return err
		}
	}
	return checkLoadRunID(runID)
}

func (s *Service) RespondActivityTaskCompleted(ctx context.Context, r *workflowservice.RespondActivityTaskCompletedRequest) (*workflowservice.RespondActivityTaskCompletedResponse, error) {
	if len(r.TaskToken) == 0 {
		return nil, invalid("TaskToken is not set on request.")
	}
	if proto.Size(r.Result) > MaxPayloadBytes {
		// As in Temporal: the call succeeds and the activity fails for good.
		if err := s.e.FailActivity(ctx, r.TaskToken, "", "", "", "", resultTooLarge(r.Identity)); err != nil {
			return nil, err
		}
		return &workflowservice.RespondActivityTaskCompletedResponse{}, nil
	}
	if err := s.e.CompleteActivity(ctx, r.TaskToken, "", "", "", "", r.Result, r.Identity); err != nil {
		return nil, err
	}
	return &workflowservice.RespondActivityTaskCompletedResponse{}, nil
}

func (s *Service) RespondActivityTaskCompletedById(ctx context.Context, r *workflowservice.RespondActivityTaskCompletedByIdRequest) (*workflowservice.RespondActivityTaskCompletedByIdResponse, error) {
	if err := s.byID(r.Namespace, r.WorkflowId, r.RunId, r.ActivityId); err != nil {
		return nil, err
	}
	if proto.Size(r.Result) > MaxPayloadBytes {
		if err := s.e.FailActivity(ctx, nil, r.Namespace, r.WorkflowId, r.RunId, r.ActivityId, resultTooLarge(r.Identity)); err != nil {
			return nil, err
		}
		return &workflowservice.RespondActivityTaskCompletedByIdResponse{}, nil
	}
	if err := s.e.CompleteActivity(ctx, nil, r.Namespace, r.WorkflowId, r.RunId, r.ActivityId, r.Result, r.Identity); err != nil {
		return nil, err
	}
	return &workflowservice.RespondActivityTaskCompletedByIdResponse{}, nil
}

func (s *Service) RespondActivityTaskFailed(ctx context.Context, r *workflowservice.RespondActivityTaskFailedRequest) (*workflowservice.RespondActivityTaskFailedResponse, error) {
	if len(r.TaskToken) == 0 {
		return nil, invalid("TaskToken is not set on request.")
	}
	if r.Failure == nil {
		return nil, invalid("Failure is not set on request.")
	}
	if err := s.e.FailActivity(ctx, r.TaskToken, "", "", "", "", r); err != nil {
		return nil, err
	}
	return &workflowservice.RespondActivityTaskFailedResponse{}, nil
}

func (s *Service) RespondActivityTaskFailedById(ctx context.Context, r *workflowservice.RespondActivityTaskFailedByIdRequest) (*workflowservice.RespondActivityTaskFailedByIdResponse, error) {
	if err := s.byID(r.Namespace, r.WorkflowId, r.RunId, r.ActivityId); err != nil {
		return nil, err
	}
	if r.Failure == nil {
		return nil, invalid("Failure is not set on request.")
	}
	req := &workflowservice.RespondActivityTaskFailedRequest{Failure: r.Failure, Identity: r.Identity, LastHeartbeatDetails: r.LastHeartbeatDetails}
	if err := s.e.FailActivity(ctx, nil, r.Namespace, r.WorkflowId, r.RunId, r.ActivityId, req); err != nil {
		return nil, err
	}
	return &workflowservice.RespondActivityTaskFailedByIdResponse{}, nil
}

func (s *Service) RespondActivityTaskCanceled(ctx context.Context, r *workflowservice.RespondActivityTaskCanceledRequest) (*workflowservice.RespondActivityTaskCanceledResponse, error) {
	if len(r.TaskToken) == 0 {
		return nil, invalid("TaskToken is not set on request.")
	}
	if err := s.e.CancelActivity(ctx, r.TaskToken, "", "", "", "", r.Details, r.Identity); err != nil {
		return nil, err
	}
	return &workflowservice.RespondActivityTaskCanceledResponse{}, nil
}

func (s *Service) RespondActivityTaskCanceledById(ctx context.Context, r *workflowservice.RespondActivityTaskCanceledByIdRequest) (*workflowservice.RespondActivityTaskCanceledByIdResponse, error) {
	if err := s.byID(r.Namespace, r.WorkflowId, r.RunId, r.ActivityId); err != nil {
		return nil, err
	}
	if err := s.e.CancelActivity(ctx, nil, r.Namespace, r.WorkflowId, r.RunId, r.ActivityId, r.Details, r.Identity); err != nil {
		return nil, err
	}
	return &workflowservice.RespondActivityTaskCanceledByIdResponse{}, nil
}

func (s *Service) ResetStickyTaskQueue(ctx context.Context, r *workflowservice.ResetStickyTaskQueueRequest) (*workflowservice.ResetStickyTaskQueueResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if err := checkExecution(r.Execution); err != nil {
		return nil, err
	}
	if err := s.e.ResetSticky(ctx, r.Namespace, r.Execution); err != nil {
		return nil, err
	}
	return &workflowservice.ResetStickyTaskQueueResponse{}, nil
}

func (s *Service) ShutdownWorker(ctx context.Context, r *workflowservice.ShutdownWorkerRequest) (*workflowservice.ShutdownWorkerResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if r.WorkerHeartbeat != nil {
		// The worker's last heartbeat (ShuttingDown), as Temporal records it.
		s.workers.Record(r.Namespace, []*workerpb.WorkerHeartbeat{r.WorkerHeartbeat})
	}
	if r.StickyTaskQueue != "" {
		s.e.ShutdownWorker(ctx, r.Namespace, r.StickyTaskQueue)
	}
	s.e.DeploymentWorkerGone(r.Namespace, r.Identity)
	return &workflowservice.ShutdownWorkerResponse{}, nil
}
