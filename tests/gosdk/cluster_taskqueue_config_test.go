package gosdk

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/sundial-io/sundial/internal/cluster"
	"github.com/sundial-io/sundial/internal/matching"
)

// Task queue configurations on a cluster (docs/CLUSTER.md, "Namespaces,
// rules and task queue configurations across nodes").

// ClusterQueueActWF runs one activity on the activity queue it is given.
func ClusterQueueActWF(ctx workflow.Context, queue string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{TaskQueue: queue, StartToCloseTimeout: 10 * time.Second})
	var s string
	err := workflow.ExecuteActivity(ctx, "ClusterQueueAct").Get(ctx, &s)
	return s, err
}

// activityQueueOwnedBy returns an activity queue name whose owner is node i.
func (tc *testCluster) activityQueueOwnedBy(i int) string {
	for {
		name := "aq-" + uuid.NewString()[:8]
		shard := cluster.ShardOf("default", matching.ShardKey(matching.Activity, name), 16)
		if _, ok := tc.nodes[i].srv.Node().Fence(shard); ok {
			return name
		}
	}
}

// TestClusterTaskQueueConfig pauses (rate 0) an activity queue that node 1
// owns through node 0: both nodes describe the configuration, and the
// activities of workflows owned by either node stay scheduled although a
// worker polls the queue (through node 0). Node 1 is killed: node 0, the
// queue's new owner, describes and enforces the stored configuration.
// The rate is raised through node 0 and the activities run.
func TestClusterTaskQueueConfig(t *testing.T) {
	tc := newCluster(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	aq := tc.activityQueueOwnedBy(1)
	ws0 := tc.nodes[0].c.WorkflowService()
	var resp *workflowservice.UpdateTaskQueueConfigResponse
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		// Unavailable until node 0's view of the shards is a heartbeat old.
		resp, err = ws0.UpdateTaskQueueConfig(ctx, &workflowservice.UpdateTaskQueueConfigRequest{Namespace: "default", Identity: "ops",
			TaskQueue: aq, TaskQueueType: enumspb.TASK_QUEUE_TYPE_ACTIVITY, UpdateQueueRateLimit: setQueueRate(0, "paused")})
		if !errors.As(err, new(*serviceerror.Unavailable)) || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("UpdateTaskQueueConfig on a cluster: %v", err)
	}
	if r := resp.GetConfig().GetQueueRateLimit(); r.GetRateLimit() == nil || r.GetRateLimit().GetRequestsPerSecond() != 0 || r.GetMetadata().GetReason() != "paused" {
		t.Fatalf("response config %v", resp.GetConfig())
	}
	describe := func(i int) (*taskqueuepb.TaskQueueConfig, enumspb.RateLimitSource) {
		t.Helper()
		d, err := tc.nodes[i].c.WorkflowService().DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{Namespace: "default",
			TaskQueue: &taskqueuepb.TaskQueue{Name: aq}, TaskQueueType: enumspb.TASK_QUEUE_TYPE_ACTIVITY, ReportConfig: true})
		if err != nil {
			t.Fatalf("DescribeTaskQueue through node %d: %v", i, err)
		}
		return d.GetConfig(), d.GetEffectiveRateLimit().GetRateLimitSource()
	}
	for i := range 2 {
		if cfg, src := describe(i); cfg.GetQueueRateLimit().GetMetadata().GetReason() != "paused" || src != enumspb.RATE_LIMIT_SOURCE_API {
			t.Errorf("node %d describes config %v, source %v; want the paused config from the API", i, cfg, src)
		}
	}

	tc.workersOn(tc.nodes[:1], func(w worker.Worker) { w.RegisterWorkflow(ClusterQueueActWF) })
	aw := worker.New(tc.nodes[0].c, aq, worker.Options{})
	aw.RegisterActivityWithOptions(func(ctx context.Context) (string, error) { return "ran", nil }, activity.RegisterOptions{Name: "ClusterQueueAct"})
	if err := aw.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(aw.Stop)
	c0 := tc.nodes[0].c
	var runs []client.WorkflowRun
	for owner := range 2 {
		id := tc.idOwnedBy("default", fmt.Sprintf("tqcfg-%d", owner), owner)
		run, err := c0.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tc.tq}, ClusterQueueActWF, aq)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, run)
	}
	stillScheduled := func(when string) {
		t.Helper()
		time.Sleep(1500 * time.Millisecond)
		for _, run := range runs {
			d, err := c0.DescribeWorkflowExecution(ctx, run.GetID(), "")
			if err != nil {
				t.Fatal(err)
			}
			if pa := d.PendingActivities; len(pa) != 1 || pa[0].State != enumspb.PENDING_ACTIVITY_STATE_SCHEDULED {
				t.Fatalf("%s: pending activities of %s under a 0/s limit = %v, want one SCHEDULED", when, run.GetID(), pa)
			}
		}
	}
	stillScheduled("queue owned by node 1")

	// The queue's owner dies; node 0 takes it over with its configuration.
	tc.nodes[1].kill()
	tc.waitBalanced()
	if cfg, src := describe(0); cfg.GetQueueRateLimit().GetMetadata().GetReason() != "paused" || src != enumspb.RATE_LIMIT_SOURCE_API {
		t.Errorf("new owner describes config %v, source %v; want the paused config", cfg, src)
	}
	stillScheduled("queue taken over by node 0")

	if _, err := ws0.UpdateTaskQueueConfig(ctx, &workflowservice.UpdateTaskQueueConfigRequest{Namespace: "default",
		TaskQueue: aq, TaskQueueType: enumspb.TASK_QUEUE_TYPE_ACTIVITY, UpdateQueueRateLimit: setQueueRate(100, "resumed")}); err != nil {
		t.Fatal(err)
	}
	for _, run := range runs {
		var s string
		if err := run.Get(ctx, &s); err != nil || s != "ran" {
			t.Fatalf("%s after the limit was raised: %q %v", run.GetID(), s, err)
		}
	}
}
