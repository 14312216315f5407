package frontend

import (
	"context"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
)

// UpdateNamespace, DeprecateNamespace and OperatorService.DeleteNamespace
// (see engine/namespace_admin.go for the semantics).

func (s *Service) UpdateNamespace(ctx context.Context, r *workflowservice.UpdateNamespaceRequest) (*workflowservice.UpdateNamespaceResponse, error) {
	if r.Namespace == "" {
		return nil, invalid("Namespace is not set on request.")
	}
	return s.e.UpdateNamespace(ctx, r)
}

func (s *Service) DeprecateNamespace(ctx context.Context, r *workflowservice.DeprecateNamespaceRequest) (*workflowservice.DeprecateNamespaceResponse, error) {
	if r.Namespace == "" {
		return nil, invalid("Namespace is not set on request.")
	}
	if err := s.e.DeprecateNamespace(ctx, r.Namespace); err != nil {
		return nil, err
	}
	return &workflowservice.DeprecateNamespaceResponse{}, nil
}

// DeleteNamespace renames the namespace for deletion and deletes its
// workflows in the background; the name may be registered again at once
// (a registration waits for the old workflows to be gone).
func (o *Operator) DeleteNamespace(ctx context.Context, r *operatorservice.DeleteNamespaceRequest) (*operatorservice.DeleteNamespaceResponse, error) {
	if r.Namespace == "" && r.NamespaceId == "" {
		return nil, invalid("Namespace not set on request.")
	}
	if r.Namespace != "" && r.NamespaceId != "" {
		return nil, invalid("Only one of namespace name or Id should be set on request.")
	}
	if r.NamespaceDeleteDelay != nil && (!r.NamespaceDeleteDelay.IsValid() || r.NamespaceDeleteDelay.AsDuration() < 0) {
		return nil, invalid("NamespaceDeleteDelay must be a valid, non-negative duration.")
	}
	name, err := o.e.DeleteNamespace(ctx, r.Namespace, r.NamespaceId, r.NamespaceDeleteDelay.AsDuration())
	if err != nil {
		return nil, err
	}
	return &operatorservice.DeleteNamespaceResponse{DeletedNamespace: name}, nil
}
