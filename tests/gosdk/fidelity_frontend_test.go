package gosdk

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	querypb "go.temporal.io/api/query/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	updatepb "go.temporal.io/api/update/v1"
	workerpb "go.temporal.io/api/worker/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// TestFidelityHealth: the gRPC health service answers SERVING for the
// WorkflowService (what the SDKs' CheckHealth and `temporal operator
// cluster health` ask), the OperatorService and the empty name, as
// Temporal's frontend does; an unknown service is NotFound.
func TestFidelityHealth(t *testing.T) {
	e := newEnv(t)
	if _, err := e.c.CheckHealth(e.ctx(), &client.CheckHealthRequest{}); err != nil {
		t.Fatalf("SDK CheckHealth: %v", err)
	}
	conn, err := grpc.NewClient(e.srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	for _, svc := range []string{"", "temporal.api.workflowservice.v1.WorkflowService", "temporal.api.operatorservice.v1.OperatorService"} {
		resp, err := hc.Check(e.ctx(), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil {
			t.Fatalf("Check(%q): %v", svc, err)
		}
		if resp.Status != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("Check(%q) = %v, want SERVING", svc, resp.Status)
		}
	}
	if _, err := hc.Check(e.ctx(), &healthpb.HealthCheckRequest{Service: "no.such.Service"}); status.Code(err) != codes.NotFound {
		t.Fatalf("Check(unknown) = %v, want NotFound", err)
	}
}

func fqWorkflow(ctx workflow.Context) (string, error) {
	if err := workflow.SetQueryHandler(ctx, "state", func() (string, error) { return "waiting", nil }); err != nil {
		return "", err
	}
	workflow.GetSignalChannel(ctx, "finish").Receive(ctx, nil)
	return "done", nil
}

// fqQuery queries through the raw WorkflowService client (the SDK's
// QueryWorkflow gives the RPC half the caller's time) with a deadline d
// from now, and returns the error (a service error) and how long the
// call took.
func fqQuery(t *testing.T, c client.Client, id, runID string, d time.Duration) (error, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	began := time.Now()
	_, err := c.WorkflowService().QueryWorkflow(ctx, &workflowservice.QueryWorkflowRequest{
		Namespace: "default",
		Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: runID},
		Query:     &querypb.WorkflowQuery{QueryType: "state"},
	})
	return err, time.Since(began)
}

