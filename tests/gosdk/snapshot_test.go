package gosdk

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/sundial-io/sundial/internal/server"
)

// Tests of run snapshots (issue 15): with a cache of one byte every step of
// a workflow runs on a run loaded cold, from the snapshot in its record;
// in check mode each such load also replays the history and must find the
// same state. After a restart, runs load from their snapshots too.

func startSnapshotServer(t *testing.T, dir string) *server.Server {
	t.Helper()
	srv, err := server.Start(server.Config{Addr: "127.0.0.1:0", DataDir: dir, CacheBytes: 1, CheckSnapshots: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

func requireSnapshotLoads(t *testing.T, srv *server.Server, atLeast int64) {
	t.Helper()
	loads, bad := srv.SnapshotStats()
	if bad != 0 {
		t.Fatalf("%d runs loaded from their snapshot differed from their replayed history", bad)
	}
	if loads < atLeast {
		t.Fatalf("%d runs loaded from a snapshot, want at least %d", loads, atLeast)
	}
	t.Logf("%d runs loaded from their snapshot, none differed from replay", loads)
}

// TestSnapshotColdSteps: ScaleCacheWorkflow (activity, timer, signal,
// queries, child, update) on a one-byte cache, every load checked against
// replay.
func TestSnapshotColdSteps(t *testing.T) {
	srv := startSnapshotServer(t, t.TempDir())
	defer srv.Stop()
	c, err := client.Dial(client.Options{HostPort: srv.Addr(), Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tq := "snapshot-" + uuid.NewString()[:8]
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
	const n = 3
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
	requireSnapshotLoads(t, srv, 2*n)
}

// SnapshotFlaky fails its first two attempts after heartbeating, so the
// run's record carries attempt state (attempt, last failure, heartbeat
// details) across cold loads (the retry backoff is longer than the
// engine's eviction tick, so the run leaves memory while it waits).
func SnapshotFlaky(ctx context.Context, s string) (string, error) {
	info := activity.GetInfo(ctx)
	activity.RecordHeartbeat(ctx, fmt.Sprintf("hb-%d", info.Attempt))
	if info.Attempt < 3 {
		return "", temporal.NewApplicationError(fmt.Sprintf("attempt %d fails", info.Attempt), "Flaky")
	}
	var hb string
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &hb)
	}
	return fmt.Sprintf("%s@%d(%s)", s, info.Attempt, hb), nil
}

// SnapshotWorkflow retries an activity, then waits for two signals with a
// long timer pending, and answers a query.
func SnapshotWorkflow(ctx workflow.Context) (string, error) {
	var got []string
	if err := workflow.SetQueryHandler(ctx, "got", func() ([]string, error) { return got, nil }); err != nil {
		return "", err
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 1200 * time.Millisecond, BackoffCoefficient: 1, MaximumAttempts: 5}})
	var a string
	if err := workflow.ExecuteActivity(ctx, SnapshotFlaky, "x").Get(ctx, &a); err != nil {
		return "", err
	}
	got = append(got, a)
	timer := workflow.NewTimer(ctx, time.Hour)
	sigs := workflow.GetSignalChannel(ctx, "sig")
	for len(got) < 3 {
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(sigs, func(ch workflow.ReceiveChannel, _ bool) {
			var s string
			ch.Receive(ctx, &s)
			got = append(got, s)
		})
		sel.AddFuture(timer, func(workflow.Future) { got = append(got, "timer") })
		sel.Select(ctx)
	}
	return fmt.Sprint(got), nil
}

// TestSnapshotRetriesSignalsAndRestart: a retried activity and signals on
// a one-byte cache; then the server restarts with the run open (a long
// timer pending) and the run is loaded from its snapshot by the next
// signal, and completes.
func TestSnapshotRetriesSignalsAndRestart(t *testing.T) {
	dir := t.TempDir()
	srv := startSnapshotServer(t, dir)
	stopped := false
	defer func() {
		if !stopped {
			srv.Stop()
		}
	}()
	tq := "snapshot-" + uuid.NewString()[:8]
	dial := func(srv *server.Server) (client.Client, worker.Worker) {
		c, err := client.Dial(client.Options{HostPort: srv.Addr(), Logger: quietLogger{}})
		if err != nil {
			t.Fatal(err)
		}
		w := worker.New(c, tq, worker.Options{})
		w.RegisterWorkflow(SnapshotWorkflow)
		w.RegisterActivity(SnapshotFlaky)
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		return c, w
	}
	c, w := dial(srv)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	id := "snapshot-" + uuid.NewString()[:8]
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tq}, SnapshotWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	waitGot := func(c client.Client, n int) []string {
		t.Helper()
		for {
			v, err := c.QueryWorkflow(ctx, id, run.GetRunID(), "got")
			var got []string
			if err == nil {
				err = v.Get(&got)
			}
			if err == nil && len(got) >= n {
				return got
			}
			if ctx.Err() != nil {
				t.Fatalf("query: %v, got %v, want %d entries", err, got, n)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if got := waitGot(c, 1); got[0] != "x@3(hb-2)" {
		t.Fatalf("activity result %q, want x@3(hb-2) (third attempt, second attempt's heartbeat)", got[0])
	}
	if err := c.SignalWorkflow(ctx, id, run.GetRunID(), "sig", "one"); err != nil {
		t.Fatal(err)
	}
	waitGot(c, 2)
	// Once evicted (the evictor runs every second), a query loads it cold.
	time.Sleep(1500 * time.Millisecond)
	waitGot(c, 2)
	requireSnapshotLoads(t, srv, 2)
	w.Stop()
	c.Close()
	srv.Stop()
	stopped = true

	// A new server on the same data dir: the run is loaded from its
	// snapshot (the check replays it too).
	srv2 := startSnapshotServer(t, dir)
	defer srv2.Stop()
	c2, w2 := dial(srv2)
	defer c2.Close()
	defer w2.Stop()
	if err := c2.SignalWorkflow(ctx, id, run.GetRunID(), "sig", "two"); err != nil {
		t.Fatal(err)
	}
	var out string
	if err := c2.GetWorkflow(ctx, id, run.GetRunID()).Get(ctx, &out); err != nil {
		t.Fatal(err)
	}
	if out != "[x@3(hb-2) one two]" {
		t.Fatalf("result %q", out)
	}
	requireSnapshotLoads(t, srv2, 1)
	evs := (&env{t: t, c: c2}).history(id, run.GetRunID())
	requireWellFormed(t, evs)
	for et, want := range map[enumspb.EventType]int{
		enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:      1,
		enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:      1,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:  2,
		enumspb.EVENT_TYPE_TIMER_STARTED:                1,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: 1,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED:         0,
	} {
		if got := count(evs, et); got != want {
			t.Fatalf("%d %v events, want %d: %v", got, et, want, types(evs))
		}
	}
	for _, ev := range evs {
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && a.Attempt != 3 {
			t.Fatalf("activity started event attempt %d, want 3", a.Attempt)
		}
	}
}
