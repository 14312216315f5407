package storetest

import (
	"bytes"
	"errors"
	"testing"

	"github.com/sundial-io/sundial/internal/store"
)

// listSchedules returns "ns/id=state" for every schedule of namespace.
func listSchedules(t *testing.T, f *fixture, namespace string) []string {
	t.Helper()
	var out []string
	err := f.s.Schedules(t.Context(), namespace, func(r *store.ScheduleRecord) error {
		out = append(out, r.Namespace+"/"+r.ScheduleID+"="+string(r.State))
		return nil
	})
	if err != nil {
		t.Fatalf("Schedules(%q): %v", namespace, err)
	}
	return out
}

// testSchedules: schedule records are put, replaced and deleted by
// (namespace, id), listed in key order per namespace or across all, keep
// awkward ids apart, and survive reopen.
func testSchedules(t *testing.T, f *fixture) {
	if got := listSchedules(t, f, ""); len(got) != 0 {
		t.Fatalf("fresh store lists schedules %v", got)
	}
	f.apply(&store.Batch{Schedules: []*store.ScheduleRecord{
		{Namespace: "a", ScheduleID: "s2", State: []byte("two")},
		{Namespace: "a", ScheduleID: "s1", State: []byte("one")},
		{Namespace: "ab", ScheduleID: "s1", State: []byte("other ns")},
		{Namespace: "a", ScheduleID: "x\x00y", State: []byte("nul")},
	}})
	f.apply(&store.Batch{Schedules: []*store.ScheduleRecord{{Namespace: "a", ScheduleID: "s1", State: []byte("one v2")}}})
	f.reopen()
	want := []string{"a/s1=one v2", "a/s2=two", "a/x\x00y=nul"}
	if got := listSchedules(t, f, "a"); !equalStrings(got, want) {
		t.Fatalf("Schedules(a) = %q, want %q", got, want)
	}
	if got := listSchedules(t, f, ""); len(got) != 4 || got[3] != "ab/s1=other ns" {
		t.Fatalf("Schedules(all) = %q", got)
	}
	f.apply(&store.Batch{ScheduleDeletes: []store.ScheduleKey{{Namespace: "a", ScheduleID: "s2"}, {Namespace: "a", ScheduleID: "missing"}}})
	f.reopen()
	if got, want := listSchedules(t, f, "a"), []string{"a/s1=one v2", "a/x\x00y=nul"}; !equalStrings(got, want) {
		t.Fatalf("after delete Schedules(a) = %q, want %q", got, want)
	}
	// ErrStop ends the scan without an error.
	n := 0
	if err := f.s.Schedules(t.Context(), "", func(*store.ScheduleRecord) error { n++; return store.ErrStop }); err != nil || n != 1 {
		t.Fatalf("Schedules with ErrStop: n=%d err=%v", n, err)
	}
	// A record without a key is refused and nothing of its batch is written.
	if _, err := f.s.Apply(&store.Batch{Schedules: []*store.ScheduleRecord{{Namespace: "a", ScheduleID: "ok", State: []byte("x")}, {Namespace: "a"}}}); err == nil {
		t.Fatal("Apply of a schedule without an id succeeded")
	}
	for _, s := range listSchedules(t, f, "a") {
		if bytes.HasPrefix([]byte(s), []byte("a/ok=")) {
			t.Fatal("a refused batch left a schedule behind")
		}
	}
	// A state returned to fn is the caller's to keep.
	var kept *store.ScheduleRecord
	_ = f.s.Schedules(t.Context(), "a", func(r *store.ScheduleRecord) error { kept = r; return errors.New("stop") })
	if kept == nil || string(kept.State) != "one v2" {
		t.Fatalf("kept record = %+v", kept)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
