package frontend

import (
	"context"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundial-io/sundial/internal/execution"
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
	merges, err := PostResetMerges(r.PostResetOperations)
	if err != nil {
		return nil, err
	}
	runID, err := s.e.ResetWithOptions(ctx, r, merges)
	if err != nil {
		return nil, err
	}
	return &workflowservice.ResetWorkflowExecutionResponse{RunId: runID}, nil
}

// PostResetMerges checks a reset's post-reset operations and returns
// their option changes, in order (ResetWorkflowExecution, and batch resets
// through batch.Options.PostResetOptions).
func PostResetMerges(ops []*workflowpb.PostResetOperation) ([]execution.OptionsMerge, error) {
	var merges []execution.OptionsMerge
	for _, op := range ops {
		m, err := postResetMerge(op)
		if err != nil {
			return nil, err
		}
		merges = append(merges, m)
	}
	return merges, nil
}

// postResetMerge checks a post-reset operation and returns its option
// change. As in Temporal the only kind is UpdateWorkflowOptions, whose
// options and update mask are those of UpdateWorkflowExecutionOptions
// (a missing mask changes nothing); any other kind is refused.
func postResetMerge(op *workflowpb.PostResetOperation) (execution.OptionsMerge, error) {
	switch v := op.GetVariant().(type) {
	case *workflowpb.PostResetOperation_UpdateWorkflowOptions_:
		opts := v.UpdateWorkflowOptions.GetWorkflowExecutionOptions()
		if opts == nil {
			opts = &workflowpb.WorkflowExecutionOptions{}
		}
		return optionsMerge(v.UpdateWorkflowOptions.GetUpdateMask().GetPaths(), opts)
	default:
		return nil, invalid("unsupported post reset operation: %s", fmt.Sprintf("%T", v))
	}
}
