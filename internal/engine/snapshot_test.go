package engine

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundial-io/sundial/internal/execution"
	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/store/pebblestore"
)

// snapCountingStore counts history reads and can hand out run records as a
// build without snapshots (or with another snapshot version) wrote them.
type snapCountingStore struct {
	*pebblestore.Store
	historyReads atomic.Int64
	// snapshot, when set, replaces every record's snapshot on read.
	snapshot atomic.Pointer[[]byte]
}

func (c *snapCountingStore) History(ctx context.Context, ns, runID string, from int64, limit int) ([]*historypb.HistoryEvent, error) {
	c.historyReads.Add(1)
	return c.Store.History(ctx, ns, runID, from, limit)
}

func (c *snapCountingStore) Run(ctx context.Context, ns, runID string) (*store.RunRecord, error) {
	rec, err := c.Store.Run(ctx, ns, runID)
	if p := c.snapshot.Load(); err == nil && p != nil {
		rec.Snapshot = *p
	}
	return rec, err
}

func evictAll(t *testing.T, e *Engine) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); e.WorkflowsInMemory() != 0; {
		if time.Now().After(deadline) {
			t.Fatalf("runs not evicted (%d in memory)", e.WorkflowsInMemory())
		}
		e.evictLRU()
		time.Sleep(10 * time.Millisecond)
	}
}

// TestColdLoadFromSnapshot: a run evicted from memory is loaded from its
// record's snapshot without reading its history; its first full history
// read (a poll) fills the history cache again. In check mode the load also
// replays the history and finds no difference.
func TestColdLoadFromSnapshot(t *testing.T) {
	ps, err := pebblestore.Open("", pebblestore.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	cs := &snapCountingStore{Store: ps}
	e, err := New(cs, Options{CacheBytes: 1, CheckSnapshots: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	res, err := e.StartWorkflow(ctx, &StartParams{Namespace: DefaultNamespace, WorkflowID: "wf", WorkflowType: &commonpb.WorkflowType{Name: "T"}, TaskQueue: "q", RequestID: "r"})
	if err != nil {
		t.Fatal(err)
	}
	evictAll(t, e)
	signal := func() {
		t.Helper()
		if err := e.Signal(ctx, &workflowservice.SignalWorkflowExecutionRequest{Namespace: DefaultNamespace,
			WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: "wf"}, SignalName: "s", RequestId: time.Now().String()}); err != nil {
			t.Fatal(err)
		}
	}

	// (The run's due timer may load it in the background too: counts are
	// compared as at least.)
	// Check mode replays too: every load from a snapshot reads the history.
	signal()
	loads, bad := e.SnapshotStats()
	if loads < 1 || bad != 0 {
		t.Fatalf("snapshot loads %d, mismatches %d; want >= 1, 0", loads, bad)
	}
	if n := cs.historyReads.Load(); n != loads {
		t.Fatalf("history reads with the check = %d, want one per load (%d)", n, loads)
	}
	// Without the check (a new engine on the same store) a cold load reads
	// no history.
	e.Close()
	if e, err = New(cs, Options{CacheBytes: 1}); err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	cs.historyReads.Store(0)
	signal()
	if n := cs.historyReads.Load(); n != 0 {
		t.Fatalf("history reads of cold loads from a snapshot = %d, want 0", n)
	}
	if loads, _ := e.SnapshotStats(); loads < 1 {
		t.Fatalf("snapshot loads %d, want >= 1", loads)
	}

	// The poll reads the full history from the store and caches it.
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	resp, err := e.PollWorkflowTask(pctx, &workflowservice.PollWorkflowTaskQueueRequest{Namespace: DefaultNamespace, TaskQueue: &taskqueuepb.TaskQueue{Name: "q"}, Identity: "w"})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(resp.GetHistory().GetEvents()); got != int(resp.StartedEventId) {
		t.Fatalf("poll got %d events, want %d", got, resp.StartedEventId)
	}
	e.mu.Lock()
	w := e.workflows[wfKey{DefaultNamespace, "wf"}]
	e.mu.Unlock()
	w.mu.Lock()
	cached, ok := w.cachedHistory(res.RunID, 1)
	w.mu.Unlock()
	if !ok || len(cached) != int(resp.StartedEventId) {
		t.Fatalf("history cache after the poll: %d events (ok %v), want %d", len(cached), ok, resp.StartedEventId)
	}
}

// TestColdLoadWithoutUsableSnapshot: records written before snapshots
// existed, or with a snapshot of another version, load by replay.
func TestColdLoadWithoutUsableSnapshot(t *testing.T) {
	for name, snap := range map[string][]byte{"none": nil, "other version": {99, 1, 2, 3}} {
		t.Run(name, func(t *testing.T) {
			ps, err := pebblestore.Open("", pebblestore.Options{InMemory: true})
			if err != nil {
				t.Fatal(err)
			}
			defer ps.Close()
			cs := &snapCountingStore{Store: ps}
			e, err := New(cs, Options{CacheBytes: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			cs.snapshot.Store(&snap)
			ctx := context.Background()
			if _, err := e.StartWorkflow(ctx, &StartParams{Namespace: DefaultNamespace, WorkflowID: "wf", WorkflowType: &commonpb.WorkflowType{Name: "T"}, TaskQueue: "q", RequestID: "r"}); err != nil {
				t.Fatal(err)
			}
			evictAll(t, e)
			resp, err := e.Describe(ctx, DefaultNamespace, &commonpb.WorkflowExecution{WorkflowId: "wf"})
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetWorkflowExecutionInfo().GetHistoryLength() != 2 || resp.GetPendingWorkflowTask() == nil {
				t.Fatalf("replayed run: %v", resp)
			}
			if loads, _ := e.SnapshotStats(); loads != 0 {
				t.Fatalf("snapshot loads %d, want 0", loads)
			}
			if n := cs.historyReads.Load(); n < 1 {
				t.Fatalf("history reads %d, want the replay's", n)
			}
		})
	}
}

// TestSnapshotCheckCatchesMismatch: in check mode, a snapshot that decodes
// to a state its history does not give fails the load loudly (an error,
// counted), instead of serving it.
func TestSnapshotCheckCatchesMismatch(t *testing.T) {
	ps, err := pebblestore.Open("", pebblestore.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	cs := &snapCountingStore{Store: ps}
	e, err := New(cs, Options{CacheBytes: 1, CheckSnapshots: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	res, err := e.StartWorkflow(ctx, &StartParams{Namespace: DefaultNamespace, WorkflowID: "wf", WorkflowType: &commonpb.WorkflowType{Name: "T"}, TaskQueue: "q", RequestID: "r"})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := ps.Run(ctx, DefaultNamespace, res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	st, err := execution.LoadSnapshot(rec)
	if err != nil {
		t.Fatal(err)
	}
	st.CancelRequested = true // history has no cancel request
	wrong := st.Snapshot()
	evictAll(t, e)
	cs.snapshot.Store(&wrong)
	_, err = e.Describe(ctx, DefaultNamespace, &commonpb.WorkflowExecution{WorkflowId: "wf"})
	if err == nil || !strings.Contains(err.Error(), "CancelRequested") {
		t.Fatalf("load of a wrong snapshot in check mode: %v, want an error naming CancelRequested", err)
	}
	if _, bad := e.SnapshotStats(); bad < 1 {
		t.Fatalf("mismatches %d, want >= 1", bad)
	}
}
