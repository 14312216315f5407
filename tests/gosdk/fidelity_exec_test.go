package gosdk

// Execution details and history that must match Temporal 1.31: task
// timeouts, command validation, activity timeout types, started-event
// fields, DescribeWorkflowExecution and the like.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"
)

// rawPoll polls the env's task queue for a workflow task with the raw
// service client (a worker that can be made to "die" holding the task).
func (e *env) rawPoll(t *testing.T) *workflowservice.PollWorkflowTaskQueueResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		resp, err := e.c.WorkflowService().PollWorkflowTaskQueue(ctx, &workflowservice.PollWorkflowTaskQueueRequest{
			Namespace: "default", TaskQueue: &taskqueuepb.TaskQueue{Name: e.tq, Kind: enumspb.TASK_QUEUE_KIND_NORMAL}, Identity: "raw-worker",
		})
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		if len(resp.TaskToken) > 0 {
			return resp
		}
	}
}

func FidelityHelloWorkflow(ctx workflow.Context) (string, error) { return "done", nil }

// A worker that dies holding a retried workflow task (attempt 2, whose
// events are kept in memory) must not leave the run stuck: the attempt
// times out after the task timeout and the next worker finishes the run.
func TestFidelityRetriedWorkflowTaskTimesOut(t *testing.T) {
	e := newEnv(t)
	opts := e.opts("retried-wft")
	opts.WorkflowTaskTimeout = time.Second
	run, err := e.c.ExecuteWorkflow(e.ctx(), opts, FidelityHelloWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	first := e.rawPoll(t)
	if first.Attempt != 1 {
		t.Fatalf("first attempt = %d", first.Attempt)
	}
	if _, err := e.c.WorkflowService().RespondWorkflowTaskFailed(e.ctx(), &workflowservice.RespondWorkflowTaskFailedRequest{
		TaskToken: first.TaskToken, Cause: enumspb.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
		Failure: &failurepb.Failure{Message: "boom"}, Identity: "raw-worker",
	}); err != nil {
		t.Fatal(err)
	}
	second := e.rawPoll(t)
	if second.Attempt != 2 {
		t.Fatalf("second attempt = %d", second.Attempt)
	}
	// The raw worker now "dies" holding attempt 2. A real worker takes
	// over once that attempt has timed out.
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(FidelityHelloWorkflow) })
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var got string
	if err := run.Get(ctx, &got); err != nil || got != "done" {
		t.Fatalf("result %q, %v (the retried task's timeout never fired?)", got, err)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	if n := count(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED); n != 1 {
		t.Fatalf("%d WorkflowTaskFailed events: %v", n, types(evs))
	}
	started := allOf(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED)
	last := started[len(started)-1].GetWorkflowTaskStartedEventAttributes()
	sched := allOf(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
	if a := sched[len(sched)-1].GetWorkflowTaskScheduledEventAttributes().Attempt; a != 3 {
		t.Fatalf("completing task attempt = %d, want 3 (started %v): %v", a, last, types(evs))
	}
	requireClosedBy(t, evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
}

// A zero-length timer (Python's workflow.sleep(0) sends one) is accepted
// and fires at once, as in Temporal; a negative one fails the task with
// BadStartTimerAttributes.
func TestFidelityZeroLengthTimer(t *testing.T) {
	e := newEnv(t)
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("zero-timer"), "RawWorkflow")
	if err != nil {
		t.Fatal(err)
	}
	svc := e.c.WorkflowService()
	task := e.rawPoll(t)
	timer := func(id string, d *durationpb.Duration) *commandpb.Command {
		return &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_START_TIMER, Attributes: &commandpb.Command_StartTimerCommandAttributes{
			StartTimerCommandAttributes: &commandpb.StartTimerCommandAttributes{TimerId: id, StartToFireTimeout: d}}}
	}
	_, err = svc.RespondWorkflowTaskCompleted(e.ctx(), &workflowservice.RespondWorkflowTaskCompletedRequest{
		TaskToken: task.TaskToken, Identity: "raw-worker", Commands: []*commandpb.Command{timer("neg", durationpb.New(-time.Second))},
	})
	var invalid *serviceerror.InvalidArgument
	if !errors.As(err, &invalid) || !strings.Contains(err.Error(), "BadStartTimerAttributes: An invalid StartToFireTimeout is set on StartTimerCommand: negative duration. TimerId=neg") {
		t.Fatalf("negative timer: %v", err)
	}
	task = e.rawPoll(t)
	if _, err := svc.RespondWorkflowTaskCompleted(e.ctx(), &workflowservice.RespondWorkflowTaskCompletedRequest{
		TaskToken: task.TaskToken, Identity: "raw-worker", Commands: []*commandpb.Command{timer("zero", durationpb.New(0))},
	}); err != nil {
		t.Fatalf("zero-length timer refused: %v", err)
	}
	task = e.rawPoll(t) // the timer fired at once
	evs := task.History.Events
	if last := evs[len(evs)-3]; last.EventType != enumspb.EVENT_TYPE_TIMER_FIRED || last.GetTimerFiredEventAttributes().TimerId != "zero" {
		t.Fatalf("no TimerFired before the new task: %v", types(evs))
	}
	if _, err := svc.RespondWorkflowTaskCompleted(e.ctx(), &workflowservice.RespondWorkflowTaskCompletedRequest{
		TaskToken: task.TaskToken, Identity: "raw-worker", Commands: []*commandpb.Command{{CommandType: enumspb.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
			Attributes: &commandpb.Command_CompleteWorkflowExecutionCommandAttributes{CompleteWorkflowExecutionCommandAttributes: &commandpb.CompleteWorkflowExecutionCommandAttributes{}}}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := run.Get(e.ctx(), nil); err != nil {
		t.Fatal(err)
	}
	evs = e.history(run.GetID(), run.GetRunID())
	want := []enumspb.EventType{
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, enumspb.EVENT_TYPE_TIMER_STARTED, enumspb.EVENT_TYPE_TIMER_FIRED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
	}
	if fmt.Sprint(types(evs)) != fmt.Sprint(want) {
		t.Fatalf("history %v\nwant    %v", types(evs), want)
	}
	f := evs[3].GetWorkflowTaskFailedEventAttributes()
	if f.Cause != enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES || f.Failure.GetServerFailureInfo() == nil {
		t.Fatalf("failed event %v", f)
	}
	if d := evs[7].GetTimerStartedEventAttributes().StartToFireTimeout; d == nil || d.AsDuration() != 0 {
		t.Fatalf("timer started %v", evs[7])
	}
}

// FidelityUnstartedActivityWorkflow runs an activity no worker polls for,
// with only a schedule-to-close timeout, and returns the timeout type.
func FidelityUnstartedActivityWorkflow(ctx workflow.Context) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{ScheduleToCloseTimeout: 2 * time.Second})
	err := workflow.ExecuteActivity(ctx, "NobodyRunsThis").Get(ctx, nil)
	var te *temporal.TimeoutError
	if !errors.As(err, &te) {
		return "", fmt.Errorf("not a timeout: %v", err)
	}
	return te.TimeoutType().String(), nil
}

// As in Temporal (feature eager_activity/non_remote_activities_worker): an
// activity never started, with only schedule-to-close set, times out
// schedule-to-start (Temporal derives that timeout from schedule-to-close,
// and at the same instant schedule-to-start wins).
func TestFidelityUnstartedActivityTimesOutScheduleToStart(t *testing.T) {
	e := newEnv(t)
	w := worker.New(e.c, e.tq, worker.Options{LocalActivityWorkerOnly: true})
	w.RegisterWorkflow(FidelityUnstartedActivityWorkflow)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("unstarted-activity"), FidelityUnstartedActivityWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	var got string
	if err := run.Get(e.ctx(), &got); err != nil || got != enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START.String() {
		t.Fatalf("timeout type %q, %v", got, err)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	sch := firstOf(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).GetActivityTaskScheduledEventAttributes()
	if sch.ScheduleToStartTimeout.AsDuration() != 2*time.Second || sch.StartToCloseTimeout.AsDuration() != 2*time.Second {
		t.Fatalf("scheduled timeouts not derived from schedule-to-close: %v", sch)
	}
	to := firstOf(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT).GetActivityTaskTimedOutEventAttributes()
	if to.StartedEventId != 0 || to.RetryState != enumspb.RETRY_STATE_TIMEOUT || to.Failure.GetMessage() != "activity ScheduleToStart timeout" {
		t.Fatalf("timed out %v", to)
	}
}

func FidelitySlowActivity(ctx context.Context) (string, error) {
	time.Sleep(700 * time.Millisecond)
	return "ok", nil
}

func FidelitySlowActivityWorkflow(ctx workflow.Context) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	var out string
	err := workflow.ExecuteActivity(ctx, FidelitySlowActivity).Get(ctx, &out)
	return out, err
}

// ActivityTaskStarted's time is when the attempt started (Temporal writes
// the event late but with that time), not when the activity completed.
func TestFidelityActivityStartedEventTime(t *testing.T) {
	e := newEnv(t)
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(FidelitySlowActivityWorkflow)
		w.RegisterActivity(FidelitySlowActivity)
	})
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("activity-started-time"), FidelitySlowActivityWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(e.ctx(), nil); err != nil {
		t.Fatal(err)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	st := firstOf(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED).EventTime.AsTime()
	done := firstOf(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED).EventTime.AsTime()
	if d := done.Sub(st); d < 600*time.Millisecond {
		t.Fatalf("ActivityTaskStarted at %v, completed %v later: started time is the completion time", st, d)
	}
}

