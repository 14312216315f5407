package batch

import (
	"context"
	"fmt"
	"strings"
	"time"

	batchpb "go.temporal.io/api/batch/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundial-io/sundial/internal/execution"
)

// validateReset accepts the reset targets: the first or the last workflow
// task, a given workflow task's event id, or the first workflow task a
// build id completed (from the run's auto reset points, see
// buildIDResetPoint).
func validateReset(r *batchpb.BatchOperationReset, postReset func([]*workflowpb.PostResetOperation) ([]execution.OptionsMerge, error)) error {
	if r == nil {
		return serviceerror.NewInvalidArgument("ResetOperation is not set on request.")
	}
	if len(r.PostResetOperations) > 0 {
		if postReset == nil {
			return serviceerror.NewInvalidArgument("ResetOperation.PostResetOperations are not supported by this server.")
		}
		if _, err := postReset(r.PostResetOperations); err != nil {
			return err
		}
	}
	if o := r.Options; o != nil {
		switch o.Target.(type) {
		case nil:
			return serviceerror.NewInvalidArgument("batch reset missing target")
		case *commonpb.ResetOptions_FirstWorkflowTask, *commonpb.ResetOptions_LastWorkflowTask:
			return nil
		case *commonpb.ResetOptions_WorkflowTaskId:
			if o.GetWorkflowTaskId() <= 1 {
				return serviceerror.NewInvalidArgument("ResetOperation.Options.WorkflowTaskId must be > 1.")
			}
			return nil
		case *commonpb.ResetOptions_BuildId:
			if o.GetBuildId() == "" {
				return serviceerror.NewInvalidArgument("ResetOperation.Options.BuildId must not be empty.")
			}
			return nil
		default:
			return serviceerror.NewInvalidArgumentf("ResetOperation.Options.Target %T is not supported.", o.Target)
		}
	}
	switch t := r.GetResetType(); t { //nolint:staticcheck // the deprecated form is still sent by older clients
	case enumspb.RESET_TYPE_FIRST_WORKFLOW_TASK, enumspb.RESET_TYPE_LAST_WORKFLOW_TASK:
		return nil
	default:
		return serviceerror.NewInvalidArgumentf("unknown batch reset type %v", t)
	}
}

// reset resets one workflow through the engine (engine.Reset), to the
// point the operation names. Its request id is derived from the job and
// the execution, so a repeat after a restart returns the run the first
// attempt made instead of resetting again.
func (b *Batcher) reset(ctx context.Context, j *job, ex *commonpb.WorkflowExecution, op *batchpb.BatchOperationReset) error {
	first := false
	var eventID int64
	reqID := requestID(j, ex)
	reapply := op.GetResetReapplyType() //nolint:staticcheck
	var exclude []enumspb.ResetReapplyExcludeType
	if o := op.GetOptions(); o != nil {
		reapply, exclude = o.GetResetReapplyType(), o.GetResetReapplyExcludeTypes() //nolint:staticcheck
		switch o.Target.(type) {
		case *commonpb.ResetOptions_FirstWorkflowTask:
			first = true
		case *commonpb.ResetOptions_WorkflowTaskId:
			eventID = o.GetWorkflowTaskId()
		case *commonpb.ResetOptions_BuildId:
			var err error
			if ex, eventID, err = b.buildIDResetPoint(ctx, j.key.ns, ex, o.GetBuildId(), o.GetCurrentRunOnly()); err != nil {
				return err
			}
		}
	} else {
		first = op.GetResetType() == enumspb.RESET_TYPE_FIRST_WORKFLOW_TASK //nolint:staticcheck
	}
	if eventID == 0 {
		var err error
		if eventID, err = b.resetPoint(ctx, j.key.ns, ex, first); err != nil {
			return err
		}
	}
	var merges []execution.OptionsMerge
	if len(op.GetPostResetOperations()) > 0 && b.opts.PostResetOptions != nil {
		var err error
		if merges, err = b.opts.PostResetOptions(op.GetPostResetOperations()); err != nil {
			return err
		}
	}
	r := &workflowservice.ResetWorkflowExecutionRequest{
		Namespace: j.key.ns, WorkflowExecution: ex, Reason: j.req.Reason, RequestId: reqID,
		WorkflowTaskFinishEventId: eventID, ResetReapplyType: reapply, ResetReapplyExcludeTypes: exclude, Identity: op.GetIdentity(),
		PostResetOperations: op.GetPostResetOperations(),
	}
	// On another node the owner's ResetWorkflowExecution turns the
	// post-reset operations into the same option changes.
	_, err := b.onOwner(ctx, j.key.ns, ex.GetWorkflowId(), methodReset, r, func() error {
		_, err := b.eng.ResetWithOptions(ctx, r, merges)
		return err
	})
	return err
}

