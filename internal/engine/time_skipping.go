package engine

import (
	"context"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundial-io/sundial/internal/execution"
)

// Time skipping (execution/time_skipping.go): a run's state is on its own
// virtual clock, the wall clock plus the time it has skipped. Every call
// into a run's state passes runNow instead of the wall time, its
// deadlines come back as wall times (State.NextDeadline), and the end of
// every write lets an idle run jump ahead (skipTime).

// runNow is the run's time: the engine's clock on the run's virtual clock.
func (e *Engine) runNow(st *execution.State) time.Time { return st.Clock(e.now()) }

// skipTime lets the run jump its clock if it is idle and skipping (a
// WorkflowExecutionTimeSkippingTransitioned event in this write). Its
// deadlines then come at once in wall time, and the timer that fires
// them writes what they do.
func (e *Engine) skipTime(st *execution.State) {
	if st != nil && st.TimeSkippingEnabled() {
		st.SkipTime(e.runNow(st))
	}
}

// Why a fast-forward poll failed (PollWorkflowExecutionTimeSkipping's
// failed_reason), in the caller's terms as Temporal words them.
const (
	ffFailedIDMismatch = "the requested fast_forward_id does not match the execution's current fast-forward"
	ffFailedReset      = "the fast-forward was reset"
	ffFailedEnded      = "the execution ended before the fast-forward completed"
	ffFailedDisabled   = "time skipping was disabled before the fast-forward completed"
)

// PollTimeSkipping waits until the fast-forward ffID of the workflow's run
// completes, as Temporal's PollWorkflowExecutionTimeSkipping: it answers
// at once when the fast-forward is not the run's current one, has
// completed, cannot complete (the execution ended, skipping was
// disabled), or was replaced while waiting (reset); otherwise it waits
// for the run's writes until the caller's deadline (less a margin, at
// most a minute) and answers POLL_TIMEOUT. A fast-forward carries over
// continue-as-new, retries and cron runs, so the poll follows the chain
// to its current run.
func (e *Engine) PollTimeSkipping(ctx context.Context, ns string, ex *commonpb.WorkflowExecution, ffID string) (*workflowservice.PollWorkflowExecutionTimeSkippingResponse, error) {
	id, runID := ex.GetWorkflowId(), ex.GetRunId()
	deadline := pollDeadline(ctx)
	var pending *commonpb.TimeSkippingFastForwardInfo
	answer := func(ff *commonpb.TimeSkippingFastForwardInfo, r enumspb.FastForwardPollingResult, reason string) (*workflowservice.PollWorkflowExecutionTimeSkippingResponse, error) {
		return &workflowservice.PollWorkflowExecutionTimeSkippingResponse{FastForwardInfo: ff, FastForwardPollingResult: r, FailedReason: reason}, nil
	}
	failed := enumspb.FAST_FORWARD_POLLING_RESULT_FAST_FORWARD_FAILED
	for {
		w, err := e.acquire(ctx, ns, id)
		if err != nil {
			return nil, err
		}
		cur, changed, seq := w.cur, w.changed, w.lastSeq
		var ff *commonpb.TimeSkippingFastForwardInfo
		var running, enabled bool
		if cur != nil {
			ff, running, enabled = cur.FastForwardInfo(), cur.Running(), cur.TimeSkippingEnabled()
		}
		w.mu.Unlock()
		if cur == nil {
			return nil, workflowNotFound(id, runID)
		}
		if runID != "" && runID != cur.RunID {
			// An older run: of the current run's chain, the poll follows
			// the chain; of an earlier execution, it answers for that
			// (closed) run.
			old, err := e.loadOldRun(ctx, ns, id, runID)
			if err != nil {
				return nil, err
			}
			if cur.Start.GetFirstExecutionRunId() != old.Start.GetFirstExecutionRunId() {
				ff, running, enabled = old.FastForwardInfo(), old.Running(), old.TimeSkippingEnabled()
			}
		}
		e.barrier(seq)
		switch {
		case ff == nil || ff.GetFastForwardId() != ffID:
			return answer(ff, failed, ffFailedIDMismatch)
		case pending != nil && !ff.GetTargetTime().AsTime().Equal(pending.GetTargetTime().AsTime()):
			return answer(ff, failed, ffFailedReset)
		case ff.GetHasCompleted():
			return answer(ff, enumspb.FAST_FORWARD_POLLING_RESULT_FAST_FORWARD_COMPLETED, "")
		case !running:
			return answer(ff, failed, ffFailedEnded)
		case !enabled:
			return answer(ff, failed, ffFailedDisabled)
		}
		pending = ff
		// A waiter keeps the workflow in the cache; one evicted before
		// this line closed changed, so the loop looks again.
		w.waiters.Add(1)
		select {
		case <-changed:
			w.waiters.Add(-1)
		case <-ctx.Done():
			w.waiters.Add(-1)
			return nil, ctx.Err()
		case <-time.After(time.Until(deadline)):
			w.waiters.Add(-1)
			return answer(pending, enumspb.FAST_FORWARD_POLLING_RESULT_POLL_TIMEOUT, "")
		case <-e.stop:
			w.waiters.Add(-1)
			return nil, serviceerror.NewUnavailable("server is shutting down")
		}
	}
}