func FidelityContinueOnceWorkflow(ctx workflow.Context, n int) (int, error) {
	if n == 0 {
		return 0, workflow.NewContinueAsNewError(ctx, FidelityContinueOnceWorkflow, 1)
	}
	return n, nil
}

// WorkflowExecutionStarted as Temporal writes it: firstWorkflowTaskBackoff
// always (0s without a delay), timeouts the start request left unset
// absent (the task timeout always filled), the static summary/details on
// the event, and each run's originalExecutionRunId its own run id.
func TestFidelityStartedEventFields(t *testing.T) {
	e := newEnv(t)
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(FidelityContinueOnceWorkflow)
		w.RegisterWorkflowWithOptions(FidelityHelloWorkflow, workflow.RegisterOptions{Name: "RawWorkflow"})
	})
	// A raw start that leaves every timeout unset.
	id := "started-fields-" + e.tq
	resp, err := e.c.WorkflowService().StartWorkflowExecution(e.ctx(), &workflowservice.StartWorkflowExecutionRequest{
		Namespace: "default", WorkflowId: id, WorkflowType: &commonpb.WorkflowType{Name: "RawWorkflow"},
		TaskQueue: &taskqueuepb.TaskQueue{Name: e.tq}, RequestId: id,
		UserMetadata: &sdkpb.UserMetadata{Summary: &commonpb.Payload{Data: []byte(`"sum"`)}, Details: &commonpb.Payload{Data: []byte(`"det"`)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.c.GetWorkflow(e.ctx(), id, resp.RunId).Get(e.ctx(), nil); err != nil {
		t.Fatal(err)
	}
	first := e.history(id, resp.RunId)[0]
	a := first.GetWorkflowExecutionStartedEventAttributes()
	if a.WorkflowExecutionTimeout != nil || a.WorkflowRunTimeout != nil {
		t.Fatalf("unset timeouts written: execution %v run %v", a.WorkflowExecutionTimeout, a.WorkflowRunTimeout)
	}
	if a.WorkflowTaskTimeout.AsDuration() != 10*time.Second || a.FirstWorkflowTaskBackoff == nil || a.FirstWorkflowTaskBackoff.AsDuration() != 0 {
		t.Fatalf("task timeout %v, first task backoff %v", a.WorkflowTaskTimeout, a.FirstWorkflowTaskBackoff)
	}
	if string(first.UserMetadata.GetSummary().GetData()) != `"sum"` || string(first.UserMetadata.GetDetails().GetData()) != `"det"` {
		t.Fatalf("user metadata %v", first.UserMetadata)
	}
	d, err := e.c.DescribeWorkflowExecution(e.ctx(), id, resp.RunId)
	if err != nil || string(d.ExecutionConfig.GetUserMetadata().GetSummary().GetData()) != `"sum"` {
		t.Fatalf("describe user metadata %v, %v", d.GetExecutionConfig(), err)
	}

	// A run timeout only: the execution timeout stays absent.
	opts := e.opts("run-timeout-only")
	opts.WorkflowRunTimeout = time.Minute
	run, err := e.c.ExecuteWorkflow(e.ctx(), opts, FidelityContinueOnceWorkflow, 0)
	if err != nil {
		t.Fatal(err)
	}
	firstRunID := run.GetRunID() // Get follows the chain and moves GetRunID on
	var n int
	if err := run.Get(e.ctx(), &n); err != nil || n != 1 {
		t.Fatalf("result %d, %v", n, err)
	}
	evs := e.history(run.GetID(), firstRunID)
	a = evs[0].GetWorkflowExecutionStartedEventAttributes()
	if a.OriginalExecutionRunId != firstRunID || a.FirstExecutionRunId != firstRunID {
		t.Fatalf("first run: original %s first %s, want %s", a.OriginalExecutionRunId, a.FirstExecutionRunId, firstRunID)
	}
	if a.WorkflowRunTimeout.AsDuration() != time.Minute || a.FirstWorkflowTaskBackoff == nil {
		t.Fatalf("first run started %v", a)
	}
	next := evs[len(evs)-1].GetWorkflowExecutionContinuedAsNewEventAttributes().NewExecutionRunId
	b := e.history(run.GetID(), next)[0].GetWorkflowExecutionStartedEventAttributes()
	if b.OriginalExecutionRunId != next || b.FirstExecutionRunId != firstRunID || b.ContinuedExecutionRunId != firstRunID {
		t.Fatalf("continued run: original %s first %s continued %s; run ids %s -> %s", b.OriginalExecutionRunId, b.FirstExecutionRunId, b.ContinuedExecutionRunId, firstRunID, next)
	}
	if b.WorkflowRunTimeout.AsDuration() != time.Minute || b.WorkflowExecutionTimeout.AsDuration() != 0 {
		t.Fatalf("continued run timeouts: execution %v run %v", b.WorkflowExecutionTimeout, b.WorkflowRunTimeout)
	}
}

// Cancelling a workflow that has already closed succeeds and does
// nothing, as in Temporal (current run or a named closed run); a run id
// that never existed is still NotFound.
func TestFidelityCancelClosedWorkflow(t *testing.T) {
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(FidelityHelloWorkflow) })
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("cancel-closed"), FidelityHelloWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(e.ctx(), nil); err != nil {
		t.Fatal(err)
	}
	before := len(e.history(run.GetID(), run.GetRunID()))
	for _, runID := range []string{"", run.GetRunID()} {
		if err := e.c.CancelWorkflow(e.ctx(), run.GetID(), runID); err != nil {
			t.Fatalf("cancel closed (run %q): %v", runID, err)
		}
	}
	if n := len(e.history(run.GetID(), run.GetRunID())); n != before {
		t.Fatalf("history grew %d -> %d", before, n)
	}
	var nf *serviceerror.NotFound
	if err := e.c.CancelWorkflow(e.ctx(), run.GetID(), "8e7c0c58-5c43-4d1a-9ad7-1f2e6c3b4a5d"); !errors.As(err, &nf) {
		t.Fatalf("cancel of an unknown run: %v", err)
	}
}

// FidelityLoopWorkflow sleeps in a loop until the server suggests
// continue-as-new (then returns the iteration) or forever (stopAtSuggest
// false).
func FidelityLoopWorkflow(ctx workflow.Context, stopAtSuggest bool) (int, error) {
	for i := 0; ; i++ {
		if stopAtSuggest && workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return i, nil
		}
		if err := workflow.Sleep(ctx, time.Millisecond); err != nil {
			return 0, err
		}
	}
}

