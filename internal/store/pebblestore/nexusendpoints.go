package pebblestore

import (
	"context"
	"errors"

	"github.com/cockroachdb/pebble"

	"github.com/sundial-io/sundial/internal/store"
)

// tableNexusEndpoints holds one key per Nexus endpoint:
//
//	e/<endpoint id>   store.NexusEndpointRecord.State as given
//
// Endpoints are cluster-wide, so the key has no namespace.
const tableNexusEndpoints = "e/"

func encodeNexusEndpoints(pb *pebble.Batch, b *store.Batch) error {
	for _, r := range b.NexusEndpoints {
		if r == nil || r.ID == "" {
			return errors.New("pebblestore: Nexus endpoint record without an id")
		}
		pb.Set(key(tableNexusEndpoints, r.ID), r.State, nil)
	}
	for _, id := range b.NexusEndpointDeletes {
		if id == "" {
			return errors.New("pebblestore: Nexus endpoint delete without an id")
		}
		pb.Delete(key(tableNexusEndpoints, id), nil)
	}
	return nil
}

// NexusEndpoints calls fn for every stored Nexus endpoint, in id order.
func (s *Store) NexusEndpoints(ctx context.Context, fn func(*store.NexusEndpointRecord) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.exit()
	err := s.scan(ctx, []byte(tableNexusEndpoints), func(k, v []byte) error {
		parts, ok := splitComponents(k[len(tableNexusEndpoints):])
		if !ok || len(parts) != 1 {
			return errors.New("pebblestore: corrupt Nexus endpoint key")
		}
		return fn(&store.NexusEndpointRecord{ID: parts[0], State: append([]byte(nil), v...)})
	})
	if errors.Is(err, store.ErrStop) {
		return nil
	}
	return err
}
