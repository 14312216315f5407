package gosdk

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nexus-rpc/sdk-go/nexus"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	nexuspb "go.temporal.io/api/nexus/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc/codes"
)

const nexusTestService = "greeter"

var (
	nexusHello = nexus.NewSyncOperation("hello", func(ctx context.Context, name string, _ nexus.StartOperationOptions) (string, error) {
		return "Hello, " + name, nil
	})
	nexusOpFails = nexus.NewSyncOperation("fails", func(ctx context.Context, name string, _ nexus.StartOperationOptions) (string, error) {
		return "", nexus.NewOperationFailedError("no greeting for " + name)
	})
	nexusBadRequest = nexus.NewSyncOperation("bad-request", func(ctx context.Context, name string, _ nexus.StartOperationOptions) (string, error) {
		return "", nexus.HandlerErrorf(nexus.HandlerErrorTypeBadRequest, "name %q is not allowed", name)
	})
	nexusSlow = nexus.NewSyncOperation("slow", func(ctx context.Context, name string, _ nexus.StartOperationOptions) (string, error) {
		time.Sleep(2 * time.Second)
		return "late " + name, nil
	})
)

// nexusCaller runs one operation of the greeter service on endpoint.
func nexusCaller(ctx workflow.Context, endpoint, op, name string, timeout time.Duration) (string, error) {
	c := workflow.NewNexusClient(endpoint, nexusTestService)
	var out string
	err := c.ExecuteOperation(ctx, op, name, workflow.NexusOperationOptions{ScheduleToCloseTimeout: timeout}).Get(ctx, &out)
	return out, err
}

func nexusEndpoint(t *testing.T, e *env, name string) *nexuspb.Endpoint {
	t.Helper()
	resp, err := e.c.OperatorService().CreateNexusEndpoint(e.ctx(), &operatorservice.CreateNexusEndpointRequest{Spec: &nexuspb.EndpointSpec{
		Name: name, Target: &nexuspb.EndpointTarget{Variant: &nexuspb.EndpointTarget_Worker_{Worker: &nexuspb.EndpointTarget_Worker{Namespace: "default", TaskQueue: e.tq}}},
	}})
	if err != nil {
		t.Fatalf("CreateNexusEndpoint: %v", err)
	}
	return resp.Endpoint
}

func findEvent(evs []*historypb.HistoryEvent, t enumspb.EventType) *historypb.HistoryEvent {
	for _, ev := range evs {
		if ev.EventType == t {
			return ev
		}
	}
	return nil
}

