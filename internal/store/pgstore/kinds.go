package pgstore

import (
	"context"
	"errors"

	"github.com/sundial-io/sundial/internal/store"
)

// Activity executions (standalone activities) and worker deployments:
// opaque records under their keys, in keyed tables like schedules.

// encodeActivityExecutions turns activity execution writes into ops.
func encodeActivityExecutions(recs []*store.ActivityExecutionRecord, dels []store.ActivityExecutionKey) ([]keyedOp, error) {
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
func encodeWorkerDeployments(recs []*store.WorkerDeploymentRecord, dels []store.WorkerDeploymentKey) ([]keyedOp, error) {
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

// ActivityExecutions calls fn for every stored activity execution of a
// namespace ("" for all), ordered by namespace, activity id and run id.
// fn may return store.ErrStop.
func (s *Store) ActivityExecutions(ctx context.Context, namespace string, fn func(*store.ActivityExecutionRecord) error) error {
	return s.scanKeyed(ctx, tableActivities, namespaceFilter(namespace), func(k [][]byte, state []byte) error {
		return fn(&store.ActivityExecutionRecord{ActivityExecutionKey: store.ActivityExecutionKey{Namespace: string(k[0]), ActivityID: string(k[1]), RunID: string(k[2])}, State: state})
	})
}

// WorkerDeployments calls fn for every stored worker deployment, ordered by
// namespace and name. fn may return store.ErrStop.
func (s *Store) WorkerDeployments(ctx context.Context, fn func(*store.WorkerDeploymentRecord) error) error {
	return s.scanKeyed(ctx, tableDeployments, nil, func(k [][]byte, state []byte) error {
		return fn(&store.WorkerDeploymentRecord{WorkerDeploymentKey: store.WorkerDeploymentKey{Namespace: string(k[0]), Name: string(k[1])}, State: state})
	})
}
