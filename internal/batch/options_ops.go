package batch

import (
	"context"
	"strings"
	"time"

	batchpb "go.temporal.io/api/batch/v1"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/sundial-io/sundial/internal/execution"
)

// The option and activity batch operations: update workflow execution
// options, unpause activities, reset activities and update activity
// options. As Temporal's batcher does, a job makes, for each workflow it
// targets, the request of the single RPC (UpdateWorkflowExecutionOptions,
// UnpauseActivity, ResetActivity, UpdateActivityOptions) and hands it to
// the server's own handler of that RPC (Options.Service), so a batch
// changes a workflow exactly as the RPC does: same checks, same engine
// operation, same events.

// Service is the part of the WorkflowService a job calls for these
// operations (the frontend).
type Service interface {
	UpdateWorkflowExecutionOptions(context.Context, *workflowservice.UpdateWorkflowExecutionOptionsRequest) (*workflowservice.UpdateWorkflowExecutionOptionsResponse, error)
	UnpauseActivity(context.Context, *workflowservice.UnpauseActivityRequest) (*workflowservice.UnpauseActivityResponse, error)
	ResetActivity(context.Context, *workflowservice.ResetActivityRequest) (*workflowservice.ResetActivityResponse, error)
	UpdateActivityOptions(context.Context, *workflowservice.UpdateActivityOptionsRequest) (*workflowservice.UpdateActivityOptionsResponse, error)
}

// errTypeOrAll is Temporal's answer to an activity filter naming neither a
// type nor match-all.
var errTypeOrAll = serviceerror.NewInvalidArgument("Either activity type must be set, or match all should be set to true")

// validateOptionOp checks the operations of this file as Temporal's
// frontend does (its messages), and, where Temporal would only find out
// on each workflow, what the single RPC would refuse whatever the
// workflow (the update masks), so a request that can change nothing is
// refused at once rather than failing on every execution. handled is
// false for the other operations.
func (b *Batcher) validateOptionOp(r *workflowservice.StartBatchOperationRequest) (handled bool, err error) {
	switch op := r.Operation.(type) {
	case *workflowservice.StartBatchOperationRequest_UpdateWorkflowOptionsOperation:
		u := op.UpdateWorkflowOptionsOperation
		if u.GetWorkflowExecutionOptions() == nil {
			return true, serviceerror.NewInvalidArgument("must provide UpdateOptions")
		}
		if u.GetUpdateMask() == nil {
			return true, serviceerror.NewInvalidArgument("must provide UpdateMask")
		}
		if b.opts.CheckWorkflowOptions != nil {
			return true, b.opts.CheckWorkflowOptions(u.GetUpdateMask().GetPaths(), u.GetWorkflowExecutionOptions())
		}
		return true, nil
	case *workflowservice.StartBatchOperationRequest_UnpauseActivitiesOperation:
		u := op.UnpauseActivitiesOperation
		if u == nil {
			return true, serviceerror.NewInvalidArgument("unpause activities operation is not set")
		}
		switch a := u.GetActivity().(type) {
		case nil:
			return true, serviceerror.NewInvalidArgument("activity filter must be set")
		case *batchpb.BatchOperationUnpauseActivities_Type:
			if a.Type == "" {
				return true, errTypeOrAll
			}
		case *batchpb.BatchOperationUnpauseActivities_MatchAll:
			if !a.MatchAll {
				return true, errTypeOrAll
			}
		}
		return true, checkJitter(u.GetJitter())
	case *workflowservice.StartBatchOperationRequest_ResetActivitiesOperation:
		u := op.ResetActivitiesOperation
		if u == nil {
			return true, serviceerror.NewInvalidArgument("reset activities operation is not set")
		}
		switch a := u.GetActivity().(type) {
		case nil:
			return true, serviceerror.NewInvalidArgument("must provide ActivityType or MatchAll")
		case *batchpb.BatchOperationResetActivities_Type:
			if a.Type == "" {
				return true, errTypeOrAll
			}
		case *batchpb.BatchOperationResetActivities_MatchAll:
			if !a.MatchAll {
				return true, errTypeOrAll
			}
		}
		return true, checkJitter(u.GetJitter())
	case *workflowservice.StartBatchOperationRequest_UpdateActivityOptionsOperation:
		u := op.UpdateActivityOptionsOperation
		if u == nil {
			return true, serviceerror.NewInvalidArgument("update activity options operation is not set")
		}
		if u.GetActivityOptions() != nil && u.GetRestoreOriginal() {
			return true, serviceerror.NewInvalidArgument("cannot set both activity options and restore original")
		}
		if u.GetActivityOptions() == nil && !u.GetRestoreOriginal() {
			return true, serviceerror.NewInvalidArgument("Either activity type must be set, or restore original should be set to true")
		}
		switch a := u.GetActivity().(type) {
		case nil:
			return true, errTypeOrAll
		case *batchpb.BatchOperationUpdateActivityOptions_Type:
			if a.Type == "" {
				return true, errTypeOrAll
			}
		case *batchpb.BatchOperationUpdateActivityOptions_MatchAll:
			if !a.MatchAll {
				return true, errTypeOrAll
			}
		}
		// What UpdateActivityOptions itself refuses for any workflow.
		if u.GetRestoreOriginal() {
			if len(u.GetUpdateMask().GetPaths()) > 0 {
				return true, serviceerror.NewInvalidArgument("RestoreOriginal cannot be combined with ActivityOptions or UpdateMask.")
			}
			return true, nil
		}
		if u.GetUpdateMask() == nil {
			return true, serviceerror.NewInvalidArgument("UpdateMask is not provided")
		}
		if _, err := execution.NormalizeActivityOptionPaths(u.GetUpdateMask().GetPaths()); err != nil {
			return true, serviceerror.NewInvalidArgument(err.Error())
		}
		return true, nil
	}
	return false, nil
}

