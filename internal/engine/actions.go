package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/sundial-io/sundial/internal/execution"
)

// reconcileKind is an engine-only action run once per recovered run: it
// re-checks relations with other workflows that a crash may have cut.
const reconcileKind execution.ActionKind = 100

// runAction carries out an effect of one run on another workflow, then
// records the outcome on the source run. Failures are retried: every
// action is idempotent.
func (e *Engine) runAction(a pendingAction) {
	for attempt := 0; ; attempt++ {
		err := e.doAction(a)
		if err == nil {
			return
		}
		select {
		case <-e.stop:
			return
		case <-time.After(backoff(attempt)):
		}
		e.log.Warn("retrying cross-workflow action", "kind", a.Kind, "workflow", a.run.WorkflowID, "err", err)
	}
}

func backoff(attempt int) time.Duration {
	d := 100 * time.Millisecond << min(attempt, 7)
	return d
}

// retryable reports errors worth retrying (storage trouble), as opposed to
// a definite answer such as NotFound.
func retryable(err error) bool {
	var u *serviceerror.Unavailable
	return errors.As(err, &u) || IsNotOwner(err)
}

func (e *Engine) doAction(a pendingAction) error {
	ctx := context.Background()
	src := a.run
	switch a.Kind {
	case execution.StartChild:
		return e.startChild(ctx, src, a.Child)
	case execution.NotifyParent:
		return e.notifyParent(ctx, src)
	case execution.ApplyParentClose:
		for _, c := range a.Children {
			if err := e.applyParentClose(ctx, src, c); err != nil && retryable(err) {
				return err
			}
		}
		return nil
	case execution.SignalExternal:
		s := a.External.Signal
		exec := s.WorkflowExecution
		err := e.mutate(ctx, s.Namespace, exec.GetWorkflowId(), func(w *workflow) error {
			st, err := openRun(w, exec.GetRunId())
			if err != nil {
				return err
			}
			reqID := fmt.Sprintf("%s:%d", src.RunID, a.InitiatedEventID)
			return stateErr(st.Signal(e.now(), s.SignalName, s.Input, s.Header, "", reqID,
				&commonpb.WorkflowExecution{WorkflowId: src.WorkflowID, RunId: src.RunID}))
		})
		if retryable(err) {
			return err
		}
		cause := enumspb.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_UNSPECIFIED
		if err != nil {
			cause = enumspb.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND
		}
		return e.onSource(ctx, src, func(st *execution.State) error { return st.ExternalSignalDone(e.now(), a.InitiatedEventID, cause) })
	case execution.CancelExternal:
		c := a.External.Cancel
		exec := c.WorkflowExecution
		err := e.mutate(ctx, c.Namespace, exec.GetWorkflowId(), func(w *workflow) error {
			st, err := e.cancelTarget(ctx, w, exec.GetRunId())
			if err != nil || st == nil {
				return err // a closed target counts as canceled, as in Temporal
			}
			return stateErr(st.RequestCancel(e.now(), c.Reason, "", &commonpb.WorkflowExecution{WorkflowId: src.WorkflowID, RunId: src.RunID}, a.InitiatedEventID))
		})
		if retryable(err) {
			return err
		}
		cause := enumspb.CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_UNSPECIFIED
		if err != nil {
			cause = enumspb.CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND
		}
		return e.onSource(ctx, src, func(st *execution.State) error { return st.ExternalCancelDone(e.now(), a.InitiatedEventID, cause) })
	case reconcileKind:
		return e.reconcile(ctx, src, a.Children)
	case execution.DeliverNexusCallbacks:
		return e.deliverNexusCallbacks(ctx, src)
	case execution.CheckNexusHandler:
		return e.checkNexusHandler(ctx, src, a.InitiatedEventID)
	}
	return nil
}

// onSource applies an outcome to the run that initiated an action; a run
// that has moved on ignores it.
func (e *Engine) onSource(ctx context.Context, src *execution.State, fn func(*execution.State) error) error {
	err := e.mutate(ctx, src.Namespace, src.WorkflowID, func(w *workflow) error {
		if w.cur == nil || w.cur.RunID != src.RunID {
			return nil
		}
		if err := fn(w.cur); err != nil && !errors.Is(err, execution.ErrStaleTask) {
			return err
		}
		return nil
	})
	if retryable(err) {
		return err
	}
	return nil
}

