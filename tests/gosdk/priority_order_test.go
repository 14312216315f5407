package gosdk

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// Dispatch order by priority and fairness (internal/matching/priority.go),
// seen through the Go SDK: activities wait in the backlog while no
// activity worker runs, then a worker with one activity slot takes them one
// at a time, in the order matching hands them out.

// prioAct is one activity a test workflow starts.
type prioAct struct {
	Name   string
	Key    int
	Fair   string
	Weight float32
}

// prioWorkflow starts its activities in order on queue aq, each with its
// own priority, and returns once all are done.
func prioWorkflow(aq string) func(ctx workflow.Context, acts []prioAct) error {
	return func(ctx workflow.Context, acts []prioAct) error {
		if len(acts) == 0 { // wait for the go signal, then run one activity
			workflow.GetSignalChannel(ctx, "go").Receive(ctx, nil)
			acts = []prioAct{{Name: workflow.GetInfo(ctx).WorkflowExecution.ID}}
		}
		var fs []workflow.Future
		for _, a := range acts {
			actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
				TaskQueue: aq, StartToCloseTimeout: time.Minute, RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1},
				Priority: temporal.Priority{PriorityKey: a.Key, FairnessKey: a.Fair, FairnessWeight: a.Weight},
			})
			fs = append(fs, workflow.ExecuteActivity(actx, "PrioAct", a.Name))
		}
		for _, f := range fs {
			if err := f.Get(ctx, nil); err != nil {
				return err
			}
		}
		return nil
	}
}

// orderRecorder records the order activities ran in.
type orderRecorder struct {
	mu    sync.Mutex
	names []string
}

func (r *orderRecorder) act(ctx context.Context, name string) error {
	r.mu.Lock()
	r.names = append(r.names, name)
	r.mu.Unlock()
	return nil
}

func (r *orderRecorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.names...)
}

// startPrioEnv starts a server, a workflow worker for prioWorkflow and
// returns the activity queue (no worker on it yet).
func startPrioEnv(t *testing.T) (*env, string) {
	e := newEnv(t)
	aq := e.tq + "-act"
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflowWithOptions(prioWorkflow(aq), workflow.RegisterOptions{Name: "PrioWF"})
	})
	return e, aq
}

