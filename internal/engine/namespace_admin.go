package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/visibility"
)

// Namespace administration: UpdateNamespace, DeprecateNamespace and
// OperatorService.DeleteNamespace, with Temporal's semantics.
//
// Deleting a namespace works as in Temporal: the namespace is marked
// DELETED and renamed to "<name>-deleted-<first characters of its id>" in
// one durable write, so the name is free at once; then its workflows are
// deleted in the background and, after the requested delay, the renamed
// record itself. Runs are stored under the namespace's original name, so a
// namespace registered again under that name waits until the old one's
// runs are gone (normally milliseconds). A purge cut short by a restart
// resumes at startup.

// MinRetention is the shortest retention UpdateNamespace accepts (Temporal's
// default minimum for a local namespace).
const MinRetention = time.Hour

// activeCluster is the only cluster name Sundial reports.
const activeCluster = "active"

var (
	errInvalidRetention   = serviceerror.NewInvalidArgument("A valid retention period is not set on request.")
	errInvalidStateUpdate = serviceerror.NewInvalidArgument("Invalid namespace state update.")
)

// UpdateNamespace changes a namespace's description, owner email, data
// (merged), state, retention and replication settings as Temporal does.
// What Sundial does not offer (archival, bad binaries, search attribute
// aliases, other clusters, global namespaces) is refused with a message
// that says so.
func (e *Engine) UpdateNamespace(ctx context.Context, r *workflowservice.UpdateNamespaceRequest) (*workflowservice.UpdateNamespaceResponse, error) {
	resp, err := e.updateNamespace(ctx, r)
	if err == nil {
		e.announceChange(ctx) // cluster_registries.go
	}
	return resp, err
}

func (e *Engine) updateNamespace(ctx context.Context, r *workflowservice.UpdateNamespaceRequest) (resp *workflowservice.UpdateNamespaceResponse, err error) {
	e.nsMu.Lock()
	defer e.nsMu.Unlock()
	err = retryConflicts("UpdateNamespace", func() error { // namespace_cas.go
		resp, err = e.updateNamespaceLocked(ctx, r)
		return err
	})
	return resp, err
}

