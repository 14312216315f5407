package gosdk

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nexus-rpc/sdk-go/nexus"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Standalone Nexus operations (StartNexusOperationExecution and friends):
// a client starts a Nexus operation on an endpoint without a caller
// workflow. The Go SDK 1.50 has no client for them, so the tests call the
// raw WorkflowService; the handler is a real Go SDK worker with the
// greeter services of nexus_test.go (synchronous operations) and
// nexus_async_test.go (a workflow-run operation).

type snEnv struct {
	*env
	endpoint string
}

func newSNEnv(t *testing.T) *snEnv {
	e := newEnv(t)
	ep := nexusEndpoint(t, e, "standalone-endpoint")
	return &snEnv{env: e, endpoint: ep.Spec.Name}
}

// startWorker runs the handler worker on the endpoint's target queue.
func (s *snEnv) startWorker() worker.Worker {
	sync := nexus.NewService(nexusTestService)
	sync.MustRegister(nexusHello, nexusOpFails, nexusBadRequest, nexusSlow)
	async := nexus.NewService(nexusAsyncService)
	async.MustRegister(nexusRunOp)
	return s.worker(func(w worker.Worker) {
		w.RegisterWorkflow(nexusAsyncHandlerWF)
		w.RegisterNexusService(sync)
		w.RegisterNexusService(async)
	})
}

func snPayload(t *testing.T, v any) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(v)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (s *snEnv) svc() workflowservice.WorkflowServiceClient { return s.c.WorkflowService() }

// request is a start request for service/op with input in; mod may change
// it.
func (s *snEnv) request(t *testing.T, id, service, op string, in any) *workflowservice.StartNexusOperationExecutionRequest {
	return &workflowservice.StartNexusOperationExecutionRequest{
		Namespace: "default", Identity: "sn-test", RequestId: uuid.NewString(), OperationId: id,
		Endpoint: s.endpoint, Service: service, Operation: op, Input: snPayload(t, in),
		ScheduleToCloseTimeout: durationpb.New(time.Minute),
	}
}

func (s *snEnv) start(t *testing.T, req *workflowservice.StartNexusOperationExecutionRequest) *workflowservice.StartNexusOperationExecutionResponse {
	t.Helper()
	resp, err := s.svc().StartNexusOperationExecution(s.ctx(), req)
	if err != nil {
		t.Fatalf("StartNexusOperationExecution %s: %v", req.OperationId, err)
	}
	if !resp.Started || resp.RunId == "" {
		t.Fatalf("start %s: %v", req.OperationId, resp)
	}
	return resp
}

// poll long-polls until the operation reached stage.
func (s *snEnv) poll(t *testing.T, id, runID string, stage enumspb.NexusOperationWaitStage) *workflowservice.PollNexusOperationExecutionResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return pollNexusOp(ctx, t, s.c, id, runID, stage)
}

func (s *snEnv) describe(t *testing.T, id, runID string) *workflowservice.DescribeNexusOperationExecutionResponse {
	t.Helper()
	d, err := s.svc().DescribeNexusOperationExecution(s.ctx(), &workflowservice.DescribeNexusOperationExecutionRequest{
		Namespace: "default", OperationId: id, RunId: runID, IncludeInput: true, IncludeOutcome: true})
	if err != nil {
		t.Fatalf("DescribeNexusOperationExecution %s: %v", id, err)
	}
	return d
}

func snResult(t *testing.T, p *commonpb.Payload) string {
	t.Helper()
	var out string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &out); err != nil {
		t.Fatalf("result payload %v: %v", p, err)
	}
	return out
}

func snWantCode(t *testing.T, what string, err error, c codes.Code, msg string) {
	t.Helper()
	if st := serviceerror.ToStatus(err); st.Code() != c || !strings.Contains(st.Message(), msg) {
		t.Errorf("%s: %v %q, want %v containing %q", what, st.Code(), st.Message(), c, msg)
	}
}