// TestNexusSyncOperations: a workflow calls synchronous Nexus operations
// handled by a worker on the endpoint's target queue. A result completes the
// operation (Scheduled then Completed, no Started event); an operation error
// and a non-retryable handler error fail it with Temporal's failure shape
// (NexusOperationError wrapping the handler's error); a handler slower than
// the schedule-to-close timeout times it out.
func TestNexusSyncOperations(t *testing.T) {
	e := newEnv(t)
	ep := nexusEndpoint(t, e, "greeter-endpoint")
	svc := nexus.NewService(nexusTestService)
	svc.MustRegister(nexusHello, nexusOpFails, nexusBadRequest, nexusSlow)
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(nexusCaller)
		w.RegisterNexusService(svc)
	})

	run := func(op string, timeout time.Duration) (string, error, []*historypb.HistoryEvent) {
		t.Helper()
		r, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("nexus-"+op), nexusCaller, ep.Spec.Name, op, "Ada", timeout)
		if err != nil {
			t.Fatal(err)
		}
		var out string
		err = r.Get(e.ctx(), &out)
		return out, err, e.history(r.GetID(), r.GetRunID())
	}

	t.Run("Success", func(t *testing.T) {
		out, err, evs := run("hello", time.Minute)
		if err != nil || out != "Hello, Ada" {
			t.Fatalf("result %q, %v; want %q", out, err, "Hello, Ada")
		}
		requireWellFormed(t, evs)
		sched := findEvent(evs, enumspb.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED)
		done := findEvent(evs, enumspb.EVENT_TYPE_NEXUS_OPERATION_COMPLETED)
		if sched == nil || done == nil || findEvent(evs, enumspb.EVENT_TYPE_NEXUS_OPERATION_STARTED) != nil {
			t.Fatalf("history %v: want NexusOperationScheduled, NexusOperationCompleted and no Started", types(evs))
		}
		a := sched.GetNexusOperationScheduledEventAttributes()
		if a.Endpoint != ep.Spec.Name || a.EndpointId != ep.Id || a.Service != nexusTestService || a.Operation != "hello" || a.RequestId == "" {
			t.Errorf("scheduled attributes %v", a)
		}
		if got := done.GetNexusOperationCompletedEventAttributes(); got.ScheduledEventId != sched.EventId || !strings.Contains(string(got.Result.GetData()), "Hello, Ada") {
			t.Errorf("completed attributes %v", got)
		}
	})

	for _, op := range []string{"fails", "bad-request"} {
		t.Run("Failure/"+op, func(t *testing.T) {
			_, err, evs := run(op, time.Minute)
			var nerr *temporal.NexusOperationError
			if !errors.As(err, &nerr) || nerr.Operation != op || nerr.Service != nexusTestService {
				t.Fatalf("error %v; want a NexusOperationError for %s", err, op)
			}
			if !strings.Contains(err.Error(), "Ada") {
				t.Errorf("error %v does not carry the handler's message", err)
			}
			f := findEvent(evs, enumspb.EVENT_TYPE_NEXUS_OPERATION_FAILED)
			if f == nil {
				t.Fatalf("history %v: no NexusOperationFailed", types(evs))
			}
			fail := f.GetNexusOperationFailedEventAttributes().Failure
			if fail.GetNexusOperationExecutionFailureInfo().GetOperation() != op || fail.GetCause() == nil {
				t.Errorf("failure %v: want NexusOperationFailureInfo with the handler's failure as cause", fail)
			}
		})
	}

	t.Run("TimedOut", func(t *testing.T) {
		_, err, evs := run("slow", time.Second)
		var terr *temporal.TimeoutError
		if !errors.As(err, &terr) || terr.TimeoutType() != enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE {
			t.Fatalf("error %v; want a schedule-to-close TimeoutError", err)
		}
		if findEvent(evs, enumspb.EVENT_TYPE_NEXUS_OPERATION_TIMED_OUT) == nil {
			t.Fatalf("history %v: no NexusOperationTimedOut", types(evs))
		}
	})

	t.Run("UnknownEndpoint", func(t *testing.T) {
		opts := e.opts("nexus-unknown")
		opts.WorkflowTaskTimeout = time.Second
		r, err := e.c.ExecuteWorkflow(e.ctx(), opts, nexusCaller, "no-such-endpoint", "hello", "Ada", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			evs := e.history(r.GetID(), r.GetRunID())
			if f := findEvent(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED); f != nil {
				a := f.GetWorkflowTaskFailedEventAttributes()
				if a.Cause != enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_NEXUS_OPERATION_ATTRIBUTES || !strings.Contains(a.Failure.GetMessage(), "no-such-endpoint") {
					t.Fatalf("workflow task failed with %v %q", a.Cause, a.Failure.GetMessage())
				}
				_ = e.c.TerminateWorkflow(e.ctx(), r.GetID(), r.GetRunID(), "done")
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatal("no WorkflowTaskFailed for an unknown endpoint")
	})
}

// TestNexusEndpointCRUD: the endpoint registry validates specs, keeps names
// unique, checks versions on update and delete, and survives a restart.
func TestNexusEndpointCRUD(t *testing.T) {
	e := newEnv(t)
	want := func(name string, err error, code codes.Code, msg string) {
		t.Helper()
		if s := serviceerror.ToStatus(err); s.Code() != code || !strings.Contains(s.Message(), msg) {
			t.Errorf("%s: %v %q, want %v containing %q", name, s.Code(), s.Message(), code, msg)
		}
	}
	op := func() operatorservice.OperatorServiceClient { return e.c.OperatorService() }
	worker := func(ns, tq string) *nexuspb.EndpointTarget {
		return &nexuspb.EndpointTarget{Variant: &nexuspb.EndpointTarget_Worker_{Worker: &nexuspb.EndpointTarget_Worker{Namespace: ns, TaskQueue: tq}}}
	}
	ep := nexusEndpoint(t, e, "ep-one")
	if ep.Version != 1 || ep.Id == "" || ep.CreatedTime == nil {
		t.Fatalf("created %v", ep)
	}
	_, err := op().CreateNexusEndpoint(e.ctx(), &operatorservice.CreateNexusEndpointRequest{Spec: &nexuspb.EndpointSpec{Name: "ep-one", Target: worker("default", "q")}})
	want("duplicate name", err, codes.AlreadyExists, "ep-one")
	_, err = op().CreateNexusEndpoint(e.ctx(), &operatorservice.CreateNexusEndpointRequest{Spec: &nexuspb.EndpointSpec{Name: "bad name!", Target: worker("default", "q")}})
	want("bad name", err, codes.InvalidArgument, "Spec.Name")
	_, err = op().CreateNexusEndpoint(e.ctx(), &operatorservice.CreateNexusEndpointRequest{Spec: &nexuspb.EndpointSpec{Name: "ep-two", Target: worker("no-such-ns", "q")}})
	want("unknown namespace", err, codes.NotFound, "no-such-ns")
	_, err = op().CreateNexusEndpoint(e.ctx(), &operatorservice.CreateNexusEndpointRequest{Spec: &nexuspb.EndpointSpec{Name: "ep-two", Target: worker("default", "")}})
	want("no task queue", err, codes.InvalidArgument, "TaskQueue")
	_, err = op().CreateNexusEndpoint(e.ctx(), &operatorservice.CreateNexusEndpointRequest{Spec: &nexuspb.EndpointSpec{Name: "ep-two",
		Target: &nexuspb.EndpointTarget{Variant: &nexuspb.EndpointTarget_External_{External: &nexuspb.EndpointTarget_External{Url: "http://x"}}}}})
	want("external target", err, codes.InvalidArgument, "External")

	spec2 := &nexuspb.EndpointSpec{Name: "ep-renamed", Target: worker("default", "other-q")}
	_, err = op().UpdateNexusEndpoint(e.ctx(), &operatorservice.UpdateNexusEndpointRequest{Id: ep.Id, Version: 7, Spec: spec2})
	want("update stale version", err, codes.FailedPrecondition, "version")
	up, err := op().UpdateNexusEndpoint(e.ctx(), &operatorservice.UpdateNexusEndpointRequest{Id: ep.Id, Version: 1, Spec: spec2})
	if err != nil || up.Endpoint.Version != 2 || up.Endpoint.Spec.Name != "ep-renamed" {
		t.Fatalf("update: %v, %v", up, err)
	}
	_, err = op().UpdateNexusEndpoint(e.ctx(), &operatorservice.UpdateNexusEndpointRequest{Id: "missing", Version: 1, Spec: spec2})
	want("update unknown", err, codes.NotFound, "missing")

	e.restart()
	got, err := op().GetNexusEndpoint(e.ctx(), &operatorservice.GetNexusEndpointRequest{Id: ep.Id})
	if err != nil || got.Endpoint.Version != 2 || got.Endpoint.Spec.GetTarget().GetWorker().GetTaskQueue() != "other-q" {
		t.Fatalf("after restart: %v, %v", got, err)
	}
	nexusEndpoint(t, e, "ep-three")
	list, err := op().ListNexusEndpoints(e.ctx(), &operatorservice.ListNexusEndpointsRequest{PageSize: 1})
	if err != nil || len(list.Endpoints) != 1 || len(list.NextPageToken) == 0 {
		t.Fatalf("list page 1: %v, %v", list, err)
	}
	list2, err := op().ListNexusEndpoints(e.ctx(), &operatorservice.ListNexusEndpointsRequest{PageSize: 1, NextPageToken: list.NextPageToken})
	if err != nil || len(list2.Endpoints) != 1 || list2.Endpoints[0].Id == list.Endpoints[0].Id {
		t.Fatalf("list page 2: %v, %v", list2, err)
	}
	byName, err := op().ListNexusEndpoints(e.ctx(), &operatorservice.ListNexusEndpointsRequest{Name: "ep-renamed"})
	if err != nil || len(byName.Endpoints) != 1 || byName.Endpoints[0].Id != ep.Id {
		t.Fatalf("list by name: %v, %v", byName, err)
	}

	_, err = op().DeleteNexusEndpoint(e.ctx(), &operatorservice.DeleteNexusEndpointRequest{Id: ep.Id, Version: 1})
	want("delete stale version", err, codes.FailedPrecondition, "version")
	if _, err = op().DeleteNexusEndpoint(e.ctx(), &operatorservice.DeleteNexusEndpointRequest{Id: ep.Id, Version: 2}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, err = op().GetNexusEndpoint(e.ctx(), &operatorservice.GetNexusEndpointRequest{Id: ep.Id})
	want("get deleted", err, codes.NotFound, ep.Id)
}

// TestNexusPendingAcrossRestart: an operation whose handler is not running
// yet is pending (DescribeWorkflowExecution lists it); it survives a server
// restart, and once a handler polls the endpoint's queue it completes.
func TestNexusPendingAcrossRestart(t *testing.T) {
	e := newEnv(t)
	handlerQueue := e.tq + "-handler"
	_, err := e.c.OperatorService().CreateNexusEndpoint(e.ctx(), &operatorservice.CreateNexusEndpointRequest{Spec: &nexuspb.EndpointSpec{
		Name: "later", Target: &nexuspb.EndpointTarget{Variant: &nexuspb.EndpointTarget_Worker_{Worker: &nexuspb.EndpointTarget_Worker{Namespace: "default", TaskQueue: handlerQueue}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	caller := worker.New(e.c, e.tq, worker.Options{})
	caller.RegisterWorkflow(nexusCaller)
	if err := caller.Start(); err != nil {
		t.Fatal(err)
	}
	r, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("nexus-restart"), nexusCaller, "later", "hello", "Ada", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var pending int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		d, err := e.c.DescribeWorkflowExecution(e.ctx(), r.GetID(), r.GetRunID())
		if err != nil {
			t.Fatal(err)
		}
		if ops := d.PendingNexusOperations; len(ops) == 1 {
			if ops[0].Endpoint != "later" || ops[0].Operation != "hello" || ops[0].State != enumspb.PENDING_NEXUS_OPERATION_STATE_SCHEDULED || ops[0].ScheduledEventId == 0 {
				t.Fatalf("pending operation %v", ops[0])
			}
			pending++
			break
		}
	}
	if pending == 0 {
		t.Fatal("DescribeWorkflowExecution never listed the pending Nexus operation")
	}
	caller.Stop()
	e.restart()

	svc := nexus.NewService(nexusTestService)
	svc.MustRegister(nexusHello)
	handler := worker.New(e.c, handlerQueue, worker.Options{})
	handler.RegisterNexusService(svc)
	if err := handler.Start(); err != nil {
		t.Fatal(err)
	}
	defer handler.Stop()
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(nexusCaller) })
	var out string
	if err := e.c.GetWorkflow(e.ctx(), r.GetID(), r.GetRunID()).Get(e.ctx(), &out); err != nil || out != "Hello, Ada" {
		t.Fatalf("result %q, %v", out, err)
	}
	evs := e.history(r.GetID(), r.GetRunID())
	requireWellFormed(t, evs)
	if count(evs, enumspb.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED) != 1 || count(evs, enumspb.EVENT_TYPE_NEXUS_OPERATION_COMPLETED) != 1 {
		t.Fatalf("history %v", types(evs))
	}
}

// TestNexusEndpointDeleted: an operation whose endpoint is deleted before
// its task is dispatched (here: redispatched after a restart) fails as a
// non-retryable "not registered" error instead of waiting for its timeout.
func TestNexusEndpointDeleted(t *testing.T) {
	e := newEnv(t)
	ep, err := e.c.OperatorService().CreateNexusEndpoint(e.ctx(), &operatorservice.CreateNexusEndpointRequest{Spec: &nexuspb.EndpointSpec{
		Name: "doomed", Target: &nexuspb.EndpointTarget{Variant: &nexuspb.EndpointTarget_Worker_{Worker: &nexuspb.EndpointTarget_Worker{Namespace: "default", TaskQueue: e.tq + "-nobody"}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	caller := worker.New(e.c, e.tq, worker.Options{})
	caller.RegisterWorkflow(nexusCaller)
	if err := caller.Start(); err != nil {
		t.Fatal(err)
	}
	r, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("nexus-deleted"), nexusCaller, "doomed", "hello", "Ada", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		d, err := e.c.DescribeWorkflowExecution(e.ctx(), r.GetID(), r.GetRunID())
		if err != nil {
			t.Fatal(err)
		}
		if len(d.PendingNexusOperations) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the operation was never scheduled")
		}
	}
	if _, err := e.c.OperatorService().DeleteNexusEndpoint(e.ctx(), &operatorservice.DeleteNexusEndpointRequest{Id: ep.Endpoint.Id, Version: ep.Endpoint.Version}); err != nil {
		t.Fatal(err)
	}
	caller.Stop()
	e.restart()
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(nexusCaller) })
	err = e.c.GetWorkflow(e.ctx(), r.GetID(), r.GetRunID()).Get(e.ctx(), nil)
	var nerr *temporal.NexusOperationError
	if !errors.As(err, &nerr) || !strings.Contains(err.Error(), "not registered") {
		t.Fatalf("error %v; want a NexusOperationError saying the endpoint is not registered", err)
	}
	if count(e.history(r.GetID(), r.GetRunID()), enumspb.EVENT_TYPE_NEXUS_OPERATION_FAILED) != 1 {
		t.Fatal("no NexusOperationFailed event")
	}
}
