package gosdk

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/nexus-rpc/sdk-go/nexus"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	nexuspb "go.temporal.io/api/nexus/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sundial-io/sundial/internal/cluster"
	"github.com/sundial-io/sundial/internal/server"
	"github.com/sundial-io/sundial/internal/store/pgstore/pgtest"
)

// A cluster of three in-process Sundial nodes on one throwaway PostgreSQL
// database (docs/CLUSTER.md), with clients and workers spread over them.

// clusterLease is the lease period of the test clusters: short, so a
// killed node's shards move within about 1.3 s.
const clusterLease = time.Second

type clusterNode struct {
	srv *server.Server
	c   client.Client
}

type testCluster struct {
	t     *testing.T
	pg    *pgtest.Server
	url   string
	nodes []*clusterNode
	tq    string
}

// newCluster starts n nodes on a new database and waits until every node
// holds a share of the shards.
func newCluster(t *testing.T, n int) *testCluster {
	t.Helper()
	pg := pgtest.Start(t, pgtest.Options{})
	tc := &testCluster{t: t, pg: pg, url: pg.NewDatabase(t), tq: "tq-" + uuid.NewString()[:8]}
	for range n {
		tc.add()
	}
	tc.waitBalanced()
	return tc
}

// add starts one more node.
func (tc *testCluster) add() *clusterNode {
	tc.t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("SUNDIAL_TEST_CLUSTER_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil)).With("port", len(tc.nodes))
	}
	srv, err := server.Start(server.Config{Addr: "127.0.0.1:0", Postgres: tc.url, Logger: log,
		Cluster: &server.ClusterConfig{NodeAddr: "127.0.0.1:0", ShardCount: 16, LeasePeriod: clusterLease}})
	if err != nil {
		tc.t.Fatalf("start node: %v", err)
	}
	c, err := client.Dial(client.Options{HostPort: srv.Addr(), Logger: quietLogger{}})
	if err != nil {
		tc.t.Fatalf("dial: %v", err)
	}
	nd := &clusterNode{srv: srv, c: c}
	tc.nodes = append(tc.nodes, nd)
	tc.t.Cleanup(func() { nd.stop() })
	return nd
}

func (nd *clusterNode) stop() {
	if nd.c != nil {
		nd.c.Close()
		nd.c = nil
	}
	if nd.srv != nil {
		nd.srv.Stop()
		nd.srv = nil
	}
}

// kill stops a node as a crash would: no release of its shards.
func (nd *clusterNode) kill() {
	if nd.c != nil {
		nd.c.Close()
		nd.c = nil
	}
	nd.srv.Kill()
	nd.srv = nil
}

// live returns the nodes still running.
func (tc *testCluster) live() []*clusterNode {
	var out []*clusterNode
	for _, nd := range tc.nodes {
		if nd.srv != nil {
			out = append(out, nd)
		}
	}
	return out
}