// updateNamespaceLocked is one attempt of UpdateNamespace (e.nsMu held):
// on a cluster it re-reads the namespace and writes only if no other
// node changed it meanwhile (store.ErrConflict otherwise).
func (e *Engine) updateNamespaceLocked(ctx context.Context, r *workflowservice.UpdateNamespaceRequest) (*workflowservice.UpdateNamespaceResponse, error) {
	if err := e.syncNamespacesLocked(ctx); err != nil { // cluster_registries.go
		return nil, err
	}
	cur, ok := e.namespaces[r.Namespace]
	if !ok {
		return nil, serviceerror.NewNamespaceNotFound(r.Namespace)
	}
	if err := checkNamespaceState(cur); err != nil {
		return nil, err
	}
	n := proto.Clone(cur).(*store.Namespace)
	info, cfg := n.NamespaceInfo, n.Config
	changed := false
	if u := r.UpdateInfo; u != nil {
		if u.Description != "" {
			info.Description, changed = u.Description, true
		}
		if u.OwnerEmail != "" {
			info.OwnerEmail, changed = u.OwnerEmail, true
		}
		if u.Data != nil {
			if info.Data == nil {
				info.Data = map[string]string{}
			}
			maps.Copy(info.Data, u.Data)
			changed = true
		}
		if u.State != enumspb.NAMESPACE_STATE_UNSPECIFIED && u.State != info.State {
			if !stateUpdateAllowed(info.State, u.State) {
				return nil, errInvalidStateUpdate
			}
			info.State, changed = u.State, true
		}
	}
	if c := r.Config; c != nil {
		if c.WorkflowExecutionRetentionTtl != nil {
			if !c.WorkflowExecutionRetentionTtl.IsValid() || c.WorkflowExecutionRetentionTtl.AsDuration() < MinRetention {
				return nil, errInvalidRetention
			}
			cfg.WorkflowExecutionRetentionTtl, changed = c.WorkflowExecutionRetentionTtl, true
		}
		if c.HistoryArchivalState == enumspb.ARCHIVAL_STATE_ENABLED || c.VisibilityArchivalState == enumspb.ARCHIVAL_STATE_ENABLED ||
			c.HistoryArchivalUri != "" || c.VisibilityArchivalUri != "" {
			return nil, serviceerror.NewInvalidArgument("Config: archival is not offered by Sundial; history and visibility archival stay disabled.")
		}
		if len(c.BadBinaries.GetBinaries()) > 0 {
			return nil, serviceerror.NewInvalidArgument("Config.BadBinaries: bad binaries (deprecated in Temporal) are not offered by Sundial.")
		}
		if len(c.CustomSearchAttributeAliases) > 0 {
			return nil, serviceerror.NewInvalidArgument("Config.CustomSearchAttributeAliases: Sundial registers custom search attributes by name (OperatorService.AddSearchAttributes) and has no field aliases.")
		}
	}
	if b := r.DeleteBadBinary; b != "" {
		return nil, serviceerror.NewInvalidArgument(fmt.Sprintf("Bad binary checksum %v doesn't exists.", b))
	}
	if rc := r.ReplicationConfig; rc != nil {
		if rc.ActiveClusterName != "" && rc.ActiveClusterName != activeCluster {
			return nil, serviceerror.NewInvalidArgument(fmt.Sprintf("ReplicationConfig.ActiveClusterName: unknown cluster %q; Sundial is a single cluster named %q.", rc.ActiveClusterName, activeCluster))
		}
		for _, c := range rc.Clusters {
			if c.GetClusterName() != activeCluster {
				return nil, serviceerror.NewInvalidArgument(fmt.Sprintf("ReplicationConfig.Clusters: unknown cluster %q; Sundial is a single cluster named %q and does not replicate.", c.GetClusterName(), activeCluster))
			}
		}
		if rc.State != enumspb.REPLICATION_STATE_UNSPECIFIED && rc.State != enumspb.REPLICATION_STATE_NORMAL {
			return nil, serviceerror.NewInvalidArgument("ReplicationConfig.State: replication is not offered by Sundial; the state stays NORMAL.")
		}
	}
	if r.PromoteNamespace {
		return nil, serviceerror.NewInvalidArgument(fmt.Sprintf("global namespace is not enabled on this cluster, cannot update global namespace or promote local namespace: %v", r.Namespace))
	}
	if changed {
		if err := e.writeDurable(&store.Batch{Namespaces: []*store.Namespace{n}, ExpectNamespaces: e.expectNamespace(r.Namespace, cur)}); err != nil {
			return nil, err
		}
		e.namespaces[r.Namespace] = n
	}
	d := describe(n)
	return &workflowservice.UpdateNamespaceResponse{
		NamespaceInfo: d.NamespaceInfo, Config: d.Config, ReplicationConfig: d.ReplicationConfig,
		FailoverVersion: d.FailoverVersion, IsGlobalNamespace: d.IsGlobalNamespace,
	}, nil
}

// stateUpdateAllowed is Temporal's namespace state machine: REGISTERED may
// become DEPRECATED or DELETED, DEPRECATED may become DELETED.
func stateUpdateAllowed(from, to enumspb.NamespaceState) bool {
	switch from {
	case enumspb.NAMESPACE_STATE_REGISTERED:
		return to == enumspb.NAMESPACE_STATE_DEPRECATED || to == enumspb.NAMESPACE_STATE_DELETED
	case enumspb.NAMESPACE_STATE_DEPRECATED:
		return to == enumspb.NAMESPACE_STATE_DELETED
	}
	return false
}

// DeprecateNamespace marks a namespace DEPRECATED: its workflows go on, but
// new ones cannot be started (CheckNamespaceForStart).
func (e *Engine) DeprecateNamespace(ctx context.Context, name string) error {
	err := e.deprecateNamespace(ctx, name)
	if err == nil {
		e.announceChange(ctx)
	}
	return err
}

func (e *Engine) deprecateNamespace(ctx context.Context, name string) error {
	e.nsMu.Lock()
	defer e.nsMu.Unlock()
	return retryConflicts("DeprecateNamespace", func() error { return e.deprecateNamespaceLocked(ctx, name) }) // namespace_cas.go
}

