package engine

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/visibility"
)

// Cluster-wide records changed concurrently through two nodes. On a
// cluster every node keeps its own copy of the namespaces and reads the
// search attribute registries from the shared database, and the locks
// that serialize administrative changes (nsMu, registryMu) are per
// process. So a change there is a read-modify-write made conditional in
// the store (store.Batch.ExpectNamespaces / ExpectSearchAttributes): the
// database writes it only if the record is still as it was read, and
// fails it with store.ErrConflict otherwise. A registration that loses
// answers AlreadyExists, as on one node; an update or a search attribute
// change that loses reads the record again and is applied on top of the
// winner's change, up to casAttempts times.
//
// On one node the process locks already serialize these writes, and the
// batches carry no expectation (nothing changes there). Workflow writes
// never carry one.

// casAttempts bounds the re-reads of a read-modify-write that keeps
// losing to concurrent changes through other nodes.
const casAttempts = 8

// conditional reports whether administrative writes carry expectations
// (on a cluster).
func (e *Engine) conditional() bool { return e.own != nil }

// retryConflicts runs a read-modify-write until it does not lose a race
// (store.ErrConflict), at most casAttempts times.
func retryConflicts(what string, fn func() error) error {
	for i := 1; ; i++ {
		err := fn()
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
		if i >= casAttempts {
			return serviceerror.NewUnavailable(fmt.Sprintf("%s: the record kept being changed concurrently through other nodes (%d attempts); try again", what, casAttempts))
		}
	}
}

// expectNamespace is the condition of a write of namespace name read as
// was (nil: none), on a cluster.
func (e *Engine) expectNamespace(name string, was *store.Namespace) []store.NamespaceExpect {
	if !e.conditional() {
		return nil
	}
	return []store.NamespaceExpect{{Name: name, Was: was}}
}

// readRegistryForChange reads the custom search attributes of ns to
// change them: the registry (the dev-server defaults when none was ever
// written) and, on a cluster, the condition its rewrite is made under.
func (e *Engine) readRegistryForChange(ctx context.Context, ns string) (map[string]enumspb.IndexedValueType, []store.SearchAttributesExpect, error) {
	if !e.conditional() {
		cur, err := e.SearchAttributes(ctx, ns)
		return cur, nil, err
	}
	m, err := e.store.SearchAttributes(ctx, ns)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return visibility.DefaultCustomSearchAttributes(), []store.SearchAttributesExpect{{Namespace: ns, Absent: true}}, nil
	case err != nil:
		return nil, nil, serviceerror.NewUnavailable("reading search attributes: " + err.Error())
	}
	cur := maps.Clone(m)
	if cur == nil {
		cur = map[string]enumspb.IndexedValueType{}
	}
	return cur, []store.SearchAttributesExpect{{Namespace: ns, Was: m}}, nil
}

// generation is a change counter guarding a set of records that a check
// spans (the rules of a namespace, the Nexus endpoints): every change of
// the set on a cluster advances it, conditionally on the value read
// before the set was, so two changes checked against the same set cannot
// both be written. One keyed record: an 8-byte big-endian counter.
type generation struct {
	kind, key string
	state     []byte
	found     bool
}

// readGeneration reads a generation on a cluster; nil on one node, where
// the process locks serialize the changes.
func (e *Engine) readGeneration(ctx context.Context, kind, key string) (*generation, error) {
	if !e.conditional() {
		return nil, nil
	}
	g := &generation{kind: kind, key: key}
	err := e.store.Records(ctx, kind, func(r *store.KeyedRecord) error {
		if r.Key == key {
			g.state, g.found = r.State, true
			return store.ErrStop
		}
		return nil
	})
	if err != nil {
		return nil, serviceerror.NewUnavailable(fmt.Sprintf("reading the change counter %s/%s: %v", kind, key, err))
	}
	return g, nil
}

// guard makes b advance the generation, written only if it is still as
// read (nothing to do for a nil generation).
func (g *generation) guard(b *store.Batch) {
	if g == nil {
		return
	}
	var n uint64
	if len(g.state) == 8 {
		n = binary.BigEndian.Uint64(g.state)
	}
	b.Records = append(b.Records, &store.KeyedRecord{Kind: g.kind, Key: g.key, State: binary.BigEndian.AppendUint64(nil, n+1)})
	b.ExpectRecords = append(b.ExpectRecords, store.RecordExpect{Kind: g.kind, Key: g.key, Was: g.state, Absent: !g.found})
}
