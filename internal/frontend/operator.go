package frontend

import (
	"context"
	"log/slog"
	"maps"
	"sync"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"

	"github.com/sundial-io/sundial/internal/engine"
	"github.com/sundial-io/sundial/internal/visibility"
)

// Operator implements Temporal's OperatorService: the search attribute
// calls that `temporal operator search-attribute create/list/remove` and
// the SDKs' test suites use, DeleteNamespace (namespace_admin.go) and an
// empty Nexus endpoint registry (nexus.go). The cluster calls answer for
// the one local cluster (clusters.go).
type Operator struct {
	operatorservice.UnimplementedOperatorServiceServer
	e   *engine.Engine
	log *slog.Logger
}

// NewOperator returns the service. It also seeds the process-wide set of
// known attributes that validateSearch falls back on (see there) with
// every namespace's registry.
func NewOperator(e *engine.Engine, log *slog.Logger) *Operator {
	for _, n := range e.ListNamespaces() {
		if m, err := e.SearchAttributes(context.Background(), n.GetNamespaceInfo().GetName()); err == nil {
			addedAnywhere.add(m)
		}
	}
	return &Operator{e: e, log: log}
}

func (o *Operator) checkNamespace(ns string) error {
	if ns == "" {
		return invalid("Namespace is not set on request.")
	}
	return o.e.CheckNamespace(ns)
}

func (o *Operator) AddSearchAttributes(ctx context.Context, r *operatorservice.AddSearchAttributesRequest) (*operatorservice.AddSearchAttributesResponse, error) {
	if len(r.SearchAttributes) == 0 {
		return nil, invalid("SearchAttributes are not set on request.")
	}
	if err := o.checkNamespace(r.Namespace); err != nil {
		return nil, err
	}
	if err := o.e.AddSearchAttributes(ctx, r.Namespace, r.SearchAttributes); err != nil {
		return nil, err
	}
	addedAnywhere.add(r.SearchAttributes)
	return &operatorservice.AddSearchAttributesResponse{}, nil
}

func (o *Operator) RemoveSearchAttributes(ctx context.Context, r *operatorservice.RemoveSearchAttributesRequest) (*operatorservice.RemoveSearchAttributesResponse, error) {
	if len(r.SearchAttributes) == 0 {
		return nil, invalid("SearchAttributes are not set on request.")
	}
	if err := o.checkNamespace(r.Namespace); err != nil {
		return nil, err
	}
	if err := o.e.RemoveSearchAttributes(ctx, r.Namespace, r.SearchAttributes); err != nil {
		return nil, err
	}
	return &operatorservice.RemoveSearchAttributesResponse{}, nil
}

func (o *Operator) ListSearchAttributes(ctx context.Context, r *operatorservice.ListSearchAttributesRequest) (*operatorservice.ListSearchAttributesResponse, error) {
	ns := r.Namespace
	if ns == "" {
		ns = defaultNamespace
	}
	if err := o.e.CheckNamespace(ns); err != nil {
		return nil, err
	}
	custom, err := o.e.SearchAttributes(ctx, ns)
	if err != nil {
		return nil, err
	}
	system := visibility.SystemSearchAttributes()
	maps.Copy(system, visibility.PredefinedSearchAttributes())
	return &operatorservice.ListSearchAttributesResponse{CustomAttributes: custom, SystemAttributes: system}, nil
}

// knownAttributes is a union of custom attribute registries, for checks
// that do not know their namespace yet.
type knownAttributes struct {
	mu sync.Mutex
	m  map[string]enumspb.IndexedValueType
}

// addedAnywhere holds the dev-server defaults plus every attribute added
// or registered in any namespace of this process.
var addedAnywhere = &knownAttributes{m: visibility.DefaultCustomSearchAttributes()}

func (k *knownAttributes) add(m map[string]enumspb.IndexedValueType) {
	k.mu.Lock()
	defer k.mu.Unlock()
	maps.Copy(k.m, m)
}

func (k *knownAttributes) snapshot() map[string]enumspb.IndexedValueType {
	k.mu.Lock()
	defer k.mu.Unlock()
	return maps.Clone(k.m)
}