// The history limits are settable the way test suites set them on a dev
// server: `sundial start --dynamic-config-value limit.historyCount.…=N`.
func TestFidelityHistoryLimitFlags(t *testing.T) {
	bin := binBuild(t, t.TempDir())
	cmd := exec.Command(bin, "start", "--ip", "127.0.0.1", "--port", "0", "--memory", "--log-level", "warn",
		"--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=20",
		"--dynamic-config-value", "limit.historyCount.error=60",
		"--dynamic-config-value", "system.enableEagerWorkflowStart=true")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := readyLine.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	var hostPort string
	select {
	case hostPort = <-addr:
	case <-time.After(15 * time.Second):
		t.Fatal("server not ready")
	}
	c, err := client.Dial(client.Options{HostPort: hostPort, Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tq := "limits-" + uuid.NewString()[:8]
	w := worker.New(c, tq, worker.Options{})
	w.RegisterWorkflow(FidelityLoopWorkflow)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: tq}, FidelityLoopWorkflow, true)
	if err != nil {
		t.Fatal(err)
	}
	var iter int
	if err := run.Get(ctx, &iter); err != nil {
		t.Fatal(err)
	}
	it := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var evs []*historypb.HistoryEvent
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	// Suggested on the first task started after event 20.
	var suggestedAt int64
	for _, ev := range evs {
		if a := ev.GetWorkflowTaskStartedEventAttributes(); a != nil && a.SuggestContinueAsNew {
			suggestedAt = ev.EventId
			break
		}
	}
	if suggestedAt <= 20 || suggestedAt > 26 || len(evs) > 30 {
		t.Fatalf("continue-as-new suggested at event %d (history %d events, %d iterations)", suggestedAt, len(evs), iter)
	}

	run, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: tq}, FidelityLoopWorkflow, false)
	if err != nil {
		t.Fatal(err)
	}
	var te *temporal.TerminatedError
	if err := run.Get(ctx, nil); !errors.As(err, &te) {
		t.Fatalf("over the count limit: %v", err)
	}
	it = c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT)
	ev, err := it.Next()
	if err != nil {
		t.Fatal(err)
	}
	if a := ev.GetWorkflowExecutionTerminatedEventAttributes(); a.GetReason() != "Workflow history count exceeds limit." || ev.EventId < 60 || ev.EventId > 70 {
		t.Fatalf("terminated at event %d: %v", ev.EventId, a)
	}
}

