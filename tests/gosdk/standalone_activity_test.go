package gosdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sundial-io/sundial/internal/server"
)

// Standalone activities: activities started by a client without a
// workflow (client.ExecuteActivity), run by an ordinary Go SDK worker.

func (e *env) startActivity(id string, opts client.StartActivityOptions, act any, args ...any) client.ActivityHandle {
	e.t.Helper()
	if opts.ID == "" {
		opts.ID = id + "-" + uuid.NewString()[:8]
	}
	if opts.TaskQueue == "" {
		opts.TaskQueue = e.tq
	}
	if opts.StartToCloseTimeout == 0 && opts.ScheduleToCloseTimeout == 0 {
		opts.StartToCloseTimeout = 10 * time.Second
	}
	h, err := e.c.ExecuteActivity(e.ctx(), opts, act, args...)
	if err != nil {
		e.t.Fatalf("ExecuteActivity %s: %v", opts.ID, err)
	}
	return h
}

func (e *env) describeActivity(h client.ActivityHandle) *client.ActivityExecutionDescription {
	e.t.Helper()
	d, err := h.Describe(e.ctx(), client.DescribeActivityOptions{IncludeInput: true, IncludeOutcome: true,
		IncludeHeartbeatDetails: true, IncludeLastFailure: true})
	if err != nil {
		e.t.Fatalf("Describe: %v", err)
	}
	return d
}

func TestStandaloneActivitySuccess(t *testing.T) {
	e := newEnv(t)
	var seen atomic.Value
	e.worker(func(w worker.Worker) {
		w.RegisterActivityWithOptions(func(ctx context.Context, name string) (string, error) {
			seen.Store(activity.GetInfo(ctx))
			return "hello " + name, nil
		}, activity.RegisterOptions{Name: "Greet"})
	})
	h := e.startActivity("greet", client.StartActivityOptions{}, "Greet", "sundial")
	if h.GetRunID() == "" {
		t.Fatal("no run id")
	}
	var got string
	if err := h.Get(e.ctx(), &got); err != nil || got != "hello sundial" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	info := seen.Load().(activity.Info)
	if info.ActivityID != h.GetID() || info.ActivityRunID != h.GetRunID() || info.WorkflowExecution.ID != "" ||
		info.Attempt != 1 || info.ActivityType.Name != "Greet" || info.TaskQueue != e.tq {
		t.Fatalf("activity info %+v", info)
	}
	d := e.describeActivity(h)
	if d.Status != enumspb.ACTIVITY_EXECUTION_STATUS_COMPLETED || d.Attempt != 1 || d.ActivityType != "Greet" ||
		d.TaskQueue != e.tq || d.CloseTime.IsZero() || d.StartToCloseTimeout != 10*time.Second {
		t.Fatalf("describe %+v", d.ClientActivityExecutionInfo)
	}
	var in, res string
	if err := d.GetInput(&in); err != nil || in != "sundial" {
		t.Fatalf("input %q %v", in, err)
	}
	if err := d.GetResult(&res); err != nil || res != "hello sundial" {
		t.Fatalf("result %q %v", res, err)
	}
	// A handle by id (latest run) reads the same outcome.
	again := e.c.GetActivityHandle(client.GetActivityHandleOptions{ActivityID: h.GetID()})
	if err := again.Get(e.ctx(), &got); err != nil || got != "hello sundial" {
		t.Fatalf("Get by id = %q, %v", got, err)
	}
}

