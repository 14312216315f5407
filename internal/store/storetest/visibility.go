package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundial-io/sundial/internal/store"
)

// The visibility part of the contract: ListRuns order and cursors,
// CountRuns, deletes, ClosedBefore and the search attribute registry.

// timed is a run started at epoch+start minutes and, if close > 0, closed
// at epoch+close minutes.
func timed(ns, runID string, start, close int) *store.RunRecord {
	status := running
	if close > 0 {
		status = completed
	}
	r := record(ns, "wf-"+runID, runID, status)
	r.Info.StartTime = timestamppb.New(epoch.Add(time.Duration(start) * time.Minute))
	if close > 0 {
		r.Info.CloseTime = timestamppb.New(epoch.Add(time.Duration(close) * time.Minute))
	}
	return r
}

func listed(t *testing.T, s store.Store, ns string, opts store.ListOptions, limit int) ([]string, []byte) {
	t.Helper()
	var out []string
	var last []byte
	err := s.ListRuns(t.Context(), ns, opts, func(c []byte, info *workflowpb.WorkflowExecutionInfo) error {
		out = append(out, info.GetExecution().GetRunId())
		last = c
		if limit > 0 && len(out) == limit {
			return store.ErrStop
		}
		return nil
	})
	if err != nil {
		t.Fatalf("ListRuns: %v", err)
	}
	return out, last
}

func seedTimed(f *fixture) {
	f.apply(&store.Batch{Runs: []*store.RunWrite{
		{Record: timed("a", "open-old", 1, 0)},
		{Record: timed("a", "open-new", 5, 0)},
		{Record: timed("a", "closed-early", 2, 3)},
		{Record: timed("a", "closed-late", 1, 9)},
		{Record: timed("a", "closed-late-b", 4, 9)},
		{Record: timed("ab", "other-ns", 7, 0)},
	}})
}

func testListOrder(t *testing.T, f *fixture) {
	seedTimed(f)
	// A run that closes moves from the open to the closed partition.
	f.apply(&store.Batch{Runs: []*store.RunWrite{{Record: timed("a", "open-old", 1, 10)}}})
	want := []string{"open-new", "open-old", "closed-late-b", "closed-late", "closed-early"}
	if got, _ := listed(t, f.s, "a", store.ListOptions{}, 0); !slices.Equal(got, want) {
		t.Fatalf("ListRuns = %v, want %v", got, want)
	}
	if got, _ := listed(t, f.s, "a", store.ListOptions{OpenOnly: true}, 0); !slices.Equal(got, want[:1]) {
		t.Fatalf("ListRuns(open) = %v, want %v", got, want[:1])
	}
	if got, _ := listed(t, f.s, "a", store.ListOptions{ClosedOnly: true}, 0); !slices.Equal(got, want[1:]) {
		t.Fatalf("ListRuns(closed) = %v, want %v", got, want[1:])
	}
	f.reopen()
	if got, _ := listed(t, f.s, "a", store.ListOptions{}, 0); !slices.Equal(got, want) {
		t.Fatalf("ListRuns after reopen = %v, want %v", got, want)
	}
}

func testListCursor(t *testing.T, f *fixture) {
	seedTimed(f)
	first, cur := listed(t, f.s, "a", store.ListOptions{}, 2)
	if !slices.Equal(first, []string{"open-new", "open-old"}) {
		t.Fatalf("first page = %v", first)
	}
	// Changes after the first page neither repeat nor skip later entries.
	f.apply(&store.Batch{Runs: []*store.RunWrite{{Record: timed("a", "newest", 99, 0)}}})
	rest, _ := listed(t, f.s, "a", store.ListOptions{After: cur}, 0)
	if want := []string{"closed-late-b", "closed-late", "closed-early"}; !slices.Equal(rest, want) {
		t.Fatalf("second page = %v, want %v", rest, want)
	}
	// Cursors are client input: any bytes must list a suffix, never fail.
	for _, after := range [][]byte{{0x00}, {0xff, 0xff}, {0x01}, cur[:1]} {
		for _, opts := range []store.ListOptions{{After: after}, {After: after, ClosedOnly: true}, {After: after, OpenOnly: true}} {
			got, _ := listed(t, f.s, "a", opts, 0)
			if len(got) > 6 {
				t.Fatalf("ListRuns(after %x) = %v", after, got)
			}
		}
	}
	if got, _ := listed(t, f.s, "a", store.ListOptions{After: []byte{0x00}, ClosedOnly: true}, 0); len(got) != 3 {
		t.Fatalf("closed runs after a cursor before the closed partition = %v", got)
	}
}

