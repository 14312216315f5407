package pebblestore

import (
	"context"
	"errors"

	"github.com/cockroachdb/pebble"

	"github.com/sundial-io/sundial/internal/store"
)

// tableBatchJobs holds one key per batch operation job:
//
//	b/<ns><job id>   store.BatchJobRecord.State as given
//
// The value is opaque to the store (package batch encodes it); the
// namespace and id are recovered from the key.
const tableBatchJobs = "b/"

func encodeBatchJobs(pb *pebble.Batch, b *store.Batch) error {
	for _, r := range b.BatchJobs {
		if r == nil || r.Namespace == "" || r.JobID == "" {
			return errors.New("pebblestore: batch job record without a namespace or id")
		}
		pb.Set(key(tableBatchJobs, r.Namespace, r.JobID), r.State, nil)
	}
	for _, k := range b.BatchJobDeletes {
		if k.Namespace == "" || k.JobID == "" {
			return errors.New("pebblestore: batch job delete without a namespace or id")
		}
		pb.Delete(key(tableBatchJobs, k.Namespace, k.JobID), nil)
	}
	return nil
}

// BatchJobs calls fn for every batch job of a namespace ("" for all), in
// key order (namespace, then job id).
func (s *Store) BatchJobs(ctx context.Context, namespace string, fn func(*store.BatchJobRecord) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.exit()
	prefix := []byte(tableBatchJobs)
	if namespace != "" {
		prefix = key(tableBatchJobs, namespace)
	}
	err := s.scan(ctx, prefix, func(k, v []byte) error {
		parts, ok := splitComponents(k[len(tableBatchJobs):])
		if !ok || len(parts) != 2 {
			return errors.New("pebblestore: corrupt batch job key")
		}
		return fn(&store.BatchJobRecord{Namespace: parts[0], JobID: parts[1], State: append([]byte(nil), v...)})
	})
	if errors.Is(err, store.ErrStop) {
		return nil
	}
	return err
}
