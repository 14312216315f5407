package engine

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/store/pebblestore"
)

// TestPurgeExpired closes runs, moves the clock past the default
// namespace's retention (24 h) and checks that one pass deletes exactly
// the runs closed before the cutoff, records and history alike.
func TestPurgeExpired(t *testing.T) {
	st, err := pebblestore.Open("", pebblestore.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e, err := New(st, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	clock := time.Now()
	e.now = func() time.Time { return clock }
	closeRun := func(id string) string {
		res, err := e.StartWorkflow(ctx, &StartParams{Namespace: DefaultNamespace, WorkflowID: id, WorkflowType: &commonpb.WorkflowType{Name: "T"}, TaskQueue: "q", RequestID: id})
		if err != nil {
			t.Fatal(err)
		}
		err = e.Terminate(ctx, &workflowservice.TerminateWorkflowExecutionRequest{Namespace: DefaultNamespace, WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: id}})
		if err != nil {
			t.Fatal(err)
		}
		return res.RunID
	}
	var old []string
	for i := range 3 {
		old = append(old, closeRun(fmt.Sprintf("old-%d", i)))
	}
	clock = clock.Add(20 * time.Hour)
	fresh := closeRun("fresh")
	if _, err := e.StartWorkflow(ctx, &StartParams{Namespace: DefaultNamespace, WorkflowID: "open", WorkflowType: &commonpb.WorkflowType{Name: "T"}, TaskQueue: "q"}); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(5 * time.Hour) // old runs closed 25 h ago, fresh 5 h ago
	n, err := e.PurgeExpired(ctx)
	if err != nil || n != 3 {
		t.Fatalf("PurgeExpired = %d, %v; want 3", n, err)
	}
	for _, runID := range old {
		if _, err := st.Run(ctx, DefaultNamespace, runID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("expired run %s: %v, want deleted", runID, err)
		}
	}
	if _, err := e.Describe(ctx, DefaultNamespace, &commonpb.WorkflowExecution{WorkflowId: "old-0"}); !isNotFound(err) {
		t.Errorf("describe expired workflow: %v", err)
	}
	if _, err := st.Run(ctx, DefaultNamespace, fresh); err != nil {
		t.Errorf("run within retention deleted: %v", err)
	}
	if _, err := e.Describe(ctx, DefaultNamespace, &commonpb.WorkflowExecution{WorkflowId: "open"}); err != nil {
		t.Errorf("open run: %v", err)
	}
	if n, err := e.PurgeExpired(ctx); err != nil || n != 0 {
		t.Fatalf("second pass = %d, %v; want 0", n, err)
	}
}

func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}