func testCountRuns(t *testing.T, f *fixture) {
	seedTimed(f)
	other := timed("a", "other-type", 6, 0)
	other.Info.Type.Name = "Greet2" // a type whose name extends another's
	other.Info.TaskQueue = "queue2" // and a task queue
	f.apply(&store.Batch{Runs: []*store.RunWrite{{Record: timed("a", "open-old", 1, 10)}, {Record: other}}})
	for st, want := range map[enumspb.WorkflowExecutionStatus]int64{running: 2, completed: 4, enumspb.WORKFLOW_EXECUTION_STATUS_FAILED: 0} {
		got, err := f.s.CountRuns(t.Context(), "a", store.CountBy{}, st)
		if err != nil || got != want {
			t.Errorf("CountRuns(%v) = %d, %v; want %d", st, got, err, want)
		}
	}
	for _, c := range []struct {
		typ  string
		st   enumspb.WorkflowExecutionStatus
		want int64
	}{{"Greet", running, 1}, {"Greet", completed, 4}, {"Greet2", running, 1}, {"Greet2", completed, 0}, {"Gree", running, 0}, {"Nope", completed, 0}} {
		got, err := f.s.CountRuns(t.Context(), "a", store.ByType(c.typ), c.st)
		if err != nil || got != c.want {
			t.Errorf("CountRuns(%q, %v) = %d, %v; want %d", c.typ, c.st, got, err, c.want)
		}
	}
	for _, c := range []struct {
		queue string
		st    enumspb.WorkflowExecutionStatus
		want  int64
	}{{"queue", running, 1}, {"queue", completed, 4}, {"queue2", running, 1}, {"queue2", completed, 0}, {"queu", running, 0}} {
		got, err := f.s.CountRuns(t.Context(), "a", store.ByTaskQueue(c.queue), c.st)
		if err != nil || got != c.want {
			t.Errorf("CountRuns(task queue %q, %v) = %d, %v; want %d", c.queue, c.st, got, err, c.want)
		}
	}
	// Closing the other-type run moves it between its type's statuses.
	other.Info.Status = completed
	other.Info.CloseTime = other.Info.StartTime
	f.apply(&store.Batch{Runs: []*store.RunWrite{{Record: other}}})
	if r, _ := f.s.CountRuns(t.Context(), "a", store.ByType("Greet2"), running); r != 0 {
		t.Errorf("CountRuns(Greet2, running) after close = %d, want 0", r)
	}
	if c, _ := f.s.CountRuns(t.Context(), "a", store.ByType("Greet2"), completed); c != 1 {
		t.Errorf("CountRuns(Greet2, completed) after close = %d, want 1", c)
	}
	if r, _ := f.s.CountRuns(t.Context(), "a", store.ByTaskQueue("queue2"), running); r != 0 {
		t.Errorf("CountRuns(queue2, running) after close = %d, want 0", r)
	}
	if c, _ := f.s.CountRuns(t.Context(), "a", store.ByTaskQueue("queue2"), completed); c != 1 {
		t.Errorf("CountRuns(queue2, completed) after close = %d, want 1", c)
	}
}

