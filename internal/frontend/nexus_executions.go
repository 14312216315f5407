package frontend

import (
	"context"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sundial-io/sundial/internal/nexusexec"
)

// Standalone Nexus operations (a Nexus operation started by a client,
// without a caller workflow): request checks here, with Temporal's
// messages (snake_case field names); the state rules in package nexusexec;
// storage, dispatch to the handler and callbacks in the engine
// (standalone_nexus*.go).

// nexusOpAddress checks the operation id and run id of a request that
// names one operation.
func (s *Service) nexusOpAddress(ns, operationID, runID string) error {
	if err := s.ns(ns); err != nil {
		return err
	}
	if err := nexusexec.CheckOperationID(operationID); err != nil {
		return err
	}
	if runID != "" {
		if err := uuid.Validate(runID); err != nil {
			return invalid("run_id is not a valid UUID")
		}
	}
	return nil
}

func (s *Service) StartNexusOperationExecution(ctx context.Context, r *workflowservice.StartNexusOperationExecutionRequest) (*workflowservice.StartNexusOperationExecutionResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if n := proto.Size(r.Input); n > MaxPayloadBytes {
		return nil, invalid("input exceeds size limit. Length=%d Limit=%d", n, MaxPayloadBytes)
	}
	req, err := nexusexec.Normalize(r)
	if err != nil {
		return nil, err
	}
	if err := s.e.ValidateSearchAttributes(r.Namespace, req.SearchAttributes); err != nil {
		return nil, err
	}
	if req.RequestId == "" {
		req.RequestId = uuid.NewString()
	}
	return s.e.StartNexusOperationExecution(ctx, req)
}

func (s *Service) DescribeNexusOperationExecution(ctx context.Context, r *workflowservice.DescribeNexusOperationExecutionRequest) (*workflowservice.DescribeNexusOperationExecutionResponse, error) {
	if err := s.nexusOpAddress(r.Namespace, r.OperationId, r.RunId); err != nil {
		return nil, err
	}
	if len(r.LongPollToken) > 0 && r.RunId == "" {
		return nil, invalid("run_id is required when long_poll_token is provided")
	}
	return s.e.DescribeNexusOperationExecution(ctx, r)
}

func (s *Service) PollNexusOperationExecution(ctx context.Context, r *workflowservice.PollNexusOperationExecutionRequest) (*workflowservice.PollNexusOperationExecutionResponse, error) {
	switch r.WaitStage {
	case enumspb.NEXUS_OPERATION_WAIT_STAGE_UNSPECIFIED:
		r = proto.Clone(r).(*workflowservice.PollNexusOperationExecutionRequest)
		r.WaitStage = enumspb.NEXUS_OPERATION_WAIT_STAGE_CLOSED
	case enumspb.NEXUS_OPERATION_WAIT_STAGE_STARTED, enumspb.NEXUS_OPERATION_WAIT_STAGE_CLOSED:
	default:
		return nil, invalid("unsupported wait_stage: %s", r.WaitStage)
	}
	if err := s.nexusOpAddress(r.Namespace, r.OperationId, r.RunId); err != nil {
		return nil, err
	}
	return s.e.PollNexusOperationExecution(ctx, r)
}

func (s *Service) ListNexusOperationExecutions(ctx context.Context, r *workflowservice.ListNexusOperationExecutionsRequest) (*workflowservice.ListNexusOperationExecutionsResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	return s.e.ListNexusOperationExecutions(ctx, r)
}

func (s *Service) CountNexusOperationExecutions(ctx context.Context, r *workflowservice.CountNexusOperationExecutionsRequest) (*workflowservice.CountNexusOperationExecutionsResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	return s.e.CountNexusOperationExecutions(ctx, r)
}

// checkCancelOrTerminate checks what the cancel and terminate requests
// share; an empty request id gets a new one (so an unnamed request is
// never taken for another's retry).
func (s *Service) checkCancelOrTerminate(ns, operationID, runID, identity, reason string, requestID *string) error {
	if err := s.nexusOpAddress(ns, operationID, runID); err != nil {
		return err
	}
	if *requestID == "" {
		*requestID = uuid.NewString()
	} else if err := nexusexec.CheckIDLength("request_id", *requestID); err != nil {
		return err
	}
	if err := nexusexec.CheckIDLength("identity", identity); err != nil {
		return err
	}
	if len(reason) > maxIDLength {
		return invalid("reason exceeds length limit. Length=%d Limit=%d", len(reason), maxIDLength)
	}
	return nil
}

func (s *Service) RequestCancelNexusOperationExecution(ctx context.Context, r *workflowservice.RequestCancelNexusOperationExecutionRequest) (*workflowservice.RequestCancelNexusOperationExecutionResponse, error) {
	r = proto.Clone(r).(*workflowservice.RequestCancelNexusOperationExecutionRequest)
	if err := s.checkCancelOrTerminate(r.Namespace, r.OperationId, r.RunId, r.Identity, r.Reason, &r.RequestId); err != nil {
		return nil, err
	}
	if err := s.e.RequestCancelNexusOperationExecution(ctx, r); err != nil {
		return nil, err
	}
	return &workflowservice.RequestCancelNexusOperationExecutionResponse{}, nil
}

func (s *Service) TerminateNexusOperationExecution(ctx context.Context, r *workflowservice.TerminateNexusOperationExecutionRequest) (*workflowservice.TerminateNexusOperationExecutionResponse, error) {
	r = proto.Clone(r).(*workflowservice.TerminateNexusOperationExecutionRequest)
	if err := s.checkCancelOrTerminate(r.Namespace, r.OperationId, r.RunId, r.Identity, r.Reason, &r.RequestId); err != nil {
		return nil, err
	}
	if err := s.e.TerminateNexusOperationExecution(ctx, r); err != nil {
		return nil, err
	}
	return &workflowservice.TerminateNexusOperationExecutionResponse{}, nil
}

func (s *Service) DeleteNexusOperationExecution(ctx context.Context, r *workflowservice.DeleteNexusOperationExecutionRequest) (*workflowservice.DeleteNexusOperationExecutionResponse, error) {
	if err := s.nexusOpAddress(r.Namespace, r.OperationId, r.RunId); err != nil {
		return nil, err
	}
	if err := s.e.DeleteNexusOperationExecution(ctx, r.Namespace, r.OperationId, r.RunId); err != nil {
		return nil, err
	}
	return &workflowservice.DeleteNexusOperationExecutionResponse{}, nil
}