func TestStandaloneActivityRetries(t *testing.T) {
	e := newEnv(t)
	var calls atomic.Int32
	e.worker(func(w worker.Worker) {
		w.RegisterActivityWithOptions(func(ctx context.Context) (int32, error) {
			calls.Add(1)
			if a := activity.GetInfo(ctx).Attempt; a < 3 {
				return 0, fmt.Errorf("attempt %d failed", a)
			}
			return activity.GetInfo(ctx).Attempt, nil
		}, activity.RegisterOptions{Name: "Flaky"})
		w.RegisterActivityWithOptions(func(ctx context.Context) error {
			return temporal.NewApplicationError("always", "Boom")
		}, activity.RegisterOptions{Name: "Broken"})
	})
	retry := &temporal.RetryPolicy{InitialInterval: 50 * time.Millisecond, BackoffCoefficient: 2, MaximumAttempts: 5}
	h := e.startActivity("flaky", client.StartActivityOptions{RetryPolicy: retry}, "Flaky")
	var attempt int32
	if err := h.Get(e.ctx(), &attempt); err != nil || attempt != 3 || calls.Load() != 3 {
		t.Fatalf("Get = %d, %v (calls %d)", attempt, err, calls.Load())
	}
	d := e.describeActivity(h)
	if d.Attempt != 3 || d.Status != enumspb.ACTIVITY_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("attempt %d status %v", d.Attempt, d.Status)
	}
	if err := d.GetLastFailure(); err == nil || !strings.Contains(err.Error(), "attempt 2 failed") {
		t.Fatalf("last failure %v", err)
	}

	retry.MaximumAttempts = 2
	h = e.startActivity("broken", client.StartActivityOptions{RetryPolicy: retry}, "Broken")
	err := h.Get(e.ctx(), nil)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != "Boom" {
		t.Fatalf("Get = %v, want the ApplicationError", err)
	}
	d = e.describeActivity(h)
	if d.Status != enumspb.ACTIVITY_EXECUTION_STATUS_FAILED || d.Attempt != 2 || !d.HasOutcomeFailure() {
		t.Fatalf("status %v attempt %d", d.Status, d.Attempt)
	}
	if r := d.RawResponse.GetOutcome().GetRetryState(); r != enumspb.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED {
		t.Fatalf("retry state %v", r)
	}
}

func TestStandaloneActivityStartToCloseTimeoutRetries(t *testing.T) {
	e := newEnv(t)
	var calls atomic.Int32
	e.worker(func(w worker.Worker) {
		w.RegisterActivityWithOptions(func(ctx context.Context) (string, error) {
			calls.Add(1)
			if activity.GetInfo(ctx).Attempt == 1 {
				<-ctx.Done() // outlives its start-to-close timeout
				time.Sleep(200 * time.Millisecond)
				return "late", nil
			}
			return "second", nil
		}, activity.RegisterOptions{Name: "Slow"})
	})
	h := e.startActivity("slow", client.StartActivityOptions{StartToCloseTimeout: 700 * time.Millisecond,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 50 * time.Millisecond}}, "Slow")
	var got string
	if err := h.Get(e.ctx(), &got); err != nil || got != "second" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	d := e.describeActivity(h)
	if d.Attempt != 2 {
		t.Fatalf("attempt %d", d.Attempt)
	}
	var te *temporal.TimeoutError
	if err := d.GetLastFailure(); !errors.As(err, &te) || te.TimeoutType() != enumspb.TIMEOUT_TYPE_START_TO_CLOSE {
		t.Fatalf("last failure %v", err)
	}
	// A schedule-to-close timeout with no worker: timed out for good.
	h = e.startActivity("nobody", client.StartActivityOptions{TaskQueue: "nobody-" + e.tq, ScheduleToCloseTimeout: 500 * time.Millisecond}, "Slow")
	err := h.Get(e.ctx(), nil)
	if !errors.As(err, &te) || te.TimeoutType() != enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE {
		t.Fatalf("Get = %v, want a schedule-to-close timeout", err)
	}
	if d := e.describeActivity(h); d.Status != enumspb.ACTIVITY_EXECUTION_STATUS_TIMED_OUT {
		t.Fatalf("status %v", d.Status)
	}
}

