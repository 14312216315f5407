package pebblestore

import (
	"context"
	"errors"

	"github.com/cockroachdb/pebble"

	"github.com/sundial-io/sundial/internal/store"
)

// tableRecords holds the small keyed records (store.KeyedRecord):
//
//	k/<kind> <key>   store.KeyedRecord.State as given
const tableRecords = "k/"

func encodeRecords(pb *pebble.Batch, b *store.Batch) error {
	for _, r := range b.Records {
		if r == nil || r.Kind == "" {
			return errors.New("pebblestore: keyed record without a kind")
		}
		pb.Set(key(tableRecords, r.Kind, r.Key), r.State, nil)
	}
	for _, k := range b.RecordDeletes {
		if k.Kind == "" {
			return errors.New("pebblestore: keyed record delete without a kind")
		}
		pb.Delete(key(tableRecords, k.Kind, k.Key), nil)
	}
	return nil
}

// Records calls fn for every stored record of a kind, in key order.
func (s *Store) Records(ctx context.Context, kind string, fn func(*store.KeyedRecord) error) error {
	if kind == "" {
		return errors.New("pebblestore: Records without a kind")
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.exit()
	prefix := key(tableRecords, kind)
	err := s.scan(ctx, prefix, func(k, v []byte) error {
		parts, ok := splitComponents(k[len(prefix):])
		if !ok || len(parts) != 1 {
			return errors.New("pebblestore: corrupt keyed record key")
		}
		return fn(&store.KeyedRecord{Kind: kind, Key: parts[0], State: append([]byte(nil), v...)})
	})
	if errors.Is(err, store.ErrStop) {
		return nil
	}
	return err
}
