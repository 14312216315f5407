package activityexec

import (
	"errors"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sundial-io/sundial/internal/visibility"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func startReq(mod func(r *workflowservice.StartActivityExecutionRequest)) *workflowservice.StartActivityExecutionRequest {
	r := &workflowservice.StartActivityExecutionRequest{
		Namespace:           "default",
		RequestId:           "req-1",
		ActivityId:          "act",
		ActivityType:        &commonpb.ActivityType{Name: "Greet"},
		TaskQueue:           &taskqueuepb.TaskQueue{Name: "q"},
		StartToCloseTimeout: durationpb.New(10 * time.Second),
	}
	if mod != nil {
		mod(r)
	}
	return r
}

func newExec(t *testing.T, mod func(r *workflowservice.StartActivityExecutionRequest)) *Execution {
	t.Helper()
	req, err := Normalize(startReq(mod))
	if err != nil {
		t.Fatalf("Normalize: %v", err)
	}
	return New("default", "run-1", req, t0)
}

func appFailure(msg string, nonRetryable bool) *failurepb.Failure {
	return &failurepb.Failure{Message: msg, FailureInfo: &failurepb.Failure_ApplicationFailureInfo{
		ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{Type: "E", NonRetryable: nonRetryable}}}
}

func TestNormalizeDefaultsAndErrors(t *testing.T) {
	req, err := Normalize(startReq(func(r *workflowservice.StartActivityExecutionRequest) {
		r.StartToCloseTimeout = nil
		r.ScheduleToCloseTimeout = durationpb.New(time.Minute)
		r.HeartbeatTimeout = durationpb.New(time.Hour)
	}))
	if err != nil {
		t.Fatal(err)
	}
	if req.StartToCloseTimeout.AsDuration() != time.Minute || req.ScheduleToStartTimeout.AsDuration() != time.Minute ||
		req.HeartbeatTimeout.AsDuration() != time.Minute {
		t.Fatalf("timeouts not derived from schedule-to-close: %v %v %v", req.StartToCloseTimeout, req.ScheduleToStartTimeout, req.HeartbeatTimeout)
	}
	if p := req.RetryPolicy; p.InitialInterval.AsDuration() != time.Second || p.BackoffCoefficient != 2 || p.MaximumAttempts != 0 {
		t.Fatalf("default retry policy = %v", p)
	}
	if req.IdReusePolicy != enumspb.ACTIVITY_ID_REUSE_POLICY_ALLOW_DUPLICATE || req.IdConflictPolicy != enumspb.ACTIVITY_ID_CONFLICT_POLICY_FAIL {
		t.Fatalf("default id policies = %v %v", req.IdReusePolicy, req.IdConflictPolicy)
	}
	for name, c := range map[string]struct {
		mod  func(r *workflowservice.StartActivityExecutionRequest)
		want string
	}{
		"no id":      {func(r *workflowservice.StartActivityExecutionRequest) { r.ActivityId = "" }, "ActivityId"},
		"no type":    {func(r *workflowservice.StartActivityExecutionRequest) { r.ActivityType = nil }, "ActivityType"},
		"no queue":   {func(r *workflowservice.StartActivityExecutionRequest) { r.TaskQueue = nil }, "TaskQueue"},
		"no timeout": {func(r *workflowservice.StartActivityExecutionRequest) { r.StartToCloseTimeout = nil }, "StartToCloseTimeout or ScheduleToCloseTimeout"},
		"negative": {func(r *workflowservice.StartActivityExecutionRequest) {
			r.HeartbeatTimeout = durationpb.New(-time.Second)
		}, "HeartbeatTimeout"},
		"bad backoff": {func(r *workflowservice.StartActivityExecutionRequest) {
			r.RetryPolicy = &commonpb.RetryPolicy{BackoffCoefficient: 0.5}
		}, "BackoffCoefficient"},
		"bad reuse": {func(r *workflowservice.StartActivityExecutionRequest) { r.IdReusePolicy = 42 }, "IdReusePolicy"},
	} {
		_, err := Normalize(startReq(c.mod))
		var inv *serviceerror.InvalidArgument
		if !errors.As(err, &inv) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want InvalidArgument naming %q", name, err, c.want)
		}
	}
}

