package storetest

import (
	"testing"

	"github.com/sundial-io/sundial/internal/store"
)

// testRunSnapshot: a run record's snapshot (the engine's encoding of the
// run's state, opaque to the store) is stored with the record in the same
// batch, replaced by every write (a write without one removes it), read
// back byte for byte by Run and OpenRuns, and kept across a reopen. A
// snapshot may be large (execution.MaxSnapshotBytes is 64 KiB) and hold any
// bytes.
func testRunSnapshot(t *testing.T, f *fixture) {
	ctx := t.Context()
	big := make([]byte, 256<<10)
	for i := range big {
		big[i] = byte(i*7 + i>>8)
	}
	r := record("default", "wf", "run1", running)
	r.Snapshot = big
	f.apply(runWrite(r, events(1, 2), true))
	got, err := f.s.Run(ctx, "default", "run1")
	if err != nil {
		t.Fatal(err)
	}
	checkRecord(t, r, got)

	// Replaced with a small one, together with new events.
	r2 := record("default", "wf", "run1", running)
	r2.Snapshot = []byte{1, 2, 3}
	w := runWrite(r2, events(3, 1), false)
	w.Runs[0].OpenIndexed = true
	f.apply(w)
	got, err = f.s.Run(ctx, "default", "run1")
	if err != nil {
		t.Fatal(err)
	}
	checkRecord(t, r2, got)
	var open []*store.RunRecord
	if err := f.s.OpenRuns(ctx, func(rec *store.RunRecord) error { open = append(open, rec); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(open) != 1 {
		t.Fatalf("OpenRuns: %d runs, want 1", len(open))
	}
	checkRecord(t, r2, open[0])

	f.reopen()
	got, err = f.s.Run(ctx, "default", "run1")
	if err != nil {
		t.Fatal(err)
	}
	checkRecord(t, r2, got)

	// A write without a snapshot (a closed run) removes it.
	r3 := record("default", "wf", "run1", running)
	r3.Snapshot = nil
	f.apply(runWrite(r3, nil, false))
	got, err = f.s.Run(ctx, "default", "run1")
	if err != nil {
		t.Fatal(err)
	}
	checkRecord(t, r3, got)
}
