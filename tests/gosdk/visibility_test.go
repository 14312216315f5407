package gosdk

import (
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

func TestListAndCountWorkflows(t *testing.T) {
	e := newEnv(t)
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(HelloWorkflow)
		w.RegisterActivityWithOptions(Greet, activity.RegisterOptions{Name: "Greet"})
	})
	key := temporal.NewSearchAttributeKeyKeyword("CustomKeywordField")
	for i, tag := range []string{"a", "b", "b"} {
		o := e.opts("list")
		o.TypedSearchAttributes = temporal.NewSearchAttributes(key.ValueSet(tag))
		run, err := e.c.ExecuteWorkflow(e.ctx(), o, HelloWorkflow, "x")
		if err != nil {
			t.Fatal(i, err)
		}
		if err := run.Get(e.ctx(), nil); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := e.c.ListWorkflow(e.ctx(), &workflowservice.ListWorkflowExecutionsRequest{Query: "CustomKeywordField = 'b' AND WorkflowType = 'HelloWorkflow'"})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Executions) != 2 {
		t.Fatalf("listed %d, want 2", len(resp.Executions))
	}
	for _, ex := range resp.Executions {
		if ex.Status != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			t.Fatalf("status %v", ex.Status)
		}
	}
	cnt, err := e.c.CountWorkflow(e.ctx(), &workflowservice.CountWorkflowExecutionsRequest{Query: "ExecutionStatus = 'Completed'"})
	if err != nil || cnt.Count != 3 {
		t.Fatalf("count %v %v", cnt, err)
	}
	_, err = e.c.ListWorkflow(e.ctx(), &workflowservice.ListWorkflowExecutionsRequest{Query: "WorkflowType = "})
	if _, ok := err.(*serviceerror.InvalidArgument); !ok {
		t.Fatalf("malformed query: got %T %v", err, err)
	}
	o := e.opts("badsa")
	o.SearchAttributes = map[string]interface{}{"CustomIntField": "not-a-number"}
	if _, err := e.c.ExecuteWorkflow(e.ctx(), o, HelloWorkflow, "x"); err == nil {
		t.Fatal("wrong-typed search attribute accepted")
	}
}

func UpsertWrongTypeWorkflow(ctx workflow.Context) error {
	return workflow.UpsertSearchAttributes(ctx, map[string]interface{}{"CustomIntField": "not-a-number"})
}

// An upsert with a value of the wrong type fails the workflow task with
// BAD_SEARCH_ATTRIBUTES (and is retried), as in Temporal.
func TestUpsertWrongTypeFailsTask(t *testing.T) {
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(UpsertWrongTypeWorkflow) })
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("upsert-bad"), UpsertWrongTypeWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		evs := e.history(run.GetID(), run.GetRunID())
		for _, ev := range evs {
			if a := ev.GetWorkflowTaskFailedEventAttributes(); a != nil {
				if a.Cause != enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES {
					t.Fatalf("cause %v", a.Cause)
				}
				if count(evs, enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES) != 0 {
					t.Fatalf("wrong-typed upsert recorded: %v", types(evs))
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no WorkflowTaskFailed: %v", types(evs))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
