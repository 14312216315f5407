package storetest

import (
	"testing"

	"github.com/sundial-io/sundial/internal/store"
)

func listNexusEndpoints(t *testing.T, f *fixture) []string {
	t.Helper()
	var out []string
	err := f.s.NexusEndpoints(t.Context(), func(r *store.NexusEndpointRecord) error {
		out = append(out, r.ID+"="+string(r.State))
		return nil
	})
	if err != nil {
		t.Fatalf("NexusEndpoints: %v", err)
	}
	return out
}

// testNexusEndpoints: endpoint records are put, replaced and deleted by id,
// listed in id order, kept apart from batch jobs, and survive reopen.
func testNexusEndpoints(t *testing.T, f *fixture) {
	if got := listNexusEndpoints(t, f); len(got) != 0 {
		t.Fatalf("fresh store lists Nexus endpoints %v", got)
	}
	f.apply(&store.Batch{
		NexusEndpoints: []*store.NexusEndpointRecord{
			{ID: "e2", State: []byte("two")},
			{ID: "e1", State: []byte("one")},
		},
		BatchJobs: []*store.BatchJobRecord{{Namespace: "e1", JobID: "j", State: []byte("a job")}},
	})
	f.apply(&store.Batch{NexusEndpoints: []*store.NexusEndpointRecord{{ID: "e1", State: []byte("one v2")}}})
	f.reopen()
	if got, want := listNexusEndpoints(t, f), []string{"e1=one v2", "e2=two"}; !equalStrings(got, want) {
		t.Fatalf("NexusEndpoints = %q, want %q", got, want)
	}
	if got := listBatchJobs(t, f, ""); len(got) != 1 {
		t.Fatalf("BatchJobs = %q; endpoints leaked into batch jobs", got)
	}
	f.apply(&store.Batch{NexusEndpointDeletes: []string{"e2", "missing"}})
	f.reopen()
	if got, want := listNexusEndpoints(t, f), []string{"e1=one v2"}; !equalStrings(got, want) {
		t.Fatalf("after delete NexusEndpoints = %q, want %q", got, want)
	}
	if _, err := f.s.Apply(&store.Batch{NexusEndpoints: []*store.NexusEndpointRecord{{State: []byte("x")}}}); err == nil {
		t.Fatal("Apply of a Nexus endpoint without an id succeeded")
	}
}