// TestFidelityQueryNoWorker: how a query ends when no worker answers, as in
// Temporal (matching's queryPollerUnavailableWindow of 20 s, history's
// buffered queries and WorkflowNotReady refusals).
func TestFidelityQueryNoWorker(t *testing.T) {
	e := newEnv(t)

	// Runs blocked on a signal after their first workflow task.
	startIdle := func(name string) client.WorkflowRun {
		t.Helper()
		w := worker.New(e.c, e.tq, worker.Options{})
		w.RegisterWorkflow(fqWorkflow)
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts(name), fqWorkflow)
		if err != nil {
			t.Fatal(err)
		}
		v, err := e.c.QueryWorkflow(e.ctx(), run.GetID(), run.GetRunID(), "state")
		if err != nil {
			t.Fatalf("query with a worker: %v", err)
		}
		var s string
		if err := v.Get(&s); err != nil || s != "waiting" {
			t.Fatalf("query answer %q, %v", s, err)
		}
		w.Stop()
		return run
	}

	t.Run("RecentPollerWaitsForDeadline", func(t *testing.T) {
		// The worker polled a moment ago: Temporal waits out the caller's
		// deadline rather than declaring the worker down.
		run := startIdle("fq-recent")
		err, took := fqQuery(t, e.c, run.GetID(), run.GetRunID(), 2*time.Second)
		var de *serviceerror.DeadlineExceeded
		if !errors.As(err, &de) {
			t.Fatalf("query after the worker stopped: %T %v, want DeadlineExceeded", err, err)
		}
		if took < 1900*time.Millisecond {
			t.Fatalf("query gave up after %v, before the 2s deadline", took)
		}
	})

	t.Run("NoRecentPollerFailsFast", func(t *testing.T) {
		// After a restart nobody has polled the queue: FailedPrecondition
		// a second before the deadline, with matching's message.
		run := startIdle("fq-nopoller")
		e.restart()
		err, took := fqQuery(t, e.c, run.GetID(), run.GetRunID(), 3*time.Second)
		var fp *serviceerror.FailedPrecondition
		if !errors.As(err, &fp) {
			t.Fatalf("query with no poller: %T %v, want FailedPrecondition", err, err)
		}
		if !strings.Contains(fp.Message, "no poller seen for task queue recently, worker may be down") {
			t.Fatalf("message %q", fp.Message)
		}
		if took < 1500*time.Millisecond || took > 2900*time.Millisecond {
			t.Fatalf("answered after %v, want about 2s (a second before the deadline)", took)
		}
		// The run is untouched: a worker answers once it is back.
		startWorker := worker.New(e.c, e.tq, worker.Options{})
		startWorker.RegisterWorkflow(fqWorkflow)
		if err := startWorker.Start(); err != nil {
			t.Fatal(err)
		}
		defer startWorker.Stop()
		if _, err := e.c.QueryWorkflow(e.ctx(), run.GetID(), run.GetRunID(), "state"); err != nil {
			t.Fatalf("query after the worker came back: %v", err)
		}
		if err := e.c.SignalWorkflow(e.ctx(), run.GetID(), run.GetRunID(), "finish", nil); err != nil {
			t.Fatal(err)
		}
		var res string
		if err := e.c.GetWorkflow(e.ctx(), run.GetID(), run.GetRunID()).Get(e.ctx(), &res); err != nil || res != "done" {
			t.Fatalf("result %q, %v", res, err)
		}
		evs := e.history(run.GetID(), run.GetRunID())
		requireWellFormed(t, evs)
		if got := evs[len(evs)-1].EventType; got != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED {
			t.Fatalf("last event %v", got)
		}
	})

	t.Run("FirstTaskNeverRanWaitsForDeadline", func(t *testing.T) {
		// No workflow task completed yet: Temporal buffers the query until
		// one does, so without a worker it times out at the deadline.
		run, err := e.c.ExecuteWorkflow(e.ctx(), client.StartWorkflowOptions{ID: "fq-never-" + uuid.NewString()[:8], TaskQueue: e.tq + "-idle"}, fqWorkflow)
		if err != nil {
			t.Fatal(err)
		}
		err, took := fqQuery(t, e.c, run.GetID(), run.GetRunID(), 2*time.Second)
		var de *serviceerror.DeadlineExceeded
		if !errors.As(err, &de) {
			t.Fatalf("query before the first task: %T %v, want DeadlineExceeded", err, err)
		}
		if took < 1900*time.Millisecond {
			t.Fatalf("query gave up after %v, before the deadline", took)
		}
		// Closed before any workflow task started: WorkflowNotReady.
		if err := e.c.TerminateWorkflow(e.ctx(), run.GetID(), run.GetRunID(), "test"); err != nil {
			t.Fatal(err)
		}
		err, _ = fqQuery(t, e.c, run.GetID(), run.GetRunID(), 5*time.Second)
		var nr *serviceerror.WorkflowNotReady
		if !errors.As(err, &nr) || nr.Message != "Workflow execution closed before WorkflowTaskStarted event" {
			t.Fatalf("query of a run closed before its first task: %T %v", err, err)
		}
	})

	t.Run("StartDelayPastDeadline", func(t *testing.T) {
		o := client.StartWorkflowOptions{ID: "fq-delay-" + uuid.NewString()[:8], TaskQueue: e.tq + "-idle", StartDelay: time.Hour}
		run, err := e.c.ExecuteWorkflow(e.ctx(), o, fqWorkflow)
		if err != nil {
			t.Fatal(err)
		}
		err, took := fqQuery(t, e.c, run.GetID(), run.GetRunID(), 5*time.Second)
		var nr *serviceerror.WorkflowNotReady
		if !errors.As(err, &nr) || nr.Message != "Workflow task is not scheduled yet." {
			t.Fatalf("query during a start delay: %T %v", err, err)
		}
		if took > time.Second {
			t.Fatalf("refusal took %v, want at once", took)
		}
	})
}

