package gosdk

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sundial-io/sundial/internal/cluster"
)

// Namespaces and their search attributes across the nodes of a cluster
// (docs/CLUSTER.md, "Namespaces, rules and task queue configurations
// across nodes"): a change made through one node is seen by the others
// at once, without a restart.

// ownerIn returns the index of the node holding the shard of workflow id
// of namespace ns.
func (tc *testCluster) ownerIn(ns, id string) int {
	shard := cluster.ShardOf(ns, id, 16)
	for i, nd := range tc.nodes {
		if nd.srv == nil {
			continue
		}
		if _, ok := nd.srv.Node().Fence(shard); ok {
			return i
		}
	}
	return -1
}

// idOwnedBy returns a workflow id of namespace ns whose shard node i holds.
func (tc *testCluster) idOwnedBy(ns, prefix string, i int) string {
	for {
		id := fmt.Sprintf("%s-%s", prefix, uuid.NewString()[:8])
		if tc.ownerIn(ns, id) == i {
			return id
		}
	}
}

// dialNS connects to node i in namespace ns.
func (tc *testCluster) dialNS(i int, ns string) client.Client {
	tc.t.Helper()
	c, err := client.Dial(client.Options{HostPort: tc.nodes[i].srv.Addr(), Namespace: ns, Logger: quietLogger{}})
	if err != nil {
		tc.t.Fatal(err)
	}
	tc.t.Cleanup(c.Close)
	return c
}

// TestClusterNamespaceChanges changes a namespace through node 0 that node
// 1 already serves (its description, data and retention, then a new search
// attribute, then its state) and checks that node 1 answers with each
// change right away: describe shows it, a start using the new attribute
// is accepted (on a workflow node 1 owns and on one node 0 owns), a start
// in the deprecated namespace is refused.
func TestClusterNamespaceChanges(t *testing.T) {
	tc := newCluster(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ns := "nschg-" + uuid.NewString()[:6]
	ws0, ws1 := tc.nodes[0].c.WorkflowService(), tc.nodes[1].c.WorkflowService()
	if _, err := ws0.RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{Namespace: ns, Description: "first",
		WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// Node 1 learns the namespace (and keeps it in memory) before it changes.
	d, err := ws1.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
	if err != nil || d.GetNamespaceInfo().GetDescription() != "first" {
		t.Fatalf("describe through node 1 after register: %v %v", d.GetNamespaceInfo(), err)
	}

	if _, err := ws0.UpdateNamespace(ctx, &workflowservice.UpdateNamespaceRequest{Namespace: ns,
		UpdateInfo: &namespacepb.UpdateNamespaceInfo{Description: "second", Data: map[string]string{"team": "blue"}},
		Config:     &namespacepb.NamespaceConfig{WorkflowExecutionRetentionTtl: durationpb.New(72 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	d, err = ws1.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.GetNamespaceInfo().GetDescription(); got != "second" {
		t.Errorf("node 1 describes description %q right after the update through node 0, want %q", got, "second")
	}
	if got := d.GetNamespaceInfo().GetData()["team"]; got != "blue" {
		t.Errorf("node 1 describes data team=%q, want blue", got)
	}
	if got := d.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration(); got != 72*time.Hour {
		t.Errorf("node 1 describes retention %v, want 72h", got)
	}
	list, err := ws1.ListNamespaces(ctx, &workflowservice.ListNamespacesRequest{PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, n := range list.GetNamespaces() {
		if n.GetNamespaceInfo().GetName() == ns {
			found = n.GetNamespaceInfo().GetDescription() == "second"
		}
	}
	if !found {
		t.Errorf("node 1 does not list %s with its new description", ns)
	}

	// A search attribute added through node 0 is accepted at once by both
	// nodes, whichever owns the workflow.
	if _, err := tc.nodes[0].c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: ns,
		SearchAttributes: map[string]enumspb.IndexedValueType{"ClusterTeam": enumspb.INDEXED_VALUE_TYPE_KEYWORD}}); err != nil {
		t.Fatal(err)
	}
	c1 := tc.dialNS(1, ns)
	for owner := range 2 {
		id := tc.idOwnedBy(ns, "nschg", owner)
		_, err := c1.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "nobody",
			TypedSearchAttributes: temporal.NewSearchAttributes(temporal.NewSearchAttributeKeyKeyword("ClusterTeam").ValueSet("blue"))}, ClusterWorkflow, "x")
		if err != nil {
			t.Fatalf("start through node 1 (owner node %d) with an attribute added through node 0: %v", owner, err)
		}
		desc, err := c1.DescribeWorkflowExecution(ctx, id, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := desc.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()["ClusterTeam"]; !ok {
			t.Errorf("workflow %s (owner node %d) lacks its ClusterTeam attribute", id, owner)
		}
	}
	sa, err := tc.nodes[1].c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	if err != nil || sa.GetCustomAttributes()["ClusterTeam"] != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
		t.Errorf("node 1 lists custom attributes %v (%v), want ClusterTeam Keyword", sa.GetCustomAttributes(), err)
	}

	// Deprecated through node 0: node 1 refuses new starts at once.
	if _, err := ws0.DeprecateNamespace(ctx, &workflowservice.DeprecateNamespaceRequest{Namespace: ns}); err != nil { //nolint:staticcheck // deprecated RPC, still served
		t.Fatal(err)
	}
	_, err = c1.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: tc.idOwnedBy(ns, "nschg-dep", 1), TaskQueue: "nobody"}, ClusterWorkflow, "x")
	var bad *serviceerror.NamespaceInvalidState
	if !errors.As(err, &bad) {
		t.Errorf("start through node 1 in a namespace deprecated through node 0: %v, want NamespaceInvalidState", err)
	}
}