// waitBalanced waits until the live nodes together hold every shard and
// each holds its share.
func (tc *testCluster) waitBalanced() {
	tc.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		live := tc.live()
		total, ok := 0, true
		for _, nd := range live {
			held := len(nd.srv.Node().Owned())
			total += held
			ok = ok && held >= 16/len(live)
		}
		if ok && total == 16 {
			return
		}
		if time.Now().After(deadline) {
			tc.t.Fatalf("shards not balanced over %d nodes (%d held)", len(live), total)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// workers starts a worker on every live node, on the cluster's queue.
func (tc *testCluster) workers(register func(w worker.Worker)) {
	tc.t.Helper()
	tc.workersOn(tc.live(), register)
}

// workersOn starts a worker on each of nodes, on the cluster's queue.
func (tc *testCluster) workersOn(nodes []*clusterNode, register func(w worker.Worker)) {
	tc.t.Helper()
	for _, nd := range nodes {
		w := worker.New(nd.c, tc.tq, worker.Options{})
		register(w)
		if err := w.Start(); err != nil {
			tc.t.Fatalf("worker start: %v", err)
		}
		tc.t.Cleanup(w.Stop)
	}
}

// idsOnEveryNode returns workflow ids, perNode of them owned by each live
// node (ids are random; the owners are looked up).
func (tc *testCluster) idsOnEveryNode(prefix string, perNode int) []string {
	have := map[int]int{}
	var ids []string
	for len(ids) < perNode*len(tc.live()) {
		id := fmt.Sprintf("%s-%s", prefix, uuid.NewString()[:8])
		if o := tc.ownerOf(id); o >= 0 && have[o] < perNode {
			have[o]++
			ids = append(ids, id)
		}
	}
	return ids
}

// idsOnEveryShard returns one workflow id per shard.
func idsOnEveryShard(prefix string) []string {
	ids := make([]string, 16)
	for n := 0; n < 16; {
		id := fmt.Sprintf("%s-%s", prefix, uuid.NewString()[:8])
		if s := cluster.ShardOf("default", id, 16); ids[s] == "" {
			ids[s] = id
			n++
		}
	}
	return ids
}

// ownerOf returns the index of the node holding a workflow's shard.
func (tc *testCluster) ownerOf(id string) int {
	shard := cluster.ShardOf("default", id, 16)
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

// ClusterGreet is the activity of the cluster tests.
func ClusterGreet(ctx context.Context, name string) (string, error) { return "hello " + name, nil }

// ClusterWorkflow runs an activity, sleeps, answers a query and an
// update, waits for a signal, and returns what it saw.
func ClusterWorkflow(ctx workflow.Context, name string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
	})
	stage := "started"
	if err := workflow.SetQueryHandler(ctx, "stage", func() (string, error) { return stage, nil }); err != nil {
		return "", err
	}
	bumps := 0
	if err := workflow.SetUpdateHandler(ctx, "bump", func(ctx workflow.Context, by int) (int, error) {
		bumps += by
		return bumps, nil
	}); err != nil {
		return "", err
	}
	var greeting string
	if err := workflow.ExecuteActivity(ctx, ClusterGreet, name).Get(ctx, &greeting); err != nil {
		return "", err
	}
	if err := workflow.Sleep(ctx, 20*time.Millisecond); err != nil {
		return "", err
	}
	stage = "waiting"
	var sig string
	workflow.GetSignalChannel(ctx, "go").Receive(ctx, &sig)
	return fmt.Sprintf("%s/%s/%d", greeting, sig, bumps), nil
}

// TestClusterForwarding runs workflows on a 3-node cluster: each is
// started through one node, queried, updated and signaled through the
// others, and its result read through a third; workers poll every node.
func TestClusterForwarding(t *testing.T) {
	tc := newCluster(t, 3)
	tc.workers(func(w worker.Worker) {
		w.RegisterWorkflow(ClusterWorkflow)
		w.RegisterActivity(ClusterGreet)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const n = 12
	owners := map[int]int{}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		id := fmt.Sprintf("cl-%d-%s", i, uuid.NewString()[:6])
		owners[tc.ownerOf(id)]++
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- runClusterWorkflow(ctx, tc, i, id)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if len(owners) < 2 {
		t.Errorf("the workflows' shards were all on one node (%v): the test does not exercise forwarding", owners)
	}
	// Visibility reads the shared store: every node lists and counts all.
	for i, nd := range tc.nodes {
		cnt, err := nd.c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: "default", Query: "ExecutionStatus = 'Completed'"})
		if err != nil || cnt.GetCount() != n {
			t.Errorf("node %d counts %d completed workflows (%v), want %d", i, cnt.GetCount(), err, n)
		}
		list, err := nd.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default", PageSize: 100})
		if err != nil || len(list.GetExecutions()) != n {
			t.Errorf("node %d lists %d workflows (%v), want %d", i, len(list.GetExecutions()), err, n)
		}
	}
	// A namespace registered through one node is served by the others.
	nsc, err := client.NewNamespaceClient(client.Options{HostPort: tc.nodes[0].srv.Addr(), Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer nsc.Close()
	if err := nsc.Register(ctx, &workflowservice.RegisterNamespaceRequest{Namespace: "cluster-ns", WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	c2, err := client.Dial(client.Options{HostPort: tc.nodes[2].srv.Addr(), Namespace: "cluster-ns", Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	run, err := c2.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "in-new-ns", TaskQueue: "nobody"}, ClusterWorkflow, "x")
	if err != nil {
		t.Fatalf("start in a namespace registered through another node: %v", err)
	}
	if _, err := c2.DescribeWorkflowExecution(ctx, run.GetID(), ""); err != nil {
		t.Fatal(err)
	}
}

// runClusterWorkflow drives one ClusterWorkflow through nodes i, i+1, i+2.
func runClusterWorkflow(ctx context.Context, tc *testCluster, i int, id string) error {
	cs := []client.Client{tc.nodes[i%3].c, tc.nodes[(i+1)%3].c, tc.nodes[(i+2)%3].c}
	if i%3 != 0 { // through the nodes without the worker only
		cs = []client.Client{tc.nodes[i%3].c, tc.nodes[3-i%3].c, tc.nodes[i%3].c}
	}
	run, err := cs[0].ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tc.tq}, ClusterWorkflow, id)
	if err != nil {
		return fmt.Errorf("%s: start: %w", id, err)
	}
	// Wait for the workflow to reach its signal wait, through another node.
	for {
		v, err := cs[1].QueryWorkflow(ctx, id, "", "stage")
		if err != nil {
			return fmt.Errorf("%s: query: %w", id, err)
		}
		var stage string
		if err := v.Get(&stage); err != nil {
			return err
		}
		if stage == "waiting" {
			break
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: never reached its signal wait (stage %q)", id, stage)
		}
		time.Sleep(20 * time.Millisecond)
	}
	h, err := cs[2].UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: "bump", Args: []any{3}, WaitForStage: client.WorkflowUpdateStageCompleted})
	if err != nil {
		return fmt.Errorf("%s: update: %w", id, err)
	}
	var bumped int
	if err := h.Get(ctx, &bumped); err != nil || bumped != 3 {
		return fmt.Errorf("%s: update result %d, %v", id, bumped, err)
	}
	if err := cs[1].SignalWorkflow(ctx, id, "", "go", "sig"+id); err != nil {
		return fmt.Errorf("%s: signal: %w", id, err)
	}
	var got string
	if err := cs[2].GetWorkflow(ctx, id, run.GetRunID()).Get(ctx, &got); err != nil {
		return fmt.Errorf("%s: result: %w", id, err)
	}
	if want := fmt.Sprintf("hello %s/sig%s/3", id, id); got != want {
		return fmt.Errorf("%s: result %q, want %q", id, got, want)
	}
	d, err := cs[1].DescribeWorkflowExecution(ctx, id, "")
	if err != nil || d.WorkflowExecutionInfo.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		return fmt.Errorf("%s: describe through another node: %v, %v", id, d.GetWorkflowExecutionInfo().GetStatus(), err)
	}
	return nil
}

