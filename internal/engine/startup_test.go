package engine

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/vfs"
	commonpb "go.temporal.io/api/common/v1"

	"github.com/sundial-io/sundial/internal/matching"
	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/store/pebblestore"
)

// TestStartupRecoversOnce starts workflows whose first workflow task waits
// for a poller (it lives only in matching), restarts the engine on the same
// store, and races requests that load half of them against the background
// recovery: every task must be queued again exactly once, and every run's
// due entry moved past the new boot time. A third start does it again.
func TestStartupRecoversOnce(t *testing.T) {
	fs := vfs.NewMem()
	open := func() (*pebblestore.Store, *Engine) {
		st, err := pebblestore.Open("db", pebblestore.Options{FS: fs})
		if err != nil {
			t.Fatal(err)
		}
		e, err := New(st, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return st, e
	}
	ctx := context.Background()
	st, e := open()
	const n = 20
	for i := range n {
		id := fmt.Sprintf("wf-%d", i)
		if _, err := e.StartWorkflow(ctx, &StartParams{Namespace: DefaultNamespace, WorkflowID: id, WorkflowType: &commonpb.WorkflowType{Name: "T"}, TaskQueue: "q", RequestID: id}); err != nil {
			t.Fatal(err)
		}
	}
	key := matching.Key{Namespace: DefaultNamespace, Name: "q", Kind: matching.Workflow}
	if got := e.match.Backlog(key); got != n {
		t.Fatalf("backlog before restart = %d, want %d", got, n)
	}
	e.Close()
	st.Close()

	for boot := 2; boot <= 3; boot++ {
		st, e = open()
		// The count lands in the background (countOpenRuns).
		for deadline := time.Now().Add(5 * time.Second); e.OpenRuns() != n && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		if got := e.OpenRuns(); got != n {
			t.Fatalf("boot %d: OpenRuns = %d, want %d (from the store's counts)", boot, got, n)
		}
		var wg sync.WaitGroup
		for i := 0; i < n; i += 2 {
			wg.Add(1)
			go func(id string) {
				defer wg.Done()
				if _, err := e.Describe(ctx, DefaultNamespace, &commonpb.WorkflowExecution{WorkflowId: id}); err != nil {
					t.Error(err)
				}
			}(fmt.Sprintf("wf-%d", i))
		}
		wg.Wait()
		select {
		case <-e.recoveryDone:
		case <-time.After(10 * time.Second):
			t.Fatalf("boot %d: background recovery did not finish", boot)
		}
		// Loading them all again recovers nothing more.
		for i := range n {
			if _, err := e.Describe(ctx, DefaultNamespace, &commonpb.WorkflowExecution{WorkflowId: fmt.Sprintf("wf-%d", i)}); err != nil {
				t.Fatal(err)
			}
		}
		// Recovered tasks are handed to matching once their run's Due
		// write is durable, just after recovery returns.
		for deadline := time.Now().Add(3 * time.Second); e.match.Backlog(key) < n && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)
		if got := e.match.Backlog(key); got != n {
			t.Fatalf("boot %d: backlog = %d, want %d (each task once)", boot, got, n)
		}
		if got := e.recovered.Load(); got != n {
			t.Fatalf("boot %d: %d runs recovered, want %d", boot, got, n)
		}
		var stale []store.DueEntry
		if err := st.Due(ctx, time.Time{}, e.bootTime, func(d store.DueEntry) error { stale = append(stale, d); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(stale) != 0 {
			t.Fatalf("boot %d: due entries before the boot time after recovery: %+v", boot, stale)
		}
		e.Close()
		st.Close()
	}
}

// TestStartupLeavesSleepingRunsOnDisk: runs whose only business is a
// deadline an hour away (a delayed start) are neither loaded nor armed at
// startup; a run due within the horizon is armed from the due index, and
// its deadline fires on a cold load.
func TestStartupLeavesSleepingRunsOnDisk(t *testing.T) {
	fs := vfs.NewMem()
	open := func() (*pebblestore.Store, *Engine) {
		st, err := pebblestore.Open("db", pebblestore.Options{FS: fs})
		if err != nil {
			t.Fatal(err)
		}
		e, err := New(st, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return st, e
	}
	ctx := context.Background()
	st, e := open()
	start := func(id string, delay time.Duration) {
		if _, err := e.StartWorkflow(ctx, &StartParams{Namespace: DefaultNamespace, WorkflowID: id, WorkflowType: &commonpb.WorkflowType{Name: "T"}, TaskQueue: "q", RequestID: id, StartDelay: delay}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 10 {
		start(fmt.Sprintf("sleeper-%d", i), time.Hour)
	}
	start("soon", 1500*time.Millisecond)
	e.Close()
	st.Close()

	st, e = open()
	defer st.Close()
	defer e.Close()
	select {
	case <-e.recoveryDone:
	case <-time.After(10 * time.Second):
		t.Fatal("background recovery did not finish")
	}
	if got := e.recovered.Load(); got != 0 {
		t.Fatalf("%d runs recovered, want 0", got)
	}
	if got := e.WorkflowsInMemory(); got != 0 {
		t.Fatalf("%d workflows in memory after startup, want 0", got)
	}
	// The soon-due run's first workflow task is scheduled by its timer,
	// which only the due index can have armed.
	key := matching.Key{Namespace: DefaultNamespace, Name: "q", Kind: matching.Workflow}
	deadline := time.Now().Add(5 * time.Second)
	for e.match.Backlog(key) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the run due 1.5 s after start did not get its workflow task (backlog %d)", e.match.Backlog(key))
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.timers.mu.Lock()
	armed := len(e.timers.due)
	e.timers.mu.Unlock()
	if armed > 1 {
		t.Fatalf("%d timers armed, want at most the soon-due run's", armed)
	}
}
