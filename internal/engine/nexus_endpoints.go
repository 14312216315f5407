package engine

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/google/uuid"
	nexuspb "go.temporal.io/api/nexus/v1"
	"go.temporal.io/api/serviceerror"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundial-io/sundial/internal/store"
)

// nexusRegistry is the Nexus endpoint registry (OperatorService's
// *NexusEndpoint calls): every endpoint in memory, each written to the
// store (one record by id) before a change is acknowledged. Endpoint names
// are unique; workflows address endpoints by name, and the scheduled event
// records the id too, so a task finds its target even after a rename.
type nexusRegistry struct {
	mu   sync.Mutex
	byID map[string]*nexuspb.Endpoint
}

func (e *Engine) loadNexusEndpoints() error {
	byID := map[string]*nexuspb.Endpoint{}
	err := e.store.NexusEndpoints(context.Background(), func(r *store.NexusEndpointRecord) error {
		ep := &nexuspb.Endpoint{}
		if err := proto.Unmarshal(r.State, ep); err != nil {
			return fmt.Errorf("decoding Nexus endpoint %s: %w", r.ID, err)
		}
		byID[r.ID] = ep
		return nil
	})
	if err != nil {
		return err
	}
	e.nexus.byID = byID
	return nil
}

// refreshNexusLocked re-reads the registry from the store in cluster mode,
// where another node may have changed it (a Nexus operation costs one
// more store read there). Called with e.nexus.mu held.
func (e *Engine) refreshNexusLocked() {
	if e.own == nil {
		return
	}
	if err := e.loadNexusEndpoints(); err != nil {
		e.log.Warn("re-reading the Nexus endpoints failed", "err", err)
	}
}

func (e *Engine) nexusByName(name string) *nexuspb.Endpoint {
	for _, ep := range e.nexus.byID {
		if ep.Spec.GetName() == name {
			return ep
		}
	}
	return nil
}

// NexusEndpointIDs maps the names given to the ids of the endpoints that
// exist; unknown names are left out.
func (e *Engine) NexusEndpointIDs(names []string) map[string]string {
	e.nexus.mu.Lock()
	defer e.nexus.mu.Unlock()
	e.refreshNexusLocked()
	ids := map[string]string{}
	for _, n := range names {
		if ep := e.nexusByName(n); ep != nil {
			ids[n] = ep.Id
		}
	}
	return ids
}

// nexusTarget is the worker target (namespace, task queue) of an endpoint.
func (e *Engine) nexusTarget(id string) (ns, queue string, ok bool) {
	e.nexus.mu.Lock()
	defer e.nexus.mu.Unlock()
	e.refreshNexusLocked()
	ep := e.nexus.byID[id]
	w := ep.GetSpec().GetTarget().GetWorker()
	if w == nil {
		return "", "", false
	}
	return w.Namespace, w.TaskQueue, true
}

// writeNexusEndpoint stores ep (nil: deletes id) and waits until durable;
// the caller holds e.nexus.mu. With g (a cluster) it is written only if
// no other node changed the endpoints since g was read
// (store.ErrConflict otherwise; nexus_endpoints_cas.go).
func (e *Engine) writeNexusEndpoint(id string, ep *nexuspb.Endpoint, g *generation) error {
	b := &store.Batch{}
	if ep == nil {
		b.NexusEndpointDeletes = []string{id}
	} else {
		data, err := proto.Marshal(ep)
		if err != nil {
			return err
		}
		b.NexusEndpoints = []*store.NexusEndpointRecord{{ID: id, State: data}}
	}
	g.guard(b)
	c, err := e.store.Apply(b)
	if err != nil {
		return err
	}
	return c.Wait()
}

// CreateNexusEndpoint registers a new endpoint; its name must be unused.
func (e *Engine) CreateNexusEndpoint(spec *nexuspb.EndpointSpec) (ep *nexuspb.Endpoint, err error) {
	e.nexus.mu.Lock()
	defer e.nexus.mu.Unlock()
	err = retryConflicts("CreateNexusEndpoint", func() error { // namespace_cas.go
		ep, err = e.createNexusEndpointLocked(spec)
		return err
	})
	return ep, err
}

func (e *Engine) createNexusEndpointLocked(spec *nexuspb.EndpointSpec) (*nexuspb.Endpoint, error) {
	g, err := e.nexusForChangeLocked() // re-reads the endpoints on a cluster
	if err != nil {
		return nil, err
	}
	if e.nexusByName(spec.Name) != nil {
		return nil, serviceerror.NewAlreadyExistsf("error creating Nexus endpoint: endpoint with name %s already registered", spec.Name)
	}
	now := timestamppb.New(e.now())
	ep := &nexuspb.Endpoint{Version: 1, Id: uuid.NewString(), Spec: spec, CreatedTime: now, LastModifiedTime: now,
		UrlPrefix: "/nexus/endpoints/" + "%s" + "/services"}
	ep.UrlPrefix = fmt.Sprintf("/nexus/endpoints/%s/services", ep.Id)
	if err := e.writeNexusEndpoint(ep.Id, ep, g); err != nil {
		return nil, err
	}
	e.nexus.byID[ep.Id] = ep
	return proto.Clone(ep).(*nexuspb.Endpoint), nil
}

