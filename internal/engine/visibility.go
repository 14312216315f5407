package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"

	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/visibility"
)

// Search attribute registry and listing. The registry of a namespace lives
// in the store (one small key, read per use: a memtable or block-cache hit
// costs far less than keeping a second copy coherent); a namespace whose
// registry was never changed has the Temporal dev server's defaults, so
// samples and tests that use CustomKeywordField etc. work out of the box.

// SearchAttributes returns the custom search attributes of a namespace.
func (e *Engine) SearchAttributes(ctx context.Context, ns string) (map[string]enumspb.IndexedValueType, error) {
	m, err := e.store.SearchAttributes(ctx, ns)
	if errors.Is(err, store.ErrNotFound) {
		return visibility.DefaultCustomSearchAttributes(), nil
	}
	if err != nil {
		return nil, serviceerror.NewUnavailable("reading search attributes: " + err.Error())
	}
	return m, nil
}

// ValidateSearchAttributes type-checks attributes a client asks to set
// (start, signal-with-start, upsert, continue-as-new) against the
// namespace's registry; the error is InvalidArgument with Temporal's
// wording.
func (e *Engine) ValidateSearchAttributes(ns string, sa *commonpb.SearchAttributes) error {
	if len(sa.GetIndexedFields()) == 0 {
		return nil
	}
	custom, err := e.SearchAttributes(context.Background(), ns)
	if err != nil {
		return err
	}
	if err := visibility.ValidateSearchAttributes(sa, custom); err != nil {
		return serviceerror.NewInvalidArgument(err.Error())
	}
	return nil
}

// AddSearchAttributes registers custom attributes. Adding one that exists
// with the same type is a no-op (so scripts can re-run); with another type
// it is rejected, as are reserved names and unknown types.
func (e *Engine) AddSearchAttributes(ctx context.Context, ns string, add map[string]enumspb.IndexedValueType) (err error) {
	defer func() {
		if err == nil {
			e.announceChange(ctx) // rules naming attributes parse again (cluster_registries.go)
		}
	}()
	e.registryMu.Lock()
	defer e.registryMu.Unlock()
	return retryConflicts("AddSearchAttributes", func() error { return e.addSearchAttributes(ctx, ns, add) })
}

func (e *Engine) addSearchAttributes(ctx context.Context, ns string, add map[string]enumspb.IndexedValueType) error {
	cur, expect, err := e.readRegistryForChange(ctx, ns) // namespace_cas.go
	if err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(add)) {
		t := add[name]
		if name == "" {
			return serviceerror.NewInvalidArgument("SearchAttributes: search attribute name is empty.")
		}
		if visibility.IsReservedName(name) {
			return serviceerror.NewInvalidArgument(fmt.Sprintf("Search attribute %s is reserved by system.", name))
		}
		if _, ok := enumspb.IndexedValueType_name[int32(t)]; !ok || t == enumspb.INDEXED_VALUE_TYPE_UNSPECIFIED {
			return serviceerror.NewInvalidArgument(fmt.Sprintf("Unknown search attribute type: %v.", t))
		}
		if old, ok := cur[name]; ok && old != t {
			return serviceerror.NewInvalidArgument(fmt.Sprintf("Search attribute %s already exists with type %s.", name, old))
		}
		cur[name] = t
	}
	return e.writeRegistryIf(ns, cur, expect)
}

// RemoveSearchAttributes unregisters custom attributes. Values already
// stored on workflows stay but are no longer queryable.
func (e *Engine) RemoveSearchAttributes(ctx context.Context, ns string, names []string) (err error) {
	defer func() {
		if err == nil {
			e.announceChange(ctx) // rules naming attributes parse again (cluster_registries.go)
		}
	}()
	e.registryMu.Lock()
	defer e.registryMu.Unlock()
	return retryConflicts("RemoveSearchAttributes", func() error { return e.removeSearchAttributes(ctx, ns, names) })
}

func (e *Engine) removeSearchAttributes(ctx context.Context, ns string, names []string) error {
	cur, expect, err := e.readRegistryForChange(ctx, ns) // namespace_cas.go
	if err != nil {
		return err
	}
	for _, name := range names {
		if visibility.IsReservedName(name) {
			return serviceerror.NewInvalidArgument(fmt.Sprintf("Unable to remove non-custom search attributes: %s.", name))
		}
		if _, ok := cur[name]; !ok {
			return serviceerror.NewInvalidArgument(fmt.Sprintf("Search attribute %s doesn't exist.", name))
		}
		delete(cur, name)
	}
	return e.writeRegistryIf(ns, cur, expect)
}

func (e *Engine) writeRegistry(ns string, custom map[string]enumspb.IndexedValueType) error {
	return e.writeRegistryIf(ns, custom, nil)
}

// writeRegistryIf writes a registry under expect (nil: unconditional);
// a lost race returns store.ErrConflict.
func (e *Engine) writeRegistryIf(ns string, custom map[string]enumspb.IndexedValueType, expect []store.SearchAttributesExpect) error {
	return e.writeDurable(&store.Batch{
		SearchAttributes:       []*store.SearchAttributeRegistry{{Namespace: ns, Custom: custom}},
		ExpectSearchAttributes: expect,
	})
}

// writeDurable applies a batch that touches no workflow in memory and
// waits until it is durable, advancing the durable mark like any commit.
func (e *Engine) writeDurable(b *store.Batch) error {
	if err := e.writable(); err != nil {
		return err
	}
	c, seq, err := e.apply(b)
	if err != nil {
		return err
	}
	if err := e.finish(&effects{commit: c, seq: seq}); err != nil {
		return err
	}
	e.noteRegistryWrite(b) // cluster_registries.go
	return nil
}

// ListVisibility streams run summaries of a namespace in Temporal's default
// list order from the store's visibility index (see store.ListRuns). Open
// runs are reported as of their last durable write.
func (e *Engine) ListVisibility(ctx context.Context, ns string, opts store.ListOptions, fn func(cursor []byte, info *workflowpb.WorkflowExecutionInfo) error) error {
	seq := e.currentSeq()
	if err := e.store.ListRuns(ctx, ns, opts, fn); err != nil {
		var se serviceerror.ServiceError
		if errors.As(err, &se) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return serviceerror.NewUnavailable("listing workflows: " + err.Error())
	}
	e.barrier(seq)
	// After a failed write the index may show what never reached disk.
	return e.checkHealthy()
}

// CountByStatus counts the runs of a namespace that match by, per status,
// without reading their records.
func (e *Engine) CountByStatus(ctx context.Context, ns string, by store.CountBy, statuses []enumspb.WorkflowExecutionStatus) (map[enumspb.WorkflowExecutionStatus]int64, error) {
	seq := e.currentSeq()
	out := map[enumspb.WorkflowExecutionStatus]int64{}
	for _, s := range statuses {
		n, err := e.store.CountRuns(ctx, ns, by, s)
		if err != nil {
			return nil, serviceerror.NewUnavailable("counting workflows: " + err.Error())
		}
		out[s] = n
	}
	e.barrier(seq)
	if err := e.checkHealthy(); err != nil {
		return nil, err
	}
	return out, nil
}
