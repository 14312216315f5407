package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/sundial-io/sundial/internal/store"
)

// Deleting a namespace on a cluster (docs/CLUSTER.md, "Namespaces, rules
// and task queue configurations across nodes"). The rename is the same as
// on one node (namespace_admin.go), but what one node keeps in memory there
// — that a purge is running, that the name is not free yet — is a stored
// record here, kind namespace-purge, keyed by the original name, written
// in the same batch as the rename:
//
//   - one node runs each purge: the owner of the shard of (original name,
//     purgeKey), told at once by the node that renamed (opStartPurge) and
//     finding it anyway at its next registry refresh (after a crash, or
//     when the shard moved). Two nodes running one purge for a moment
//     (a shard moving) is harmless: every step is idempotent;
//   - each run is deleted by its workflow's owner (opDeleteRun: terminate
//     if running, then the fenced delete), never by the purging node
//     behind the owner's back;
//   - once no run is left (and the name's search attributes, task queue
//     configurations and rules are reset) the record says so (RunsGone):
//     from then on any node may register the name again. A registration
//     before that waits (as on one node) or answers Unavailable at its
//     deadline;
//   - after the requested delay the renamed namespace and the record are
//     removed.
//
// Every step is followed by an announcement (cluster_registries.go), so
// every node forgets the old name and learns the renamed one at once.

const recordKindNamespacePurge = "namespace-purge"

// purgeKey is the key whose shard (with the namespace's original name)
// decides which node runs a namespace's purge.
const purgeKey = "temporal-sys-namespace-purge"

const (
	opStartPurge = "startPurge"
	opDeleteRun  = "deleteRun"
)

// purgeRecord is the stored state of a namespace deletion on a cluster.
type purgeRecord struct {
	Deleted  string    `json:"deleted"`  // the renamed namespace record
	RemoveAt time.Time `json:"removeAt"` // when the renamed record goes
	RunsGone bool      `json:"runsGone"` // the name is free again
}

func purgeRecordOf(orig string, rec purgeRecord) (*store.KeyedRecord, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	return &store.KeyedRecord{Kind: recordKindNamespacePurge, Key: orig, State: b}, nil
}

// purgeRecords reads every stored namespace purge, by original name.
func (e *Engine) purgeRecords(ctx context.Context) (map[string]purgeRecord, error) {
	out := map[string]purgeRecord{}
	err := e.store.Records(ctx, recordKindNamespacePurge, func(r *store.KeyedRecord) error {
		var rec purgeRecord
		if err := json.Unmarshal(r.State, &rec); err != nil {
			return fmt.Errorf("corrupt namespace purge record %q: %w", r.Key, err)
		}
		out[r.Key] = rec
		return nil
	})
	return out, err
}

// waitClusterNameFree waits until no deletion of a namespace called name
// still has runs stored (runs are stored under the name, so the name's
// next namespace must not see them).
func (e *Engine) waitClusterNameFree(ctx context.Context, name string) error {
	for {
		recs, err := e.purgeRecords(ctx)
		if err != nil {
			return serviceerror.NewUnavailable(err.Error())
		}
		if rec, ok := recs[name]; !ok || rec.RunsGone {
			return nil
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return serviceerror.NewUnavailable(fmt.Sprintf("namespace %s is still being deleted; retry", name))
		case <-e.stop:
			return serviceerror.NewUnavailable("server is shutting down")
		}
	}
}

// purgePending reports whether the name's old runs are still being
// deleted (cluster mode; an unreadable store counts as pending).
func (e *Engine) purgePending(name string) bool {
	recs, err := e.purgeRecords(context.Background())
	if err != nil {
		return true
	}
	rec, ok := recs[name]
	return ok && !rec.RunsGone
}

// kickPurge asks the node that runs the purge of orig to start it now
// (it would find it at its next refresh anyway).
func (e *Engine) kickPurge(ctx context.Context, orig string) {
	if e.owns(orig, purgeKey) {
		e.resumeClusterPurges(ctx, orig)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), announceTimeout)
	defer cancel()
	if err := e.peers.Call(ctx, orig, purgeKey, opStartPurge, orig, nil); err != nil {
		e.log.Info("asking the owner to start a namespace purge failed; it starts at its next refresh", "namespace", orig, "err", err)
	}
}

func (e *Engine) handleStartPurge(ctx context.Context, args []byte) (any, error) {
	var orig string
	if err := json.Unmarshal(args, &orig); err != nil {
		return nil, err
	}
	e.resumeClusterPurges(ctx, orig)
	return nil, nil
}

