package engine

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundial-io/sundial/internal/matching"
	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/store/pebblestore"
)

// countingStore counts the batches written to a real store.
type countingStore struct {
	store.Store
	applies atomic.Int32
}

func (s *countingStore) Apply(b *store.Batch) (store.Commit, error) {
	s.applies.Add(1)
	return s.Store.Apply(b)
}

// TestHandOff: a workflow task scheduled while a worker is polling its
// queue is started for that worker in the same write (one write for
// start + task started instead of two); the history is the same as on
// the poll path.
func TestHandOff(t *testing.T) {
	ps, err := pebblestore.Open("", pebblestore.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	st := &countingStore{Store: ps}
	e, err := New(st, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	start := func(id string) {
		t.Helper()
		if _, err := e.StartWorkflow(ctx, &StartParams{Namespace: DefaultNamespace, WorkflowID: id, WorkflowType: &commonpb.WorkflowType{Name: "T"}, TaskQueue: "q", RequestID: id}); err != nil {
			t.Fatal(err)
		}
	}
	poll := func() chan *workflowservice.PollWorkflowTaskQueueResponse {
		out := make(chan *workflowservice.PollWorkflowTaskQueueResponse, 1)
		go func() {
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			resp, err := e.PollWorkflowTask(pctx, &workflowservice.PollWorkflowTaskQueueRequest{Namespace: DefaultNamespace,
				TaskQueue: &taskqueuepb.TaskQueue{Name: "q", Kind: enumspb.TASK_QUEUE_KIND_NORMAL}, Identity: "poller"})
			if err != nil {
				t.Error(err)
			}
			out <- resp
		}()
		return out
	}
	key := matching.Key{Namespace: DefaultNamespace, Name: "q", Kind: matching.Workflow}
	want := fmt.Sprint([]enumspb.EventType{enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED})
	check := func(resp *workflowservice.PollWorkflowTaskQueueResponse, id string, writes int32) {
		t.Helper()
		if resp.GetWorkflowExecution().GetWorkflowId() != id {
			t.Fatalf("polled %v, want %s", resp.GetWorkflowExecution(), id)
		}
		var types []enumspb.EventType
		for _, ev := range resp.History.Events {
			types = append(types, ev.EventType)
		}
		if fmt.Sprint(types) != want {
			t.Fatalf("history %v, want %s", types, want)
		}
		if a := resp.History.Events[2].GetWorkflowTaskStartedEventAttributes(); a.GetIdentity() != "poller" || resp.StartedEventId != 3 {
			t.Fatalf("started event %v, StartedEventId %d", a, resp.StartedEventId)
		}
		if n := st.applies.Swap(0); n != writes {
			t.Fatalf("%d writes, want %d", n, writes)
		}
	}

	// Poller first: hand-off, one write.
	st.applies.Store(0)
	res := poll()
	for !e.match.HasPoller(key, 0) {
		time.Sleep(time.Millisecond)
	}
	start("waiting-poller")
	check(<-res, "waiting-poller", 1)

	// Start first: the poll takes the queued task and writes its start.
	for e.match.HasPoller(key, 0) {
		time.Sleep(time.Millisecond)
	}
	start("no-poller")
	check(<-poll(), "no-poller", 2)
}