// TestStandaloneNexusSync: synchronous operations through a Go SDK
// handler: a result completes the operation; an operation error and a
// non-retryable handler error fail it; a slow handler times it out; the
// id reuse policies and request-id deduplication apply; bad requests get
// InvalidArgument naming the field, an unknown endpoint NotFound.
func TestStandaloneNexusSync(t *testing.T) {
	s := newSNEnv(t)
	s.startWorker()

	t.Run("Success", func(t *testing.T) {
		req := s.request(t, "hello-"+s.tq, nexusTestService, "hello", "Ada")
		req.NexusHeader = map[string]string{"X-Trace": "abc"}
		resp := s.start(t, req)
		p := s.poll(t, req.OperationId, "", enumspb.NEXUS_OPERATION_WAIT_STAGE_CLOSED)
		if p.RunId != resp.RunId || p.WaitStage != enumspb.NEXUS_OPERATION_WAIT_STAGE_CLOSED || p.OperationToken != "" {
			t.Fatalf("poll %v", p)
		}
		if got := snResult(t, p.GetResult()); got != "Hello, Ada" {
			t.Fatalf("result %q", got)
		}
		if c := p.PropagatedNexusSerializationContext; c.GetEndpoint() != s.endpoint || c.GetService() != nexusTestService || c.GetOperation() != "hello" {
			t.Errorf("serialization context %v", c)
		}
		d := s.describe(t, req.OperationId, resp.RunId)
		i := d.Info
		if i.Status != enumspb.NEXUS_OPERATION_EXECUTION_STATUS_COMPLETED || i.Endpoint != s.endpoint || i.Service != nexusTestService ||
			i.Operation != "hello" || i.Attempt != 1 || i.CloseTime == nil || i.ScheduleTime == nil || i.Identity != "sn-test" ||
			i.RequestId == "" || i.RequestId == req.RequestId || i.NexusHeader["x-trace"] != "abc" || i.ExpirationTime == nil ||
			i.State != enumspb.PENDING_NEXUS_OPERATION_STATE_UNSPECIFIED || len(d.LongPollToken) != 0 {
			t.Fatalf("describe %v", d)
		}
		if snResult(t, d.GetResult()) != "Hello, Ada" || snResult(t, d.Input) != "Ada" {
			t.Fatalf("describe outcome %v input %v", d.GetResult(), d.Input)
		}

		// A retried start (same request id) answers the same run, not
		// started anew.
		again, err := s.svc().StartNexusOperationExecution(s.ctx(), req)
		if err != nil || again.RunId != resp.RunId || again.Started {
			t.Fatalf("retried start: %v, %v", again, err)
		}
		// REJECT_DUPLICATE and ALLOW_DUPLICATE_FAILED_ONLY refuse a new
		// run after a completed one; the default allows it.
		for _, pol := range []enumspb.NexusOperationIdReusePolicy{enumspb.NEXUS_OPERATION_ID_REUSE_POLICY_REJECT_DUPLICATE,
			enumspb.NEXUS_OPERATION_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY} {
			r2 := s.request(t, req.OperationId, nexusTestService, "hello", "Bob")
			r2.IdReusePolicy = pol
			_, err := s.svc().StartNexusOperationExecution(s.ctx(), r2)
			var already *serviceerror.NexusOperationExecutionAlreadyStarted
			if !errors.As(err, &already) || already.RunId != resp.RunId || already.StartRequestId != req.RequestId {
				t.Fatalf("%v after completion: %v", pol, err)
			}
		}
		r3 := s.start(t, s.request(t, req.OperationId, nexusTestService, "hello", "Bob"))
		if r3.RunId == resp.RunId {
			t.Fatal("ALLOW_DUPLICATE reused the run")
		}
		if got := snResult(t, s.poll(t, req.OperationId, "", enumspb.NEXUS_OPERATION_WAIT_STAGE_CLOSED).GetResult()); got != "Hello, Bob" {
			t.Fatalf("second run result %q", got)
		}
		// The first run is still there by run id.
		if d := s.describe(t, req.OperationId, resp.RunId); d.RunId != resp.RunId || snResult(t, d.GetResult()) != "Hello, Ada" {
			t.Fatalf("first run %v", d)
		}
	})

	for _, c := range []struct{ op, msg string }{{"fails", "no greeting for Ada"}, {"bad-request", "is not allowed"}} {
		t.Run("Failure/"+c.op, func(t *testing.T) {
			req := s.request(t, c.op+"-"+s.tq, nexusTestService, c.op, "Ada")
			resp := s.start(t, req)
			p := s.poll(t, req.OperationId, resp.RunId, enumspb.NEXUS_OPERATION_WAIT_STAGE_CLOSED)
			if f := p.GetFailure(); f == nil || !strings.Contains(f.GetMessage(), c.msg) {
				t.Fatalf("failure %v, want one with %q", p.GetFailure(), c.msg)
			}
			d := s.describe(t, req.OperationId, resp.RunId)
			if d.Info.Status != enumspb.NEXUS_OPERATION_EXECUTION_STATUS_FAILED || d.GetFailure() == nil || d.Info.Attempt != 1 {
				t.Fatalf("describe %v", d)
			}
			// The operation closed: it can be reused under FAILED_ONLY.
			r2 := s.request(t, req.OperationId, nexusTestService, "hello", "Ada")
			r2.IdReusePolicy = enumspb.NEXUS_OPERATION_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY
			s.start(t, r2)
		})
	}

	t.Run("ScheduleToCloseTimeout", func(t *testing.T) {
		req := s.request(t, "slow-"+s.tq, nexusTestService, "slow", "Ada")
		req.ScheduleToCloseTimeout = durationpb.New(time.Second)
		resp := s.start(t, req)
		p := s.poll(t, req.OperationId, resp.RunId, enumspb.NEXUS_OPERATION_WAIT_STAGE_CLOSED)
		if p.GetFailure().GetTimeoutFailureInfo().GetTimeoutType() != enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE {
			t.Fatalf("failure %v", p.GetFailure())
		}
		if d := s.describe(t, req.OperationId, resp.RunId); d.Info.Status != enumspb.NEXUS_OPERATION_EXECUTION_STATUS_TIMED_OUT {
			t.Fatalf("status %v", d.Info.Status)
		}
	})

	t.Run("Errors", func(t *testing.T) {
		bad := s.request(t, "", nexusTestService, "hello", "Ada")
		_, err := s.svc().StartNexusOperationExecution(s.ctx(), bad)
		snWantCode(t, "no operation id", err, codes.InvalidArgument, "operation_id is required")
		bad = s.request(t, "x", nexusTestService, "", "Ada")
		_, err = s.svc().StartNexusOperationExecution(s.ctx(), bad)
		snWantCode(t, "no operation", err, codes.InvalidArgument, "operation is required")
		bad = s.request(t, "x", nexusTestService, "hello", "Ada")
		bad.ScheduleToCloseTimeout = durationpb.New(-time.Second)
		_, err = s.svc().StartNexusOperationExecution(s.ctx(), bad)
		snWantCode(t, "negative timeout", err, codes.InvalidArgument, "schedule_to_close_timeout")
		bad = s.request(t, "x", nexusTestService, "hello", "Ada")
		bad.Endpoint = "no-such-endpoint"
		_, err = s.svc().StartNexusOperationExecution(s.ctx(), bad)
		snWantCode(t, "unknown endpoint", err, codes.NotFound, "no-such-endpoint")
		bad = s.request(t, "x", nexusTestService, "hello", "Ada")
		bad.Namespace = "no-such-namespace"
		_, err = s.svc().StartNexusOperationExecution(s.ctx(), bad)
		snWantCode(t, "unknown namespace", err, codes.NotFound, "no-such-namespace")
		_, err = s.svc().DescribeNexusOperationExecution(s.ctx(), &workflowservice.DescribeNexusOperationExecutionRequest{
			Namespace: "default", OperationId: "x", RunId: "not-a-uuid"})
		snWantCode(t, "bad run id", err, codes.InvalidArgument, "run_id")
		_, err = s.svc().DescribeNexusOperationExecution(s.ctx(), &workflowservice.DescribeNexusOperationExecutionRequest{
			Namespace: "default", OperationId: "never-started"})
		snWantCode(t, "unknown operation", err, codes.NotFound, "operation not found for ID: never-started")
		_, err = s.svc().DescribeNexusOperationExecution(s.ctx(), &workflowservice.DescribeNexusOperationExecutionRequest{
			Namespace: "default", OperationId: "x", LongPollToken: []byte("12345678")})
		snWantCode(t, "long poll without run id", err, codes.InvalidArgument, "run_id is required")
		_, err = s.svc().PollNexusOperationExecution(s.ctx(), &workflowservice.PollNexusOperationExecutionRequest{
			Namespace: "default", OperationId: "x", WaitStage: 7})
		snWantCode(t, "bad wait stage", err, codes.InvalidArgument, "wait_stage")
		_, err = s.svc().TerminateNexusOperationExecution(s.ctx(), &workflowservice.TerminateNexusOperationExecutionRequest{
			Namespace: "default", OperationId: "never-started"})
		snWantCode(t, "terminate unknown", err, codes.NotFound, "not found")
		_, err = s.svc().ListNexusOperationExecutions(s.ctx(), &workflowservice.ListNexusOperationExecutionsRequest{
			Namespace: "default", Query: "WorkflowType = 'x'"})
		snWantCode(t, "bad query", err, codes.InvalidArgument, "WorkflowType")
	})
}

