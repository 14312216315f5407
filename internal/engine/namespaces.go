package engine

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	namespacepb "go.temporal.io/api/namespace/v1"
	replicationpb "go.temporal.io/api/replication/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sundial-io/sundial/internal/store"
)

// DefaultNamespace exists from the first start, as on Temporal's dev server.
const DefaultNamespace = "default"

func (e *Engine) loadNamespaces() error {
	list, err := e.store.Namespaces(context.Background())
	if err != nil {
		return err
	}
	for _, n := range list {
		e.namespaces[n.NamespaceInfo.GetName()] = n
	}
	e.markInterruptedPurges()
	if e.own != nil && e.purgePending(DefaultNamespace) {
		return nil // registered again by the purge (namespace_purge_cluster.go)
	}
	if _, ok := e.namespaces[DefaultNamespace]; !ok && e.purging[DefaultNamespace] == nil {
		_, err := e.RegisterNamespace(context.Background(), defaultNamespaceRequest())
		var exists *serviceerror.NamespaceAlreadyExists
		if errors.As(err, &exists) && e.own != nil {
			// Another node of a new cluster registered it at the same
			// moment (namespace_cas.go): take its record.
			return e.refreshNamespaces(context.Background())
		}
		return err
	}
	return nil
}

func defaultNamespaceRequest() *workflowservice.RegisterNamespaceRequest {
	return &workflowservice.RegisterNamespaceRequest{
		Namespace:                        DefaultNamespace,
		Description:                      "Default namespace for Sundial",
		WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
	}
}

// CheckNamespace returns NotFound for an unknown namespace.
func (e *Engine) CheckNamespace(ns string) error {
	e.nsMu.RLock()
	n, ok := e.namespaces[ns]
	e.nsMu.RUnlock()
	if !ok && e.own != nil {
		n, ok = e.reloadNamespace(ns) // registered through another node (cluster.go)
	}
	if !ok {
		return serviceerror.NewNamespaceNotFound(ns)
	}
	return checkNamespaceState(n)
}

// RegisterNamespace creates a namespace (and tells the other nodes of a
// cluster: cluster_registries.go).
func (e *Engine) RegisterNamespace(ctx context.Context, r *workflowservice.RegisterNamespaceRequest) (*store.Namespace, error) {
	n, err := e.registerNamespace(ctx, r)
	if err == nil {
		e.announceChange(ctx)
	}
	return n, err
}

func (e *Engine) registerNamespace(ctx context.Context, r *workflowservice.RegisterNamespaceRequest) (*store.Namespace, error) {
	if e.own != nil {
		// On a cluster: wait out a deletion of the name run anywhere, and
		// know the namespaces other nodes registered.
		if err := e.waitClusterNameFree(ctx, r.Namespace); err != nil {
			return nil, err
		}
		if err := e.refreshNamespaces(ctx); err != nil {
			return nil, serviceerror.NewUnavailable(err.Error())
		}
	}
	if err := e.lockFreeName(ctx, r.Namespace); err != nil {
		return nil, err
	}
	defer e.nsMu.Unlock()
	if _, ok := e.namespaces[r.Namespace]; ok {
		return nil, serviceerror.NewNamespaceAlreadyExists("Namespace already exists.")
	}
	ret := r.WorkflowExecutionRetentionPeriod
	if ret.AsDuration() <= 0 {
		ret = durationpb.New(24 * time.Hour)
	}
	n := &store.Namespace{
		NamespaceInfo: &namespacepb.NamespaceInfo{
			Name: r.Namespace, State: enumspb.NAMESPACE_STATE_REGISTERED, Description: r.Description,
			OwnerEmail: r.OwnerEmail, Data: r.Data, Id: uuid.NewString(),
			Capabilities: capabilities(),
		},
		Config: &namespacepb.NamespaceConfig{
			WorkflowExecutionRetentionTtl: ret,
			HistoryArchivalState:          enumspb.ARCHIVAL_STATE_DISABLED,
			VisibilityArchivalState:       enumspb.ARCHIVAL_STATE_DISABLED,
		},
		ReplicationConfig: &replicationpb.NamespaceReplicationConfig{ActiveClusterName: "active", Clusters: []*replicationpb.ClusterReplicationConfig{{ClusterName: "active"}}},
	}
	if err := e.writable(); err != nil {
		return nil, err
	}
	// On a cluster the name may be registered through another node at the
	// same moment: the store writes only if it is still free
	// (namespace_cas.go).
	c, seq, err := e.apply(&store.Batch{Namespaces: []*store.Namespace{n}, ExpectNamespaces: e.expectNamespace(r.Namespace, nil)})
	if errors.Is(err, store.ErrConflict) {
		return nil, serviceerror.NewNamespaceAlreadyExists("Namespace already exists.")
	}
	if err != nil {
		return nil, err
	}
	if err := c.Wait(); err != nil {
		if errors.Is(err, store.ErrConflict) {
			e.markDurable(seq)
			return nil, serviceerror.NewNamespaceAlreadyExists("Namespace already exists.")
		}
		e.fail(err)
		return nil, serviceerror.NewUnavailable(err.Error())
	}
	e.markDurable(seq)
	e.noteRegistryWrite(&store.Batch{Namespaces: []*store.Namespace{n}}) // cluster_registries.go
	e.namespaces[r.Namespace] = n
	return n, nil
}

