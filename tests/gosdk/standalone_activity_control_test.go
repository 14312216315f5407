package gosdk

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	activitypb "go.temporal.io/api/activity/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// The operator commands of standalone activities through the Go SDK's
// handle (Pause, Unpause, UpdateOptions, RestoreOriginalOptions) and the
// raw ResetActivityExecution RPC; and the same RPCs with a workflow id,
// which address a workflow's activity.

func TestStandaloneActivityPauseUnpause(t *testing.T) {
	e := newEnv(t)
	var calls atomic.Int32
	e.worker(func(w worker.Worker) {
		w.RegisterActivityWithOptions(func(ctx context.Context) (int32, error) {
			return calls.Add(1), nil
		}, activity.RegisterOptions{Name: "Count"})
	})
	// The start delay keeps it from being dispatched before the pause.
	h := e.startActivity("pause", client.StartActivityOptions{StartDelay: 500 * time.Millisecond}, "Count")
	if err := h.Pause(e.ctx(), client.PauseActivityOptions{Reason: "hold on"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(800 * time.Millisecond) // past the start delay
	if d := e.describeActivity(h); d.Status != enumspb.ACTIVITY_EXECUTION_STATUS_PAUSED || d.RunState != enumspb.PENDING_ACTIVITY_STATE_PAUSED || calls.Load() != 0 {
		t.Fatalf("status %v run state %v calls %d", d.Status, d.RunState, calls.Load())
	}
	list, err := e.c.CountActivities(e.ctx(), client.CountActivitiesOptions{Query: "ExecutionStatus = 'Paused'"})
	if err != nil || list.Count != 1 {
		t.Fatalf("count paused: %+v %v", list, err)
	}
	var fp *serviceerror.FailedPrecondition
	if err := h.Pause(e.ctx(), client.PauseActivityOptions{}); !errors.As(err, &fp) {
		t.Fatalf("second pause: %v", err)
	}
	if err := h.Unpause(e.ctx(), client.UnpauseActivityOptions{}); err != nil {
		t.Fatal(err)
	}
	var n int32
	if err := h.Get(e.ctx(), &n); err != nil || n != 1 {
		t.Fatalf("Get = %d, %v", n, err)
	}
	if err := h.Unpause(e.ctx(), client.UnpauseActivityOptions{}); !errors.As(err, &fp) {
		t.Fatalf("unpause of a completed activity: %v", err)
	}
}

// A running attempt learns of the pause from its heartbeat; the Go SDK
// then stops it, and the retry waits for the unpause.
func TestStandaloneActivityPauseRunningAttempt(t *testing.T) {
	e := newEnv(t)
	started := make(chan struct{}, 10)
	e.worker(func(w worker.Worker) {
		w.RegisterActivityWithOptions(func(ctx context.Context) (int32, error) {
			a := activity.GetInfo(ctx).Attempt
			if a > 1 {
				return a, nil
			}
			started <- struct{}{}
			for {
				activity.RecordHeartbeat(ctx)
				select {
				case <-ctx.Done():
					return 0, ctx.Err()
				case <-time.After(50 * time.Millisecond):
				}
			}
		}, activity.RegisterOptions{Name: "Beat"})
	})
	h := e.startActivity("beat", client.StartActivityOptions{HeartbeatTimeout: time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 50 * time.Millisecond}}, "Beat")
	<-started
	if err := h.Pause(e.ctx(), client.PauseActivityOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the attempt to stop and the activity to be paused", func() bool {
		d := e.describeActivity(h)
		return d.Status == enumspb.ACTIVITY_EXECUTION_STATUS_PAUSED && d.Attempt == 2
	})
	time.Sleep(300 * time.Millisecond)
	if d := e.describeActivity(h); d.Status != enumspb.ACTIVITY_EXECUTION_STATUS_PAUSED {
		t.Fatalf("retried while paused: %v", d.Status)
	}
	if err := h.Unpause(e.ctx(), client.UnpauseActivityOptions{}); err != nil {
		t.Fatal(err)
	}
	var a int32
	if err := h.Get(e.ctx(), &a); err != nil || a != 2 {
		t.Fatalf("Get = %d, %v", a, err)
	}
}

