package gosdk

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	deploymentpb "go.temporal.io/api/deployment/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestTaskQueueConfigRateLimitVersioned: a queue rate limit set with
// UpdateTaskQueueConfig limits the task queue as a whole, as in Temporal,
// also when its tasks wait in worker deployment versions' sub-queues: 30
// activities of two runs pinned to two versions (15 each, run by that
// version's worker) share one 5/s budget, so they start over about 5 s (a
// burst of 5, then 5 a second), not 2 s (a budget per version) or at once
// (no limit on versioned sub-queues).
func TestTaskQueueConfigRateLimitVersioned(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	svc := e.c.WorkflowService()
	if _, err := svc.UpdateTaskQueueConfig(ctx, &workflowservice.UpdateTaskQueueConfigRequest{
		Namespace: "default", Identity: "ops", TaskQueue: e.tq, TaskQueueType: enumspb.TASK_QUEUE_TYPE_ACTIVITY,
		UpdateQueueRateLimit: setQueueRate(5, "shared by versions"),
	}); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	starts := map[string][]time.Time{}
	name := "dep-" + uuid.NewString()[:8]
	versions := []worker.WorkerDeploymentVersion{{DeploymentName: name, BuildID: "1.0"}, {DeploymentName: name, BuildID: "2.0"}}
	for _, v := range versions {
		build := v.BuildID
		w := worker.New(e.c, e.tq, worker.Options{MaxConcurrentActivityExecutionSize: 50,
			DeploymentOptions: worker.DeploymentOptions{UseVersioning: true, Version: v}})
		w.RegisterActivityWithOptions(func(ctx context.Context, i int) (int, error) {
			mu.Lock()
			starts[build] = append(starts[build], time.Now())
			mu.Unlock()
			return i, nil
		}, activity.RegisterOptions{Name: "RateVAct"})
		w.RegisterWorkflowWithOptions(func(ctx workflow.Context, n int) (int, error) {
			ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute,
				RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1}})
			var fs []workflow.Future
			for i := range n {
				fs = append(fs, workflow.ExecuteActivity(ctx, "RateVAct", i))
			}
			sum := 0
			for _, f := range fs {
				var v int
				if err := f.Get(ctx, &v); err != nil {
					return 0, err
				}
				sum += v
			}
			return sum, nil
		}, workflow.RegisterOptions{Name: "RateVWF", VersioningBehavior: workflow.VersioningBehaviorPinned})
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
	}
	// Both versions poll the workflow and the activity queue.
	waitFor(t, 10*time.Second, "both versions' queues registered", func() bool {
		for _, v := range versions {
			d, err := svc.DescribeWorkerDeploymentVersion(ctx, &workflowservice.DescribeWorkerDeploymentVersionRequest{Namespace: "default",
				DeploymentVersion: &deploymentpb.WorkerDeploymentVersion{DeploymentName: v.DeploymentName, BuildId: v.BuildID}})
			if err != nil || len(d.WorkerDeploymentVersionInfo.TaskQueueInfos) != 2 {
				return false
			}
		}
		return true
	})

	var runs []client.WorkflowRun
	for _, v := range versions {
		o := e.opts("rate-" + v.BuildID)
		o.VersioningOverride = &client.PinnedVersioningOverride{Version: v}
		run, err := e.c.ExecuteWorkflow(ctx, o, "RateVWF", 15)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, run)
	}
	for _, run := range runs {
		var sum int
		if err := run.Get(ctx, &sum); err != nil || sum != 14*15/2 {
			t.Fatalf("%s: result %d, %v", run.GetID(), sum, err)
		}
	}

	mu.Lock()
	defer mu.Unlock()
	var all []time.Time
	for _, v := range versions {
		if n := len(starts[v.BuildID]); n != 15 {
			t.Fatalf("version %s ran %d activities, want its run's 15 (activities of pinned runs go to their version)", v.BuildID, n)
		}
		all = append(all, starts[v.BuildID]...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Before(all[j]) })
	span := all[len(all)-1].Sub(all[0])
	if span < 4*time.Second || span > 15*time.Second {
		t.Fatalf("30 activities over two versions started over %v; want about 5 s under one 5/s limit", span)
	}
	// Within any one second at most the burst and a second's rate (10)
	// were dispatched; a little slack for the time from dispatch to the
	// worker's start of the activity.
	for i := range all {
		n := 0
		for j := i; j < len(all) && all[j].Sub(all[i]) < time.Second; j++ {
			n++
		}
		if n > 13 {
			t.Fatalf("%d activities started within 1 s from %v; a 5/s limit (burst 5) allows about 10", n, all[i].Sub(all[0]))
		}
	}
	_, eff := describeConfig(t, e, e.tq)
	if eff.GetRequestsPerSecond() != 5 || eff.GetRateLimitSource() != enumspb.RATE_LIMIT_SOURCE_API {
		t.Fatalf("effective rate limit: %v", eff)
	}
}
