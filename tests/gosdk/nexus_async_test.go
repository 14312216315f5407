package gosdk

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nexus-rpc/sdk-go/nexus"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/temporalnexus"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

const nexusAsyncService = "async-greeter"

// asyncIn tells the handler workflow what to do: "ok" answers at once,
// "fail" fails, "wait" waits for the "finish" signal (or its cancellation).
type asyncIn struct {
	ID, Mode, Name string
	// UseExisting: a running handler workflow with ID is reused (its
	// completion callbacks are attached to it).
	UseExisting bool
}

func nexusAsyncHandlerWF(ctx workflow.Context, in asyncIn) (string, error) {
	switch in.Mode {
	case "ok":
		return "Hello, " + in.Name, nil
	case "fail":
		return "", temporal.NewApplicationError("no greeting for "+in.Name, "NoGreeting")
	}
	var s string
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(workflow.GetSignalChannel(ctx, "finish"), func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &s) })
	sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
	sel.Select(ctx)
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	return "Finished " + s, nil
}

var nexusRunOp = temporalnexus.NewWorkflowRunOperation("run", nexusAsyncHandlerWF,
	func(ctx context.Context, in asyncIn, _ nexus.StartOperationOptions) (client.StartWorkflowOptions, error) {
		o := client.StartWorkflowOptions{ID: in.ID}
		if in.UseExisting {
			o.WorkflowIDConflictPolicy = enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
		}
		return o, nil
	})

// nexusAsyncCaller runs the workflow-run operation; with cancel set it
// cancels the operation once it has started.
func nexusAsyncCaller(ctx workflow.Context, endpoint string, in asyncIn, timeout time.Duration, cancel bool) (string, error) {
	c := workflow.NewNexusClient(endpoint, nexusAsyncService)
	cctx, cancelFn := workflow.WithCancel(ctx)
	fut := c.ExecuteOperation(cctx, "run", in, workflow.NexusOperationOptions{ScheduleToCloseTimeout: timeout})
	if cancel {
		var ex workflow.NexusOperationExecution
		if err := fut.GetNexusOperationExecution().Get(ctx, &ex); err != nil {
			return "", err
		}
		cancelFn()
	}
	var out string
	err := fut.Get(ctx, &out)
	return out, err
}

// nexusTypes is the sequence of Nexus operation events of a history.
func nexusTypes(evs []*historypb.HistoryEvent) []string {
	var out []string
	for _, ev := range evs {
		if s := enumspb.EventType_name[int32(ev.EventType)]; strings.HasPrefix(s, "EVENT_TYPE_NEXUS_OPERATION_") {
			out = append(out, strings.TrimPrefix(s, "EVENT_TYPE_NEXUS_OPERATION_"))
		}
	}
	return out
}

func wantNexusTypes(t *testing.T, evs []*historypb.HistoryEvent, want ...string) {
	t.Helper()
	if got := nexusTypes(evs); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("Nexus events %v, want %v (history %v)", got, want, types(evs))
	}
}

type asyncEnv struct {
	*env
	endpoint string
}

func newAsyncEnv(t *testing.T) *asyncEnv {
	e := newEnv(t)
	ep := nexusEndpoint(t, e, "async-endpoint")
	return &asyncEnv{env: e, endpoint: ep.Spec.Name}
}

func (a *asyncEnv) startWorker() worker.Worker {
	svc := nexus.NewService(nexusAsyncService)
	svc.MustRegister(nexusRunOp)
	return a.worker(func(w worker.Worker) {
		w.RegisterWorkflow(nexusAsyncCaller)
		w.RegisterWorkflow(nexusAsyncHandlerWF)
		w.RegisterNexusService(svc)
	})
}

func (a *asyncEnv) startCaller(t *testing.T, in asyncIn, timeout time.Duration, cancel bool) client.WorkflowRun {
	t.Helper()
	r, err := a.c.ExecuteWorkflow(a.ctx(), a.opts("caller-"+in.Mode), nexusAsyncCaller, a.endpoint, in, timeout, cancel)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// waitStarted waits until the caller's operation is STARTED in Describe.
func (a *asyncEnv) waitStarted(t *testing.T, r client.WorkflowRun) *workflowpb.PendingNexusOperationInfo {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		d, err := a.c.DescribeWorkflowExecution(a.ctx(), r.GetID(), r.GetRunID())
		if err != nil {
			t.Fatal(err)
		}
		if ops := d.PendingNexusOperations; len(ops) == 1 && ops[0].State == enumspb.PENDING_NEXUS_OPERATION_STATE_STARTED {
			return ops[0]
		}
	}
	t.Fatal("the Nexus operation never reached STARTED")
	return nil
}

