package pebblestore

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/sundial-io/sundial/internal/store"
)

// Conditional batches (store.ErrConflict). The check reads the expected
// records and the batch is applied under Store.condMu, which every batch that
// writes namespaces or search attribute registries also takes, so no such
// write slips between a check and its batch. A batch is visible to reads
// when Apply returns, so the check sees every batch applied before it.
// Workflow writes touch neither and never take the lock. Keyed records
// are written by workflow writes too (callbacks, Nexus operations), so
// batches writing records take the lock only when conditional: an
// expected record's check is atomic against other conditional batches
// and against every batch applied before it, and its writers must all be
// conditional (the engine's guarded records are).

// guardsRegistries reports whether b must be applied under condMu.
func guardsRegistries(b *store.Batch) bool {
	return b.Conditional() || len(b.Namespaces)+len(b.DeleteNamespaces)+len(b.SearchAttributes) > 0
}

// checkExpectations returns a store.ErrConflict error unless every
// expectation of b holds (condMu held).
func (s *Store) checkExpectations(b *store.Batch) error {
	for _, x := range b.ExpectNamespaces {
		if x.Name == "" {
			return errors.New("pebblestore: namespace expectation without a name")
		}
		var stored *store.Namespace
		v, err := s.get(key(tableNS, x.Name))
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		default:
			stored = &store.Namespace{}
			if err := proto.Unmarshal(v, stored); err != nil {
				return fmt.Errorf("pebblestore: corrupt namespace %q: %w", x.Name, err)
			}
		}
		if !x.Holds(stored) {
			return fmt.Errorf("%w: namespace %q changed since it was read", store.ErrConflict, x.Name)
		}
	}
	for _, x := range b.ExpectSearchAttributes {
		if x.Namespace == "" {
			return errors.New("pebblestore: search attribute expectation without a namespace")
		}
		m, err := s.searchAttributes(x.Namespace)
		found := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if !x.Holds(m, found) {
			return fmt.Errorf("%w: search attributes of %q changed since they were read", store.ErrConflict, x.Namespace)
		}
	}
	for _, x := range b.ExpectRecords {
		if x.Kind == "" {
			return errors.New("pebblestore: record expectation without a kind")
		}
		v, err := s.get(key(tableRecords, x.Kind, x.Key))
		found := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if !x.Holds(v, found) {
			return fmt.Errorf("%w: record %s/%q changed since it was read", store.ErrConflict, x.Kind, x.Key)
		}
	}
	return nil
}
