package engine

import (
	"context"
	"errors"
	"time"

	rulespb "go.temporal.io/api/rules/v1"
	"go.temporal.io/api/serviceerror"
	"google.golang.org/protobuf/proto"

	"github.com/sundial-io/sundial/internal/store"
)

// Cluster-wide registries (docs/CLUSTER.md, "Namespaces, rules and task
// queue configurations across nodes"). Every node keeps namespaces,
// workflow rules and task queue configurations in memory, but they are
// cluster-wide records in the shared store: a change made through one node
// must reach all of them.
//
//   - After the durable write of a change, the node that made it tells
//     every other live node (opRegistriesChanged, a broadcast over the
//     internal port) before it answers, so another node asked right after
//     already sees it. The broadcast is outside the registry's lock: two
//     nodes announcing at once must not wait on each other's lock.
//   - Each node re-reads the records every registryRefresh as well, so a
//     node that missed a broadcast (it was starting, unreachable, or the
//     call failed) catches up within that period. Correctness never rests
//     on the broadcast: the store is the truth, the broadcast only makes
//     it seen sooner.
//
// A refresh reads the store with no lock held (a slow database must not
// stall the requests that check namespaces or rules), then replaces the
// in-memory copy under the registry's lock, unless this node wrote a
// registry in between (registryWrites moved): the read may predate that
// write and would undo it in memory, so the refresh reads again.

// registryRefresh is how often a node re-reads the cluster-wide records.
const registryRefresh = 5 * time.Second

// opRegistriesChanged asks a node to re-read the cluster-wide records.
const opRegistriesChanged = "registriesChanged"

// announceTimeout bounds the broadcast of a change.
const announceTimeout = 3 * time.Second

// announceChange tells the other live nodes that a cluster-wide record
// changed (no-op outside a cluster). Called after the durable write, with
// no registry lock held. A node that cannot be told catches up at its
// next refresh.
func (e *Engine) announceChange(ctx context.Context) {
	b, ok := e.peers.(broadcaster)
	if !e.clustered() || !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), announceTimeout)
	defer cancel()
	if err := b.Broadcast(ctx, opRegistriesChanged, struct{}{}); err != nil {
		e.log.Warn("telling other nodes of a namespace, rule or task queue configuration change failed; they see it at their next refresh", "refresh", registryRefresh, "err", err)
	}
}

func (e *Engine) handleRegistriesChanged(ctx context.Context, _ []byte) (any, error) {
	return nil, e.refreshRegistries(ctx, true)
}

// registrySyncLoop re-reads the cluster-wide records every
// registryRefresh until the engine stops.
func (e *Engine) registrySyncLoop() {
	t := time.NewTicker(registryRefresh)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := e.refreshRegistries(ctx, false); err != nil {
			e.log.Debug("re-reading namespaces and workflow rules failed; retried at the next refresh", "err", err)
		}
		e.resumeClusterPurges(ctx, "") // namespace_purge_cluster.go
		cancel()
	}
}

// refreshRegistries re-reads every cluster-wide registry from the store.
// announced is set for a change another node announced (which may be a
// search attribute change, so every namespace's rules are parsed again).
func (e *Engine) refreshRegistries(ctx context.Context, announced bool) error {
	if err := e.refreshNamespaces(ctx); err != nil {
		return err
	}
	if err := e.refreshTaskQueueConfigs(ctx); err != nil { // taskqueue_config_cluster.go
		return err
	}
	if err := e.refreshDeployments(ctx); err != nil { // deployments_cluster.go
		return err
	}
	return e.refreshWorkflowRules(ctx, announced)
}

// errStaleRead says a registry read may predate a write this node made
// meanwhile.
var errStaleRead = errors.New("a registry changed here while it was read")

// retryStale runs a refresh up to three times while its read was stale.
func retryStale(refresh func() error) error {
	var err error
	for range 3 {
		if err = refresh(); !errors.Is(err, errStaleRead) {
			return err
		}
	}
	return err
}

