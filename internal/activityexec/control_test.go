package activityexec

import (
	"errors"
	"testing"
	"time"

	activitypb "go.temporal.io/api/activity/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

func noJitter(int64) int64 { return 0 }

func TestPauseUnpauseWaitingAttempt(t *testing.T) {
	x := newExec(t, func(r *workflowservice.StartActivityExecutionRequest) {
		r.ScheduleToStartTimeout = durationpb.New(time.Second)
	})
	x.TakeDispatch(t0)
	stamp := x.Stamp
	if err := x.Pause(t0, "p1", "me", "look"); err != nil {
		t.Fatal(err)
	}
	if x.APIStatus() != enumspb.ACTIVITY_EXECUTION_STATUS_PAUSED || x.RunState() != enumspb.PENDING_ACTIVITY_STATE_PAUSED {
		t.Fatalf("status %v run state %v", x.APIStatus(), x.RunState())
	}
	if err := x.StartAttempt(t0, stamp, "w"); !errors.Is(err, ErrStale) {
		t.Fatalf("a task queued before the pause started: %v", err)
	}
	if x.TakeDispatch(t0.Add(time.Hour)) || !x.NextDeadline().IsZero() || x.Tick(t0.Add(time.Hour)) {
		t.Fatal("a paused execution was dispatched or timed out (schedule-to-start)")
	}
	if err := x.Pause(t0, "p1", "me", "look"); err != nil {
		t.Fatalf("repeated pause: %v", err)
	}
	var fp *serviceerror.FailedPrecondition
	if err := x.Pause(t0, "p2", "me", "again"); !errors.As(err, &fp) {
		t.Fatalf("pause of a paused execution: %v", err)
	}
	now := t0.Add(2 * time.Hour)
	if err := x.Unpause(now, "u1", 0, noJitter); err != nil {
		t.Fatal(err)
	}
	if !x.TakeDispatch(now) || x.StartAttempt(now, x.Stamp, "w") != nil || x.Attempt != 1 {
		t.Fatal("not dispatched after the unpause")
	}
	if err := x.Unpause(now, "u2", 0, noJitter); !errors.As(err, &fp) {
		t.Fatalf("unpause of a running execution: %v", err)
	}
}

func TestPauseRunningAttemptHoldsTheRetry(t *testing.T) {
	x := newExec(t, func(r *workflowservice.StartActivityExecutionRequest) {
		r.RetryPolicy = &commonpb.RetryPolicy{InitialInterval: durationpb.New(time.Second)}
	})
	x.TakeDispatch(t0)
	_ = x.StartAttempt(t0, 1, "w")
	_ = x.Pause(t0, "p", "me", "")
	if p, r := x.ControlFlags(); !p || r || x.RunState() != enumspb.PENDING_ACTIVITY_STATE_PAUSE_REQUESTED || x.APIStatus() != enumspb.ACTIVITY_EXECUTION_STATUS_RUNNING {
		t.Fatalf("flags %v %v run state %v", p, r, x.RunState())
	}
	_ = x.Fail(t0.Add(time.Second), 1, appFailure("x", false), nil, "w")
	if x.Attempt != 2 || x.APIStatus() != enumspb.ACTIVITY_EXECUTION_STATUS_PAUSED || x.TakeDispatch(t0.Add(time.Hour)) {
		t.Fatalf("attempt %d status %v: the retry must wait for the unpause", x.Attempt, x.APIStatus())
	}
	_ = x.Unpause(t0.Add(time.Hour), "u", 0, noJitter)
	if !x.TakeDispatch(t0.Add(time.Hour)) {
		t.Fatal("retry not dispatched after the unpause")
	}
}

func TestResetWaitingAndRunning(t *testing.T) {
	x := newExec(t, func(r *workflowservice.StartActivityExecutionRequest) {
		r.RetryPolicy = &commonpb.RetryPolicy{InitialInterval: durationpb.New(time.Minute)}
	})
	x.TakeDispatch(t0)
	_ = x.StartAttempt(t0, 1, "w")
	_, _ = x.Heartbeat(t0, 1, &commonpb.Payloads{Payloads: []*commonpb.Payload{{Data: []byte("1")}}})
	_ = x.Fail(t0, 1, appFailure("x", false), nil, "w")
	if x.Attempt != 2 || x.TakeDispatch(t0.Add(time.Second)) {
		t.Fatal("expected a backoff before attempt 2")
	}
	// Waiting in backoff: reset dispatches attempt 1 at once.
	if err := x.Reset(t0.Add(time.Second), ResetOptions{RequestID: "r1"}, noJitter); err != nil {
		t.Fatal(err)
	}
	if x.Attempt != 1 || !x.TakeDispatch(t0.Add(time.Second)) || x.HeartbeatDetails == nil {
		t.Fatalf("after reset: attempt %d", x.Attempt)
	}
	now := t0.Add(2 * time.Second)
	_ = x.StartAttempt(now, x.Stamp, "w")
	// Running: the reset waits for the attempt to end, and clears the
	// heartbeat details when it does.
	if err := x.Reset(now, ResetOptions{RequestID: "r2", ResetHeartbeat: true}, noJitter); err != nil {
		t.Fatal(err)
	}
	if _, r := x.ControlFlags(); !r {
		t.Fatal("heartbeat does not report the reset")
	}
	var fp *serviceerror.FailedPrecondition
	if err := x.Reset(now, ResetOptions{RequestID: "r3"}, noJitter); !errors.As(err, &fp) {
		t.Fatalf("second reset: %v", err)
	}
	_ = x.Fail(now, x.Stamp, appFailure("y", true), nil, "w") // even a non-retryable failure
	if !x.Running() || x.Attempt != 1 || x.HeartbeatDetails != nil || !x.TakeDispatch(now) {
		t.Fatalf("deferred reset: running %v attempt %d details %v", x.Running(), x.Attempt, x.HeartbeatDetails)
	}
	_ = x.Terminate(now, "t", "", "")
	if err := x.Reset(now, ResetOptions{RequestID: "r4"}, noJitter); !errors.As(err, &fp) {
		t.Fatalf("reset of a closed execution: %v", err)
	}
}

func TestUpdateOptions(t *testing.T) {
	x := newExec(t, nil)
	x.TakeDispatch(t0)
	stamp := x.Stamp
	o, err := x.UpdateOptions(t0, "u1", &activitypb.ActivityOptions{TaskQueue: &taskqueuepb.TaskQueue{Name: "q2"},
		StartToCloseTimeout: durationpb.New(time.Minute), HeartbeatTimeout: durationpb.New(2 * time.Minute)},
		[]string{"task_queue.name", "start_to_close_timeout", "heartbeat_timeout"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if o.TaskQueue.GetName() != "q2" || o.StartToCloseTimeout.AsDuration() != time.Minute || o.HeartbeatTimeout.AsDuration() != time.Minute {
		t.Fatalf("options %v (heartbeat must be capped by start-to-close)", o)
	}
	if x.Stamp == stamp || !x.TakeDispatch(t0) || x.Info(t0, false, false).TaskQueue != "q2" {
		t.Fatal("the waiting attempt was not dispatched again to the new queue")
	}
	var inv *serviceerror.InvalidArgument
	if _, err := x.UpdateOptions(t0, "u2", &activitypb.ActivityOptions{}, []string{"activity_type"}, false); !errors.As(err, &inv) {
		t.Fatalf("unknown path: %v", err)
	}
	if _, err := x.UpdateOptions(t0, "u3", &activitypb.ActivityOptions{RetryPolicy: &commonpb.RetryPolicy{BackoffCoefficient: 0.5}}, []string{"retry_policy"}, false); !errors.As(err, &inv) {
		t.Fatalf("bad retry policy: %v", err)
	}
	o, err = x.UpdateOptions(t0, "u4", nil, nil, true)
	if err != nil || !proto.Equal(o, OriginalOptions(x.Start)) {
		t.Fatalf("restore original: %v %v", o, err)
	}
	var fp *serviceerror.FailedPrecondition
	if _, err := x.UpdateOptions(t0, "u5", &activitypb.ActivityOptions{StartDelay: durationpb.New(time.Hour)}, []string{"start_delay"}, false); !errors.As(err, &fp) {
		t.Fatalf("start delay after the first dispatch: %v", err)
	}
	_ = x.Complete(t0, 0, nil, "w")
	if _, err := x.UpdateOptions(t0, "u6", &activitypb.ActivityOptions{}, []string{"priority"}, false); !errors.As(err, &fp) {
		t.Fatalf("update of a closed execution: %v", err)
	}
}

func TestControlStateSurvivesEncoding(t *testing.T) {
	x := newExec(t, nil)
	x.TakeDispatch(t0)
	_ = x.StartAttempt(t0, 1, "w")
	_ = x.Pause(t0, "p", "me", "why")
	if _, err := x.UpdateOptions(t0, "u", &activitypb.ActivityOptions{Priority: &commonpb.Priority{PriorityKey: 3}}, []string{"priority"}, false); err != nil {
		t.Fatal(err)
	}
	if err := x.Reset(t0, ResetOptions{RequestID: "r", KeepPaused: true, ResetHeartbeat: true, RestoreOriginal: true}, noJitter); err != nil {
		t.Fatal(err)
	}
	b, err := x.Encode()
	if err != nil {
		t.Fatal(err)
	}
	y, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !y.Paused || !y.ResetRequested || !y.ResetKeepPaused || !y.ResetClearHeartbeat || !y.ResetRestoreOptions ||
		y.PauseRequestID != "p" || y.PauseReason != "why" || !y.PauseTime.Equal(t0) || y.ResetRequestID != "r" ||
		y.UpdateOptionsRequestID != "u" || !proto.Equal(y.Options, x.Options) {
		t.Fatalf("decoded %+v", y)
	}
}
