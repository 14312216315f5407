package pgstore

import (
	"slices"
	"testing"

	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/store/pgstore/pgtest"
)

// TestPendingKinds: activity executions and worker deployments are put,
// replaced and deleted by key, listed in key order (per namespace or all),
// kept apart from each other and from schedules, survive reopen, and a
// record with an empty key part fails its whole batch.
func TestPendingKinds(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	url := pg.NewDatabase(t)
	s := mustOpen(t, url)
	defer func() { s.Close() }()
	apply := func(b *store.Batch, p *PendingBatch) error {
		c, err := s.ApplyPending(b, p)
		if err == nil {
			err = c.Wait()
		}
		return err
	}
	acts := func(ns string) []string {
		var out []string
		if err := s.ActivityExecutions(t.Context(), ns, func(r *ActivityExecutionRecord) error {
			out = append(out, r.Namespace+"/"+r.ActivityID+"/"+r.RunID+"="+string(r.State))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	deps := func() []string {
		var out []string
		if err := s.WorkerDeployments(t.Context(), func(r *WorkerDeploymentRecord) error {
			out = append(out, r.Namespace+"/"+r.Name+"="+string(r.State))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	act := func(ns, id, run, state string) *ActivityExecutionRecord {
		return &ActivityExecutionRecord{ActivityExecutionKey{ns, id, run}, []byte(state)}
	}
	err := apply(&store.Batch{Schedules: []*store.ScheduleRecord{{Namespace: "a", ScheduleID: "x", State: []byte("sched")}}}, &PendingBatch{
		ActivityExecutions: []*ActivityExecutionRecord{act("a", "act2", "r1", "two"), act("a", "act1", "r2", "one-b"), act("a", "act1", "r1", "one"), act("ab", "act1", "r1", "other")},
		WorkerDeployments:  []*WorkerDeploymentRecord{{WorkerDeploymentKey{"b", "d"}, []byte("bd")}, {WorkerDeploymentKey{"a", "z"}, []byte("az")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := apply(&store.Batch{}, &PendingBatch{ActivityExecutions: []*ActivityExecutionRecord{act("a", "act2", "r1", "two v2")}, WorkerDeploymentDeletes: []WorkerDeploymentKey{{"b", "d"}, {"b", "missing"}}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = mustOpen(t, url)
	if got, want := acts("a"), []string{"a/act1/r1=one", "a/act1/r2=one-b", "a/act2/r1=two v2"}; !slices.Equal(got, want) {
		t.Fatalf("ActivityExecutions(a) = %q, want %q", got, want)
	}
	if got := acts(""); len(got) != 4 || got[3] != "ab/act1/r1=other" {
		t.Fatalf("ActivityExecutions(all) = %q", got)
	}
	if got, want := deps(), []string{"a/z=az"}; !slices.Equal(got, want) {
		t.Fatalf("WorkerDeployments = %q, want %q", got, want)
	}
	if err := apply(&store.Batch{}, &PendingBatch{ActivityExecutionDeletes: []ActivityExecutionKey{{"a", "act1", "r2"}}}); err != nil {
		t.Fatal(err)
	}
	if got, want := acts("a"), []string{"a/act1/r1=one", "a/act2/r1=two v2"}; !slices.Equal(got, want) {
		t.Fatalf("after delete ActivityExecutions(a) = %q, want %q", got, want)
	}
	n := 0
	if err := s.ActivityExecutions(t.Context(), "", func(*ActivityExecutionRecord) error { n++; return store.ErrStop }); err != nil || n != 1 {
		t.Fatalf("ErrStop: %d calls, %v", n, err)
	}
	// An empty key part fails the batch whole.
	err = apply(&store.Batch{Schedules: []*store.ScheduleRecord{{Namespace: "a", ScheduleID: "y", State: []byte("no")}}},
		&PendingBatch{ActivityExecutions: []*ActivityExecutionRecord{act("a", "", "r", "bad")}})
	if err == nil {
		t.Fatal("activity execution without an id accepted")
	}
	var scheds []string
	_ = s.Schedules(t.Context(), "a", func(r *store.ScheduleRecord) error { scheds = append(scheds, r.ScheduleID); return nil })
	if !slices.Equal(scheds, []string{"x"}) {
		t.Fatalf("schedules %v: a refused batch left a row, or kinds mixed", scheds)
	}
}
