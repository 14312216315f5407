package gosdk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nexus-rpc/sdk-go/nexus"
	enumspb "go.temporal.io/api/enums/v1"
	nexuspb "go.temporal.io/api/nexus/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Standalone activities and Nexus operations on a cluster
// (docs/CLUSTER.md, "Standalone activities and Nexus operations"): each
// belongs to the node owning the shard of its id; requests by id or task
// token reach it from any node, its tasks reach workers polling any node,
// and a node that takes its shard carries it on.

// idsOwnedBy returns n activity ids whose shard node i holds.
func (tc *testCluster) idsOwnedBy(prefix string, i, n int) []string {
	var ids []string
	for len(ids) < n {
		id := fmt.Sprintf("%s-%s", prefix, uuid.NewString()[:8])
		if tc.ownerOf(id) == i {
			ids = append(ids, id)
		}
	}
	return ids
}

func listActivityIDs(ctx context.Context, t *testing.T, c client.Client, q string) []string {
	t.Helper()
	res, err := c.ListActivities(ctx, client.ListActivitiesOptions{Query: q})
	if err != nil {
		t.Fatalf("ListActivities(%q): %v", q, err)
	}
	var ids []string
	for info, err := range res.Results {
		if err != nil {
			t.Fatalf("ListActivities(%q): %v", q, err)
		}
		ids = append(ids, info.ActivityID)
	}
	return ids
}

