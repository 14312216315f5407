package engine

import (
	"context"
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
