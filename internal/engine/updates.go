package engine

import (
	"context"
	"errors"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundial-io/sundial/internal/execution"
)

// updateSoftTimeout is how long an update call waits for its stage before
// it answers with the stage reached so far and no outcome (Temporal's
// history.longPollExpirationInterval). The SDKs then call again. A caller
// whose own deadline comes first gets DeadlineExceeded instead, which the
// SDKs report as a timeout of the update call.
const updateSoftTimeout = 20 * time.Second

var (
	errUpdateAbortedByClose = serviceerror.NewNotFound("workflow update was aborted by closing workflow")
	errUpdateTaskFailed     = serviceerror.NewWorkflowNotReady("Unable to perform workflow execution update due to unexpected workflow task failure.")
)

// UpdateWorkflow admits an update and waits for the requested stage (see
// awaitUpdate).
func (e *Engine) UpdateWorkflow(ctx context.Context, r *workflowservice.UpdateWorkflowExecutionRequest) (*workflowservice.UpdateWorkflowExecutionResponse, error) {
	ns, id := r.Namespace, r.WorkflowExecution.GetWorkflowId()
	pinned := r.WorkflowExecution.GetRunId()
	updateID := r.Request.GetMeta().GetUpdateId()
	var runID string
	var old bool
	err := e.mutate(ctx, ns, id, func(w *workflow) error {
		st := w.cur
		if st == nil {
			return workflowNotFound(id, pinned)
		}
		if pinned != "" && st.RunID != pinned {
			old = true // an older run: closed, only a finished update can be read
			return nil
		}
		if r.FirstExecutionRunId != "" && st.Start.GetFirstExecutionRunId() != r.FirstExecutionRunId {
			return workflowNotFound(id, r.FirstExecutionRunId)
		}
		runID = st.RunID
		if !st.Running() {
			// A closed run answers for the updates it finished; any other
			// update id finds the workflow completed.
			if _, err := closedRunUpdate(st, updateID); err != nil {
				return err
			}
			return nil
		}
		_, err := st.AdmitUpdate(e.runNow(st), r.Request, pinned != "")
		return stateErr(err)
	})
	if err != nil {
		return nil, err
	}
	if old {
		st, err := e.loadOldRun(ctx, ns, id, pinned)
		if err != nil {
			return nil, err
		}
		if _, err := closedRunUpdate(st, updateID); err != nil {
			return nil, err
		}
		runID = pinned
	}
	return e.awaitUpdate(ctx, ns, id, runID, updateID, r.WaitPolicy.GetLifecycleStage(), false)
}

// closedRunUpdate returns the update of a closed run that finished (it is
// in history), or errCompleted.
func closedRunUpdate(st *execution.State, updateID string) (*execution.Update, error) {
	u := st.Updates[updateID]
	if u == nil || u.Rejected || (u.State != execution.UpdateAccepted && u.State != execution.UpdateCompleted) {
		return nil, errCompleted
	}
	return u, nil
}

// PollUpdate serves PollWorkflowExecutionUpdate.
func (e *Engine) PollUpdate(ctx context.Context, r *workflowservice.PollWorkflowExecutionUpdateRequest) (*workflowservice.PollWorkflowExecutionUpdateResponse, error) {
	ref := r.UpdateRef
	resp, err := e.awaitUpdate(ctx, r.Namespace, ref.GetWorkflowExecution().GetWorkflowId(), ref.GetWorkflowExecution().GetRunId(), ref.GetUpdateId(), r.WaitPolicy.GetLifecycleStage(), true)
	if err != nil {
		return nil, err
	}
	return &workflowservice.PollWorkflowExecutionUpdateResponse{Outcome: resp.Outcome, Stage: resp.Stage, UpdateRef: resp.UpdateRef}, nil
}

// awaitUpdate waits until the update reaches stage want and answers with
// the stage reached (and the outcome once completed), as Temporal does:
//   - want UNSPECIFIED answers at once with the current stage;
//   - after updateSoftTimeout it answers with the stage reached so far;
//   - a caller whose deadline passes first gets DeadlineExceeded.
//
// An update that moved to a run continuing its run is followed there (runID
// empty means the current run).
func (e *Engine) awaitUpdate(ctx context.Context, ns, id, runID, updateID string, want enumspb.UpdateWorkflowExecutionLifecycleStage, poll bool) (*workflowservice.UpdateWorkflowExecutionResponse, error) {
	soft := time.NewTimer(updateSoftTimeout)
	defer soft.Stop()
	var last *workflowservice.UpdateWorkflowExecutionResponse
	for {
		w, err := e.acquire(ctx, ns, id)
		if err != nil {
			return nil, err
		}
		st := w.cur
		if st == nil {
			w.mu.Unlock()
			return nil, workflowNotFound(id, runID)
		}
		if runID != "" && st.RunID != runID {
			if u := st.Updates[updateID]; u != nil && u.Moved(runID) {
				runID = st.RunID
			} else {
				w.mu.Unlock()
				old, err := e.loadOldRun(ctx, ns, id, runID)
				if err != nil {
					return nil, err
				}
				resp, _, err := updateStatus(old, updateID, want)
				return resp, err
			}
		}
		changed, seq := w.changed, w.lastSeq
		resp, done, err := updateStatus(st, updateID, want)
		if u := st.Updates[updateID]; poll && last == nil && u != nil && u.Rejected {
			// A rejection is given to the callers that sent or waited for
			// the update; as in Temporal, a poll after it finds the id
			// unknown.
			resp, err = nil, updateNotFound(st, updateID)
		}
		if err == nil && !done {
			w.waiters.Add(1) // keeps the workflow in the cache
		}
		w.mu.Unlock()
		if err != nil || done {
			if serr := e.settledRead(w, seq); serr != nil {
				return nil, serr
			}
			return resp, err
		}
		last = resp
		select {
		case <-changed:
			w.waiters.Add(-1)
		case <-soft.C:
			w.waiters.Add(-1)
			if serr := e.settledRead(w, seq); serr != nil {
				return nil, serr
			}
			return last, nil
		case <-ctx.Done():
			w.waiters.Add(-1)
			if ctx.Err() == context.Canceled {
				return nil, serviceerror.NewCanceled("update call canceled")
			}
			return nil, serviceerror.NewDeadlineExceeded("update did not reach the requested stage before the deadline")
		case <-e.stop:
			w.waiters.Add(-1)
			return nil, serviceerror.NewUnavailable("server is shutting down")
		}
	}
}

