package engine

import (
	"context"
	"errors"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/sundial-io/sundial/internal/execution"
	"github.com/sundial-io/sundial/internal/store"
)

func workflowNotFound(id, runID string) error {
	if runID != "" {
		return serviceerror.NewNotFoundf("workflow not found for ID: %s and run ID: %s", id, runID)
	}
	return serviceerror.NewNotFoundf("workflow not found for ID: %s", id)
}

var errCompleted = serviceerror.NewNotFound("workflow execution already completed")

// openRun returns the workflow's current run if it matches runID (empty
// means current) and is running.
func openRun(w *workflow, runID string) (*execution.State, error) {
	if w.cur == nil || (runID != "" && w.cur.RunID != runID) {
		if w.cur != nil && runID != "" {
			return nil, errCompleted // an older run of this id: it is closed
		}
		return nil, workflowNotFound(w.key.id, runID)
	}
	if !w.cur.Running() {
		return nil, errCompleted
	}
	return w.cur, nil
}

func stateErr(err error) error {
	switch {
	case errors.Is(err, execution.ErrClosed):
		return errCompleted
	case errors.Is(err, execution.ErrTaskFailing):
		return serviceerror.NewWorkflowNotReady(err.Error())
	case errors.Is(err, execution.ErrWorkflowClosing):
		// Retryable: the SDKs retry ResourceExhausted.
		return &serviceerror.ResourceExhausted{Cause: enumspb.RESOURCE_EXHAUSTED_CAUSE_BUSY_WORKFLOW, Scope: enumspb.RESOURCE_EXHAUSTED_SCOPE_NAMESPACE, Message: err.Error()}
	case errors.Is(err, execution.ErrStaleTask):
		return serviceerror.NewNotFound("task not found: it was already completed, timed out or superseded")
	case errors.Is(err, execution.ErrWorkflowPaused), errors.Is(err, execution.ErrPausedForceCreate),
		errors.Is(err, execution.ErrWorkflowAlreadyPaused), errors.Is(err, execution.ErrWorkflowNotPaused):
		return serviceerror.NewFailedPrecondition(err.Error()) // workflow_pause.go
	}
	return err
}

// Signal delivers a signal to a running workflow.
func (e *Engine) Signal(ctx context.Context, r *workflowservice.SignalWorkflowExecutionRequest) error {
	return e.mutate(ctx, r.Namespace, r.WorkflowExecution.GetWorkflowId(), func(w *workflow) error {
		st, err := openRun(w, r.WorkflowExecution.GetRunId())
		if err != nil {
			return err
		}
		return stateErr(st.Signal(e.runNow(st), r.SignalName, r.Input, r.Header, r.Identity, r.RequestId, nil))
	})
}

// RequestCancel asks a running workflow to cancel.
func (e *Engine) RequestCancel(ctx context.Context, r *workflowservice.RequestCancelWorkflowExecutionRequest) error {
	return e.mutate(ctx, r.Namespace, r.WorkflowExecution.GetWorkflowId(), func(w *workflow) error {
		runID := r.WorkflowExecution.GetRunId()
		if r.FirstExecutionRunId != "" {
			runID = "" // as in Temporal: the first run id picks the chain, the run id is ignored
		}
		st, err := e.cancelTarget(ctx, w, runID)
		if err != nil || st == nil {
			return err
		}
		if r.FirstExecutionRunId != "" && st.Start.GetFirstExecutionRunId() != r.FirstExecutionRunId {
			return workflowNotFound(w.key.id, r.FirstExecutionRunId)
		}
		return stateErr(st.RequestCancel(e.runNow(st), r.Reason, r.Identity, nil, 0))
	})
}

// cancelTarget finds the run a cancel request is for. As in Temporal,
// asking to cancel a run that has already closed succeeds and does
// nothing (st is nil then); only a run that does not exist is NotFound.
// Called with w locked.
func (e *Engine) cancelTarget(ctx context.Context, w *workflow, runID string) (*execution.State, error) {
	st, err := openRun(w, runID)
	if !errors.Is(err, errCompleted) {
		return st, err
	}
	if w.cur != nil && runID != "" && w.cur.RunID != runID {
		if _, err := e.store.Run(ctx, w.key.ns, runID); err != nil {
			return nil, workflowNotFound(w.key.id, runID)
		}
	}
	return nil, nil
}