// TestFidelityRunIDChecks: every RPC that names a run refuses a run id
// that is not a UUID with InvalidArgument, with Temporal's message: the
// frontend's "Invalid RunId." where Temporal's frontend checks it, and its
// history service's "RunId is not valid UUID." where the id is only
// checked on load (activity *ById calls, update polls).
func TestFidelityRunIDChecks(t *testing.T) {
	e := newEnv(t)
	svc := e.c.WorkflowService()
	const bad = "not-a-uuid"
	ex := &commonpb.WorkflowExecution{WorkflowId: "fr-wf", RunId: bad}
	failure := &failurepb.Failure{Message: "x"}
	calls := map[string]struct {
		call func(ctx context.Context) error
		msg  string
	}{
		"RecordActivityTaskHeartbeatById": {func(ctx context.Context) error {
			_, err := svc.RecordActivityTaskHeartbeatById(ctx, &workflowservice.RecordActivityTaskHeartbeatByIdRequest{Namespace: "default", WorkflowId: "fr-wf", RunId: bad, ActivityId: "a"})
			return err
		}, "RunId is not valid UUID."},
		"RespondActivityTaskCompletedById": {func(ctx context.Context) error {
			_, err := svc.RespondActivityTaskCompletedById(ctx, &workflowservice.RespondActivityTaskCompletedByIdRequest{Namespace: "default", WorkflowId: "fr-wf", RunId: bad, ActivityId: "a"})
			return err
		}, "RunId is not valid UUID."},
		"RespondActivityTaskFailedById": {func(ctx context.Context) error {
			_, err := svc.RespondActivityTaskFailedById(ctx, &workflowservice.RespondActivityTaskFailedByIdRequest{Namespace: "default", WorkflowId: "fr-wf", RunId: bad, ActivityId: "a", Failure: failure})
			return err
		}, "RunId is not valid UUID."},
		"RespondActivityTaskCanceledById": {func(ctx context.Context) error {
			_, err := svc.RespondActivityTaskCanceledById(ctx, &workflowservice.RespondActivityTaskCanceledByIdRequest{Namespace: "default", WorkflowId: "fr-wf", RunId: bad, ActivityId: "a"})
			return err
		}, "RunId is not valid UUID."},
		"PollWorkflowExecutionUpdate": {func(ctx context.Context) error {
			_, err := svc.PollWorkflowExecutionUpdate(ctx, &workflowservice.PollWorkflowExecutionUpdateRequest{Namespace: "default", UpdateRef: &updatepb.UpdateRef{WorkflowExecution: ex, UpdateId: "u"}})
			return err
		}, "RunId is not valid UUID."},
		"DeleteWorkflowExecution": {func(ctx context.Context) error {
			_, err := svc.DeleteWorkflowExecution(ctx, &workflowservice.DeleteWorkflowExecutionRequest{Namespace: "default", WorkflowExecution: ex})
			return err
		}, "Invalid RunId."},
		"ResetStickyTaskQueue": {func(ctx context.Context) error {
			_, err := svc.ResetStickyTaskQueue(ctx, &workflowservice.ResetStickyTaskQueueRequest{Namespace: "default", Execution: ex})
			return err
		}, "Invalid RunId."},
		"GetWorkflowExecutionHistoryReverse": {func(ctx context.Context) error {
			_, err := svc.GetWorkflowExecutionHistoryReverse(ctx, &workflowservice.GetWorkflowExecutionHistoryReverseRequest{Namespace: "default", Execution: ex})
			return err
		}, "Invalid RunId."},
		"DescribeWorkflowExecution": {func(ctx context.Context) error {
			_, err := svc.DescribeWorkflowExecution(ctx, &workflowservice.DescribeWorkflowExecutionRequest{Namespace: "default", Execution: ex})
			return err
		}, "Invalid RunId."},
	}
	for name, c := range calls {
		err := c.call(e.ctx())
		var ia *serviceerror.InvalidArgument
		if !errors.As(err, &ia) || ia.Message != c.msg {
			t.Errorf("%s with run id %q: %T %v, want InvalidArgument %q", name, bad, err, err, c.msg)
		}
	}
	// A well-formed run id that does not exist is NotFound, not refused.
	_, err := svc.RecordActivityTaskHeartbeatById(e.ctx(), &workflowservice.RecordActivityTaskHeartbeatByIdRequest{Namespace: "default", WorkflowId: "fr-wf", RunId: uuid.NewString(), ActivityId: "a"})
	var nf *serviceerror.NotFound
	if !errors.As(err, &nf) {
		t.Fatalf("heartbeat by id of an unknown run: %T %v, want NotFound", err, err)
	}
}

