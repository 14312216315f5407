package pgstore

import (
	"context"
	"errors"

	"github.com/sundial-io/sundial/internal/store"
)

// Activity executions (standalone activities) and worker deployments are
// record kinds other branches add to the store interface. Until they are
// merged, their types are copied here with the same shapes, and
// ApplyPending writes them (the lead switches these to the store types,
// and their writes to store.Batch fields, at merge; see encode).

// ActivityExecutionKey names one standalone activity execution.
type ActivityExecutionKey struct{ Namespace, ActivityID, RunID string }

// ActivityExecutionRecord is one standalone activity execution, opaque to
// the store.
type ActivityExecutionRecord struct {
	ActivityExecutionKey
	State []byte
}

// WorkerDeploymentKey names one worker deployment.
type WorkerDeploymentKey struct{ Namespace, Name string }

// WorkerDeploymentRecord is one worker deployment, opaque to the store.
type WorkerDeploymentRecord struct {
	WorkerDeploymentKey
	State []byte
}

// PendingBatch is the part of a future store.Batch this file serves.
type PendingBatch struct {
	ActivityExecutions       []*ActivityExecutionRecord
	ActivityExecutionDeletes []ActivityExecutionKey
	WorkerDeployments        []*WorkerDeploymentRecord
	WorkerDeploymentDeletes  []WorkerDeploymentKey
}

// encodeActivityExecutions turns activity execution writes into ops.
func encodeActivityExecutions(recs []*ActivityExecutionRecord, dels []ActivityExecutionKey) ([]keyedOp, error) {
	var ops []keyedOp
	for _, r := range recs {
		if r == nil {
			return nil, errors.New("pgstore: nil activity execution record")
		}
		op, err := keyedUpsert(tableActivities, "activity execution record", r.State, r.Namespace, r.ActivityID, r.RunID)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	for _, k := range dels {
		op, err := keyedDelete(tableActivities, "activity execution", k.Namespace, k.ActivityID, k.RunID)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// encodeWorkerDeployments turns worker deployment writes into ops.
func encodeWorkerDeployments(recs []*WorkerDeploymentRecord, dels []WorkerDeploymentKey) ([]keyedOp, error) {
	var ops []keyedOp
	for _, r := range recs {
		if r == nil {
			return nil, errors.New("pgstore: nil worker deployment record")
		}
		op, err := keyedUpsert(tableDeployments, "worker deployment record", r.State, r.Namespace, r.Name)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	for _, k := range dels {
		op, err := keyedDelete(tableDeployments, "worker deployment", k.Namespace, k.Name)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// ApplyPending writes b and then p as one atomic batch, in Apply order
// with every other batch.
func (s *Store) ApplyPending(b *store.Batch, p *PendingBatch) (store.Commit, error) {
	enc, err := encode(b)
	if err != nil {
		return nil, err
	}
	acts, err := encodeActivityExecutions(p.ActivityExecutions, p.ActivityExecutionDeletes)
	if err != nil {
		return nil, err
	}
	deps, err := encodeWorkerDeployments(p.WorkerDeployments, p.WorkerDeploymentDeletes)
	if err != nil {
		return nil, err
	}
	// Upserts before deletes, as encode orders them.
	var ups, dels []keyedOp
	for _, o := range append(append(enc.keyed, acts...), deps...) {
		if o.del {
			dels = append(dels, o)
		} else {
			ups = append(ups, o)
		}
	}
	enc.keyed = append(ups, dels...)
	return s.enqueue(enc)
}

// ActivityExecutions calls fn for every stored activity execution of a
// namespace ("" for all), ordered by namespace, activity id and run id.
// fn may return store.ErrStop.
func (s *Store) ActivityExecutions(ctx context.Context, namespace string, fn func(*ActivityExecutionRecord) error) error {
	return s.scanKeyed(ctx, tableActivities, namespaceFilter(namespace), func(k [][]byte, state []byte) error {
		return fn(&ActivityExecutionRecord{ActivityExecutionKey{string(k[0]), string(k[1]), string(k[2])}, state})
	})
}

// WorkerDeployments calls fn for every stored worker deployment, ordered by
// namespace and name. fn may return store.ErrStop.
func (s *Store) WorkerDeployments(ctx context.Context, fn func(*WorkerDeploymentRecord) error) error {
	return s.scanKeyed(ctx, tableDeployments, nil, func(k [][]byte, state []byte) error {
		return fn(&WorkerDeploymentRecord{WorkerDeploymentKey{string(k[0]), string(k[1])}, state})
	})
}
