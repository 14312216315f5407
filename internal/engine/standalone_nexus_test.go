package engine

import (
	"context"
	"encoding/base64"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	nexuspb "go.temporal.io/api/nexus/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/store/pebblestore"
)

// failRecordStore fails writes of keyed records of one kind once armed,
// as a crash between a handler's close and the delivery of its callback
// would lose them.
type failRecordStore struct {
	store.Store
	kind atomic.Value // string
}

func (s *failRecordStore) Apply(b *store.Batch) (store.Commit, error) {
	if k, _ := s.kind.Load().(string); k != "" {
		for _, r := range b.Records {
			if r.Kind == k {
				return nil, errors.New("simulated crash")
			}
		}
	}
	return s.Store.Apply(b)
}

// TestStandaloneNexusCallbackLostThenRecovered: the handler workflow of a
// started standalone operation closes, but the delivery of its callback
// to the operation never reaches the store; after a restart the
// operation's startup check finds the closed handler and records the
// outcome.
func TestStandaloneNexusCallbackLostThenRecovered(t *testing.T) {
	ps, err := pebblestore.Open("", pebblestore.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	fs := &failRecordStore{Store: ps}
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
	op, err := e.StartNexusOperationExecution(ctx, &workflowservice.StartNexusOperationExecutionRequest{
		Namespace: DefaultNamespace, RequestId: "r1", OperationId: "op", Endpoint: "ep", Service: "s", Operation: "o",
		ScheduleToCloseTimeout: durationpb.New(time.Hour)})
	if err != nil || !op.Started {
		t.Fatalf("start: %v, %v", op, err)
	}
	nt, err := e.PollNexusTask(ctx, &workflowservice.PollNexusTaskQueueRequest{Namespace: DefaultNamespace, TaskQueue: &taskqueuepb.TaskQueue{Name: "handler-q"}})
	if err != nil || nt.Request == nil {
		t.Fatalf("nexus poll: %v", err)
	}
	start := nt.Request.GetStartOperation()
	if start.Callback != NexusSystemCallbackURL || start.CallbackHeader[nexusCallbackTokenHeader] == "" || start.RequestId == "" ||
		len(start.Links) != 1 || nt.Request.Header["operation-timeout"] == "" {
		t.Fatalf("start request %v: want the system callback, a request id, a link and the operation timeout", nt.Request)
	}
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
	// Lose every later write of the operation, then close the handler.
	fs.kind.Store(recordKindNexusOperation)
	if err := e.Terminate(ctx, &workflowservice.TerminateWorkflowExecutionRequest{Namespace: DefaultNamespace,
		WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: "handler"}, Reason: "stop"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the delivery fails (and the engine refuses writes)
	e.Close()

	fs.kind.Store("")
	e2, err := New(fs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	p, err := e2.PollNexusOperationExecution(ctx, &workflowservice.PollNexusOperationExecutionRequest{
		Namespace: DefaultNamespace, OperationId: "op", WaitStage: enumspb.NEXUS_OPERATION_WAIT_STAGE_CLOSED})
	if err != nil {
		t.Fatal(err)
	}
	if p.WaitStage != enumspb.NEXUS_OPERATION_WAIT_STAGE_CLOSED || p.GetFailure().GetTerminatedFailureInfo() == nil || p.OperationToken != token {
		t.Fatalf("poll after restart %v: want the handler's termination", p)
	}
}
