package pebblestore

import (
	"context"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/sundial-io/sundial/internal/store"
)

// TestUpgradeBuildsDueIndex opens a version 5 store (no due index, records
// without Due) and checks that Open gives every open run, and only open
// runs, a past due entry that matches its record, so the engine's startup
// recovery loads each once.
func TestUpgradeBuildsDueIndex(t *testing.T) {
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
	if err := s.db.Set([]byte(versionKey), []byte("5"), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, dir, Options{})
	defer s.Close()
	ctx := context.Background()
	var got []store.DueEntry
	if err := s.Due(ctx, time.Time{}, time.Now(), func(e store.DueEntry) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	start := benchRecord("r1").Info.StartTime.AsTime()
	if len(got) != 1 || got[0].RunID != "r1" || got[0].WorkflowID != "order-r1" || !got[0].Time.Equal(start) {
		t.Fatalf("due index after upgrade = %+v; want r1 at its start time %v", got, start)
	}
	rec, err := s.Run(ctx, "default", "r1")
	if err != nil || !rec.Due.Equal(start) {
		t.Fatalf("Run(r1).Due after upgrade = %v, %v; want %v", rec, err, start)
	}
	// The record's Due lets the next write move the entry.
	rec.Due = start.Add(time.Hour)
	c, err := s.Apply(&store.Batch{Runs: []*store.RunWrite{{Record: rec, OpenIndexed: true, PrevDue: start}}})
	if err == nil {
		err = c.Wait()
	}
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	if err := s.Due(ctx, time.Time{}, time.Now(), func(e store.DueEntry) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got[0].Time.Equal(rec.Due) {
		t.Fatalf("due index after moving = %+v; want r1 at %v", got, rec.Due)
	}
}