// ClusterChild signals its parent, then returns n*10.
func ClusterChild(ctx workflow.Context, n int) (int, error) {
	parent := workflow.GetInfo(ctx).ParentWorkflowExecution
	if err := workflow.SignalExternalWorkflow(ctx, parent.ID, "", "child", n).Get(ctx, nil); err != nil {
		return 0, err
	}
	return n * 10, nil
}

// ClusterParent starts children with ids spread over the shards, sums
// their results and the signals they sent.
func ClusterParent(ctx workflow.Context, kids int) (int, error) {
	var futures []workflow.ChildWorkflowFuture
	for i := range kids {
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: fmt.Sprintf("%s-kid-%d", workflow.GetInfo(ctx).WorkflowExecution.ID, i)})
		futures = append(futures, workflow.ExecuteChildWorkflow(cctx, ClusterChild, i+1))
	}
	sum := 0
	for _, f := range futures {
		var v int
		if err := f.Get(ctx, &v); err != nil {
			return 0, err
		}
		sum += v
	}
	ch := workflow.GetSignalChannel(ctx, "child")
	for range kids {
		var n int
		ch.Receive(ctx, &n)
		sum += n
	}
	return sum, nil
}

// TestClusterChildWorkflows runs parents whose children live on other
// nodes' shards: the child starts, the children's signals to their
// parent and their close notifications cross nodes.
func TestClusterChildWorkflows(t *testing.T) {
	tc := newCluster(t, 3)
	tc.workers(func(w worker.Worker) {
		w.RegisterWorkflow(ClusterParent)
		w.RegisterWorkflow(ClusterChild)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	crossed := 0
	var runs []client.WorkflowRun
	for i := range 4 {
		id := fmt.Sprintf("parent-%d-%s", i, uuid.NewString()[:6])
		for k := range 4 {
			if tc.ownerOf(fmt.Sprintf("%s-kid-%d", id, k)) != tc.ownerOf(id) {
				crossed++
			}
		}
		run, err := tc.nodes[i%3].c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tc.tq}, ClusterParent, 4)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, run)
	}
	if crossed == 0 {
		t.Fatal("no child on another node than its parent: the test does not exercise the cluster")
	}
	for i, run := range runs {
		var sum int
		if err := tc.nodes[(i+1)%3].c.GetWorkflow(ctx, run.GetID(), run.GetRunID()).Get(ctx, &sum); err != nil {
			t.Fatalf("%s: %v", run.GetID(), err)
		}
		if sum != 100+10 {
			t.Errorf("%s: sum %d, want 110", run.GetID(), sum)
		}
		evs := historyOf(t, tc.nodes[i%3].c, run.GetID())
		if n := count(evs, enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED); n != 4 {
			t.Errorf("%s: %d ChildWorkflowExecutionCompleted events, want 4", run.GetID(), n)
		}
		if n := count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED); n != 4 {
			t.Errorf("%s: %d signals, want 4", run.GetID(), n)
		}
	}
}

