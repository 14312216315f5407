package engine

import (
	"context"

	"go.temporal.io/api/serviceerror"
)

// Nexus endpoint changes through two nodes at once (namespace_cas.go).
// Endpoint names are unique across ids and updates and deletes check the
// endpoint's version, so on a cluster every change advances one
// generation record for all endpoints and is written only if it is still
// the one read before the endpoints were: of two creates of one name
// through two nodes one answers AlreadyExists, of two updates at one
// version one answers FailedPrecondition, as on one node.

// recordKindNexusEndpointsGen holds the endpoints' generation (key "").
const recordKindNexusEndpointsGen = "nexus-endpoints-gen"

// nexusForChangeLocked prepares a change of the endpoints (e.nexus.mu
// held): on a cluster it reads the generation, then the endpoints
// (failing if they cannot be read, so no check runs on a stale copy).
// On one node it does nothing and returns nil.
func (e *Engine) nexusForChangeLocked() (*generation, error) {
	g, err := e.readGeneration(context.Background(), recordKindNexusEndpointsGen, "")
	if err != nil || g == nil {
		return nil, err
	}
	if err := e.loadNexusEndpoints(); err != nil {
		return nil, serviceerror.NewUnavailable("reading the Nexus endpoints: " + err.Error())
	}
	return g, nil
}