func TestStandaloneActivityHeartbeatDetails(t *testing.T) {
	e := newEnv(t)
	progress := make(chan struct{})
	e.worker(func(w worker.Worker) {
		w.RegisterActivityWithOptions(func(ctx context.Context) (int, error) {
			if activity.GetInfo(ctx).Attempt == 1 {
				activity.RecordHeartbeat(ctx, 41)
				close(progress)
				time.Sleep(300 * time.Millisecond)
				return 0, errors.New("crash after progress")
			}
			var n int
			if !activity.HasHeartbeatDetails(ctx) {
				return 0, errors.New("no heartbeat details on retry")
			}
			if err := activity.GetHeartbeatDetails(ctx, &n); err != nil {
				return 0, err
			}
			return n + 1, nil
		}, activity.RegisterOptions{Name: "Resume"})
	})
	h := e.startActivity("resume", client.StartActivityOptions{HeartbeatTimeout: 5 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 100 * time.Millisecond}}, "Resume")
	<-progress
	var n int
	if err := h.Get(e.ctx(), &n); err != nil || n != 42 {
		t.Fatalf("Get = %d, %v", n, err)
	}
	d := e.describeActivity(h)
	var details int
	if !d.HasHeartbeatDetails() || d.GetHeartbeatDetails(&details) != nil || details != 41 || d.TotalHeartbeatCount < 1 {
		t.Fatalf("heartbeat details %d (count %d)", details, d.TotalHeartbeatCount)
	}
}

func TestStandaloneActivityCancel(t *testing.T) {
	e := newEnv(t)
	started := make(chan struct{})
	e.worker(func(w worker.Worker) {
		w.RegisterActivityWithOptions(func(ctx context.Context) error {
			close(started)
			for {
				activity.RecordHeartbeat(ctx)
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(100 * time.Millisecond):
				}
			}
		}, activity.RegisterOptions{Name: "Loop"})
	})
	h := e.startActivity("loop", client.StartActivityOptions{HeartbeatTimeout: time.Second}, "Loop")
	<-started
	if err := h.Cancel(e.ctx(), client.CancelActivityOptions{Reason: "enough"}); err != nil {
		t.Fatal(err)
	}
	var canceled *temporal.CanceledError
	if err := h.Get(e.ctx(), nil); !errors.As(err, &canceled) {
		t.Fatalf("Get = %v, want CanceledError", err)
	}
	d := e.describeActivity(h)
	if d.Status != enumspb.ACTIVITY_EXECUTION_STATUS_CANCELED || d.CanceledReason != "enough" {
		t.Fatalf("status %v reason %q", d.Status, d.CanceledReason)
	}

	// Not started (no worker on its queue): canceled at once.
	h = e.startActivity("idle", client.StartActivityOptions{TaskQueue: "nobody-" + e.tq}, "Loop")
	if err := h.Cancel(e.ctx(), client.CancelActivityOptions{Reason: "never mind"}); err != nil {
		t.Fatal(err)
	}
	if err := h.Get(e.ctx(), nil); !errors.As(err, &canceled) {
		t.Fatalf("Get = %v, want CanceledError", err)
	}
	// A closed execution refuses another cancel.
	var fp *serviceerror.FailedPrecondition
	if err := h.Cancel(e.ctx(), client.CancelActivityOptions{}); !errors.As(err, &fp) {
		t.Fatalf("cancel of a canceled activity: %v", err)
	}
}

func TestStandaloneActivityTerminate(t *testing.T) {
	e := newEnv(t)
	h := e.startActivity("term", client.StartActivityOptions{TaskQueue: "nobody-" + e.tq}, "Anything")
	if err := h.Terminate(e.ctx(), client.TerminateActivityOptions{Reason: "stop it"}); err != nil {
		t.Fatal(err)
	}
	var term *temporal.TerminatedError
	if err := h.Get(e.ctx(), nil); !errors.As(err, &term) {
		t.Fatalf("Get = %v, want TerminatedError", err)
	}
	if d := e.describeActivity(h); d.Status != enumspb.ACTIVITY_EXECUTION_STATUS_TERMINATED {
		t.Fatalf("status %v", d.Status)
	}
	var fp *serviceerror.FailedPrecondition
	if err := h.Terminate(e.ctx(), client.TerminateActivityOptions{Reason: "again"}); !errors.As(err, &fp) {
		t.Fatalf("second terminate: %v", err)
	}
}

