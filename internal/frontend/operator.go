package frontend

import (
	"context"
	"log/slog"
	"maps"

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

// NewOperator returns the service.
func NewOperator(e *engine.Engine, log *slog.Logger) *Operator {
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
