package gosdk

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/types/known/durationpb"
)

// TestClusterTimeSkippingChild: on a cluster, a skipping parent's child
// owned by another node inherits the config (without the fast-forward)
// and the parent's virtual time, and the fast-forward poll sent to a node
// that does not own the workflow is answered by its owner.
func TestClusterTimeSkippingChild(t *testing.T) {
	tc := newCluster(t, 3)
	tc.workers(func(w worker.Worker) {
		w.RegisterWorkflow(TsParentWorkflow)
		w.RegisterWorkflow(TsChildWorkflow)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var id string
	for {
		id = fmt.Sprintf("ts-cparent-%s", uuid.NewString()[:8])
		if tc.ownerOf(id) != tc.ownerOf(id+"-child") {
			break
		}
	}
	owner := tc.ownerOf(id)
	other := (owner + 1) % 3
	began := time.Now()
	ff := &commonpb.FastForwardConfig{Id: "ff", Duration: durationpb.New(1000 * time.Hour)}
	req := &workflowservice.StartWorkflowExecutionRequest{Namespace: "default", WorkflowId: id,
		RequestId: uuid.NewString(), WorkflowType: &commonpb.WorkflowType{Name: "TsParentWorkflow"}, TaskQueue: &taskqueuepb.TaskQueue{Name: tc.tq},
		TimeSkippingConfig: &commonpb.TimeSkippingConfig{Enabled: true, FastForwardConfig: ff}}
	// A shard may still be moving right after the cluster started: the
	// start is retried (same request id) as a client would.
	var err error
	waitFor(t, 20*time.Second, "the start accepted", func() bool {
		_, err = tc.nodes[other].c.WorkflowService().StartWorkflowExecution(ctx, req)
		return err == nil
	})
	var times []time.Time
	if err := tc.nodes[other].c.GetWorkflow(ctx, id, "").Get(ctx, &times); err != nil {
		t.Fatal(err)
	}
	if len(times) != 2 || times[0].Sub(began) < 2*time.Hour || times[1].Sub(times[0]) < 3*time.Hour || time.Since(began) > 20*time.Second {
		t.Fatalf("times %v (began %s, took %s)", times, began, time.Since(began))
	}
	child := historyOf(t, tc.nodes[other].c, id+"-child")
	st := child[0].GetWorkflowExecutionStartedEventAttributes()
	if c := st.GetTimeSkippingConfig(); !c.GetEnabled() || c.GetFastForwardConfig() != nil {
		t.Fatalf("child's config %v", c)
	}
	if d := st.GetTimeSkippingStatePropagation().GetInitialSkippedDuration().AsDuration(); d < 2*time.Hour-time.Minute {
		t.Fatalf("child inherits %s skipped", d)
	}
	if n := count(child, evTransitioned); n != 1 {
		t.Fatalf("child made %d transitions", n)
	}
	// The parent ended before its fast-forward's target.
	r, err := tc.nodes[other].c.WorkflowService().PollWorkflowExecutionTimeSkipping(ctx, &workflowservice.PollWorkflowExecutionTimeSkippingRequest{Namespace: "default",
		WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: id}, FastForwardId: "ff"})
	if err != nil || r.FastForwardPollingResult != enumspb.FAST_FORWARD_POLLING_RESULT_FAST_FORWARD_FAILED ||
		r.FailedReason != "the execution ended before the fast-forward completed" {
		t.Fatalf("poll through node %d: %v %v", other, r, err)
	}
}