func (e *Engine) deprecateNamespaceLocked(ctx context.Context, name string) error {
	if err := e.syncNamespacesLocked(ctx); err != nil {
		return err
	}
	cur, ok := e.namespaces[name]
	if !ok {
		return serviceerror.NewNamespaceNotFound(name)
	}
	if err := checkNamespaceState(cur); err != nil {
		return err
	}
	n := proto.Clone(cur).(*store.Namespace)
	n.NamespaceInfo.State = enumspb.NAMESPACE_STATE_DEPRECATED
	if err := e.writeDurable(&store.Batch{Namespaces: []*store.Namespace{n}, ExpectNamespaces: e.expectNamespace(name, cur)}); err != nil {
		return err
	}
	e.namespaces[name] = n
	return nil
}

// CheckNamespaceForStart refuses to start workflows in a namespace that is
// not REGISTERED (StartWorkflowExecution, SignalWithStartWorkflowExecution).
func (e *Engine) CheckNamespaceForStart(name string) error {
	e.nsMu.RLock()
	n, ok := e.namespaces[name]
	e.nsMu.RUnlock()
	if !ok {
		return serviceerror.NewNamespaceNotFound(name)
	}
	if st := n.NamespaceInfo.GetState(); st != enumspb.NAMESPACE_STATE_REGISTERED {
		return serviceerror.NewNamespaceInvalidState(name, st, []enumspb.NamespaceState{enumspb.NAMESPACE_STATE_REGISTERED})
	}
	return nil
}

// checkNamespaceState refuses workflow operations in a DELETED namespace.
func checkNamespaceState(n *store.Namespace) error {
	if st := n.NamespaceInfo.GetState(); st == enumspb.NAMESPACE_STATE_DELETED {
		return serviceerror.NewNamespaceInvalidState(n.NamespaceInfo.GetName(), st,
			[]enumspb.NamespaceState{enumspb.NAMESPACE_STATE_REGISTERED, enumspb.NAMESPACE_STATE_DEPRECATED})
	}
	return nil
}

// DeleteNamespace marks the namespace (by name or id) DELETED, renames it
// and starts deleting its workflows; it returns the new name. Deleting a
// namespace already renamed for deletion returns its name again.
func (e *Engine) DeleteNamespace(ctx context.Context, name, id string, delay time.Duration) (string, error) {
	e.nsMu.Lock()
	if err := e.syncNamespacesLocked(ctx); err != nil {
		e.nsMu.Unlock()
		return "", err
	}
	var n *store.Namespace
	for _, x := range e.namespaces {
		if (name != "" && x.NamespaceInfo.GetName() == name) || (name == "" && x.NamespaceInfo.GetId() == id) {
			n = x
			break
		}
	}
	if n == nil {
		e.nsMu.Unlock()
		missing := name
		if missing == "" {
			missing = id
		}
		return "", serviceerror.NewNamespaceNotFound(missing)
	}
	cur := n.NamespaceInfo.GetName()
	if orig, ok := originalName(n); ok {
		e.nsMu.Unlock()
		if e.own != nil {
			e.kickPurge(ctx, orig) // namespace_purge_cluster.go
			return cur, nil
		}
		e.startPurge(orig, cur, delay, nil) // no-op if it is running
		return cur, nil
	}
	nsID := n.NamespaceInfo.GetId()
	newName := ""
	for k := 5; k <= len(nsID); k++ {
		cand := fmt.Sprintf("%s-deleted-%s", cur, nsID[:k])
		if _, taken := e.namespaces[cand]; !taken {
			newName = cand
			break
		}
	}
	if newName == "" {
		e.nsMu.Unlock()
		return "", serviceerror.NewInternal(fmt.Sprintf("unable to generate new name for deleted namespace %s. ID %q is not unique", cur, nsID))
	}
	renamed := proto.Clone(n).(*store.Namespace)
	renamed.NamespaceInfo.Name = newName
	renamed.NamespaceInfo.State = enumspb.NAMESPACE_STATE_DELETED
	b := &store.Batch{Namespaces: []*store.Namespace{renamed}, DeleteNamespaces: []string{cur}}
	if e.own != nil {
		// On a cluster the purge is a stored record (namespace_purge_cluster.go).
		kr, err := purgeRecordOf(cur, purgeRecord{Deleted: newName, RemoveAt: e.now().Add(delay)})
		if err != nil {
			e.nsMu.Unlock()
			return "", err
		}
		b.Records = []*store.KeyedRecord{kr}
		// Written only if no other node changed the namespace or took
		// the new name meanwhile (namespace_cas.go).
		b.ExpectNamespaces = append(e.expectNamespace(cur, n), e.expectNamespace(newName, nil)...)
	}
	if err := e.writeDurable(b); err != nil {
		e.nsMu.Unlock()
		if errors.Is(err, store.ErrConflict) {
			return "", serviceerror.NewUnavailable(fmt.Sprintf("namespace %s was changed through another node while it was being deleted; try again", cur))
		}
		return "", err
	}
	delete(e.namespaces, cur)
	e.namespaces[newName] = renamed
	if e.own != nil {
		e.nsMu.Unlock()
		e.announceChange(ctx)
		e.kickPurge(ctx, cur)
		return newName, nil
	}
	e.markPurging(cur)
	e.nsMu.Unlock()
	e.startPurge(cur, newName, delay, nil)
	return newName, nil
}