// resumeClusterPurges starts the stored purges of the shards this node
// holds that are not running here (only that of orig when orig is set).
func (e *Engine) resumeClusterPurges(ctx context.Context, orig string) {
	recs, err := e.purgeRecords(ctx)
	if err != nil {
		e.log.Debug("reading namespace purges failed; retried at the next refresh", "err", err)
		return
	}
	for name, rec := range recs {
		if (orig != "" && name != orig) || !e.owns(name, purgeKey) {
			continue
		}
		e.nsMu.Lock()
		if e.purgeRunning == nil {
			e.purgeRunning = map[string]bool{}
		}
		running := e.purgeRunning[name]
		e.purgeRunning[name] = true
		e.nsMu.Unlock()
		if running {
			continue
		}
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			defer func() {
				e.nsMu.Lock()
				delete(e.purgeRunning, name)
				e.nsMu.Unlock()
			}()
			e.runClusterPurge(name, rec)
		}()
	}
}

// runClusterPurge carries a stored purge to its end: the runs deleted on
// their owners, the name freed, then after the delay the renamed record
// removed. It stops early when the engine stops (the next owner resumes).
func (e *Engine) runClusterPurge(orig string, rec purgeRecord) {
	ctx := context.Background()
	if !rec.RunsGone {
		// Rules and task queue configurations set through other nodes must
		// be known here to be dropped.
		if err := e.refreshWorkflowRules(ctx, false); err != nil {
			e.log.Warn("reading workflow rules before a namespace purge", "namespace", orig, "err", err)
			return
		}
		if err := e.refreshTaskQueueConfigs(ctx); err != nil {
			e.log.Warn("reading task queue configurations before a namespace purge", "namespace", orig, "err", err)
			return
		}
		if !e.purgeRuns(orig) {
			return
		}
		rec.RunsGone = true
		kr, err := purgeRecordOf(orig, rec)
		if err == nil {
			err = e.writeDurable(&store.Batch{Records: []*store.KeyedRecord{kr}})
		}
		if err != nil {
			e.log.Warn("recording a namespace purge done; retried at the next refresh", "namespace", orig, "err", err)
			return
		}
		e.announceChange(ctx)
		e.log.Info("workflows of a deleted namespace deleted; the name is free", "namespace", orig, "renamed", rec.Deleted)
		if orig == DefaultNamespace {
			// Registered again empty, as at a first start.
			_, err := e.RegisterNamespace(ctx, defaultNamespaceRequest())
			var exists *serviceerror.NamespaceAlreadyExists
			if err != nil && !errors.As(err, &exists) {
				e.log.Warn("registering the default namespace again", "err", err)
			}
		}
	}
	if wait := time.Until(rec.RemoveAt); wait > 0 {
		select {
		case <-e.stop:
			return
		case <-time.After(wait):
		}
	}
	err := e.writeDurable(&store.Batch{DeleteNamespaces: []string{rec.Deleted},
		RecordDeletes: []store.RecordKey{{Kind: recordKindNamespacePurge, Key: orig}}})
	if err != nil {
		e.log.Warn("removing a deleted namespace; retried at the next refresh", "namespace", rec.Deleted, "err", err)
		return
	}
	e.nsMu.Lock()
	delete(e.namespaces, rec.Deleted)
	e.nsMu.Unlock()
	e.announceChange(ctx)
	e.log.Info("namespace deleted", "namespace", orig, "renamed", rec.Deleted)
}

type deleteRunArgs struct {
	Namespace, WorkflowID, RunID string
}

// deleteRunAnywhere deletes a run here, or on a cluster on its workflow's
// owner.
func (e *Engine) deleteRunAnywhere(ctx context.Context, ns string, ex *commonpb.WorkflowExecution) error {
	if !e.remote(ns, ex.GetWorkflowId()) {
		return e.DeleteWorkflow(ctx, ns, ex)
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return e.peers.Call(cctx, ns, ex.GetWorkflowId(), opDeleteRun, deleteRunArgs{ns, ex.GetWorkflowId(), ex.GetRunId()}, nil)
}

func (e *Engine) handleDeleteRun(ctx context.Context, args []byte) (any, error) {
	var a deleteRunArgs
	if err := json.Unmarshal(args, &a); err != nil {
		return nil, err
	}
	return nil, e.DeleteWorkflow(ctx, a.Namespace, &commonpb.WorkflowExecution{WorkflowId: a.WorkflowID, RunId: a.RunID})
}
