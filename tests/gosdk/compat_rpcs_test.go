package gosdk

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	replicationpb "go.temporal.io/api/replication/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"google.golang.org/grpc/codes"
)

// Answers of the RPCs Sundial deliberately does not offer, of those it has
// not built yet, and of the cluster and partition RPCs that describe its
// single-process shape, through the Go SDK's clients.

// TestCompatNotOffered: the deprecated build-id versioning APIs are
// PermissionDenied (as Temporal answers a namespace where they are
// disabled), seen by the SDK as serviceerror.PermissionDenied; the
// withdrawn deployment APIs, archival and replication say Sundial does
// not offer them.
func TestCompatNotOffered(t *testing.T) {
	e := newEnv(t)
	ctx := func() context.Context { return erCtx(t, 5*time.Second) }
	svc := e.c.WorkflowService()

	err := e.c.UpdateWorkerBuildIdCompatibility(ctx(), &client.UpdateWorkerBuildIdCompatibilityOptions{
		TaskQueue: e.tq, Operation: &client.BuildIDOpAddNewIDInNewDefaultSet{BuildID: "b1"}})
	var denied *serviceerror.PermissionDenied
	if !errors.As(err, &denied) {
		t.Fatalf("UpdateWorkerBuildIdCompatibility: %T %v, want PermissionDenied", err, err)
	}
	cpExpect(t, "UpdateWorkerBuildIdCompatibility", err, codes.PermissionDenied, "version sets", "disabled on this namespace", "Sundial does not offer")
	_, err = e.c.GetWorkerBuildIdCompatibility(ctx(), &client.GetWorkerBuildIdCompatibilityOptions{TaskQueue: e.tq})
	cpExpect(t, "GetWorkerBuildIdCompatibility", err, codes.PermissionDenied, "version sets", "Sundial does not offer")
	_, err = e.c.GetWorkerTaskReachability(ctx(), &client.GetWorkerTaskReachabilityOptions{BuildIDs: []string{"b1"}})
	cpExpect(t, "GetWorkerTaskReachability", err, codes.PermissionDenied, "deprecated", "Sundial does not offer")
	_, err = svc.GetWorkerVersioningRules(ctx(), &workflowservice.GetWorkerVersioningRulesRequest{Namespace: "default", TaskQueue: e.tq})
	cpExpect(t, "GetWorkerVersioningRules", err, codes.PermissionDenied, "versioning rules", "Sundial does not offer")
	_, err = svc.UpdateWorkerVersioningRules(ctx(), &workflowservice.UpdateWorkerVersioningRulesRequest{Namespace: "default", TaskQueue: e.tq})
	cpExpect(t, "UpdateWorkerVersioningRules", err, codes.PermissionDenied, "versioning rules", "Sundial does not offer")

	_, err = svc.ListDeployments(ctx(), &workflowservice.ListDeploymentsRequest{Namespace: "default"})
	cpExpect(t, "ListDeployments", err, codes.Unimplemented, "deprecated", "not offered by Sundial", "Worker Deployments")

	_, err = svc.ListArchivedWorkflowExecutions(ctx(), &workflowservice.ListArchivedWorkflowExecutionsRequest{Namespace: "default", PageSize: 10})
	cpExpect(t, "ListArchivedWorkflowExecutions", err, codes.InvalidArgument, "not configured for visibility archival", "Sundial does not offer archival", "retention")

	// A namespace asking for archival or replication is refused and not
	// created; one that names the local cluster is fine.
	for name, r := range map[string]*workflowservice.RegisterNamespaceRequest{
		"HistoryArchivalState":    {HistoryArchivalState: enumspb.ARCHIVAL_STATE_ENABLED},
		"VisibilityArchivalState": {VisibilityArchivalUri: "file:///tmp/arch"},
		"global namespace":        {IsGlobalNamespace: true},
		"ActiveClusterName":       {ActiveClusterName: "standby"},
		"Clusters":                {Clusters: []*replicationpb.ClusterReplicationConfig{{ClusterName: "active"}, {ClusterName: "standby"}}},
	} {
		r.Namespace = "compat-" + uuid.NewString()[:8]
		_, err := svc.RegisterNamespace(ctx(), r)
		want := "replication"
		if name == "HistoryArchivalState" || name == "VisibilityArchivalState" {
			want = "archival"
		}
		cpExpect(t, "RegisterNamespace "+name, err, codes.InvalidArgument, name, "Sundial does not offer", want)
		_, err = svc.DescribeNamespace(ctx(), &workflowservice.DescribeNamespaceRequest{Namespace: r.Namespace})
		cpExpect(t, "DescribeNamespace after refused "+name, err, codes.NotFound)
	}
	local := "compat-local-" + uuid.NewString()[:8]
	if _, err := svc.RegisterNamespace(ctx(), &workflowservice.RegisterNamespaceRequest{Namespace: local, ActiveClusterName: "active",
		Clusters: []*replicationpb.ClusterReplicationConfig{{ClusterName: "active"}}, HistoryArchivalState: enumspb.ARCHIVAL_STATE_DISABLED}); err != nil {
		t.Fatalf("RegisterNamespace on the local cluster with archival disabled: %v", err)
	}
	d, err := svc.DescribeNamespace(ctx(), &workflowservice.DescribeNamespaceRequest{Namespace: local})
	if err != nil {
		t.Fatal(err)
	}
	if d.Config.GetHistoryArchivalState() != enumspb.ARCHIVAL_STATE_DISABLED || d.IsGlobalNamespace {
		t.Fatalf("namespace %s: archival %v, global %v", local, d.Config.GetHistoryArchivalState(), d.IsGlobalNamespace)
	}

	op := e.c.OperatorService()
	_, err = op.AddOrUpdateRemoteCluster(ctx(), &operatorservice.AddOrUpdateRemoteClusterRequest{FrontendAddress: "127.0.0.1:1", EnableRemoteClusterConnection: true})
	cpExpect(t, "AddOrUpdateRemoteCluster", err, codes.Unimplemented, "Sundial does not offer multi-cluster replication")
	_, err = op.RemoveRemoteCluster(ctx(), &operatorservice.RemoveRemoteClusterRequest{ClusterName: "standby"})
	cpExpect(t, "RemoveRemoteCluster standby", err, codes.NotFound, "standby", "Sundial does not offer multi-cluster replication")
	_, err = op.RemoveRemoteCluster(ctx(), &operatorservice.RemoveRemoteClusterRequest{ClusterName: "active"})
	cpExpect(t, "RemoveRemoteCluster local", err, codes.InvalidArgument, "local cluster")
}