// Eager workflow start: a start with request_eager_execution gets the
// first workflow task in its reply (the Go SDK runs it on the worker of
// the same client), as in Temporal: WorkflowTaskStarted is written with
// the start, by the starter's identity, and the started event says
// eagerExecutionAccepted. A start delay declines it.
func TestFidelityEagerWorkflowStart(t *testing.T) {
	e := newEnv(t)
	var eager atomic.Int32
	detect := func(ctx context.Context, method string, req, reply interface{}, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, reply, cc, opts...)
		if r, ok := reply.(*workflowservice.StartWorkflowExecutionResponse); ok && err == nil && r.EagerWorkflowTask != nil {
			eager.Add(1)
		}
		return err
	}
	c, err := client.Dial(client.Options{HostPort: e.srv.Addr(), Logger: quietLogger{}, Identity: "eager-starter",
		ConnectionOptions: client.ConnectionOptions{DialOptions: []grpc.DialOption{grpc.WithUnaryInterceptor(detect)}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w := worker.New(c, e.tq, worker.Options{})
	w.RegisterWorkflow(FidelityHelloWorkflow)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	opts := e.opts("eager-start")
	opts.EnableEagerStart = true
	opts.WorkflowTaskTimeout = time.Hour // a task lost between server and worker would hang the test
	run, err := c.ExecuteWorkflow(e.ctx(), opts, FidelityHelloWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	var got string
	if err := run.Get(e.ctx(), &got); err != nil || got != "done" {
		t.Fatalf("result %q, %v", got, err)
	}
	if eager.Load() != 1 {
		t.Fatalf("%d eager tasks returned", eager.Load())
	}
	evs := e.history(run.GetID(), run.GetRunID())
	want := []enumspb.EventType{enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED}
	if fmt.Sprint(types(evs)) != fmt.Sprint(want) {
		t.Fatalf("history %v", types(evs))
	}
	if !evs[0].GetWorkflowExecutionStartedEventAttributes().EagerExecutionAccepted {
		t.Fatal("eagerExecutionAccepted not set")
	}
	if st := evs[2]; st.GetWorkflowTaskStartedEventAttributes().Identity != "eager-starter" || st.EventTime.AsTime().Sub(evs[0].EventTime.AsTime()) > time.Second {
		t.Fatalf("task started %v (started event at %v)", st, evs[0].EventTime.AsTime())
	}

	// With a start delay the task cannot run now: no eager task, and the
	// workflow still runs through the normal queue after the delay.
	opts = e.opts("eager-delayed")
	opts.EnableEagerStart = true
	opts.StartDelay = 200 * time.Millisecond
	run, err = c.ExecuteWorkflow(e.ctx(), opts, FidelityHelloWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(e.ctx(), nil); err != nil {
		t.Fatal(err)
	}
	if eager.Load() != 1 {
		t.Fatalf("delayed start got an eager task")
	}
	if a := e.history(run.GetID(), run.GetRunID())[0].GetWorkflowExecutionStartedEventAttributes(); a.EagerExecutionAccepted || a.FirstWorkflowTaskBackoff.AsDuration() != 200*time.Millisecond {
		t.Fatalf("delayed start %v", a)
	}
}

// A retried eager start (same request id) gets the same first task again
// while it is the started first attempt, as in Temporal.
func TestFidelityEagerStartRetried(t *testing.T) {
	e := newEnv(t)
	id := "eager-retry-" + e.tq
	req := &workflowservice.StartWorkflowExecutionRequest{
		Namespace: "default", WorkflowId: id, WorkflowType: &commonpb.WorkflowType{Name: "RawWorkflow"},
		TaskQueue: &taskqueuepb.TaskQueue{Name: e.tq}, RequestId: uuid.NewString(), RequestEagerExecution: true, Identity: "raw-starter",
	}
	first, err := e.c.WorkflowService().StartWorkflowExecution(e.ctx(), req)
	if err != nil {
		t.Fatal(err)
	}
	task := first.EagerWorkflowTask
	if task == nil || task.StartedEventId != 3 || task.Attempt != 1 || len(task.History.GetEvents()) != 3 || task.WorkflowExecution.GetRunId() != first.RunId {
		t.Fatalf("eager task %v", task)
	}
	again, err := e.c.WorkflowService().StartWorkflowExecution(e.ctx(), req)
	if err != nil || again.RunId != first.RunId || again.EagerWorkflowTask == nil || again.EagerWorkflowTask.StartedEventId != 3 {
		t.Fatalf("retried start %v, %v", again, err)
	}
	if _, err := e.c.WorkflowService().RespondWorkflowTaskCompleted(e.ctx(), &workflowservice.RespondWorkflowTaskCompletedRequest{
		TaskToken: again.EagerWorkflowTask.TaskToken, Identity: "raw-starter", Commands: []*commandpb.Command{{CommandType: enumspb.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
			Attributes: &commandpb.Command_CompleteWorkflowExecutionCommandAttributes{CompleteWorkflowExecutionCommandAttributes: &commandpb.CompleteWorkflowExecutionCommandAttributes{}}}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.c.GetWorkflow(e.ctx(), id, first.RunId).Get(e.ctx(), nil); err != nil {
		t.Fatal(err)
	}
}

var fidelityFailures atomic.Int32

func FidelityFailOnceActivity(ctx context.Context) error {
	if fidelityFailures.Add(1) == 1 {
		return temporal.NewApplicationError("first attempt fails", "Flaky")
	}
	return nil
}

func FidelityBlockedChild(ctx workflow.Context) error {
	workflow.GetSignalChannel(ctx, "go").Receive(ctx, nil)
	return nil
}

// FidelityDescribedParent has a child and an activity in a long retry
// backoff pending when the test describes it.
func FidelityDescribedParent(ctx workflow.Context) error {
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID + "-child"})
	child := workflow.ExecuteChildWorkflow(cctx, FidelityBlockedChild)
	if err := child.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		return err
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second, HeartbeatTimeout: 5 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 10 * time.Minute, MaximumAttempts: 3},
	})
	if err := workflow.ExecuteActivity(actx, FidelityFailOnceActivity).Get(ctx, nil); err != nil {
		return err
	}
	return child.Get(ctx, nil)
}

// DescribeWorkflowExecution fills what Temporal fills: root execution
// (itself for a top-level run, the top of the tree for a child), extended
// info, auto-reset points, the pending activity's retry state and
// options, pending children and the pending workflow task.
func TestFidelityDescribeFields(t *testing.T) {
	e := newEnv(t)
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(FidelityDescribedParent)
		w.RegisterWorkflow(FidelityBlockedChild)
		w.RegisterActivity(FidelityFailOnceActivity)
	})
	opts := e.opts("describe")
	opts.WorkflowExecutionTimeout = time.Hour
	opts.WorkflowRunTimeout = 30 * time.Minute
	run, err := e.c.ExecuteWorkflow(e.ctx(), opts, FidelityDescribedParent)
	if err != nil {
		t.Fatal(err)
	}
	var d *workflowservice.DescribeWorkflowExecutionResponse
	deadline := time.Now().Add(15 * time.Second)
	for {
		d, err = e.c.DescribeWorkflowExecution(e.ctx(), run.GetID(), run.GetRunID())
		if err != nil {
			t.Fatal(err)
		}
		if len(d.PendingActivities) == 1 && d.PendingActivities[0].Attempt == 2 {
			break
		}
		if time.Now().After(deadline) {
			for _, ev := range e.history(run.GetID(), run.GetRunID()) {
				t.Logf("%d %v %v", ev.EventId, ev.EventType, ev.Attributes)
			}
			t.Fatalf("activity never reached its retry backoff: %v", d.PendingActivities)
		}
		time.Sleep(50 * time.Millisecond)
	}
	info := d.WorkflowExecutionInfo
	if info.RootExecution.GetWorkflowId() != run.GetID() || info.RootExecution.GetRunId() != run.GetRunID() {
		t.Fatalf("root execution %v", info.RootExecution)
	}
	if rp := info.AutoResetPoints.GetPoints(); len(rp) != 1 || rp[0].FirstWorkflowTaskCompletedId != 4 || rp[0].RunId != run.GetRunID() || !rp[0].Resettable {
		t.Fatalf("auto reset points %v", info.AutoResetPoints)
	}
	ext := d.WorkflowExtendedInfo
	start := info.StartTime.AsTime()
	if ext == nil || !ext.OriginalStartTime.AsTime().Equal(start) || !ext.ExecutionExpirationTime.AsTime().Equal(start.Add(time.Hour)) ||
		!ext.RunExpirationTime.AsTime().Equal(start.Add(30*time.Minute)) || ext.CancelRequested {
		t.Fatalf("extended info %v (start %v)", ext, start)
	}
	a := d.PendingActivities[0]
	if a.State != enumspb.PENDING_ACTIVITY_STATE_SCHEDULED || a.LastAttemptCompleteTime == nil || a.NextAttemptScheduleTime == nil ||
		a.CurrentRetryInterval.AsDuration() != 10*time.Minute || a.LastFailure.GetMessage() != "first attempt fails" || a.MaximumAttempts != 3 ||
		!a.ScheduledTime.AsTime().Equal(a.NextAttemptScheduleTime.AsTime()) || a.LastWorkerIdentity == "" {
		t.Fatalf("pending activity %v", a)
	}
	if o := a.ActivityOptions; o.GetStartToCloseTimeout().AsDuration() != 10*time.Second || o.GetHeartbeatTimeout().AsDuration() != 5*time.Second ||
		o.GetRetryPolicy().GetInitialInterval().AsDuration() != 10*time.Minute || o.GetTaskQueue().GetName() != e.tq {
		t.Fatalf("activity options %v", o)
	}
	if len(d.PendingChildren) != 1 || d.PendingChildren[0].WorkflowId != run.GetID()+"-child" || d.PendingChildren[0].RunId == "" {
		t.Fatalf("pending children %v", d.PendingChildren)
	}
	child, err := e.c.DescribeWorkflowExecution(e.ctx(), run.GetID()+"-child", "")
	if err != nil {
		t.Fatal(err)
	}
	if r := child.WorkflowExecutionInfo.RootExecution; r.GetWorkflowId() != run.GetID() || r.GetRunId() != run.GetRunID() {
		t.Fatalf("child root execution %v", r)
	}
	if p := child.WorkflowExecutionInfo.ParentExecution; p.GetWorkflowId() != run.GetID() {
		t.Fatalf("child parent %v", p)
	}

	// Cancel request and the pending workflow task it schedules.
	if err := e.c.CancelWorkflow(e.ctx(), run.GetID(), run.GetRunID()); err != nil {
		t.Fatal(err)
	}
	d, err = e.c.DescribeWorkflowExecution(e.ctx(), run.GetID(), run.GetRunID())
	if err != nil || !d.WorkflowExtendedInfo.GetCancelRequested() {
		t.Fatalf("cancel requested not shown: %v %v", d.GetWorkflowExtendedInfo(), err)
	}
}

