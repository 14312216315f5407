package nexusexec

import (
	"errors"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	nexusoppb "go.temporal.io/api/nexusoperation/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func request(t *testing.T, mod func(r *workflowservice.StartNexusOperationExecutionRequest)) *workflowservice.StartNexusOperationExecutionRequest {
	t.Helper()
	r := &workflowservice.StartNexusOperationExecutionRequest{
		Namespace: "default", RequestId: "req-1", OperationId: "op-1",
		Endpoint: "ep", Service: "svc", Operation: "hello",
		Input: &commonpb.Payload{Data: []byte(`"Ada"`)},
	}
	if mod != nil {
		mod(r)
	}
	n, err := Normalize(r)
	if err != nil {
		t.Fatalf("Normalize: %v", err)
	}
	return n
}

func newOp(t *testing.T, mod func(r *workflowservice.StartNexusOperationExecutionRequest)) *Operation {
	return New("default", "run-1", "ep-id", "handler-req", request(t, mod), t0)
}

func code(err error) codes.Code { return serviceerror.ToStatus(err).Code() }

func TestSyncSuccess(t *testing.T) {
	o := newOp(t, nil)
	tasks := o.TakeDispatch()
	if len(tasks) != 1 || tasks[0].Cancel || tasks[0].Attempt != 1 {
		t.Fatalf("tasks %v", tasks)
	}
	if again := o.TakeDispatch(); len(again) != 0 {
		t.Fatalf("dispatched twice: %v", again)
	}
	if err := o.StartTask(t0.Add(time.Second), 1); err != nil {
		t.Fatal(err)
	}
	if err := o.StartTask(t0.Add(time.Second), 1); !errors.Is(err, ErrStale) {
		t.Fatalf("second poll of the same task: %v", err)
	}
	res := &commonpb.Payload{Data: []byte(`"Hello, Ada"`)}
	if err := o.CompleteSync(t0.Add(2*time.Second), 1, res, nil); err != nil {
		t.Fatal(err)
	}
	if o.Status != enumspb.NEXUS_OPERATION_EXECUTION_STATUS_COMPLETED || o.CloseTime != t0.Add(2*time.Second) {
		t.Fatalf("status %v close %v", o.Status, o.CloseTime)
	}
	if r, f := o.Outcome(); f != nil || !proto.Equal(r, res) {
		t.Fatalf("outcome %v %v", r, f)
	}
	if err := o.CompleteSync(t0.Add(3*time.Second), 1, res, nil); !errors.Is(err, ErrStale) {
		t.Fatalf("answer after close: %v", err)
	}
	if !o.NextDeadline().IsZero() || o.Tick(t0.Add(time.Hour)) {
		t.Fatal("a closed operation has deadlines")
	}
	p := o.PollResponse()
	if p.WaitStage != enumspb.NEXUS_OPERATION_WAIT_STAGE_CLOSED || p.GetResult() == nil {
		t.Fatalf("poll %v", p)
	}
}

func TestRetryAndHeldTooLong(t *testing.T) {
	o := newOp(t, nil)
	o.TakeDispatch()
	_ = o.StartTask(t0, 1)
	if err := o.RetryAttempt(t0.Add(time.Second), 1, &failurepb.Failure{Message: "busy"}); err != nil {
		t.Fatal(err)
	}
	if o.Attempt != 2 || o.State() != enumspb.PENDING_NEXUS_OPERATION_STATE_BACKING_OFF || o.NextAttemptTime != t0.Add(2*time.Second) {
		t.Fatalf("attempt %d state %v next %v", o.Attempt, o.State(), o.NextAttemptTime)
	}
	if tasks := o.TakeDispatch(); len(tasks) != 0 {
		t.Fatalf("dispatched during backoff: %v", tasks)
	}
	if d := o.NextDeadline(); d != o.NextAttemptTime {
		t.Fatalf("next deadline %v", d)
	}
	if !o.Tick(t0.Add(2 * time.Second)) {
		t.Fatal("backoff end changed nothing")
	}
	tasks := o.TakeDispatch()
	if len(tasks) != 1 || tasks[0].Attempt != 2 {
		t.Fatalf("tasks after backoff %v", tasks)
	}
	if err := o.StartTask(t0.Add(3*time.Second), 1); !errors.Is(err, ErrStale) {
		t.Fatalf("old attempt accepted: %v", err)
	}
	_ = o.StartTask(t0.Add(3*time.Second), 2)
	// The worker holds the task past TaskTimeout: the attempt is retried.
	if o.Tick(t0.Add(3*time.Second + TaskTimeout - time.Millisecond)) {
		t.Fatal("retried before the task timeout")
	}
	if !o.Tick(t0.Add(3*time.Second+TaskTimeout)) || o.Attempt != 3 || o.LastFailure.GetMessage() == "" {
		t.Fatalf("attempt %d failure %v", o.Attempt, o.LastFailure)
	}
	if err := o.CompleteSync(t0.Add(20*time.Second), 2, nil, nil); !errors.Is(err, ErrStale) {
		t.Fatalf("late answer of a retried attempt: %v", err)
	}
}