func updateNotFound(st *execution.State, updateID string) error {
	if !st.Running() {
		return errCompleted
	}
	return serviceerror.NewNotFoundf("update %q not found", updateID)
}

func updateRef(st *execution.State, updateID string) *updatepb.UpdateRef {
	return &updatepb.UpdateRef{WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: st.WorkflowID, RunId: st.RunID}, UpdateId: updateID}
}

// updateStatus returns the stage an update reached (with its outcome once
// completed) and whether that answers a caller waiting for want, or the
// error its callers get.
func updateStatus(st *execution.State, updateID string, want enumspb.UpdateWorkflowExecutionLifecycleStage) (*workflowservice.UpdateWorkflowExecutionResponse, bool, error) {
	u := st.Updates[updateID]
	if u == nil {
		return nil, false, updateNotFound(st, updateID)
	}
	resp := &workflowservice.UpdateWorkflowExecutionResponse{UpdateRef: updateRef(st, updateID)}
	switch u.State {
	case execution.UpdateAborted:
		if u.Abort == execution.AbortTaskFailed {
			return nil, false, errUpdateTaskFailed
		}
		return nil, false, errUpdateAbortedByClose
	case execution.UpdateCompleted:
		resp.Stage, resp.Outcome = enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED, u.Outcome
		return resp, true, nil
	case execution.UpdateAccepted:
		if !st.Running() {
			// Accepted, and its run closed before it completed.
			resp.Stage, resp.Outcome = enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED, execution.AcceptedUpdateCompletedWorkflow()
			return resp, true, nil
		}
		resp.Stage = enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED
		return resp, want != enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED, nil
	}
	resp.Stage = enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED
	return resp, want == enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED || want == enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_UNSPECIFIED, nil
}

// UpdateWithStart serves ExecuteMultiOperation with a start and an update,
// in one atomic step, following Temporal's rules:
//   - an update id the current run (open or closed) already completed
//     answers with that outcome, and nothing starts;
//   - on a running workflow, a start whose request id matches the run's, an
//     update id the run already knows, or USE_EXISTING sends (or attaches)
//     the update to that run;
//   - otherwise a new run starts (or the start fails, per the policies)
//     with the update admitted before its first workflow task.
//
// An update sent to an existing run that then closed before accepting it
// is tried once more from the top (which may start a new run); if that
// happens again the update answers Aborted, which the SDKs retry.
func (e *Engine) UpdateWithStart(ctx context.Context, start *workflowservice.StartWorkflowExecutionRequest, upd *workflowservice.UpdateWorkflowExecutionRequest) (*StartResult, *workflowservice.UpdateWorkflowExecutionResponse, error) {
	res, resp, err := e.updateWithStart(ctx, start, upd)
	if res == nil || res.Started || !errors.Is(err, errUpdateAbortedByClose) {
		return res, resp, err
	}
	res, resp, err = e.updateWithStart(ctx, start, upd)
	if res != nil && !res.Started && errors.Is(err, errUpdateAbortedByClose) {
		return res, nil, serviceerror.NewAborted(err.Error())
	}
	return res, resp, err
}

func (e *Engine) updateWithStart(ctx context.Context, start *workflowservice.StartWorkflowExecutionRequest, upd *workflowservice.UpdateWorkflowExecutionRequest) (*StartResult, *workflowservice.UpdateWorkflowExecutionResponse, error) {
	p := StartRequestParams(start)
	updateID := upd.Request.GetMeta().GetUpdateId()
	var res *StartResult
	updateFailed := false // the error belongs to the update, not the start
	err := e.mutate(ctx, start.Namespace, start.WorkflowId, func(w *workflow) error {
		if cur := w.cur; cur != nil {
			u := cur.Updates[updateID]
			if u != nil && u.State == execution.UpdateCompleted && !u.Rejected {
				res = &StartResult{RunID: cur.RunID, Started: false, Status: cur.Status}
				return nil
			}
			known := u != nil && u.State != execution.UpdateAborted && !u.Rejected
			sameStart := p.RequestID != "" && cur.StartRequestID == p.RequestID
			if cur.Running() && (known || sameStart || p.ConflictPolicy == enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING) {
				res = &StartResult{RunID: cur.RunID, Started: false, Status: cur.Status}
				_, err := cur.AdmitUpdate(e.runNow(cur), upd.Request, false)
				updateFailed = err != nil
				return stateErr(err)
			}
		}
		r, _, err := e.startLockedWith(w, p, func(st *execution.State) error {
			_, err := st.AdmitUpdate(e.runNow(st), upd.Request, false)
			updateFailed = err != nil
			return stateErr(err)
		})
		res = r
		return err
	})
	if err != nil {
		if updateFailed && res == nil {
			res = &StartResult{}
		}
		if !updateFailed {
			res = nil
		}
		return res, nil, err
	}
	resp, err := e.awaitUpdate(ctx, start.Namespace, start.WorkflowId, res.RunID, updateID, upd.WaitPolicy.GetLifecycleStage(), false)
	return res, resp, err
}