// originalName returns the name a namespace had before DeleteNamespace
// renamed it, if it was renamed.
func originalName(n *store.Namespace) (string, bool) {
	name, id := n.NamespaceInfo.GetName(), n.NamespaceInfo.GetId()
	if n.NamespaceInfo.GetState() != enumspb.NAMESPACE_STATE_DELETED {
		return "", false
	}
	for k := 5; k <= len(id); k++ {
		if orig, ok := strings.CutSuffix(name, "-deleted-"+id[:k]); ok && orig != "" {
			return orig, true
		}
	}
	return "", false
}

// markPurging records that the runs stored under name are being deleted.
// Must be called with nsMu held.
func (e *Engine) markPurging(name string) {
	if e.purging == nil {
		e.purging = map[string]chan struct{}{}
	}
	if e.purging[name] == nil {
		e.purging[name] = make(chan struct{})
	}
}

// lockFreeName locks nsMu once no purge of name is running, waiting for
// one that is. Runs are stored under the namespace name, so a namespace may
// not be registered again while the old one's runs are still there.
func (e *Engine) lockFreeName(ctx context.Context, name string) error {
	for {
		e.nsMu.Lock()
		ch := e.purging[name]
		if ch == nil {
			return nil
		}
		e.nsMu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return serviceerror.NewUnavailable(fmt.Sprintf("namespace %s is still being deleted; retry", name))
		case <-e.stop:
			return serviceerror.NewUnavailable("server is shutting down")
		}
	}
}

// markInterruptedPurges marks the names whose deletion a restart cut
// short, before anything may register them again (the default namespace
// is registered at startup).
func (e *Engine) markInterruptedPurges() {
	if e.own != nil {
		return // a cluster's purges are stored records (namespace_purge_cluster.go)
	}
	e.nsMu.Lock()
	defer e.nsMu.Unlock()
	for _, n := range e.namespaces {
		if orig, ok := originalName(n); ok {
			e.markPurging(orig)
		}
	}
}

// resumePurges restarts the deletion of namespaces a restart cut short,
// once the open runs are recovered. The default namespace, which exists
// from the first start, is registered again when its old runs are gone.
func (e *Engine) resumePurges() {
	if e.own != nil {
		return // a cluster's purges are stored records (namespace_purge_cluster.go)
	}
	e.nsMu.Lock()
	type job struct{ orig, name string }
	var jobs []job
	for _, n := range e.namespaces {
		if orig, ok := originalName(n); ok {
			jobs = append(jobs, job{orig, n.NamespaceInfo.GetName()})
		}
	}
	e.nsMu.Unlock()
	for _, j := range jobs {
		var then func()
		if j.orig == DefaultNamespace {
			then = func() {
				_, err := e.RegisterNamespace(context.Background(), defaultNamespaceRequest())
				var exists *serviceerror.NamespaceAlreadyExists
				if err != nil && !errors.As(err, &exists) {
					e.log.Warn("registering the default namespace again", "err", err)
				}
			}
		}
		e.startPurge(j.orig, j.name, 0, then)
	}
}