func TestStandaloneActivityIDConflict(t *testing.T) {
	e := newEnv(t)
	id := "conflict-" + uuid.NewString()[:8]
	queue := "nobody-" + e.tq
	first := e.startActivity("", client.StartActivityOptions{ID: id, TaskQueue: queue}, "Anything")
	_, err := e.c.ExecuteActivity(e.ctx(), client.StartActivityOptions{ID: id, TaskQueue: queue, StartToCloseTimeout: time.Second}, "Anything")
	var already *serviceerror.ActivityExecutionAlreadyStarted
	if !errors.As(err, &already) || already.RunId != first.GetRunID() {
		t.Fatalf("second start = %v, want ActivityExecutionAlreadyStarted naming %s", err, first.GetRunID())
	}
	same := e.startActivity("", client.StartActivityOptions{ID: id, TaskQueue: queue,
		ActivityIDConflictPolicy: enumspb.ACTIVITY_ID_CONFLICT_POLICY_USE_EXISTING}, "Anything")
	if same.GetRunID() != first.GetRunID() {
		t.Fatalf("USE_EXISTING gave run %s, want %s", same.GetRunID(), first.GetRunID())
	}
	if err := first.Terminate(e.ctx(), client.TerminateActivityOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.ExecuteActivity(e.ctx(), client.StartActivityOptions{ID: id, TaskQueue: queue, StartToCloseTimeout: time.Second,
		ActivityIDReusePolicy: enumspb.ACTIVITY_ID_REUSE_POLICY_REJECT_DUPLICATE}, "Anything")
	if !errors.As(err, &already) {
		t.Fatalf("REJECT_DUPLICATE after close = %v", err)
	}
	second := e.startActivity("", client.StartActivityOptions{ID: id, TaskQueue: queue}, "Anything")
	if second.GetRunID() == first.GetRunID() {
		t.Fatal("a new run after close reused the run id")
	}
	// The activity id now names the new run; the old one is still there.
	d := e.describeActivity(e.c.GetActivityHandle(client.GetActivityHandleOptions{ActivityID: id}))
	if d.ActivityRunID != second.GetRunID() || d.Status != enumspb.ACTIVITY_EXECUTION_STATUS_RUNNING {
		t.Fatalf("latest run %s status %v", d.ActivityRunID, d.Status)
	}
	if d := e.describeActivity(first); d.Status != enumspb.ACTIVITY_EXECUTION_STATUS_TERMINATED {
		t.Fatalf("first run status %v", d.Status)
	}
	// Validation errors name the field.
	_, err = e.c.WorkflowService().StartActivityExecution(e.ctx(), &workflowservice.StartActivityExecutionRequest{
		Namespace: "default", ActivityId: "x", TaskQueue: nil})
	var inv *serviceerror.InvalidArgument
	if !errors.As(err, &inv) || !strings.Contains(err.Error(), "ActivityType") {
		t.Fatalf("start without a type: %v", err)
	}
}

func TestStandaloneActivityListCountDelete(t *testing.T) {
	e := newEnv(t)
	e.worker(func(w worker.Worker) {
		w.RegisterActivityWithOptions(func(ctx context.Context) error { return nil }, activity.RegisterOptions{Name: "Quick"})
	})
	done := e.startActivity("quick", client.StartActivityOptions{}, "Quick")
	if err := done.Get(e.ctx(), nil); err != nil {
		t.Fatal(err)
	}
	queue := "nobody-" + e.tq
	var waiting []client.ActivityHandle
	for i := 0; i < 2; i++ {
		waiting = append(waiting, e.startActivity("wait", client.StartActivityOptions{TaskQueue: queue}, "Waiting"))
	}
	list := func(q string) []string {
		t.Helper()
		return listActivityIDs(e.ctx(), t, e.c, q)
	}
	if got := list("ActivityType = 'Waiting'"); len(got) != 2 || got[0] != waiting[1].GetID() || got[1] != waiting[0].GetID() {
		t.Fatalf("list Waiting = %v (want newest first)", got)
	}
	if got := list("ExecutionStatus = 'Completed'"); len(got) != 1 || got[0] != done.GetID() {
		t.Fatalf("list Completed = %v", got)
	}
	if got := list(""); len(got) != 3 {
		t.Fatalf("list all = %v", got)
	}
	c, err := e.c.CountActivities(e.ctx(), client.CountActivitiesOptions{Query: "TaskQueue = '" + queue + "'"})
	if err != nil || c.Count != 2 {
		t.Fatalf("count = %+v, %v", c, err)
	}
	c, err = e.c.CountActivities(e.ctx(), client.CountActivitiesOptions{Query: "GROUP BY ExecutionStatus"})
	if err != nil || c.Count != 3 || len(c.Groups) != 2 || c.Groups[0].GroupValues[0] != "Running" || c.Groups[0].Count != 2 ||
		c.Groups[1].GroupValues[0] != "Completed" || c.Groups[1].Count != 1 {
		t.Fatalf("grouped count = %+v, %v", c, err)
	}
	var inv *serviceerror.InvalidArgument
	if _, err := e.c.CountActivities(e.ctx(), client.CountActivitiesOptions{Query: "NoSuchField = 1"}); !errors.As(err, &inv) {
		t.Fatalf("bad query: %v", err)
	}

	// Delete: a running one is gone too, and nothing is left to describe.
	for _, h := range []client.ActivityHandle{done, waiting[0]} {
		if _, err := e.c.WorkflowService().DeleteActivityExecution(e.ctx(), &workflowservice.DeleteActivityExecutionRequest{
			Namespace: "default", ActivityId: h.GetID(), RunId: h.GetRunID()}); err != nil {
			t.Fatalf("delete: %v", err)
		}
		var nf *serviceerror.NotFound
		if _, err := h.Describe(e.ctx(), client.DescribeActivityOptions{}); !errors.As(err, &nf) {
			t.Fatalf("describe after delete: %v", err)
		}
	}
	if got := list(""); len(got) != 1 || got[0] != waiting[1].GetID() {
		t.Fatalf("list after delete = %v", got)
	}
}

// TestStandaloneActivityRestart: one activity waits for a worker and
// another is running in a worker when the server stops; after the server
// comes back on the same data dir both complete, each run once.
func TestStandaloneActivityRestart(t *testing.T) {
	dir := t.TempDir()
	const addr = "127.0.0.1:17731"
	start := func() *server.Server {
		srv, err := server.Start(server.Config{Addr: addr, DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatalf("start server: %v", err)
		}
		return srv
	}
	srv := start()
	defer func() { srv.Stop() }()
	c, err := client.Dial(client.Options{HostPort: addr, Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tq := "restart-" + uuid.NewString()[:8]

	var runs, queuedRuns atomic.Int32
	started, release := make(chan struct{}), make(chan struct{})
	w := worker.New(c, tq, worker.Options{})
	w.RegisterActivityWithOptions(func(ctx context.Context) (string, error) {
		runs.Add(1)
		close(started)
		<-release
		return "survived", nil
	}, activity.RegisterOptions{Name: "Long"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	running, err := c.ExecuteActivity(ctx, client.StartActivityOptions{ID: "running-" + tq, TaskQueue: tq, StartToCloseTimeout: time.Minute}, "Long")
	if err != nil {
		t.Fatal(err)
	}
	<-started
	queued, err := c.ExecuteActivity(ctx, client.StartActivityOptions{ID: "queued-" + tq, TaskQueue: "later-" + tq, StartToCloseTimeout: time.Minute}, "Later")
	if err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	srv = start()

	close(release) // the running attempt completes against the new server
	var got string
	if err := running.Get(ctx, &got); err != nil || got != "survived" {
		t.Fatalf("running activity: %q, %v", got, err)
	}
	w2 := worker.New(c, "later-"+tq, worker.Options{})
	w2.RegisterActivityWithOptions(func(ctx context.Context) (string, error) {
		queuedRuns.Add(1)
		return "picked up", nil
	}, activity.RegisterOptions{Name: "Later"})
	if err := w2.Start(); err != nil {
		t.Fatal(err)
	}
	defer w2.Stop()
	if err := queued.Get(ctx, &got); err != nil || got != "picked up" {
		t.Fatalf("queued activity: %q, %v", got, err)
	}
	time.Sleep(300 * time.Millisecond) // a duplicate dispatch would run by now
	if runs.Load() != 1 || queuedRuns.Load() != 1 {
		t.Fatalf("runs: %d and %d, want 1 each", runs.Load(), queuedRuns.Load())
	}
	d, err := running.Describe(ctx, client.DescribeActivityOptions{})
	if err != nil || d.Attempt != 1 || d.Status != enumspb.ACTIVITY_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("describe after restart: %+v, %v", d, err)
	}
}

// The namespace advertises standalone activities (the Web UI shows its
// Standalone Activities page by it) and their operator commands.
func TestStandaloneActivityCapability(t *testing.T) {
	e := newEnv(t)
	ns, err := e.c.WorkflowService().DescribeNamespace(e.ctx(), &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	caps := ns.NamespaceInfo.GetCapabilities()
	if !caps.GetStandaloneActivities() || !caps.GetStandaloneActivityStartDelay() || !caps.GetStandaloneActivityOperatorCommands() {
		t.Fatalf("capabilities %v", caps)
	}
}

// The raw RPCs: a retried start (same request id) is answered with the
// execution it made; a describe long poll waits for a change; an activity
// is completed by id (no workflow id) as Temporal allows.
func TestStandaloneActivityRawRPCs(t *testing.T) {
	e := newEnv(t)
	svc := e.c.WorkflowService()
	id := "raw-" + uuid.NewString()[:8]
	start := &workflowservice.StartActivityExecutionRequest{Namespace: "default", RequestId: "req-" + id, ActivityId: id,
		ActivityType: &commonpb.ActivityType{Name: "Raw"}, TaskQueue: &taskqueuepb.TaskQueue{Name: "nobody-" + e.tq},
		ScheduleToCloseTimeout: durationpb.New(time.Minute)}
	first, err := svc.StartActivityExecution(e.ctx(), start)
	if err != nil || !first.Started || first.GetLink().GetActivity().GetRunId() != first.RunId {
		t.Fatalf("start: %v %v", first, err)
	}
	again, err := svc.StartActivityExecution(e.ctx(), start)
	if err != nil || again.RunId != first.RunId || !again.Started {
		t.Fatalf("retried start: %v %v", again, err)
	}
	d, err := svc.DescribeActivityExecution(e.ctx(), &workflowservice.DescribeActivityExecutionRequest{Namespace: "default", ActivityId: id})
	if err != nil || len(d.LongPollToken) == 0 || d.Info.GetRunState() != enumspb.PENDING_ACTIVITY_STATE_SCHEDULED ||
		d.Info.GetScheduleToStartTimeout().AsDuration() != time.Minute || d.Info.GetStartToCloseTimeout().AsDuration() != time.Minute {
		t.Fatalf("describe: %v %v", d, err)
	}
	polled := make(chan *workflowservice.DescribeActivityExecutionResponse, 1)
	go func() {
		r, err := svc.DescribeActivityExecution(e.ctx(), &workflowservice.DescribeActivityExecutionRequest{Namespace: "default",
			ActivityId: id, RunId: first.RunId, LongPollToken: d.LongPollToken, IncludeOutcome: true})
		if err != nil {
			t.Error(err)
		}
		polled <- r
	}()
	time.Sleep(200 * time.Millisecond)
	select {
	case r := <-polled:
		t.Fatalf("long poll answered before any change: %v", r)
	default:
	}
	result, _ := converter.GetDefaultDataConverter().ToPayloads("by id")
	if _, err := svc.RespondActivityTaskCompletedById(e.ctx(), &workflowservice.RespondActivityTaskCompletedByIdRequest{
		Namespace: "default", ActivityId: id, Result: result}); err != nil {
		t.Fatal(err)
	}
	r := <-polled
	if r.GetInfo().GetStatus() != enumspb.ACTIVITY_EXECUTION_STATUS_COMPLETED || r.GetOutcome().GetResult() == nil || len(r.LongPollToken) != 0 {
		t.Fatalf("long poll answer: %v", r)
	}
	var got string
	if err := e.c.GetActivityHandle(client.GetActivityHandleOptions{ActivityID: id, RunID: first.RunId}).Get(e.ctx(), &got); err != nil || got != "by id" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	var nf *serviceerror.NotFound
	if _, err := svc.RespondActivityTaskCompletedById(e.ctx(), &workflowservice.RespondActivityTaskCompletedByIdRequest{
		Namespace: "default", ActivityId: id, Result: result}); !errors.As(err, &nf) {
		t.Fatalf("second completion: %v", err)
	}
}

// Search attributes given at start are checked against the namespace's
// registry, returned by describe and list, and can be queried.
func TestStandaloneActivitySearchAttributes(t *testing.T) {
	e := newEnv(t)
	queue := "nobody-" + e.tq
	key := temporal.NewSearchAttributeKeyKeyword("CustomKeywordField")
	tagged := e.startActivity("tagged", client.StartActivityOptions{TaskQueue: queue,
		TypedSearchAttributes: temporal.NewSearchAttributes(key.ValueSet("gold-" + e.tq))}, "Anything")
	e.startActivity("plain", client.StartActivityOptions{TaskQueue: queue}, "Anything")
	res, err := e.c.ListActivities(e.ctx(), client.ListActivitiesOptions{Query: "CustomKeywordField = 'gold-" + e.tq + "'"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for info, err := range res.Results {
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := info.TypedSearchAttributes.GetKeyword(key); !ok || v != "gold-"+e.tq {
			t.Fatalf("list entry search attributes: %v %v", v, ok)
		}
		ids = append(ids, info.ActivityID)
	}
	if len(ids) != 1 || ids[0] != tagged.GetID() {
		t.Fatalf("list = %v", ids)
	}
	if d := e.describeActivity(tagged); d.TypedSearchAttributes.Size() != 1 {
		t.Fatalf("describe search attributes: %v", d.TypedSearchAttributes)
	}
	_, err = e.c.ExecuteActivity(e.ctx(), client.StartActivityOptions{ID: "bad-sa-" + e.tq, TaskQueue: queue, StartToCloseTimeout: time.Second,
		TypedSearchAttributes: temporal.NewSearchAttributes(temporal.NewSearchAttributeKeyKeyword("NotRegistered").ValueSet("x"))}, "Anything")
	var inv *serviceerror.InvalidArgument
	if !errors.As(err, &inv) {
		t.Fatalf("unregistered search attribute: %v", err)
	}
}

// The Web UI's HTTP API (what its Standalone Activities page calls) lists
// and describes standalone activities through these RPCs.
func TestStandaloneActivityWebUIAPI(t *testing.T) {
	srv := startSecure(t, server.Config{UIAddr: "127.0.0.1:0"})
	c, err := dialSDK(t, client.Options{HostPort: srv.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id := "ui-" + uuid.NewString()[:8]
	if _, err := c.ExecuteActivity(ctx, client.StartActivityOptions{ID: id, TaskQueue: "nobody", StartToCloseTimeout: time.Minute}, "ShownInUI"); err != nil {
		t.Fatal(err)
	}
	if code, body := uiGet(t, srv, "/api/v1/namespaces/default/activities?query="+url.QueryEscape("ActivityType = 'ShownInUI'"), ""); code != http.StatusOK ||
		!strings.Contains(body, id) || !strings.Contains(body, "ACTIVITY_EXECUTION_STATUS_RUNNING") {
		t.Fatalf("list through the UI: %d %s", code, body)
	}
	if code, body := uiGet(t, srv, "/api/v1/namespaces/default/activities/"+id, ""); code != http.StatusOK || !strings.Contains(body, `"ShownInUI"`) {
		t.Fatalf("describe through the UI: %d %s", code, body)
	}
}