// UpdateNexusEndpoint replaces an endpoint's spec if version is current.
func (e *Engine) UpdateNexusEndpoint(id string, version int64, spec *nexuspb.EndpointSpec) (ep *nexuspb.Endpoint, err error) {
	e.nexus.mu.Lock()
	defer e.nexus.mu.Unlock()
	err = retryConflicts("UpdateNexusEndpoint", func() error { // namespace_cas.go
		ep, err = e.updateNexusEndpointLocked(id, version, spec)
		return err
	})
	return ep, err
}

func (e *Engine) updateNexusEndpointLocked(id string, version int64, spec *nexuspb.EndpointSpec) (*nexuspb.Endpoint, error) {
	g, err := e.nexusForChangeLocked() // re-reads the endpoints on a cluster
	if err != nil {
		return nil, err
	}
	cur := e.nexus.byID[id]
	if cur == nil {
		return nil, serviceerror.NewNotFoundf("Nexus endpoint with ID %q not found.", id)
	}
	if cur.Version != version {
		return nil, serviceerror.NewFailedPreconditionf("nexus endpoint version mismatch: expected %d, got %d", cur.Version, version)
	}
	if other := e.nexusByName(spec.Name); other != nil && other.Id != id {
		return nil, serviceerror.NewAlreadyExistsf("error updating Nexus endpoint: endpoint with name %s already registered", spec.Name)
	}
	ep := proto.Clone(cur).(*nexuspb.Endpoint)
	ep.Version++
	ep.Spec = spec
	ep.LastModifiedTime = timestamppb.New(e.now())
	if err := e.writeNexusEndpoint(id, ep, g); err != nil {
		return nil, err
	}
	e.nexus.byID[id] = ep
	return proto.Clone(ep).(*nexuspb.Endpoint), nil
}

// DeleteNexusEndpoint removes an endpoint if version is current.
func (e *Engine) DeleteNexusEndpoint(id string, version int64) error {
	e.nexus.mu.Lock()
	defer e.nexus.mu.Unlock()
	return retryConflicts("DeleteNexusEndpoint", func() error { return e.deleteNexusEndpointLocked(id, version) }) // namespace_cas.go
}

func (e *Engine) deleteNexusEndpointLocked(id string, version int64) error {
	g, err := e.nexusForChangeLocked() // re-reads the endpoints on a cluster
	if err != nil {
		return err
	}
	cur := e.nexus.byID[id]
	if cur == nil {
		return serviceerror.NewNotFoundf("Nexus endpoint with ID %q not found.", id)
	}
	if cur.Version != version {
		return serviceerror.NewFailedPreconditionf("nexus endpoint version mismatch: expected %d, got %d", cur.Version, version)
	}
	if err := e.writeNexusEndpoint(id, nil, g); err != nil {
		return err
	}
	delete(e.nexus.byID, id)
	return nil
}

// GetNexusEndpoint returns one endpoint.
func (e *Engine) GetNexusEndpoint(id string) (*nexuspb.Endpoint, error) {
	e.nexus.mu.Lock()
	defer e.nexus.mu.Unlock()
	e.refreshNexusLocked()
	ep := e.nexus.byID[id]
	if ep == nil {
		return nil, serviceerror.NewNotFoundf("Nexus endpoint with ID %q not found.", id)
	}
	return proto.Clone(ep).(*nexuspb.Endpoint), nil
}

// ListNexusEndpoints returns endpoints in id order after the id `after`
// ("" from the start), at most size of them, and the last id when more
// follow. A name filter returns that endpoint alone.
func (e *Engine) ListNexusEndpoints(after string, size int, name string) ([]*nexuspb.Endpoint, string) {
	e.nexus.mu.Lock()
	defer e.nexus.mu.Unlock()
	e.refreshNexusLocked()
	if name != "" {
		if ep := e.nexusByName(name); ep != nil {
			return []*nexuspb.Endpoint{proto.Clone(ep).(*nexuspb.Endpoint)}, ""
		}
		return nil, ""
	}
	ids := make([]string, 0, len(e.nexus.byID))
	for id := range e.nexus.byID {
		if id > after {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	var next string
	if size > 0 && len(ids) > size {
		ids = ids[:size]
		next = ids[size-1]
	}
	out := make([]*nexuspb.Endpoint, len(ids))
	for i, id := range ids {
		out[i] = proto.Clone(e.nexus.byID[id]).(*nexuspb.Endpoint)
	}
	return out, next
}
