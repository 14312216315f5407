package storetest

import (
	"testing"

	"github.com/sundial-io/sundial/internal/store"
)

func listWorkerDeployments(t *testing.T, f *fixture) []string {
	t.Helper()
	var out []string
	err := f.s.WorkerDeployments(t.Context(), func(r *store.WorkerDeploymentRecord) error {
		out = append(out, r.Namespace+"/"+r.Name+"="+string(r.State))
		return nil
	})
	if err != nil {
		t.Fatalf("WorkerDeployments: %v", err)
	}
	return out
}

// testWorkerDeployments: deployment records are put, replaced and deleted
// by namespace and name, listed in that order, kept apart from Nexus
// endpoints, and survive reopen.
func testWorkerDeployments(t *testing.T, f *fixture) {
	if got := listWorkerDeployments(t, f); len(got) != 0 {
		t.Fatalf("fresh store lists worker deployments %v", got)
	}
	k := func(ns, name string) store.WorkerDeploymentKey {
		return store.WorkerDeploymentKey{Namespace: ns, Name: name}
	}
	f.apply(&store.Batch{
		WorkerDeployments: []*store.WorkerDeploymentRecord{
			{WorkerDeploymentKey: k("ns2", "a"), State: []byte("ns2 a")},
			{WorkerDeploymentKey: k("ns1", "b"), State: []byte("ns1 b")},
			{WorkerDeploymentKey: k("ns1", "a/x"), State: []byte("ns1 a/x")},
		},
		NexusEndpoints: []*store.NexusEndpointRecord{{ID: "ns1", State: []byte("endpoint")}},
	})
	f.apply(&store.Batch{WorkerDeployments: []*store.WorkerDeploymentRecord{{WorkerDeploymentKey: k("ns1", "b"), State: []byte("ns1 b v2")}}})
	f.reopen()
	if got, want := listWorkerDeployments(t, f), []string{"ns1/a/x=ns1 a/x", "ns1/b=ns1 b v2", "ns2/a=ns2 a"}; !equalStrings(got, want) {
		t.Fatalf("WorkerDeployments = %q, want %q", got, want)
	}
	if got := listNexusEndpoints(t, f); len(got) != 1 {
		t.Fatalf("NexusEndpoints = %q; deployments leaked into endpoints", got)
	}
	f.apply(&store.Batch{WorkerDeploymentDeletes: []store.WorkerDeploymentKey{k("ns1", "a/x"), k("ns3", "missing")}})
	f.reopen()
	if got, want := listWorkerDeployments(t, f), []string{"ns1/b=ns1 b v2", "ns2/a=ns2 a"}; !equalStrings(got, want) {
		t.Fatalf("after delete WorkerDeployments = %q, want %q", got, want)
	}
	if _, err := f.s.Apply(&store.Batch{WorkerDeployments: []*store.WorkerDeploymentRecord{{WorkerDeploymentKey: k("ns1", ""), State: []byte("x")}}}); err == nil {
		t.Fatal("Apply of a worker deployment without a name succeeded")
	}
}
