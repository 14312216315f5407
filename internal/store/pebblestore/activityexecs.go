package pebblestore

import (
	"context"
	"errors"

	"github.com/cockroachdb/pebble"

	"github.com/sundial-io/sundial/internal/store"
)

// tableActivityExecs holds one key per standalone activity execution:
//
//	y/<ns><activity id><run id>   store.ActivityExecutionRecord.State as given
//
// The value is opaque to the store (package activityexec encodes it); the
// key is recovered from the key.
const tableActivityExecs = "y/"

func encodeActivityExecs(pb *pebble.Batch, b *store.Batch) error {
	for _, r := range b.ActivityExecutions {
		if r == nil || r.Namespace == "" || r.ActivityID == "" || r.RunID == "" {
			return errors.New("pebblestore: activity execution record without a namespace, activity id or run id")
		}
		pb.Set(key(tableActivityExecs, r.Namespace, r.ActivityID, r.RunID), r.State, nil)
	}
	for _, k := range b.ActivityExecutionDeletes {
		if k.Namespace == "" || k.ActivityID == "" || k.RunID == "" {
			return errors.New("pebblestore: activity execution delete without a namespace, activity id or run id")
		}
		pb.Delete(key(tableActivityExecs, k.Namespace, k.ActivityID, k.RunID), nil)
	}
	return nil
}

// ActivityExecutions calls fn for every standalone activity execution of a
// namespace ("" for all), in key order (namespace, activity id, run id).
func (s *Store) ActivityExecutions(ctx context.Context, namespace string, fn func(*store.ActivityExecutionRecord) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.exit()
	prefix := []byte(tableActivityExecs)
	if namespace != "" {
		prefix = key(tableActivityExecs, namespace)
	}
	err := s.scan(ctx, prefix, func(k, v []byte) error {
		parts, ok := splitComponents(k[len(tableActivityExecs):])
		if !ok || len(parts) != 3 {
			return errors.New("pebblestore: corrupt activity execution key")
		}
		return fn(&store.ActivityExecutionRecord{
			ActivityExecutionKey: store.ActivityExecutionKey{Namespace: parts[0], ActivityID: parts[1], RunID: parts[2]},
			State:                append([]byte(nil), v...),
		})
	})
	if errors.Is(err, store.ErrStop) {
		return nil
	}
	return err
}
