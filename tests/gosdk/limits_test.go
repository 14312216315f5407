package gosdk

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Temporal's limits: 2 MB per payload blob, 4 MB per gRPC request, history
// warnings past 10K events / 10 MB and termination past 50K events / 50 MB,
// continue-as-new suggested past 4K events / 4 MB; plus 10,000 idle long
// polls must not exhaust memory and must all be released on shutdown.

func lmSvc(t *testing.T, addr string) (workflowservice.WorkflowServiceClient, *grpc.ClientConn) {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20), grpc.MaxCallRecvMsgSize(256<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return workflowservice.NewWorkflowServiceClient(conn), conn
}

// lmHistory reads a run's whole history with the raw API.
func lmHistory(t *testing.T, svc workflowservice.WorkflowServiceClient, id string) []*historypb.HistoryEvent {
	t.Helper()
	var out []*historypb.HistoryEvent
	var token []byte
	for {
		r, err := svc.GetWorkflowExecutionHistory(erCtx(t, 20*time.Second), &workflowservice.GetWorkflowExecutionHistoryRequest{
			Namespace: "default", Execution: &commonpb.WorkflowExecution{WorkflowId: id}, NextPageToken: token})
		if err != nil {
			t.Fatalf("history of %s: %v", id, err)
		}
		out = append(out, r.History.GetEvents()...)
		if token = r.NextPageToken; len(token) == 0 {
			return out
		}
	}
}

// lmPollTask starts a workflow on a fresh queue and polls its first task.
func lmPollTask(t *testing.T, svc workflowservice.WorkflowServiceClient, prefix string) (string, *workflowservice.PollWorkflowTaskQueueResponse) {
	t.Helper()
	id := prefix + "-" + uuid.NewString()[:8]
	q := "lm-" + uuid.NewString()[:8]
	if _, err := svc.StartWorkflowExecution(erCtx(t, 10*time.Second), erStartReq(id, q)); err != nil {
		t.Fatal(err)
	}
	p, err := svc.PollWorkflowTaskQueue(erCtx(t, 10*time.Second), &workflowservice.PollWorkflowTaskQueueRequest{Namespace: "default", TaskQueue: &taskqueuepb.TaskQueue{Name: q}, Identity: "lm"})
	if err != nil || len(p.TaskToken) == 0 {
		t.Fatalf("poll: %v", err)
	}
	return id, p
}

func TestLimitsPayloadAndRequestSize(t *testing.T) {
	e := newEnv(t)
	svc, _ := lmSvc(t, e.srv.Addr())
	q := e.tq + "-idle"

	// Just under 2 MB (Payloads proto size) is accepted.
	r := erStartReq("lm-under-"+uuid.NewString()[:8], q)
	r.Input = rtPayloads(2<<20 - 64)
	if _, err := svc.StartWorkflowExecution(erCtx(t, 10*time.Second), r); err != nil {
		t.Fatalf("payload just under 2 MB rejected: %v", err)
	}
	// Just over 2 MB is InvalidArgument, as Temporal's ErrBlobSizeExceedsLimit.
	r = erStartReq("lm-over-"+uuid.NewString()[:8], q)
	r.Input = rtPayloads(2 << 20)
	_, err := svc.StartWorkflowExecution(erCtx(t, 10*time.Second), r)
	erExpect(t, "start with a 2 MB+ payload", err, codes.InvalidArgument, "Blob data size exceeds limit")
	// Nothing was created.
	_, err = svc.DescribeWorkflowExecution(erCtx(t, 5*time.Second), &workflowservice.DescribeWorkflowExecutionRequest{Namespace: "default", Execution: &commonpb.WorkflowExecution{WorkflowId: r.WorkflowId}})
	erExpect(t, "describe the rejected start", err, codes.NotFound)

	// Two payloads of 1.5 MB: each is under the blob limit but the blob
	// (the Payloads message) is not; Temporal checks the Payloads size.
	r = erStartReq("lm-two-"+uuid.NewString()[:8], q)
	r.Input = &commonpb.Payloads{Payloads: []*commonpb.Payload{{Data: make([]byte, 1500<<10)}, {Data: make([]byte, 1500<<10)}}}
	_, err = svc.StartWorkflowExecution(erCtx(t, 10*time.Second), r)
	erExpect(t, "start with 2 x 1.5 MB payloads", err, codes.InvalidArgument, "Blob data size exceeds limit")

	// A request over 4 MB never reaches the handler: gRPC ResourceExhausted.
	r = erStartReq("lm-huge-"+uuid.NewString()[:8], q)
	r.Input = rtPayloads(5 << 20)
	_, err = svc.StartWorkflowExecution(erCtx(t, 10*time.Second), r)
	erExpect(t, "start with a 5 MB request", err, codes.ResourceExhausted, "larger than max")
	// A 3.9 MB request of many small payloads passes gRPC and is checked as a blob.
	s := &workflowservice.SignalWorkflowExecutionRequest{Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: "lm-any"}, SignalName: "s", Input: &commonpb.Payloads{}}
	for i := 0; i < 39; i++ {
		s.Input.Payloads = append(s.Input.Payloads, &commonpb.Payload{Data: make([]byte, 100<<10)})
	}
	_, err = svc.SignalWorkflowExecution(erCtx(t, 10*time.Second), s)
	erExpect(t, "signal with 3.9 MB of small payloads", err, codes.InvalidArgument, "Blob data size exceeds limit")
}

