package pebblestore

import (
	"testing"
	"time"

	"github.com/cockroachdb/pebble/vfs"

	"github.com/sundial-io/sundial/internal/store"
)

// TestQuietFlushLeavesNothingToReplay: a crash right after acknowledged
// writes makes the next Open replay the log into level-0 tables; once
// writes have paused, the store has flushed them and a crash leaves
// nothing to replay. Both keep every acknowledged write.
func TestQuietFlushLeavesNothingToReplay(t *testing.T) {
	for _, quiet := range []bool{false, true} {
		fs := vfs.NewStrictMem()
		opts := Options{InMemory: true, FS: fs}
		s := mustOpen(t, "db", opts)
		flushes := s.db.Metrics().Flush.Count // creating a store flushes
		const n = 20
		for i := 1; i <= n; i++ {
			r := &store.RunRecord{Namespace: "ns", WorkflowID: "wf", RunID: "run"}
			c, err := s.Apply(&store.Batch{Runs: []*store.RunWrite{{Record: r, Events: testEvents(int64(i), 1), SetCurrent: true}}})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Wait(); err != nil {
				t.Fatal(err)
			}
		}
		if quiet {
			deadline := time.Now().Add(3*quietFlushAfter + 2*time.Second)
			for s.db.Metrics().Flush.Count == flushes {
				if time.Now().After(deadline) {
					t.Fatalf("no flush %s after the last write", 3*quietFlushAfter+2*time.Second)
				}
				time.Sleep(50 * time.Millisecond)
			}
		} else if f := s.db.Metrics().Flush.Count - flushes; f != 0 {
			t.Fatalf("%d flushes right after the writes; the control case needs the log unflushed", f)
		}
		crash(t, s, fs)
		s = mustOpen(t, "db", opts)
		oi := s.OpenInfo()
		switch {
		case quiet && (oi.ReplayTables != 0 || oi.ReplayedKeys != 0):
			t.Errorf("after a quiet spell: Open replayed %d keys into %d tables, want none", oi.ReplayedKeys, oi.ReplayTables)
		case !quiet && (oi.ReplayTables == 0 || oi.ReplayedKeys < n || oi.ReplayedBytes == 0):
			t.Errorf("crash right after %d writes: Open replayed %d keys (%d bytes) into %d tables; the control case tests nothing", n, oi.ReplayedKeys, oi.ReplayedBytes, oi.ReplayTables)
		}
		h, err := s.History(t.Context(), "ns", "run", 1, 0)
		if err != nil || len(h) != n {
			t.Errorf("quiet=%v: after crash %d events, err %v; want all %d", quiet, len(h), err, n)
		}
		s.Close()
	}
}

// TestQuietFlushWaitsForAPause: writes arriving more often than
// quietFlushAfter never trigger the quiet flush (Pebble flushes by size).
func TestQuietFlushWaitsForAPause(t *testing.T) {
	s := mustOpen(t, "db", Options{InMemory: true, FS: vfs.NewMem()})
	defer s.Close()
	flushes := s.db.Metrics().Flush.Count // creating a store flushes
	until := time.Now().Add(3 * quietFlushAfter)
	for i := int64(1); time.Now().Before(until); i++ {
		r := &store.RunRecord{Namespace: "ns", WorkflowID: "wf", RunID: "run"}
		c, err := s.Apply(&store.Batch{Runs: []*store.RunWrite{{Record: r, Events: testEvents(i, 1), SetCurrent: true}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Wait(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(quietFlushAfter / 5)
	}
	if f := s.db.Metrics().Flush.Count - flushes; f != 0 {
		t.Fatalf("%d flushes while writes kept arriving every %s", f, quietFlushAfter/5)
	}
}