// waitPendingActivities waits until the runs have n activities scheduled
// between them (all in the backlog: no activity worker runs yet).
func waitPendingActivities(t *testing.T, e *env, n int, ids ...string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := 0
		for _, id := range ids {
			d, err := e.c.DescribeWorkflowExecution(e.ctx(), id, "")
			if err != nil {
				t.Fatal(err)
			}
			got += len(d.PendingActivities)
		}
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d activities scheduled, want %d", got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startOneSlotWorker starts an activity worker on aq that runs one
// activity at a time.
func startOneSlotWorker(t *testing.T, e *env, aq string, rec *orderRecorder) {
	aw := worker.New(e.c, aq, worker.Options{MaxConcurrentActivityExecutionSize: 1, MaxConcurrentActivityTaskPollers: 2})
	aw.RegisterActivityWithOptions(rec.act, activity.RegisterOptions{Name: "PrioAct"})
	if err := aw.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(aw.Stop)
}

// TestPriorityOrderActivities: a lower priority key runs first, an activity
// without a key takes its workflow's (here 4), equal keys run in the
// order they were scheduled; the scheduled events record each activity's
// own priority.
func TestPriorityOrderActivities(t *testing.T) {
	e, aq := startPrioEnv(t)
	acts := []prioAct{
		{Name: "p5a", Key: 5}, {Name: "p1a", Key: 1}, {Name: "inherits", Key: 0}, {Name: "p3", Key: 3},
		{Name: "p2", Key: 2}, {Name: "p1b", Key: 1}, {Name: "p5b", Key: 5}, {Name: "p4", Key: 4}, {Name: "p9", Key: 9},
	}
	opts := e.opts("prio")
	opts.Priority = temporal.Priority{PriorityKey: 4}
	run, err := e.c.ExecuteWorkflow(e.ctx(), opts, "PrioWF", acts)
	if err != nil {
		t.Fatal(err)
	}
	waitPendingActivities(t, e, len(acts), run.GetID())
	// DescribeTaskQueue reports the backlog per priority key.
	d, err := e.c.WorkflowService().DescribeTaskQueue(e.ctx(), &workflowservice.DescribeTaskQueueRequest{
		Namespace: "default", TaskQueue: &taskqueuepb.TaskQueue{Name: aq}, TaskQueueType: enumspb.TASK_QUEUE_TYPE_ACTIVITY, ReportStats: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	backlogs := map[int32]int64{}
	for k, st := range d.StatsByPriorityKey {
		backlogs[k] = st.ApproximateBacklogCount
	}
	if got := fmt.Sprint(backlogs); got != "map[1:2 2:1 3:1 4:2 5:3]" || d.Stats.GetApproximateBacklogCount() != 9 {
		t.Fatalf("backlog by priority key %s (total %d), want map[1:2 2:1 3:1 4:2 5:3] (9)", got, d.Stats.GetApproximateBacklogCount())
	}
	rec := &orderRecorder{}
	startOneSlotWorker(t, e, aq, rec)
	if err := run.Get(e.ctx(), nil); err != nil {
		t.Fatal(err)
	}
	// p9 is past the last level (5) and counts as 5.
	want := "[p1a p1b p2 p3 inherits p4 p5a p5b p9]"
	if got := fmt.Sprint(rec.got()); got != want {
		t.Fatalf("activities ran in order %s, want %s", got, want)
	}
	var keys, wantKeys []int32
	for _, ev := range e.history(run.GetID(), run.GetRunID()) {
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			keys = append(keys, a.GetPriority().GetPriorityKey())
		}
	}
	for _, a := range acts {
		wantKeys = append(wantKeys, int32(a.Key))
	}
	if fmt.Sprint(keys) != fmt.Sprint(wantKeys) {
		t.Fatalf("scheduled events' priority keys %v, want the commands' %v", keys, wantKeys)
	}
}

// TestFairnessProportionActivities: within a priority level, backlogged
// fairness keys are served in proportion to their weights, whatever the
// order they were scheduled in: key a (weight 3, from the task queue's
// override) gets about 3 of every 4 dispatches while b (weight 1) is
// backlogged, though all of b's activities were scheduled first; each
// key's activities keep their own order.
func TestFairnessProportionActivities(t *testing.T) {
	e, aq := startPrioEnv(t)
	if _, err := e.c.WorkflowService().UpdateTaskQueueConfig(e.ctx(), &workflowservice.UpdateTaskQueueConfigRequest{
		Namespace: "default", Identity: "ops", TaskQueue: aq, TaskQueueType: enumspb.TASK_QUEUE_TYPE_ACTIVITY,
		SetFairnessWeightOverrides: map[string]float32{"a": 3},
	}); err != nil {
		t.Fatalf("UpdateTaskQueueConfig: %v", err)
	}
	var acts []prioAct
	for i := range 20 {
		acts = append(acts, prioAct{Name: fmt.Sprintf("b%02d", i), Fair: "b"})
	}
	for i := range 20 {
		acts = append(acts, prioAct{Name: fmt.Sprintf("a%02d", i), Fair: "a", Weight: 0.5}) // the override wins
	}
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("fair"), "PrioWF", acts)
	if err != nil {
		t.Fatal(err)
	}
	waitPendingActivities(t, e, len(acts), run.GetID())
	rec := &orderRecorder{}
	startOneSlotWorker(t, e, aq, rec)
	if err := run.Get(e.ctx(), nil); err != nil {
		t.Fatal(err)
	}
	got := rec.got()
	if len(got) != len(acts) {
		t.Fatalf("%d activities ran, want %d", len(got), len(acts))
	}
	a := 0
	for _, n := range got[:20] {
		if n[0] == 'a' {
			a++
		}
	}
	if a < 14 || a > 16 {
		t.Fatalf("key a (weight 3) ran %d of the first 20 activities, want 15 (3:1 against b): %v", a, got)
	}
	last := map[byte]string{}
	for _, n := range got {
		if n <= last[n[0]] {
			t.Fatalf("key %c out of order: %v", n[0], got)
		}
		last[n[0]] = n
	}
}

// TestPriorityUpdateAppliesToLaterTasks: UpdateWorkflowExecutionOptions
// changes the priority of the tasks a run makes afterwards: a run started
// at key 1 and moved to 5 runs its activity after one started at 5 and
// moved to 1, though it scheduled it first. The change is recorded in a
// WorkflowExecutionOptionsUpdated event and described.
func TestPriorityUpdateAppliesToLaterTasks(t *testing.T) {
	e, aq := startPrioEnv(t)
	start := func(id string, key int) client.WorkflowRun {
		opts := e.opts(id)
		opts.Priority = temporal.Priority{PriorityKey: key}
		run, err := e.c.ExecuteWorkflow(e.ctx(), opts, "PrioWF", []prioAct(nil))
		if err != nil {
			t.Fatal(err)
		}
		return run
	}
	setKey := func(run client.WorkflowRun, key int32) {
		_, err := e.c.WorkflowService().UpdateWorkflowExecutionOptions(e.ctx(), &workflowservice.UpdateWorkflowExecutionOptionsRequest{
			Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: run.GetID()},
			WorkflowExecutionOptions: &workflowpb.WorkflowExecutionOptions{Priority: &commonpb.Priority{PriorityKey: key}},
			UpdateMask:               &fieldmaskpb.FieldMask{Paths: []string{"priority"}},
		})
		if err != nil {
			t.Fatalf("UpdateWorkflowExecutionOptions: %v", err)
		}
	}
	wasHigh, wasLow := start("was-high", 1), start("was-low", 5)
	setKey(wasHigh, 5)
	setKey(wasLow, 1)
	for _, run := range []client.WorkflowRun{wasHigh, wasLow} { // was-high schedules first
		if err := e.c.SignalWorkflow(e.ctx(), run.GetID(), "", "go", nil); err != nil {
			t.Fatal(err)
		}
		waitPendingActivities(t, e, 1, run.GetID())
	}
	rec := &orderRecorder{}
	startOneSlotWorker(t, e, aq, rec)
	for _, run := range []client.WorkflowRun{wasHigh, wasLow} {
		if err := run.Get(e.ctx(), nil); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := fmt.Sprint(rec.got()), fmt.Sprintf("[%s %s]", wasLow.GetID(), wasHigh.GetID()); got != want {
		t.Fatalf("activities ran in order %s, want %s (the updated priorities)", got, want)
	}
	n := 0
	for _, ev := range e.history(wasHigh.GetID(), wasHigh.GetRunID()) {
		if a := ev.GetWorkflowExecutionOptionsUpdatedEventAttributes(); a != nil {
			n++
			if a.GetPriority().GetPriorityKey() != 5 {
				t.Fatalf("options updated event priority %v", a.GetPriority())
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d WorkflowExecutionOptionsUpdated events, want 1", n)
	}
	d, err := e.c.DescribeWorkflowExecution(e.ctx(), wasHigh.GetID(), "")
	if err != nil {
		t.Fatal(err)
	}
	if k := d.GetWorkflowExecutionInfo().GetPriority().GetPriorityKey(); k != 5 {
		t.Fatalf("described priority key %d, want 5", k)
	}
}