// ClusterSleeper sleeps, then runs an activity.
func ClusterSleeper(ctx workflow.Context, d time.Duration) (string, error) {
	if err := workflow.Sleep(ctx, d); err != nil {
		return "", err
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	var s string
	err := workflow.ExecuteActivity(ctx, ClusterGreet, "sleeper").Get(ctx, &s)
	return s, err
}

// TestClusterNodeKilled kills (without a graceful leave) the node owning
// the most workflows while they wait for a signal or sleep: the other
// two take its shards after its leases expire, recover the runs, and the
// workflows finish through them.
func TestClusterNodeKilled(t *testing.T) {
	tc := newCluster(t, 3)
	tc.workers(func(w worker.Worker) {
		w.RegisterWorkflow(ClusterWorkflow)
		w.RegisterWorkflow(ClusterSleeper)
		w.RegisterActivity(ClusterGreet)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var ids, sleepers []string
	per := map[int]int{}
	for i := range 9 {
		id := fmt.Sprintf("kill-%d-%s", i, uuid.NewString()[:6])
		if _, err := tc.nodes[i%3].c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tc.tq}, ClusterWorkflow, id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		per[tc.ownerOf(id)]++
		sid := "sleeper-" + id
		if _, err := tc.nodes[i%3].c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: sid, TaskQueue: tc.tq}, ClusterSleeper, 2*time.Second); err != nil {
			t.Fatal(err)
		}
		sleepers = append(sleepers, sid)
		per[tc.ownerOf(sid)]++
	}
	for _, id := range ids {
		waitStage(ctx, t, tc.nodes[0].c, id, "waiting")
	}
	victim := 0
	for i, n := range per {
		if n > per[victim] {
			victim = i
		}
	}
	t.Logf("workflows per node %v; killing node %d", per, victim)
	tc.nodes[victim].kill()
	killed := time.Now()
	tc.waitBalanced()
	t.Logf("shards rebalanced over the two live nodes %v after the kill", time.Since(killed).Round(time.Millisecond))
	live := tc.live()
	for i, id := range ids {
		c := live[i%2].c
		h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: "bump", Args: []any{2}, WaitForStage: client.WorkflowUpdateStageCompleted})
		if err != nil {
			t.Fatalf("%s: update after the kill: %v", id, err)
		}
		var bumped int
		if err := h.Get(ctx, &bumped); err != nil || bumped != 2 {
			t.Fatalf("%s: update result %d, %v", id, bumped, err)
		}
		if err := c.SignalWorkflow(ctx, id, "", "go", "after"); err != nil {
			t.Fatalf("%s: signal after the kill: %v", id, err)
		}
	}
	for i, id := range ids {
		var got string
		if err := live[(i+1)%2].c.GetWorkflow(ctx, id, "").Get(ctx, &got); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if want := fmt.Sprintf("hello %s/after/2", id); got != want {
			t.Errorf("%s: result %q, want %q", id, got, want)
		}
		evs := historyOf(t, live[i%2].c, id)
		if n := count(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED); n != 1 {
			t.Errorf("%s: %d activities completed, want 1", id, n)
		}
	}
	for i, id := range sleepers {
		var got string
		if err := live[i%2].c.GetWorkflow(ctx, id, "").Get(ctx, &got); err != nil || got != "hello sleeper" {
			t.Errorf("%s: %q, %v", id, got, err)
		}
	}
}

