package frontend

import (
	"context"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
)

// Sundial does not implement Nexus yet (GetSystemInfo says so: Capabilities.Nexus
// is false). The endpoint registry is still answered truthfully rather than
// with Unimplemented: there are no endpoints, so listing gives an empty list
// and getting one is NotFound, as Temporal answers for an id it does not
// know. That keeps read-only clients working: the Web UI's Nexus page loads
// its endpoint list before it looks at the capability, and a failed load is
// a bare "500 Internal Error" page instead of the UI's own "not available"
// message. Creating, updating or deleting an endpoint is Unimplemented
// (notYet: Nexus is not built yet).

const nexusUnsupported = "Sundial does not implement Nexus yet: there is no Nexus endpoint registry"

// ListNexusEndpoints answers an empty registry.
func (o *Operator) ListNexusEndpoints(ctx context.Context, r *operatorservice.ListNexusEndpointsRequest) (*operatorservice.ListNexusEndpointsResponse, error) {
	if r.PageSize < 0 {
		return nil, invalid("PageSize must not be negative.")
	}
	if len(r.NextPageToken) > 0 {
		// No first page ever handed out a token.
		return nil, invalid("Invalid NextPageToken: there are no more Nexus endpoints.")
	}
	return &operatorservice.ListNexusEndpointsResponse{}, nil
}

// GetNexusEndpoint finds no endpoint: none can exist.
func (o *Operator) GetNexusEndpoint(ctx context.Context, r *operatorservice.GetNexusEndpointRequest) (*operatorservice.GetNexusEndpointResponse, error) {
	if r.Id == "" {
		return nil, invalid("Id is not set on request.")
	}
	return nil, serviceerror.NewNotFoundf("Nexus endpoint with ID %q not found (%s).", r.Id, nexusUnsupported)
}

// CreateNexusEndpoint is not built yet.
func (o *Operator) CreateNexusEndpoint(ctx context.Context, r *operatorservice.CreateNexusEndpointRequest) (*operatorservice.CreateNexusEndpointResponse, error) {
	return nil, notYet("CreateNexusEndpoint")
}

// UpdateNexusEndpoint is not built yet.
func (o *Operator) UpdateNexusEndpoint(ctx context.Context, r *operatorservice.UpdateNexusEndpointRequest) (*operatorservice.UpdateNexusEndpointResponse, error) {
	return nil, notYet("UpdateNexusEndpoint")
}

// DeleteNexusEndpoint is not built yet.
func (o *Operator) DeleteNexusEndpoint(ctx context.Context, r *operatorservice.DeleteNexusEndpointRequest) (*operatorservice.DeleteNexusEndpointResponse, error) {
	return nil, notYet("DeleteNexusEndpoint")
}
