package gosdk

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/errordetails/v1"
	failurepb "go.temporal.io/api/failure/v1"
	querypb "go.temporal.io/api/query/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sundial-io/sundial/internal/tasktoken"
)

// Error behaviour of the raw WorkflowService API: exact gRPC codes, the
// Temporal error detail types the SDKs switch on, and messages that name
// the offending field. All subtests share one server; the last one checks
// that it still serves after all the bad requests.

// erSvc dials the env's server without the SDK (no retries, no error
// rewriting).
func erSvc(t *testing.T, e *env) workflowservice.WorkflowServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(e.srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return workflowservice.NewWorkflowServiceClient(conn)
}

func erCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// erExpect checks err's gRPC code and that its message contains every
// string in want (case-insensitive). It returns the converted service error.
func erExpect(t *testing.T, what string, err error, code codes.Code, want ...string) error {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %v", what, code)
	}
	st := status.Convert(err)
	if st.Code() != code {
		t.Fatalf("%s: code %v (%q), want %v", what, st.Code(), st.Message(), code)
	}
	for _, w := range want {
		if !strings.Contains(strings.ToLower(st.Message()), strings.ToLower(w)) {
			t.Fatalf("%s: message %q does not mention %q", what, st.Message(), w)
		}
	}
	return serviceerror.FromStatus(st)
}

func erStartReq(id, tq string) *workflowservice.StartWorkflowExecutionRequest {
	return &workflowservice.StartWorkflowExecutionRequest{
		Namespace: "default", WorkflowId: id, WorkflowType: &commonpb.WorkflowType{Name: "HelloWorkflow"},
		TaskQueue: &taskqueuepb.TaskQueue{Name: tq}, RequestId: uuid.NewString(), Identity: "errors-test",
	}
}

