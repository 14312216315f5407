package pgstore

import (
	"fmt"
	"slices"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"

	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/store/pgstore/pgtest"
)

// TestDueIndex checks the due index column directly (storetest/due.go
// checks the contract on every store).
func TestDueIndex(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	s := mustOpen(t, pg.NewDatabase(t))
	defer s.Close()

	base := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC) // whole microseconds
	at := func(sec int) time.Time { return base.Add(time.Duration(sec) * time.Second) }
	rec := func(id string) *store.RunRecord {
		return &store.RunRecord{Namespace: "ns", WorkflowID: "wf-" + id, RunID: id,
			Info: &workflowpb.WorkflowExecutionInfo{Status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING}}
	}
	write := func(id string, due time.Time) {
		t.Helper()
		r := rec(id)
		r.Due = due
		c, err := s.Apply(&store.Batch{Runs: []*store.RunWrite{{Record: r}}})
		if err == nil {
			err = c.Wait()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	list := func(from, before time.Time) []string {
		t.Helper()
		var out []string
		err := s.Due(t.Context(), from, before, func(e DueEntry) error {
			if e.Namespace != "ns" || e.WorkflowID != "wf-"+e.RunID {
				t.Errorf("entry %+v", e)
			}
			out = append(out, fmt.Sprintf("%s@%d", e.RunID, int(e.Time.Sub(base)/time.Second)))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	far := at(1000)
	write("a", at(10))
	write("b", at(5))
	write("c", time.Time{})
	if got, want := list(time.Time{}, far), []string{"b@5", "a@10"}; !slices.Equal(got, want) {
		t.Fatalf("Due = %v, want %v", got, want)
	}
	// from is inclusive, before exclusive.
	if got, want := list(at(5), at(10)), []string{"b@5"}; !slices.Equal(got, want) {
		t.Fatalf("Due[5s, 10s) = %v, want %v", got, want)
	}
	// A later write moves the run's one entry; a zero due removes it.
	write("a", at(2))
	write("b", time.Time{})
	write("c", at(7))
	if got, want := list(time.Time{}, far), []string{"a@2", "c@7"}; !slices.Equal(got, want) {
		t.Fatalf("after moves Due = %v, want %v", got, want)
	}
	// Deleting the run deletes its entry.
	c, err := s.Apply(&store.Batch{Deletes: []*store.RunDelete{{Record: rec("a")}}})
	if err == nil {
		err = c.Wait()
	}
	if err != nil {
		t.Fatal(err)
	}
	if got, want := list(time.Time{}, far), []string{"c@7"}; !slices.Equal(got, want) {
		t.Fatalf("after delete Due = %v, want %v", got, want)
	}
	// ErrStop ends the scan without an error; times come back in UTC.
	write("d", at(8))
	n := 0
	err = s.Due(t.Context(), time.Time{}, far, func(e DueEntry) error {
		n++
		if e.Time.Location() != time.UTC || !e.Time.Equal(at(7)) {
			t.Errorf("first entry time %v", e.Time)
		}
		return store.ErrStop
	})
	if err != nil || n != 1 {
		t.Fatalf("Due with ErrStop: n=%d err=%v", n, err)
	}
	// Many entries with one time page correctly.
	var runs []*store.RunWrite
	for i := range 1200 {
		r := rec(fmt.Sprint("m", i))
		r.Due = at(20)
		runs = append(runs, &store.RunWrite{Record: r})
	}
	c, err = s.Apply(&store.Batch{Runs: runs})
	if err == nil {
		err = c.Wait()
	}
	if err != nil {
		t.Fatal(err)
	}
	if got := list(at(20), at(21)); len(got) != 1200 {
		t.Fatalf("Due over 1200 equal times listed %d", len(got))
	}
}
