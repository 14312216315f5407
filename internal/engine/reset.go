package engine

import (
	"context"
	"errors"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundial-io/sundial/internal/execution"
	"github.com/sundial-io/sundial/internal/store"
)

// maxResetHops bounds how far a child's close follows a chain of resets of
// its parent, and how many continued-as-new runs a reset reads for events
// to reapply (as Temporal bounds its redirects).
const maxResetHops = 100

// Reset serves ResetWorkflowExecution: it creates a new run from the base
// run's history up to the reset point, terminates the current run if it
// is running, and makes the new run current, all in one write. A retried
// request (same request id) returns the run it created.
func (e *Engine) Reset(ctx context.Context, r *workflowservice.ResetWorkflowExecutionRequest) (string, error) {
	return e.ResetWithOptions(ctx, r, nil)
}

// ResetWithOptions is Reset with the option changes of the request's
// UpdateWorkflowOptions post-reset operations (checked and turned into
// merges by the frontend), applied to the new run before its first
// workflow task, whose routing then follows them.
func (e *Engine) ResetWithOptions(ctx context.Context, r *workflowservice.ResetWorkflowExecutionRequest, options []execution.OptionsMerge) (string, error) {
	id := r.WorkflowExecution.GetWorkflowId()
	var runID string
	err := e.mutate(ctx, r.Namespace, id, func(w *workflow) error {
		cur := w.cur
		baseRunID := r.WorkflowExecution.GetRunId()
		if cur == nil && baseRunID == "" {
			return workflowNotFound(id, "")
		}
		if cur != nil && cur.Reset.RequestID != "" && cur.Reset.RequestID == r.RequestId {
			runID = cur.RunID // a retry of the reset that made the current run
			return nil
		}
		base, baseEvents, err := e.resetBase(ctx, w, baseRunID)
		if err != nil {
			return err
		}
		point := r.WorkflowTaskFinishEventId
		if point <= 1 || point > int64(len(baseEvents)) {
			return serviceerror.NewInvalidArgument("Workflow task finish ID must be > 1 && <= workflow last event ID.")
		}
		now := e.now()
		newID := newRunID()
		st, err := execution.NewResetRun(r.Namespace, id, execution.ResetParams{
			Now: now, RunID: newID, BaseRunID: base.RunID, Reason: r.Reason,
			Prefix: baseEvents[:point-1], StartRequestID: base.StartRequestID, RequestID: r.RequestId,
		})
		if errors.Is(err, execution.ErrResetPoint) {
			return serviceerror.NewInvalidArgument(strings.TrimPrefix(err.Error(), execution.ErrResetPoint.Error()+": "))
		}
		if err != nil {
			return err
		}
		// The option merges are checked before anything changes (merged
		// again by FinishReset, on the same options: reapplied signals
		// and updates do not change them).
		o := st.WorkflowOptions()
		for _, merge := range options {
			if o, err = merge(o); err != nil {
				return err
			}
		}
		if !proto.Equal(o.GetVersioningOverride(), st.WorkflowOptions().GetVersioningOverride()) {
			if err := e.CheckPinnedOverride(r.Namespace, st.TaskQueue(), o.GetVersioningOverride()); err != nil {
				return err
			}
		}
		// Close the run being replaced first: what that flushes (signals
		// buffered behind a running task) is reapplied too.
		var curClosing []*historypb.HistoryEvent
		if cur != nil && cur.Running() {
			if err := cur.TerminateForReset(e.runNow(cur), r.Reason, newID); err != nil {
				return stateErr(err)
			}
			curClosing = cur.Outbox().Events
		}
		after, err := e.eventsAfterReset(ctx, r.Namespace, base, baseEvents[point-1:], cur, curClosing)
		if err != nil {
			return err
		}
		exclude := resetExcludes(r.ResetReapplyType, r.ResetReapplyExcludeTypes)
		if err := st.FinishReset(e.runNow(st), after, exclude[enumspb.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL], exclude[enumspb.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE], options...); err != nil {
			return stateErr(err)
		}

		// Link the base run to the new one. The current run's record is
		// written by persist; an older base run's record is written here,
		// under the same lock and before the new run, so the later commit
		// covers it.
		switch {
		case cur != nil && base.RunID == cur.RunID:
			cur.MarkReset(newID)
		default:
			base.MarkReset(newID)
			f, err := e.fenceOf(w)
			if err != nil {
				return err
			}
			if _, _, err := e.apply(&store.Batch{Runs: []*store.RunWrite{e.runWrite(base, now)}, Fence: f}); err != nil {
				return err
			}
		}
		if cur == nil {
			w.cur = st
			w.dirty = true
		} else {
			cur.Outbox().NewRun = st
		}
		runID = newID
		return nil
	})
	return runID, err
}