// TestStandaloneNexusAsync: a workflow-run operation (the handler starts a
// workflow that carries the operation's completion callback): it is
// STARTED with the handler's token and links, and completes, fails, is
// canceled (the cancel request goes to the handler, which cancels its
// workflow), or is terminated (the handler is not told) or times out
// start-to-close.
func TestStandaloneNexusAsync(t *testing.T) {
	s := newSNEnv(t)
	s.startWorker()
	startAsync := func(t *testing.T, name string, in asyncIn) (*workflowservice.StartNexusOperationExecutionRequest, string) {
		t.Helper()
		req := s.request(t, name+"-"+s.tq, nexusAsyncService, "run", in)
		return req, s.start(t, req).RunId
	}

	t.Run("Success", func(t *testing.T) {
		in := asyncIn{ID: "sn-handler-ok-" + s.tq, Mode: "wait"}
		req, runID := startAsync(t, "async-ok", in)
		p := s.poll(t, req.OperationId, runID, enumspb.NEXUS_OPERATION_WAIT_STAGE_STARTED)
		if p.WaitStage != enumspb.NEXUS_OPERATION_WAIT_STAGE_STARTED || p.OperationToken == "" || p.Outcome != nil {
			t.Fatalf("poll started %v", p)
		}
		d := s.describe(t, req.OperationId, runID)
		if d.Info.State != enumspb.PENDING_NEXUS_OPERATION_STATE_STARTED || d.Info.OperationToken != p.OperationToken || len(d.LongPollToken) == 0 {
			t.Fatalf("describe started %v", d)
		}
		var handlerLink bool
		for _, l := range d.Info.Links {
			handlerLink = handlerLink || l.GetWorkflowEvent().GetWorkflowId() == in.ID
		}
		if !handlerLink {
			t.Errorf("links %v: want one to the handler workflow", d.Info.Links)
		}
		// The handler workflow carries the operation's callback.
		hs := s.history(in.ID, "")[0].GetWorkflowExecutionStartedEventAttributes()
		if cbs := hs.CompletionCallbacks; len(cbs) != 1 || cbs[0].GetNexus().GetUrl() != "temporal://system" {
			t.Fatalf("handler callbacks %v", hs.CompletionCallbacks)
		}
		// A long poll on Describe wakes when the operation changes.
		changed := make(chan *workflowservice.DescribeNexusOperationExecutionResponse, 1)
		go func() {
			r, err := s.svc().DescribeNexusOperationExecution(s.ctx(), &workflowservice.DescribeNexusOperationExecutionRequest{
				Namespace: "default", OperationId: req.OperationId, RunId: runID, LongPollToken: d.LongPollToken})
			if err != nil {
				t.Error(err)
			}
			changed <- r
		}()
		time.Sleep(200 * time.Millisecond)
		if err := s.c.SignalWorkflow(s.ctx(), in.ID, "", "finish", "now"); err != nil {
			t.Fatal(err)
		}
		p = s.poll(t, req.OperationId, runID, enumspb.NEXUS_OPERATION_WAIT_STAGE_CLOSED)
		if got := snResult(t, p.GetResult()); got != "Finished now" {
			t.Fatalf("result %q (failure %v)", got, p.GetFailure())
		}
		select {
		case r := <-changed:
			if r.GetInfo().GetStatus() != enumspb.NEXUS_OPERATION_EXECUTION_STATUS_COMPLETED {
				t.Errorf("long-poll describe %v", r)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the long-poll describe did not wake")
		}
	})

	t.Run("Failure", func(t *testing.T) {
		in := asyncIn{ID: "sn-handler-fail-" + s.tq, Mode: "fail", Name: "Ada"}
		req, runID := startAsync(t, "async-fail", in)
		p := s.poll(t, req.OperationId, runID, enumspb.NEXUS_OPERATION_WAIT_STAGE_CLOSED)
		f := p.GetFailure()
		if f.GetApplicationFailureInfo().GetType() != "NoGreeting" || !strings.Contains(f.GetMessage(), "no greeting for Ada") {
			t.Fatalf("failure %v", f)
		}
		if d := s.describe(t, req.OperationId, runID); d.Info.Status != enumspb.NEXUS_OPERATION_EXECUTION_STATUS_FAILED || d.Info.OperationToken == "" {
			t.Fatalf("describe %v", d)
		}
	})

	t.Run("Cancel", func(t *testing.T) {
		in := asyncIn{ID: "sn-handler-cancel-" + s.tq, Mode: "wait"}
		req, runID := startAsync(t, "async-cancel", in)
		s.poll(t, req.OperationId, runID, enumspb.NEXUS_OPERATION_WAIT_STAGE_STARTED)
		cancelReq := &workflowservice.RequestCancelNexusOperationExecutionRequest{
			Namespace: "default", OperationId: req.OperationId, RunId: runID, RequestId: uuid.NewString(), Identity: "me", Reason: "no longer needed"}
		if _, err := s.svc().RequestCancelNexusOperationExecution(s.ctx(), cancelReq); err != nil {
			t.Fatal(err)
		}
		if _, err := s.svc().RequestCancelNexusOperationExecution(s.ctx(), cancelReq); err != nil {
			t.Fatalf("repeated cancel request: %v", err)
		}
		p := s.poll(t, req.OperationId, runID, enumspb.NEXUS_OPERATION_WAIT_STAGE_CLOSED)
		if p.GetFailure().GetCanceledFailureInfo() == nil {
			t.Fatalf("failure %v, want a canceled failure", p.GetFailure())
		}
		d := s.describe(t, req.OperationId, runID)
		ci := d.Info.CancellationInfo
		if d.Info.Status != enumspb.NEXUS_OPERATION_EXECUTION_STATUS_CANCELED || ci.GetReason() != "no longer needed" || ci.GetRequestedTime() == nil {
			t.Fatalf("describe %v", d)
		}
		// The handler's answer to the cancel task and its workflow's
		// cancellation race (as for workflow callers): the cancel request
		// is SUCCEEDED, or still SCHEDULED when the outcome came first.
		if ci.State != enumspb.NEXUS_OPERATION_CANCELLATION_STATE_SUCCEEDED && ci.State != enumspb.NEXUS_OPERATION_CANCELLATION_STATE_SCHEDULED {
			t.Errorf("cancellation state %v", ci.State)
		}
		hd, err := s.c.DescribeWorkflowExecution(s.ctx(), in.ID, "")
		if err != nil || hd.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED {
			t.Fatalf("handler workflow %v, %v: want it canceled", hd.GetWorkflowExecutionInfo().GetStatus(), err)
		}
		cancelReq.RequestId = uuid.NewString()
		_, err = s.svc().RequestCancelNexusOperationExecution(s.ctx(), cancelReq)
		snWantCode(t, "cancel a closed operation", err, codes.FailedPrecondition, "already completed")
	})

	t.Run("Terminate", func(t *testing.T) {
		in := asyncIn{ID: "sn-handler-term-" + s.tq, Mode: "wait"}
		req, runID := startAsync(t, "async-term", in)
		s.poll(t, req.OperationId, runID, enumspb.NEXUS_OPERATION_WAIT_STAGE_STARTED)
		term := &workflowservice.TerminateNexusOperationExecutionRequest{
			Namespace: "default", OperationId: req.OperationId, RequestId: uuid.NewString(), Identity: "me", Reason: "stop it"}
		if _, err := s.svc().TerminateNexusOperationExecution(s.ctx(), term); err != nil {
			t.Fatal(err)
		}
		if _, err := s.svc().TerminateNexusOperationExecution(s.ctx(), term); err != nil {
			t.Fatalf("repeated terminate: %v", err)
		}
		term.RequestId = uuid.NewString()
		_, err := s.svc().TerminateNexusOperationExecution(s.ctx(), term)
		snWantCode(t, "terminate again", err, codes.FailedPrecondition, "already terminated")
		p := s.poll(t, req.OperationId, runID, enumspb.NEXUS_OPERATION_WAIT_STAGE_CLOSED)
		f := p.GetFailure()
		if f.GetMessage() != "stop it" || f.GetTerminatedFailureInfo().GetIdentity() != "me" {
			t.Fatalf("failure %v", f)
		}
		// The handler workflow is not told; finishing it later changes
		// nothing.
		if err := s.c.SignalWorkflow(s.ctx(), in.ID, "", "finish", "late"); err != nil {
			t.Fatal(err)
		}
		if err := s.c.GetWorkflow(s.ctx(), in.ID, "").Get(s.ctx(), nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		if d := s.describe(t, req.OperationId, runID); d.Info.Status != enumspb.NEXUS_OPERATION_EXECUTION_STATUS_TERMINATED {
			t.Fatalf("status after the handler finished %v", d.Info.Status)
		}
	})

	t.Run("StartToCloseTimeout", func(t *testing.T) {
		in := asyncIn{ID: "sn-handler-slow-" + s.tq, Mode: "wait"}
		req := s.request(t, "async-slow-"+s.tq, nexusAsyncService, "run", in)
		req.StartToCloseTimeout = durationpb.New(2 * time.Second)
		runID := s.start(t, req).RunId
		p := s.poll(t, req.OperationId, runID, enumspb.NEXUS_OPERATION_WAIT_STAGE_CLOSED)
		if p.GetFailure().GetTimeoutFailureInfo().GetTimeoutType() != enumspb.TIMEOUT_TYPE_START_TO_CLOSE || p.OperationToken == "" {
			t.Fatalf("poll %v", p)
		}
		_ = s.c.TerminateWorkflow(s.ctx(), in.ID, "", "cleanup")
	})

	t.Run("UseExisting", func(t *testing.T) {
		in := asyncIn{ID: "sn-handler-shared-" + s.tq, Mode: "wait"}
		req, runID := startAsync(t, "async-shared", in)
		r2 := s.request(t, req.OperationId, nexusAsyncService, "run", in)
		_, err := s.svc().StartNexusOperationExecution(s.ctx(), r2)
		var already *serviceerror.NexusOperationExecutionAlreadyStarted
		if !errors.As(err, &already) || already.RunId != runID {
			t.Fatalf("start while running: %v", err)
		}
		r2.IdConflictPolicy = enumspb.NEXUS_OPERATION_ID_CONFLICT_POLICY_USE_EXISTING
		resp, err := s.svc().StartNexusOperationExecution(s.ctx(), r2)
		if err != nil || resp.RunId != runID || resp.Started {
			t.Fatalf("USE_EXISTING: %v, %v", resp, err)
		}
		// Once started, ending the handler workflow closes the operation.
		s.poll(t, req.OperationId, runID, enumspb.NEXUS_OPERATION_WAIT_STAGE_STARTED)
		if err := s.c.TerminateWorkflow(s.ctx(), in.ID, "", "cleanup"); err != nil {
			t.Fatal(err)
		}
		if p := s.poll(t, req.OperationId, runID, enumspb.NEXUS_OPERATION_WAIT_STAGE_CLOSED); p.GetFailure().GetTerminatedFailureInfo() == nil {
			t.Fatalf("after the handler workflow was terminated: %v", p)
		}
	})
}

// TestStandaloneNexusListCountDelete: list and count by query (with
// paging and GROUP BY ExecutionStatus); delete removes an operation.
func TestStandaloneNexusListCountDelete(t *testing.T) {
	s := newSNEnv(t)
	s.startWorker()
	var ids []string
	for i, op := range []string{"hello", "hello", "fails"} {
		req := s.request(t, "list-"+op+"-"+string(rune('a'+i))+"-"+s.tq, nexusTestService, op, "Ada")
		runID := s.start(t, req).RunId
		s.poll(t, req.OperationId, runID, enumspb.NEXUS_OPERATION_WAIT_STAGE_CLOSED)
		ids = append(ids, req.OperationId)
	}
	list := func(q string, size int32) []string {
		t.Helper()
		var out []string
		var token []byte
		for {
			resp, err := s.svc().ListNexusOperationExecutions(s.ctx(), &workflowservice.ListNexusOperationExecutionsRequest{
				Namespace: "default", Query: q, PageSize: size, NextPageToken: token})
			if err != nil {
				t.Fatalf("list %q: %v", q, err)
			}
			for _, o := range resp.Operations {
				if o.Endpoint != s.endpoint || o.Service != nexusTestService || o.CloseTime == nil || o.ExecutionDuration == nil {
					t.Errorf("list entry %v", o)
				}
				out = append(out, o.OperationId)
			}
			if token = resp.NextPageToken; len(token) == 0 {
				return out
			}
		}
	}
	if got := list("", 1); strings.Join(got, ",") != strings.Join([]string{ids[2], ids[1], ids[0]}, ",") {
		t.Fatalf("list all (pages of 1): %v, want newest first %v", got, ids)
	}
	if got := list("Operation = 'hello' AND ExecutionStatus = 'Completed'", 0); len(got) != 2 {
		t.Fatalf("completed hello operations: %v", got)
	}
	if got := list("ExecutionStatus = 'Failed' AND Endpoint = '"+s.endpoint+"'", 0); len(got) != 1 || got[0] != ids[2] {
		t.Fatalf("failed operations: %v", got)
	}
	cnt, err := s.svc().CountNexusOperationExecutions(s.ctx(), &workflowservice.CountNexusOperationExecutionsRequest{
		Namespace: "default", Query: "GROUP BY ExecutionStatus"})
	if err != nil || cnt.Count != 3 || len(cnt.Groups) != 2 {
		t.Fatalf("count by status: %v, %v", cnt, err)
	}
	for _, g := range cnt.Groups {
		var status string
		_ = converter.GetDefaultDataConverter().FromPayload(g.GroupValues[0], &status)
		if (status == "Completed" && g.Count != 2) || (status == "Failed" && g.Count != 1) || (status != "Completed" && status != "Failed") {
			t.Errorf("group %q: %d", status, g.Count)
		}
	}
	if _, err := s.svc().DeleteNexusOperationExecution(s.ctx(), &workflowservice.DeleteNexusOperationExecutionRequest{
		Namespace: "default", OperationId: ids[0]}); err != nil {
		t.Fatal(err)
	}
	_, err = s.svc().DescribeNexusOperationExecution(s.ctx(), &workflowservice.DescribeNexusOperationExecutionRequest{Namespace: "default", OperationId: ids[0]})
	snWantCode(t, "describe deleted", err, codes.NotFound, "not found")
	if got := list("", 0); len(got) != 2 {
		t.Fatalf("after delete: %v", got)
	}
	_, err = s.svc().DeleteNexusOperationExecution(s.ctx(), &workflowservice.DeleteNexusOperationExecutionRequest{Namespace: "default", OperationId: ids[0]})
	snWantCode(t, "delete twice", err, codes.NotFound, "not found")
}

// TestStandaloneNexusRestart: operations survive a server restart: one
// started asynchronously keeps its state and token and completes through
// its callback afterwards; one whose start was never taken by a handler
// is dispatched again; one whose handler workflow was terminated just
// before the restart hears of it (the live callback or the startup check
// of its handler); a deleted one stays deleted.
func TestStandaloneNexusRestart(t *testing.T) {
	s := newSNEnv(t)
	w := s.startWorker()
	inWait := asyncIn{ID: "sn-restart-wait-" + s.tq, Mode: "wait"}
	waitReq := s.request(t, "restart-wait-"+s.tq, nexusAsyncService, "run", inWait)
	waitRun := s.start(t, waitReq).RunId
	before := s.poll(t, waitReq.OperationId, waitRun, enumspb.NEXUS_OPERATION_WAIT_STAGE_STARTED)
	inDown := asyncIn{ID: "sn-restart-down-" + s.tq, Mode: "wait"}
	downReq := s.request(t, "restart-down-"+s.tq, nexusAsyncService, "run", inDown)
	downRun := s.start(t, downReq).RunId
	s.poll(t, downReq.OperationId, downRun, enumspb.NEXUS_OPERATION_WAIT_STAGE_STARTED)
	delReq := s.request(t, "restart-deleted-"+s.tq, nexusTestService, "hello", "Ada")
	delRun := s.start(t, delReq).RunId
	s.poll(t, delReq.OperationId, delRun, enumspb.NEXUS_OPERATION_WAIT_STAGE_CLOSED)
	if _, err := s.svc().DeleteNexusOperationExecution(s.ctx(), &workflowservice.DeleteNexusOperationExecutionRequest{
		Namespace: "default", OperationId: delReq.OperationId}); err != nil {
		t.Fatal(err)
	}
	w.Stop()
	// Queued with no handler polling, then the server restarts.
	queuedReq := s.request(t, "restart-queued-"+s.tq, nexusTestService, "hello", "Queued")
	queuedRun := s.start(t, queuedReq).RunId
	if err := s.c.TerminateWorkflow(s.ctx(), inDown.ID, "", "done"); err != nil {
		t.Fatal(err)
	}
	s.restart()

	d := s.describe(t, waitReq.OperationId, waitRun)
	if d.Info.State != enumspb.PENDING_NEXUS_OPERATION_STATE_STARTED || d.Info.OperationToken != before.OperationToken || d.Info.RequestId == "" {
		t.Fatalf("after restart %v", d)
	}
	if q := s.describe(t, queuedReq.OperationId, queuedRun); q.Info.Status != enumspb.NEXUS_OPERATION_EXECUTION_STATUS_RUNNING ||
		q.Info.State != enumspb.PENDING_NEXUS_OPERATION_STATE_SCHEDULED {
		t.Fatalf("queued after restart %v", q)
	}
	_, err := s.svc().DescribeNexusOperationExecution(s.ctx(), &workflowservice.DescribeNexusOperationExecutionRequest{Namespace: "default", OperationId: delReq.OperationId})
	snWantCode(t, "deleted after restart", err, codes.NotFound, "not found")
	p := s.poll(t, downReq.OperationId, downRun, enumspb.NEXUS_OPERATION_WAIT_STAGE_CLOSED)
	if p.GetFailure().GetTerminatedFailureInfo() == nil {
		t.Fatalf("operation whose handler was terminated: %v", p)
	}

	s.startWorker()
	if got := snResult(t, s.poll(t, queuedReq.OperationId, queuedRun, enumspb.NEXUS_OPERATION_WAIT_STAGE_CLOSED).GetResult()); got != "Hello, Queued" {
		t.Fatalf("queued operation result %q", got)
	}
	if err := s.c.SignalWorkflow(s.ctx(), inWait.ID, "", "finish", "after restart"); err != nil {
		t.Fatal(err)
	}
	if got := snResult(t, s.poll(t, waitReq.OperationId, waitRun, enumspb.NEXUS_OPERATION_WAIT_STAGE_CLOSED).GetResult()); got != "Finished after restart" {
		t.Fatalf("result after restart %q", got)
	}
	// Closed state is durable too.
	s.restart()
	if d := s.describe(t, waitReq.OperationId, waitRun); d.Info.Status != enumspb.NEXUS_OPERATION_EXECUTION_STATUS_COMPLETED ||
		snResult(t, d.GetResult()) != "Finished after restart" {
		t.Fatalf("after the second restart %v", d)
	}
	if d := s.describe(t, downReq.OperationId, downRun); d.Info.Status != enumspb.NEXUS_OPERATION_EXECUTION_STATUS_FAILED {
		t.Fatalf("terminated handler's operation after the second restart: %v", d.Info.Status)
	}
}

// TestStandaloneNexusPostgresRestart: on the PostgreSQL store, a started
// asynchronous operation survives a restart and completes through its
// callback afterwards.
func TestStandaloneNexusPostgresRestart(t *testing.T) {
	e, _, restart := newPGEnv(t)
	ep := nexusEndpoint(t, e, "standalone-endpoint")
	s := &snEnv{env: e, endpoint: ep.Spec.Name}
	w := s.startWorker()
	in := asyncIn{ID: "sn-pg-" + s.tq, Mode: "wait"}
	req := s.request(t, "pg-op-"+s.tq, nexusAsyncService, "run", in)
	runID := s.start(t, req).RunId
	before := s.poll(t, req.OperationId, runID, enumspb.NEXUS_OPERATION_WAIT_STAGE_STARTED)
	w.Stop()
	restart()
	if d := s.describe(t, req.OperationId, runID); d.Info.State != enumspb.PENDING_NEXUS_OPERATION_STATE_STARTED || d.Info.OperationToken != before.OperationToken {
		t.Fatalf("after restart %v", d)
	}
	s.startWorker()
	if err := s.c.SignalWorkflow(s.ctx(), in.ID, "", "finish", "on postgres"); err != nil {
		t.Fatal(err)
	}
	if got := snResult(t, s.poll(t, req.OperationId, runID, enumspb.NEXUS_OPERATION_WAIT_STAGE_CLOSED).GetResult()); got != "Finished on postgres" {
		t.Fatalf("result %q", got)
	}
}