// TestLimitsCompleteResultTooLarge: Temporal checks the result of a
// CompleteWorkflowExecution command against the 2 MB blob limit
// (workflow_task_completed_handler.go handleCommandCompleteWorkflow ->
// sizeLimitChecker.checkIfPayloadSizeExceedsLimit -> terminateWorkflow): the
// workflow task fails (WorkflowTaskFailed, cause
// BAD_SCHEDULE_ACTIVITY_ATTRIBUTES in Temporal's code, message
// "CompleteWorkflowExecutionCommandAttributes.Result exceeds size limit.")
// and the run is terminated with that message as the reason.
func TestLimitsCompleteResultTooLarge(t *testing.T) {
	e := newEnv(t)
	svc, _ := lmSvc(t, e.srv.Addr())
	id, task := lmPollTask(t, svc, "lm-result")
	_, err := svc.RespondWorkflowTaskCompleted(erCtx(t, 10*time.Second), &workflowservice.RespondWorkflowTaskCompletedRequest{
		Namespace: "default", TaskToken: task.TaskToken, Identity: "lm",
		Commands: []*commandpb.Command{{CommandType: enumspb.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION, Attributes: &commandpb.Command_CompleteWorkflowExecutionCommandAttributes{
			CompleteWorkflowExecutionCommandAttributes: &commandpb.CompleteWorkflowExecutionCommandAttributes{Result: rtPayloads(2<<20 + 512<<10)},
		}}},
	})
	t.Logf("RespondWorkflowTaskCompleted with a 2.5 MB result: %v", err)
	evs := lmHistory(t, svc, id)
	ty := types(evs)
	t.Logf("history: %v", ty)
	last := evs[len(evs)-1]
	if count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED) > 0 {
		t.Fatalf("workflow completed with a 2.5 MB result; Temporal fails the task and terminates the run: %v", ty)
	}
	if count(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED) != 1 || last.EventType != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED {
		t.Fatalf("want WorkflowTaskFailed then WorkflowExecutionTerminated, got %v", ty)
	}
	if reason := last.GetWorkflowExecutionTerminatedEventAttributes().GetReason(); !strings.Contains(reason, "exceeds size limit") {
		t.Errorf("termination reason %q does not say the result exceeds the size limit", reason)
	}
}

