package gosdk

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc/codes"
)

func setQueueRate(rps float32, reason string) *workflowservice.UpdateTaskQueueConfigRequest_RateLimitUpdate {
	return &workflowservice.UpdateTaskQueueConfigRequest_RateLimitUpdate{RateLimit: &taskqueuepb.RateLimit{RequestsPerSecond: rps}, Reason: reason}
}

// describeConfig returns an activity queue's configuration and effective
// rate limit as DescribeTaskQueue reports them.
func describeConfig(t *testing.T, e *env, queue string) (*taskqueuepb.TaskQueueConfig, *workflowservice.DescribeTaskQueueResponse_EffectiveRateLimit) {
	t.Helper()
	resp, err := e.c.WorkflowService().DescribeTaskQueue(erCtx(t, 5*time.Second), &workflowservice.DescribeTaskQueueRequest{
		Namespace: "default", TaskQueue: &taskqueuepb.TaskQueue{Name: queue}, TaskQueueType: enumspb.TASK_QUEUE_TYPE_ACTIVITY, ReportConfig: true,
	})
	if err != nil {
		t.Fatalf("DescribeTaskQueue: %v", err)
	}
	return resp.Config, resp.EffectiveRateLimit
}

// TestTaskQueueConfigRateLimit: a queue rate limit of 5/s set with
// UpdateTaskQueueConfig really limits dispatch: 30 activities started at
// once run over about 5 s (the first second's burst of 5 at once, then 5
// a second) while the backlog holds the rest; DescribeTaskQueue reports
// the configuration and the API as the source of the effective limit; the
// configuration survives a restart; removing the limit lifts it.
func TestTaskQueueConfigRateLimit(t *testing.T) {
	e := newEnv(t)
	svc := e.c.WorkflowService()
	aq := e.tq + "-act"
	resp, err := svc.UpdateTaskQueueConfig(erCtx(t, 5*time.Second), &workflowservice.UpdateTaskQueueConfigRequest{
		Namespace: "default", Identity: "ops", TaskQueue: aq, TaskQueueType: enumspb.TASK_QUEUE_TYPE_ACTIVITY,
		UpdateQueueRateLimit:       setQueueRate(5, "protect the API"),
		SetFairnessWeightOverrides: map[string]float32{"tenant-a": 2},
	})
	if err != nil {
		t.Fatalf("UpdateTaskQueueConfig: %v", err)
	}
	q := resp.Config.GetQueueRateLimit()
	if q.GetRateLimit().GetRequestsPerSecond() != 5 || q.GetMetadata().GetReason() != "protect the API" ||
		q.GetMetadata().GetUpdateIdentity() != "ops" || q.GetMetadata().GetUpdateTime() == nil {
		t.Fatalf("response queue rate limit = %v", q)
	}
	if w := resp.Config.GetFairnessWeightOverrides(); len(w) != 1 || w["tenant-a"] != 2 {
		t.Fatalf("response weight overrides = %v", w)
	}

	var mu sync.Mutex
	var starts []time.Time
	act := func(ctx context.Context, i int) (int, error) {
		mu.Lock()
		starts = append(starts, time.Now())
		mu.Unlock()
		return i, nil
	}
	wf := func(ctx workflow.Context, n int) (int, error) {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{TaskQueue: aq, StartToCloseTimeout: time.Minute,
			RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1}})
		var fs []workflow.Future
		for i := range n {
			fs = append(fs, workflow.ExecuteActivity(ctx, "RateAct", i))
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
	}
	e.worker(func(w worker.Worker) { w.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: "RateWF"}) })
	aw := worker.New(e.c, aq, worker.Options{MaxConcurrentActivityExecutionSize: 50})
	aw.RegisterActivityWithOptions(act, activity.RegisterOptions{Name: "RateAct"})
	if err := aw.Start(); err != nil {
		t.Fatal(err)
	}
	defer aw.Stop()

	begin := time.Now()
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("rate"), "RateWF", 30)
	if err != nil {
		t.Fatal(err)
	}
	// While the activities trickle out, the rest wait in the backlog.
	time.Sleep(2 * time.Second)
	bl, err := svc.DescribeTaskQueue(erCtx(t, 5*time.Second), &workflowservice.DescribeTaskQueueRequest{
		Namespace: "default", TaskQueue: &taskqueuepb.TaskQueue{Name: aq}, TaskQueueType: enumspb.TASK_QUEUE_TYPE_ACTIVITY, ReportStats: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := bl.Stats.GetApproximateBacklogCount(); n < 5 {
		t.Fatalf("backlog 2 s into a 5/s dispatch of 30 tasks = %d, want the undispatched ones (about 15)", n)
	}
	var sum int
	if err := run.Get(e.ctx(), &sum); err != nil || sum != 29*30/2 {
		t.Fatalf("workflow result %d, %v", sum, err)
	}
	mu.Lock()
	sort.Slice(starts, func(i, j int) bool { return starts[i].Before(starts[j]) })
	spread := starts[len(starts)-1].Sub(starts[0])
	firstSecond := 0
	for _, s := range starts {
		if s.Before(starts[0].Add(time.Second)) {
			firstSecond++
		}
	}
	mu.Unlock()
	t.Logf("30 activities at 5/s: first started %v after the workflow, spread %v, %d in the first second", starts[0].Sub(begin), spread, firstSecond)
	// Burst 5, then 25 more at 5/s: 5 s.
	if spread < 4500*time.Millisecond {
		t.Fatalf("30 activities limited to 5/s started within %v, want >= ~5 s", spread)
	}
	if firstSecond > 10 {
		t.Fatalf("%d activities started in the first second at 5/s (burst 5)", firstSecond)
	}

	cfg, eff := describeConfig(t, e, aq)
	if cfg.GetQueueRateLimit().GetRateLimit().GetRequestsPerSecond() != 5 || cfg.GetQueueRateLimit().GetMetadata().GetReason() != "protect the API" {
		t.Fatalf("described config = %v", cfg)
	}
	if eff.GetRequestsPerSecond() != 5 || eff.GetRateLimitSource() != enumspb.RATE_LIMIT_SOURCE_API {
		t.Fatalf("effective rate limit = %v, want 5 from the API", eff)
	}

	// Durable: the configuration and its limit survive a restart.
	aw.Stop()
	e.restart()
	svc = e.c.WorkflowService()
	cfg, eff = describeConfig(t, e, aq)
	if cfg.GetQueueRateLimit().GetRateLimit().GetRequestsPerSecond() != 5 || cfg.GetFairnessWeightOverrides()["tenant-a"] != 2 ||
		eff.GetRateLimitSource() != enumspb.RATE_LIMIT_SOURCE_API {
		t.Fatalf("after restart: config %v, effective %v", cfg, eff)
	}

	// An update without a rate removes the limit, keeping who and why.
	resp, err = svc.UpdateTaskQueueConfig(erCtx(t, 5*time.Second), &workflowservice.UpdateTaskQueueConfigRequest{
		Namespace: "default", Identity: "ops2", TaskQueue: aq, TaskQueueType: enumspb.TASK_QUEUE_TYPE_ACTIVITY,
		UpdateQueueRateLimit:         &workflowservice.UpdateTaskQueueConfigRequest_RateLimitUpdate{Reason: "lifted"},
		UnsetFairnessWeightOverrides: []string{"tenant-a"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if q := resp.Config.GetQueueRateLimit(); q.GetRateLimit() != nil || q.GetMetadata().GetReason() != "lifted" || q.GetMetadata().GetUpdateIdentity() != "ops2" {
		t.Fatalf("after unset, queue rate limit = %v", q)
	}
	if len(resp.Config.GetFairnessWeightOverrides()) != 0 {
		t.Fatalf("after unset, overrides = %v", resp.Config.GetFairnessWeightOverrides())
	}
	if _, eff = describeConfig(t, e, aq); eff.GetRateLimitSource() != enumspb.RATE_LIMIT_SOURCE_SYSTEM {
		t.Fatalf("effective rate limit after unset = %v, want the system default", eff)
	}
}

// TestTaskQueueConfigPause: a rate of 0 stops dispatch (the activity is
// scheduled but never starts, not even eagerly on the workflow's own
// queue) until the limit is raised.
func TestTaskQueueConfigPause(t *testing.T) {
	e := newEnv(t)
	svc := e.c.WorkflowService()
	if _, err := svc.UpdateTaskQueueConfig(erCtx(t, 5*time.Second), &workflowservice.UpdateTaskQueueConfigRequest{
		Namespace: "default", TaskQueue: e.tq, TaskQueueType: enumspb.TASK_QUEUE_TYPE_ACTIVITY, UpdateQueueRateLimit: setQueueRate(0, "paused"),
	}); err != nil {
		t.Fatal(err)
	}
	act := func(ctx context.Context) (string, error) { return "ran", nil }
	wf := func(ctx workflow.Context) (string, error) {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
		var s string
		err := workflow.ExecuteActivity(ctx, "PausedAct").Get(ctx, &s)
		return s, err
	}
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: "PausedWF"})
		w.RegisterActivityWithOptions(act, activity.RegisterOptions{Name: "PausedAct"})
	})
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("paused"), "PausedWF")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	desc, err := e.c.DescribeWorkflowExecution(e.ctx(), run.GetID(), run.GetRunID())
	if err != nil {
		t.Fatal(err)
	}
	if pa := desc.PendingActivities; len(pa) != 1 || pa[0].State != enumspb.PENDING_ACTIVITY_STATE_SCHEDULED {
		t.Fatalf("pending activities under a 0/s limit = %v, want one SCHEDULED", pa)
	}
	if _, err := svc.UpdateTaskQueueConfig(erCtx(t, 5*time.Second), &workflowservice.UpdateTaskQueueConfigRequest{
		Namespace: "default", TaskQueue: e.tq, TaskQueueType: enumspb.TASK_QUEUE_TYPE_ACTIVITY, UpdateQueueRateLimit: setQueueRate(10, "resumed"),
	}); err != nil {
		t.Fatal(err)
	}
	var s string
	if err := run.Get(e.ctx(), &s); err != nil || s != "ran" {
		t.Fatalf("after raising the limit: %q, %v", s, err)
	}
}

