package gosdk

import (
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

func TypeCountWaitWorkflow(ctx workflow.Context) error {
	workflow.GetSignalChannel(ctx, "go").Receive(ctx, nil)
	return nil
}

// Counts by workflow type or task queue (and status) come from the
// per-type and per-queue indexes; each
// must equal the answer of the full-scan evaluator, forced here by adding a
// term the index cannot use (`WorkflowId != ”`). Checked while runs are
// open, after some close, after a terminate and after a delete.
func TestCountByWorkflowTypeMatchesScan(t *testing.T) {
	e := newEnv(t)
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(HelloWorkflow)
		w.RegisterWorkflow(TypeCountWaitWorkflow)
		w.RegisterActivityWithOptions(Greet, activity.RegisterOptions{Name: "Greet"})
	})
	var waiting []string
	for i := range 3 {
		run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("hello"), HelloWorkflow, "x")
		if err != nil {
			t.Fatal(err)
		}
		if err := run.Get(e.ctx(), nil); err != nil {
			t.Fatal(i, err)
		}
	}
	for range 4 {
		run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("wait"), TypeCountWaitWorkflow)
		if err != nil {
			t.Fatal(err)
		}
		waiting = append(waiting, run.GetID())
	}
	queries := []string{
		"WorkflowType = 'HelloWorkflow'",
		"WorkflowType = 'TypeCountWaitWorkflow'",
		"WorkflowType = 'TypeCountWaitWorkflow' AND ExecutionStatus = 'Running'",
		"ExecutionStatus IN ('Completed', 'Terminated') AND WorkflowType = 'TypeCountWaitWorkflow'",
		"WorkflowType = 'TypeCountWait'",
		"WorkflowType = 'NoSuchType' AND ExecutionStatus = 'Completed'",
		// The per-task-queue index (every run here is on e.tq).
		"TaskQueue = '" + e.tq + "'",
		"TaskQueue = '" + e.tq + "' AND ExecutionStatus = 'Running'",
		"ExecutionStatus IN ('Completed', 'Terminated') AND TaskQueue = '" + e.tq + "'",
		"TaskQueue = 'no-such-queue'",
	}
	count := func(q string) int64 {
		t.Helper()
		r, err := e.c.CountWorkflow(e.ctx(), &workflowservice.CountWorkflowExecutionsRequest{Query: q})
		if err != nil {
			t.Fatalf("count %q: %v", q, err)
		}
		return r.Count
	}
	check := func(when string, want []int64) {
		t.Helper()
		for i, q := range queries {
			got, scan := count(q), count(q+" AND WorkflowId != ''")
			if got != scan || got != want[i] {
				t.Errorf("%s: count %q = %d, full scan %d, want %d", when, q, got, scan, want[i])
			}
		}
		// GROUP BY over one type.
		r, err := e.c.CountWorkflow(e.ctx(), &workflowservice.CountWorkflowExecutionsRequest{Query: "WorkflowType = 'TypeCountWaitWorkflow' GROUP BY ExecutionStatus"})
		if err != nil || r.Count != want[1] {
			t.Errorf("%s: GROUP BY count %v, %v; want %d", when, r, err, want[1])
		}
	}
	check("open", []int64{3, 4, 4, 0, 0, 0, 7, 4, 3, 0})

	if err := e.c.SignalWorkflow(e.ctx(), waiting[0], "", "go", nil); err != nil {
		t.Fatal(err)
	}
	if err := e.c.GetWorkflow(e.ctx(), waiting[0], "").Get(e.ctx(), nil); err != nil {
		t.Fatal(err)
	}
	if err := e.c.TerminateWorkflow(e.ctx(), waiting[1], "", "stop"); err != nil {
		t.Fatal(err)
	}
	check("after close and terminate", []int64{3, 4, 2, 2, 0, 0, 7, 2, 5, 0})

	if _, err := e.c.WorkflowService().DeleteWorkflowExecution(e.ctx(), &workflowservice.DeleteWorkflowExecutionRequest{
		Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: waiting[1]},
	}); err != nil {
		t.Fatal(err)
	}
	check("after delete", []int64{3, 3, 2, 1, 0, 0, 6, 2, 4, 0})
}