// startPurge deletes the runs stored under orig in the background, which
// frees the name, then after delay removes the renamed namespace record
// deletedName.
func (e *Engine) startPurge(orig, deletedName string, delay time.Duration, then func()) {
	e.nsMu.Lock()
	ch := e.purging[orig]
	if e.purgeRunning == nil {
		e.purgeRunning = map[string]bool{}
	}
	if ch == nil || e.purgeRunning[orig] {
		e.nsMu.Unlock()
		return
	}
	e.purgeRunning[orig] = true
	e.nsMu.Unlock()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		done := e.purgeRuns(orig)
		e.nsMu.Lock()
		delete(e.purgeRunning, orig)
		if done {
			delete(e.purging, orig)
			close(ch)
		}
		e.nsMu.Unlock()
		if done {
			if then != nil {
				then()
			}
			e.removeDeleted(orig, deletedName, delay)
		}
	}()
}

// purgeRuns deletes the runs of a deleted namespace and resets its search
// attributes; it returns false when the engine stopped first (the purge
// resumes at the next start).
func (e *Engine) purgeRuns(orig string) bool {
	ctx := context.Background()
	for attempt := 0; ; attempt++ {
		err := e.deleteNamespaceRuns(ctx, orig)
		if err == nil {
			break
		}
		e.log.Warn("deleting the workflows of a deleted namespace", "namespace", orig, "err", err)
		select {
		case <-e.stop:
			return false
		case <-time.After(backoff(attempt)):
		}
	}
	// The name's next namespace starts with the default search attributes.
	if err := e.writeRegistry(orig, visibility.DefaultCustomSearchAttributes()); err != nil {
		e.log.Warn("resetting the search attributes of a deleted namespace", "namespace", orig, "err", err)
		return false
	}
	if err := e.dropTaskQueueConfigs(orig); err != nil {
		e.log.Warn("deleting the task queue configurations of a deleted namespace", "namespace", orig, "err", err)
		return false
	}
	if err := e.dropWorkflowRules(orig); err != nil {
		e.log.Warn("deleting the workflow rules of a deleted namespace", "namespace", orig, "err", err)
		return false
	}
	return true
}

// removeDeleted removes the renamed record of a deleted namespace once
// delay has passed (a restart removes it at once).
func (e *Engine) removeDeleted(orig, deletedName string, delay time.Duration) {
	if delay > 0 {
		select {
		case <-e.stop:
			return
		case <-time.After(delay):
		}
	}
	e.nsMu.Lock()
	defer e.nsMu.Unlock()
	if err := e.writeDurable(&store.Batch{DeleteNamespaces: []string{deletedName}}); err != nil {
		e.log.Warn("removing a deleted namespace", "namespace", deletedName, "err", err)
		return
	}
	delete(e.namespaces, deletedName)
	e.log.Info("namespace deleted", "namespace", orig, "renamed", deletedName)
}

// purgeBatch bounds how many runs of a deleted namespace are read at once.
const purgeBatch = 1000

var errPurgeBatchFull = errors.New("purge batch full")

// deleteNamespaceRuns deletes every run stored under namespace ns,
// terminating running ones first, until none is left (a run may start a
// successor while it is being deleted), a batch at a time.
func (e *Engine) deleteNamespaceRuns(ctx context.Context, ns string) error {
	partial := 0 // passes that saw every remaining run
	for {
		var runs []*commonpb.WorkflowExecution
		err := e.store.Runs(ctx, ns, func(r *store.RunRecord) error {
			runs = append(runs, &commonpb.WorkflowExecution{WorkflowId: r.WorkflowID, RunId: r.RunID})
			if len(runs) == purgeBatch {
				return errPurgeBatchFull
			}
			return nil
		})
		if err != nil && !errors.Is(err, errPurgeBatchFull) {
			return err
		}
		if len(runs) == 0 {
			return nil
		}
		if len(runs) < purgeBatch {
			if partial++; partial > 100 {
				return fmt.Errorf("%d runs still present after %d passes", len(runs), partial)
			}
		}
		for _, ex := range runs {
			err := e.deleteRunAnywhere(ctx, ns, ex) // on its owner, on a cluster
			var nf *serviceerror.NotFound
			if err != nil && !errors.As(err, &nf) {
				return err
			}
		}
	}
}
