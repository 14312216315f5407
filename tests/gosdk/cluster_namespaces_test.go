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
	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/store/pgstore"
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

// TestClusterDeleteNamespace deletes, through node 1, a namespace whose
// workflows (running and closed) belong to both nodes: every node forgets
// the name at once and knows the renamed namespace; the runs are deleted
// on their owners; the name is free again (registered through node 0,
// it has none of the old runs and the default search attributes); the
// renamed record goes once its delay passed.
func TestClusterDeleteNamespace(t *testing.T) {
	tc := newCluster(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ns := "nsdel-" + uuid.NewString()[:6]
	ws0, ws1 := tc.nodes[0].c.WorkflowService(), tc.nodes[1].c.WorkflowService()
	if _, err := ws0.RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{Namespace: ns,
		WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := tc.nodes[0].c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: ns,
		SearchAttributes: map[string]enumspb.IndexedValueType{"DoomedAttr": enumspb.INDEXED_VALUE_TYPE_KEYWORD}}); err != nil {
		t.Fatal(err)
	}
	c1 := tc.dialNS(1, ns)
	var ids []string
	for owner := range 2 {
		for i := range 3 {
			id := tc.idOwnedBy(ns, fmt.Sprintf("nsdel-%d", i), owner)
			ids = append(ids, id)
			if _, err := c1.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "nobody"}, ClusterWorkflow, "x"); err != nil {
				t.Fatal(err)
			}
			if i == 0 { // one closed run per node, the others running
				if err := c1.TerminateWorkflow(ctx, id, "", "closed"); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	d, err := ws1.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	nsID := d.GetNamespaceInfo().GetId()

	resp, err := tc.nodes[1].c.OperatorService().DeleteNamespace(ctx, &operatorservice.DeleteNamespaceRequest{Namespace: ns,
		NamespaceDeleteDelay: durationpb.New(2 * time.Second)})
	if err != nil {
		t.Fatalf("DeleteNamespace on a cluster: %v", err)
	}
	deleted := ns + "-deleted-" + nsID[:5]
	if resp.GetDeletedNamespace() != deleted {
		t.Fatalf("deleted namespace %q, want %q", resp.GetDeletedNamespace(), deleted)
	}
	// Every node forgets the name and knows the renamed namespace at once.
	for i, ws := range []workflowservice.WorkflowServiceClient{ws0, ws1} {
		_, err := ws.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
		if !errors.As(err, new(*serviceerror.NamespaceNotFound)) {
			t.Errorf("node %d describes the deleted name: %v, want NamespaceNotFound", i, err)
		}
		d, err := ws.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: deleted})
		if err != nil || d.GetNamespaceInfo().GetState() != enumspb.NAMESPACE_STATE_DELETED {
			t.Errorf("node %d describes the renamed namespace: %v %v", i, d.GetNamespaceInfo(), err)
		}
	}
	// Deleting again through the other node answers the same name.
	again, err := tc.nodes[0].c.OperatorService().DeleteNamespace(ctx, &operatorservice.DeleteNamespaceRequest{NamespaceId: nsID})
	if err != nil || again.GetDeletedNamespace() != deleted {
		t.Errorf("second delete through node 0: %v %v", again, err)
	}

	// The name is free again once the old runs are gone: registered
	// through node 0 (the registration waits for the purge), it is empty.
	if _, err := ws0.RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{Namespace: ns,
		WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour)}); err != nil {
		t.Fatalf("register the name again: %v", err)
	}
	c0 := tc.dialNS(0, ns)
	for _, c := range []client.Client{c0, c1} {
		for _, id := range ids {
			if _, err := c.DescribeWorkflowExecution(ctx, id, ""); !errors.As(err, new(*serviceerror.NotFound)) {
				t.Errorf("workflow %s of the deleted namespace (owner node %d): %v, want NotFound", id, tc.ownerIn(ns, id), err)
			}
		}
		l, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: ns})
		if err != nil || len(l.GetExecutions()) != 0 {
			t.Errorf("list in the new namespace: %d runs (%v), want 0", len(l.GetExecutions()), err)
		}
	}
	sa, err := tc.nodes[1].c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sa.GetCustomAttributes()["DoomedAttr"]; ok {
		t.Errorf("the new namespace has the deleted one's search attribute DoomedAttr")
	}
	d, err = ws1.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
	if err != nil || d.GetNamespaceInfo().GetId() == nsID || d.GetNamespaceInfo().GetState() != enumspb.NAMESPACE_STATE_REGISTERED {
		t.Errorf("node 1 describes the new namespace: %v %v", d.GetNamespaceInfo(), err)
	}
	// A workflow id of the old namespace starts afresh.
	run, err := c1.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: ids[1], TaskQueue: "nobody"}, ClusterWorkflow, "x")
	if err != nil {
		t.Fatal(err)
	}
	h := c1.GetWorkflowHistory(ctx, ids[1], run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	n := 0
	for h.HasNext() {
		if _, err := h.Next(); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 2 {
		t.Errorf("the new run of %s has %d events, want 2 (started, task scheduled)", ids[1], n)
	}

	// The renamed record goes after its 2 s delay, on every node.
	deadline := time.Now().Add(15 * time.Second)
	for i, ws := range []workflowservice.WorkflowServiceClient{ws0, ws1} {
		for {
			_, err := ws.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: deleted})
			if errors.As(err, new(*serviceerror.NamespaceNotFound)) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %d still describes the renamed namespace: %v", i, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// TestClusterNamespaceRefreshBackstop changes a namespace record in the
// database behind every node's back (as a node whose announcement was
// lost would leave it): each node serves the change within its 5 s
// refresh, without a restart.
func TestClusterNamespaceRefreshBackstop(t *testing.T) {
	tc := newCluster(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws := []workflowservice.WorkflowServiceClient{tc.nodes[0].c.WorkflowService(), tc.nodes[1].c.WorkflowService()}
	d, err := ws[0].DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := pgstore.Open(ctx, tc.url, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n := &store.Namespace{NamespaceInfo: d.GetNamespaceInfo(), Config: d.GetConfig(), ReplicationConfig: d.GetReplicationConfig()}
	n.NamespaceInfo.Description = "changed behind the nodes' backs"
	c, err := st.Apply(&store.Batch{Namespaces: []*store.Namespace{n}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	changed := time.Now()
	for i := range ws {
		waitFor(t, 8*time.Second, fmt.Sprintf("node %d to read the changed namespace", i), func() bool {
			d, err := ws[i].DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
			return err == nil && d.GetNamespaceInfo().GetDescription() == n.NamespaceInfo.Description
		})
	}
	t.Logf("both nodes served the change %v after it was written", time.Since(changed).Round(10*time.Millisecond))
}

// TestClusterDeleteDefaultNamespace: the default namespace deleted on a
// cluster is registered again, empty and with a new id, by the node that
// purged it, and every node serves the new one.
func TestClusterDeleteDefaultNamespace(t *testing.T) {
	tc := newCluster(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id := tc.idOwnedBy("default", "doomed", 1)
	if _, err := tc.nodes[0].c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "nobody"}, ClusterWorkflow, "x"); err != nil {
		t.Fatal(err)
	}
	ws0, ws1 := tc.nodes[0].c.WorkflowService(), tc.nodes[1].c.WorkflowService()
	old, err := ws1.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tc.nodes[0].c.OperatorService().DeleteNamespace(ctx, &operatorservice.DeleteNamespaceRequest{Namespace: "default"}); err != nil {
		t.Fatal(err)
	}
	for i, ws := range []workflowservice.WorkflowServiceClient{ws0, ws1} {
		waitFor(t, 10*time.Second, fmt.Sprintf("node %d to serve a new default namespace", i), func() bool {
			d, err := ws.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
			return err == nil && d.GetNamespaceInfo().GetId() != old.GetNamespaceInfo().GetId() &&
				d.GetNamespaceInfo().GetState() == enumspb.NAMESPACE_STATE_REGISTERED
		})
	}
	if _, err := tc.nodes[1].c.DescribeWorkflowExecution(ctx, id, ""); !errors.As(err, new(*serviceerror.NotFound)) {
		t.Errorf("workflow of the deleted default namespace: %v, want NotFound", err)
	}
}

// TestClusterNamespacePurgeMovesWithItsShard deletes a namespace whose
// purge belongs to node 1 (the owner of the shard of the name and the
// purge key) and kills node 1 at once: node 0 takes the shard and carries
// the stored purge on from its record: the runs are gone, the name is
// free, and the renamed namespace is removed after its delay.
func TestClusterNamespacePurgeMovesWithItsShard(t *testing.T) {
	tc := newCluster(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	var ns string
	for {
		ns = "nsmove-" + uuid.NewString()[:6]
		if _, ok := tc.nodes[1].srv.Node().Fence(cluster.ShardOf(ns, "temporal-sys-namespace-purge", 16)); ok {
			break
		}
	}
	ws0 := tc.nodes[0].c.WorkflowService()
	if _, err := ws0.RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{Namespace: ns,
		WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	c0 := tc.dialNS(0, ns)
	var ids []string
	for owner := range 2 {
		id := tc.idOwnedBy(ns, "nsmove", owner)
		if _, err := c0.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "nobody"}, ClusterWorkflow, "x"); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	resp, err := tc.nodes[0].c.OperatorService().DeleteNamespace(ctx, &operatorservice.DeleteNamespaceRequest{Namespace: ns,
		NamespaceDeleteDelay: durationpb.New(3 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	tc.nodes[1].kill()
	killed := time.Now()
	if _, err := ws0.RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{Namespace: ns,
		WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour)}); err != nil {
		t.Fatalf("register the name again after the purge owner died: %v", err)
	}
	for _, id := range ids {
		if _, err := c0.DescribeWorkflowExecution(ctx, id, ""); !errors.As(err, new(*serviceerror.NotFound)) {
			t.Errorf("workflow %s of the deleted namespace: %v, want NotFound", id, err)
		}
	}
	waitFor(t, 20*time.Second, "the renamed namespace to be removed by the purge's new owner", func() bool {
		_, err := ws0.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: resp.GetDeletedNamespace()})
		return errors.As(err, new(*serviceerror.NamespaceNotFound))
	})
	t.Logf("renamed namespace removed %v after the purge owner was killed (delay 3 s)", time.Since(killed).Round(100*time.Millisecond))
}
