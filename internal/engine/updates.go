package engine

import (
	"context"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundial-io/sundial/internal/execution"
)

// UpdateWorkflow admits an update and waits for the requested stage (or
// until shortly before the caller's deadline; the SDK then polls with
// PollWorkflowExecutionUpdate).
func (e *Engine) UpdateWorkflow(ctx context.Context, r *workflowservice.UpdateWorkflowExecutionRequest) (*workflowservice.UpdateWorkflowExecutionResponse, error) {
	ns, id := r.Namespace, r.WorkflowExecution.GetWorkflowId()
	var runID string
	err := e.mutate(ctx, ns, id, func(w *workflow) error {
		st, err := openRun(w, r.WorkflowExecution.GetRunId())
		if err != nil {
			return err
		}
		if r.FirstExecutionRunId != "" && st.Start.GetFirstExecutionRunId() != r.FirstExecutionRunId {
			return workflowNotFound(id, r.FirstExecutionRunId)
		}
		runID = st.RunID
		_, err = st.AdmitUpdate(e.now(), r.Request)
		return stateErr(err)
	})
	if err != nil {
		return nil, err
	}
	return e.awaitUpdate(ctx, ns, id, runID, r.Request.GetMeta().GetUpdateId(), r.WaitPolicy.GetLifecycleStage())
}

// PollUpdate serves PollWorkflowExecutionUpdate.
func (e *Engine) PollUpdate(ctx context.Context, r *workflowservice.PollWorkflowExecutionUpdateRequest) (*workflowservice.PollWorkflowExecutionUpdateResponse, error) {
	ref := r.UpdateRef
	resp, err := e.awaitUpdate(ctx, r.Namespace, ref.GetWorkflowExecution().GetWorkflowId(), ref.GetWorkflowExecution().GetRunId(), ref.GetUpdateId(), r.WaitPolicy.GetLifecycleStage())
	if err != nil {
		return nil, err
	}
	return &workflowservice.PollWorkflowExecutionUpdateResponse{Outcome: resp.Outcome, Stage: resp.Stage, UpdateRef: resp.UpdateRef}, nil
}

func (e *Engine) awaitUpdate(ctx context.Context, ns, id, runID, updateID string, want enumspb.UpdateWorkflowExecutionLifecycleStage) (*workflowservice.UpdateWorkflowExecutionResponse, error) {
	if want == enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_UNSPECIFIED {
		want = enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED
	}
	deadline := pollDeadline(ctx)
	for {
		w, err := e.acquire(ctx, ns, id)
		if err != nil {
			return nil, err
		}
		st := w.cur
		if st != nil && runID != "" && st.RunID != runID {
			w.mu.Unlock()
			old, err := e.loadOldRun(ctx, ns, id, runID)
			if err != nil {
				return nil, err
			}
			return updateResponse(old, updateID, want, true)
		}
		if st == nil {
			w.mu.Unlock()
			return nil, workflowNotFound(id, runID)
		}
		changed, seq := w.changed, w.lastSeq
		resp, err := updateResponse(st, updateID, want, false)
		w.mu.Unlock()
		if err != nil || resp != nil {
			e.barrier(seq)
			return resp, err
		}
		select {
		case <-changed:
		case <-time.After(time.Until(deadline)):
			return &workflowservice.UpdateWorkflowExecutionResponse{
				UpdateRef: updateRef(st, updateID),
				Stage:     enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED,
			}, nil
		case <-ctx.Done():
			return nil, serviceerror.NewDeadlineExceeded("update did not reach the requested stage before the deadline")
		case <-e.stop:
			return nil, serviceerror.NewUnavailable("server is shutting down")
		}
	}
}

func updateRef(st *execution.State, updateID string) *updatepb.UpdateRef {
	return &updatepb.UpdateRef{WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: st.WorkflowID, RunId: st.RunID}, UpdateId: updateID}
}

// updateResponse returns the response if the update reached want, nil if
// the caller should keep waiting, or an error if the update is gone.
func updateResponse(st *execution.State, updateID string, want enumspb.UpdateWorkflowExecutionLifecycleStage, final bool) (*workflowservice.UpdateWorkflowExecutionResponse, error) {
	u := st.Updates[updateID]
	if u == nil {
		if !st.Running() {
			return nil, errCompleted
		}
		return nil, serviceerror.NewNotFoundf("update %q not found", updateID)
	}
	if u.State == execution.UpdateAborted {
		return nil, serviceerror.NewWorkflowNotReady("Unable to perform workflow execution update due to unexpected workflow task failure.")
	}
	resp := &workflowservice.UpdateWorkflowExecutionResponse{UpdateRef: updateRef(st, updateID)}
	switch {
	case u.State == execution.UpdateCompleted:
		resp.Stage = enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED
		resp.Outcome = u.Outcome
		return resp, nil
	case u.State == execution.UpdateAccepted && want != enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED:
		resp.Stage = enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED
		return resp, nil
	case want == enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED:
		resp.Stage = enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED
		return resp, nil
	}
	if final || !st.Running() {
		return nil, errCompleted
	}
	return nil, nil
}

// UpdateWithStart serves ExecuteMultiOperation with a start and an update:
// the workflow is started (or the running one used, per conflict policy)
// and the update admitted in one atomic step.
func (e *Engine) UpdateWithStart(ctx context.Context, start *workflowservice.StartWorkflowExecutionRequest, upd *workflowservice.UpdateWorkflowExecutionRequest) (*StartResult, *workflowservice.UpdateWorkflowExecutionResponse, error) {
	p := StartRequestParams(start)
	var res *StartResult
	err := e.mutate(ctx, start.Namespace, start.WorkflowId, func(w *workflow) error {
		now := e.now()
		if cur := w.cur; cur != nil && cur.Running() && p.ConflictPolicy == enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING {
			res = &StartResult{RunID: cur.RunID, Started: false, Status: cur.Status}
			_, err := cur.AdmitUpdate(now, upd.Request)
			return stateErr(err)
		}
		r, _, err := e.startLockedWith(w, p, func(st *execution.State) error {
			_, err := st.AdmitUpdate(now, upd.Request)
			return err
		})
		res = r
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	resp, err := e.awaitUpdate(ctx, start.Namespace, start.WorkflowId, res.RunID, upd.Request.GetMeta().GetUpdateId(), upd.WaitPolicy.GetLifecycleStage())
	return res, resp, err
}