func TestErrors(t *testing.T) {
	e := newEnv(t)
	svc := erSvc(t, e)
	ctx := func() context.Context { return erCtx(t, 10*time.Second) }
	idleTQ := e.tq + "-idle" // no worker ever polls it

	t.Run("UnknownNamespace", func(t *testing.T) {
		ns := "no-such-namespace-" + uuid.NewString()[:6]
		check := func(what string, err error) {
			t.Helper()
			se := erExpect(t, what, err, codes.NotFound, ns)
			nf, ok := se.(*serviceerror.NamespaceNotFound)
			if !ok {
				t.Fatalf("%s: error type %T, want *serviceerror.NamespaceNotFound", what, se)
			}
			if nf.Namespace != ns {
				t.Fatalf("%s: NamespaceNotFound.Namespace %q", what, nf.Namespace)
			}
			var found bool
			for _, d := range status.Convert(err).Details() {
				if _, ok := d.(*errordetails.NamespaceNotFoundFailure); ok {
					found = true
				}
			}
			if !found {
				t.Fatalf("%s: no NamespaceNotFoundFailure detail: %v", what, status.Convert(err).Details())
			}
		}
		r := erStartReq("wf", idleTQ)
		r.Namespace = ns
		_, err := svc.StartWorkflowExecution(ctx(), r)
		check("StartWorkflowExecution", err)
		_, err = svc.SignalWorkflowExecution(ctx(), &workflowservice.SignalWorkflowExecutionRequest{Namespace: ns, WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: "wf"}, SignalName: "s"})
		check("SignalWorkflowExecution", err)
		_, err = svc.DescribeWorkflowExecution(ctx(), &workflowservice.DescribeWorkflowExecutionRequest{Namespace: ns, Execution: &commonpb.WorkflowExecution{WorkflowId: "wf"}})
		check("DescribeWorkflowExecution", err)
		_, err = svc.PollWorkflowTaskQueue(ctx(), &workflowservice.PollWorkflowTaskQueueRequest{Namespace: ns, TaskQueue: &taskqueuepb.TaskQueue{Name: idleTQ}})
		check("PollWorkflowTaskQueue", err)
		_, err = svc.PollActivityTaskQueue(ctx(), &workflowservice.PollActivityTaskQueueRequest{Namespace: ns, TaskQueue: &taskqueuepb.TaskQueue{Name: idleTQ}})
		check("PollActivityTaskQueue", err)
		_, err = svc.DescribeNamespace(ctx(), &workflowservice.DescribeNamespaceRequest{Namespace: ns})
		check("DescribeNamespace", err)
	})

	t.Run("AlreadyStarted", func(t *testing.T) {
		id := "er-dup-" + uuid.NewString()[:8]
		first := erStartReq(id, idleTQ)
		resp, err := svc.StartWorkflowExecution(ctx(), first)
		if err != nil {
			t.Fatal(err)
		}
		// The same request again (same request id) is idempotent.
		again, err := svc.StartWorkflowExecution(ctx(), first)
		if err != nil {
			t.Fatalf("retried start: %v", err)
		}
		if again.RunId != resp.RunId {
			t.Fatalf("retried start gave run %s, want %s", again.RunId, resp.RunId)
		}
		second := erStartReq(id, idleTQ)
		_, err = svc.StartWorkflowExecution(ctx(), second)
		se := erExpect(t, "second start", err, codes.AlreadyExists)
		as, ok := se.(*serviceerror.WorkflowExecutionAlreadyStarted)
		if !ok {
			t.Fatalf("error type %T, want *serviceerror.WorkflowExecutionAlreadyStarted", se)
		}
		if as.RunId != resp.RunId {
			t.Fatalf("AlreadyStarted.RunId %q, want %q", as.RunId, resp.RunId)
		}
		if as.StartRequestId != first.RequestId {
			t.Errorf("AlreadyStarted.StartRequestId %q, want %q", as.StartRequestId, first.RequestId)
		}
		// Signal-with-start does not conflict; it signals the running one.
		sws, err := svc.SignalWithStartWorkflowExecution(ctx(), &workflowservice.SignalWithStartWorkflowExecutionRequest{
			Namespace: "default", WorkflowId: id, WorkflowType: &commonpb.WorkflowType{Name: "HelloWorkflow"},
			TaskQueue: &taskqueuepb.TaskQueue{Name: idleTQ}, SignalName: "s", RequestId: uuid.NewString(),
		})
		if err != nil {
			t.Fatalf("signal-with-start on a running id: %v", err)
		}
		if sws.RunId != resp.RunId || sws.Started {
			t.Fatalf("signal-with-start: run %s started=%v, want run %s not started", sws.RunId, sws.Started, resp.RunId)
		}
	})

	t.Run("MalformedTaskTokens", func(t *testing.T) {
		wrongKind := (&tasktoken.Token{Kind: tasktoken.Query, Namespace: "default", WorkflowID: "w", RunID: "r", QueryID: "q"}).Encode()
		tokens := map[string][]byte{
			"nil":        nil,
			"empty":      {},
			"garbage":    []byte("this is not a task token"),
			"binary":     {0xff, 0x00, 0x13, 0x37, 0xde, 0xad},
			"truncated":  (&tasktoken.Token{Kind: tasktoken.Activity, Namespace: "default", WorkflowID: "w", RunID: "r", ScheduledEventID: 5}).Encode()[:6],
			"wrong kind": wrongKind,
		}
		for name, tok := range tokens {
			_, err := svc.RespondWorkflowTaskCompleted(ctx(), &workflowservice.RespondWorkflowTaskCompletedRequest{Namespace: "default", TaskToken: tok})
			erExpect(t, "RespondWorkflowTaskCompleted/"+name, err, codes.InvalidArgument)
			_, err = svc.RespondWorkflowTaskFailed(ctx(), &workflowservice.RespondWorkflowTaskFailedRequest{Namespace: "default", TaskToken: tok})
			erExpect(t, "RespondWorkflowTaskFailed/"+name, err, codes.InvalidArgument)
			_, err = svc.RespondActivityTaskCompleted(ctx(), &workflowservice.RespondActivityTaskCompletedRequest{Namespace: "default", TaskToken: tok})
			erExpect(t, "RespondActivityTaskCompleted/"+name, err, codes.InvalidArgument)
			_, err = svc.RespondActivityTaskFailed(ctx(), &workflowservice.RespondActivityTaskFailedRequest{Namespace: "default", TaskToken: tok, Failure: &failurepb.Failure{Message: "x"}})
			erExpect(t, "RespondActivityTaskFailed/"+name, err, codes.InvalidArgument)
			_, err = svc.RespondActivityTaskCanceled(ctx(), &workflowservice.RespondActivityTaskCanceledRequest{Namespace: "default", TaskToken: tok})
			erExpect(t, "RespondActivityTaskCanceled/"+name, err, codes.InvalidArgument)
			_, err = svc.RecordActivityTaskHeartbeat(ctx(), &workflowservice.RecordActivityTaskHeartbeatRequest{Namespace: "default", TaskToken: tok})
			erExpect(t, "RecordActivityTaskHeartbeat/"+name, err, codes.InvalidArgument)
			if name != "wrong kind" {
				_, err = svc.RespondQueryTaskCompleted(ctx(), &workflowservice.RespondQueryTaskCompletedRequest{Namespace: "default", TaskToken: tok})
				erExpect(t, "RespondQueryTaskCompleted/"+name, err, codes.InvalidArgument)
			}
		}
	})

	t.Run("ForgedTaskTokens", func(t *testing.T) {
		// A token for a workflow that does not exist.
		ghost := tasktoken.Token{Namespace: "default", WorkflowID: "no-such-workflow-" + uuid.NewString()[:6], RunID: uuid.NewString(), ScheduledEventID: 2, StartedEventID: 3, Attempt: 1}
		wft, act := ghost, ghost
		wft.Kind, act.Kind = tasktoken.Workflow, tasktoken.Activity
		act.StartedEventID = 0
		_, err := svc.RespondWorkflowTaskCompleted(ctx(), &workflowservice.RespondWorkflowTaskCompletedRequest{Namespace: "default", TaskToken: wft.Encode()})
		erExpect(t, "RespondWorkflowTaskCompleted/ghost", err, codes.NotFound)
		_, err = svc.RespondActivityTaskCompleted(ctx(), &workflowservice.RespondActivityTaskCompletedRequest{Namespace: "default", TaskToken: act.Encode()})
		erExpect(t, "RespondActivityTaskCompleted/ghost", err, codes.NotFound)
		_, err = svc.RecordActivityTaskHeartbeat(ctx(), &workflowservice.RecordActivityTaskHeartbeatRequest{Namespace: "default", TaskToken: act.Encode()})
		erExpect(t, "RecordActivityTaskHeartbeat/ghost", err, codes.NotFound)
		q := tasktoken.Token{Kind: tasktoken.Query, Namespace: "default", WorkflowID: "w", RunID: "r", QueryID: uuid.NewString()}
		_, err = svc.RespondQueryTaskCompleted(ctx(), &workflowservice.RespondQueryTaskCompletedRequest{Namespace: "default", TaskToken: q.Encode(), CompletedType: enumspb.QUERY_RESULT_TYPE_ANSWERED})
		erExpect(t, "RespondQueryTaskCompleted/ghost", err, codes.NotFound)

		// A real workflow driven by hand: tokens with wrong ids, and real
		// tokens used twice.
		tq := e.tq + "-manual"
		id := "er-forged-" + uuid.NewString()[:8]
		start, err := svc.StartWorkflowExecution(ctx(), erStartReq(id, tq))
		if err != nil {
			t.Fatal(err)
		}
		poll, err := svc.PollWorkflowTaskQueue(ctx(), &workflowservice.PollWorkflowTaskQueueRequest{Namespace: "default", TaskQueue: &taskqueuepb.TaskQueue{Name: tq}, Identity: "manual"})
		if err != nil || len(poll.TaskToken) == 0 {
			t.Fatalf("poll: %v", err)
		}
		real, err := tasktoken.Decode(poll.TaskToken)
		if err != nil {
			t.Fatal(err)
		}
		for name, mod := range map[string]func(tk *tasktoken.Token){
			"wrong scheduled id": func(tk *tasktoken.Token) { tk.ScheduledEventID += 7 },
			"wrong started id":   func(tk *tasktoken.Token) { tk.StartedEventID += 7 },
			"wrong run id":       func(tk *tasktoken.Token) { tk.RunID = uuid.NewString() },
		} {
			tk := *real
			mod(&tk)
			_, err := svc.RespondWorkflowTaskCompleted(ctx(), &workflowservice.RespondWorkflowTaskCompletedRequest{Namespace: "default", TaskToken: tk.Encode()})
			erExpect(t, "RespondWorkflowTaskCompleted/"+name, err, codes.NotFound)
		}
		// An activity token for an activity that was never scheduled.
		fake := tasktoken.Token{Kind: tasktoken.Activity, Namespace: "default", WorkflowID: id, RunID: start.RunId, ScheduledEventID: 99, Attempt: 1}
		_, err = svc.RespondActivityTaskCompleted(ctx(), &workflowservice.RespondActivityTaskCompletedRequest{Namespace: "default", TaskToken: fake.Encode()})
		erExpect(t, "RespondActivityTaskCompleted/unscheduled", err, codes.NotFound)
		_, err = svc.RecordActivityTaskHeartbeat(ctx(), &workflowservice.RecordActivityTaskHeartbeatRequest{Namespace: "default", TaskToken: fake.Encode()})
		erExpect(t, "RecordActivityTaskHeartbeat/unscheduled", err, codes.NotFound)

		// Complete the real task with an activity, then reuse its token.
		cmd := &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK, Attributes: &commandpb.Command_ScheduleActivityTaskCommandAttributes{ScheduleActivityTaskCommandAttributes: &commandpb.ScheduleActivityTaskCommandAttributes{
			ActivityId: "1", ActivityType: &commonpb.ActivityType{Name: "Greet"}, TaskQueue: &taskqueuepb.TaskQueue{Name: tq},
			StartToCloseTimeout: durationpb.New(10 * time.Second),
		}}}
		if _, err := svc.RespondWorkflowTaskCompleted(ctx(), &workflowservice.RespondWorkflowTaskCompletedRequest{Namespace: "default", TaskToken: poll.TaskToken, Commands: []*commandpb.Command{cmd}}); err != nil {
			t.Fatalf("complete workflow task: %v", err)
		}
		_, err = svc.RespondWorkflowTaskCompleted(ctx(), &workflowservice.RespondWorkflowTaskCompletedRequest{Namespace: "default", TaskToken: poll.TaskToken})
		erExpect(t, "RespondWorkflowTaskCompleted/reused", err, codes.NotFound)
		ap, err := svc.PollActivityTaskQueue(ctx(), &workflowservice.PollActivityTaskQueueRequest{Namespace: "default", TaskQueue: &taskqueuepb.TaskQueue{Name: tq}, Identity: "manual"})
		if err != nil || len(ap.TaskToken) == 0 {
			t.Fatalf("poll activity: %v", err)
		}
		stale, _ := tasktoken.Decode(ap.TaskToken)
		stale.Attempt++
		_, err = svc.RespondActivityTaskCompleted(ctx(), &workflowservice.RespondActivityTaskCompletedRequest{Namespace: "default", TaskToken: stale.Encode()})
		erExpect(t, "RespondActivityTaskCompleted/wrong attempt", err, codes.NotFound)
		if _, err := svc.RespondActivityTaskCompleted(ctx(), &workflowservice.RespondActivityTaskCompletedRequest{Namespace: "default", TaskToken: ap.TaskToken}); err != nil {
			t.Fatalf("complete activity: %v", err)
		}
		_, err = svc.RespondActivityTaskCompleted(ctx(), &workflowservice.RespondActivityTaskCompletedRequest{Namespace: "default", TaskToken: ap.TaskToken})
		erExpect(t, "RespondActivityTaskCompleted/reused", err, codes.NotFound)
		_, err = svc.RecordActivityTaskHeartbeat(ctx(), &workflowservice.RecordActivityTaskHeartbeatRequest{Namespace: "default", TaskToken: ap.TaskToken})
		erExpect(t, "RecordActivityTaskHeartbeat/completed", err, codes.NotFound)
		if _, err := svc.TerminateWorkflowExecution(ctx(), &workflowservice.TerminateWorkflowExecutionRequest{Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: id}}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("MissingFields", func(t *testing.T) {
		neg := durationpb.New(-time.Second)
		starts := map[string]struct {
			mod  func(r *workflowservice.StartWorkflowExecutionRequest)
			want string
		}{
			"no namespace":               {func(r *workflowservice.StartWorkflowExecutionRequest) { r.Namespace = "" }, "Namespace"},
			"no workflow id":             {func(r *workflowservice.StartWorkflowExecutionRequest) { r.WorkflowId = "" }, "WorkflowId"},
			"long workflow id":           {func(r *workflowservice.StartWorkflowExecutionRequest) { r.WorkflowId = strings.Repeat("x", 1001) }, "WorkflowId"},
			"no workflow type":           {func(r *workflowservice.StartWorkflowExecutionRequest) { r.WorkflowType = nil }, "WorkflowType"},
			"empty type name":            {func(r *workflowservice.StartWorkflowExecutionRequest) { r.WorkflowType = &commonpb.WorkflowType{} }, "WorkflowType"},
			"no task queue":              {func(r *workflowservice.StartWorkflowExecutionRequest) { r.TaskQueue = nil }, "TaskQueue"},
			"empty task queue":           {func(r *workflowservice.StartWorkflowExecutionRequest) { r.TaskQueue = &taskqueuepb.TaskQueue{} }, "TaskQueue"},
			"negative execution timeout": {func(r *workflowservice.StartWorkflowExecutionRequest) { r.WorkflowExecutionTimeout = neg }, "WorkflowExecutionTimeout"},
			"negative run timeout":       {func(r *workflowservice.StartWorkflowExecutionRequest) { r.WorkflowRunTimeout = neg }, "WorkflowRunTimeout"},
			"negative task timeout":      {func(r *workflowservice.StartWorkflowExecutionRequest) { r.WorkflowTaskTimeout = neg }, "WorkflowTaskTimeout"},
			"negative start delay":       {func(r *workflowservice.StartWorkflowExecutionRequest) { r.WorkflowStartDelay = neg }, "WorkflowStartDelay"},
			"negative retry interval": {func(r *workflowservice.StartWorkflowExecutionRequest) {
				r.RetryPolicy = &commonpb.RetryPolicy{InitialInterval: neg}
			}, "RetryPolicy"},
			"retry backoff below 1": {func(r *workflowservice.StartWorkflowExecutionRequest) {
				r.RetryPolicy = &commonpb.RetryPolicy{BackoffCoefficient: 0.5}
			}, "BackoffCoefficient"},
			"oversized input": {func(r *workflowservice.StartWorkflowExecutionRequest) {
				r.Input = &commonpb.Payloads{Payloads: []*commonpb.Payload{{Data: make([]byte, 3<<20)}}}
			}, "size"},
		}
		for name, c := range starts {
			r := erStartReq("er-missing-"+uuid.NewString()[:8], idleTQ)
			c.mod(r)
			_, err := svc.StartWorkflowExecution(ctx(), r)
			se := erExpect(t, "StartWorkflowExecution/"+name, err, codes.InvalidArgument, c.want)
			if _, ok := se.(*serviceerror.InvalidArgument); !ok {
				t.Fatalf("%s: error type %T", name, se)
			}
		}
		ex := &commonpb.WorkflowExecution{WorkflowId: "er-any"}
		type call struct {
			name string
			do   func() error
			want string
		}
		calls := []call{
			{"Signal no SignalName", func() error {
				_, err := svc.SignalWorkflowExecution(ctx(), &workflowservice.SignalWorkflowExecutionRequest{Namespace: "default", WorkflowExecution: ex})
				return err
			}, "SignalName"},
			{"Signal no execution", func() error {
				_, err := svc.SignalWorkflowExecution(ctx(), &workflowservice.SignalWorkflowExecutionRequest{Namespace: "default", SignalName: "s"})
				return err
			}, "Execution"},
			{"Signal no WorkflowId", func() error {
				_, err := svc.SignalWorkflowExecution(ctx(), &workflowservice.SignalWorkflowExecutionRequest{Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{}, SignalName: "s"})
				return err
			}, "WorkflowId"},
			{"Signal no namespace", func() error {
				_, err := svc.SignalWorkflowExecution(ctx(), &workflowservice.SignalWorkflowExecutionRequest{WorkflowExecution: ex, SignalName: "s"})
				return err
			}, "Namespace"},
			{"SignalWithStart no SignalName", func() error {
				_, err := svc.SignalWithStartWorkflowExecution(ctx(), &workflowservice.SignalWithStartWorkflowExecutionRequest{Namespace: "default", WorkflowId: "er-sws", WorkflowType: &commonpb.WorkflowType{Name: "W"}, TaskQueue: &taskqueuepb.TaskQueue{Name: idleTQ}})
				return err
			}, "SignalName"},
			{"SignalWithStart no WorkflowId", func() error {
				_, err := svc.SignalWithStartWorkflowExecution(ctx(), &workflowservice.SignalWithStartWorkflowExecutionRequest{Namespace: "default", SignalName: "s", WorkflowType: &commonpb.WorkflowType{Name: "W"}, TaskQueue: &taskqueuepb.TaskQueue{Name: idleTQ}})
				return err
			}, "WorkflowId"},
			{"SignalWithStart negative run timeout", func() error {
				_, err := svc.SignalWithStartWorkflowExecution(ctx(), &workflowservice.SignalWithStartWorkflowExecutionRequest{Namespace: "default", WorkflowId: "er-sws", SignalName: "s", WorkflowType: &commonpb.WorkflowType{Name: "W"}, TaskQueue: &taskqueuepb.TaskQueue{Name: idleTQ}, WorkflowRunTimeout: neg})
				return err
			}, "WorkflowRunTimeout"},
			{"Cancel no execution", func() error {
				_, err := svc.RequestCancelWorkflowExecution(ctx(), &workflowservice.RequestCancelWorkflowExecutionRequest{Namespace: "default"})
				return err
			}, "Execution"},
			{"Terminate no WorkflowId", func() error {
				_, err := svc.TerminateWorkflowExecution(ctx(), &workflowservice.TerminateWorkflowExecutionRequest{Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{}})
				return err
			}, "WorkflowId"},
			{"Describe no WorkflowId", func() error {
				_, err := svc.DescribeWorkflowExecution(ctx(), &workflowservice.DescribeWorkflowExecutionRequest{Namespace: "default", Execution: &commonpb.WorkflowExecution{}})
				return err
			}, "WorkflowId"},
			{"History no execution", func() error {
				_, err := svc.GetWorkflowExecutionHistory(ctx(), &workflowservice.GetWorkflowExecutionHistoryRequest{Namespace: "default"})
				return err
			}, "Execution"},
			{"Query no QueryType", func() error {
				_, err := svc.QueryWorkflow(ctx(), &workflowservice.QueryWorkflowRequest{Namespace: "default", Execution: ex, Query: &querypb.WorkflowQuery{}})
				return err
			}, "QueryType"},
			{"Update no UpdateId", func() error {
				_, err := svc.UpdateWorkflowExecution(ctx(), &workflowservice.UpdateWorkflowExecutionRequest{Namespace: "default", WorkflowExecution: ex, Request: &updatepb.Request{Input: &updatepb.Input{Name: "u"}}})
				return err
			}, "UpdateId"},
			{"Update no name", func() error {
				_, err := svc.UpdateWorkflowExecution(ctx(), &workflowservice.UpdateWorkflowExecutionRequest{Namespace: "default", WorkflowExecution: ex, Request: &updatepb.Request{Meta: &updatepb.Meta{UpdateId: "u1"}}})
				return err
			}, "Name"},
			{"Update no request", func() error {
				_, err := svc.UpdateWorkflowExecution(ctx(), &workflowservice.UpdateWorkflowExecutionRequest{Namespace: "default", WorkflowExecution: ex})
				return err
			}, "Request"},
			{"PollWorkflowTaskQueue no TaskQueue", func() error {
				_, err := svc.PollWorkflowTaskQueue(ctx(), &workflowservice.PollWorkflowTaskQueueRequest{Namespace: "default"})
				return err
			}, "TaskQueue"},
			{"PollActivityTaskQueue no TaskQueue", func() error {
				_, err := svc.PollActivityTaskQueue(ctx(), &workflowservice.PollActivityTaskQueueRequest{Namespace: "default"})
				return err
			}, "TaskQueue"},
			{"RespondActivityTaskFailed no Failure", func() error {
				_, err := svc.RespondActivityTaskFailed(ctx(), &workflowservice.RespondActivityTaskFailedRequest{Namespace: "default", TaskToken: []byte("x")})
				return err
			}, "Failure"},
			{"HeartbeatById no ActivityId", func() error {
				_, err := svc.RecordActivityTaskHeartbeatById(ctx(), &workflowservice.RecordActivityTaskHeartbeatByIdRequest{Namespace: "default", WorkflowId: "w"})
				return err
			}, "ActivityId"},
			{"RegisterNamespace no name", func() error {
				_, err := svc.RegisterNamespace(ctx(), &workflowservice.RegisterNamespaceRequest{})
				return err
			}, "Namespace"},
		}
		for _, c := range calls {
			se := erExpect(t, c.name, c.do(), codes.InvalidArgument, c.want)
			if _, ok := se.(*serviceerror.InvalidArgument); !ok {
				t.Fatalf("%s: error type %T", c.name, se)
			}
		}
	})

	t.Run("ClosedAndMissingWorkflows", func(t *testing.T) {
		e.worker(func(w worker.Worker) {
			w.RegisterWorkflow(HelloWorkflow)
			w.RegisterActivityWithOptions(Greet, activity.RegisterOptions{Name: "Greet"})
		})
		run, err := e.c.ExecuteWorkflow(ctx(), e.opts("er-closed"), HelloWorkflow, "closed")
		if err != nil {
			t.Fatal(err)
		}
		if err := run.Get(ctx(), nil); err != nil {
			t.Fatal(err)
		}
		for _, runID := range []string{"", run.GetRunID()} {
			ex := &commonpb.WorkflowExecution{WorkflowId: run.GetID(), RunId: runID}
			sfx := fmt.Sprintf(" (run id %q)", runID)
			_, err := svc.SignalWorkflowExecution(ctx(), &workflowservice.SignalWorkflowExecutionRequest{Namespace: "default", WorkflowExecution: ex, SignalName: "s"})
			erExpect(t, "signal completed"+sfx, err, codes.NotFound)
			_, err = svc.RequestCancelWorkflowExecution(ctx(), &workflowservice.RequestCancelWorkflowExecutionRequest{Namespace: "default", WorkflowExecution: ex})
			if err != nil { // as in Temporal: cancelling a closed run succeeds and does nothing
				t.Fatalf("cancel completed%s: %v", sfx, err)
			}
			_, err = svc.TerminateWorkflowExecution(ctx(), &workflowservice.TerminateWorkflowExecutionRequest{Namespace: "default", WorkflowExecution: ex})
			erExpect(t, "terminate completed"+sfx, err, codes.NotFound)
			_, err = svc.UpdateWorkflowExecution(ctx(), &workflowservice.UpdateWorkflowExecutionRequest{Namespace: "default", WorkflowExecution: ex,
				Request: &updatepb.Request{Meta: &updatepb.Meta{UpdateId: uuid.NewString()}, Input: &updatepb.Input{Name: "u"}}})
			erExpect(t, "update completed"+sfx, err, codes.NotFound)
		}
		// The completed workflow is still describable.
		d, err := svc.DescribeWorkflowExecution(ctx(), &workflowservice.DescribeWorkflowExecutionRequest{Namespace: "default", Execution: &commonpb.WorkflowExecution{WorkflowId: run.GetID()}})
		if err != nil || d.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			t.Fatalf("describe completed: %v %v", d, err)
		}
		// Workflows that never existed.
		ghost := &commonpb.WorkflowExecution{WorkflowId: "er-ghost-" + uuid.NewString()[:8]}
		ghostRun := &commonpb.WorkflowExecution{WorkflowId: run.GetID(), RunId: uuid.NewString()}
		for _, ex := range []*commonpb.WorkflowExecution{ghost, ghostRun} {
			sfx := fmt.Sprintf(" (%s/%s)", ex.WorkflowId, ex.RunId)
			_, err = svc.DescribeWorkflowExecution(ctx(), &workflowservice.DescribeWorkflowExecutionRequest{Namespace: "default", Execution: ex})
			erExpect(t, "describe missing"+sfx, err, codes.NotFound)
			_, err = svc.GetWorkflowExecutionHistory(ctx(), &workflowservice.GetWorkflowExecutionHistoryRequest{Namespace: "default", Execution: ex})
			erExpect(t, "history missing"+sfx, err, codes.NotFound)
			_, err = svc.SignalWorkflowExecution(ctx(), &workflowservice.SignalWorkflowExecutionRequest{Namespace: "default", WorkflowExecution: ex, SignalName: "s"})
			erExpect(t, "signal missing"+sfx, err, codes.NotFound)
			_, err = svc.TerminateWorkflowExecution(ctx(), &workflowservice.TerminateWorkflowExecutionRequest{Namespace: "default", WorkflowExecution: ex})
			erExpect(t, "terminate missing"+sfx, err, codes.NotFound)
			_, err = svc.QueryWorkflow(ctx(), &workflowservice.QueryWorkflowRequest{Namespace: "default", Execution: ex, Query: &querypb.WorkflowQuery{QueryType: "q"}})
			erExpect(t, "query missing"+sfx, err, codes.NotFound)
		}
		// A run id that is not a UUID is malformed input, as in Temporal (the
		// features harness probes a namespace with exactly this call).
		bad := &commonpb.WorkflowExecution{WorkflowId: run.GetID(), RunId: "superneverexistwf!"}
		_, err = svc.DescribeWorkflowExecution(ctx(), &workflowservice.DescribeWorkflowExecutionRequest{Namespace: "default", Execution: bad})
		erExpect(t, "describe bad run id", err, codes.InvalidArgument, "Invalid RunId.")
		_, err = svc.GetWorkflowExecutionHistory(ctx(), &workflowservice.GetWorkflowExecutionHistoryRequest{Namespace: "default", Execution: bad})
		erExpect(t, "history bad run id", err, codes.InvalidArgument, "Invalid RunId.")
		_, err = svc.SignalWorkflowExecution(ctx(), &workflowservice.SignalWorkflowExecutionRequest{Namespace: "default", WorkflowExecution: bad, SignalName: "s"})
		erExpect(t, "signal bad run id", err, codes.InvalidArgument, "Invalid RunId.")
	})

	t.Run("QueryWithoutWorker", func(t *testing.T) {
		id := "er-query-" + uuid.NewString()[:8]
		if _, err := svc.StartWorkflowExecution(ctx(), erStartReq(id, idleTQ)); err != nil {
			t.Fatal(err)
		}
		began := time.Now()
		_, err := svc.QueryWorkflow(erCtx(t, 3*time.Second), &workflowservice.QueryWorkflowRequest{Namespace: "default", Execution: &commonpb.WorkflowExecution{WorkflowId: id}, Query: &querypb.WorkflowQuery{QueryType: "state"}})
		// No workflow task has run yet, so (as in Temporal's history
		// service) the query is buffered until one completes: without a
		// worker it times out at the caller's deadline. FailedPrecondition
		// is for a run whose queue saw no poller recently (see
		// TestFidelityQueryNoWorker).
		erExpect(t, "query without worker", err, codes.DeadlineExceeded)
		if took := time.Since(began); took < 2900*time.Millisecond {
			t.Fatalf("query without worker gave up after %v, before the deadline", took)
		}
	})

	t.Run("PollTimeSkippingEmpty", func(t *testing.T) {
		_, err := svc.PollWorkflowExecutionTimeSkipping(ctx(), &workflowservice.PollWorkflowExecutionTimeSkippingRequest{Namespace: "default"})
		erExpect(t, "PollWorkflowExecutionTimeSkipping", err, codes.InvalidArgument, "Execution is not set")
	})

	t.Run("NilSubMessagesDoNotCrash", func(t *testing.T) {
		// Requests with nil nested messages must get a clean error, not a
		// panic (Internal) or a hang.
		calls := map[string]func() error{
			"Start empty": func() error {
				_, err := svc.StartWorkflowExecution(ctx(), &workflowservice.StartWorkflowExecutionRequest{})
				return err
			},
			"SignalWithStart empty": func() error {
				_, err := svc.SignalWithStartWorkflowExecution(ctx(), &workflowservice.SignalWithStartWorkflowExecutionRequest{Namespace: "default"})
				return err
			},
			"Query nil query": func() error {
				_, err := svc.QueryWorkflow(ctx(), &workflowservice.QueryWorkflowRequest{Namespace: "default", Execution: &commonpb.WorkflowExecution{WorkflowId: "w"}})
				return err
			},
			"PollUpdate empty": func() error {
				_, err := svc.PollWorkflowExecutionUpdate(ctx(), &workflowservice.PollWorkflowExecutionUpdateRequest{Namespace: "default"})
				return err
			},
			"MultiOperation empty": func() error {
				_, err := svc.ExecuteMultiOperation(ctx(), &workflowservice.ExecuteMultiOperationRequest{Namespace: "default"})
				return err
			},
			"ResetSticky empty": func() error {
				_, err := svc.ResetStickyTaskQueue(ctx(), &workflowservice.ResetStickyTaskQueueRequest{Namespace: "default"})
				return err
			},
			"DescribeTaskQueue empty": func() error {
				_, err := svc.DescribeTaskQueue(ctx(), &workflowservice.DescribeTaskQueueRequest{Namespace: "default"})
				return err
			},
			"DescribeNamespace empty": func() error {
				_, err := svc.DescribeNamespace(ctx(), &workflowservice.DescribeNamespaceRequest{})
				return err
			},
		}
		for name, do := range calls {
			erExpect(t, name, do(), codes.InvalidArgument)
		}
	})

	t.Run("InvalidCommands", func(t *testing.T) {
		// Invalid commands in a real workflow task fail the completion
		// with InvalidArgument (as Temporal's command validator does).
		tq := e.tq + "-badcmd"
		schedule := func(mod func(a *commandpb.ScheduleActivityTaskCommandAttributes)) *commandpb.Command {
			a := &commandpb.ScheduleActivityTaskCommandAttributes{ActivityId: "1", ActivityType: &commonpb.ActivityType{Name: "Greet"},
				TaskQueue: &taskqueuepb.TaskQueue{Name: tq}, ScheduleToCloseTimeout: durationpb.New(10 * time.Second)}
			mod(a)
			return &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK, Attributes: &commandpb.Command_ScheduleActivityTaskCommandAttributes{ScheduleActivityTaskCommandAttributes: a}}
		}
		bad := []struct {
			name string
			cmd  *commandpb.Command
		}{
			{"nil ScheduleActivityTask", &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK}},
			{"nil StartTimer", &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_START_TIMER}},
			{"nil StartChildWorkflowExecution", &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION}},
			{"nil SignalExternalWorkflowExecution", &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION}},
			{"nil RecordMarker", &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_RECORD_MARKER}},
			{"unspecified command type", &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_UNSPECIFIED}},
			{"negative StartToCloseTimeout", schedule(func(a *commandpb.ScheduleActivityTaskCommandAttributes) {
				a.StartToCloseTimeout = durationpb.New(-time.Second)
			})},
			{"negative HeartbeatTimeout", schedule(func(a *commandpb.ScheduleActivityTaskCommandAttributes) {
				a.HeartbeatTimeout = durationpb.New(-time.Second)
			})},
			{"negative ScheduleToStartTimeout", schedule(func(a *commandpb.ScheduleActivityTaskCommandAttributes) {
				a.ScheduleToStartTimeout = durationpb.New(-time.Second)
			})},
			{"nil CompleteWorkflowExecution", &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION}},
			{"nil FailWorkflowExecution", &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION}},
			{"FailWorkflowExecution without Failure", &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION, Attributes: &commandpb.Command_FailWorkflowExecutionCommandAttributes{FailWorkflowExecutionCommandAttributes: &commandpb.FailWorkflowExecutionCommandAttributes{}}}},
			{"nil CancelWorkflowExecution", &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION}},
		}
		var failures []string
		for _, c := range bad {
			id := "er-badcmd-" + uuid.NewString()[:8]
			if _, err := svc.StartWorkflowExecution(ctx(), erStartReq(id, tq)); err != nil {
				t.Fatal(err)
			}
			poll, err := svc.PollWorkflowTaskQueue(ctx(), &workflowservice.PollWorkflowTaskQueueRequest{Namespace: "default", TaskQueue: &taskqueuepb.TaskQueue{Name: tq}, Identity: "bad-commands"})
			if err != nil || len(poll.TaskToken) == 0 || poll.WorkflowExecution.GetWorkflowId() != id {
				t.Fatalf("poll for %s: %v", c.name, err)
			}
			_, err = svc.RespondWorkflowTaskCompleted(ctx(), &workflowservice.RespondWorkflowTaskCompletedRequest{Namespace: "default", TaskToken: poll.TaskToken, Commands: []*commandpb.Command{c.cmd}})
			if code := status.Code(err); code != codes.InvalidArgument {
				d, _ := svc.DescribeWorkflowExecution(ctx(), &workflowservice.DescribeWorkflowExecutionRequest{Namespace: "default", Execution: &commonpb.WorkflowExecution{WorkflowId: id}})
				failures = append(failures, fmt.Sprintf("%s: got %v (%v), want InvalidArgument; workflow status now %v", c.name, code, err, d.GetWorkflowExecutionInfo().GetStatus()))
			}
			_, _ = svc.TerminateWorkflowExecution(ctx(), &workflowservice.TerminateWorkflowExecutionRequest{Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: id}})
		}
		if len(failures) > 0 {
			t.Fatalf("invalid commands accepted:\n%s", strings.Join(failures, "\n"))
		}
	})

	t.Run("StillServes", func(t *testing.T) {
		info, err := svc.GetSystemInfo(ctx(), &workflowservice.GetSystemInfoRequest{})
		if err != nil || info.ServerVersion == "" {
			t.Fatalf("GetSystemInfo: %v %v", info, err)
		}
		e.worker(func(w worker.Worker) {
			w.RegisterWorkflow(HelloWorkflow)
			w.RegisterActivityWithOptions(Greet, activity.RegisterOptions{Name: "Greet"})
		})
		run, err := e.c.ExecuteWorkflow(ctx(), e.opts("er-after"), HelloWorkflow, "after errors")
		if err != nil {
			t.Fatal(err)
		}
		var out string
		if err := run.Get(ctx(), &out); err != nil || out != "Hello, after errors!" {
			t.Fatalf("hello after errors: %q %v", out, err)
		}
		requireWellFormed(t, e.history(run.GetID(), run.GetRunID()))
	})
}