func TestFailAndCanceledAnswers(t *testing.T) {
	for _, canceled := range []bool{false, true} {
		o := newOp(t, nil)
		o.TakeDispatch()
		_ = o.StartTask(t0, 1)
		f := &failurepb.Failure{Message: "no"}
		if err := o.FailAttempt(t0.Add(time.Second), 1, f, canceled); err != nil {
			t.Fatal(err)
		}
		want := enumspb.NEXUS_OPERATION_EXECUTION_STATUS_FAILED
		if canceled {
			want = enumspb.NEXUS_OPERATION_EXECUTION_STATUS_CANCELED
		}
		if _, got := o.Outcome(); o.Status != want || got.GetMessage() != "no" {
			t.Fatalf("canceled=%v: status %v failure %v", canceled, o.Status, got)
		}
	}
}

func TestAsyncWithCancelBeforeStart(t *testing.T) {
	o := newOp(t, nil)
	o.TakeDispatch()
	_ = o.StartTask(t0, 1)
	if err := o.RequestCancel(t0.Add(time.Second), "c1", "me", "stop"); err != nil {
		t.Fatal(err)
	}
	if o.Cancel.State != enumspb.NEXUS_OPERATION_CANCELLATION_STATE_UNSPECIFIED {
		t.Fatalf("cancel state before start %v", o.Cancel.State)
	}
	if tasks := o.TakeDispatch(); len(tasks) != 0 {
		t.Fatalf("a cancel task before the operation started: %v", tasks)
	}
	if err := o.RequestCancel(t0.Add(time.Second), "c1", "me", "stop"); err != nil {
		t.Fatalf("repeated cancel request: %v", err)
	}
	if err := o.RequestCancel(t0.Add(time.Second), "c2", "me", "stop"); code(err) != codes.FailedPrecondition {
		t.Fatalf("second cancel request: %v", err)
	}
	if err := o.StartAsync(t0.Add(2*time.Second), 1, "tok", []*commonpb.Link{{}}); err != nil {
		t.Fatal(err)
	}
	if !o.Reached(enumspb.NEXUS_OPERATION_WAIT_STAGE_STARTED) || o.Reached(enumspb.NEXUS_OPERATION_WAIT_STAGE_CLOSED) {
		t.Fatal("wait stages of a started operation")
	}
	tasks := o.TakeDispatch()
	if len(tasks) != 1 || !tasks[0].Cancel || tasks[0].Attempt != 1 {
		t.Fatalf("cancel tasks %v", tasks)
	}
	if err := o.StartCancelTask(t0.Add(3*time.Second), 1); err != nil {
		t.Fatal(err)
	}
	if err := o.CancelFailed(t0.Add(3*time.Second), 1, &failurepb.Failure{Message: "later"}, true); err != nil {
		t.Fatal(err)
	}
	if o.Cancel.State != enumspb.NEXUS_OPERATION_CANCELLATION_STATE_BACKING_OFF || o.Cancel.Attempt != 2 {
		t.Fatalf("cancel after a retryable error %+v", o.Cancel)
	}
	o.Tick(o.Cancel.NextAttemptTime)
	tasks = o.TakeDispatch()
	if len(tasks) != 1 || !tasks[0].Cancel || tasks[0].Attempt != 2 {
		t.Fatalf("cancel retry %v", tasks)
	}
	_ = o.StartCancelTask(t0.Add(5*time.Second), 2)
	if err := o.CancelDelivered(t0.Add(5*time.Second), 2); err != nil {
		t.Fatal(err)
	}
	if o.Cancel.State != enumspb.NEXUS_OPERATION_CANCELLATION_STATE_SUCCEEDED || !o.Running() {
		t.Fatalf("after the cancel was delivered: %v running=%v", o.Cancel.State, o.Running())
	}
	if err := o.Complete(t0.Add(6*time.Second), "other-request", Outcome{Result: &commonpb.Payload{}}); !errors.Is(err, ErrStale) {
		t.Fatalf("completion for another request: %v", err)
	}
	cf := &failurepb.Failure{Message: "canceled", FailureInfo: &failurepb.Failure_CanceledFailureInfo{CanceledFailureInfo: &failurepb.CanceledFailureInfo{}}}
	if err := o.Complete(t0.Add(6*time.Second), "handler-req", Outcome{Failure: cf, Canceled: true}); err != nil {
		t.Fatal(err)
	}
	if o.Status != enumspb.NEXUS_OPERATION_EXECUTION_STATUS_CANCELED {
		t.Fatalf("status %v", o.Status)
	}
	if err := o.Complete(t0.Add(7*time.Second), "handler-req", Outcome{}); !errors.Is(err, ErrStale) {
		t.Fatalf("second completion: %v", err)
	}
	if err := o.RequestCancel(t0.Add(8*time.Second), "c1", "me", "stop"); err != nil {
		t.Fatalf("retried cancel request after close: %v", err)
	}
	if err := o.RequestCancel(t0.Add(8*time.Second), "c3", "me", "stop"); code(err) != codes.FailedPrecondition {
		t.Fatalf("new cancel request after close: %v", err)
	}
}

