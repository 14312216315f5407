package storetest

import (
	"testing"

	"github.com/sundial-io/sundial/internal/store"
)

func listBatchJobs(t *testing.T, f *fixture, namespace string) []string {
	t.Helper()
	var out []string
	err := f.s.BatchJobs(t.Context(), namespace, func(r *store.BatchJobRecord) error {
		out = append(out, r.Namespace+"/"+r.JobID+"="+string(r.State))
		return nil
	})
	if err != nil {
		t.Fatalf("BatchJobs(%q): %v", namespace, err)
	}
	return out
}

// testBatchJobs: batch job records are put, replaced and deleted by
// (namespace, job id), listed in key order, kept apart from schedules, and
// survive reopen.
func testBatchJobs(t *testing.T, f *fixture) {
	if got := listBatchJobs(t, f, ""); len(got) != 0 {
		t.Fatalf("fresh store lists batch jobs %v", got)
	}
	f.apply(&store.Batch{
		BatchJobs: []*store.BatchJobRecord{
			{Namespace: "a", JobID: "j2", State: []byte("two")},
			{Namespace: "a", JobID: "j1", State: []byte("one")},
			{Namespace: "ab", JobID: "j1", State: []byte("other ns")},
		},
		Schedules: []*store.ScheduleRecord{{Namespace: "a", ScheduleID: "j1", State: []byte("a schedule")}},
	})
	f.apply(&store.Batch{BatchJobs: []*store.BatchJobRecord{{Namespace: "a", JobID: "j1", State: []byte("one v2")}}})
	f.reopen()
	if got, want := listBatchJobs(t, f, "a"), []string{"a/j1=one v2", "a/j2=two"}; !equalStrings(got, want) {
		t.Fatalf("BatchJobs(a) = %q, want %q", got, want)
	}
	if got := listBatchJobs(t, f, ""); len(got) != 3 || got[2] != "ab/j1=other ns" {
		t.Fatalf("BatchJobs(all) = %q", got)
	}
	if got := listSchedules(t, f, "a"); len(got) != 1 || got[0] != "a/j1=a schedule" {
		t.Fatalf("Schedules(a) = %q; batch jobs leaked into schedules", got)
	}
	f.apply(&store.Batch{BatchJobDeletes: []store.BatchJobKey{{Namespace: "a", JobID: "j2"}, {Namespace: "a", JobID: "missing"}}})
	f.reopen()
	if got, want := listBatchJobs(t, f, "a"), []string{"a/j1=one v2"}; !equalStrings(got, want) {
		t.Fatalf("after delete BatchJobs(a) = %q, want %q", got, want)
	}
	n := 0
	if err := f.s.BatchJobs(t.Context(), "", func(*store.BatchJobRecord) error { n++; return store.ErrStop }); err != nil || n != 1 {
		t.Fatalf("BatchJobs with ErrStop: n=%d err=%v", n, err)
	}
	if _, err := f.s.Apply(&store.Batch{BatchJobs: []*store.BatchJobRecord{{Namespace: "a"}}}); err == nil {
		t.Fatal("Apply of a batch job without an id succeeded")
	}
}