func TestStandaloneActivityUpdateOptions(t *testing.T) {
	e := newEnv(t)
	e.worker(func(w worker.Worker) {
		w.RegisterActivityWithOptions(func(ctx context.Context) (string, error) {
			return activity.GetInfo(ctx).TaskQueue, nil
		}, activity.RegisterOptions{Name: "Where"})
	})
	// Started on a queue no worker polls, moved to the worker's.
	h := e.startActivity("move", client.StartActivityOptions{TaskQueue: "nobody-" + e.tq}, "Where")
	tq, timeout := e.tq, 20*time.Second
	o, err := h.UpdateOptions(e.ctx(), client.ActivityOptionsUpdate{
		TaskQueue:           &client.ActivityOptionChange[string]{Value: &tq},
		StartToCloseTimeout: &client.ActivityOptionChange[time.Duration]{Value: &timeout},
	})
	if err != nil {
		t.Fatal(err)
	}
	if o.TaskQueue != e.tq || o.StartToCloseTimeout != timeout {
		t.Fatalf("options %+v", o)
	}
	var got string
	if err := h.Get(e.ctx(), &got); err != nil || got != e.tq {
		t.Fatalf("Get = %q, %v", got, err)
	}
	if d := e.describeActivity(h); d.StartToCloseTimeout != timeout || d.TaskQueue != e.tq {
		t.Fatalf("describe: %v %v", d.StartToCloseTimeout, d.TaskQueue)
	}
	// Restoring the original options (paused, so it is not dispatched
	// meanwhile).
	h = e.startActivity("restore", client.StartActivityOptions{TaskQueue: "nobody-" + e.tq}, "Where")
	if err := h.Pause(e.ctx(), client.PauseActivityOptions{}); err != nil {
		t.Fatal(err)
	}
	if o, err := h.UpdateOptions(e.ctx(), client.ActivityOptionsUpdate{TaskQueue: &client.ActivityOptionChange[string]{Value: &tq}}); err != nil || o.TaskQueue != e.tq {
		t.Fatalf("update: %+v %v", o, err)
	}
	if o, err := h.RestoreOriginalOptions(e.ctx()); err != nil || o.TaskQueue != "nobody-"+e.tq || o.StartToCloseTimeout != 10*time.Second {
		t.Fatalf("restore: %+v %v", o, err)
	}
	var inv *serviceerror.InvalidArgument
	_, err = e.c.WorkflowService().UpdateActivityExecutionOptions(e.ctx(), &workflowservice.UpdateActivityExecutionOptionsRequest{
		Namespace: "default", ActivityId: h.GetID(), UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"activity_type"}},
		ActivityOptions: &activitypb.ActivityOptions{}})
	if !errors.As(err, &inv) {
		t.Fatalf("unknown mask path: %v", err)
	}
}

func TestStandaloneActivityReset(t *testing.T) {
	e := newEnv(t)
	var calls atomic.Int32
	e.worker(func(w worker.Worker) {
		w.RegisterActivityWithOptions(func(ctx context.Context) (int32, error) {
			if calls.Add(1) == 1 {
				return 0, errors.New("first call fails")
			}
			return activity.GetInfo(ctx).Attempt, nil
		}, activity.RegisterOptions{Name: "Twice"})
	})
	// After the first failure the retry waits an hour; a reset runs it
	// again at once, as attempt 1.
	h := e.startActivity("reset", client.StartActivityOptions{RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Hour}}, "Twice")
	waitUntil(t, "the first attempt to fail", func() bool { return e.describeActivity(h).Attempt == 2 })
	svc := e.c.WorkflowService()
	if _, err := svc.ResetActivityExecution(e.ctx(), &workflowservice.ResetActivityExecutionRequest{
		Namespace: "default", ActivityId: h.GetID(), RunId: h.GetRunID(), RequestId: "r1"}); err != nil {
		t.Fatal(err)
	}
	var a int32
	if err := h.Get(e.ctx(), &a); err != nil || a != 1 || calls.Load() != 2 {
		t.Fatalf("Get = %d, %v (calls %d)", a, err, calls.Load())
	}
	var fp *serviceerror.FailedPrecondition
	if _, err := svc.ResetActivityExecution(e.ctx(), &workflowservice.ResetActivityExecutionRequest{
		Namespace: "default", ActivityId: h.GetID(), RequestId: "r2"}); !errors.As(err, &fp) {
		t.Fatalf("reset of a completed activity: %v", err)
	}
}

// With a workflow id the same RPCs address that workflow's activity.
func TestActivityExecutionControlOfWorkflowActivity(t *testing.T) {
	e := newEnv(t)
	fl := &pauseFlaky{}
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(pauseFlakyWorkflow)
		w.RegisterActivityWithOptions(fl.Flaky, activity.RegisterOptions{Name: "Flaky"})
	})
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("wfpause"), pauseFlakyWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "two attempts", func() bool { return fl.attempts.Load() >= 2 })
	svc := e.c.WorkflowService()
	if _, err := svc.PauseActivityExecution(e.ctx(), &workflowservice.PauseActivityExecutionRequest{
		Namespace: "default", WorkflowId: run.GetID(), ActivityId: "flaky", Reason: "look"}); err != nil {
		t.Fatal(err)
	}
	if pa := describeActivity(t, e, run.GetID(), ""); !pa.Paused {
		t.Fatalf("workflow activity not paused: %v", pa)
	}
	fl.ok.Store(true)
	if _, err := svc.UnpauseActivityExecution(e.ctx(), &workflowservice.UnpauseActivityExecutionRequest{
		Namespace: "default", WorkflowId: run.GetID(), ActivityId: "flaky"}); err != nil {
		t.Fatal(err)
	}
	var r string
	if err := run.Get(e.ctx(), &r); err != nil || r != "done" {
		t.Fatalf("workflow result %q %v", r, err)
	}
	// A standalone activity of that id does not exist.
	var nf *serviceerror.NotFound
	if _, err := svc.PauseActivityExecution(e.ctx(), &workflowservice.PauseActivityExecutionRequest{
		Namespace: "default", ActivityId: "flaky"}); !errors.As(err, &nf) {
		t.Fatalf("standalone pause of an unknown id: %v", err)
	}
}