func TestCompletionBeforeStartAnswer(t *testing.T) {
	o := newOp(t, nil)
	o.TakeDispatch()
	_ = o.StartTask(t0, 1)
	if err := o.Complete(t0.Add(time.Second), "handler-req", Outcome{OperationToken: "tok", Result: &commonpb.Payload{Data: []byte("1")}}); err != nil {
		t.Fatal(err)
	}
	if !o.Started || o.OperationToken != "tok" || o.Status != enumspb.NEXUS_OPERATION_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("started %v token %q status %v", o.Started, o.OperationToken, o.Status)
	}
	if err := o.StartAsync(t0.Add(2*time.Second), 1, "tok", nil); !errors.Is(err, ErrStale) {
		t.Fatalf("late start answer: %v", err)
	}
}

func TestTimeouts(t *testing.T) {
	cases := []struct {
		name    string
		mod     func(r *workflowservice.StartNexusOperationExecutionRequest)
		started bool
		at      time.Duration
		want    enumspb.TimeoutType
	}{
		{"schedule to close", func(r *workflowservice.StartNexusOperationExecutionRequest) {
			r.ScheduleToCloseTimeout = durationpb.New(time.Minute)
		}, true, time.Minute, enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE},
		{"schedule to start", func(r *workflowservice.StartNexusOperationExecutionRequest) {
			r.ScheduleToStartTimeout = durationpb.New(5 * time.Second)
		}, false, 5 * time.Second, enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START},
		{"start to close", func(r *workflowservice.StartNexusOperationExecutionRequest) {
			r.ScheduleToStartTimeout = durationpb.New(5 * time.Second)
			r.StartToCloseTimeout = durationpb.New(10 * time.Second)
		}, true, 11 * time.Second, enumspb.TIMEOUT_TYPE_START_TO_CLOSE},
	}
	for _, c := range cases {
		o := newOp(t, c.mod)
		o.TakeDispatch()
		_ = o.StartTask(t0, 1)
		if c.started {
			_ = o.StartAsync(t0.Add(time.Second), 1, "tok", nil)
		}
		if d := o.NextDeadline(); d.After(t0.Add(c.at)) {
			t.Fatalf("%s: next deadline %v after %v", c.name, d, t0.Add(c.at))
		}
		o.Tick(t0.Add(c.at))
		_, f := o.Outcome()
		if o.Status != enumspb.NEXUS_OPERATION_EXECUTION_STATUS_TIMED_OUT || f.GetTimeoutFailureInfo().GetTimeoutType() != c.want {
			t.Fatalf("%s: status %v failure %v", c.name, o.Status, f)
		}
	}
	// A schedule-to-start timeout no longer applies once started.
	o := newOp(t, func(r *workflowservice.StartNexusOperationExecutionRequest) {
		r.ScheduleToStartTimeout = durationpb.New(5 * time.Second)
	})
	o.TakeDispatch()
	_ = o.StartTask(t0, 1)
	_ = o.StartAsync(t0.Add(time.Second), 1, "tok", nil)
	if o.Tick(t0.Add(time.Hour)) || !o.Running() {
		t.Fatalf("a started operation timed out on schedule-to-start: %v", o.Status)
	}
}

