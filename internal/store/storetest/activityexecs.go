package storetest

import (
	"testing"

	"github.com/sundial-io/sundial/internal/store"
)

// listActivityExecs returns "ns/activity/run=state" for every standalone
// activity execution of namespace ("" for all).
func listActivityExecs(t *testing.T, f *fixture, namespace string) []string {
	t.Helper()
	var out []string
	err := f.s.ActivityExecutions(t.Context(), namespace, func(r *store.ActivityExecutionRecord) error {
		out = append(out, r.Namespace+"/"+r.ActivityID+"/"+r.RunID+"="+string(r.State))
		return nil
	})
	if err != nil {
		t.Fatalf("ActivityExecutions(%q): %v", namespace, err)
	}
	return out
}

func actRec(ns, id, run, state string) *store.ActivityExecutionRecord {
	return &store.ActivityExecutionRecord{ActivityExecutionKey: store.ActivityExecutionKey{Namespace: ns, ActivityID: id, RunID: run}, State: []byte(state)}
}

// testActivityExecutions: standalone activity execution records are put,
// replaced and deleted by (namespace, activity id, run id), listed in key
// order per namespace or across all, keep awkward ids apart, refuse a
// record without a key (and the rest of its batch), and survive reopen.
func testActivityExecutions(t *testing.T, f *fixture) {
	if got := listActivityExecs(t, f, ""); len(got) != 0 {
		t.Fatalf("fresh store lists activity executions %v", got)
	}
	f.apply(&store.Batch{ActivityExecutions: []*store.ActivityExecutionRecord{
		actRec("a", "act2", "r1", "two"),
		actRec("a", "act1", "r2", "one-b"),
		actRec("a", "act1", "r1", "one-a"),
		actRec("ab", "act1", "r1", "other ns"),
		actRec("a", "x\x00y", "r1", "nul"),
	}})
	f.apply(&store.Batch{ActivityExecutions: []*store.ActivityExecutionRecord{actRec("a", "act1", "r1", "one-a v2")}})
	f.reopen()
	want := []string{"a/act1/r1=one-a v2", "a/act1/r2=one-b", "a/act2/r1=two", "a/x\x00y/r1=nul"}
	if got := listActivityExecs(t, f, "a"); !equalStrings(got, want) {
		t.Fatalf("ActivityExecutions(a) = %q, want %q", got, want)
	}
	if got := listActivityExecs(t, f, ""); len(got) != 5 || got[4] != "ab/act1/r1=other ns" {
		t.Fatalf("ActivityExecutions(all) = %q", got)
	}
	f.apply(&store.Batch{ActivityExecutionDeletes: []store.ActivityExecutionKey{
		{Namespace: "a", ActivityID: "act1", RunID: "r2"}, {Namespace: "a", ActivityID: "missing", RunID: "r1"}}})
	f.reopen()
	if got, want := listActivityExecs(t, f, "a"), []string{"a/act1/r1=one-a v2", "a/act2/r1=two", "a/x\x00y/r1=nul"}; !equalStrings(got, want) {
		t.Fatalf("after delete ActivityExecutions(a) = %q, want %q", got, want)
	}
	n := 0
	if err := f.s.ActivityExecutions(t.Context(), "", func(*store.ActivityExecutionRecord) error { n++; return store.ErrStop }); err != nil || n != 1 {
		t.Fatalf("ActivityExecutions with ErrStop: n=%d err=%v", n, err)
	}
	if _, err := f.s.Apply(&store.Batch{ActivityExecutions: []*store.ActivityExecutionRecord{actRec("a", "ok", "r1", "x"), actRec("a", "noRun", "", "x")}}); err == nil {
		t.Fatal("Apply of an activity execution without a run id succeeded")
	}
	for _, s := range listActivityExecs(t, f, "a") {
		if s == "a/ok/r1=x" {
			t.Fatal("a refused batch left an activity execution behind")
		}
	}
	// Records are kept apart from schedules of the same names.
	f.apply(&store.Batch{Schedules: []*store.ScheduleRecord{{Namespace: "a", ScheduleID: "act1", State: []byte("sched")}}})
	if got := listActivityExecs(t, f, "a"); len(got) != 3 {
		t.Fatalf("a schedule showed up among activity executions: %q", got)
	}
}
