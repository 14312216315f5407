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
		return e.startChild(ctx, src, a.Child, a.ChildPriority, a.ChildTimeSkipping, a.ChildTimeSkippingState)
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
		err := e.signalFrom(ctx, signalArgs{Namespace: s.Namespace, WorkflowID: exec.GetWorkflowId(), RunID: exec.GetRunId(),
			Name: s.SignalName, Input: pbBytes(s.Input), Header: pbBytes(s.Header),
			RequestID: fmt.Sprintf("%s:%d", src.RunID, a.InitiatedEventID), SrcWorkflowID: src.WorkflowID, SrcRunID: src.RunID})
		if retryable(err) {
			return err
		}
		cause := enumspb.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_UNSPECIFIED
		if err != nil {
			cause = enumspb.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND
		}
		return e.onSource(ctx, src, func(st *execution.State) error { return st.ExternalSignalDone(e.runNow(st), a.InitiatedEventID, cause) })
	case execution.CancelExternal:
		c := a.External.Cancel
		exec := c.WorkflowExecution
		err := e.cancelFrom(ctx, cancelArgs{Namespace: c.Namespace, WorkflowID: exec.GetWorkflowId(), RunID: exec.GetRunId(),
			Reason: c.Reason, SrcWorkflowID: src.WorkflowID, SrcRunID: src.RunID, InitiatedID: a.InitiatedEventID})
		if retryable(err) {
			return err
		}
		cause := enumspb.CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_UNSPECIFIED
		if err != nil {
			cause = enumspb.CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND
		}
		return e.onSource(ctx, src, func(st *execution.State) error { return st.ExternalCancelDone(e.runNow(st), a.InitiatedEventID, cause) })
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

func (e *Engine) startChild(ctx context.Context, parent *execution.State, c *execution.Child, priority *commonpb.Priority,
	skip *commonpb.TimeSkippingConfig, skipState *commonpb.TimeSkippingStatePropagation) error {
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
		Header: a.Header, Priority: priority, TimeSkipping: skip, TimeSkippingState: skipState,
		Parent: &ParentInfo{Namespace: parent.Namespace, Execution: &commonpb.WorkflowExecution{WorkflowId: parent.WorkflowID, RunId: parent.RunID},
			InitiatedID: c.InitiatedEventID, Root: root},
	}
	p.InheritedPinnedVersion, p.VersioningOverride = e.childVersioning(parent, c) // deployments.go
	var res *StartResult
	var err error
	if e.CheckNamespace(a.Namespace) != nil {
		err = serviceerror.NewNamespaceNotFound(a.Namespace)
	} else {
		res, err = e.startChildOn(ctx, p)
	}
	if retryable(err) {
		return err
	}
	return e.onSource(ctx, parent, func(st *execution.State) error {
		if err != nil {
			return st.StartChildFailed(e.runNow(st), c.InitiatedEventID, enumspb.START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS)
		}
		return st.ChildStarted(e.runNow(st), c.InitiatedEventID, res.RunID)
	})
}

// notifyParent reports a child's final close to its parent.
func (e *Engine) notifyParent(ctx context.Context, child *execution.State) error {
	pe := child.Start.GetParentWorkflowExecution()
	ns := child.Start.GetParentWorkflowNamespace()
	if ns == "" {
		ns = child.Namespace
	}
	err := e.childClosed(ctx, childClosedArgs{Namespace: ns, ParentID: pe.GetWorkflowId(), ParentRunID: pe.GetRunId(),
		InitiatedID: child.Start.GetParentInitiatedEventId(), ChildID: child.WorkflowID, ChildRunID: child.RunID, CloseEvent: pbBytes(child.CloseEvent)})
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
	return e.parentClosed(ctx, parentClosedArgs{Namespace: c.Attrs.Namespace, ChildID: c.Attrs.WorkflowId, ParentNamespace: parent.Namespace,
		ParentRunID: parent.RunID, Policy: int32(policy), Root: pbBytes(parent.Start.GetRootWorkflowExecution())})
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