func TestCompleteFirstAttempt(t *testing.T) {
	x := newExec(t, nil)
	if !x.TakeDispatch(t0) || x.TakeDispatch(t0) {
		t.Fatal("the first attempt must be dispatched exactly once")
	}
	if err := x.StartAttempt(t0, 2, "w"); !errors.Is(err, ErrStale) {
		t.Fatalf("start with a wrong stamp: %v", err)
	}
	if err := x.StartAttempt(t0.Add(time.Second), 1, "w"); err != nil {
		t.Fatal(err)
	}
	if got := x.NextDeadline(); !got.Equal(t0.Add(11 * time.Second)) {
		t.Fatalf("deadline = %v, want start-to-close", got)
	}
	res := &commonpb.Payloads{Payloads: []*commonpb.Payload{{Data: []byte(`"hi"`)}}}
	if err := x.Complete(t0.Add(2*time.Second), 1, res, "w"); err != nil {
		t.Fatal(err)
	}
	if x.Status != enumspb.ACTIVITY_EXECUTION_STATUS_COMPLETED || !proto.Equal(x.Outcome().GetResult(), res) {
		t.Fatalf("status %v outcome %v", x.Status, x.Outcome())
	}
	if err := x.Complete(t0.Add(3*time.Second), 1, res, "w"); !errors.Is(err, ErrStale) {
		t.Fatalf("second completion: %v", err)
	}
	if !x.NextDeadline().IsZero() {
		t.Fatal("a closed execution has no deadline")
	}
}

func TestFailRetriesWithBackoffThenGivesUp(t *testing.T) {
	x := newExec(t, func(r *workflowservice.StartActivityExecutionRequest) {
		r.RetryPolicy = &commonpb.RetryPolicy{InitialInterval: durationpb.New(time.Second), BackoffCoefficient: 2, MaximumAttempts: 3}
	})
	now := t0
	for attempt := int32(1); attempt <= 3; attempt++ {
		if !x.TakeDispatch(now) {
			t.Fatalf("attempt %d not dispatchable at %v (due %v)", attempt, now, x.DispatchAt)
		}
		if err := x.StartAttempt(now, x.Stamp, "w"); err != nil {
			t.Fatal(err)
		}
		if x.Attempt != attempt {
			t.Fatalf("attempt = %d, want %d", x.Attempt, attempt)
		}
		if err := x.Fail(now, x.Stamp, appFailure("boom", false), nil, "w"); err != nil {
			t.Fatal(err)
		}
		if attempt < 3 {
			wantDelay := time.Second << (attempt - 1)
			if !x.Running() || x.DispatchAt != now.Add(wantDelay) || x.NextDeadline() != now.Add(wantDelay) {
				t.Fatalf("after attempt %d: running=%v dispatchAt=%v deadline=%v, want backoff %v", attempt, x.Running(), x.DispatchAt, x.NextDeadline(), wantDelay)
			}
			if x.TakeDispatch(now) {
				t.Fatal("dispatched before the backoff ended")
			}
			now = x.DispatchAt
		}
	}
	if x.Status != enumspb.ACTIVITY_EXECUTION_STATUS_FAILED || x.RetryState != enumspb.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED ||
		x.Outcome().GetFailure().GetMessage() != "boom" {
		t.Fatalf("status %v retry state %v outcome %v", x.Status, x.RetryState, x.Outcome())
	}
}

func TestNonRetryableFailureCloses(t *testing.T) {
	x := newExec(t, nil)
	x.TakeDispatch(t0)
	_ = x.StartAttempt(t0, 1, "w")
	if err := x.Fail(t0, 1, appFailure("bad", true), nil, "w"); err != nil {
		t.Fatal(err)
	}
	if x.Status != enumspb.ACTIVITY_EXECUTION_STATUS_FAILED || x.RetryState != enumspb.RETRY_STATE_NON_RETRYABLE_FAILURE {
		t.Fatalf("status %v retry state %v", x.Status, x.RetryState)
	}
}

