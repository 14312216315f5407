package storetest

import (
	"testing"

	"github.com/sundial-io/sundial/internal/store"
)

func listRecords(t *testing.T, f *fixture, kind string) []string {
	t.Helper()
	var out []string
	err := f.s.Records(t.Context(), kind, func(r *store.KeyedRecord) error {
		if r.Kind != kind {
			t.Fatalf("Records(%q) returned a record of kind %q", kind, r.Kind)
		}
		out = append(out, r.Key+"="+string(r.State))
		return nil
	})
	if err != nil {
		t.Fatalf("Records(%q): %v", kind, err)
	}
	return out
}

// testKeyedRecords: keyed records are put, replaced and deleted by kind and
// key, listed per kind in key order (a kind that is a prefix of another
// stays apart, keys may hold any bytes), kept apart from the other record
// kinds, and survive reopen.
func testKeyedRecords(t *testing.T, f *fixture) {
	if got := listRecords(t, f, "tq"); len(got) != 0 {
		t.Fatalf("fresh store lists records %v", got)
	}
	awkward := "ns\x00/queue\xff"
	f.apply(&store.Batch{
		Records: []*store.KeyedRecord{
			{Kind: "tq", Key: "b", State: []byte("two")},
			{Kind: "tq", Key: "a", State: []byte("one")},
			{Kind: "tq", Key: awkward, State: []byte("odd")},
			{Kind: "tqx", Key: "a", State: []byte("other kind")},
		},
		NexusEndpoints: []*store.NexusEndpointRecord{{ID: "tq", State: []byte("endpoint")}},
	})
	f.apply(&store.Batch{Records: []*store.KeyedRecord{{Kind: "tq", Key: "a", State: []byte("one v2")}}})
	f.reopen()
	if got, want := listRecords(t, f, "tq"), []string{"a=one v2", "b=two", awkward + "=odd"}; !equalStrings(got, want) {
		t.Fatalf("Records(tq) = %q, want %q", got, want)
	}
	if got, want := listRecords(t, f, "tqx"), []string{"a=other kind"}; !equalStrings(got, want) {
		t.Fatalf("Records(tqx) = %q, want %q", got, want)
	}
	if got := listNexusEndpoints(t, f); len(got) != 1 {
		t.Fatalf("NexusEndpoints = %q; records leaked into endpoints", got)
	}
	f.apply(&store.Batch{RecordDeletes: []store.RecordKey{{Kind: "tq", Key: "b"}, {Kind: "tq", Key: "missing"}}})
	f.reopen()
	if got, want := listRecords(t, f, "tq"), []string{"a=one v2", awkward + "=odd"}; !equalStrings(got, want) {
		t.Fatalf("after delete Records(tq) = %q, want %q", got, want)
	}
	n := 0
	if err := f.s.Records(t.Context(), "tq", func(*store.KeyedRecord) error { n++; return store.ErrStop }); err != nil || n != 1 {
		t.Fatalf("Records with ErrStop: %d calls, err %v; want 1, nil", n, err)
	}
	if _, err := f.s.Apply(&store.Batch{Records: []*store.KeyedRecord{{Key: "k", State: []byte("x")}}}); err == nil {
		t.Fatal("Apply of a keyed record without a kind succeeded")
	}
}