func (e *Engine) startChild(ctx context.Context, parent *execution.State, c *execution.Child) error {
	a := c.Attrs
	root := parent.Start.GetRootWorkflowExecution()
	if root == nil {
		root = &commonpb.WorkflowExecution{WorkflowId: parent.WorkflowID, RunId: parent.RunID}
	}
	p := &StartParams{
		Namespace: a.Namespace, WorkflowID: a.WorkflowId, WorkflowType: a.WorkflowType, TaskQueue: a.TaskQueue.GetName(),
		Input: a.Input, ExecTimeout: a.WorkflowExecutionTimeout.AsDuration(), RunTimeout: a.WorkflowRunTimeout.AsDuration(),
		ExecTimeoutSet: a.WorkflowExecutionTimeout != nil, RunTimeoutSet: true, UserMetadata: c.UserMetadata,
		TaskTimeout: a.WorkflowTaskTimeout.AsDuration(), RequestID: fmt.Sprintf("%s:%d", parent.RunID, c.InitiatedEventID),
		ReusePolicy: a.WorkflowIdReusePolicy, RetryPolicy: a.RetryPolicy, Memo: a.Memo, Search: a.SearchAttributes, CronSchedule: a.CronSchedule,
		Header: a.Header, Priority: a.Priority,
		Parent: &ParentInfo{Namespace: parent.Namespace, Execution: &commonpb.WorkflowExecution{WorkflowId: parent.WorkflowID, RunId: parent.RunID},
			InitiatedID: c.InitiatedEventID, Root: root},
	}
	p.InheritedPinnedVersion, p.VersioningOverride = e.childVersioning(parent, c) // deployments.go
	var res *StartResult
	var err error
	if e.CheckNamespace(a.Namespace) != nil {
		err = serviceerror.NewNamespaceNotFound(a.Namespace)
	} else {
		res, err = e.StartWorkflow(ctx, p)
	}
	if retryable(err) {
		return err
	}
	return e.onSource(ctx, parent, func(st *execution.State) error {
		if err != nil {
			return st.StartChildFailed(e.now(), c.InitiatedEventID, enumspb.START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS)
		}
		return st.ChildStarted(e.now(), c.InitiatedEventID, res.RunID)
	})
}

// notifyParent reports a child's final close to its parent.
func (e *Engine) notifyParent(ctx context.Context, child *execution.State) error {
	pe := child.Start.GetParentWorkflowExecution()
	ns := child.Start.GetParentWorkflowNamespace()
	if ns == "" {
		ns = child.Namespace
	}
	err := e.mutate(ctx, ns, pe.GetWorkflowId(), func(w *workflow) error {
		if w.cur == nil {
			return nil
		}
		if w.cur.RunID != pe.GetRunId() {
			// A parent that was reset hands its children to the run that
			// replaced it, if that run still has this child pending.
			c := w.cur.Children[child.Start.GetParentInitiatedEventId()]
			if c == nil || c.Attrs.WorkflowId != child.WorkflowID || !e.resetLeadsTo(ctx, ns, pe.GetRunId(), w.cur.RunID) {
				return nil
			}
		}
		err := w.cur.ChildClosed(e.now(), child.Start.GetParentInitiatedEventId(), child.RunID, child.CloseEvent)
		if errors.Is(err, execution.ErrStaleTask) {
			return nil
		}
		return err
	})
	if retryable(err) {
		return err
	}
	return nil
}

// applyParentClose terminates or cancels a child of a closed parent, as
// its ParentClosePolicy says (terminate when unset).
func (e *Engine) applyParentClose(ctx context.Context, parent *execution.State, c *execution.Child) error {
	policy := c.Attrs.ParentClosePolicy
	if policy == enumspb.PARENT_CLOSE_POLICY_ABANDON {
		return nil
	}
	return e.mutate(ctx, c.Attrs.Namespace, c.Attrs.WorkflowId, func(w *workflow) error {
		st := w.cur
		if st == nil || !st.Running() {
			return nil
		}
		if pr := st.Start.GetParentWorkflowExecution().GetRunId(); pr != parent.RunID &&
			!e.resetLeadsTo(ctx, parent.Namespace, pr, parent.RunID) {
			return nil
		}
		if policy == enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL {
			return st.RequestCancel(e.now(), "parent workflow closed", "", parent.Start.GetRootWorkflowExecution(), 0)
		}
		return st.Terminate(e.now(), "by parent close policy", nil, "sundial")
	})
}

// reconcile runs after a restart for one open run: a parent that closed
// before applying its close policy to this child, and children of this
// run that closed before telling it, are caught up.
func (e *Engine) reconcile(ctx context.Context, st *execution.State, children []*execution.Child) error {
	if pe := st.Start.GetParentWorkflowExecution(); pe != nil {
		ns := st.Start.GetParentWorkflowNamespace()
		if ns == "" {
			ns = st.Namespace
		}
		parent, err := e.loadOldRun(ctx, ns, pe.WorkflowId, pe.RunId)
		// A parent terminated by a reset passed its children to the run
		// that replaced it: that run's close is what counts.
		for hops := 0; err == nil && parent.TerminatedByReset() && hops < maxResetHops; hops++ {
			parent, err = e.loadOldRun(ctx, ns, pe.WorkflowId, parent.Reset.RunID)
		}
		if err == nil && !parent.Running() {
			if c := parent.Children[st.Start.GetParentInitiatedEventId()]; c != nil && c.Attrs.WorkflowId == st.WorkflowID {
				if err := e.applyParentClose(ctx, parent, c); retryable(err) {
					return err
				}
			}
		}
	}
	for _, c := range children {
		if c.RunID == "" {
			continue
		}
		child, err := e.loadOldRun(ctx, c.Attrs.Namespace, c.Attrs.WorkflowId, c.RunID)
		if err != nil || child.Running() || !child.FinalClose() {
			continue // still running, or a successor run will report
		}
		if err := e.notifyParent(ctx, child); err != nil {
			return err
		}
	}
	return nil
}
