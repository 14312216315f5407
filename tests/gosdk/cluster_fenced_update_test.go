package gosdk

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/sundial-io/sundial/internal/cluster"
	"github.com/sundial-io/sundial/internal/server"
	"github.com/sundial-io/sundial/internal/store/pgstore/pgtest"
)

// fencedUpdateEntered and fencedUpdateRelease hold the update's validator
// (in the worker, this process) inside the workflow task, so the test can
// take the shard away between the task's start and its completion.
var (
	fencedUpdateEntered = make(chan struct{}, 1)
	fencedUpdateRelease = make(chan struct{})
)

// fencedUpdateWorkflow waits for "go"; its update "bump" returns its
// argument after a validator that waits for the test.
func fencedUpdateWorkflow(ctx workflow.Context) (int, error) {
	err := workflow.SetUpdateHandlerWithOptions(ctx, "bump", func(ctx workflow.Context, by int) (int, error) { return by, nil },
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, by int) error {
			select {
			case fencedUpdateEntered <- struct{}{}:
			default:
			}
			select {
			case <-fencedUpdateRelease:
			case <-time.After(700 * time.Millisecond): // under the SDK's 1 s deadlock detector
			}
			return nil
		}})
	if err != nil {
		return 0, err
	}
	workflow.GetSignalChannel(ctx, "go").Receive(ctx, nil)
	return 0, nil
}

// TestClusterFencedUpdateNotAcknowledged: an update whose completion is
// written after the node lost the workflow's shard (the write is refused by
// the fence) must not be acknowledged as completed. Found by the crash
// torture (cmd/sundial-torture, cluster mode): an update the client got
// "completed" for was missing from the workflow's history. The node
// marked the fenced write "durable" before dropping the workflow, so the
// update's waiter, released by that, answered from memory that was never
// stored.
func TestClusterFencedUpdateNotAcknowledged(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	url := pg.NewDatabase(t)
	srv, err := server.Start(server.Config{Addr: "127.0.0.1:0", Postgres: url, Logger: slog.New(slog.DiscardHandler),
		Cluster: &server.ClusterConfig{NodeAddr: "127.0.0.1:0", ShardCount: 16, LeasePeriod: 6 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	c, err := client.Dial(client.Options{HostPort: srv.Addr(), Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const tq = "fenced-update"
	w := worker.New(c, tq, worker.Options{})
	w.RegisterWorkflow(fencedUpdateWorkflow)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	const id = "fenced-update-wf"
	if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tq}, fencedUpdateWorkflow); err != nil {
		t.Fatal(err)
	}
	waitEventsOf(ctx, t, c, id, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)

	// The update goes out; once its workflow task has started (the worker
	// is in the validator), the shard is taken away behind the node's
	// back, then the worker completes the task: that write is fenced.
	shard := cluster.ShardOf("default", id, 16)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// A raw update call (the SDK would retry Unavailable).
	gc, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer gc.Close()
	args, err := converter.GetDefaultDataConverter().ToPayloads(5)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		resp *workflowservice.UpdateWorkflowExecutionResponse
		err  error
	}
	done := make(chan result, 1)
	go func() {
		uctx, ucancel := context.WithTimeout(ctx, 20*time.Second)
		defer ucancel()
		resp, err := workflowservice.NewWorkflowServiceClient(gc).UpdateWorkflowExecution(uctx, &workflowservice.UpdateWorkflowExecutionRequest{
			Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: id},
			WaitPolicy: &updatepb.WaitPolicy{LifecycleStage: enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED},
			Request: &updatepb.Request{Meta: &updatepb.Meta{UpdateId: "fenced-u1", Identity: "test"},
				Input: &updatepb.Input{Name: "bump", Args: args}},
		})
		done <- result{resp, err}
	}()
	select {
	case <-fencedUpdateEntered:
	case <-ctx.Done():
		t.Fatal("the update's workflow task never reached the worker")
	}
	if _, err := conn.Exec(ctx, `UPDATE shard_leases SET owner = 'ghost', epoch = epoch + 1 WHERE shard = $1`, shard); err != nil {
		t.Fatal(err)
	}
	fencedUpdateRelease <- struct{}{}
	r := <-done
	resp, uerr := r.resp, r.err
	acked := uerr == nil && resp.GetStage() == enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED
	t.Logf("update with the lease taken away: stage %v, err %v", resp.GetStage(), uerr)

	// The node takes the shard back and reloads the run from the store.
	deadline := time.Now().Add(20 * time.Second)
	for {
		d, err := c.DescribeWorkflowExecution(ctx, id, "")
		if err == nil && d.WorkflowExecutionInfo.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("workflow not served again: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	completed := 0
	for _, ev := range historyOf(t, c, id) {
		if a := ev.GetWorkflowExecutionUpdateCompletedEventAttributes(); a != nil && a.GetMeta().GetUpdateId() == "fenced-u1" {
			completed++
		}
	}
	if acked && completed != 1 {
		t.Fatalf("the update was acknowledged as completed, but its history has %d UpdateCompleted events for it", completed)
	}
}

// waitEventsOf waits until the workflow's history has an event of type typ.
func waitEventsOf(ctx context.Context, t *testing.T, c client.Client, id string, typ enumspb.EventType) {
	t.Helper()
	for ctx.Err() == nil {
		for _, ev := range historyOf(t, c, id) {
			if ev.EventType == typ {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: no %v event", id, typ)
}
