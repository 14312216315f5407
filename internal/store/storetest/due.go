package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sundial-io/sundial/internal/store"
)

// dueBase is a whole number of microseconds (PostgreSQL's precision), so
// stores that truncate Due still return these times unchanged.
var dueBase = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func dueAt(sec int) time.Time { return dueBase.Add(time.Duration(sec) * time.Second) }

// dueList returns the due entries from <= time < before as "runid@sec".
func dueList(t *testing.T, f *fixture, from, before time.Time) []string {
	t.Helper()
	var out []string
	err := f.s.Due(t.Context(), from, before, func(e store.DueEntry) error {
		if e.Namespace != "default" || e.WorkflowID != "wf-"+e.RunID {
			t.Errorf("due entry %+v: wrong namespace or workflow id", e)
		}
		out = append(out, fmt.Sprintf("%s@%d", e.RunID, int(e.Time.Sub(dueBase)/time.Second)))
		return nil
	})
	if err != nil {
		t.Fatalf("Due: %v", err)
	}
	return out
}

func checkDue(t *testing.T, f *fixture, want ...string) {
	t.Helper()
	got := dueList(t, f, time.Time{}, dueAt(1000))
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("due index = %v, want %v", got, want)
	}
}

func dueRecord(runID string, sec int) *store.RunRecord {
	r := record("default", "wf-"+runID, runID, running)
	if sec >= 0 {
		r.Due = dueAt(sec)
	}
	return r
}

// testDueIndex checks the due index: one entry per run at its record's
// Due, moved by later writes (PrevDue), removed by a zero Due and by a
// delete, listed oldest first within [from, before), surviving reopen.
func testDueIndex(t *testing.T, f *fixture) {
	ctx := t.Context()
	f.apply(&store.Batch{Runs: []*store.RunWrite{
		{Record: dueRecord("a", 30), Events: events(1, 1), SetCurrent: true},
		{Record: dueRecord("b", 10), Events: events(1, 1), SetCurrent: true},
		{Record: dueRecord("c", 20), Events: events(1, 1), SetCurrent: true},
		{Record: dueRecord("none", -1), Events: events(1, 1), SetCurrent: true},
	}})
	checkDue(t, f, "b@10", "c@20", "a@30")
	if r, err := f.s.Run(ctx, "default", "b"); err != nil || !r.Due.Equal(dueAt(10)) {
		t.Fatalf("Run(b).Due = %v, %v; want %v", dueOf(r), err, dueAt(10))
	}
	if r, err := f.s.Run(ctx, "default", "none"); err != nil || !r.Due.IsZero() {
		t.Fatalf("Run(none).Due = %v, %v; want zero", dueOf(r), err)
	}

	// Moving: b goes after a; c keeps its time while its record changes.
	f.apply(&store.Batch{Runs: []*store.RunWrite{
		{Record: dueRecord("b", 40), Events: events(2, 1), OpenIndexed: true, PrevDue: dueAt(10)},
		{Record: dueRecord("c", 20), Events: events(2, 1), OpenIndexed: true, PrevDue: dueAt(20)},
	}})
	checkDue(t, f, "c@20", "a@30", "b@40")

	// Bounds: from is inclusive, before exclusive.
	if got := dueList(t, f, dueAt(20), dueAt(40)); fmt.Sprint(got) != "[c@20 a@30]" {
		t.Fatalf("Due[20s, 40s) = %v, want [c@20 a@30]", got)
	}
	if got := dueList(t, f, dueAt(21), dueAt(30)); len(got) != 0 {
		t.Fatalf("Due[21s, 30s) = %v, want none", got)
	}

	// A zero Due removes the entry; a closed run normally has none.
	closed := dueRecord("a", -1)
	closed.Info.Status = completed
	closed.Info.CloseTime = closed.Info.StartTime
	f.apply(&store.Batch{Runs: []*store.RunWrite{{Record: closed, Events: events(2, 1), OpenIndexed: true, PrevDue: dueAt(30)}}})
	checkDue(t, f, "c@20", "b@40")

	// A delete removes the entry of its record's Due.
	f.apply(&store.Batch{Deletes: []*store.RunDelete{{Record: dueRecord("c", 20), ClearCurrent: true}}})
	checkDue(t, f, "b@40")

	f.reopen()
	checkDue(t, f, "b@40")
	if r, err := f.s.Run(ctx, "default", "b"); err != nil || !r.Due.Equal(dueAt(40)) {
		t.Fatalf("after reopen Run(b).Due = %v, %v; want %v", dueOf(r), err, dueAt(40))
	}
}

// testDueStop checks that ErrStop ends the iteration without an error and
// that other errors are returned.
func testDueStop(t *testing.T, f *fixture) {
	for i, id := range []string{"x", "y", "z"} {
		f.apply(runWrite(dueRecord(id, i), events(1, 1), true))
	}
	calls := 0
	err := f.s.Due(t.Context(), time.Time{}, dueAt(100), func(e store.DueEntry) error {
		calls++
		if e.RunID != "x" {
			t.Errorf("first due entry %q, want x", e.RunID)
		}
		return store.ErrStop
	})
	if err != nil || calls != 1 {
		t.Fatalf("Due with ErrStop = %v after %d calls; want nil after 1", err, calls)
	}
	boom := errors.New("boom")
	if err := f.s.Due(t.Context(), time.Time{}, dueAt(100), func(store.DueEntry) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("Due with failing fn = %v, want boom", err)
	}
}

// testDueAtomic checks that a rejected batch changes neither the record
// nor the due index: the entry moves with the record or not at all.
func testDueAtomic(t *testing.T, f *fixture) {
	ctx := t.Context()
	f.apply(runWrite(dueRecord("p", 5), events(1, 1), true))
	bad := &store.RunWrite{Record: record("default", "wf", "bad", running), Events: events(0, 1)}
	moved := &store.RunWrite{Record: dueRecord("p", 50), Events: events(2, 1), OpenIndexed: true, PrevDue: dueAt(5)}
	newRun := &store.RunWrite{Record: dueRecord("q", 1), Events: events(1, 1), SetCurrent: true}
	c, err := f.s.Apply(&store.Batch{Runs: []*store.RunWrite{moved, newRun, bad}})
	if err == nil {
		err = c.Wait()
	}
	if err == nil {
		t.Fatal("Apply accepted a batch with an invalid run write")
	}
	checkDue(t, f, "p@5")
	if r, err := f.s.Run(ctx, "default", "p"); err != nil || !r.Due.Equal(dueAt(5)) {
		t.Fatalf("Run(p).Due after a rejected batch = %v, %v; want %v", dueOf(r), err, dueAt(5))
	}
	// Many runs, written in any order, come back in time order.
	var want []string
	for i := 20; i > 10; i-- {
		id := fmt.Sprintf("m%02d", i)
		f.apply(runWrite(dueRecord(id, i), events(1, 1), true))
	}
	for i := 11; i <= 20; i++ {
		want = append(want, fmt.Sprintf("m%02d@%d", i, i))
	}
	got := dueList(t, f, dueAt(10), dueAt(1000))
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("due order = %v, want %v", got, want)
	}
}

func dueOf(r *store.RunRecord) time.Time {
	if r == nil {
		return time.Time{}
	}
	return r.Due
}
