package engine

import "context"

// Workflow pause: PauseWorkflowExecution and UnpauseWorkflowExecution
// (execution/workflow_pause.go has the semantics). Each writes one history
// event under the workflow's lock and is durable before the reply; the
// unpause's workflow task and activity attempts are dispatched after the
// write like any other task.

// PauseWorkflow pauses the run (the current one when runID is empty). A
// repeat of the pause in effect (same request id) writes nothing.
func (e *Engine) PauseWorkflow(ctx context.Context, ns, wfID, runID, identity, reason, requestID string) error {
	return e.mutate(ctx, ns, wfID, func(w *workflow) error {
		st, err := openRun(w, runID)
		if err != nil {
			return err
		}
		_, err = st.PauseWorkflow(e.runNow(st), identity, reason, requestID)
		return stateErr(err)
	})
}

// UnpauseWorkflow unpauses the run (the current one when runID is empty).
func (e *Engine) UnpauseWorkflow(ctx context.Context, ns, wfID, runID, identity, reason, requestID string) error {
	return e.mutate(ctx, ns, wfID, func(w *workflow) error {
		st, err := openRun(w, runID)
		if err != nil {
			return err
		}
		return stateErr(st.UnpauseWorkflow(e.runNow(st), identity, reason, requestID))
	})
}
