package engine

import (
	"context"
	"errors"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundial-io/sundial/internal/store"
)

// Housekeeping: DeleteWorkflowExecution and namespace retention. Both end
// in deleteClosed, which removes a closed run's record, history and index
// entries under the workflow's lock, so no write of the same workflow can
// interleave and re-create half a run.

// DeleteWorkflow deletes one run (the current one when the run id is
// empty). As in Temporal, a running workflow is terminated first.
func (e *Engine) DeleteWorkflow(ctx context.Context, ns string, ex *commonpb.WorkflowExecution) error {
	id, runID := ex.GetWorkflowId(), ex.GetRunId()
	for attempt := 0; ; attempt++ {
		w, err := e.acquire(ctx, ns, id)
		if err != nil {
			return err
		}
		cur := w.cur
		if cur != nil && (runID == "" || runID == cur.RunID) && cur.Running() && attempt < 3 {
			target := cur.RunID
			w.mu.Unlock()
			err := e.Terminate(ctx, &workflowservice.TerminateWorkflowExecutionRequest{
				Namespace:         ns,
				WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: target},
				Reason:            "Delete workflow execution",
				Identity:          "sundial",
			})
			var nf *serviceerror.NotFound
			if err != nil && !errors.As(err, &nf) {
				return err
			}
			continue // re-check under the lock: it may have closed meanwhile
		}
		w.mu.Unlock()
		if cur == nil {
			return workflowNotFound(id, runID)
		}
		if runID == "" {
			runID = cur.RunID
		}
		return e.deleteClosed(ctx, ns, id, runID)
	}
}

// deleteClosed deletes a closed run. It returns NotFound when the run does
// not exist and FailedPrecondition when it is still running.
func (e *Engine) deleteClosed(ctx context.Context, ns, id, runID string) error {
	w, err := e.acquire(ctx, ns, id)
	if err != nil {
		return err
	}
	rec, err := e.store.Run(ctx, ns, runID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && rec.WorkflowID != id) {
		w.mu.Unlock()
		return workflowNotFound(id, runID)
	}
	if err != nil {
		w.mu.Unlock()
		return serviceerror.NewUnavailable("reading run: " + err.Error())
	}
	isCurrent := w.cur != nil && w.cur.RunID == runID
	if (isCurrent && w.cur.Running()) || store.Open(rec.Info.GetStatus()) {
		w.mu.Unlock()
		return serviceerror.NewFailedPrecondition("Workflow execution is still running.")
	}
	f, err := e.fenceOf(w)
	if err != nil {
		w.mu.Unlock()
		return err
	}
	c, seq, err := e.apply(&store.Batch{Deletes: []*store.RunDelete{{Record: rec, ClearCurrent: isCurrent}}, Fence: f})
	if err != nil {
		w.mu.Unlock()
		return err
	}
	if isCurrent {
		// Forget the workflow: the next request reloads it from the store
		// and finds no current run.
		e.timers.set(runRef{w.key, runID}, time.Time{})
		w.cur, w.hist, w.histRun = nil, nil, ""
		e.mu.Lock()
		e.dropLocked(w)
		e.mu.Unlock()
	}
	w.mu.Unlock()
	return e.finish(&effects{commit: c, seq: seq})
}

// retentionBatch bounds how many runs one pass deletes per namespace, so a
// large backlog is worked off in steps without holding memory.
const retentionBatch = 1000

// StartRetention runs PurgeExpired every interval until the engine closes.
func (e *Engine) StartRetention(interval time.Duration) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-e.stop:
				return
			case <-t.C:
			}
			if _, err := e.PurgeExpired(context.Background()); err != nil {
				e.log.Warn("retention pass failed", "err", err)
			}
			if _, err := e.purgeExpiredActivities(); err != nil {
				e.log.Warn("standalone activity retention pass failed", "err", err)
			}
			if _, err := e.purgeExpiredNexusOperations(); err != nil {
				e.log.Warn("standalone Nexus operation retention pass failed", "err", err)
			}
		}
	}()
}

// PurgeExpired deletes closed runs whose close time is older than their
// namespace's retention period, and returns how many it deleted.
func (e *Engine) PurgeExpired(ctx context.Context) (int, error) {
	total := 0
	for _, n := range e.ListNamespaces() {
		ret := n.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration()
		if ret <= 0 {
			continue
		}
		ns := n.GetNamespaceInfo().GetName()
		cutoff := e.now().Add(-ret)
		for {
			var expired []*store.RunRecord
			err := e.store.ClosedBefore(ctx, ns, cutoff, func(r *store.RunRecord) error {
				expired = append(expired, r)
				if len(expired) == retentionBatch {
					return store.ErrStop
				}
				return nil
			})
			if err != nil {
				return total, err
			}
			deleted := 0
			for _, r := range expired {
				if !e.owns(ns, r.WorkflowID) {
					continue // another cluster node's to delete
				}
				err := e.deleteClosed(ctx, ns, r.WorkflowID, r.RunID)
				var nf *serviceerror.NotFound
				if err != nil && IsNotOwner(err) {
					continue // its shard moved meanwhile
				}
				if err != nil && !errors.As(err, &nf) {
					return total, err
				}
				if err == nil {
					deleted++
				}
			}
			total += deleted
			// A short batch is the end; a batch where nothing could be
			// deleted would only come back again.
			if len(expired) < retentionBatch || deleted == 0 {
				break
			}
		}
	}
	return total, nil
}
