package gosdk

// Execution details and history that must match Temporal 1.31: task
// timeouts, command validation, activity timeout types, started-event
// fields, DescribeWorkflowExecution and the like.

import (
	"context"
	"testing"
	"time"

	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// rawPoll polls the env's task queue for a workflow task with the raw
// service client (a worker that can be made to "die" holding the task).
func (e *env) rawPoll(t *testing.T) *workflowservice.PollWorkflowTaskQueueResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		resp, err := e.c.WorkflowService().PollWorkflowTaskQueue(ctx, &workflowservice.PollWorkflowTaskQueueRequest{
			Namespace: "default", TaskQueue: &taskqueuepb.TaskQueue{Name: e.tq, Kind: enumspb.TASK_QUEUE_KIND_NORMAL}, Identity: "raw-worker",
		})
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		if len(resp.TaskToken) > 0 {
			return resp
		}
	}
}

func FidelityHelloWorkflow(ctx workflow.Context) (string, error) { return "done", nil }

// A worker that dies holding a retried workflow task (attempt 2, whose
// events are kept in memory) must not leave the run stuck: the attempt
// times out after the task timeout and the next worker finishes the run.
func TestFidelityRetriedWorkflowTaskTimesOut(t *testing.T) {
	e := newEnv(t)
	opts := e.opts("retried-wft")
	opts.WorkflowTaskTimeout = time.Second
	run, err := e.c.ExecuteWorkflow(e.ctx(), opts, FidelityHelloWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	first := e.rawPoll(t)
	if first.Attempt != 1 {
		t.Fatalf("first attempt = %d", first.Attempt)
	}
	if _, err := e.c.WorkflowService().RespondWorkflowTaskFailed(e.ctx(), &workflowservice.RespondWorkflowTaskFailedRequest{
		TaskToken: first.TaskToken, Cause: enumspb.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
		Failure: &failurepb.Failure{Message: "boom"}, Identity: "raw-worker",
	}); err != nil {
		t.Fatal(err)
	}
	second := e.rawPoll(t)
	if second.Attempt != 2 {
		t.Fatalf("second attempt = %d", second.Attempt)
	}
	// The raw worker now "dies" holding attempt 2. A real worker takes
	// over once that attempt has timed out.
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(FidelityHelloWorkflow) })
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var got string
	if err := run.Get(ctx, &got); err != nil || got != "done" {
		t.Fatalf("result %q, %v (the retried task's timeout never fired?)", got, err)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	if n := count(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED); n != 1 {
		t.Fatalf("%d WorkflowTaskFailed events: %v", n, types(evs))
	}
	started := allOf(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED)
	last := started[len(started)-1].GetWorkflowTaskStartedEventAttributes()
	sched := allOf(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
	if a := sched[len(sched)-1].GetWorkflowTaskScheduledEventAttributes().Attempt; a != 3 {
		t.Fatalf("completing task attempt = %d, want 3 (started %v): %v", a, last, types(evs))
	}
	requireClosedBy(t, evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
}

var (
	_ = commandpb.Command{}
	_ = commonpb.Payloads{}
	_ = client.StartWorkflowOptions{}
)