func fdActivity(ctx context.Context) (string, error) { return "ok", nil }

func fdWorkflow(ctx workflow.Context) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	var s string
	err := workflow.ExecuteActivity(ctx, fdActivity).Get(ctx, &s)
	return s, err
}

// TestFidelityDescribeTaskQueue: both modes of DescribeTaskQueue answer as
// Temporal's matching service does: the legacy mode's pollers, status
// (what `temporal task-queue describe --legacy-mode` prints), statistics
// and rate limit; the enhanced mode's per-build-id, per-type pollers,
// statistics and reachability (what `temporal task-queue describe` and the
// Web UI read); and a Nexus-type query lists no workflow or activity poller.
func TestFidelityDescribeTaskQueue(t *testing.T) {
	e := newEnv(t)
	w := worker.New(e.c, e.tq, worker.Options{Identity: "fd-worker", TaskQueueActivitiesPerSecond: 50})
	w.RegisterWorkflow(fdWorkflow)
	w.RegisterActivity(fdActivity)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("fd"), fdWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	var res string
	if err := run.Get(e.ctx(), &res); err != nil || res != "ok" {
		t.Fatalf("workflow: %q %v", res, err)
	}
	svc := e.c.WorkflowService()
	describe := func(r *workflowservice.DescribeTaskQueueRequest) *workflowservice.DescribeTaskQueueResponse {
		t.Helper()
		r.Namespace = "default"
		resp, err := svc.DescribeTaskQueue(e.ctx(), r)
		if err != nil {
			t.Fatalf("DescribeTaskQueue(%v): %v", r, err)
		}
		return resp
	}
	hasPoller := func(ps []*taskqueuepb.PollerInfo, rate float64) bool {
		for _, p := range ps {
			if p.Identity == "fd-worker" && p.RatePerSecond == rate && p.LastAccessTime != nil {
				return true
			}
		}
		return false
	}
	tq := &taskqueuepb.TaskQueue{Name: e.tq, Kind: enumspb.TASK_QUEUE_KIND_NORMAL}

	t.Run("Legacy", func(t *testing.T) {
		// The activity queue is limited to the 50/s its worker asked for
		// (Temporal's effective rate: the worker's when below the system's).
		for _, c := range []struct {
			typ       enumspb.TaskQueueType
			rate      float64
			effective float32
			source    enumspb.RateLimitSource
		}{{enumspb.TASK_QUEUE_TYPE_WORKFLOW, 100000, 1000, enumspb.RATE_LIMIT_SOURCE_SYSTEM}, {enumspb.TASK_QUEUE_TYPE_ACTIVITY, 50, 50, enumspb.RATE_LIMIT_SOURCE_WORKER}} {
			resp := describe(&workflowservice.DescribeTaskQueueRequest{TaskQueue: tq, TaskQueueType: c.typ, IncludeTaskQueueStatus: true, ReportStats: true})
			if !hasPoller(resp.Pollers, c.rate) {
				t.Fatalf("%v pollers %v, want fd-worker at %v/s", c.typ, resp.Pollers, c.rate)
			}
			st := resp.TaskQueueStatus
			if st == nil || st.RatePerSecond != float64(c.effective) || st.BacklogCountHint != 0 || st.TaskIdBlock.GetStartId() != 1 || st.TaskIdBlock.GetEndId() != 100000 {
				t.Fatalf("%v status %v", c.typ, st)
			}
			if resp.Stats == nil || resp.Stats.ApproximateBacklogCount != 0 || resp.Stats.TasksAddRate <= 0 || resp.Stats.TasksDispatchRate <= 0 {
				t.Fatalf("%v stats %v, want no backlog and tasks added and dispatched", c.typ, resp.Stats)
			}
			if p := resp.StatsByPriorityKey[3]; p == nil || p.TasksAddRate != resp.Stats.TasksAddRate {
				t.Fatalf("%v stats by priority %v", c.typ, resp.StatsByPriorityKey)
			}
			if resp.EffectiveRateLimit.GetRequestsPerSecond() != c.effective || resp.EffectiveRateLimit.GetRateLimitSource() != c.source {
				t.Fatalf("%v effective rate limit %v", c.typ, resp.EffectiveRateLimit)
			}
			if resp.VersioningInfo.GetCurrentVersion() != "__unversioned__" {
				t.Fatalf("%v versioning info %v", c.typ, resp.VersioningInfo)
			}
		}
		// Without IncludeTaskQueueStatus and ReportStats, neither is sent.
		resp := describe(&workflowservice.DescribeTaskQueueRequest{TaskQueue: tq})
		if resp.TaskQueueStatus != nil || resp.Stats != nil || !hasPoller(resp.Pollers, 100000) {
			t.Fatalf("plain describe %v", resp)
		}
		// The SDK's DescribeTaskQueue reads the same.
		sdk, err := e.c.DescribeTaskQueue(e.ctx(), e.tq, enumspb.TASK_QUEUE_TYPE_ACTIVITY)
		if err != nil || !hasPoller(sdk.Pollers, 50) {
			t.Fatalf("SDK DescribeTaskQueue: %v %v", sdk, err)
		}
	})

	t.Run("LegacyBacklog", func(t *testing.T) {
		idle := e.tq + "-backlog"
		for i := 0; i < 3; i++ {
			if _, err := e.c.ExecuteWorkflow(e.ctx(), client.StartWorkflowOptions{ID: "fd-backlog-" + uuid.NewString()[:8], TaskQueue: idle}, fdWorkflow); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(50 * time.Millisecond)
		resp := describe(&workflowservice.DescribeTaskQueueRequest{TaskQueue: &taskqueuepb.TaskQueue{Name: idle}, IncludeTaskQueueStatus: true, ReportStats: true})
		st := resp.TaskQueueStatus
		if st.GetBacklogCountHint() != 3 || st.GetReadLevel() != 3 || st.GetAckLevel() != 0 {
			t.Fatalf("backlog status %v", st)
		}
		if resp.Stats.GetApproximateBacklogCount() != 3 || resp.Stats.GetApproximateBacklogAge().AsDuration() < 50*time.Millisecond || resp.Stats.GetTasksDispatchRate() != 0 {
			t.Fatalf("backlog stats %v", resp.Stats)
		}
		if len(resp.Pollers) != 0 {
			t.Fatalf("pollers of a queue nobody polls: %v", resp.Pollers)
		}
	})

	t.Run("NexusHasNoPollers", func(t *testing.T) {
		resp := describe(&workflowservice.DescribeTaskQueueRequest{TaskQueue: tq, TaskQueueType: enumspb.TASK_QUEUE_TYPE_NEXUS})
		if len(resp.Pollers) != 0 {
			t.Fatalf("Nexus pollers %v: workflow pollers listed as Nexus handlers", resp.Pollers)
		}
	})

	t.Run("Enhanced", func(t *testing.T) {
		desc, err := e.c.DescribeTaskQueueEnhanced(e.ctx(), client.DescribeTaskQueueEnhancedOptions{
			TaskQueue: e.tq, ReportPollers: true, ReportStats: true, ReportTaskReachability: true,
		})
		if err != nil {
			t.Fatalf("DescribeTaskQueueEnhanced: %v", err)
		}
		v, ok := desc.VersionsInfo[client.UnversionedBuildID]
		if !ok || len(desc.VersionsInfo) != 1 {
			t.Fatalf("versions info %v, want only the unversioned queue", desc.VersionsInfo)
		}
		if v.TaskReachability != client.BuildIDTaskReachabilityReachable {
			t.Fatalf("reachability %v", v.TaskReachability)
		}
		for _, typ := range []client.TaskQueueType{client.TaskQueueTypeWorkflow, client.TaskQueueTypeActivity} {
			info, ok := v.TypesInfo[typ]
			if !ok || len(info.Pollers) != 1 || info.Pollers[0].Identity != "fd-worker" {
				t.Fatalf("type %v info %+v", typ, info)
			}
			if info.Stats == nil || info.Stats.TasksDispatchRate <= 0 {
				t.Fatalf("type %v stats %+v", typ, info.Stats)
			}
		}
		if len(v.TypesInfo) != 2 {
			t.Fatalf("types %v, want workflow and activity by default", v.TypesInfo)
		}
		// Nexus asked for explicitly: present, with no pollers.
		desc, err = e.c.DescribeTaskQueueEnhanced(e.ctx(), client.DescribeTaskQueueEnhancedOptions{
			TaskQueue: e.tq, ReportPollers: true, TaskQueueTypes: []client.TaskQueueType{client.TaskQueueTypeNexus},
		})
		if err != nil {
			t.Fatal(err)
		}
		info, ok := desc.VersionsInfo[""].TypesInfo[client.TaskQueueTypeNexus]
		if !ok || len(info.Pollers) != 0 || info.Stats != nil {
			t.Fatalf("nexus type info %+v (present %v)", info, ok)
		}
		// A build id no worker uses: listed, empty, unreachable.
		desc, err = e.c.DescribeTaskQueueEnhanced(e.ctx(), client.DescribeTaskQueueEnhancedOptions{
			TaskQueue: e.tq, ReportPollers: true, ReportTaskReachability: true, Versions: &client.TaskQueueVersionSelection{BuildIDs: []string{"b1"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if b := desc.VersionsInfo["b1"]; len(desc.VersionsInfo) != 1 || b.TaskReachability != client.BuildIDTaskReachabilityUnreachable || len(b.TypesInfo[client.TaskQueueTypeWorkflow].Pollers) != 0 {
			t.Fatalf("versions info for b1 %+v", desc.VersionsInfo)
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		cases := map[string]struct {
			r   *workflowservice.DescribeTaskQueueRequest
			msg string
		}{
			"enhanced sticky": {&workflowservice.DescribeTaskQueueRequest{ApiMode: enumspb.DESCRIBE_TASK_QUEUE_MODE_ENHANCED, TaskQueue: &taskqueuepb.TaskQueue{Name: "s", Kind: enumspb.TASK_QUEUE_KIND_STICKY}},
				"Enhanced DescribeTaskQueue is not valid for a sticky queue, use api_mode=UNSPECIFIED or a normal queue."},
			"enhanced partition": {&workflowservice.DescribeTaskQueueRequest{ApiMode: enumspb.DESCRIBE_TASK_QUEUE_MODE_ENHANCED, TaskQueue: &taskqueuepb.TaskQueue{Name: "/_sys/" + e.tq + "/1"}},
				"task queue name cannot start with reserved prefix /_sys/"},
			"no task queue":   {&workflowservice.DescribeTaskQueueRequest{}, "taskQueue is not set"},
			"empty task name": {&workflowservice.DescribeTaskQueueRequest{TaskQueue: &taskqueuepb.TaskQueue{}}, "missing task queue name"},
		}
		for name, c := range cases {
			c.r.Namespace = "default"
			_, err := svc.DescribeTaskQueue(e.ctx(), c.r)
			var ia *serviceerror.InvalidArgument
			if !errors.As(err, &ia) || ia.Message != c.msg {
				t.Errorf("%s: %T %v, want InvalidArgument %q", name, err, err, c.msg)
			}
		}
	})
}

// TestFidelityWorkerHeartbeats: the namespace advertises WorkerHeartbeats,
// so the Go SDK's workers heartbeat (here every second); ListWorkers (with
// its query), CountWorkers and DescribeWorker then show them, and the
// heartbeat a stopping worker sends with ShutdownWorker marks it
// ShuttingDown, as in Temporal.
func TestFidelityWorkerHeartbeats(t *testing.T) {
	e := newEnv(t)
	svc := e.c.WorkflowService()
	ns, err := svc.DescribeNamespace(e.ctx(), &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	caps := ns.NamespaceInfo.GetCapabilities()
	if !caps.GetWorkerHeartbeats() || !caps.GetSyncUpdate() || !caps.GetAsyncUpdate() || !caps.GetWorkflowPause() {
		t.Fatalf("capabilities %v: want worker heartbeats, updates and workflow pause", caps)
	}
	if caps.GetEagerWorkflowStart() || caps.GetWorkerCommands() || caps.GetPollerAutoscaling() {
		t.Fatalf("capabilities %v: advertises what Sundial does not do", caps)
	}
	list, err := svc.ListNamespaces(e.ctx(), &workflowservice.ListNamespacesRequest{})
	if err != nil || len(list.Namespaces) == 0 || !list.Namespaces[0].NamespaceInfo.GetCapabilities().GetWorkerHeartbeats() {
		t.Fatalf("ListNamespaces capabilities: %v %v", list, err)
	}

	c, err := client.Dial(client.Options{HostPort: e.srv.Addr(), Logger: quietLogger{}, WorkerHeartbeatInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w := worker.New(c, e.tq, worker.Options{Identity: "hb-worker"})
	w.RegisterWorkflow(fdWorkflow)
	w.RegisterActivity(fdActivity)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			w.Stop()
		}
	}()

	query := "TaskQueue = '" + e.tq + "'"
	var info *workerpb.WorkerListInfo
	deadline := time.Now().Add(10 * time.Second)
	for info == nil && time.Now().Before(deadline) {
		resp, err := svc.ListWorkers(e.ctx(), &workflowservice.ListWorkersRequest{Namespace: "default", Query: query})
		if err != nil {
			t.Fatalf("ListWorkers: %v", err)
		}
		if len(resp.Workers) > 0 {
			info = resp.Workers[0]
			if len(resp.Workers) != 1 || len(resp.WorkersInfo) != 1 { //nolint:staticcheck // deprecated field still filled
				t.Fatalf("workers %v, full %v", resp.Workers, resp.WorkersInfo) //nolint:staticcheck // deprecated field still filled
			}
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if info == nil {
		t.Fatalf("the worker never heartbeated")
	}
	if info.WorkerIdentity != "hb-worker" || info.SdkName != "temporal-go" || info.Status != enumspb.WORKER_STATUS_RUNNING || info.WorkerInstanceKey == "" || info.HostName == "" || info.StartTime == nil {
		t.Fatalf("worker %v", info)
	}
	count := func(q string) int64 {
		t.Helper()
		r, err := svc.CountWorkers(e.ctx(), &workflowservice.CountWorkersRequest{Namespace: "default", Query: q})
		if err != nil {
			t.Fatalf("CountWorkers(%q): %v", q, err)
		}
		return r.Count
	}
	if n := count(query + " AND WorkerStatus = 'Running'"); n != 1 {
		t.Fatalf("count running = %d", n)
	}
	if n := count("TaskQueue = 'no-such-queue'"); n != 0 {
		t.Fatalf("count of another queue = %d", n)
	}
	if _, err := svc.CountWorkers(e.ctx(), &workflowservice.CountWorkersRequest{Namespace: "default", Query: "TaskQueue ="}); err == nil {
		t.Fatalf("malformed query accepted")
	} else if _, ok := err.(*serviceerror.InvalidArgument); !ok {
		t.Fatalf("malformed query: %T %v", err, err)
	}
	d, err := svc.DescribeWorker(e.ctx(), &workflowservice.DescribeWorkerRequest{Namespace: "default", WorkerInstanceKey: info.WorkerInstanceKey})
	if err != nil {
		t.Fatalf("DescribeWorker: %v", err)
	}
	if hb := d.WorkerInfo.GetWorkerHeartbeat(); hb.GetTaskQueue() != e.tq || hb.GetHeartbeatTime() == nil || hb.GetWorkflowPollerInfo() == nil {
		t.Fatalf("described heartbeat %v", hb)
	}
	if _, err := svc.DescribeWorker(e.ctx(), &workflowservice.DescribeWorkerRequest{Namespace: "default", WorkerInstanceKey: "nope"}); err == nil {
		t.Fatalf("unknown worker described")
	} else if _, ok := err.(*serviceerror.NotFound); !ok {
		t.Fatalf("unknown worker: %T %v", err, err)
	}

	// Heartbeats keep coming: the heartbeat time advances.
	first := d.WorkerInfo.WorkerHeartbeat.HeartbeatTime.AsTime()
	time.Sleep(2500 * time.Millisecond)
	d, err = svc.DescribeWorker(e.ctx(), &workflowservice.DescribeWorkerRequest{Namespace: "default", WorkerInstanceKey: info.WorkerInstanceKey})
	if err != nil || !d.WorkerInfo.WorkerHeartbeat.HeartbeatTime.AsTime().After(first) {
		t.Fatalf("heartbeat did not advance: %v %v", d, err)
	}

	// Stopping: the final heartbeat with ShutdownWorker says ShuttingDown.
	w.Stop()
	stopped = true
	d, err = svc.DescribeWorker(e.ctx(), &workflowservice.DescribeWorkerRequest{Namespace: "default", WorkerInstanceKey: info.WorkerInstanceKey})
	if err != nil || d.WorkerInfo.WorkerHeartbeat.Status != enumspb.WORKER_STATUS_SHUTTING_DOWN {
		t.Fatalf("after stop: %v %v", d, err)
	}
}
