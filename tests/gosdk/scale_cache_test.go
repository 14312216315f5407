package gosdk

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/sundial-io/sundial/internal/server"
)

// Tests of the bounded workflow cache and of startup from the due index
// (issue 15): with a cache of one byte every workflow leaves memory as
// soon as nothing about it lives only there, so each step of these
// workflows (activity, timer, signal, query, update, child) runs on a run
// loaded cold from the store; and after a SIGKILL, timers that came due
// while the server was down fire and queued activity tasks are handed out
// again, without the server reading every open run at start.

func ScaleCacheEcho(_ context.Context, s string) (string, error) { return "echo-" + s, nil }

func ScaleCacheChild(_ workflow.Context, s string) (string, error) { return "child-" + s, nil }

// ScaleCacheWorkflow runs one of everything, each step waiting on the
// outside so the run goes cold in between.
func ScaleCacheWorkflow(ctx workflow.Context) (string, error) {
	state, total := "start", 0
	if err := workflow.SetQueryHandler(ctx, "state", func() (string, error) { return state, nil }); err != nil {
		return "", err
	}
	if err := workflow.SetUpdateHandler(ctx, "bump", func(ctx workflow.Context, by int) (int, error) {
		total += by
		return total, nil
	}); err != nil {
		return "", err
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	var a string
	if err := workflow.ExecuteActivity(ctx, ScaleCacheEcho, "x").Get(ctx, &a); err != nil {
		return "", err
	}
	if err := workflow.Sleep(ctx, 300*time.Millisecond); err != nil {
		return "", err
	}
	state = "waiting"
	var sig string
	workflow.GetSignalChannel(ctx, "go").Receive(ctx, &sig)
	var c string
	if err := workflow.ExecuteChildWorkflow(ctx, ScaleCacheChild, sig).Get(ctx, &c); err != nil {
		return "", err
	}
	state = "child done"
	if err := workflow.Await(ctx, func() bool { return total > 0 }); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s|%s|%d", a, c, total), nil
}

func TestScaleCacheTinyEvictsBetweenSteps(t *testing.T) {
	dir := t.TempDir()
	srv, err := server.Start(server.Config{Addr: "127.0.0.1:0", DataDir: dir, CacheBytes: 1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	c, err := client.Dial(client.Options{HostPort: srv.Addr(), Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tq := "scale-cache-" + uuid.NewString()[:8]
	w := worker.New(c, tq, worker.Options{})
	w.RegisterWorkflow(ScaleCacheWorkflow)
	w.RegisterWorkflow(ScaleCacheChild)
	w.RegisterActivity(ScaleCacheEcho)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	const n = 4
	_, _, loads0 := srv.CacheStats()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs <- scaleCacheDrive(ctx, t, c, tq, i)
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	bytes, evictions, loads := srv.CacheStats()
	// Every workflow was evicted and loaded back many times over.
	if evictions < 2*n || loads-loads0 < 2*n {
		t.Fatalf("cache of 1 byte: %d evictions, %d cold loads for %d workflows; want many of each", evictions, loads-loads0, n)
	}
	t.Logf("cache of 1 byte: %d evictions, %d cold loads, %d bytes held at the end", evictions, loads-loads0, bytes)
}

// scaleCacheDrive runs one ScaleCacheWorkflow through its steps and checks
// its result and history.
func scaleCacheDrive(ctx context.Context, t *testing.T, c client.Client, tq string, i int) error {
	id := fmt.Sprintf("scale-cache-%d-%s", i, uuid.NewString()[:8])
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tq}, ScaleCacheWorkflow)
	if err != nil {
		return err
	}
	// Query until the run waits for its signal (after activity and timer).
	for {
		v, err := c.QueryWorkflow(ctx, id, run.GetRunID(), "state")
		if err != nil {
			return fmt.Errorf("%s: query: %w", id, err)
		}
		var s string
		if err := v.Get(&s); err != nil {
			return err
		}
		if s == "waiting" {
			break
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: never reached the signal wait (state %q)", id, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := c.SignalWorkflow(ctx, id, run.GetRunID(), "go", fmt.Sprint(i)); err != nil {
		return err
	}
	for {
		v, err := c.QueryWorkflow(ctx, id, run.GetRunID(), "state")
		if err != nil {
			return fmt.Errorf("%s: query: %w", id, err)
		}
		var s string
		if err := v.Get(&s); err != nil {
			return err
		}
		if s == "child done" {
			break
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: child never finished (state %q)", id, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: id, RunID: run.GetRunID(), UpdateID: "bump-" + id, UpdateName: "bump", Args: []interface{}{i + 2},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return fmt.Errorf("%s: update: %w", id, err)
	}
	var total int
	if err := h.Get(ctx, &total); err != nil || total != i+2 {
		return fmt.Errorf("%s: update result %d, %v; want %d", id, total, err, i+2)
	}
	var out string
	if err := run.Get(ctx, &out); err != nil {
		return fmt.Errorf("%s: result: %w", id, err)
	}
	if want := fmt.Sprintf("echo-x|child-%d|%d", i, i+2); out != want {
		return fmt.Errorf("%s: result %q, want %q", id, out, want)
	}
	it := c.GetWorkflowHistory(ctx, id, run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var evs []*historypb.HistoryEvent
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return err
		}
		evs = append(evs, ev)
	}
	requireWellFormed(t, evs)
	for et, want := range map[enumspb.EventType]int{
		enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:                              1,
		enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:                              1,
		enumspb.EVENT_TYPE_TIMER_FIRED:                                          1,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:                          1,
		enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:             1,
		enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:                   1,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:                   1,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:                  1,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:                         1,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED:                                 0,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:                              0,
		enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:                              0,
		enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED:                0,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:                  0,
		enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:                     1,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ADMITTED:                   0,
		enumspb.EVENT_TYPE_TIMER_STARTED:                                        1,
		enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:                                1,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:                           1,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:                  0,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:                        0,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:                            0,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:                         0,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:                          0,
		enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED:                                 0,
		enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED:                      0,
		enumspb.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: 0,
	} {
		if got := count(evs, et); got != want {
			return fmt.Errorf("%s: %d %v events, want %d: %v", id, got, et, want, types(evs))
		}
	}
	return nil
}

// ScaleKillWorkflow sleeps, then runs an activity on a queue that has no
// worker until after the restart.
func ScaleKillWorkflow(ctx workflow.Context, sleep time.Duration, actQueue string) (string, error) {
	if sleep > 0 {
		if err := workflow.Sleep(ctx, sleep); err != nil {
			return "", err
		}
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue: actQueue, StartToCloseTimeout: 10 * time.Second, ScheduleToStartTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	var out string
	err := workflow.ExecuteActivity(ctx, "ScaleKillActivity", "x").Get(ctx, &out)
	return out, err
}

// TestScaleSIGKILLDueTimersAndQueuedTasks: the binary with a tiny cache
// holds workflows with timers that come due while it is down, workflows
// whose activity tasks wait for a worker that is not there, and workflows
// with timers due a few seconds after the restart. After SIGKILL and a
// restart, the server answers at once, the timers fire and the activity
// tasks are handed out (each exactly once) without any request naming
// those workflows.
func TestScaleSIGKILLDueTimersAndQueuedTasks(t *testing.T) {
	bin := binBuild(t, t.TempDir())
	dir := t.TempDir()
	p := binStart(t, bin, dir, 0, "--cache-size", "4KiB")
	c := p.client(t)
	tq := "scale-kill-" + uuid.NewString()[:8]
	actQ := tq + "-act"
	w := binWorker(t, c, tq, func(w worker.Worker) { w.RegisterWorkflow(ScaleKillWorkflow) })
	type ref struct{ id, runID string }
	var sleepers, queued, later []ref
	for i := 0; i < 6; i++ {
		id := fmt.Sprintf("scale-kill-sleep-%d-%s", i, uuid.NewString()[:8])
		r, err := c.ExecuteWorkflow(binCtx(t), client.StartWorkflowOptions{ID: id, TaskQueue: tq}, ScaleKillWorkflow, 2*time.Second, actQ)
		if err != nil {
			t.Fatal(err)
		}
		sleepers = append(sleepers, ref{id, r.GetRunID()})
		id = fmt.Sprintf("scale-kill-queued-%d-%s", i, uuid.NewString()[:8])
		r, err = c.ExecuteWorkflow(binCtx(t), client.StartWorkflowOptions{ID: id, TaskQueue: tq}, ScaleKillWorkflow, time.Duration(0), actQ)
		if err != nil {
			t.Fatal(err)
		}
		queued = append(queued, ref{id, r.GetRunID()})
		// Due after the restart: armed from the due index, not by a scan.
		id = fmt.Sprintf("scale-kill-later-%d-%s", i, uuid.NewString()[:8])
		r, err = c.ExecuteWorkflow(binCtx(t), client.StartWorkflowOptions{ID: id, TaskQueue: tq}, ScaleKillWorkflow, 7*time.Second, actQ)
		if err != nil {
			t.Fatal(err)
		}
		later = append(later, ref{id, r.GetRunID()})
	}
	historyOf := func(c client.Client, r ref) []*historypb.HistoryEvent {
		it := c.GetWorkflowHistory(binCtx(t), r.id, r.runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		var evs []*historypb.HistoryEvent
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			evs = append(evs, ev)
		}
		return evs
	}
	waitFor := func(r ref, et enumspb.EventType) {
		deadline := time.Now().Add(10 * time.Second)
		for {
			evs := historyOf(c, r)
			if count(evs, et) == 1 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no %v: %v", r.id, et, types(evs))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for _, r := range append(append([]ref{}, sleepers...), later...) {
		waitFor(r, enumspb.EVENT_TYPE_TIMER_STARTED)
	}
	for _, r := range queued {
		waitFor(r, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
	}
	w.Stop()
	c.Close()
	if err := p.signalAndWait(syscall.SIGKILL, 5*time.Second); err == nil {
		t.Fatal("SIGKILL: process exited cleanly?")
	}
	time.Sleep(2500 * time.Millisecond) // every timer comes due while the server is down

	began := time.Now()
	p2 := binStart(t, bin, dir, 0, "--cache-size", "4KiB")
	c2 := p2.client(t)
	if _, err := c2.DescribeTaskQueue(binCtx(t), actQ, enumspb.TASK_QUEUE_TYPE_ACTIVITY); err != nil {
		t.Fatalf("first RPC after restart: %v", err)
	}
	t.Logf("restart to first RPC answered: %v", time.Since(began).Round(time.Millisecond))
	var mu sync.Mutex
	ran := map[string]int{}
	binWorker(t, c2, tq, func(w worker.Worker) { w.RegisterWorkflow(ScaleKillWorkflow) })
	binWorker(t, c2, actQ, func(w worker.Worker) {
		w.RegisterActivityWithOptions(func(ctx context.Context, s string) (string, error) {
			mu.Lock()
			ran[activity.GetInfo(ctx).WorkflowExecution.ID]++
			mu.Unlock()
			return "done-" + s, nil
		}, activity.RegisterOptions{Name: "ScaleKillActivity"})
	})
	// Without any request naming them, the background recovery fires the
	// overdue timers and hands the queued activity tasks out.
	all := append(append(append([]ref{}, sleepers...), queued...), later...)
	for deadline := time.Now().Add(20 * time.Second); ; {
		mu.Lock()
		n := len(ran)
		mu.Unlock()
		if n == len(all) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after restart %d of %d activities ran without a request naming their workflow", n, len(all))
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, r := range all {
		var out string
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := c2.GetWorkflow(ctx, r.id, r.runID).Get(ctx, &out)
		cancel()
		if err != nil || out != "done-x" {
			t.Fatalf("%s after SIGKILL: %q, %v; history %v", r.id, out, err, types(historyOf(c2, r)))
		}
		evs := historyOf(c2, r)
		requireWellFormed(t, evs)
		if count(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED) != 1 || count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED) != 1 {
			t.Fatalf("%s: history %v", r.id, types(evs))
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, r := range all {
		if ran[r.id] != 1 {
			t.Fatalf("%s: activity ran %d times, want once", r.id, ran[r.id])
		}
	}
	c2.Close()
	if err := p2.signalAndWait(syscall.SIGTERM, 5*time.Second); err != nil {
		t.Fatalf("exit after SIGTERM: %v\nstderr:\n%s", err, p2.errOut())
	}
}

// ScaleStuckActivityWorkflow runs ScaleStuckActivity on its own queue (so
// the SDK starts it eagerly in the workflow task's reply) with a short
// start-to-close timeout and retries.
func ScaleStuckActivityWorkflow(ctx workflow.Context) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 100 * time.Millisecond, MaximumAttempts: 5},
	})
	var out string
	err := workflow.ExecuteActivity(ctx, "ScaleStuckActivity").Get(ctx, &out)
	return out, err
}

// TestScaleSIGKILLStartedActivityTimesOut: with a tiny cache, activities
// started (eagerly) just before a SIGKILL whose first attempt never
// answers must time out after the restart (start-to-close, armed from the
// due index) and run again: the torture with a 4KiB cache found children
// stuck on such an activity until the next restart.
func TestScaleSIGKILLStartedActivityTimesOut(t *testing.T) {
	bin := binBuild(t, t.TempDir())
	dir := t.TempDir()
	p := binStart(t, bin, dir, 0, "--cache-size", "4KiB")
	c := p.client(t)
	tq := "scale-stuck-" + uuid.NewString()[:8]
	started := make(chan string, 100)
	stuck := func(ctx context.Context) (string, error) {
		if activity.GetInfo(ctx).Attempt == 1 {
			started <- activity.GetInfo(ctx).WorkflowExecution.ID
			<-ctx.Done() // the first attempt never answers
			return "", ctx.Err()
		}
		return "retried", nil
	}
	reg := func(w worker.Worker) {
		w.RegisterWorkflow(ScaleStuckActivityWorkflow)
		w.RegisterActivityWithOptions(stuck, activity.RegisterOptions{Name: "ScaleStuckActivity"})
	}
	w := binWorker(t, c, tq, reg)
	const n = 6
	var ids []string
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("scale-stuck-%d-%s", i, uuid.NewString()[:8])
		if _, err := c.ExecuteWorkflow(binCtx(t), client.StartWorkflowOptions{ID: id, TaskQueue: tq}, ScaleStuckActivityWorkflow); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for i := 0; i < n; i++ {
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d first attempts started", i, n)
		}
	}
	if err := p.signalAndWait(syscall.SIGKILL, 5*time.Second); err == nil {
		t.Fatal("SIGKILL: process exited cleanly?")
	}
	w.Stop()
	c.Close()
	p2 := binStart(t, bin, dir, 0, "--cache-size", "4KiB")
	c2 := p2.client(t)
	binWorker(t, c2, tq, reg)
	for _, id := range ids {
		var out string
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := c2.GetWorkflow(ctx, id, "").Get(ctx, &out)
		cancel()
		if err != nil || out != "retried" {
			t.Fatalf("%s after SIGKILL: %q, %v", id, out, err)
		}
	}
	c2.Close()
	_ = p2.signalAndWait(syscall.SIGTERM, 5*time.Second)
}