// TestTaskQueueConfigValidation: bad requests get InvalidArgument naming
// the field, with Temporal's messages.
func TestTaskQueueConfigValidation(t *testing.T) {
	e := newEnv(t)
	svc := e.c.WorkflowService()
	base := func() *workflowservice.UpdateTaskQueueConfigRequest {
		return &workflowservice.UpdateTaskQueueConfigRequest{Namespace: "default", TaskQueue: e.tq, TaskQueueType: enumspb.TASK_QUEUE_TYPE_ACTIVITY}
	}
	cases := []struct {
		name  string
		edit  func(r *workflowservice.UpdateTaskQueueConfigRequest)
		code  codes.Code
		wants []string
	}{
		{"negative queue rate", func(r *workflowservice.UpdateTaskQueueConfigRequest) { r.UpdateQueueRateLimit = setQueueRate(-1, "") },
			codes.InvalidArgument, []string{"UpdateQueueRateLimit", "non-negative"}},
		{"negative key rate", func(r *workflowservice.UpdateTaskQueueConfigRequest) {
			r.UpdateFairnessKeyRateLimitDefault = setQueueRate(-0.5, "")
		},
			codes.InvalidArgument, []string{"UpdateFairnessKeyRateLimitDefault", "non-negative"}},
		{"no task queue", func(r *workflowservice.UpdateTaskQueueConfigRequest) { r.TaskQueue = "" },
			codes.InvalidArgument, []string{"TaskQueue is not set"}},
		{"no task queue type", func(r *workflowservice.UpdateTaskQueueConfigRequest) {
			r.TaskQueueType = enumspb.TASK_QUEUE_TYPE_UNSPECIFIED
		},
			codes.InvalidArgument, []string{"TaskQueueType is not set"}},
		{"no namespace", func(r *workflowservice.UpdateTaskQueueConfigRequest) { r.Namespace = "" },
			codes.InvalidArgument, []string{"Namespace"}},
		{"unknown namespace", func(r *workflowservice.UpdateTaskQueueConfigRequest) { r.Namespace = "no-such-ns" },
			codes.NotFound, []string{"no-such-ns"}},
		{"workflow queue rate", func(r *workflowservice.UpdateTaskQueueConfigRequest) {
			r.TaskQueueType = enumspb.TASK_QUEUE_TYPE_WORKFLOW
			r.UpdateQueueRateLimit = setQueueRate(5, "")
		}, codes.InvalidArgument, []string{"Setting rate limit on workflow task queues is not allowed"}},
		{"workflow queue key rate", func(r *workflowservice.UpdateTaskQueueConfigRequest) {
			r.TaskQueueType = enumspb.TASK_QUEUE_TYPE_WORKFLOW
			r.UpdateFairnessKeyRateLimitDefault = setQueueRate(5, "")
		}, codes.InvalidArgument, []string{"fairness key rate limit on workflow task queues is not allowed"}},
		{"long reason", func(r *workflowservice.UpdateTaskQueueConfigRequest) {
			r.UpdateQueueRateLimit = setQueueRate(1, string(make([]byte, 1001)))
		}, codes.InvalidArgument, []string{"UpdateQueueRateLimit.Reason", "too long"}},
		{"zero weight", func(r *workflowservice.UpdateTaskQueueConfigRequest) {
			r.SetFairnessWeightOverrides = map[string]float32{"k": 0}
		},
			codes.InvalidArgument, []string{`fairness weight weight for key "k"`, "greater than zero"}},
		{"empty key", func(r *workflowservice.UpdateTaskQueueConfigRequest) { r.UnsetFairnessWeightOverrides = []string{""} },
			codes.InvalidArgument, []string{"fairness weight override key must not be empty"}},
		{"set and unset", func(r *workflowservice.UpdateTaskQueueConfigRequest) {
			r.SetFairnessWeightOverrides = map[string]float32{"k": 1}
			r.UnsetFairnessWeightOverrides = []string{"k"}
		}, codes.InvalidArgument, []string{`"k" present in both set and unset`}},
		{"long key", func(r *workflowservice.UpdateTaskQueueConfigRequest) {
			r.SetFairnessWeightOverrides = map[string]float32{fmt.Sprintf("%065d", 0): 1}
		}, codes.InvalidArgument, []string{"fairness key length exceeds limit"}},
	}
	for _, c := range cases {
		r := base()
		c.edit(r)
		_, err := svc.UpdateTaskQueueConfig(erCtx(t, 5*time.Second), r)
		cpExpect(t, c.name, err, c.code, c.wants...)
	}
	// Temporal accepts weight overrides on a workflow queue.
	r := base()
	r.TaskQueueType = enumspb.TASK_QUEUE_TYPE_WORKFLOW
	r.SetFairnessWeightOverrides = map[string]float32{"k": 3}
	if resp, err := svc.UpdateTaskQueueConfig(erCtx(t, 5*time.Second), r); err != nil || resp.Config.GetFairnessWeightOverrides()["k"] != 3 {
		t.Fatalf("weight override on a workflow queue: %v, %v", resp, err)
	}
	// Nothing invalid was stored.
	if cfg, _ := describeConfig(t, e, e.tq); cfg.GetQueueRateLimit() != nil || cfg.GetFairnessKeysRateLimitDefault() != nil {
		t.Fatalf("a refused update left config %v", cfg)
	}
}

