package engine

import (
	"context"
	"encoding/base64"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	nexuspb "go.temporal.io/api/nexus/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/store/pebblestore"
)

// failRunStore fails writes of one run once armed, as a crash between the
// handler's close and the delivery of its callback would lose them.
type failRunStore struct {
	store.Store
	runID atomic.Value // string
}

func (s *failRunStore) Apply(b *store.Batch) (store.Commit, error) {
	if id, _ := s.runID.Load().(string); id != "" {
		for _, r := range b.Runs {
			if r.Record.RunID == id {
				return nil, errors.New("simulated crash")
			}
		}
	}
	return s.Store.Apply(b)
}

// TestNexusCallbackLostThenRecovered: the handler workflow closes but the
// delivery of its callback to the caller never reaches the store; after a
// restart the recovered caller checks its started operation's handler
// and records the outcome once.
func TestNexusCallbackLostThenRecovered(t *testing.T) {
	ps, err := pebblestore.Open("", pebblestore.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	fs := &failRunStore{Store: ps}
	e, err := New(fs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := e.CreateNexusEndpoint(&nexuspb.EndpointSpec{Name: "ep", Target: &nexuspb.EndpointTarget{Variant: &nexuspb.EndpointTarget_Worker_{
		Worker: &nexuspb.EndpointTarget_Worker{Namespace: DefaultNamespace, TaskQueue: "handler-q"}}}}); err != nil {
		t.Fatal(err)
	}
	caller, err := e.StartWorkflow(ctx, &StartParams{Namespace: DefaultNamespace, WorkflowID: "caller", WorkflowType: &commonpb.WorkflowType{Name: "C"}, TaskQueue: "q", RequestID: "c"})
	if err != nil {
		t.Fatal(err)
	}
	wft, err := e.PollWorkflowTask(ctx, &workflowservice.PollWorkflowTaskQueueRequest{Namespace: DefaultNamespace, TaskQueue: &taskqueuepb.TaskQueue{Name: "q"}})
	if err != nil || len(wft.TaskToken) == 0 {
		t.Fatalf("poll: %v", err)
	}
	if _, err := e.CompleteWorkflowTask(ctx, &workflowservice.RespondWorkflowTaskCompletedRequest{Namespace: DefaultNamespace, TaskToken: wft.TaskToken,
		Commands: []*commandpb.Command{{CommandType: enumspb.COMMAND_TYPE_SCHEDULE_NEXUS_OPERATION, Attributes: &commandpb.Command_ScheduleNexusOperationCommandAttributes{
			ScheduleNexusOperationCommandAttributes: &commandpb.ScheduleNexusOperationCommandAttributes{Endpoint: "ep", Service: "s", Operation: "o", ScheduleToCloseTimeout: durationpb.New(time.Hour)}}}}}); err != nil {
		t.Fatal(err)
	}
	nt, err := e.PollNexusTask(ctx, &workflowservice.PollNexusTaskQueueRequest{Namespace: DefaultNamespace, TaskQueue: &taskqueuepb.TaskQueue{Name: "handler-q"}})
	if err != nil || nt.Request == nil {
		t.Fatalf("nexus poll: %v", err)
	}
	start := nt.Request.GetStartOperation()
	if start.Callback != NexusSystemCallbackURL || start.CallbackHeader[nexusCallbackTokenHeader] == "" || len(start.Links) != 1 {
		t.Fatalf("start request %v: want the system callback and a link", start)
	}
	// The handler starts its workflow with the callback, then answers
	// asynchronously with a workflow-run token.
	if _, err := e.StartWorkflow(ctx, &StartParams{Namespace: DefaultNamespace, WorkflowID: "handler", WorkflowType: &commonpb.WorkflowType{Name: "H"}, TaskQueue: "handler-q",
		RequestID: start.RequestId, CompletionCallbacks: []*commonpb.Callback{{Variant: &commonpb.Callback_Nexus_{Nexus: &commonpb.Callback_Nexus{
			Url: start.Callback, Header: start.CallbackHeader}}}}}); err != nil {
		t.Fatal(err)
	}
	token := base64.RawURLEncoding.EncodeToString([]byte(`{"t":1,"ns":"default","wid":"handler"}`))
	if err := e.CompleteNexusTask(ctx, &workflowservice.RespondNexusTaskCompletedRequest{Namespace: DefaultNamespace, TaskToken: nt.TaskToken,
		Response: &nexuspb.Response{Variant: &nexuspb.Response_StartOperation{StartOperation: &nexuspb.StartOperationResponse{
			Variant: &nexuspb.StartOperationResponse_AsyncSuccess{AsyncSuccess: &nexuspb.StartOperationResponse_Async{OperationToken: token}}}}}}); err != nil {
		t.Fatal(err)
	}
	// Lose every later write of the caller, then close the handler.
	fs.runID.Store(caller.RunID)
	if err := e.Terminate(ctx, &workflowservice.TerminateWorkflowExecutionRequest{Namespace: DefaultNamespace,
		WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: "handler"}, Reason: "stop"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the delivery fails (and the engine refuses writes)
	e.Close()

	fs.runID.Store("")
	e2, err := New(fs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		h, err := e2.History(ctx, &workflowservice.GetWorkflowExecutionHistoryRequest{Namespace: DefaultNamespace,
			Execution: &commonpb.WorkflowExecution{WorkflowId: "caller", RunId: caller.RunID}})
		if err != nil {
			t.Fatal(err)
		}
		var failed, started int
		for _, ev := range h.History.Events {
			switch ev.EventType {
			case enumspb.EVENT_TYPE_NEXUS_OPERATION_FAILED:
				failed++
				if ev.GetNexusOperationFailedEventAttributes().Failure.GetCause().GetTerminatedFailureInfo() == nil {
					t.Fatalf("failure %v: want the handler's termination", ev.GetNexusOperationFailedEventAttributes().Failure)
				}
			case enumspb.EVENT_TYPE_NEXUS_OPERATION_STARTED:
				started++
			}
		}
		if failed == 1 && started == 1 {
			return
		}
		if failed > 1 || time.Now().After(deadline) {
			t.Fatalf("caller history: %d started, %d failed events; want one each", started, failed)
		}
	}
}