// TestCompatClusters: ListClusters lists the one local cluster, named as
// GetClusterInfo names it, at the address the client dialled.
func TestCompatClusters(t *testing.T) {
	e := newEnv(t)
	info, err := e.c.WorkflowService().GetClusterInfo(e.ctx(), &workflowservice.GetClusterInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.c.OperatorService().ListClusters(e.ctx(), &operatorservice.ListClustersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Clusters) != 1 || len(resp.NextPageToken) != 0 {
		t.Fatalf("ListClusters: %v", resp)
	}
	c := resp.Clusters[0]
	if c.ClusterName != info.ClusterName || c.ClusterId != info.ClusterId || c.HistoryShardCount != info.HistoryShardCount ||
		c.Address != e.srv.Addr() || !c.IsConnectionEnabled || c.IsReplicationEnabled {
		t.Fatalf("ListClusters: %v; GetClusterInfo: %v; server at %s", c, info, e.srv.Addr())
	}
	_, err = e.c.OperatorService().ListClusters(e.ctx(), &operatorservice.ListClustersRequest{NextPageToken: []byte("x")})
	cpExpect(t, "ListClusters bad page token", err, codes.InvalidArgument, "NextPageToken")
}

// TestCompatTaskQueuePartitions: a task queue, in use or not, has one
// workflow and one activity partition, keyed by its name and owned by this
// server; sticky queues likewise.
func TestCompatTaskQueuePartitions(t *testing.T) {
	e := newEnv(t)
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(HelloWorkflow)
		w.RegisterActivityWithOptions(Greet, activity.RegisterOptions{Name: "Greet"})
	})
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("compat-part"), HelloWorkflow, "partitions")
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(e.ctx(), nil); err != nil {
		t.Fatal(err)
	}
	svc := e.c.WorkflowService()
	for _, tq := range []*taskqueuepb.TaskQueue{
		{Name: e.tq},
		{Name: "never-used-" + uuid.NewString()[:8]},
		{Name: "sticky-" + uuid.NewString()[:8], Kind: enumspb.TASK_QUEUE_KIND_STICKY, NormalName: e.tq},
	} {
		resp, err := svc.ListTaskQueuePartitions(e.ctx(), &workflowservice.ListTaskQueuePartitionsRequest{Namespace: "default", TaskQueue: tq})
		if err != nil {
			t.Fatalf("%s: %v", tq.Name, err)
		}
		for kind, ps := range map[string][]*taskqueuepb.TaskQueuePartitionMetadata{"workflow": resp.WorkflowTaskQueuePartitions, "activity": resp.ActivityTaskQueuePartitions} {
			if len(ps) != 1 || ps[0].Key != tq.Name || ps[0].OwnerHostName != e.srv.Addr() {
				t.Fatalf("%s %s partitions: %v (server at %s)", tq.Name, kind, ps, e.srv.Addr())
			}
		}
	}
	_, err = svc.ListTaskQueuePartitions(e.ctx(), &workflowservice.ListTaskQueuePartitionsRequest{Namespace: "no-such-ns-compat", TaskQueue: &taskqueuepb.TaskQueue{Name: e.tq}})
	cpExpect(t, "unknown namespace", err, codes.NotFound, "no-such-ns-compat")
	_, err = svc.ListTaskQueuePartitions(e.ctx(), &workflowservice.ListTaskQueuePartitionsRequest{Namespace: "default", TaskQueue: &taskqueuepb.TaskQueue{}})
	cpExpect(t, "empty name", err, codes.InvalidArgument, "task queue name")
}

// cpExpect is erExpect for errors from the SDK's clients, which turn gRPC
// statuses into serviceerror types.
func cpExpect(t *testing.T, what string, err error, code codes.Code, want ...string) {
	t.Helper()
	if err != nil {
		err = serviceerror.ToStatus(err).Err()
	}
	erExpect(t, what, err, code, want...)
}
