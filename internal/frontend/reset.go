package frontend

import (
	"context"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
)

// ResetWorkflowExecution validates a reset request as Temporal's frontend
// does and hands it to the engine (see engine.Reset for the semantics).
func (s *Service) ResetWorkflowExecution(ctx context.Context, r *workflowservice.ResetWorkflowExecutionRequest) (*workflowservice.ResetWorkflowExecutionResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if r.RequestId == "" {
		return nil, invalid("RequestId is not set on request.")
	}
	if len(r.RequestId) > maxIDLength {
		return nil, invalid("RequestId length exceeds limit.")
	}
	if err := checkExecution(r.WorkflowExecution); err != nil {
		return nil, err
	}
	if _, ok := enumspb.ResetReapplyType_name[int32(r.ResetReapplyType)]; !ok {
		return nil, invalid("Unknown ResetReapplyType: %d.", r.ResetReapplyType)
	}
	for _, x := range r.ResetReapplyExcludeTypes {
		if _, ok := enumspb.ResetReapplyExcludeType_name[int32(x)]; !ok {
			return nil, invalid("Unknown ResetReapplyExcludeType: %d.", x)
		}
	}
	for _, op := range r.PostResetOperations {
		if err := checkPostResetOperation(op); err != nil {
			return nil, err
		}
	}
	runID, err := s.e.Reset(ctx, r)
	if err != nil {
		return nil, err
	}
	return &workflowservice.ResetWorkflowExecutionResponse{RunId: runID}, nil
}

// checkPostResetOperation refuses the operations Sundial cannot carry
// out. Temporal applies only UpdateWorkflowOptions (worker versioning
// overrides, which Sundial does not offer) and refuses any other kind.
func checkPostResetOperation(op *workflowpb.PostResetOperation) error {
	switch v := op.GetVariant().(type) {
	case *workflowpb.PostResetOperation_UpdateWorkflowOptions_:
		return invalid("PostResetOperations: UpdateWorkflowOptions is not supported: Sundial does not offer worker versioning overrides.")
	default:
		return invalid("unsupported post reset operation: %s", fmt.Sprintf("%T", v))
	}
}
