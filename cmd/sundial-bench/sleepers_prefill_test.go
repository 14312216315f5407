package main

import (
	"testing"
	"time"

	"github.com/sundial-io/sundial/internal/execution"
)

// TestSleeperRunSnapshot: a prefilled sleeper carries the snapshot the
// engine would store, which loads to the state its history replays.
func TestSleeperRunSnapshot(t *testing.T) {
	start := time.Now().Add(-time.Hour)
	w := sleeperRun("default", 7, start, start.Add(24*time.Hour))
	if len(w.Record.Snapshot) == 0 {
		t.Fatal("sleeper record has no snapshot")
	}
	st, err := execution.LoadSnapshot(w.Record)
	if err != nil {
		t.Fatal(err)
	}
	rec := *w.Record
	rec.Snapshot = nil
	if d := execution.SnapshotDiff(st, execution.Load(&rec, w.Events)); len(d) > 0 {
		t.Fatalf("snapshot differs from replay: %v", d)
	}
	if len(st.Timers) != 1 || len(st.Activities) != 0 || st.WFT != nil {
		t.Fatalf("sleeper state: %d timers, %d activities, task %v", len(st.Timers), len(st.Activities), st.WFT)
	}
}
