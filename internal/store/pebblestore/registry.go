package pebblestore

import (
	"context"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sundial-io/sundial/internal/store"
)

// tableSearchAttrs holds one key per namespace whose custom search
// attributes were ever changed:
//
//	a/<ns>   operatorservice.ListSearchAttributesResponse (CustomAttributes)
//
// The message is the one ListSearchAttributes answers with, so there is no
// private encoding to maintain.
const tableSearchAttrs = "a/"

func encodeRegistry(pb *pebble.Batch, r *store.SearchAttributeRegistry) error {
	if r == nil || r.Namespace == "" {
		return errors.New("pebblestore: search attribute registry without a namespace")
	}
	v, err := proto.Marshal(&operatorservice.ListSearchAttributesResponse{CustomAttributes: r.Custom})
	if err != nil {
		return fmt.Errorf("pebblestore: marshal search attributes of %q: %w", r.Namespace, err)
	}
	pb.Set(key(tableSearchAttrs, r.Namespace), v, nil)
	return nil
}

// SearchAttributes returns the stored registry of a namespace.
func (s *Store) SearchAttributes(ctx context.Context, namespace string) (map[string]enumspb.IndexedValueType, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.exit()
	return s.searchAttributes(namespace)
}

func (s *Store) searchAttributes(namespace string) (map[string]enumspb.IndexedValueType, error) {
	v, err := s.get(key(tableSearchAttrs, namespace))
	if err != nil {
		return nil, err
	}
	var m operatorservice.ListSearchAttributesResponse
	if err := proto.Unmarshal(v, &m); err != nil {
		return nil, fmt.Errorf("pebblestore: corrupt search attributes of %q: %w", namespace, err)
	}
	out := m.CustomAttributes
	if out == nil {
		out = map[string]enumspb.IndexedValueType{}
	}
	return out, nil
}