func testDeleteRun(t *testing.T, f *fixture) {
	ctx := t.Context()
	seedTimed(f)
	r := timed("a", "closed-late", 1, 9)
	f.apply(&store.Batch{Runs: []*store.RunWrite{{Record: r, Events: events(1, 3), SetCurrent: true}}})
	f.apply(&store.Batch{Deletes: []*store.RunDelete{{Record: r, ClearCurrent: true}}})
	if _, err := f.s.Run(ctx, "a", r.RunID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Run after delete: %v, want ErrNotFound", err)
	}
	if _, err := f.s.History(ctx, "a", r.RunID, 1, 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("History after delete: %v, want ErrNotFound", err)
	}
	if _, err := f.s.CurrentRun(ctx, "a", r.WorkflowID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CurrentRun after delete: %v, want ErrNotFound", err)
	}
	got, _ := listed(t, f.s, "a", store.ListOptions{}, 0)
	if slices.Contains(got, r.RunID) || len(got) != 4 {
		t.Fatalf("ListRuns after delete = %v", got)
	}
	if n, _ := f.s.CountRuns(ctx, "a", store.CountBy{}, completed); n != 2 {
		t.Fatalf("CountRuns(completed) after delete = %d, want 2", n)
	}
	if n, _ := f.s.CountRuns(ctx, "a", store.ByType("Greet"), completed); n != 2 {
		t.Fatalf("CountRuns(Greet, completed) after delete = %d, want 2", n)
	}
	if n, _ := f.s.CountRuns(ctx, "a", store.ByTaskQueue("queue"), completed); n != 2 {
		t.Fatalf("CountRuns(task queue, completed) after delete = %d, want 2", n)
	}
}

func testClosedBefore(t *testing.T, f *fixture) {
	seedTimed(f)
	var got []string
	err := f.s.ClosedBefore(t.Context(), "a", epoch.Add(9*time.Minute), func(r *store.RunRecord) error {
		got = append(got, r.RunID)
		return nil
	})
	if err != nil || !slices.Equal(got, []string{"closed-early"}) {
		t.Fatalf("ClosedBefore(9m) = %v, %v; want [closed-early]", got, err)
	}
	got = nil
	err = f.s.ClosedBefore(t.Context(), "a", epoch.Add(time.Hour), func(r *store.RunRecord) error {
		got = append(got, r.RunID)
		return store.ErrStop
	})
	if err != nil || !slices.Equal(got, []string{"closed-early"}) {
		t.Fatalf("ClosedBefore(1h) stopping after one = %v, %v", got, err)
	}
}

func testSearchAttributes(t *testing.T, f *fixture) {
	if _, err := f.s.SearchAttributes(t.Context(), "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SearchAttributes of a fresh namespace: %v, want ErrNotFound", err)
	}
	want := map[string]enumspb.IndexedValueType{"Color": enumspb.INDEXED_VALUE_TYPE_KEYWORD, "Size": enumspb.INDEXED_VALUE_TYPE_INT}
	f.apply(&store.Batch{SearchAttributes: []*store.SearchAttributeRegistry{{Namespace: "a", Custom: want}}})
	f.reopen()
	got, err := f.s.SearchAttributes(t.Context(), "a")
	if err != nil || len(got) != 2 || got["Color"] != want["Color"] || got["Size"] != want["Size"] {
		t.Fatalf("SearchAttributes = %v, %v; want %v", got, err, want)
	}
	if _, err := f.s.SearchAttributes(t.Context(), "ab"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SearchAttributes of another namespace: %v", err)
	}
}

