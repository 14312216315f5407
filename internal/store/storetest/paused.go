package storetest

import (
	"slices"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/sundial-io/sundial/internal/store"
)

const paused = enumspb.WORKFLOW_EXECUTION_STATUS_PAUSED

// testPausedRuns: a paused run (PauseWorkflowExecution) is open: it stays
// among the open runs and is counted under PAUSED, not RUNNING, until it
// is unpaused; closing it from PAUSED leaves no open entry behind. Status
// changes are written without OpenIndexed, as the engine writes them.
func testPausedRuns(t *testing.T, f *fixture) {
	ctx := t.Context()
	r := timed("a", "p", 1, 0)
	f.apply(&store.Batch{Runs: []*store.RunWrite{{Record: r, Events: events(1, 2), SetCurrent: true}}})
	counts := func(step string, wantRunning, wantPaused, wantCompleted int64) {
		t.Helper()
		for _, c := range []struct {
			st   enumspb.WorkflowExecutionStatus
			want int64
		}{{running, wantRunning}, {paused, wantPaused}, {completed, wantCompleted}} {
			for _, by := range []store.CountBy{{}, store.ByType("Greet")} {
				if n, err := f.s.CountRuns(ctx, "a", by, c.st); err != nil || n != c.want {
					t.Fatalf("%s: %v runs (by %+v) = %d, %v; want %d", step, c.st, by, n, err, c.want)
				}
			}
		}
	}
	open := func(step string, want []string) {
		t.Helper()
		if got, _ := listed(t, f.s, "a", store.ListOptions{OpenOnly: true}, 0); !slices.Equal(got, want) {
			t.Fatalf("%s: listed open runs = %v, want %v", step, got, want)
		}
		var ids []string
		if err := f.s.OpenRuns(ctx, func(rec *store.RunRecord) error { ids = append(ids, rec.RunID); return nil }); err != nil || !slices.Equal(ids, want) {
			t.Fatalf("%s: OpenRuns = %v, %v; want %v", step, ids, err, want)
		}
	}
	r.Info.Status = paused
	f.apply(&store.Batch{Runs: []*store.RunWrite{{Record: r, Events: events(3, 1)}}})
	counts("paused", 0, 1, 0)
	open("paused", []string{"p"})
	f.reopen()
	counts("paused, reopened", 0, 1, 0)
	open("paused, reopened", []string{"p"})
	if got, _ := listed(t, f.s, "a", store.ListOptions{ClosedOnly: true}, 0); len(got) != 0 {
		t.Fatalf("closed runs while paused = %v", got)
	}
	r.Info.Status = running
	f.apply(&store.Batch{Runs: []*store.RunWrite{{Record: r, Events: events(4, 1)}}})
	counts("unpaused", 1, 0, 0)
	r.Info.Status = paused
	f.apply(&store.Batch{Runs: []*store.RunWrite{{Record: r, Events: events(5, 1)}}})
	closed := timed("a", "p", 1, 2)
	f.apply(&store.Batch{Runs: []*store.RunWrite{{Record: closed, Events: events(6, 1)}}})
	counts("closed while paused", 0, 0, 1)
	open("closed while paused", nil)
	if got, _ := listed(t, f.s, "a", store.ListOptions{ClosedOnly: true}, 0); !slices.Equal(got, []string{"p"}) {
		t.Fatalf("closed runs = %v", got)
	}
}
