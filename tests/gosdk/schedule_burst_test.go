package gosdk

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
)

// TestScheduleBurst: more schedules than the scheduler steps at once (256)
// fire at the same second; each starts exactly one workflow for that time,
// and once the workflows complete no schedule still counts one as running
// (closes are reported while other schedules wait for a step).
func TestScheduleBurst(t *testing.T) {
	const n = 600
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(SchedEcho) })
	fire := time.Now().Add(8 * time.Second).Truncate(time.Second).UTC()
	one := func(v int) []client.ScheduleRange { return []client.ScheduleRange{{Start: v}} }
	spec := client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{{
		Second: one(fire.Second()), Minute: one(fire.Minute()), Hour: one(fire.Hour()),
		DayOfMonth: one(fire.Day()), Month: one(int(fire.Month())), Year: one(fire.Year()),
	}}}
	ids := make(chan int)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for g := 0; g < 20; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ids {
				_, err := e.c.ScheduleClient().Create(e.ctx(), client.ScheduleOptions{
					ID:   fmt.Sprintf("burst-%d", i),
					Spec: spec,
					Action: &client.ScheduleWorkflowAction{
						ID: fmt.Sprintf("burst-wf-%d", i), Workflow: SchedEcho, Args: []any{"x"}, TaskQueue: e.tq,
					},
				})
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		ids <- i
	}
	close(ids)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("create: %v", err)
	}
	if time.Now().After(fire) {
		t.Skipf("creating %d schedules took past the fire time %s (machine too busy)", n, fire)
	}

	// Every schedule starts one workflow for the fire time, and it completes.
	dc := converter.GetDefaultDataConverter()
	query := "WorkflowType = 'SchedEcho' AND ExecutionStatus = 'Completed'"
	deadline := time.Now().Add(time.Until(fire) + 60*time.Second)
	for {
		r, err := e.c.CountWorkflow(context.Background(), &workflowservice.CountWorkflowExecutionsRequest{Namespace: "default", Query: query})
		if err != nil {
			t.Fatalf("count: %v", err)
		}
		if r.Count >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d scheduled workflows completed within 60 s of the fire time", r.Count, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
	per := map[string]int{}
	req := &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default", Query: "WorkflowType = 'SchedEcho'", PageSize: 250}
	for {
		r, err := e.c.ListWorkflow(context.Background(), req)
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		for _, ex := range r.Executions {
			var by string
			var nominal time.Time
			f := ex.GetSearchAttributes().GetIndexedFields()
			if err := dc.FromPayload(f["TemporalScheduledById"], &by); err != nil {
				t.Fatalf("%s: TemporalScheduledById: %v", ex.Execution.WorkflowId, err)
			}
			if err := dc.FromPayload(f["TemporalScheduledStartTime"], &nominal); err != nil || !nominal.Equal(fire) {
				t.Fatalf("%s: TemporalScheduledStartTime %v (err %v), want %v", ex.Execution.WorkflowId, nominal, err, fire)
			}
			if ex.Status != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
				t.Fatalf("%s: status %v", ex.Execution.WorkflowId, ex.Status)
			}
			per[by]++
		}
		if len(r.NextPageToken) == 0 {
			break
		}
		req.NextPageToken = r.NextPageToken
	}
	for i := 0; i < n; i++ {
		if c := per[fmt.Sprintf("burst-%d", i)]; c != 1 {
			t.Fatalf("schedule burst-%d started %d workflows, want 1", i, c)
		}
	}

	// The closes reach the schedules: none still lists a running workflow,
	// and each made exactly one action.
	deadline = time.Now().Add(30 * time.Second)
	for i := 0; i < n; i++ {
		for {
			d, err := e.c.ScheduleClient().GetHandle(e.ctx(), fmt.Sprintf("burst-%d", i)).Describe(e.ctx())
			if err != nil {
				t.Fatalf("describe burst-%d: %v", i, err)
			}
			if len(d.Info.RunningWorkflows) == 0 && len(d.Info.RecentActions) == 1 && d.Info.NumActions == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("burst-%d: running %v, %d recent actions, %d actions; want none running, 1 action",
					i, d.Info.RunningWorkflows, len(d.Info.RecentActions), d.Info.NumActions)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}