// refuseStandaloneActivities refuses the batches of standalone activities
// (cancel, terminate, delete activities). Temporal puts them behind a
// namespace setting that is off by default
// (frontend.enableBatchOperationsForStandaloneActivities) and answers so
// when it is off; Sundial does not offer them.
func refuseStandaloneActivities(r *workflowservice.StartBatchOperationRequest) error {
	switch op := r.Operation.(type) {
	case *workflowservice.StartBatchOperationRequest_CancelActivitiesOperation,
		*workflowservice.StartBatchOperationRequest_TerminateActivitiesOperation,
		*workflowservice.StartBatchOperationRequest_DeleteActivitiesOperation:
		return serviceerror.NewInvalidArgumentf("The operation type %T is not supported for this namespace", op)
	}
	return nil
}

func checkJitter(d interface{ AsDuration() time.Duration }) error {
	if d != nil && d.AsDuration() < 0 {
		return serviceerror.NewInvalidArgument("Invalid Jitter: must not be negative.")
	}
	return nil
}

// optionQuery is the visibility query a query job of these operations
// runs, given the job's query (already narrowed to open workflows).
// Unpausing activities of one type looks only at workflows with an
// activity of that type paused (Temporal's TemporalPauseInfo search
// attribute). Temporal's frontend replaces the job's query with that
// condition; Sundial adds it to the query, so a job never touches a
// workflow its query does not match.
func optionQuery(r *workflowservice.StartBatchOperationRequest, query string) string {
	if u := r.GetUnpauseActivitiesOperation(); u != nil {
		if t, ok := u.GetActivity().(*batchpb.BatchOperationUnpauseActivities_Type); ok {
			return query + " AND TemporalPauseInfo = " + sqlString("property:activityType="+t.Type)
		}
	}
	return query
}

// sqlString quotes s as a string literal of the visibility query language
// (a doubled quote stands for itself, a backslash escapes).
func sqlString(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", "''") + "'"
}

