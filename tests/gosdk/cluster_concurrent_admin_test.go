package gosdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	namespacepb "go.temporal.io/api/namespace/v1"
	nexuspb "go.temporal.io/api/nexus/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sundial-io/sundial/internal/server"
	"github.com/sundial-io/sundial/internal/store/pgstore/pgtest"
)

// Administrative changes of cluster-wide records made at the same moment
// through two nodes (docs/CLUSTER.md, "Namespaces, rules and task queue
// configurations across nodes"): the database serializes them, so the
// answers are those one node gives.

// TestClusterConcurrentRegisterNamespace registers one new name many
// times at once through both nodes: exactly one call succeeds, every
// other answers AlreadyExists, and both nodes then describe the winner's
// namespace.
func TestClusterConcurrentRegisterNamespace(t *testing.T) {
	tc := newCluster(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for round := range 3 {
		ns := fmt.Sprintf("race-%d-%s", round, uuid.NewString()[:6])
		const perNode = 6
		var wg sync.WaitGroup
		var mu sync.Mutex
		var won []string
		start := make(chan struct{})
		for i := range 2 * perNode {
			ws := tc.nodes[i%2].c.WorkflowService()
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				desc := fmt.Sprintf("caller %d", i)
				_, err := ws.RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{Namespace: ns, Description: desc,
					WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour)})
				var exists *serviceerror.NamespaceAlreadyExists
				switch {
				case err == nil:
					mu.Lock()
					won = append(won, desc)
					mu.Unlock()
				case !errors.As(err, &exists):
					t.Errorf("RegisterNamespace %s through node %d: %v (want success or AlreadyExists)", ns, i%2, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(won) != 1 {
			t.Fatalf("%s: %d registrations succeeded (%v), want exactly 1", ns, len(won), won)
		}
		for i, nd := range tc.nodes {
			d, err := nd.c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
			if err != nil {
				t.Fatalf("describe %s on node %d: %v", ns, i, err)
			}
			if got := d.NamespaceInfo.GetDescription(); got != won[0] {
				t.Fatalf("node %d describes %s with %q, but the registration that succeeded was %q", i, ns, got, won[0])
			}
		}
	}
}

// TestClusterConcurrentSearchAttributesAndUpdates adds different search
// attributes at once through both nodes (all present afterwards), and
// updates different fields of one namespace at once through both nodes
// (both applied).
func TestClusterConcurrentSearchAttributesAndUpdates(t *testing.T) {
	tc := newCluster(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ns := "casadm-" + uuid.NewString()[:6]
	if _, err := tc.nodes[0].c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{Namespace: ns,
		WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}

	const perNode = 5
	var wg sync.WaitGroup
	start := make(chan struct{})
	var want []string
	for i := range 2 * perNode {
		name := fmt.Sprintf("CasAttr%d", i)
		want = append(want, name)
		os := tc.nodes[i%2].c.OperatorService()
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := os.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: ns,
				SearchAttributes: map[string]enumspb.IndexedValueType{name: enumspb.INDEXED_VALUE_TYPE_KEYWORD}})
			if err != nil {
				t.Errorf("AddSearchAttributes %s through node %d: %v", name, i%2, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	for i, nd := range tc.nodes {
		resp, err := nd.c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range want {
			if resp.CustomAttributes[name] != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
				t.Errorf("node %d: search attribute %s missing after concurrent adds (have %v)", i, name, resp.CustomAttributes)
			}
		}
	}

	// Different fields of one namespace, several rounds, through both
	// nodes at once: every change stays.
	for round := range 4 {
		desc, email := fmt.Sprintf("description %d", round), fmt.Sprintf("owner%d@example.com", round)
		key := fmt.Sprintf("k%d", round)
		reqs := []*workflowservice.UpdateNamespaceRequest{
			{Namespace: ns, UpdateInfo: &namespacepb.UpdateNamespaceInfo{Description: desc}},
			{Namespace: ns, UpdateInfo: &namespacepb.UpdateNamespaceInfo{OwnerEmail: email}},
			{Namespace: ns, UpdateInfo: &namespacepb.UpdateNamespaceInfo{Data: map[string]string{key + "a": "0"}}},
			{Namespace: ns, UpdateInfo: &namespacepb.UpdateNamespaceInfo{Data: map[string]string{key + "b": "1"}}},
		}
		start := make(chan struct{})
		for i, r := range reqs {
			ws := tc.nodes[i%2].c.WorkflowService()
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if _, err := ws.UpdateNamespace(ctx, r); err != nil {
					t.Errorf("UpdateNamespace through node %d: %v", i%2, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		for i, nd := range tc.nodes {
			d, err := nd.c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
			if err != nil {
				t.Fatal(err)
			}
			info := d.NamespaceInfo
			if info.GetDescription() != desc || info.GetOwnerEmail() != email || info.GetData()[key+"a"] != "0" || info.GetData()[key+"b"] != "1" {
				t.Fatalf("round %d, node %d: after concurrent updates the namespace is description %q, owner %q, data %v; want %q, %q, %sa=0 and %sb=1",
					round, i, info.GetDescription(), info.GetOwnerEmail(), info.GetData(), desc, email, key, key)
			}
		}
	}
}

// TestClusterConcurrentWorkflowRules creates rules at once through both
// nodes, more than the limit of 10 per namespace allows (none expires, so
// none can be dropped to make room): exactly 10 are created, the others
// are refused with the limit's InvalidArgument, and both nodes list the
// 10. Then one id is created at once through both nodes: one succeeds.
func TestClusterConcurrentWorkflowRules(t *testing.T) {
	tc := newCluster(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const calls = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	created, refused := 0, 0
	start := make(chan struct{})
	for i := range calls {
		ws := tc.nodes[i%2].c.WorkflowService()
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := ws.CreateWorkflowRule(ctx, &workflowservice.CreateWorkflowRuleRequest{Namespace: "default",
				Spec: pauseRule(fmt.Sprintf("race-%02d", i), fmt.Sprintf(`ActivityType = "Race%d"`, i), "")})
			var inv *serviceerror.InvalidArgument
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				created++
			case errors.As(err, &inv) && strings.Contains(err.Error(), "limit exceeded"):
				refused++
			default:
				t.Errorf("CreateWorkflowRule through node %d: %v", i%2, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if created != 10 || refused != calls-10 {
		t.Fatalf("%d concurrent creates: %d created, %d refused for the limit; want 10 and %d", calls, created, refused, calls-10)
	}
	for i, nd := range tc.nodes {
		l, err := nd.c.WorkflowService().ListWorkflowRules(ctx, &workflowservice.ListWorkflowRulesRequest{Namespace: "default"})
		if err != nil || len(l.GetRules()) != 10 {
			t.Fatalf("node %d lists %d rules (%v), want 10", i, len(l.GetRules()), err)
		}
	}

	// Make room for two (through node 1, which lists what node 0 created),
	// then race one id through both nodes.
	l, err := tc.nodes[1].c.WorkflowService().ListWorkflowRules(ctx, &workflowservice.ListWorkflowRulesRequest{Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range l.GetRules()[:2] {
		if _, err := tc.nodes[1].c.WorkflowService().DeleteWorkflowRule(ctx, &workflowservice.DeleteWorkflowRuleRequest{Namespace: "default", RuleId: r.GetSpec().GetId()}); err != nil {
			t.Fatal(err)
		}
	}
	ok := 0
	start = make(chan struct{})
	for i := range 6 {
		ws := tc.nodes[i%2].c.WorkflowService()
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := ws.CreateWorkflowRule(ctx, &workflowservice.CreateWorkflowRuleRequest{Namespace: "default",
				Spec: pauseRule("same-id", `ActivityType = "Same"`, "")})
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok++
			}
		}()
	}
	close(start)
	wg.Wait()
	if ok != 1 {
		t.Fatalf("%d concurrent creates of one rule id succeeded, want 1", ok)
	}
}

// TestClusterConcurrentNexusEndpoints creates one endpoint name at once
// through both nodes (one succeeds, the others answer AlreadyExists), then
// updates that endpoint at its current version at once through both
// nodes (one succeeds, the others answer FailedPrecondition for the
// version), and the endpoint then has version 2 and the winner's spec.
func TestClusterConcurrentNexusEndpoints(t *testing.T) {
	tc := newCluster(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	spec := func(name, queue string) *nexuspb.EndpointSpec {
		return &nexuspb.EndpointSpec{Name: name, Target: &nexuspb.EndpointTarget{Variant: &nexuspb.EndpointTarget_Worker_{
			Worker: &nexuspb.EndpointTarget_Worker{Namespace: "default", TaskQueue: queue}}}}
	}
	const calls = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	var created []*nexuspb.Endpoint
	start := make(chan struct{})
	for i := range calls {
		os := tc.nodes[i%2].c.OperatorService()
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := os.CreateNexusEndpoint(ctx, &operatorservice.CreateNexusEndpointRequest{Spec: spec("race-ep", fmt.Sprint("q", i))})
			var exists *serviceerror.AlreadyExists
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				created = append(created, resp.Endpoint)
			case !errors.As(err, &exists):
				t.Errorf("CreateNexusEndpoint through node %d: %v (want success or AlreadyExists)", i%2, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(created) != 1 {
		t.Fatalf("%d creates of one endpoint name succeeded, want 1", len(created))
	}
	id := created[0].Id

	var updated []string
	start = make(chan struct{})
	for i := range calls {
		os := tc.nodes[i%2].c.OperatorService()
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			queue := fmt.Sprint("upd", i)
			_, err := os.UpdateNexusEndpoint(ctx, &operatorservice.UpdateNexusEndpointRequest{Id: id, Version: 1, Spec: spec("race-ep", queue)})
			var pre *serviceerror.FailedPrecondition
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				updated = append(updated, queue)
			case !errors.As(err, &pre):
				t.Errorf("UpdateNexusEndpoint through node %d: %v (want success or FailedPrecondition)", i%2, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(updated) != 1 {
		t.Fatalf("%d updates at version 1 succeeded (%v), want 1", len(updated), updated)
	}
	for i, nd := range tc.nodes {
		got, err := nd.c.OperatorService().GetNexusEndpoint(ctx, &operatorservice.GetNexusEndpointRequest{Id: id})
		if err != nil {
			t.Fatal(err)
		}
		if got.Endpoint.Version != 2 || got.Endpoint.Spec.GetTarget().GetWorker().GetTaskQueue() != updated[0] {
			t.Fatalf("node %d: endpoint at version %d targeting %q, want version 2 targeting %q", i, got.Endpoint.Version,
				got.Endpoint.Spec.GetTarget().GetWorker().GetTaskQueue(), updated[0])
		}
	}
}

// TestClusterConcurrentFirstStart starts three nodes at once on a new
// database: each registers the default namespace at its first start; one
// registration wins, the others take its record, every node starts and
// they all describe the same namespace.
func TestClusterConcurrentFirstStart(t *testing.T) {
	tc := &testCluster{t: t, pg: pgtest.Start(t, pgtest.Options{}), tq: "tq-" + uuid.NewString()[:8]}
	tc.url = tc.pg.NewDatabase(t)
	const n = 3
	srvs := make([]*server.Server, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			srvs[i], errs[i] = server.Start(server.Config{Addr: "127.0.0.1:0", Postgres: tc.url, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
				Cluster: &server.ClusterConfig{NodeAddr: "127.0.0.1:0", ShardCount: 16, LeasePeriod: clusterLease}})
			if srvs[i] != nil {
				t.Cleanup(srvs[i].Stop)
			}
		}()
	}
	wg.Wait()
	ids := map[string]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("node %d of 3 started at once: %v", i, errs[i])
		}
		c, err := client.Dial(client.Options{HostPort: srvs[i].Addr(), Logger: quietLogger{}})
		if err != nil {
			t.Fatal(err)
		}
		d, err := c.WorkflowService().DescribeNamespace(context.Background(), &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
		c.Close()
		if err != nil {
			t.Fatalf("node %d: describe default: %v", i, err)
		}
		ids[d.NamespaceInfo.GetId()] = true
	}
	if len(ids) != 1 {
		t.Fatalf("the nodes describe %d different default namespaces (ids %v), want 1", len(ids), ids)
	}
}