// TestClusterStandaloneActivities: activities owned by all three nodes,
// started through node 0, run by the only worker, on node 1 (their tasks
// go to the queue's owner, and each start to the activity's owner), their
// results read, described, listed and counted through node 2; a
// heartbeating one is canceled through node 2 (its heartbeats, sent to
// node 1 with its task token, reach its owner and tell it so).
func TestClusterStandaloneActivities(t *testing.T) {
	tc := newCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var ran atomic.Int32
	heartbeating := make(chan struct{}, 1)
	tc.workersOn(tc.nodes[1:2], func(w worker.Worker) {
		w.RegisterActivityWithOptions(func(ctx context.Context, name string) (string, error) {
			ran.Add(1)
			return "hello " + name, nil
		}, activity.RegisterOptions{Name: "ClusterSAGreet"})
		w.RegisterActivityWithOptions(func(ctx context.Context) error {
			for i := 0; ; i++ {
				activity.RecordHeartbeat(ctx, i)
				if i == 1 {
					heartbeating <- struct{}{}
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(200 * time.Millisecond):
				}
			}
		}, activity.RegisterOptions{Name: "ClusterSAHeartbeat"})
	})
	ids := tc.idsOnEveryNode("sa", 3)
	var handles []client.ActivityHandle
	for _, id := range ids {
		h, err := tc.nodes[0].c.ExecuteActivity(ctx, client.StartActivityOptions{ID: id, TaskQueue: tc.tq, StartToCloseTimeout: 10 * time.Second}, "ClusterSAGreet", id)
		if err != nil {
			t.Fatalf("start %s: %v", id, err)
		}
		handles = append(handles, h)
	}
	c2 := tc.nodes[2].c
	for i, id := range ids {
		var got string
		if err := c2.GetActivityHandle(client.GetActivityHandleOptions{ActivityID: id}).Get(ctx, &got); err != nil || got != "hello "+id {
			t.Fatalf("%s (owner node %d): result %q, %v", id, tc.ownerOf(id), got, err)
		}
		d, err := c2.GetActivityHandle(client.GetActivityHandleOptions{ActivityID: id, RunID: handles[i].GetRunID()}).Describe(ctx, client.DescribeActivityOptions{})
		if err != nil {
			t.Fatalf("%s: describe: %v", id, err)
		}
		if d.Status != enumspb.ACTIVITY_EXECUTION_STATUS_COMPLETED || d.Attempt != 1 || d.ActivityRunID != handles[i].GetRunID() {
			t.Fatalf("%s: described %v, attempt %d, run %s", id, d.Status, d.Attempt, d.ActivityRunID)
		}
	}
	if n := ran.Load(); n != int32(len(ids)) {
		t.Errorf("activities ran %d times, want %d", n, len(ids))
	}
	for i, nd := range tc.nodes {
		got := listActivityIDs(ctx, t, nd.c, "ActivityType = 'ClusterSAGreet'")
		slices.Sort(got)
		want := slices.Sorted(slices.Values(ids))
		if !slices.Equal(got, want) {
			t.Fatalf("list through node %d: %v, want %v", i, got, want)
		}
	}
	cnt, err := c2.CountActivities(ctx, client.CountActivitiesOptions{Query: "ExecutionStatus = 'Completed'"})
	if err != nil || cnt.Count != int64(len(ids)) {
		t.Fatalf("count through node 2: %+v, %v", cnt, err)
	}

	// Cancel a running one through another node than its worker's.
	hbID := tc.idsOwnedBy("sa-hb", 0, 1)[0]
	h, err := tc.nodes[0].c.ExecuteActivity(ctx, client.StartActivityOptions{ID: hbID, TaskQueue: tc.tq,
		StartToCloseTimeout: 30 * time.Second, HeartbeatTimeout: 5 * time.Second}, "ClusterSAHeartbeat")
	if err != nil {
		t.Fatal(err)
	}
	<-heartbeating
	if err := c2.GetActivityHandle(client.GetActivityHandleOptions{ActivityID: hbID}).Cancel(ctx, client.CancelActivityOptions{Reason: "enough"}); err != nil {
		t.Fatalf("cancel through node 2: %v", err)
	}
	var canceled *temporal.CanceledError
	if err := h.Get(ctx, nil); !errors.As(err, &canceled) {
		t.Fatalf("heartbeating activity after cancel: %v", err)
	}
	d, err := c2.GetActivityHandle(client.GetActivityHandleOptions{ActivityID: hbID}).Describe(ctx, client.DescribeActivityOptions{IncludeHeartbeatDetails: true})
	if err != nil || d.Status != enumspb.ACTIVITY_EXECUTION_STATUS_CANCELED || d.TotalHeartbeatCount < 2 {
		t.Fatalf("described after cancel: %+v, %v", d, err)
	}

	// Completed by id (no workflow id, no token) through a node that does
	// not own it, then deleted through another.
	byID := tc.idsOwnedBy("sa-byid", 0, 1)[0]
	if _, err := tc.nodes[0].c.ExecuteActivity(ctx, client.StartActivityOptions{ID: byID, TaskQueue: "nobody-" + tc.tq, ScheduleToCloseTimeout: time.Minute}, "Manual"); err != nil {
		t.Fatal(err)
	}
	result, _ := converter.GetDefaultDataConverter().ToPayloads("by id")
	if _, err := tc.nodes[1].c.WorkflowService().RespondActivityTaskCompletedById(ctx, &workflowservice.RespondActivityTaskCompletedByIdRequest{
		Namespace: "default", ActivityId: byID, Result: result}); err != nil {
		t.Fatalf("complete by id through node 1: %v", err)
	}
	var got string
	if err := c2.GetActivityHandle(client.GetActivityHandleOptions{ActivityID: byID}).Get(ctx, &got); err != nil || got != "by id" {
		t.Fatalf("completed by id: %q, %v", got, err)
	}
	if _, err := tc.nodes[1].c.WorkflowService().DeleteActivityExecution(ctx, &workflowservice.DeleteActivityExecutionRequest{Namespace: "default", ActivityId: byID}); err != nil {
		t.Fatalf("delete through node 1: %v", err)
	}
	var nf *serviceerror.NotFound
	if _, err := c2.GetActivityHandle(client.GetActivityHandleOptions{ActivityID: byID}).Describe(ctx, client.DescribeActivityOptions{}); !errors.As(err, &nf) {
		t.Fatalf("describe after delete through node 2: %v", err)
	}
	if got := listActivityIDs(ctx, t, tc.nodes[0].c, "ActivityId = '"+byID+"'"); len(got) != 0 {
		t.Fatalf("listed after delete: %v", got)
	}
}