func TestTerminate(t *testing.T) {
	o := newOp(t, nil)
	if err := o.Terminate(t0, "t1", "enough", "me"); err != nil {
		t.Fatal(err)
	}
	_, f := o.Outcome()
	if o.Status != enumspb.NEXUS_OPERATION_EXECUTION_STATUS_TERMINATED || f.GetMessage() != "enough" || f.GetTerminatedFailureInfo().GetIdentity() != "me" {
		t.Fatalf("status %v failure %v", o.Status, f)
	}
	if err := o.Terminate(t0, "t1", "enough", "me"); err != nil {
		t.Fatalf("repeated terminate: %v", err)
	}
	if err := o.Terminate(t0, "t2", "enough", "me"); code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "t1") {
		t.Fatalf("other terminate: %v", err)
	}
	done := newOp(t, nil)
	done.TakeDispatch()
	_ = done.StartTask(t0, 1)
	_ = done.CompleteSync(t0, 1, nil, nil)
	if err := done.Terminate(t0, "t1", "", ""); code(err) != codes.FailedPrecondition {
		t.Fatalf("terminate a completed operation: %v", err)
	}
}

func TestResolveStart(t *testing.T) {
	running := newOp(t, nil)
	closed := func(status enumspb.NexusOperationExecutionStatus) *Operation {
		o := newOp(t, nil)
		o.Status = status
		return o
	}
	req := func(reqID string, reuse enumspb.NexusOperationIdReusePolicy, conflict enumspb.NexusOperationIdConflictPolicy) *workflowservice.StartNexusOperationExecutionRequest {
		return request(t, func(r *workflowservice.StartNexusOperationExecutionRequest) {
			r.RequestId, r.IdReusePolicy, r.IdConflictPolicy = reqID, reuse, conflict
		})
	}
	var already *serviceerror.NexusOperationExecutionAlreadyStarted
	for _, c := range []struct {
		name string
		cur  *Operation
		req  *workflowservice.StartNexusOperationExecutionRequest
		want StartChoice
		err  bool
	}{
		{"new id", nil, req("x", 0, 0), StartNew, false},
		{"same request id", running, req("req-1", 0, 0), Deduplicated, false},
		{"running, fail", running, req("x", 0, 0), 0, true},
		{"running, use existing", running, req("x", 0, enumspb.NEXUS_OPERATION_ID_CONFLICT_POLICY_USE_EXISTING), UseExisting, false},
		{"closed, allow", closed(enumspb.NEXUS_OPERATION_EXECUTION_STATUS_COMPLETED), req("x", 0, 0), StartNew, false},
		{"closed, reject", closed(enumspb.NEXUS_OPERATION_EXECUTION_STATUS_FAILED), req("x", enumspb.NEXUS_OPERATION_ID_REUSE_POLICY_REJECT_DUPLICATE, 0), 0, true},
		{"completed, failed only", closed(enumspb.NEXUS_OPERATION_EXECUTION_STATUS_COMPLETED), req("x", enumspb.NEXUS_OPERATION_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY, 0), 0, true},
		{"failed, failed only", closed(enumspb.NEXUS_OPERATION_EXECUTION_STATUS_FAILED), req("x", enumspb.NEXUS_OPERATION_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY, 0), StartNew, false},
		{"closed, same request id", closed(enumspb.NEXUS_OPERATION_EXECUTION_STATUS_COMPLETED), req("req-1", enumspb.NEXUS_OPERATION_ID_REUSE_POLICY_REJECT_DUPLICATE, 0), Deduplicated, false},
	} {
		got, err := ResolveStart(c.cur, c.req)
		if c.err {
			if !errors.As(err, &already) || already.RunId != c.cur.RunID || already.StartRequestId != "req-1" {
				t.Errorf("%s: error %v, want NexusOperationExecutionAlreadyStarted naming the run", c.name, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: %v %v, want %v", c.name, got, err, c.want)
		}
	}
	// on_conflict_options attach the request id: a retry is deduplicated.
	r := req("attached", 0, enumspb.NEXUS_OPERATION_ID_CONFLICT_POLICY_USE_EXISTING)
	r.OnConflictOptions = &nexusoppb.OnConflictOptions{AttachRequestId: true}
	if !running.AttachOnConflict(r) {
		t.Fatal("nothing attached")
	}
	if got, _ := ResolveStart(running, req("attached", 0, 0)); got != Deduplicated {
		t.Fatalf("retry of an attached start: %v", got)
	}
}

func TestNormalize(t *testing.T) {
	bad := []struct {
		mod  func(r *workflowservice.StartNexusOperationExecutionRequest)
		want string
	}{
		{func(r *workflowservice.StartNexusOperationExecutionRequest) { r.OperationId = "" }, "operation_id is required"},
		{func(r *workflowservice.StartNexusOperationExecutionRequest) { r.Endpoint = "" }, "endpoint is required"},
		{func(r *workflowservice.StartNexusOperationExecutionRequest) { r.Service = "" }, "service is required"},
		{func(r *workflowservice.StartNexusOperationExecutionRequest) { r.Operation = "" }, "operation is required"},
		{func(r *workflowservice.StartNexusOperationExecutionRequest) {
			r.OperationId = strings.Repeat("x", MaxIDLength+1)
		}, "operation_id exceeds length limit"},
		{func(r *workflowservice.StartNexusOperationExecutionRequest) {
			r.ScheduleToCloseTimeout = durationpb.New(-time.Second)
		}, "schedule_to_close_timeout is invalid"},
		{func(r *workflowservice.StartNexusOperationExecutionRequest) {
			r.NexusHeader = map[string]string{"Request-Timeout": "1s"}
		}, "nexus_header contains a disallowed key"},
		{func(r *workflowservice.StartNexusOperationExecutionRequest) {
			r.IdReusePolicy = 99
		}, "id_reuse_policy"},
		{func(r *workflowservice.StartNexusOperationExecutionRequest) {
			r.CompletionCallbacks = []*commonpb.Callback{{}}
		}, "completion_callbacks"},
	}
	for _, c := range bad {
		r := &workflowservice.StartNexusOperationExecutionRequest{OperationId: "op", Endpoint: "ep", Service: "s", Operation: "o"}
		c.mod(r)
		_, err := Normalize(r)
		if code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want InvalidArgument with %q", r, err, c.want)
		}
	}
	n := request(t, func(r *workflowservice.StartNexusOperationExecutionRequest) {
		r.ScheduleToCloseTimeout = durationpb.New(time.Minute)
		r.ScheduleToStartTimeout = durationpb.New(time.Hour)
		r.StartToCloseTimeout = durationpb.New(time.Hour)
		r.NexusHeader = map[string]string{"X-Trace": "1"}
	})
	if n.ScheduleToStartTimeout.AsDuration() != time.Minute || n.StartToCloseTimeout.AsDuration() != time.Minute {
		t.Errorf("timeouts not capped by schedule-to-close: %v %v", n.ScheduleToStartTimeout, n.StartToCloseTimeout)
	}
	if n.NexusHeader["x-trace"] != "1" || n.IdReusePolicy != enumspb.NEXUS_OPERATION_ID_REUSE_POLICY_ALLOW_DUPLICATE ||
		n.IdConflictPolicy != enumspb.NEXUS_OPERATION_ID_CONFLICT_POLICY_FAIL {
		t.Errorf("normalized %v", n)
	}
	o := New("default", "run", "ep-id", "hreq", n, t0)
	if h := o.RequestHeader(t0.Add(15 * time.Second)); h["operation-timeout"] != "45000ms" || h["x-trace"] != "1" {
		t.Errorf("request header %v", h)
	}
}

func TestEncodeDecode(t *testing.T) {
	o := newOp(t, func(r *workflowservice.StartNexusOperationExecutionRequest) {
		r.ScheduleToCloseTimeout = durationpb.New(time.Minute)
	})
	o.TakeDispatch()
	_ = o.StartTask(t0, 1)
	_ = o.RetryAttempt(t0.Add(time.Second), 1, &failurepb.Failure{Message: "busy"})
	o.Tick(o.NextAttemptTime)
	o.TakeDispatch()
	_ = o.StartTask(t0.Add(3*time.Second), 2)
	_ = o.StartAsync(t0.Add(3*time.Second), 2, "tok", []*commonpb.Link{{Variant: &commonpb.Link_Activity_{Activity: &commonpb.Link_Activity{ActivityId: "a"}}}})
	_ = o.RequestCancel(t0.Add(4*time.Second), "c1", "me", "why")
	o.AttachedRequestIDs = []string{"a1"}
	check := func(o *Operation) {
		t.Helper()
		b, err := o.Encode()
		if err != nil {
			t.Fatal(err)
		}
		d, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		d.queued, d.cancelQueued = o.queued, o.cancelQueued
		if !proto.Equal(d.Info(t0), o.Info(t0)) {
			t.Fatalf("info:\n got %v\nwant %v", d.Info(t0), o.Info(t0))
		}
		if d.Namespace != o.Namespace || d.EndpointID != o.EndpointID || d.Started != o.Started || !d.StartedTime.Equal(o.StartedTime) ||
			d.TerminateRequestID != o.TerminateRequestID || len(d.AttachedRequestIDs) != len(o.AttachedRequestIDs) ||
			(o.Cancel != nil && (d.Cancel.RequestID != o.Cancel.RequestID || d.Cancel.Identity != o.Cancel.Identity)) {
			t.Fatalf("decoded %+v\nwant %+v", d, o)
		}
		if !proto.Equal(d.PollResponse(), o.PollResponse()) {
			t.Fatalf("poll response %v, want %v", d.PollResponse(), o.PollResponse())
		}
	}
	check(o)
	_ = o.Complete(t0.Add(5*time.Second), "handler-req", Outcome{Result: &commonpb.Payload{Data: []byte("r")}})
	check(o)
	o2 := newOp(t, nil)
	_ = o2.Terminate(t0, "t", "bye", "me")
	check(o2)
	if _, err := Decode([]byte{0xff}); err == nil {
		t.Fatal("garbage decoded")
	}
}

func TestQuery(t *testing.T) {
	running := newOp(t, nil)
	done := New("default", "run-2", "ep-id", "hreq-2", request(t, func(r *workflowservice.StartNexusOperationExecutionRequest) {
		r.OperationId, r.Operation = "op-2", "bye"
	}), t0)
	_ = done.Terminate(t0.Add(time.Minute), "t", "", "")
	for _, c := range []struct {
		q          string
		running, d bool
	}{
		{"", true, true},
		{"ExecutionStatus = 'Running'", true, false},
		{"ExecutionStatus = 'Terminated'", false, true},
		{"Operation = 'bye' AND Endpoint = 'ep' AND Service = 'svc'", false, true},
		{"OperationId IN ('op-1')", true, false},
		{"RequestId = 'hreq-2'", false, true},
		{"ExecutionDuration > '30s'", false, true},
		{"CloseTime IS NULL", true, false},
		{"StateTransitionCount >= 1", true, true},
	} {
		f, err := ParseQuery(c.q, nil)
		if err != nil {
			t.Fatalf("%q: %v", c.q, err)
		}
		if f.Match(running) != c.running || f.Match(done) != c.d {
			t.Errorf("%q: running %v done %v, want %v %v", c.q, f.Match(running), f.Match(done), c.running, c.d)
		}
	}
	if f, err := ParseQuery("GROUP BY ExecutionStatus", nil); err != nil || !f.GroupByStatus() {
		t.Fatalf("group by: %v", err)
	}
	if _, err := ParseQuery("WorkflowType = 'x'", nil); code(err) != codes.InvalidArgument {
		t.Fatalf("unknown attribute: %v", err)
	}
}
