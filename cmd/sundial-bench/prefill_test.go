package main

import (
	"context"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/store/pebblestore"
)

// The prefilled store must hold exactly the runs the list and count
// scenarios expect, with complete histories.
func TestPrefillStore(t *testing.T) {
	dir := t.TempDir()
	const n = 200
	if _, err := prefillStore(dir, "default", n); err != nil {
		t.Fatal(err)
	}
	s, err := pebblestore.Open(dir, pebblestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	want := 0
	for i := range n {
		if i%4 != 1 && i%10 != 0 {
			want++
		}
	}
	got, err := s.CountRuns(ctx, "default", store.ByType("OneActivity"), enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED)
	if err != nil || got != int64(want) {
		t.Fatalf("OneActivity completed: %d (%v), want %d", got, err, want)
	}
	failed, _ := s.CountRuns(ctx, "default", store.CountBy{}, enumspb.WORKFLOW_EXECUTION_STATUS_FAILED)
	if failed != n/10 {
		t.Fatalf("failed: %d, want %d", failed, n/10)
	}
	runID, err := s.CurrentRun(ctx, "default", "prefill-7")
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.History(ctx, "default", runID, 1, 0)
	if err != nil || len(h) != 11 || h[10].GetEventType() != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED {
		t.Fatalf("history of prefill-7: %d events (%v)", len(h), err)
	}
	rec, err := s.Run(ctx, "default", runID)
	if err != nil || rec.Info.GetHistoryLength() != 11 || rec.Info.GetTaskQueue() != prefillQueue(7) {
		t.Fatalf("record %+v (%v)", rec, err)
	}
}
