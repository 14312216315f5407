package pebblestore

import (
	"context"
	"testing"

	"github.com/cockroachdb/pebble"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"

	"github.com/sundial-io/sundial/internal/store"
)

// TestUpgradeBuildsIndex opens a store as an older build left it (format 1:
// records but no index) and checks that Open builds the index.
func TestUpgradeBuildsIndex(t *testing.T) {
	// Format 1 had no index, format 3 no per-type table, format 4 no
	// per-task-queue table. All are rebuilt in full at open.
	for _, from := range []string{"1", "3", "4"} {
		t.Run("from "+from, func(t *testing.T) { testUpgrade(t, from) })
	}
}

func testUpgrade(t *testing.T, from string) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	for _, id := range []string{"r1", "r2"} {
		rec := benchRecord(id)
		if id == "r2" {
			rec.Info.Status = enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
			rec.Info.CloseTime = rec.Info.StartTime
		}
		c, err := s.Apply(&store.Batch{Runs: []*store.RunWrite{{Record: rec, SetCurrent: true}}})
		if err == nil {
			err = c.Wait()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// Turn it into a format 1 store.
	for _, table := range []string{tableVis, tableStatus, tableType} {
		if err := s.db.DeleteRange([]byte(table), prefixEnd([]byte(table)), pebble.Sync); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.db.Set([]byte(versionKey), []byte(from), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, dir, Options{})
	defer s.Close()
	var got []string
	err := s.ListRuns(context.Background(), "default", store.ListOptions{}, func(_ []byte, info *workflowpb.WorkflowExecutionInfo) error {
		got = append(got, info.GetExecution().GetRunId())
		return nil
	})
	if err != nil || len(got) != 2 || got[0] != "r1" || got[1] != "r2" {
		t.Fatalf("ListRuns after upgrade = %v, %v; want [r1 r2]", got, err)
	}
	if n, err := s.CountRuns(context.Background(), "default", store.CountBy{}, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED); err != nil || n != 1 {
		t.Fatalf("CountRuns(completed) after upgrade = %d, %v", n, err)
	}
	if n, err := s.CountRuns(context.Background(), "default", store.ByType("ProcessOrder"), enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING); err != nil || n != 1 {
		t.Fatalf("CountRuns(ProcessOrder, running) after upgrade = %d, %v", n, err)
	}
	if n, err := s.CountRuns(context.Background(), "default", store.ByTaskQueue("orders"), enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED); err != nil || n != 1 {
		t.Fatalf("CountRuns(task queue orders, completed) after upgrade = %d, %v", n, err)
	}
	v, closer, err := s.db.Get([]byte(versionKey))
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	if string(v) != formatVersion {
		t.Fatalf("version after upgrade %q, want %q", v, formatVersion)
	}
}

func TestCountRunsUnknownField(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{})
	defer s.Close()
	if _, err := s.CountRuns(context.Background(), "default", store.CountBy{Field: 99, Value: "x"}, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING); err == nil {
		t.Fatal("CountRuns by an unknown field succeeded")
	}
}
