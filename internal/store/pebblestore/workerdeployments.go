package pebblestore

import (
	"context"
	"errors"

	"github.com/cockroachdb/pebble"

	"github.com/sundial-io/sundial/internal/store"
)

// tableWorkerDeployments holds one key per worker deployment:
//
//	wd/<namespace>/<deployment name>   store.WorkerDeploymentRecord.State as given
const tableWorkerDeployments = "wd/"

func encodeWorkerDeployments(pb *pebble.Batch, b *store.Batch) error {
	for _, r := range b.WorkerDeployments {
		if r == nil || r.Namespace == "" || r.Name == "" {
			return errors.New("pebblestore: worker deployment record without a namespace or name")
		}
		pb.Set(key(tableWorkerDeployments, r.Namespace, r.Name), r.State, nil)
	}
	for _, k := range b.WorkerDeploymentDeletes {
		if k.Namespace == "" || k.Name == "" {
			return errors.New("pebblestore: worker deployment delete without a namespace or name")
		}
		pb.Delete(key(tableWorkerDeployments, k.Namespace, k.Name), nil)
	}
	return nil
}

// WorkerDeployments calls fn for every stored worker deployment, ordered
// by namespace and then name.
func (s *Store) WorkerDeployments(ctx context.Context, fn func(*store.WorkerDeploymentRecord) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.exit()
	err := s.scan(ctx, []byte(tableWorkerDeployments), func(k, v []byte) error {
		parts, ok := splitComponents(k[len(tableWorkerDeployments):])
		if !ok || len(parts) != 2 {
			return errors.New("pebblestore: corrupt worker deployment key")
		}
		return fn(&store.WorkerDeploymentRecord{
			WorkerDeploymentKey: store.WorkerDeploymentKey{Namespace: parts[0], Name: parts[1]},
			State:               append([]byte(nil), v...),
		})
	})
	if errors.Is(err, store.ErrStop) {
		return nil
	}
	return err
}
