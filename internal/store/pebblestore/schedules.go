package pebblestore

import (
	"context"
	"errors"

	"github.com/cockroachdb/pebble"

	"github.com/sundial-io/sundial/internal/store"
)

// tableSchedules holds one key per schedule:
//
//	x/<ns><schedule id>   store.ScheduleRecord.State as given
//
// The value is opaque to the store (package schedule encodes it); the
// namespace and id are recovered from the key.
const tableSchedules = "x/"

func encodeSchedules(pb *pebble.Batch, b *store.Batch) error {
	for _, r := range b.Schedules {
		if r == nil || r.Namespace == "" || r.ScheduleID == "" {
			return errors.New("pebblestore: schedule record without a namespace or id")
		}
		pb.Set(key(tableSchedules, r.Namespace, r.ScheduleID), r.State, nil)
	}
	for _, k := range b.ScheduleDeletes {
		if k.Namespace == "" || k.ScheduleID == "" {
			return errors.New("pebblestore: schedule delete without a namespace or id")
		}
		pb.Delete(key(tableSchedules, k.Namespace, k.ScheduleID), nil)
	}
	return nil
}

// Schedules calls fn for every schedule of a namespace ("" for all), in key
// order (namespace, then schedule id).
func (s *Store) Schedules(ctx context.Context, namespace string, fn func(*store.ScheduleRecord) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.exit()
	prefix := []byte(tableSchedules)
	if namespace != "" {
		prefix = key(tableSchedules, namespace)
	}
	err := s.scan(ctx, prefix, func(k, v []byte) error {
		parts, ok := splitComponents(k[len(tableSchedules):])
		if !ok || len(parts) != 2 {
			return errors.New("pebblestore: corrupt schedule key")
		}
		return fn(&store.ScheduleRecord{Namespace: parts[0], ScheduleID: parts[1], State: append([]byte(nil), v...)})
	})
	if errors.Is(err, store.ErrStop) {
		return nil
	}
	return err
}

// splitComponents decodes a run of components written by appendComponent.
func splitComponents(k []byte) ([]string, bool) {
	var parts []string
	var cur []byte
	for i := 0; i < len(k); i++ {
		if k[i] != escapeByte {
			cur = append(cur, k[i])
			continue
		}
		if i+1 >= len(k) {
			return nil, false
		}
		i++
		switch k[i] {
		case escapedZero:
			cur = append(cur, escapeByte)
		case componentTerm:
			parts = append(parts, string(cur))
			cur = cur[:0]
		default:
			return nil, false
		}
	}
	return parts, len(cur) == 0
}