// buildIDResetPoint finds where a reset by build id goes, as Temporal's
// batcher does: the run's auto reset point of that build id (the first
// workflow task a worker of that build completed, recorded from the
// build id the SDK stamps on WorkflowTaskCompleted; the point may lie in
// an earlier run of a continue-as-new chain, which is then the base run).
// The reset fails that task, so the new run goes on from just before the
// build's first decision.
func (b *Batcher) buildIDResetPoint(ctx context.Context, ns string, ex *commonpb.WorkflowExecution, buildID string, currentRunOnly bool) (*commonpb.WorkflowExecution, int64, error) {
	var d *workflowservice.DescribeWorkflowExecutionResponse
	resp, err := b.onOwner(ctx, ns, ex.GetWorkflowId(), methodDescribe, &workflowservice.DescribeWorkflowExecutionRequest{Namespace: ns, Execution: ex}, func() error {
		var err error
		d, err = b.eng.Describe(ctx, ns, ex)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	if resp != nil {
		d = resp.(*workflowservice.DescribeWorkflowExecutionResponse)
	}
	described := d.GetWorkflowExecutionInfo().GetExecution().GetRunId() // ex's run, or the current one
	for _, p := range d.GetWorkflowExecutionInfo().GetAutoResetPoints().GetPoints() {
		if p.GetBuildId() != buildID {
			continue
		}
		switch {
		case !p.GetResettable():
			return nil, 0, serviceerror.NewFailedPreconditionf("Reset point for %v is not resettable", buildID)
		case p.GetExpireTime() != nil && p.GetExpireTime().AsTime().Before(time.Now()):
			return nil, 0, serviceerror.NewFailedPreconditionf("Reset point for %v is expired", buildID)
		case currentRunOnly && p.GetRunId() != described:
			return nil, 0, serviceerror.NewFailedPreconditionf("Reset point for %v points to previous run and CurrentRunOnly is set", buildID)
		}
		return &commonpb.WorkflowExecution{WorkflowId: ex.GetWorkflowId(), RunId: p.GetRunId()}, p.GetFirstWorkflowTaskCompletedId(), nil
	}
	return nil, 0, serviceerror.NewFailedPreconditionf("Can't find reset point for %v", buildID)
}

// resetPoint finds the event id to reset to, as Temporal's batcher does:
// the first (or last) WorkflowTaskCompleted event, or, when no task has
// completed, the event after the first WorkflowTaskScheduled.
func (b *Batcher) resetPoint(ctx context.Context, ns string, ex *commonpb.WorkflowExecution, first bool) (int64, error) {
	var point int64
	req := &workflowservice.GetWorkflowExecutionHistoryRequest{Namespace: ns, Execution: ex, MaximumPageSize: 1000}
	completed := false
	for {
		var resp *workflowservice.GetWorkflowExecutionHistoryResponse
		remote, err := b.onOwner(ctx, ns, ex.GetWorkflowId(), methodHistory, req, func() error {
			var err error
			resp, err = b.eng.History(ctx, req)
			return err
		})
		if err != nil {
			return 0, err
		}
		if remote != nil {
			resp = remote.(*workflowservice.GetWorkflowExecutionHistoryResponse)
		}
		for _, ev := range resp.GetHistory().GetEvents() {
			switch ev.GetEventType() {
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
				if first {
					return ev.GetEventId(), nil
				}
				point, completed = ev.GetEventId(), true
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
				if !completed && point == 0 {
					point = ev.GetEventId() + 1
				}
			}
		}
		if len(resp.NextPageToken) == 0 {
			break
		}
		req.NextPageToken = resp.NextPageToken
	}
	if point == 0 {
		return 0, serviceerror.NewFailedPrecondition("unable to find any scheduled or completed workflow task to reset to")
	}
	return point, nil
}

// operationName names the request's operation for messages
// ("UpdateWorkflowOptionsOperation").
func operationName(r *workflowservice.StartBatchOperationRequest) string {
	name := fmt.Sprintf("%T", r.Operation)
	if i := strings.LastIndex(name, "_"); i >= 0 {
		name = name[i+1:]
	}
	return name
}