// resetBase returns the run to reset (the current one when runID is empty)
// and its stored history.
func (e *Engine) resetBase(ctx context.Context, w *workflow, runID string) (*execution.State, []*historypb.HistoryEvent, error) {
	ns, id := w.key.ns, w.key.id
	if cur := w.cur; cur != nil && (runID == "" || runID == cur.RunID) {
		if evs, ok := w.cachedHistory(cur.RunID, 1); ok {
			return cur, evs, nil
		}
		evs, err := e.store.History(ctx, ns, cur.RunID, 1, 0)
		if err != nil {
			return nil, nil, serviceerror.NewUnavailable("reading history: " + err.Error())
		}
		return cur, evs, nil
	}
	st, err := e.loadOldRun(ctx, ns, id, runID)
	if err != nil {
		return nil, nil, err
	}
	evs, err := e.store.History(ctx, ns, runID, 1, 0)
	if err != nil {
		return nil, nil, serviceerror.NewUnavailable("reading history: " + err.Error())
	}
	return st, evs, nil
}

// eventsAfterReset collects the events a reset may reapply, oldest first:
// the base run's events after the reset point, then those of the runs that
// continued it as new, up to and including the current run (with what
// closing it just added). A run of the chain that was deleted ends it.
func (e *Engine) eventsAfterReset(ctx context.Context, ns string, base *execution.State, baseRest []*historypb.HistoryEvent, cur *execution.State, curClosing []*historypb.HistoryEvent) ([]*historypb.HistoryEvent, error) {
	after := append([]*historypb.HistoryEvent(nil), baseRest...)
	if cur != nil && cur.RunID == base.RunID {
		return append(after, curClosing...), nil
	}
	next := continuedAs(baseRest)
	for hops := 0; next != "" && hops < maxResetHops; hops++ {
		evs, err := e.store.History(ctx, ns, next, 1, 0)
		if errors.Is(err, store.ErrNotFound) || (err == nil && len(evs) == 0) {
			break
		}
		if err != nil {
			return nil, serviceerror.NewUnavailable("reading history: " + err.Error())
		}
		after = append(after, evs...)
		if cur != nil && next == cur.RunID {
			return append(after, curClosing...), nil
		}
		next = continuedAs(evs)
	}
	return after, nil
}

// continuedAs returns the run a history continued as new into, if it ends
// with WorkflowExecutionContinuedAsNew.
func continuedAs(evs []*historypb.HistoryEvent) string {
	if len(evs) == 0 {
		return ""
	}
	return evs[len(evs)-1].GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId()
}

// resetExcludes combines the deprecated reset_reapply_type (what to
// include) with reset_reapply_exclude_types, as Temporal does.
func resetExcludes(include enumspb.ResetReapplyType, excludes []enumspb.ResetReapplyExcludeType) map[enumspb.ResetReapplyExcludeType]bool {
	out := map[enumspb.ResetReapplyExcludeType]bool{}
	switch include {
	case enumspb.RESET_REAPPLY_TYPE_SIGNAL:
		out[enumspb.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE] = true
	case enumspb.RESET_REAPPLY_TYPE_NONE:
		out[enumspb.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL] = true
		out[enumspb.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE] = true
	}
	for _, x := range excludes {
		out[x] = true
	}
	return out
}

// resetLeadsTo reports whether run from of a workflow was reset, directly
// or through a chain of resets, into run to: a child's close addressed to
// a parent run that was reset is delivered to the run that replaced it.
func (e *Engine) resetLeadsTo(ctx context.Context, ns, from, to string) bool {
	for hops := 0; from != "" && hops < maxResetHops; hops++ {
		if from == to {
			return true
		}
		rec, err := e.store.Run(ctx, ns, from)
		if err != nil {
			return false
		}
		from = rec.ResetRunID
	}
	return false
}

// resetExtendedInfo adds the reset links to describe's extended info: the
// run a reset made from this one, and for a run made by a reset its reset
// time and the original start time.
func resetExtendedInfo(st *execution.State, resp *workflowservice.DescribeWorkflowExecutionResponse) {
	x := resp.WorkflowExtendedInfo
	if x == nil {
		x = &workflowpb.WorkflowExecutionExtendedInfo{}
		resp.WorkflowExtendedInfo = x
	}
	x.ResetRunId = st.Reset.RunID
	x.OriginalStartTime = timestamppb.New(st.StartTime)
	if !st.Reset.Time.IsZero() {
		x.LastResetTime = timestamppb.New(st.Reset.Time)
		x.OriginalStartTime = timestamppb.New(st.Reset.OriginalStartTime)
	}
}