func TestStartToCloseTimeoutRetriesAndStaleTokenRefused(t *testing.T) {
	x := newExec(t, func(r *workflowservice.StartActivityExecutionRequest) {
		r.StartToCloseTimeout = durationpb.New(time.Second)
		r.RetryPolicy = &commonpb.RetryPolicy{InitialInterval: durationpb.New(100 * time.Millisecond), MaximumAttempts: 2}
	})
	x.TakeDispatch(t0)
	_ = x.StartAttempt(t0, 1, "w")
	if x.Tick(t0.Add(999 * time.Millisecond)) {
		t.Fatal("timed out early")
	}
	if !x.Tick(t0.Add(time.Second)) || !x.Running() || x.Attempt != 2 {
		t.Fatalf("start-to-close did not retry: running=%v attempt=%d", x.Running(), x.Attempt)
	}
	if tt := x.LastFailure.GetTimeoutFailureInfo().GetTimeoutType(); tt != enumspb.TIMEOUT_TYPE_START_TO_CLOSE {
		t.Fatalf("last failure = %v", x.LastFailure)
	}
	// The first attempt's worker answers late: refused.
	if err := x.Complete(t0.Add(1100*time.Millisecond), 1, nil, "w"); !errors.Is(err, ErrStale) {
		t.Fatalf("late completion of attempt 1: %v", err)
	}
	now := x.DispatchAt
	x.TakeDispatch(now)
	_ = x.StartAttempt(now, x.Stamp, "w")
	x.Tick(now.Add(time.Second))
	if x.Status != enumspb.ACTIVITY_EXECUTION_STATUS_TIMED_OUT || x.RetryState != enumspb.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED ||
		x.Failure.GetTimeoutFailureInfo().GetTimeoutType() != enumspb.TIMEOUT_TYPE_START_TO_CLOSE {
		t.Fatalf("status %v retry %v failure %v", x.Status, x.RetryState, x.Failure)
	}
}

func TestScheduleToStartAndScheduleToCloseTimeouts(t *testing.T) {
	x := newExec(t, func(r *workflowservice.StartActivityExecutionRequest) {
		r.ScheduleToStartTimeout = durationpb.New(2 * time.Second)
	})
	x.TakeDispatch(t0)
	if got := x.NextDeadline(); !got.Equal(t0.Add(2 * time.Second)) {
		t.Fatalf("deadline %v", got)
	}
	x.Tick(t0.Add(2 * time.Second))
	if x.Status != enumspb.ACTIVITY_EXECUTION_STATUS_TIMED_OUT || x.Failure.GetTimeoutFailureInfo().GetTimeoutType() != enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START {
		t.Fatalf("status %v failure %v", x.Status, x.Failure)
	}

	y := newExec(t, func(r *workflowservice.StartActivityExecutionRequest) {
		r.ScheduleToCloseTimeout = durationpb.New(3 * time.Second)
		r.RetryPolicy = &commonpb.RetryPolicy{InitialInterval: durationpb.New(2 * time.Second), BackoffCoefficient: 1}
	})
	y.TakeDispatch(t0)
	_ = y.StartAttempt(t0, 1, "w")
	_ = y.Fail(t0.Add(1500*time.Millisecond), 1, appFailure("x", false), nil, "w")
	// The 2 s backoff would end after the 3 s deadline: no retry.
	if y.Status != enumspb.ACTIVITY_EXECUTION_STATUS_FAILED || y.RetryState != enumspb.RETRY_STATE_TIMEOUT {
		t.Fatalf("status %v retry %v", y.Status, y.RetryState)
	}
}