// TestNexusAsyncOperations: workflow-run operations (the handler starts a
// workflow that carries the caller's completion callback) through the Go
// SDK on both sides: success, failure, cancellation by the caller, the
// handler workflow terminated, and the schedule-to-close timeout while the
// operation is started.
func TestNexusAsyncOperations(t *testing.T) {
	a := newAsyncEnv(t)
	a.startWorker()

	t.Run("Success", func(t *testing.T) {
		in := asyncIn{ID: "handler-ok-" + a.tq, Mode: "ok", Name: "Ada"}
		r := a.startCaller(t, in, time.Minute, false)
		var out string
		if err := r.Get(a.ctx(), &out); err != nil || out != "Hello, Ada" {
			t.Fatalf("result %q, %v", out, err)
		}
		evs := a.history(r.GetID(), r.GetRunID())
		requireWellFormed(t, evs)
		wantNexusTypes(t, evs, "SCHEDULED", "STARTED", "COMPLETED")
		sched := findEvent(evs, enumspb.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED)
		started := findEvent(evs, enumspb.EVENT_TYPE_NEXUS_OPERATION_STARTED)
		sa := started.GetNexusOperationStartedEventAttributes()
		if sa.ScheduledEventId != sched.EventId || sa.OperationToken == "" || sa.RequestId != sched.GetNexusOperationScheduledEventAttributes().RequestId {
			t.Fatalf("started attributes %v", sa)
		}
		if len(started.Links) != 1 || started.Links[0].GetWorkflowEvent().GetWorkflowId() != in.ID {
			t.Fatalf("started event links %v: want a link to the handler workflow %s", started.Links, in.ID)
		}
		done := findEvent(evs, enumspb.EVENT_TYPE_NEXUS_OPERATION_COMPLETED).GetNexusOperationCompletedEventAttributes()
		if done.ScheduledEventId != sched.EventId || !strings.Contains(string(done.Result.GetData()), "Hello, Ada") {
			t.Fatalf("completed attributes %v", done)
		}

		// The handler workflow carries the callback and links back to the caller.
		hevs := a.history(in.ID, "")
		hs := hevs[0]
		cbs := hs.GetWorkflowExecutionStartedEventAttributes().CompletionCallbacks
		if len(cbs) != 1 || cbs[0].GetNexus().GetUrl() != "temporal://system" {
			t.Fatalf("handler completion callbacks %v", cbs)
		}
		var callerLink *commonpb.Link_WorkflowEvent
		for _, l := range append(append([]*commonpb.Link(nil), hs.Links...), cbs[0].Links...) {
			if we := l.GetWorkflowEvent(); we.GetWorkflowId() == r.GetID() {
				callerLink = we
			}
		}
		if callerLink == nil || callerLink.RunId != r.GetRunID() || callerLink.GetEventRef().GetEventId() != sched.EventId ||
			callerLink.GetEventRef().GetEventType() != enumspb.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED {
			t.Fatalf("handler started event links %v / callback links %v: want one to the caller's scheduled event", hs.Links, cbs[0].Links)
		}
	})

	t.Run("Failure", func(t *testing.T) {
		in := asyncIn{ID: "handler-fail-" + a.tq, Mode: "fail", Name: "Ada"}
		r := a.startCaller(t, in, time.Minute, false)
		err := r.Get(a.ctx(), nil)
		var nerr *temporal.NexusOperationError
		var aerr *temporal.ApplicationError
		if !errors.As(err, &nerr) || !errors.As(err, &aerr) || aerr.Type() != "NoGreeting" || !strings.Contains(aerr.Error(), "no greeting for Ada") {
			t.Fatalf("error %v; want a NexusOperationError caused by the handler workflow's ApplicationError", err)
		}
		evs := a.history(r.GetID(), r.GetRunID())
		wantNexusTypes(t, evs, "SCHEDULED", "STARTED", "FAILED")
		f := findEvent(evs, enumspb.EVENT_TYPE_NEXUS_OPERATION_FAILED).GetNexusOperationFailedEventAttributes().Failure
		if f.GetNexusOperationExecutionFailureInfo().GetOperationToken() == "" || f.GetCause().GetApplicationFailureInfo().GetType() != "NoGreeting" {
			t.Fatalf("failure %v", f)
		}
	})

	t.Run("CallerCancels", func(t *testing.T) {
		in := asyncIn{ID: "handler-cancel-" + a.tq, Mode: "wait"}
		r := a.startCaller(t, in, time.Minute, true)
		err := r.Get(a.ctx(), nil)
		var cerr *temporal.CanceledError
		if !errors.As(err, &cerr) {
			t.Fatalf("error %v; want the operation's CanceledError (caller history %v, handler history %v)", err,
				types(a.history(r.GetID(), r.GetRunID())), types(a.history(in.ID, "")))
		}
		evs := a.history(r.GetID(), r.GetRunID())
		requireWellFormed(t, evs)
		// The handler's answer to the cancel task and the handler workflow's
		// cancellation race: when the operation is canceled first, the late
		// answer finds no operation and records nothing, as in Temporal.
		if got := strings.Join(nexusTypes(evs), ","); got == "SCHEDULED,STARTED,CANCEL_REQUESTED,CANCELED" {
			t.Logf("the operation was canceled before the cancel request's answer came back")
		} else {
			wantNexusTypes(t, evs, "SCHEDULED", "STARTED", "CANCEL_REQUESTED", "CANCEL_REQUEST_COMPLETED", "CANCELED")
			if ev := findEvent(evs, enumspb.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUEST_COMPLETED); !ev.WorkerMayIgnore {
				t.Errorf("cancel request completed event not marked worker_may_ignore")
			}
		}
		d, err := a.c.DescribeWorkflowExecution(a.ctx(), in.ID, "")
		if err != nil || d.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED {
			t.Fatalf("handler workflow: %v, %v; want it canceled", d.GetWorkflowExecutionInfo().GetStatus(), err)
		}
	})

	t.Run("HandlerTerminated", func(t *testing.T) {
		in := asyncIn{ID: "handler-term-" + a.tq, Mode: "wait"}
		r := a.startCaller(t, in, time.Minute, false)
		p := a.waitStarted(t, r)
		if p.OperationToken == "" || p.Operation != "run" || p.Endpoint != a.endpoint {
			t.Fatalf("pending operation %v", p)
		}
		if err := a.c.TerminateWorkflow(a.ctx(), in.ID, "", "stop it"); err != nil {
			t.Fatal(err)
		}
		err := r.Get(a.ctx(), nil)
		var nerr *temporal.NexusOperationError
		var terr *temporal.TerminatedError
		if !errors.As(err, &nerr) || !errors.As(err, &terr) {
			t.Fatalf("error %v; want a NexusOperationError caused by a TerminatedError", err)
		}
		evs := a.history(r.GetID(), r.GetRunID())
		wantNexusTypes(t, evs, "SCHEDULED", "STARTED", "FAILED")
		f := findEvent(evs, enumspb.EVENT_TYPE_NEXUS_OPERATION_FAILED).GetNexusOperationFailedEventAttributes().Failure
		if f.GetCause().GetTerminatedFailureInfo() == nil || strings.Contains(f.GetCause().GetMessage(), "stop it") {
			t.Fatalf("failure %v: want a terminated cause without the reason", f)
		}
	})

	t.Run("AttachToRunning", func(t *testing.T) {
		in := asyncIn{ID: "handler-shared-" + a.tq, Mode: "wait", UseExisting: true}
		r1 := a.startCaller(t, in, time.Minute, false)
		a.waitStarted(t, r1)
		r2 := a.startCaller(t, in, time.Minute, false)
		a.waitStarted(t, r2)
		if err := a.c.SignalWorkflow(a.ctx(), in.ID, "", "finish", "both"); err != nil {
			t.Fatal(err)
		}
		for _, r := range []client.WorkflowRun{r1, r2} {
			var out string
			if err := r.Get(a.ctx(), &out); err != nil || out != "Finished both" {
				t.Fatalf("caller %s: %q, %v", r.GetID(), out, err)
			}
			wantNexusTypes(t, a.history(r.GetID(), r.GetRunID()), "SCHEDULED", "STARTED", "COMPLETED")
		}
		hevs := a.history(in.ID, "")
		upd := findEvent(hevs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED)
		if upd == nil || len(upd.GetWorkflowExecutionOptionsUpdatedEventAttributes().AttachedCompletionCallbacks) != 1 ||
			upd.GetWorkflowExecutionOptionsUpdatedEventAttributes().AttachedRequestId == "" {
			t.Fatalf("handler history %v: want the second caller's callback attached", types(hevs))
		}
	})

	t.Run("TimeoutWhileStarted", func(t *testing.T) {
		in := asyncIn{ID: "handler-slow-" + a.tq, Mode: "wait"}
		r := a.startCaller(t, in, 3*time.Second, false)
		err := r.Get(a.ctx(), nil)
		var terr *temporal.TimeoutError
		if !errors.As(err, &terr) || terr.TimeoutType() != enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE {
			t.Fatalf("error %v; want a schedule-to-close TimeoutError", err)
		}
		evs := a.history(r.GetID(), r.GetRunID())
		wantNexusTypes(t, evs, "SCHEDULED", "STARTED", "TIMED_OUT")
		// The handler workflow is left running, as in Temporal; finishing
		// it later changes nothing for the caller.
		if err := a.c.SignalWorkflow(a.ctx(), in.ID, "", "finish", "late"); err != nil {
			t.Fatal(err)
		}
		if err := a.c.GetWorkflow(a.ctx(), in.ID, "").Get(a.ctx(), nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		wantNexusTypes(t, a.history(r.GetID(), r.GetRunID()), "SCHEDULED", "STARTED", "TIMED_OUT")
	})
}

// TestNexusAsyncRestart: an operation started before a server restart is
// still STARTED afterwards (Describe shows it with its token, and its
// cancellation info once requested), and the handler workflow's completion
// is delivered once after the restart.
func TestNexusAsyncRestart(t *testing.T) {
	a := newAsyncEnv(t)
	w := a.startWorker()
	in := asyncIn{ID: "handler-restart-" + a.tq, Mode: "wait"}
	r := a.startCaller(t, in, time.Minute, false)
	before := a.waitStarted(t, r)
	w.Stop()
	a.restart()
	d, err := a.c.DescribeWorkflowExecution(a.ctx(), r.GetID(), r.GetRunID())
	if err != nil || len(d.PendingNexusOperations) != 1 {
		t.Fatalf("describe after restart: %v, %v", d, err)
	}
	if p := d.PendingNexusOperations[0]; p.State != enumspb.PENDING_NEXUS_OPERATION_STATE_STARTED || p.OperationToken != before.OperationToken {
		t.Fatalf("pending after restart %v, before %v", p, before)
	}
	a.startWorker()
	if err := a.c.SignalWorkflow(a.ctx(), in.ID, "", "finish", "after restart"); err != nil {
		t.Fatal(err)
	}
	var out string
	if err := a.c.GetWorkflow(a.ctx(), r.GetID(), r.GetRunID()).Get(a.ctx(), &out); err != nil || out != "Finished after restart" {
		t.Fatalf("result %q, %v", out, err)
	}
	time.Sleep(300 * time.Millisecond)
	evs := a.history(r.GetID(), r.GetRunID())
	requireWellFormed(t, evs)
	wantNexusTypes(t, evs, "SCHEDULED", "STARTED", "COMPLETED")
}

// TestNexusAsyncCompletedWhileDown: the handler workflow closes while
// the caller's worker is away and the server restarts before the caller
// sees it; the outcome is delivered exactly once (by the live callback or
// by the recovered caller's check of its handler, whichever comes first).
func TestNexusAsyncCompletedWhileDown(t *testing.T) {
	a := newAsyncEnv(t)
	w := a.startWorker()
	in := asyncIn{ID: "handler-down-" + a.tq, Mode: "wait"}
	r := a.startCaller(t, in, time.Minute, false)
	a.waitStarted(t, r)
	w.Stop()
	// Finish the handler workflow with a plain client (no worker needed):
	// terminate it, then restart at once.
	if err := a.c.TerminateWorkflow(a.ctx(), in.ID, "", "done"); err != nil {
		t.Fatal(err)
	}
	a.restart()
	a.startWorker()
	err := a.c.GetWorkflow(a.ctx(), r.GetID(), r.GetRunID()).Get(a.ctx(), nil)
	var terr *temporal.TerminatedError
	if !errors.As(err, &terr) {
		t.Fatalf("error %v; want the operation failed by the handler's termination", err)
	}
	time.Sleep(300 * time.Millisecond)
	evs := a.history(r.GetID(), r.GetRunID())
	requireWellFormed(t, evs)
	wantNexusTypes(t, evs, "SCHEDULED", "STARTED", "FAILED")
}

// TestStartWorkflowCallbacksValidation: completion callbacks must be Nexus
// callbacks with temporal://system or an http(s) URL.
func TestStartWorkflowCallbacksValidation(t *testing.T) {
	e := newEnv(t)
	start := func(url string) error {
		_, err := e.c.WorkflowService().StartWorkflowExecution(e.ctx(), startRequestWithCallback(e, url))
		return err
	}
	if err := start("ftp://example.com/x"); err == nil || !strings.Contains(err.Error(), "CompletionCallbacks[0].Nexus.Url") {
		t.Fatalf("ftp callback: %v", err)
	}
	if err := start("temporal://system"); err != nil {
		t.Fatalf("system callback: %v", err)
	}
}

func startRequestWithCallback(e *env, url string) *workflowservice.StartWorkflowExecutionRequest {
	return &workflowservice.StartWorkflowExecutionRequest{
		Namespace: "default", WorkflowId: "cb-" + uuid.NewString()[:8], RequestId: uuid.NewString(),
		WorkflowType: &commonpb.WorkflowType{Name: "nothing"}, TaskQueue: &taskqueuepb.TaskQueue{Name: e.tq},
		CompletionCallbacks: []*commonpb.Callback{{Variant: &commonpb.Callback_Nexus_{Nexus: &commonpb.Callback_Nexus{Url: url}}}},
	}
}

func nexusCallbackEchoWF(ctx workflow.Context, fail bool) (string, error) {
	if fail {
		return "", temporal.NewNonRetryableApplicationError("echo failed", "EchoFailed", nil)
	}
	return "echoed", nil
}

// TestNexusCallbackHTTP: a completion callback with an http URL gets the
// run's outcome POSTed in the Nexus completion format, with the
// callback's headers; a 503 answer is retried.
func TestNexusCallbackHTTP(t *testing.T) {
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(nexusCallbackEchoWF) })
	type got struct {
		header http.Header
		body   string
	}
	calls := make(chan got, 4)
	ln, err := net.Listen("tcp", "127.0.0.1:17450")
	if err != nil {
		t.Skipf("port 17450 busy: %v", err)
	}
	var posts atomic.Int32
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if posts.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable) // the first POST is retried
			return
		}
		calls <- got{r.Header, string(b)}
	})}
	go srv.Serve(ln)
	defer srv.Close()

	for _, fail := range []bool{false, true} {
		in, err := converter.GetDefaultDataConverter().ToPayloads(fail)
		if err != nil {
			t.Fatal(err)
		}
		req := startRequestWithCallback(e, "http://127.0.0.1:17450/callback")
		req.WorkflowType.Name = "nexusCallbackEchoWF"
		req.Input = in
		req.CompletionCallbacks[0].GetNexus().Header = map[string]string{"x-caller-token": "abc"}
		if _, err := e.c.WorkflowService().StartWorkflowExecution(e.ctx(), req); err != nil {
			t.Fatal(err)
		}
		select {
		case c := <-calls:
			if c.header.Get("X-Caller-Token") != "abc" || c.header.Get("Nexus-Link") == "" {
				t.Errorf("headers %v", c.header)
			}
			state := c.header.Get("Nexus-Operation-State")
			if !fail && (state != "succeeded" || c.body != `"echoed"` || c.header.Get("Content-Type") != "application/json") {
				t.Errorf("success callback: state %q body %q headers %v", state, c.body, c.header)
			}
			if fail && (state != "failed" || !strings.Contains(c.body, "echo failed") || !strings.Contains(c.body, "EchoFailed")) {
				t.Errorf("failure callback: state %q body %q", state, c.body)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("no callback POST (fail=%v)", fail)
		}
	}
}
