package engine

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundial-io/sundial/internal/matching"
	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/store/pebblestore"
)

// flakyHistory fails run and History reads while failing is set (a cold
// load reads the run record, and the history too when the record has no
// snapshot).
type flakyHistory struct {
	*pebblestore.Store
	failing atomic.Bool
}

func (f *flakyHistory) Run(ctx context.Context, ns, runID string) (*store.RunRecord, error) {
	if f.failing.Load() {
		return nil, errors.New("disk hiccup")
	}
	return f.Store.Run(ctx, ns, runID)
}

func (f *flakyHistory) History(ctx context.Context, ns, runID string, from int64, limit int) ([]*historypb.HistoryEvent, error) {
	if f.failing.Load() {
		return nil, errors.New("disk hiccup")
	}
	return f.Store.History(ctx, ns, runID, from, limit)
}

// TestPollRequeuesTaskWhenColdLoadFails: a workflow task whose run is not
// in memory is taken by a poll whose cold load fails; the task must go
// back to matching, and the next poll gets it.
func TestPollRequeuesTaskWhenColdLoadFails(t *testing.T) {
	ps, err := pebblestore.Open("", pebblestore.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	st := &flakyHistory{Store: ps}
	e, err := New(st, Options{CacheBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	if _, err := e.StartWorkflow(ctx, &StartParams{Namespace: DefaultNamespace, WorkflowID: "wf", WorkflowType: &commonpb.WorkflowType{Name: "T"}, TaskQueue: "q", RequestID: "r"}); err != nil {
		t.Fatal(err)
	}
	// With a one-byte cache the run leaves memory.
	for deadline := time.Now().Add(5 * time.Second); e.WorkflowsInMemory() != 0; {
		if time.Now().After(deadline) {
			t.Fatalf("run not evicted (%d in memory)", e.WorkflowsInMemory())
		}
		e.evictLRU()
		time.Sleep(10 * time.Millisecond)
	}
	key := matching.Key{Namespace: DefaultNamespace, Name: "q", Kind: matching.Workflow}
	poll := func() (*workflowservice.PollWorkflowTaskQueueResponse, error) {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		return e.PollWorkflowTask(pctx, &workflowservice.PollWorkflowTaskQueueRequest{Namespace: DefaultNamespace, TaskQueue: &taskqueuepb.TaskQueue{Name: "q"}, Identity: "w"})
	}
	st.failing.Store(true)
	if _, err := poll(); err == nil {
		t.Fatal("poll succeeded although the run could not be loaded")
	}
	if got := e.match.Backlog(key); got != 1 {
		t.Fatalf("backlog after the failed load = %d, want the task back (1)", got)
	}
	st.failing.Store(false)
	resp, err := poll()
	if err != nil || len(resp.GetTaskToken()) == 0 {
		t.Fatalf("second poll: %v, %v", resp, err)
	}
	if resp.GetWorkflowExecution().GetWorkflowId() != "wf" || resp.GetStartedEventId() != 3 {
		t.Fatalf("second poll got %v started %d", resp.GetWorkflowExecution(), resp.GetStartedEventId())
	}
}