// Terminate ends a running workflow.
func (e *Engine) Terminate(ctx context.Context, r *workflowservice.TerminateWorkflowExecutionRequest) error {
	return e.mutate(ctx, r.Namespace, r.WorkflowExecution.GetWorkflowId(), func(w *workflow) error {
		st, err := openRun(w, r.WorkflowExecution.GetRunId())
		if err != nil {
			return err
		}
		if r.FirstExecutionRunId != "" && st.Start.GetFirstExecutionRunId() != r.FirstExecutionRunId {
			return workflowNotFound(w.key.id, r.FirstExecutionRunId)
		}
		return stateErr(st.Terminate(e.runNow(st), r.Reason, r.Details, r.Identity))
	})
}

// view runs fn on a run (current when runID is empty) without changing it.
// Old runs are read from the store.
func (e *Engine) view(ctx context.Context, ns, id, runID string, fn func(st *execution.State) error) error {
	w, err := e.acquire(ctx, ns, id)
	if err != nil {
		return err
	}
	st := w.cur
	seq := w.lastSeq
	w.mu.Unlock()
	if st == nil && runID == "" {
		return workflowNotFound(id, runID)
	}
	// An older run is read from the store, also when the current run was
	// deleted (a reset's base run outlives its reset run).
	if runID != "" && (st == nil || st.RunID != runID) {
		st, err = e.loadOldRun(ctx, ns, id, runID)
		if err != nil {
			return err
		}
		return fn(st)
	}
	e.barrier(seq)
	w.mu.Lock()
	defer w.mu.Unlock()
	return fn(st)
}

func (e *Engine) loadOldRun(ctx context.Context, ns, id, runID string) (*execution.State, error) {
	rec, err := e.store.Run(ctx, ns, runID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && rec.WorkflowID != id) {
		return nil, workflowNotFound(id, runID)
	}
	if err != nil {
		return nil, serviceerror.NewUnavailable(err.Error())
	}
	st, _, err := e.loadState(ctx, rec)
	return st, err
}

// Describe returns DescribeWorkflowExecution's answer.
func (e *Engine) Describe(ctx context.Context, ns string, ex *commonpb.WorkflowExecution) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	var resp *workflowservice.DescribeWorkflowExecutionResponse
	err := e.view(ctx, ns, ex.GetWorkflowId(), ex.GetRunId(), func(st *execution.State) error {
		resp = st.Describe(e.runNow(st))
		resetExtendedInfo(st, resp)
		return nil
	})
	return resp, err
}

// History page tokens carry the run id and the next event id to read.
func encodePageToken(runID string, next int64) []byte {
	b := protowire.AppendString(nil, runID)
	return protowire.AppendVarint(b, uint64(next))
}

func decodePageToken(b []byte) (string, int64, error) {
	runID, n := protowire.ConsumeString(b)
	if n < 0 {
		return "", 0, serviceerror.NewInvalidArgument("invalid NextPageToken")
	}
	next, m := protowire.ConsumeVarint(b[n:])
	if m < 0 || n+m != len(b) || int64(next) < 1 {
		return "", 0, serviceerror.NewInvalidArgument("invalid NextPageToken")
	}
	return runID, int64(next), nil
}