// TestLimitsActivityResultTooLarge: Temporal's frontend turns an activity
// result over the blob limit into a non-retryable ServerFailure
// (COMPLETE_RESULT_EXCEEDS_LIMIT) and the call succeeds; the workflow sees
// ActivityTaskFailed at once instead of waiting for a timeout.
func TestLimitsActivityResultTooLarge(t *testing.T) {
	e := newEnv(t)
	svc, _ := lmSvc(t, e.srv.Addr())
	id, task := lmPollTask(t, svc, "lm-act")
	q := task.WorkflowExecutionTaskQueue.GetName()
	_, err := svc.RespondWorkflowTaskCompleted(erCtx(t, 10*time.Second), &workflowservice.RespondWorkflowTaskCompletedRequest{
		Namespace: "default", TaskToken: task.TaskToken, Identity: "lm",
		Commands: []*commandpb.Command{{CommandType: enumspb.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK, Attributes: &commandpb.Command_ScheduleActivityTaskCommandAttributes{
			ScheduleActivityTaskCommandAttributes: &commandpb.ScheduleActivityTaskCommandAttributes{ActivityId: "a", ActivityType: &commonpb.ActivityType{Name: "A"},
				TaskQueue: &taskqueuepb.TaskQueue{Name: q}, StartToCloseTimeout: durationpb.New(time.Hour)},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	at, err := svc.PollActivityTaskQueue(erCtx(t, 10*time.Second), &workflowservice.PollActivityTaskQueueRequest{Namespace: "default", TaskQueue: &taskqueuepb.TaskQueue{Name: q}})
	if err != nil || len(at.TaskToken) == 0 {
		t.Fatalf("poll activity: %v", err)
	}
	_, err = svc.RespondActivityTaskCompleted(erCtx(t, 10*time.Second), &workflowservice.RespondActivityTaskCompletedRequest{Namespace: "default", TaskToken: at.TaskToken, Result: rtPayloads(2<<20 + 512<<10)})
	t.Logf("RespondActivityTaskCompleted with a 2.5 MB result: %v", err)
	if status.Code(err) == codes.Internal {
		t.Fatalf("Internal: %v", err)
	}
	evs := lmHistory(t, svc, id)
	if count(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) > 0 {
		t.Fatalf("activity completed with a 2.5 MB result: %v", types(evs))
	}
	if count(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED) != 1 {
		t.Fatalf("want ActivityTaskFailed (Temporal: non-retryable ServerFailure), got %v (call error %v)", types(evs), err)
	}
}

// TestLimitsHistorySize drives a run's history past Temporal's size limits
// with 1.9 MB signals: past 4 MB the next workflow task suggests
// continue-as-new, past 50 MB the run is terminated.
func TestLimitsHistorySize(t *testing.T) {
	e := newEnv(t)
	svc, _ := lmSvc(t, e.srv.Addr())
	id := "lm-size-" + uuid.NewString()[:8]
	q := "lm-" + uuid.NewString()[:8]
	if _, err := svc.StartWorkflowExecution(erCtx(t, 10*time.Second), erStartReq(id, q)); err != nil {
		t.Fatal(err)
	}
	signal := func(i int) error {
		_, err := svc.SignalWorkflowExecution(erCtx(t, 20*time.Second), &workflowservice.SignalWorkflowExecutionRequest{
			Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: id}, SignalName: "s", Input: rtPayloads(1900 << 10), RequestId: fmt.Sprint(i)})
		return err
	}
	for i := 0; i < 3; i++ {
		if err := signal(i); err != nil {
			t.Fatal(err)
		}
	}
	p, err := svc.PollWorkflowTaskQueue(erCtx(t, 20*time.Second), &workflowservice.PollWorkflowTaskQueueRequest{Namespace: "default", TaskQueue: &taskqueuepb.TaskQueue{Name: q}})
	if err != nil {
		t.Fatal(err)
	}
	evs := p.History.GetEvents()
	started := evs[len(evs)-1].GetWorkflowTaskStartedEventAttributes()
	if !started.GetSuggestContinueAsNew() {
		t.Errorf("history of %d bytes: WorkflowTaskStarted does not suggest continue-as-new", started.GetHistorySizeBytes())
	}
	var sizeReason bool
	for _, r := range started.GetSuggestContinueAsNewReasons() {
		sizeReason = sizeReason || r == enumspb.SUGGEST_CONTINUE_AS_NEW_REASON_HISTORY_SIZE_TOO_LARGE
	}
	if !sizeReason {
		t.Errorf("reasons %v lack HISTORY_SIZE_TOO_LARGE", started.GetSuggestContinueAsNewReasons())
	}
	// Finish the task (no commands), so later signals go straight to history.
	if _, err := svc.RespondWorkflowTaskCompleted(erCtx(t, 10*time.Second), &workflowservice.RespondWorkflowTaskCompletedRequest{Namespace: "default", TaskToken: p.TaskToken}); err != nil {
		t.Fatal(err)
	}
	// Keep signalling past 50 MB.
	var lastErr error
	n := 3
	for ; n < 40; n++ {
		if lastErr = signal(n); lastErr != nil {
			break
		}
		d, err := svc.DescribeWorkflowExecution(erCtx(t, 10*time.Second), &workflowservice.DescribeWorkflowExecutionRequest{Namespace: "default", Execution: &commonpb.WorkflowExecution{WorkflowId: id}})
		if err != nil {
			t.Fatal(err)
		}
		if d.WorkflowExecutionInfo.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			break
		}
	}
	t.Logf("after %d signals of 1.9 MB: last signal error %v", n+1, lastErr)
	h := lmHistory(t, svc, id)
	last := h[len(h)-1]
	if last.EventType != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED {
		t.Fatalf("history of ~%d MB not terminated: last event %v", (n+1)*19/10, last.EventType)
	}
	if r := last.GetWorkflowExecutionTerminatedEventAttributes().GetReason(); !strings.Contains(r, "history size exceeds limit") {
		t.Errorf("termination reason %q", r)
	}
	if n < 26 {
		t.Errorf("terminated after only %d signals (~%d MB), the limit is 50 MB", n+1, (n+1)*19/10)
	}
	// Further signals to the closed run are refused.
	err = signal(1000)
	erExpect(t, "signal after termination", err, codes.NotFound)
}

// TestLimitsIdlePollers parks 10,000 raw long polls on the server, measures
// the memory they cost and checks that shutdown releases every one.
func TestLimitsIdlePollers(t *testing.T) {
	const pollers = 10000
	const conns = 8
	e := newEnv(t)
	addr := e.srv.Addr()
	var cl []workflowservice.WorkflowServiceClient
	for i := 0; i < conns; i++ {
		svc, _ := lmSvc(t, addr)
		cl = append(cl, svc)
	}
	// Warm the connections.
	for _, c := range cl {
		if _, err := c.GetSystemInfo(erCtx(t, 5*time.Second), &workflowservice.GetSystemInfoRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	mem := func() (uint64, int) {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse + m.StackInuse, runtime.NumGoroutine()
	}
	before, gBefore := mem()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	var returned atomic.Int64
	codesSeen := sync.Map{}
	for i := 0; i < pollers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			kind := i % 2
			q := &taskqueuepb.TaskQueue{Name: fmt.Sprintf("lm-idle-%d", i%50)}
			var err error
			if kind == 0 {
				_, err = cl[i%conns].PollWorkflowTaskQueue(ctx, &workflowservice.PollWorkflowTaskQueueRequest{Namespace: "default", TaskQueue: q, Identity: "idle"})
			} else {
				_, err = cl[i%conns].PollActivityTaskQueue(ctx, &workflowservice.PollActivityTaskQueueRequest{Namespace: "default", TaskQueue: q, Identity: "idle"})
			}
			c := status.Code(err)
			v, _ := codesSeen.LoadOrStore(c, new(atomic.Int64))
			v.(*atomic.Int64).Add(1)
			returned.Add(1)
		}(i)
	}
	// Wait until the server holds them all (a poll is parked when the
	// number of goroutines stops growing).
	deadline := time.Now().Add(20 * time.Second)
	prev := -1
	for time.Now().Before(deadline) {
		time.Sleep(300 * time.Millisecond)
		g := runtime.NumGoroutine()
		if g == prev && g > gBefore+pollers {
			break
		}
		prev = g
	}
	if r := returned.Load(); r != 0 {
		t.Fatalf("%d idle polls returned early", r)
	}
	after, gAfter := mem()
	per := int64(after-before) / pollers
	t.Logf("%d idle pollers: heap+stack %d MB -> %d MB (+%d bytes per poller, client and server side together), goroutines %d -> %d",
		pollers, before>>20, after>>20, per, gBefore, gAfter)
	// The server still answers while they are parked.
	t0 := time.Now()
	if _, err := cl[0].StartWorkflowExecution(erCtx(t, 10*time.Second), erStartReq("lm-while-parked-"+uuid.NewString()[:8], "lm-idle-0")); err != nil {
		t.Fatalf("start while 10k polls are parked: %v", err)
	}
	t.Logf("start while parked took %v", time.Since(t0))
	if per > 64<<10 {
		t.Errorf("an idle poller costs %d bytes (over 64 KB): 10,000 cost %d MB", per, (after-before)>>20)
	}
	// Shutdown releases every poll promptly.
	t0 = time.Now()
	e.stop()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatalf("only %d of %d polls returned within 15 s of shutdown", returned.Load(), pollers)
	}
	t.Logf("shutdown released %d polls in %v", pollers, time.Since(t0))
	codesSeen.Range(func(k, v any) bool {
		t.Logf("poll result after shutdown: %v x %d", k, v.(*atomic.Int64).Load())
		if k.(codes.Code) == codes.Internal {
			t.Errorf("polls ended with Internal")
		}
		return true
	})
}

// TestLimitsBufferedEvents: signals that arrive while a workflow task runs
// are buffered. Temporal bounds the buffer (history.maximumBufferedEventsBatch
// 100 events, history.maximumBufferedEventsSizeInBytes 2 MB,
// mutable_state_impl.go closeTransactionHandleBufferedEventsLimit): past it
// the running task is failed with FORCE_CLOSE_COMMAND, the buffer is
// flushed into history and a new task is scheduled, so history limits apply.
func TestLimitsBufferedEvents(t *testing.T) {
	e := newEnv(t)
	svc, _ := lmSvc(t, e.srv.Addr())
	id, _ := lmPollTask(t, svc, "lm-buf") // the task stays started
	for i := 0; i < 3; i++ {
		if _, err := svc.SignalWorkflowExecution(erCtx(t, 20*time.Second), &workflowservice.SignalWorkflowExecutionRequest{
			Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: id}, SignalName: "s", Input: rtPayloads(1500 << 10)}); err != nil {
			t.Fatal(err)
		}
	}
	evs := lmHistory(t, svc, id)
	if count(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED) == 0 || count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) == 0 {
		t.Fatalf("4.5 MB of signals buffered behind a running task; want the task force-failed and the buffer flushed: %v", types(evs))
	}
	var cause enumspb.WorkflowTaskFailedCause
	for _, ev := range evs {
		if a := ev.GetWorkflowTaskFailedEventAttributes(); a != nil {
			cause = a.Cause
		}
	}
	if cause != enumspb.WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND {
		t.Errorf("task failed with cause %v, want FORCE_CLOSE_COMMAND", cause)
	}
}