// testListMatch: with Match, ListRuns hands fn only the matching entries,
// each whole however little of it Fields asked for.
func testListMatch(t *testing.T, f *fixture) {
	seedTimed(f)
	closeTime := (&workflowpb.WorkflowExecutionInfo{}).ProtoReflect().Descriptor().Fields().ByName("close_time").Number()
	lateCutoff := epoch.Add(9 * time.Minute)
	opts := store.ListOptions{
		Fields: []protoreflect.FieldNumber{closeTime},
		Match: func(info *workflowpb.WorkflowExecutionInfo) bool {
			return info.GetCloseTime() != nil && !info.GetCloseTime().AsTime().Before(lateCutoff)
		},
	}
	var got []string
	err := f.s.ListRuns(t.Context(), "a", opts, func(_ []byte, info *workflowpb.WorkflowExecutionInfo) error {
		if info.GetStartTime() == nil || info.GetExecution().GetWorkflowId() == "" {
			t.Errorf("fn got a partial summary: %v", info)
		}
		got = append(got, info.GetExecution().GetRunId())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"closed-late-b", "closed-late"}; !slices.Equal(got, want) {
		t.Fatalf("matched %v, want %v", got, want)
	}
	// Without Match, fn sees at least the fields asked for.
	n := 0
	err = f.s.ListRuns(t.Context(), "a", store.ListOptions{Fields: opts.Fields, ClosedOnly: true}, func(_ []byte, info *workflowpb.WorkflowExecutionInfo) error {
		if info.GetCloseTime() == nil {
			t.Errorf("summary without the requested close_time: %v", info)
		}
		n++
		return nil
	})
	if err != nil || n != 3 {
		t.Fatalf("listed %d closed runs (%v), want 3", n, err)
	}
}

// testOpenIndexed: writes of a running run flagged OpenIndexed keep it
// listed, counted and open exactly as full writes do, and a closing write
// with the flag still moves it to the closed entries.
func testOpenIndexed(t *testing.T, f *fixture) {
	ctx := t.Context()
	r := timed("a", "busy", 3, 0)
	f.apply(&store.Batch{Runs: []*store.RunWrite{{Record: r, Events: events(1, 3), SetCurrent: true}}})
	r.Info.HistoryLength = 5
	f.apply(&store.Batch{Runs: []*store.RunWrite{{Record: r, Events: events(4, 2), OpenIndexed: true}}})
	f.reopen()
	if got, _ := listed(t, f.s, "a", store.ListOptions{OpenOnly: true}, 0); !slices.Equal(got, []string{"busy"}) {
		t.Fatalf("open runs = %v", got)
	}
	if n, _ := f.s.CountRuns(ctx, "a", store.ByType("Greet"), running); n != 1 {
		t.Fatalf("running Greet runs = %d, want 1", n)
	}
	var open []string
	if err := f.s.OpenRuns(ctx, func(rec *store.RunRecord) error {
		open = append(open, rec.RunID)
		if rec.Info.GetHistoryLength() != 5 {
			t.Errorf("open run record not updated: history length %d", rec.Info.GetHistoryLength())
		}
		return nil
	}); err != nil || !slices.Equal(open, []string{"busy"}) {
		t.Fatalf("OpenRuns = %v, %v", open, err)
	}
	closed := timed("a", "busy", 3, 4)
	f.apply(&store.Batch{Runs: []*store.RunWrite{{Record: closed, Events: events(6, 1), OpenIndexed: true}}})
	if got, _ := listed(t, f.s, "a", store.ListOptions{}, 0); !slices.Equal(got, []string{"busy"}) {
		t.Fatalf("runs after close = %v", got)
	}
	if got, _ := listed(t, f.s, "a", store.ListOptions{ClosedOnly: true}, 0); !slices.Equal(got, []string{"busy"}) {
		t.Fatalf("closed runs after close = %v", got)
	}
	if n, _ := f.s.CountRuns(ctx, "a", store.ByType("Greet"), running); n != 0 {
		t.Fatalf("running Greet runs after close = %d, want 0", n)
	}
	if n, _ := f.s.CountRuns(ctx, "a", store.CountBy{}, completed); n != 1 {
		t.Fatalf("completed runs after close = %d, want 1", n)
	}
}