// A sticky workflow task no sticky poller takes within the sticky
// schedule-to-start timeout times out in history (WorkflowTaskTimedOut,
// ScheduleToStart, attempt unchanged) and a new task is scheduled on the
// normal queue, as in Temporal.
func TestFidelityStickyScheduleToStartTimeout(t *testing.T) {
	e := newEnv(t)
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("sticky-timeout"), "RawWorkflow")
	if err != nil {
		t.Fatal(err)
	}
	svc := e.c.WorkflowService()
	task := e.rawPoll(t)
	if _, err := svc.RespondWorkflowTaskCompleted(e.ctx(), &workflowservice.RespondWorkflowTaskCompletedRequest{
		TaskToken: task.TaskToken, Identity: "raw-worker",
		StickyAttributes: &taskqueuepb.StickyExecutionAttributes{WorkerTaskQueue: &taskqueuepb.TaskQueue{Name: "dead-sticky-" + e.tq, Kind: enumspb.TASK_QUEUE_KIND_STICKY},
			ScheduleToStartTimeout: durationpb.New(500 * time.Millisecond)},
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.c.SignalWorkflow(e.ctx(), run.GetID(), run.GetRunID(), "wake", nil); err != nil {
		t.Fatal(err)
	}
	task = e.rawPoll(t) // from the normal queue, after the sticky timeout
	if _, err := svc.RespondWorkflowTaskCompleted(e.ctx(), &workflowservice.RespondWorkflowTaskCompletedRequest{
		TaskToken: task.TaskToken, Identity: "raw-worker", Commands: []*commandpb.Command{{CommandType: enumspb.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
			Attributes: &commandpb.Command_CompleteWorkflowExecutionCommandAttributes{CompleteWorkflowExecutionCommandAttributes: &commandpb.CompleteWorkflowExecutionCommandAttributes{}}}},
	}); err != nil {
		t.Fatal(err)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	want := []enumspb.EventType{
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
	}
	if fmt.Sprint(types(evs)) != fmt.Sprint(want) {
		t.Fatalf("history %v\nwant    %v", types(evs), want)
	}
	if to := evs[6].GetWorkflowTaskTimedOutEventAttributes(); to.TimeoutType != enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START || to.ScheduledEventId != 6 || to.StartedEventId != 0 {
		t.Fatalf("timed out %v", to)
	}
	if s := evs[7].GetWorkflowTaskScheduledEventAttributes(); s.TaskQueue.GetKind() != enumspb.TASK_QUEUE_KIND_NORMAL || s.Attempt != 1 {
		t.Fatalf("rescheduled %v", s)
	}
}

var _ = client.StartWorkflowOptions{}