// History serves GetWorkflowExecutionHistory, including its long poll.
func (e *Engine) History(ctx context.Context, r *workflowservice.GetWorkflowExecutionHistoryRequest) (*workflowservice.GetWorkflowExecutionHistoryResponse, error) {
	ns, id := r.Namespace, r.Execution.GetWorkflowId()
	runID, from := r.Execution.GetRunId(), int64(1)
	if len(r.NextPageToken) > 0 {
		var err error
		if runID, from, err = decodePageToken(r.NextPageToken); err != nil {
			return nil, err
		}
	}
	pageSize := int(r.MaximumPageSize)
	if pageSize <= 0 || pageSize > 1000 {
		pageSize = 1000
	}
	closeOnly := r.HistoryEventFilterType == enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT
	deadline := pollDeadline(ctx)
	for {
		w, err := e.acquire(ctx, ns, id)
		if err != nil {
			return nil, err
		}
		cur, changed, seq := w.cur, w.changed, w.lastSeq
		var running bool
		var next int64
		var closeEv *historypb.HistoryEvent
		if cur != nil && (runID == "" || runID == cur.RunID) {
			runID, running, next, closeEv = cur.RunID, cur.Running(), cur.StoredNextEventID(), cur.CloseEvent
		}
		w.mu.Unlock()
		if cur == nil && runID == "" {
			return nil, workflowNotFound(id, runID)
		}
		if next == 0 { // an older run: closed, read it from the store
			if _, err := e.store.Run(ctx, ns, runID); err != nil {
				return nil, workflowNotFound(id, runID)
			}
			running = false
		}
		wait := r.WaitNewEvent && running && (closeOnly || (len(r.NextPageToken) > 0 && from >= next))
		if wait {
			// A waiter keeps the workflow in the cache; one evicted
			// before this line closed changed, so the loop looks again.
			w.waiters.Add(1)
			select {
			case <-changed:
				w.waiters.Add(-1)
				continue
			case <-ctx.Done():
				w.waiters.Add(-1)
				return nil, ctx.Err()
			case <-time.After(time.Until(deadline)):
				w.waiters.Add(-1)
				// Nothing new in time: an empty page with the same token.
				return &workflowservice.GetWorkflowExecutionHistoryResponse{History: &historypb.History{}, NextPageToken: encodePageToken(runID, from)}, nil
			case <-e.stop:
				w.waiters.Add(-1)
				return nil, serviceerror.NewUnavailable("server is shutting down")
			}
		}
		e.barrier(seq)
		if closeOnly {
			if running {
				return &workflowservice.GetWorkflowExecutionHistoryResponse{History: &historypb.History{}}, nil
			}
			if closeEv != nil {
				return &workflowservice.GetWorkflowExecutionHistoryResponse{History: &historypb.History{Events: []*historypb.HistoryEvent{closeEv}}}, nil
			}
			evs, err := e.readHistory(ctx, ns, id, runID, 1, 0)
			if err != nil {
				return nil, err
			}
			if len(evs) == 0 {
				return nil, workflowNotFound(id, runID)
			}
			return &workflowservice.GetWorkflowExecutionHistoryResponse{History: &historypb.History{Events: evs[len(evs)-1:]}}, nil
		}
		evs, err := e.readHistory(ctx, ns, id, runID, from, pageSize+1)
		if err != nil {
			return nil, err
		}
		if from == 1 && len(evs) == 0 {
			return nil, workflowNotFound(id, runID)
		}
		resp := &workflowservice.GetWorkflowExecutionHistoryResponse{History: &historypb.History{}}
		if len(evs) > pageSize {
			evs = evs[:pageSize]
			resp.NextPageToken = encodePageToken(runID, evs[len(evs)-1].EventId+1)
		} else if r.WaitNewEvent && running {
			last := from
			if len(evs) > 0 {
				last = evs[len(evs)-1].EventId + 1
			}
			resp.NextPageToken = encodePageToken(runID, last)
		}
		resp.History.Events = evs
		return resp, nil
	}
}

// pollDeadline is when a long poll returns empty: a little before the
// caller's deadline, and at most a minute.
func pollDeadline(ctx context.Context) time.Time {
	d := time.Now().Add(time.Minute)
	if dl, ok := ctx.Deadline(); ok {
		if x := dl.Add(-time.Second); x.Before(d) {
			d = x
		}
		if d.Before(time.Now()) {
			d = dl.Add(-100 * time.Millisecond)
		}
	}
	return d
}