// TestTaskQueueConfigDeletedNamespace: a deleted namespace's task queue
// configurations go with it; the name registered again starts without
// limits.
func TestTaskQueueConfigDeletedNamespace(t *testing.T) {
	e := newEnv(t)
	nc := e.nsClient()
	name := "tqcfg-" + e.tq
	e.registerNamespace(nc, name)
	svc := e.c.WorkflowService()
	if _, err := svc.UpdateTaskQueueConfig(erCtx(t, 5*time.Second), &workflowservice.UpdateTaskQueueConfigRequest{
		Namespace: name, TaskQueue: "q", TaskQueueType: enumspb.TASK_QUEUE_TYPE_ACTIVITY, UpdateQueueRateLimit: setQueueRate(3, "x"),
	}); err != nil {
		t.Fatal(err)
	}
	describe := func() *workflowservice.DescribeTaskQueueResponse {
		t.Helper()
		resp, err := svc.DescribeTaskQueue(erCtx(t, 5*time.Second), &workflowservice.DescribeTaskQueueRequest{
			Namespace: name, TaskQueue: &taskqueuepb.TaskQueue{Name: "q"}, TaskQueueType: enumspb.TASK_QUEUE_TYPE_ACTIVITY, ReportConfig: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if d := describe(); d.Config.GetQueueRateLimit().GetRateLimit().GetRequestsPerSecond() != 3 {
		t.Fatalf("config before the deletion: %v", d.Config)
	}
	if _, err := e.c.OperatorService().DeleteNamespace(e.ctx(), &operatorservice.DeleteNamespaceRequest{Namespace: name}); err != nil {
		t.Fatal(err)
	}
	e.registerNamespace(nc, name) // waits until the old namespace's data is gone
	if d := describe(); d.Config != nil || d.EffectiveRateLimit.GetRateLimitSource() != enumspb.RATE_LIMIT_SOURCE_SYSTEM {
		t.Fatalf("the new namespace inherited config %v, effective %v", d.Config, d.EffectiveRateLimit)
	}
	e.restart()
	svc = e.c.WorkflowService()
	if d := describe(); d.Config != nil {
		t.Fatalf("after restart the deleted namespace's config is back: %v", d.Config)
	}
}

// TestTaskQueueConfigFairnessKeyLimit: a default fairness key rate of 2/s
// limits each key (the activities' Priority.FairnessKey) to 2/s times its
// weight: the "slow" key's 6 activities spread over about 2 s (burst 2,
// then 2/s), while the "fast" key, whose weight override is 5 (10/s,
// burst 10), is not held back behind them.
func TestTaskQueueConfigFairnessKeyLimit(t *testing.T) {
	e := newEnv(t)
	aq := e.tq + "-fair"
	if _, err := e.c.WorkflowService().UpdateTaskQueueConfig(erCtx(t, 5*time.Second), &workflowservice.UpdateTaskQueueConfigRequest{
		Namespace: "default", TaskQueue: aq, TaskQueueType: enumspb.TASK_QUEUE_TYPE_ACTIVITY,
		UpdateFairnessKeyRateLimitDefault: setQueueRate(2, "per tenant"),
		SetFairnessWeightOverrides:        map[string]float32{"fast": 5},
	}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	starts := map[string][]time.Time{}
	act := func(ctx context.Context, key string) error {
		mu.Lock()
		starts[key] = append(starts[key], time.Now())
		mu.Unlock()
		return nil
	}
	wf := func(ctx workflow.Context) error {
		var fs []workflow.Future
		for _, key := range []string{"slow", "fast"} {
			actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{TaskQueue: aq, StartToCloseTimeout: time.Minute,
				Priority: temporal.Priority{FairnessKey: key}})
			for range 6 {
				fs = append(fs, workflow.ExecuteActivity(actx, "FairAct", key))
			}
		}
		for _, f := range fs {
			if err := f.Get(ctx, nil); err != nil {
				return err
			}
		}
		return nil
	}
	e.worker(func(w worker.Worker) { w.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: "FairWF"}) })
	aw := worker.New(e.c, aq, worker.Options{})
	aw.RegisterActivityWithOptions(act, activity.RegisterOptions{Name: "FairAct"})
	if err := aw.Start(); err != nil {
		t.Fatal(err)
	}
	defer aw.Stop()
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("fair"), "FairWF")
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(e.ctx(), nil); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	span := func(ts []time.Time) time.Duration {
		sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
		return ts[len(ts)-1].Sub(ts[0])
	}
	slow, fast := span(starts["slow"]), span(starts["fast"])
	t.Logf("slow key: 6 starts over %v; fast key: 6 starts over %v", slow, fast)
	if len(starts["slow"]) != 6 || len(starts["fast"]) != 6 {
		t.Fatalf("starts %v", starts)
	}
	if slow < 1700*time.Millisecond {
		t.Fatalf("the slow key (2/s, burst 2) started 6 activities within %v, want about 2 s", slow)
	}
	if fast > time.Second {
		t.Fatalf("the fast key (weight 5: 10/s, burst 10) took %v for 6 activities", fast)
	}
}