func TestHeartbeatTimeoutAndDetails(t *testing.T) {
	x := newExec(t, func(r *workflowservice.StartActivityExecutionRequest) {
		r.HeartbeatTimeout = durationpb.New(2 * time.Second)
		r.RetryPolicy = &commonpb.RetryPolicy{MaximumAttempts: 2}
	})
	x.TakeDispatch(t0)
	_ = x.StartAttempt(t0, 1, "w")
	d := &commonpb.Payloads{Payloads: []*commonpb.Payload{{Data: []byte("7")}}}
	if c, err := x.Heartbeat(t0.Add(time.Second), 1, d); err != nil || c {
		t.Fatalf("heartbeat: %v %v", c, err)
	}
	if got := x.NextDeadline(); !got.Equal(t0.Add(3 * time.Second)) {
		t.Fatalf("heartbeat deadline %v", got)
	}
	x.Tick(t0.Add(3 * time.Second))
	if x.Attempt != 2 || x.LastFailure.GetTimeoutFailureInfo().GetTimeoutType() != enumspb.TIMEOUT_TYPE_HEARTBEAT {
		t.Fatalf("attempt %d last failure %v", x.Attempt, x.LastFailure)
	}
	// The next attempt gets the details of the last heartbeat.
	now := x.DispatchAt
	x.TakeDispatch(now)
	_ = x.StartAttempt(now, x.Stamp, "w")
	if !proto.Equal(x.TaskResponse().HeartbeatDetails, d) || x.TaskResponse().Attempt != 2 {
		t.Fatalf("task response %v", x.TaskResponse())
	}
}

func TestCancel(t *testing.T) {
	// Not started: canceled at once.
	x := newExec(t, nil)
	if err := x.RequestCancel(t0, "c1", "me", "why"); err != nil {
		t.Fatal(err)
	}
	if x.Status != enumspb.ACTIVITY_EXECUTION_STATUS_CANCELED || x.Failure.GetCanceledFailureInfo() == nil {
		t.Fatalf("status %v failure %v", x.Status, x.Failure)
	}
	if err := x.RequestCancel(t0, "c1", "me", "why"); err != nil {
		t.Fatalf("repeated cancel request: %v", err)
	}
	var fp *serviceerror.FailedPrecondition
	if err := x.RequestCancel(t0, "c2", "me", "why"); !errors.As(err, &fp) {
		t.Fatalf("cancel of a closed execution: %v", err)
	}

	// Started: the worker learns it from a heartbeat and reports it.
	y := newExec(t, nil)
	y.TakeDispatch(t0)
	_ = y.StartAttempt(t0, 1, "w")
	if err := y.ReportCanceled(t0, 1, nil, "w"); !errors.As(err, &fp) {
		t.Fatalf("canceled without a request: %v", err)
	}
	_ = y.RequestCancel(t0, "c1", "me", "why")
	if !y.Running() || y.RunState() != enumspb.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED {
		t.Fatal("a started attempt must be asked, not canceled")
	}
	if c, _ := y.Heartbeat(t0, 1, nil); !c {
		t.Fatal("heartbeat did not report the cancel request")
	}
	if err := y.ReportCanceled(t0.Add(time.Second), 1, nil, "w"); err != nil || y.Status != enumspb.ACTIVITY_EXECUTION_STATUS_CANCELED {
		t.Fatalf("report canceled: %v %v", err, y.Status)
	}
}

func TestTerminate(t *testing.T) {
	x := newExec(t, nil)
	if err := x.Terminate(t0, "t1", "stop", "me"); err != nil {
		t.Fatal(err)
	}
	if x.Status != enumspb.ACTIVITY_EXECUTION_STATUS_TERMINATED || x.Failure.GetMessage() != "stop" || x.Failure.GetTerminatedFailureInfo() == nil {
		t.Fatalf("status %v failure %v", x.Status, x.Failure)
	}
	if err := x.Terminate(t0, "t1", "stop", "me"); err != nil {
		t.Fatalf("repeated terminate: %v", err)
	}
	if err := x.Terminate(t0, "t2", "stop", "me"); err == nil {
		t.Fatal("terminate with another request id of a terminated execution succeeded")
	}
}

