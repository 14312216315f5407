package gosdk

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc"
)

// taskSources counts where a worker's activity tasks came from: a poll, or
// the RespondWorkflowTaskCompleted response (eager dispatch).
type taskSources struct{ polled, eager atomic.Int32 }

func (s *taskSources) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	switch r := reply.(type) {
	case *workflowservice.PollActivityTaskQueueResponse:
		if len(r.TaskToken) > 0 {
			s.polled.Add(1)
		}
	case *workflowservice.RespondWorkflowTaskCompletedResponse:
		s.eager.Add(int32(len(r.ActivityTasks)))
	}
	return err
}

func EagerTwoActivitiesWorkflow(ctx workflow.Context, name string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	a := workflow.ExecuteActivity(ctx, "EagerGreet", name)
	b := workflow.ExecuteActivity(ctx, "EagerGreet", name+"!")
	var ra, rb string
	if err := a.Get(ctx, &ra); err != nil {
		return "", err
	}
	if err := b.Get(ctx, &rb); err != nil {
		return "", err
	}
	return ra + " " + rb, nil
}

// Activities the SDK asks to run eagerly come back in the workflow task
// completion response, started for that worker, as on Temporal (where eager
// activity execution is on by default); history is unchanged.
func TestEagerActivityDispatch(t *testing.T) {
	e := newEnv(t)
	var src taskSources
	c, err := client.Dial(client.Options{HostPort: e.srv.Addr(), Logger: quietLogger{},
		ConnectionOptions: client.ConnectionOptions{DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(src.intercept)}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w := worker.New(c, e.tq, worker.Options{Identity: "eager-worker"})
	w.RegisterWorkflow(EagerTwoActivitiesWorkflow)
	w.RegisterActivityWithOptions(func(ctx context.Context, s string) (string, error) { return "hi " + s, nil }, activity.RegisterOptions{Name: "EagerGreet"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	run, err := c.ExecuteWorkflow(e.ctx(), e.opts("eager"), EagerTwoActivitiesWorkflow, "ann")
	if err != nil {
		t.Fatal(err)
	}
	var got string
	if err := run.Get(e.ctx(), &got); err != nil {
		t.Fatal(err)
	}
	if got != "hi ann hi ann!" {
		t.Fatalf("result %q", got)
	}
	if src.eager.Load() != 2 || src.polled.Load() != 0 {
		t.Fatalf("activity tasks: %d eager, %d polled; want 2 eager, 0 polled", src.eager.Load(), src.polled.Load())
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	if n := count(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED); n != 2 {
		t.Fatalf("%d ActivityTaskStarted events, want 2", n)
	}
	for _, ev := range evs {
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && a.Identity != "eager-worker" {
			t.Fatalf("started by %q", a.Identity)
		}
	}

	// A worker that disables eager activities gets its tasks by polling.
	var src2 taskSources
	c2, err := client.Dial(client.Options{HostPort: e.srv.Addr(), Logger: quietLogger{},
		ConnectionOptions: client.ConnectionOptions{DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(src2.intercept)}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	tq2 := e.tq + "-noeager"
	w2 := worker.New(c2, tq2, worker.Options{DisableEagerActivities: true})
	w2.RegisterWorkflow(EagerTwoActivitiesWorkflow)
	w2.RegisterActivityWithOptions(func(ctx context.Context, s string) (string, error) { return "yo " + s, nil }, activity.RegisterOptions{Name: "EagerGreet"})
	if err := w2.Start(); err != nil {
		t.Fatal(err)
	}
	defer w2.Stop()
	opts := e.opts("noeager")
	opts.TaskQueue = tq2
	run2, err := c2.ExecuteWorkflow(e.ctx(), opts, EagerTwoActivitiesWorkflow, "bo")
	if err != nil {
		t.Fatal(err)
	}
	if err := run2.Get(e.ctx(), &got); err != nil || got != "yo bo yo bo!" {
		t.Fatalf("result %q, %v", got, err)
	}
	if src2.eager.Load() != 0 || src2.polled.Load() != 2 {
		t.Fatalf("activity tasks: %d eager, %d polled; want 0 eager, 2 polled", src2.eager.Load(), src2.polled.Load())
	}
}
