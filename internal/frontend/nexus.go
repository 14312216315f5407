package frontend

import (
	"context"
	"regexp"

	nexuspb "go.temporal.io/api/nexus/v1"
	"go.temporal.io/api/operatorservice/v1"
)

// The Nexus endpoint registry (OperatorService), kept by the engine
// (engine/nexus_endpoints.go). Only worker targets (a namespace and task
// queue of this server) are supported; external (URL) targets are refused.

// endpointName is Temporal's rule for endpoint names.
var endpointName = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9\-]*[a-zA-Z0-9]$`)

const maxEndpointNameLength = 200

func (o *Operator) checkEndpointSpec(spec *nexuspb.EndpointSpec) error {
	if spec == nil {
		return invalid("Spec is not set on request.")
	}
	if spec.Name == "" || len(spec.Name) > maxEndpointNameLength || !endpointName.MatchString(spec.Name) {
		return invalid("Spec.Name is invalid: an endpoint name must match %s and be at most %d characters.", endpointName, maxEndpointNameLength)
	}
	w := spec.Target.GetWorker()
	if w == nil {
		if spec.Target.GetExternal() != nil {
			return invalid("Spec.Target.External is not supported: Sundial supports only worker targets.")
		}
		return invalid("Spec.Target is not set on request.")
	}
	if w.Namespace == "" {
		return invalid("Spec.Target.Worker.Namespace is not set on request.")
	}
	if err := o.e.CheckNamespace(w.Namespace); err != nil {
		return err
	}
	if w.TaskQueue == "" {
		return invalid("Spec.Target.Worker.TaskQueue is not set on request.")
	}
	return nil
}

func (o *Operator) CreateNexusEndpoint(ctx context.Context, r *operatorservice.CreateNexusEndpointRequest) (*operatorservice.CreateNexusEndpointResponse, error) {
	if err := o.checkEndpointSpec(r.Spec); err != nil {
		return nil, err
	}
	ep, err := o.e.CreateNexusEndpoint(r.Spec)
	if err != nil {
		return nil, err
	}
	return &operatorservice.CreateNexusEndpointResponse{Endpoint: ep}, nil
}

func (o *Operator) UpdateNexusEndpoint(ctx context.Context, r *operatorservice.UpdateNexusEndpointRequest) (*operatorservice.UpdateNexusEndpointResponse, error) {
	if r.Id == "" {
		return nil, invalid("Id is not set on request.")
	}
	if err := o.checkEndpointSpec(r.Spec); err != nil {
		return nil, err
	}
	ep, err := o.e.UpdateNexusEndpoint(r.Id, r.Version, r.Spec)
	if err != nil {
		return nil, err
	}
	return &operatorservice.UpdateNexusEndpointResponse{Endpoint: ep}, nil
}

func (o *Operator) DeleteNexusEndpoint(ctx context.Context, r *operatorservice.DeleteNexusEndpointRequest) (*operatorservice.DeleteNexusEndpointResponse, error) {
	if r.Id == "" {
		return nil, invalid("Id is not set on request.")
	}
	if err := o.e.DeleteNexusEndpoint(r.Id, r.Version); err != nil {
		return nil, err
	}
	return &operatorservice.DeleteNexusEndpointResponse{}, nil
}

func (o *Operator) GetNexusEndpoint(ctx context.Context, r *operatorservice.GetNexusEndpointRequest) (*operatorservice.GetNexusEndpointResponse, error) {
	if r.Id == "" {
		return nil, invalid("Id is not set on request.")
	}
	ep, err := o.e.GetNexusEndpoint(r.Id)
	if err != nil {
		return nil, err
	}
	return &operatorservice.GetNexusEndpointResponse{Endpoint: ep}, nil
}

// ListNexusEndpoints pages through endpoints in id order; the page token
// is the last id of the previous page.
func (o *Operator) ListNexusEndpoints(ctx context.Context, r *operatorservice.ListNexusEndpointsRequest) (*operatorservice.ListNexusEndpointsResponse, error) {
	if r.PageSize < 0 {
		return nil, invalid("PageSize must not be negative.")
	}
	if r.Name != "" && len(r.NextPageToken) > 0 {
		return nil, invalid("NextPageToken must not be set when Name is.")
	}
	size := int(r.PageSize)
	if size == 0 {
		size = 100
	}
	eps, next := o.e.ListNexusEndpoints(string(r.NextPageToken), size, r.Name)
	resp := &operatorservice.ListNexusEndpointsResponse{Endpoints: eps}
	if next != "" {
		resp.NextPageToken = []byte(next)
	}
	return resp, nil
}