// applyOptionOp makes the single RPC of the job's operation for one
// workflow, here or on its owner (onOwner); handled is false for the
// other operations.
func (b *Batcher) applyOptionOp(ctx context.Context, j *job, ex *commonpb.WorkflowExecution) (handled bool, err error) {
	ns := j.key.ns
	svc := b.opts.Service
	switch op := j.req.Operation.(type) {
	case *workflowservice.StartBatchOperationRequest_UpdateWorkflowOptionsOperation:
		u := op.UpdateWorkflowOptionsOperation
		if svc == nil {
			return true, errNoService
		}
		req := &workflowservice.UpdateWorkflowExecutionOptionsRequest{
			Namespace: ns, WorkflowExecution: ex, Identity: u.GetIdentity(),
			WorkflowExecutionOptions: u.GetWorkflowExecutionOptions(),
			UpdateMask:               &fieldmaskpb.FieldMask{Paths: u.GetUpdateMask().GetPaths()},
		}
		_, err := b.onOwner(ctx, ns, ex.GetWorkflowId(), methodOptions, req, func() error {
			_, err := svc.UpdateWorkflowExecutionOptions(ctx, req)
			return err
		})
		return true, err
	case *workflowservice.StartBatchOperationRequest_UnpauseActivitiesOperation:
		u := op.UnpauseActivitiesOperation
		if svc == nil {
			return true, errNoService
		}
		req := &workflowservice.UnpauseActivityRequest{
			Namespace: ns, Execution: ex, Identity: u.GetIdentity(),
			ResetAttempts: u.GetResetAttempts(), ResetHeartbeat: u.GetResetHeartbeat(), Jitter: u.GetJitter(),
		}
		switch a := u.GetActivity().(type) {
		case *batchpb.BatchOperationUnpauseActivities_Type:
			req.Activity = &workflowservice.UnpauseActivityRequest_Type{Type: a.Type}
		default:
			req.Activity = &workflowservice.UnpauseActivityRequest_UnpauseAll{UnpauseAll: true}
		}
		_, err := b.onOwner(ctx, ns, ex.GetWorkflowId(), methodUnpause, req, func() error {
			_, err := svc.UnpauseActivity(ctx, req)
			return err
		})
		return true, err
	case *workflowservice.StartBatchOperationRequest_ResetActivitiesOperation:
		u := op.ResetActivitiesOperation
		if svc == nil {
			return true, errNoService
		}
		req := &workflowservice.ResetActivityRequest{
			Namespace: ns, Execution: ex, Identity: u.GetIdentity(),
			ResetHeartbeat: u.GetResetHeartbeat(), KeepPaused: u.GetKeepPaused(), Jitter: u.GetJitter(),
			RestoreOriginalOptions: u.GetRestoreOriginalOptions(),
		}
		switch a := u.GetActivity().(type) {
		case *batchpb.BatchOperationResetActivities_Type:
			req.Activity = &workflowservice.ResetActivityRequest_Type{Type: a.Type}
		default:
			req.Activity = &workflowservice.ResetActivityRequest_MatchAll{MatchAll: true}
		}
		_, err := b.onOwner(ctx, ns, ex.GetWorkflowId(), methodResetAct, req, func() error {
			_, err := svc.ResetActivity(ctx, req)
			return err
		})
		return true, err
	case *workflowservice.StartBatchOperationRequest_UpdateActivityOptionsOperation:
		u := op.UpdateActivityOptionsOperation
		if svc == nil {
			return true, errNoService
		}
		req := &workflowservice.UpdateActivityOptionsRequest{
			Namespace: ns, Execution: ex, Identity: u.GetIdentity(),
			ActivityOptions: u.GetActivityOptions(), RestoreOriginal: u.GetRestoreOriginal(),
		}
		if u.GetUpdateMask() != nil {
			req.UpdateMask = &fieldmaskpb.FieldMask{Paths: u.GetUpdateMask().GetPaths()}
		}
		switch a := u.GetActivity().(type) {
		case *batchpb.BatchOperationUpdateActivityOptions_Type:
			req.Activity = &workflowservice.UpdateActivityOptionsRequest_Type{Type: a.Type}
		default:
			req.Activity = &workflowservice.UpdateActivityOptionsRequest_MatchAll{MatchAll: true}
		}
		_, err := b.onOwner(ctx, ns, ex.GetWorkflowId(), methodActOpts, req, func() error {
			_, err := svc.UpdateActivityOptions(ctx, req)
			return err
		})
		return true, err
	}
	return false, nil
}

// errNoService fails an operation of this file on a batcher built without
// the frontend (unit tests); Start refuses them there already.
var errNoService = serviceerror.NewUnimplemented("this batch operation needs the server's WorkflowService, which this batcher was built without")

// CheckWorkflowOptions is the frontend's check of an update mask and the
// options it names (Options.CheckWorkflowOptions).
type CheckWorkflowOptions func(paths []string, o *workflowpb.WorkflowExecutionOptions) error