// DescribeNamespace returns one namespace by name or id. On a cluster a
// namespace not known here is looked for in the store (another node may
// have registered it and its announcement not arrived yet).
func (e *Engine) DescribeNamespace(name, id string) (*store.Namespace, error) {
	n, err := e.describeNamespace(name, id)
	if err != nil && e.own != nil && e.refreshNamespaces(context.Background()) == nil {
		return e.describeNamespace(name, id)
	}
	return n, err
}

func (e *Engine) describeNamespace(name, id string) (*store.Namespace, error) {
	e.nsMu.RLock()
	defer e.nsMu.RUnlock()
	for _, n := range e.namespaces {
		if (name != "" && n.NamespaceInfo.Name == name) || (name == "" && id != "" && n.NamespaceInfo.Id == id) {
			return describe(n), nil
		}
	}
	if name == "" {
		name = id
	}
	return nil, serviceerror.NewNamespaceNotFound(name)
}

// capabilities are what the SDKs and the Web UI may use on a namespace:
// of those Temporal's dev server turns on by default, the ones Sundial
// implements. Not eager workflow start, not the TemporalReportedProblems
// search attribute, not poller autoscaling decisions. Workflow pause
// (workflow_pause.go) is on: it gives the Web UI's workflow page its
// Pause button.
func capabilities() *namespacepb.NamespaceInfo_Capabilities {
	return &namespacepb.NamespaceInfo_Capabilities{
		SyncUpdate:       true,
		AsyncUpdate:      true,
		WorkerHeartbeats: true, // RecordWorkerHeartbeat, ListWorkers, DescribeWorker, CountWorkers
		// StartActivityExecution and friends, with start_delay and the
		// operator commands (pause, unpause, reset, options).
		StandaloneActivities:               true,
		StandaloneActivityStartDelay:       true,
		StandaloneActivityOperatorCommands: true,
		// StartNexusOperationExecution and friends (standalone_nexus.go).
		StandaloneNexusOperation: true,
		WorkflowPause:            true, // Pause/UnpauseWorkflowExecution
	}
}

// describe is a namespace as DescribeNamespace answers it: the stored
// record with this server's capabilities (records written by older
// versions stored fewer).
func describe(n *store.Namespace) *store.Namespace {
	c := proto.Clone(n).(*store.Namespace)
	if c.NamespaceInfo != nil {
		c.NamespaceInfo.Capabilities = capabilities()
	}
	return c
}

// ListNamespaces returns all namespaces sorted by name.
func (e *Engine) ListNamespaces() []*store.Namespace {
	e.nsMu.RLock()
	defer e.nsMu.RUnlock()
	out := make([]*store.Namespace, 0, len(e.namespaces))
	for _, n := range e.namespaces {
		out = append(out, describe(n))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NamespaceInfo.Name < out[j].NamespaceInfo.Name })
	return out
}

// ListRuns returns the summaries of every run of a namespace (open runs
// as of their last durable write).
func (e *Engine) ListRuns(ctx context.Context, ns string) ([]*workflowpb.WorkflowExecutionInfo, error) {
	seq := e.currentSeq()
	var out []*workflowpb.WorkflowExecutionInfo
	err := e.store.Runs(ctx, ns, func(r *store.RunRecord) error {
		out = append(out, r.Info)
		return nil
	})
	if err != nil {
		return nil, serviceerror.NewUnavailable(err.Error())
	}
	e.barrier(seq)
	return out, nil
}

func (e *Engine) currentSeq() uint64 {
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	return e.seq
}
