package gosdk

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// requireNoEventsInsideWFT checks that nothing was written between a
// WorkflowTaskStarted and the event that closes that task (events arriving
// while a task runs must be buffered until it ends).
func requireNoEventsInsideWFT(t *testing.T, evs []*historypb.HistoryEvent) {
	t.Helper()
	for i, ev := range evs {
		if ev.EventType != enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED || i+1 >= len(evs) {
			continue
		}
		switch evs[i+1].EventType {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED, enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
		default:
			t.Fatalf("event %d (%v) follows WorkflowTaskStarted %d: %v", evs[i+1].EventId, evs[i+1].EventType, ev.EventId, types(evs))
		}
	}
}

// requireClosedBy checks the last event type.
func requireClosedBy(t *testing.T, evs []*historypb.HistoryEvent, want enumspb.EventType) {
	t.Helper()
	if len(evs) == 0 || evs[len(evs)-1].EventType != want {
		t.Fatalf("last event is not %v: %v", want, types(evs))
	}
}

func firstOf(evs []*historypb.HistoryEvent, typ enumspb.EventType) *historypb.HistoryEvent {
	for _, ev := range evs {
		if ev.EventType == typ {
			return ev
		}
	}
	return nil
}

func allOf(evs []*historypb.HistoryEvent, typ enumspb.EventType) []*historypb.HistoryEvent {
	var out []*historypb.HistoryEvent
	for _, ev := range evs {
		if ev.EventType == typ {
			out = append(out, ev)
		}
	}
	return out
}

// SignalFloodWorkflow receives n signals; each workflow task is made slow
// (a real sleep inside workflow code) and records a side effect, so signals
// keep arriving while tasks run.
func SignalFloodWorkflow(ctx workflow.Context, n int) ([]int, error) {
	ch := workflow.GetSignalChannel(ctx, "flood")
	var got []int
	for len(got) < n {
		var v int
		ch.Receive(ctx, &v)
		got = append(got, v)
		time.Sleep(3 * time.Millisecond) // keep the task running while signals arrive
		var echo int
		if err := workflow.SideEffect(ctx, func(workflow.Context) interface{} { return v }).Get(&echo); err != nil {
			return nil, err
		}
		if err := workflow.Sleep(ctx, 0); err != nil {
			return nil, err
		}
	}
	return got, nil
}

func TestFeatureWFTSignalsBufferedDuringTask(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(SignalFloodWorkflow) })
	const n = 40
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("flood"), SignalFloodWorkflow, n)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			time.Sleep(time.Duration(i%10) * time.Millisecond)
			if err := e.c.SignalWorkflow(context.Background(), run.GetID(), run.GetRunID(), "flood", i); err != nil {
				errs <- err
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("signal: %v", err)
	}
	var got []int
	if err := run.Get(e.ctx(), &got); err != nil {
		t.Fatal(err)
	}
	sort.Ints(got)
	if len(got) != n {
		t.Fatalf("received %d signals, want %d: %v", len(got), n, got)
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("signals received %v, want each of 0..%d exactly once", got, n-1)
		}
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	requireNoEventsInsideWFT(t, evs)
	requireClosedBy(t, evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
	if c := count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED); c != n {
		t.Fatalf("%d Signaled events, want %d", c, n)
	}
	if c := count(evs, enumspb.EVENT_TYPE_MARKER_RECORDED); c != n {
		t.Fatalf("%d MarkerRecorded (side effect) events, want %d", c, n)
	}
	if c := count(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED); c != 0 {
		t.Fatalf("%d workflow task failures: %v", c, types(evs))
	}
	// Every scheduled task is started and completed exactly once.
	s, st, co := count(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED), count(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED), count(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
	if s != st || st != co {
		t.Fatalf("workflow tasks scheduled/started/completed %d/%d/%d", s, st, co)
	}
}

var panicOnceCount atomic.Int32

// PanicOnceWorkflow panics on its first workflow task attempt only.
func PanicOnceWorkflow(ctx workflow.Context) (string, error) {
	if panicOnceCount.Add(1) == 1 {
		panic("first attempt panics")
	}
	return "recovered", nil
}

func TestFeatureWFTFailureRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	panicOnceCount.Store(0)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(PanicOnceWorkflow) })
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("panic"), PanicOnceWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if err := run.Get(e.ctx(), &out); err != nil {
		t.Fatal(err)
	}
	if out != "recovered" {
		t.Fatalf("got %q", out)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	requireClosedBy(t, evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
	failed := allOf(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED)
	if len(failed) != 1 {
		t.Fatalf("%d WorkflowTaskFailed events, want 1: %v", len(failed), types(evs))
	}
	fa := failed[0].GetWorkflowTaskFailedEventAttributes()
	if fa.Cause != enumspb.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE {
		t.Fatalf("cause %v", fa.Cause)
	}
	if fa.Failure == nil || fa.Failure.Message == "" {
		t.Fatalf("failure missing: %v", fa)
	}
	sched := allOf(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
	if len(sched) != 2 {
		t.Fatalf("%d WorkflowTaskScheduled, want 2: %v", len(sched), types(evs))
	}
	if a := sched[1].GetWorkflowTaskScheduledEventAttributes().Attempt; a != 2 {
		t.Fatalf("retried workflow task attempt %d, want 2", a)
	}
}

func AddOne(ctx context.Context, v int) (int, error) { return v + 1, nil }

// StickyLoopWorkflow runs n short activities in sequence.
func StickyLoopWorkflow(ctx workflow.Context, n int) (int, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 5 * time.Second})
	v := 0
	for i := 0; i < n; i++ {
		if err := workflow.ExecuteActivity(ctx, AddOne, v).Get(ctx, &v); err != nil {
			return 0, err
		}
	}
	return v, nil
}

func TestFeatureWFTStickyManyTasks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(StickyLoopWorkflow)
		w.RegisterActivity(AddOne)
	})
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("sticky"), StickyLoopWorkflow, 20)
	if err != nil {
		t.Fatal(err)
	}
	var out int
	if err := run.Get(e.ctx(), &out); err != nil {
		t.Fatal(err)
	}
	if out != 20 {
		t.Fatalf("got %d want 20", out)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	requireNoEventsInsideWFT(t, evs)
	requireClosedBy(t, evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
	if c := count(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED); c != 20 {
		t.Fatalf("%d activities completed", c)
	}
	if c := count(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED) + count(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT); c != 0 {
		t.Fatalf("workflow task failures/timeouts: %v", types(evs))
	}
	sticky := 0
	for _, ev := range allOf(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED) {
		if ev.GetWorkflowTaskScheduledEventAttributes().GetTaskQueue().GetKind() == enumspb.TASK_QUEUE_KIND_STICKY {
			sticky++
		}
	}
	if sticky < 15 {
		t.Fatalf("only %d of 21 workflow tasks went to the sticky queue", sticky)
	}
}
