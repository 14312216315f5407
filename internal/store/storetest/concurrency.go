package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/sundial-io/sundial/internal/store"
)

// testOrderedApply checks that batches take effect in Apply call order,
// both from one goroutine that waits only at the end and from many
// goroutines that Apply under a shared lock and Wait after releasing it (the
// engine's pattern).
func testOrderedApply(t *testing.T, f *fixture) {
	ctx := t.Context()
	const n = 50
	r := record("default", "wf", "seq", running)
	var commits []store.Commit
	for i := 1; i <= n; i++ {
		r.Info.HistoryLength = int64(i)
		c, err := f.s.Apply(runWrite(r, events(int64(i), 1), i == 1))
		if err != nil {
			t.Fatal(err)
		}
		commits = append(commits, c)
	}
	// Waiting for the last batch covers every earlier one.
	if err := commits[n-1].Wait(); err != nil {
		t.Fatal(err)
	}
	for _, c := range commits {
		if err := c.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	checkLength(t, f.s, "seq", n)

	const writers, each = 16, 25
	var mu sync.Mutex
	next := int64(0)
	r2 := record("default", "wf2", "locked", running)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for range writers {
		wg.Go(func() {
			for range each {
				mu.Lock()
				next++
				r2.Info.HistoryLength = next
				c, err := f.s.Apply(runWrite(r2, events(next, 1), next == 1))
				mu.Unlock()
				if err == nil {
					err = c.Wait()
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	checkLength(t, f.s, "locked", writers*each)
	f.reopen()
	checkLength(t, f.s, "seq", n)
	checkLength(t, f.s, "locked", writers*each)
	if _, err := f.s.CurrentRun(ctx, "default", "wf2"); err != nil {
		t.Fatal(err)
	}
}

// checkLength checks that the run's record is from its n-th write and its
// history is exactly events 1..n.
func checkLength(t *testing.T, s store.Store, runID string, n int) {
	t.Helper()
	got, err := s.Run(t.Context(), "default", runID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Info.GetHistoryLength() != int64(n) {
		t.Fatalf("run %s: record from write %d, want the last write %d", runID, got.Info.GetHistoryLength(), n)
	}
	h, err := s.History(t.Context(), "default", runID, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkEvents(t, h, events(1, n))
}

// testConcurrentApply has many goroutines write their own runs at once;
// every acknowledged write must be readable, and still there after reopen.
func testConcurrentApply(t *testing.T, f *fixture) {
	const writers, each = 32, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			runID := fmt.Sprintf("run-%02d", w)
			for i := 1; i <= each; i++ {
				status := running
				if i == each && w%2 == 0 {
					status = completed
				}
				r := record("default", fmt.Sprintf("wf-%02d", w), runID, status)
				r.Info.HistoryLength = int64(i * 2)
				c, err := f.s.Apply(runWrite(r, events(int64(2*i-1), 2), i == 1))
				if err == nil {
					err = c.Wait()
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	verify := func() {
		t.Helper()
		var wantOpen []string
		for w := range writers {
			runID := fmt.Sprintf("run-%02d", w)
			checkLength(t, f.s, runID, 2*each)
			if w%2 == 1 {
				wantOpen = append(wantOpen, "default/"+runID)
			}
		}
		if got := openRunIDs(t, f.s); !slices.Equal(got, wantOpen) {
			t.Fatalf("open runs %v, want %v", got, wantOpen)
		}
		if got := runIDs(t, f.s, "default"); len(got) != writers {
			t.Fatalf("Runs lists %d runs, want %d", len(got), writers)
		}
	}
	verify()
	f.reopen()
	verify()
}

// testReopen writes one of everything, reopens, and reads it all back.
func testReopen(t *testing.T, f *fixture) {
	ctx := t.Context()
	f.apply(&store.Batch{
		Namespaces: []*store.Namespace{namespace("default")},
		Runs: []*store.RunWrite{
			{Record: record("default", "wf", "r1", completed), Events: events(1, 4), SetCurrent: true},
			{Record: record("default", "wf", "r2", running), Events: events(1, 2), SetCurrent: true},
		},
	})
	f.apply(runWrite(record("default", "wf", "r2", running), events(3, 3), false))
	for range 2 { // twice: reopening must not change anything either
		f.reopen()
		ns, err := f.s.Namespaces(ctx)
		if err != nil {
			t.Fatal(err)
		}
		checkMessages(t, "namespaces", ns, []*store.Namespace{namespace("default")})
		for _, want := range []*store.RunRecord{
			record("default", "wf", "r1", completed), record("default", "wf", "r2", running),
		} {
			got, err := f.s.Run(ctx, "default", want.RunID)
			if err != nil {
				t.Fatal(err)
			}
			checkRecord(t, want, got)
		}
		if cur, err := f.s.CurrentRun(ctx, "default", "wf"); err != nil || cur != "r2" {
			t.Fatalf("CurrentRun = %q, %v", cur, err)
		}
		h, err := f.s.History(ctx, "default", "r2", 2, 0)
		if err != nil {
			t.Fatal(err)
		}
		checkEvents(t, h, events(2, 4))
		if got := openRunIDs(t, f.s); !slices.Equal(got, []string{"default/r2"}) {
			t.Fatalf("open runs %v", got)
		}
		if got := runIDs(t, f.s, "default"); !slices.Equal(got, []string{"r1", "r2"}) {
			t.Fatalf("runs %v", got)
		}
	}
}