// noteRegistryWrite counts a durable write of a batch that changes a
// cluster-wide registry (called once it is durable, before the writer
// updates its memory under the registry's lock).
func (e *Engine) noteRegistryWrite(b *store.Batch) {
	touches := len(b.Namespaces) > 0 || len(b.DeleteNamespaces) > 0 ||
		len(b.WorkerDeployments) > 0 || len(b.WorkerDeploymentDeletes) > 0
	for _, r := range b.Records {
		touches = touches || r.Kind == recordKindWorkflowRule || r.Kind == recordKindTaskQueueConfig
	}
	for _, r := range b.RecordDeletes {
		touches = touches || r.Kind == recordKindWorkflowRule || r.Kind == recordKindTaskQueueConfig
	}
	if touches {
		e.registryWrites.Add(1)
	}
}

// refreshNamespaces replaces the in-memory namespaces with the stored
// ones: changes and registrations made through other nodes appear,
// namespaces they deleted (renamed) or removed disappear.
func (e *Engine) refreshNamespaces(ctx context.Context) error {
	return retryStale(func() error { return e.refreshNamespacesOnce(ctx) })
}

func (e *Engine) refreshNamespacesOnce(ctx context.Context) error {
	gen := e.registryWrites.Load()
	list, err := e.store.Namespaces(ctx)
	if err != nil {
		return err
	}
	e.nsMu.Lock()
	defer e.nsMu.Unlock()
	if e.registryWrites.Load() != gen {
		return errStaleRead
	}
	e.applyNamespaces(list)
	return nil
}

// syncNamespacesLocked re-reads the namespaces with e.nsMu held, on a
// cluster, so that an administrative change (update, deprecate, delete)
// starts from the stored records, not from a copy that missed another
// node's change. Rare, so reading under the lock is fine.
func (e *Engine) syncNamespacesLocked(ctx context.Context) error {
	if e.own == nil {
		return nil
	}
	list, err := e.store.Namespaces(ctx)
	if err != nil {
		return serviceerror.NewUnavailable("reading the namespaces: " + err.Error())
	}
	e.applyNamespaces(list)
	return nil
}

// applyNamespaces makes the in-memory namespaces those stored (e.nsMu held).
func (e *Engine) applyNamespaces(list []*store.Namespace) {
	stored := make(map[string]bool, len(list))
	for _, n := range list {
		stored[n.NamespaceInfo.GetName()] = true
		e.namespaces[n.NamespaceInfo.GetName()] = n
	}
	for name := range e.namespaces {
		if !stored[name] {
			delete(e.namespaces, name)
		}
	}
}

// refreshWorkflowRules replaces the in-memory rules with the stored ones,
// parsing again the namespaces whose rules changed (all when reparseAll).
func (e *Engine) refreshWorkflowRules(ctx context.Context, reparseAll bool) error {
	return retryStale(func() error {
		gen := e.registryWrites.Load()
		stored, err := e.readWorkflowRules(ctx)
		if err != nil {
			return err
		}
		e.rules.mu.Lock()
		defer e.rules.mu.Unlock()
		if e.registryWrites.Load() != gen {
			return errStaleRead
		}
		e.applyWorkflowRules(stored, reparseAll)
		return nil
	})
}

// refreshWorkflowRulesLocked re-reads the rules with e.rules.mu held (a
// change's checks; rare).
func (e *Engine) refreshWorkflowRulesLocked(ctx context.Context, reparseAll bool) error {
	stored, err := e.readWorkflowRules(ctx)
	if err != nil {
		return err
	}
	e.applyWorkflowRules(stored, reparseAll)
	return nil
}

// applyWorkflowRules replaces the rules in memory (e.rules.mu held).
func (e *Engine) applyWorkflowRules(stored map[string]map[string]*rulespb.WorkflowRule, reparseAll bool) {
	changed := map[string]bool{}
	for ns, rules := range stored {
		if reparseAll || !sameRules(rules, e.rules.byNS[ns]) {
			changed[ns] = true
		}
	}
	for ns, rules := range e.rules.byNS {
		if stored[ns] == nil && len(rules) > 0 {
			changed[ns] = true
		}
	}
	e.rules.byNS = stored
	for ns := range changed {
		e.reparseRules(ns)
	}
}

func sameRules(a, b map[string]*rulespb.WorkflowRule) bool {
	if len(a) != len(b) {
		return false
	}
	for id, r := range a {
		if !proto.Equal(r, b[id]) {
			return false
		}
	}
	return true
}