func TestStartDelay(t *testing.T) {
	x := newExec(t, func(r *workflowservice.StartActivityExecutionRequest) { r.StartDelay = durationpb.New(5 * time.Second) })
	if x.TakeDispatch(t0) || !x.NextDeadline().Equal(t0.Add(5*time.Second)) {
		t.Fatal("start delay not honored")
	}
	if !x.TakeDispatch(t0.Add(5 * time.Second)) {
		t.Fatal("not dispatched after the start delay")
	}
}

func TestResolveStart(t *testing.T) {
	cur := newExec(t, nil)
	norm := func(mod func(r *workflowservice.StartActivityExecutionRequest)) *workflowservice.StartActivityExecutionRequest {
		r, err := Normalize(startReq(mod))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if c, err := ResolveStart(cur, norm(nil)); err != nil || c != Deduplicated {
		t.Fatalf("same request id: %v %v", c, err)
	}
	other := func(r *workflowservice.StartActivityExecutionRequest) { r.RequestId = "req-2" }
	var already *serviceerror.ActivityExecutionAlreadyStarted
	if _, err := ResolveStart(cur, norm(other)); !errors.As(err, &already) || already.RunId != "run-1" {
		t.Fatalf("conflict policy fail: %v", err)
	}
	if c, err := ResolveStart(cur, norm(func(r *workflowservice.StartActivityExecutionRequest) {
		other(r)
		r.IdConflictPolicy = enumspb.ACTIVITY_ID_CONFLICT_POLICY_USE_EXISTING
	})); err != nil || c != UseExisting {
		t.Fatalf("use existing: %v %v", c, err)
	}
	_ = cur.Complete(t0, 0, nil, "w")
	if c, err := ResolveStart(cur, norm(other)); err != nil || c != StartNew {
		t.Fatalf("reuse after close: %v %v", c, err)
	}
	if _, err := ResolveStart(cur, norm(func(r *workflowservice.StartActivityExecutionRequest) {
		other(r)
		r.IdReusePolicy = enumspb.ACTIVITY_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY
	})); !errors.As(err, &already) {
		t.Fatalf("failed-only reuse after success: %v", err)
	}
	if _, err := ResolveStart(cur, norm(func(r *workflowservice.StartActivityExecutionRequest) {
		other(r)
		r.IdReusePolicy = enumspb.ACTIVITY_ID_REUSE_POLICY_REJECT_DUPLICATE
	})); !errors.As(err, &already) {
		t.Fatalf("reject duplicate: %v", err)
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	x := newExec(t, func(r *workflowservice.StartActivityExecutionRequest) {
		r.HeartbeatTimeout = durationpb.New(time.Second)
		r.Input = &commonpb.Payloads{Payloads: []*commonpb.Payload{{Data: []byte("in")}}}
	})
	x.TakeDispatch(t0)
	_ = x.StartAttempt(t0, 1, "w")
	_, _ = x.Heartbeat(t0.Add(time.Millisecond), 1, &commonpb.Payloads{Payloads: []*commonpb.Payload{{Data: []byte("hb")}}})
	_ = x.RequestCancel(t0.Add(2*time.Millisecond), "c", "me", "why")
	check := func(x *Execution) {
		t.Helper()
		b, err := x.Encode()
		if err != nil {
			t.Fatal(err)
		}
		y, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if y.Namespace != x.Namespace || y.ActivityID != x.ActivityID || y.RunID != x.RunID || !proto.Equal(y.Start, x.Start) ||
			y.Status != x.Status || y.Started != x.Started || y.Attempt != x.Attempt || y.Stamp != x.Stamp ||
			!y.ScheduleTime.Equal(x.ScheduleTime) || !y.DispatchAt.Equal(x.DispatchAt) || !y.StartedTime.Equal(x.StartedTime) ||
			!y.HeartbeatTime.Equal(x.HeartbeatTime) || !proto.Equal(y.HeartbeatDetails, x.HeartbeatDetails) ||
			y.CancelRequested != x.CancelRequested || y.CancelRequestID != x.CancelRequestID || y.CancelReason != x.CancelReason ||
			!y.CloseTime.Equal(x.CloseTime) || !proto.Equal(y.Outcome(), x.Outcome()) || y.Transitions != x.Transitions ||
			!y.NextDeadline().Equal(x.NextDeadline()) || !proto.Equal(y.Options, x.Options) {
			t.Fatalf("round trip changed the execution:\n got %+v\nwant %+v", y, x)
		}
	}
	check(x)
	_ = x.ReportCanceled(t0.Add(3*time.Millisecond), 1, nil, "w")
	check(x)
	if _, err := Decode([]byte{0xff}); err == nil {
		t.Fatal("garbage decoded")
	}
}

func TestQuery(t *testing.T) {
	x := newExec(t, nil)
	y := newExec(t, func(r *workflowservice.StartActivityExecutionRequest) {
		r.ActivityId, r.ActivityType.Name = "other", "Shout"
	})
	_ = y.Complete(t0.Add(time.Second), 0, nil, "w")
	for q, want := range map[string][2]bool{
		"":                              {true, true},
		"ActivityType = 'Greet'":        {true, false},
		"ExecutionStatus = 'Completed'": {false, true},
		"ExecutionStatus = 'Running' OR ActivityId = 'other'":     {true, true},
		"ActivityId STARTS_WITH 'oth'":                            {false, true},
		"CloseTime IS NULL":                                       {true, false},
		"TaskQueue = 'q' AND StartTime >= '2026-01-01T00:00:00Z'": {true, true},
	} {
		f, err := ParseQuery(q, nil)
		if err != nil {
			t.Fatalf("%q: %v", q, err)
		}
		if got := [2]bool{f.Match(x), f.Match(y)}; got != want {
			t.Errorf("%q matched %v, want %v", q, got, want)
		}
	}
	for _, q := range []string{"Nope = 1", "ActivityType = ", "ActivityType = 'a' GROUP BY ActivityType"} {
		var inv *serviceerror.InvalidArgument
		if _, err := ParseQuery(q, nil); !errors.As(err, &inv) {
			t.Errorf("%q: err = %v, want InvalidArgument", q, err)
		}
	}
	f, err := ParseQuery("GROUP BY ExecutionStatus", nil)
	if err != nil || !f.GroupByStatus() {
		t.Fatalf("group by: %v", err)
	}
	vals, n := StatusGroups(map[enumspb.ActivityExecutionStatus]int64{enumspb.ACTIVITY_EXECUTION_STATUS_COMPLETED: 2, enumspb.ACTIVITY_EXECUTION_STATUS_RUNNING: 1})
	if len(vals) != 2 || string(vals[0][0].Data) != `"Running"` || n[0] != 1 || n[1] != 2 {
		t.Fatalf("groups %v %v", vals, n)
	}
}

func TestQueryCustomSearchAttributes(t *testing.T) {
	kw, _ := visibility.EncodeValue("gold", enumspb.INDEXED_VALUE_TYPE_KEYWORD)
	n, _ := visibility.EncodeValue(int64(7), enumspb.INDEXED_VALUE_TYPE_INT)
	x := newExec(t, func(r *workflowservice.StartActivityExecutionRequest) {
		r.SearchAttributes = &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{"Tier": kw, "Size": n}}
	})
	y := newExec(t, nil)
	custom := map[string]enumspb.IndexedValueType{"Tier": enumspb.INDEXED_VALUE_TYPE_KEYWORD, "Size": enumspb.INDEXED_VALUE_TYPE_INT}
	for q, want := range map[string][2]bool{
		"Tier = 'gold'":        {true, false},
		"Size > 5":             {true, false},
		"Tier IS NULL":         {false, true},
		"Size BETWEEN 1 AND 6": {false, false},
	} {
		f, err := ParseQuery(q, custom)
		if err != nil {
			t.Fatalf("%q: %v", q, err)
		}
		if got := [2]bool{f.Match(x), f.Match(y)}; got != want {
			t.Errorf("%q matched %v, want %v", q, got, want)
		}
	}
	if _, err := ParseQuery("Unknown = 1", custom); err == nil {
		t.Fatal("an unregistered attribute parsed")
	}
}