// waitStage polls a ClusterWorkflow's "stage" query until it says want.
func waitStage(ctx context.Context, t *testing.T, c client.Client, id, want string) {
	t.Helper()
	for {
		v, err := c.QueryWorkflow(ctx, id, "", "stage")
		if err != nil {
			t.Fatalf("%s: query: %v", id, err)
		}
		var stage string
		if err := v.Get(&stage); err != nil {
			t.Fatal(err)
		}
		if stage == want {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("%s: stage %q, want %q", id, stage, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestClusterTaskQueues has one worker, connected to node 0, for
// workflows started through nodes 1 and 2 and owned by all three: every
// workflow, activity, query, update (speculative task), sticky task and
// child task reaches it through its queue's owner.
func TestClusterTaskQueues(t *testing.T) {
	tc := newCluster(t, 3)
	tc.workersOn(tc.nodes[:1], func(w worker.Worker) {
		w.RegisterWorkflow(ClusterWorkflow)
		w.RegisterWorkflow(ClusterParent)
		w.RegisterWorkflow(ClusterChild)
		w.RegisterActivity(ClusterGreet)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	owners := map[int]int{}
	for i, id := range tc.idsOnEveryNode("tq", 3) {
		owners[tc.ownerOf(id)]++
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- runClusterWorkflow(ctx, tc, 1+i%2, id)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if len(owners) < 3 {
		t.Errorf("workflows owned by %v: not all three nodes", owners)
	}
	run, err := tc.nodes[2].c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "tq-parent-" + uuid.NewString()[:6], TaskQueue: tc.tq}, ClusterParent, 3)
	if err != nil {
		t.Fatal(err)
	}
	var sum int
	if err := tc.nodes[1].c.GetWorkflow(ctx, run.GetID(), run.GetRunID()).Get(ctx, &sum); err != nil || sum != 60+6 {
		t.Fatalf("parent: %d, %v", sum, err)
	}
}

// clusterBinStart starts the sundial binary as a node of the cluster in
// the database at url, its internal port at nodeAddr, with 1 s leases.
func clusterBinStart(t *testing.T, bin, url, nodeAddr string) *binProc {
	t.Helper()
	return clusterBinStartArgs(t, bin, url, nodeAddr, "--port", "0")
}

// clusterBinStartArgs starts a cluster node with extra flags.
func clusterBinStartArgs(t *testing.T, bin, url, nodeAddr string, extra ...string) *binProc {
	t.Helper()
	args := append([]string{"start", "--ip", "127.0.0.1", "--postgres", url, "--node-addr", nodeAddr,
		"--lease-period", "1s", "--log-level", "warn", "--headless"}, extra...)
	return binRun(t, bin, args...)
}

// TestClusterBinarySIGKILL runs three sundial processes as one cluster
// on a throwaway PostgreSQL, with workers on two of them. Under a load of
// starts and signals sent through node 0 (for workflows of all three),
// node 2 is killed with SIGKILL: every start and signal acknowledged
// before is there afterwards (read through node 1), and workflows that
// were sleeping or waiting on node 2's shards finish on the others.
func TestClusterBinarySIGKILL(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	url := pg.NewDatabase(t)
	bin := binBuild(t, t.TempDir())
	var nodes []*binProc
	for i := range 3 {
		nodes = append(nodes, clusterBinStart(t, bin, url, fmt.Sprintf("127.0.0.1:%d", 18510+i)))
	}
	if !strings.Contains(nodes[2].out(), "node 127.0.0.1:18512 of a cluster of 64 shards") {
		t.Fatalf("startup line: %s", nodes[2].out())
	}
	c0, c1 := nodes[0].client(t), nodes[1].client(t)
	tq := "bin-cluster-" + uuid.NewString()[:6]
	for _, c := range []client.Client{c0, c1} {
		binWorker(t, c, tq, func(w worker.Worker) {
			w.RegisterWorkflow(ClusterSleeper)
			w.RegisterWorkflow(ClusterWorkflow)
			w.RegisterActivity(ClusterGreet)
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var sleepers, waiters []string
	for i := range 12 {
		id := fmt.Sprintf("bin-sleeper-%d", i)
		if _, err := c0.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tq}, ClusterSleeper, 3*time.Second); err != nil {
			t.Fatal(err)
		}
		sleepers = append(sleepers, id)
		id = fmt.Sprintf("bin-waiter-%d", i)
		if _, err := c1.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tq}, ClusterWorkflow, id); err != nil {
			t.Fatal(err)
		}
		waiters = append(waiters, id)
	}
	for _, id := range waiters {
		waitStage(ctx, t, c1, id, "waiting")
	}
	load, err := client.Dial(client.Options{HostPort: nodes[0].addr, Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	acked := ackedWritesUntilKill(t, load, "bin-cl-acked", time.Second, func() {
		_ = nodes[2].signalAndWait(syscall.SIGKILL, 5*time.Second)
	})
	killed := time.Now()
	requireAckedWrites(t, c1, acked)
	t.Logf("acknowledged writes checked %v after the kill", time.Since(killed).Round(time.Millisecond))
	for _, id := range waiters {
		if err := c0.SignalWorkflow(ctx, id, "", "go", "after"); err != nil {
			t.Fatalf("%s: signal after the kill: %v", id, err)
		}
	}
	for _, id := range waiters {
		var got string
		if err := c1.GetWorkflow(ctx, id, "").Get(ctx, &got); err != nil || got != fmt.Sprintf("hello %s/after/0", id) {
			t.Errorf("%s: %q, %v", id, got, err)
		}
	}
	for _, id := range sleepers {
		var got string
		if err := c0.GetWorkflow(ctx, id, "").Get(ctx, &got); err != nil || got != "hello sleeper" {
			t.Errorf("%s: %q, %v", id, got, err)
		}
	}
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestClusterFencedWriteRefused takes a shard away from a node behind its
// back (as a takeover by another node while it was paused would): the
// node, still believing it holds the shard, writes with its old epoch;
// the store refuses the write (fencing), the client gets Unavailable and
// nothing of it is stored; the node drops the shard's cached runs, takes
// the shard back at a new epoch when it sees it free, reloads the run
// from the store and serves it again.
func TestClusterFencedWriteRefused(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	url := pg.NewDatabase(t)
	logs := &syncBuffer{}
	srv, err := server.Start(server.Config{Addr: "127.0.0.1:0", Postgres: url, Logger: slog.New(slog.NewTextHandler(logs, nil)),
		Cluster: &server.ClusterConfig{NodeAddr: "127.0.0.1:0", ShardCount: 16, LeasePeriod: 6 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	c, err := client.Dial(client.Options{HostPort: srv.Addr(), Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const id = "fenced-wf"
	if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "nobody"}, ClusterWorkflow, "x"); err != nil {
		t.Fatal(err)
	}
	if err := c.SignalWorkflow(ctx, id, "", "go", "first"); err != nil {
		t.Fatal(err)
	}
	shard := cluster.ShardOf("default", id, 16)
	epoch := srv.Node().Owned()[shard]
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `UPDATE shard_leases SET owner = 'ghost', epoch = epoch + 1 WHERE shard = $1`, shard); err != nil {
		t.Fatal(err)
	}
	// A raw call (the SDK would retry Unavailable).
	gc, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer gc.Close()
	_, err = workflowservice.NewWorkflowServiceClient(gc).SignalWorkflowExecution(ctx, &workflowservice.SignalWorkflowExecutionRequest{
		Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: id}, SignalName: "go", Identity: "test", RequestId: uuid.NewString()})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("signal with the lease taken away: %v, want Unavailable", err)
	}
	if !strings.Contains(logs.String(), "write fenced") {
		t.Errorf("the refused signal did not reach the store's fence (the lease loss was noticed first?); log:\n%s", logs.String())
	}
	// The node sees the shard's owner is not live and takes it back.
	deadline := time.Now().Add(20 * time.Second)
	for srv.Node().Owned()[shard] <= epoch+1 {
		if time.Now().After(deadline) {
			t.Fatalf("shard %d not taken back (epochs %v)", shard, srv.Node().Owned())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := c.SignalWorkflow(ctx, id, "", "go", "third"); err != nil {
		t.Fatalf("signal after the shard came back: %v", err)
	}
	evs := historyOf(t, c, id)
	var sigs []string
	for _, ev := range evs {
		if a := ev.GetWorkflowExecutionSignaledEventAttributes(); a != nil {
			var s string
			if len(a.GetInput().GetPayloads()) > 0 {
				s = string(a.GetInput().GetPayloads()[0].GetData())
			}
			sigs = append(sigs, s)
		}
	}
	if len(sigs) != 2 || sigs[0] != `"first"` || sigs[1] != `"third"` {
		t.Fatalf("signals stored %q, want first and third only", sigs)
	}
}

// TestClusterNodeJoins starts workflows on two nodes, then a third node
// joins: the others release its share of shards (dropping their cached
// runs first) and it takes them; the workflows, some now owned by the
// joiner, finish through any node, the joiner's worker included.
func TestClusterNodeJoins(t *testing.T) {
	tc := newCluster(t, 2)
	tc.workers(func(w worker.Worker) {
		w.RegisterWorkflow(ClusterWorkflow)
		w.RegisterWorkflow(ClusterSleeper)
		w.RegisterActivity(ClusterGreet)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ids := idsOnEveryShard("join") // so some move to the joiner
	for i, id := range ids {
		if _, err := tc.nodes[i%2].c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tc.tq}, ClusterWorkflow, id); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range ids {
		waitStage(ctx, t, tc.nodes[1].c, id, "waiting")
	}
	joiner := tc.add()
	tc.waitBalanced()
	tc.workersOn([]*clusterNode{joiner}, func(w worker.Worker) {
		w.RegisterWorkflow(ClusterWorkflow)
		w.RegisterActivity(ClusterGreet)
	})
	moved := 0
	for i, id := range ids {
		if tc.ownerOf(id) == 2 {
			moved++
		}
		if err := tc.nodes[i%3].c.SignalWorkflow(ctx, id, "", "go", "joined"); err != nil {
			t.Fatalf("%s: signal after the join: %v", id, err)
		}
	}
	if moved == 0 {
		t.Fatal("no workflow moved to the joiner: the test does not exercise the move")
	}
	for i, id := range ids {
		var got string
		if err := tc.nodes[(i+1)%3].c.GetWorkflow(ctx, id, "").Get(ctx, &got); err != nil || got != fmt.Sprintf("hello %s/joined/0", id) {
			t.Errorf("%s: %q, %v", id, got, err)
		}
	}
	t.Logf("%d of %d workflows moved to the joiner", moved, len(ids))
}

// TestClusterPostgresRestart restarts PostgreSQL (fast shutdown cuts every
// connection) while workflows with timers and activities run on three
// nodes: heartbeats and writes fail for the outage, leases may lapse and
// shards move at new epochs; every workflow completes once, with one
// activity in its history.
func TestClusterPostgresRestart(t *testing.T) {
	tc := newCluster(t, 3)
	tc.workers(func(w worker.Worker) {
		w.RegisterWorkflow(ClusterSleeper)
		w.RegisterActivity(ClusterGreet)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var ids []string
	for i := range 24 {
		id := fmt.Sprintf("pgr-%d-%s", i, uuid.NewString()[:6])
		d := time.Duration(200*(i%6)) * time.Millisecond
		if _, err := tc.nodes[i%3].c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tc.tq}, ClusterSleeper, d); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	time.Sleep(300 * time.Millisecond)
	if err := tc.pg.Restart(); err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		var got string
		if err := tc.nodes[(i+1)%3].c.GetWorkflow(ctx, id, "").Get(ctx, &got); err != nil || got != "hello sleeper" {
			t.Fatalf("%s: %q, %v", id, got, err)
		}
		evs := historyOf(t, tc.nodes[i%3].c, id)
		requireWellFormed(t, evs)
		if n := count(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED); n != 1 {
			t.Errorf("%s: %d activities completed: %v", id, n, types(evs))
		}
	}
}

// TestClusterNexus runs synchronous and asynchronous (workflow-run) Nexus
// operations on a cluster: the endpoint is created through node 1, the
// only worker (callers, handlers, handler workflows) is on node 0, callers
// are started through node 2; caller and handler workflows are spread
// over the nodes, so Nexus tasks, the handler's start and the completion
// callback cross nodes.
func TestClusterNexus(t *testing.T) {
	tc := newCluster(t, 3)
	_, err := tc.nodes[1].c.OperatorService().CreateNexusEndpoint(context.Background(), &operatorservice.CreateNexusEndpointRequest{Spec: &nexuspb.EndpointSpec{
		Name: "cluster-ep", Target: &nexuspb.EndpointTarget{Variant: &nexuspb.EndpointTarget_Worker_{Worker: &nexuspb.EndpointTarget_Worker{Namespace: "default", TaskQueue: tc.tq}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tc.workersOn(tc.nodes[:1], func(w worker.Worker) {
		w.RegisterWorkflow(nexusCaller)
		w.RegisterWorkflow(nexusAsyncCaller)
		w.RegisterWorkflow(nexusAsyncHandlerWF)
		sync := nexus.NewService(nexusTestService)
		if err := sync.Register(nexusHello); err != nil {
			t.Fatal(err)
		}
		async := nexus.NewService(nexusAsyncService)
		if err := async.Register(nexusRunOp); err != nil {
			t.Fatal(err)
		}
		w.RegisterNexusService(sync)
		w.RegisterNexusService(async)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	type call struct {
		run  client.WorkflowRun
		want string
	}
	var calls []call
	crossed := 0
	for i := range 6 {
		id := fmt.Sprintf("nx-sync-%d-%s", i, uuid.NewString()[:6])
		run, err := tc.nodes[2].c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tc.tq}, nexusCaller, "cluster-ep", "hello", id, 20*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		calls = append(calls, call{run, "Hello, " + id})
		id = fmt.Sprintf("nx-async-%d-%s", i, uuid.NewString()[:6])
		hid := "handler-" + id
		for i%2 == 0 && tc.ownerOf(hid) == tc.ownerOf(id) { // half of them on another node for sure
			hid = "handler-" + uuid.NewString()[:6] + "-" + id
		}
		if tc.ownerOf(hid) != tc.ownerOf(id) {
			crossed++
		}
		run, err = tc.nodes[2].c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tc.tq}, nexusAsyncCaller, "cluster-ep",
			asyncIn{ID: hid, Mode: "ok", Name: id}, 20*time.Second, false)
		if err != nil {
			t.Fatal(err)
		}
		calls = append(calls, call{run, "Hello, " + id})
	}
	if crossed == 0 {
		t.Fatal("no handler workflow on another node than its caller")
	}
	for _, c := range calls {
		var got string
		if err := tc.nodes[1].c.GetWorkflow(ctx, c.run.GetID(), c.run.GetRunID()).Get(ctx, &got); err != nil || got != c.want {
			t.Errorf("%s: %q, %v; want %q", c.run.GetID(), got, err, c.want)
		}
	}
}

// TestClusterWorkerShutdownMovesStickyTasks: a worker on node 0 stops
// (ShutdownWorker reaches node 0, which tells the others) while runs owned
// by all three nodes are sticky to it; a new worker on node 1 gets their
// next tasks at once, not after the 10 s sticky schedule-to-start timeout.
func TestClusterWorkerShutdownMovesStickyTasks(t *testing.T) {
	tc := newCluster(t, 3)
	w1 := worker.New(tc.nodes[0].c, tc.tq, worker.Options{StickyScheduleToStartTimeout: 10 * time.Second})
	w1.RegisterWorkflow(WaitAnySignalWorkflow)
	if err := w1.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var runs []client.WorkflowRun
	owners := map[int]bool{}
	for i, id := range tc.idsOnEveryNode("sticky", 2) {
		owners[tc.ownerOf(id)] = true
		run, err := tc.nodes[i%3].c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tc.tq}, WaitAnySignalWorkflow)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, run)
	}
	for _, run := range runs {
		deadline := time.Now().Add(10 * time.Second)
		for count(historyOf(t, tc.nodes[1].c, run.GetID()), enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: first task never completed", run.GetID())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	w1.Stop()
	tc.workersOn(tc.nodes[1:2], func(w worker.Worker) { w.RegisterWorkflow(WaitAnySignalWorkflow) })
	start := time.Now()
	for _, run := range runs {
		if err := tc.nodes[2].c.SignalWorkflow(ctx, run.GetID(), "", "go", "w2"); err != nil {
			t.Fatal(err)
		}
	}
	for _, run := range runs {
		var out string
		if err := tc.nodes[2].c.GetWorkflow(ctx, run.GetID(), run.GetRunID()).Get(ctx, &out); err != nil || out != "got w2" {
			t.Fatalf("%s: %q, %v", run.GetID(), out, err)
		}
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("tasks took %v to reach the new worker (owners %v)", el, owners)
	}
	if len(owners) < 2 {
		t.Errorf("runs owned by %v only", owners)
	}
}
