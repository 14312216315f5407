package gosdk

import (
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
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
	_ = client.StartWorkflowOptions{}
}