// TestClusterStandaloneActivityOwnerKilled: node 0 owns three activities
// when it is killed: one running in a worker on node 1, one waiting for a
// worker, one waiting out its retry backoff. The node that takes each
// shard carries them on: the running one's completion (sent to node 1)
// reaches it, the waiting one's task reaches a worker started on node 2
// after the kill, and the retry fires on time.
func TestClusterStandaloneActivityOwnerKilled(t *testing.T) {
	tc := newCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	running := make(chan struct{}, 1)
	release := make(chan struct{})
	var retried atomic.Int32
	tc.workersOn(tc.nodes[1:2], func(w worker.Worker) {
		w.RegisterActivityWithOptions(func(ctx context.Context) (string, error) {
			running <- struct{}{}
			<-release
			return "finished", nil
		}, activity.RegisterOptions{Name: "ClusterSALong"})
		w.RegisterActivityWithOptions(func(ctx context.Context) (int32, error) {
			a := activity.GetInfo(ctx).Attempt
			if a == 1 {
				return 0, errors.New("first attempt fails")
			}
			retried.Add(1)
			return a, nil
		}, activity.RegisterOptions{Name: "ClusterSARetry"})
	})
	ids := tc.idsOwnedBy("sa-kill", 0, 3)
	c1, c2 := tc.nodes[1].c, tc.nodes[2].c
	long, err := c1.ExecuteActivity(ctx, client.StartActivityOptions{ID: ids[0], TaskQueue: tc.tq, StartToCloseTimeout: 30 * time.Second}, "ClusterSALong")
	if err != nil {
		t.Fatal(err)
	}
	<-running
	laterQueue := "later-" + tc.tq
	queued, err := c2.ExecuteActivity(ctx, client.StartActivityOptions{ID: ids[1], TaskQueue: laterQueue, StartToCloseTimeout: 30 * time.Second}, "ClusterSALater")
	if err != nil {
		t.Fatal(err)
	}
	retry, err := c1.ExecuteActivity(ctx, client.StartActivityOptions{ID: ids[2], TaskQueue: tc.tq, StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 3 * time.Second, BackoffCoefficient: 1}}, "ClusterSARetry")
	if err != nil {
		t.Fatal(err)
	}
	// Wait until the first attempt failed (the retry is then pending).
	for {
		d, err := c2.GetActivityHandle(client.GetActivityHandleOptions{ActivityID: ids[2]}).Describe(ctx, client.DescribeActivityOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if d.Attempt == 2 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	tc.nodes[0].kill()
	killed := time.Now()
	tc.waitBalanced()
	t.Logf("shards moved %v after the kill", time.Since(killed).Round(time.Millisecond))
	close(release)
	var got string
	if err := long.Get(ctx, &got); err != nil || got != "finished" {
		t.Fatalf("running activity after its owner was killed: %q, %v", got, err)
	}
	w := worker.New(c2, laterQueue, worker.Options{})
	w.RegisterActivityWithOptions(func(ctx context.Context) (string, error) { return "later", nil }, activity.RegisterOptions{Name: "ClusterSALater"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if err := queued.Get(ctx, &got); err != nil || got != "later" {
		t.Fatalf("queued activity after its owner was killed: %q, %v", got, err)
	}
	var attempt int32
	if err := retry.Get(ctx, &attempt); err != nil || attempt != 2 {
		t.Fatalf("retried activity after its owner was killed: %d, %v", attempt, err)
	}
	if n := retried.Load(); n != 1 {
		t.Errorf("second attempt ran %d times, want 1", n)
	}
	for i, id := range ids {
		d, err := c1.GetActivityHandle(client.GetActivityHandleOptions{ActivityID: id}).Describe(ctx, client.DescribeActivityOptions{})
		if err != nil || d.Status != enumspb.ACTIVITY_EXECUTION_STATUS_COMPLETED {
			t.Fatalf("activity %d described after the kill: %+v, %v", i, d, err)
		}
	}
	if got := listActivityIDs(ctx, t, c2, "ExecutionStatus = 'Completed'"); len(got) != 3 {
		t.Fatalf("list after the kill: %v", got)
	}
}

// pollNexusOp long-polls a standalone Nexus operation (runID "": the
// latest run) through c until it reached stage.
func pollNexusOp(ctx context.Context, t *testing.T, c client.Client, id, runID string, stage enumspb.NexusOperationWaitStage) *workflowservice.PollNexusOperationExecutionResponse {
	t.Helper()
	for ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		resp, err := c.WorkflowService().PollNexusOperationExecution(pctx, &workflowservice.PollNexusOperationExecutionRequest{
			Namespace: "default", OperationId: id, RunId: runID, WaitStage: stage})
		cancel()
		if isUnavailable(err) {
			time.Sleep(100 * time.Millisecond) // a shard moving between nodes: retry
			continue
		}
		if err != nil {
			t.Fatalf("PollNexusOperationExecution %s: %v", id, err)
		}
		if resp.WaitStage != enumspb.NEXUS_OPERATION_WAIT_STAGE_UNSPECIFIED {
			return resp
		}
	}
	t.Fatalf("operation %s never reached %v", id, stage)
	return nil
}

// TestClusterStandaloneNexus: standalone Nexus operations owned by all
// three nodes, started through node 2 on an endpoint created through node
// 1, handled by the only worker, on node 0 (synchronous ones, and
// workflow-run ones whose handler workflow is on another node than the
// operation, its completion sent to the operation's owner), polled
// through node 1, described and listed through every node. Then the
// owner of a started operation is killed: the handler workflow's
// completion reaches the node that took the operation's shard.
func TestClusterStandaloneNexus(t *testing.T) {
	tc := newCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	endpoint := "sn-cluster-ep-" + tc.tq
	_, err := tc.nodes[1].c.OperatorService().CreateNexusEndpoint(ctx, &operatorservice.CreateNexusEndpointRequest{Spec: &nexuspb.EndpointSpec{
		Name: endpoint, Target: &nexuspb.EndpointTarget{Variant: &nexuspb.EndpointTarget_Worker_{Worker: &nexuspb.EndpointTarget_Worker{Namespace: "default", TaskQueue: tc.tq}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tc.workersOn(tc.nodes[:1], func(w worker.Worker) {
		w.RegisterWorkflow(nexusAsyncHandlerWF)
		sync := nexus.NewService(nexusTestService)
		sync.MustRegister(nexusHello)
		async := nexus.NewService(nexusAsyncService)
		async.MustRegister(nexusRunOp)
		w.RegisterNexusService(sync)
		w.RegisterNexusService(async)
	})
	start := func(via int, id, service, op string, in any) string {
		t.Helper()
		req := &workflowservice.StartNexusOperationExecutionRequest{
			Namespace: "default", Identity: "cluster-test", RequestId: uuid.NewString(), OperationId: id,
			Endpoint: endpoint, Service: service, Operation: op, Input: snPayload(t, in),
			ScheduleToCloseTimeout: durationpb.New(time.Minute),
		}
		resp, err := tc.nodes[via].c.WorkflowService().StartNexusOperationExecution(ctx, req)
		for isUnavailable(err) { // a shard moving between nodes: retry (same request id)
			time.Sleep(100 * time.Millisecond)
			resp, err = tc.nodes[via].c.WorkflowService().StartNexusOperationExecution(ctx, req)
		}
		if err != nil || !resp.Started {
			t.Fatalf("start %s through node %d: %v, %v", id, via, resp, err)
		}
		return resp.RunId
	}
	// handlerElsewhere returns a handler workflow id owned by another node
	// than the operation's.
	handlerElsewhere := func(opID string) string {
		for {
			hid := "handler-" + uuid.NewString()[:8]
			if tc.ownerOf(hid) != tc.ownerOf(opID) {
				return hid
			}
		}
	}
	ids := tc.idsOnEveryNode("snx", 2)
	want := map[string]string{}
	var handlers []string
	for i, id := range ids {
		if i%2 == 0 {
			start(2, id, nexusTestService, "hello", id)
			want[id] = "Hello, " + id
			continue
		}
		hid := handlerElsewhere(id)
		handlers = append(handlers, hid)
		start(2, id, nexusAsyncService, "run", asyncIn{ID: hid, Mode: "wait"})
		if p := pollNexusOp(ctx, t, tc.nodes[1].c, id, "", enumspb.NEXUS_OPERATION_WAIT_STAGE_STARTED); p.OperationToken == "" {
			t.Fatalf("%s: started without an operation token: %v", id, p)
		}
		if err := tc.nodes[2].c.SignalWorkflow(ctx, hid, "", "finish", id); err != nil {
			t.Fatal(err)
		}
		want[id] = "Finished " + id
	}
	for _, id := range ids {
		p := pollNexusOp(ctx, t, tc.nodes[1].c, id, "", enumspb.NEXUS_OPERATION_WAIT_STAGE_CLOSED)
		if got := snResult(t, p.GetResult()); got != want[id] {
			t.Fatalf("%s (owner node %d): result %q (failure %v), want %q", id, tc.ownerOf(id), got, p.GetFailure(), want[id])
		}
	}
	for i, nd := range tc.nodes {
		for _, id := range ids {
			d, err := nd.c.WorkflowService().DescribeNexusOperationExecution(ctx, &workflowservice.DescribeNexusOperationExecutionRequest{Namespace: "default", OperationId: id})
			for isUnavailable(err) {
				time.Sleep(100 * time.Millisecond)
				d, err = nd.c.WorkflowService().DescribeNexusOperationExecution(ctx, &workflowservice.DescribeNexusOperationExecutionRequest{Namespace: "default", OperationId: id})
			}
			if err != nil || d.Info.Status != enumspb.NEXUS_OPERATION_EXECUTION_STATUS_COMPLETED || d.Info.Attempt != 1 {
				t.Fatalf("%s described through node %d: %v, %v", id, i, d, err)
			}
		}
		l, err := nd.c.WorkflowService().ListNexusOperationExecutions(ctx, &workflowservice.ListNexusOperationExecutionsRequest{Namespace: "default", Query: "Endpoint = '" + endpoint + "'"})
		if err != nil || len(l.Operations) != len(ids) {
			t.Fatalf("list through node %d: %d operations, %v", i, len(l.GetOperations()), err)
		}
	}
	cnt, err := tc.nodes[1].c.WorkflowService().CountNexusOperationExecutions(ctx, &workflowservice.CountNexusOperationExecutionsRequest{Namespace: "default", Query: "ExecutionStatus = 'Completed'"})
	if err != nil || cnt.Count != int64(len(ids)) {
		t.Fatalf("count: %v, %v", cnt, err)
	}
	for _, hid := range handlers {
		if n := count(historyOf(t, tc.nodes[0].c, hid), enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED); n != 1 {
			t.Errorf("handler %s: %d completions", hid, n)
		}
	}

	// The owner of a started operation dies; its handler workflow (on
	// node 0 or 1) completes afterwards.
	id := tc.idsOwnedBy("snx-kill", 2, 1)[0]
	var hid string
	for hid == "" || tc.ownerOf(hid) == 2 {
		hid = "handler-" + uuid.NewString()[:8]
	}
	start(1, id, nexusAsyncService, "run", asyncIn{ID: hid, Mode: "wait"})
	pollNexusOp(ctx, t, tc.nodes[1].c, id, "", enumspb.NEXUS_OPERATION_WAIT_STAGE_STARTED)
	tc.nodes[2].kill()
	tc.waitBalanced()
	if err := tc.nodes[0].c.SignalWorkflow(ctx, hid, "", "finish", "after"); err != nil {
		t.Fatal(err)
	}
	p := pollNexusOp(ctx, t, tc.nodes[1].c, id, "", enumspb.NEXUS_OPERATION_WAIT_STAGE_CLOSED)
	if got := snResult(t, p.GetResult()); got != "Finished after" {
		t.Fatalf("after its owner was killed: result %q (failure %v)", got, p.GetFailure())
	}
}

func isUnavailable(err error) bool {
	var u *serviceerror.Unavailable
	return errors.As(err, &u)
}
