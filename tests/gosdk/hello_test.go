package gosdk

import (
	"context"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

func Greet(ctx context.Context, name string) (string, error) {
	return "Hello, " + name + "!", nil
}

func HelloWorkflow(ctx workflow.Context, name string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	var out string
	err := workflow.ExecuteActivity(ctx, Greet, name).Get(ctx, &out)
	return out, err
}

func TestHelloWorld(t *testing.T) {
	e := newEnv(t)
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(HelloWorkflow)
		w.RegisterActivityWithOptions(Greet, activity.RegisterOptions{Name: "Greet"})
	})
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("hello"), HelloWorkflow, "Sundial")
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if err := run.Get(e.ctx(), &out); err != nil {
		t.Fatal(err)
	}
	if out != "Hello, Sundial!" {
		t.Fatalf("got %q", out)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	want := []enumspb.EventType{
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED,
		enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
	}
	got := types(evs)
	if len(got) != len(want) {
		t.Fatalf("history %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("event %d: got %v want %v (all: %v)", i+1, got[i], want[i], got)
		}
	}
}
