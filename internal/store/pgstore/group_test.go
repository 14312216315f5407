package pgstore

import (
	"errors"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"

	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/store/pgstore/pgtest"
)

// TestGroupKeepsApplyOrder puts batches that write and delete the same
// rows into one group transaction (the writer is held while they queue)
// and checks the result is what applying them one by one gives: a delete
// followed by a write of the same run (or schedule) cuts the group into
// segments, a write followed by a delete is merged.
func TestGroupKeepsApplyOrder(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	s := mustOpen(t, pg.NewDatabase(t))
	defer s.Close()
	rec := func(id string, hl int64) *store.RunRecord {
		return &store.RunRecord{Namespace: "ns", WorkflowID: "wf-" + id, RunID: id,
			Info: &workflowpb.WorkflowExecutionInfo{Status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, HistoryLength: hl}}
	}
	evs := func(first, n int64) []*historypb.HistoryEvent {
		var out []*historypb.HistoryEvent
		for i := range n {
			out = append(out, &historypb.HistoryEvent{EventId: first + i, EventType: enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED})
		}
		return out
	}
	wait := func(c store.Commit, err error) {
		t.Helper()
		if err == nil {
			err = c.Wait()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	wait(s.Apply(&store.Batch{Runs: []*store.RunWrite{
		{Record: rec("reborn", 1), Events: evs(1, 1), SetCurrent: true},
		{Record: rec("doomed", 1), Events: evs(1, 1), SetCurrent: true},
	}, Schedules: []*store.ScheduleRecord{{Namespace: "ns", ScheduleID: "s", State: []byte("v1")}}}))

	release := make(chan struct{})
	held := make(chan struct{}, 1)
	first := true
	s.beforeCommit = func() {
		if first {
			first = false
			held <- struct{}{}
			<-release
		}
	}
	c0, err := s.Apply(&store.Batch{Namespaces: []*store.Namespace{{NamespaceInfo: nsInfo("x")}}})
	if err != nil {
		t.Fatal(err)
	}
	<-held // the writer holds the first group; the next ones queue
	var commits []store.Commit
	for _, b := range []*store.Batch{
		// "reborn": deleted, then written anew with a fresh history.
		{Deletes: []*store.RunDelete{{Record: rec("reborn", 1), ClearCurrent: true}}},
		{Runs: []*store.RunWrite{{Record: rec("reborn", 2), Events: evs(1, 2), SetCurrent: true}}},
		// "doomed": appended to, then deleted.
		{Runs: []*store.RunWrite{{Record: rec("doomed", 3), Events: evs(2, 2)}}},
		{Deletes: []*store.RunDelete{{Record: rec("doomed", 3), ClearCurrent: true}}},
		// "fresh": written twice (the later record wins, both histories stay).
		{Runs: []*store.RunWrite{{Record: rec("fresh", 1), Events: evs(1, 1), SetCurrent: true}}},
		{Runs: []*store.RunWrite{{Record: rec("fresh", 3), Events: evs(2, 2), OpenIndexed: true}}},
		// A schedule deleted, then created again; another created, then deleted.
		{ScheduleDeletes: []store.ScheduleKey{{Namespace: "ns", ScheduleID: "s"}}},
		{Schedules: []*store.ScheduleRecord{{Namespace: "ns", ScheduleID: "s", State: []byte("v2")}, {Namespace: "ns", ScheduleID: "t", State: []byte("t")}}},
		{ScheduleDeletes: []store.ScheduleKey{{Namespace: "ns", ScheduleID: "t"}}},
	} {
		c, err := s.Apply(b)
		if err != nil {
			t.Fatal(err)
		}
		commits = append(commits, c)
	}
	close(release)
	wait(c0, nil)
	for _, c := range commits {
		wait(c, nil)
	}

	ctx := t.Context()
	if r, err := s.Run(ctx, "ns", "reborn"); err != nil || r.Info.GetHistoryLength() != 2 {
		t.Fatalf("reborn run: %v, %v", r, err)
	}
	if h, err := s.History(ctx, "ns", "reborn", 1, 0); err != nil || len(h) != 2 {
		t.Fatalf("reborn history: %d events, %v", len(h), err)
	}
	if id, err := s.CurrentRun(ctx, "ns", "wf-reborn"); err != nil || id != "reborn" {
		t.Fatalf("reborn current run %q, %v", id, err)
	}
	if _, err := s.Run(ctx, "ns", "doomed"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("doomed run: %v, want not found", err)
	}
	if _, err := s.CurrentRun(ctx, "ns", "wf-doomed"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("doomed current run: %v, want not found", err)
	}
	if r, err := s.Run(ctx, "ns", "fresh"); err != nil || r.Info.GetHistoryLength() != 3 {
		t.Fatalf("fresh run: %v, %v", r, err)
	}
	if h, err := s.History(ctx, "ns", "fresh", 1, 0); err != nil || len(h) != 3 {
		t.Fatalf("fresh history: %d events, %v", len(h), err)
	}
	if n, err := s.CountRuns(ctx, "ns", store.CountBy{}, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING); err != nil || n != 2 {
		t.Fatalf("running runs %d, %v; want 2 (reborn, fresh)", n, err)
	}
	var scheds []string
	if err := s.Schedules(ctx, "ns", func(r *store.ScheduleRecord) error {
		scheds = append(scheds, r.ScheduleID+"="+string(r.State))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(scheds) != 1 || scheds[0] != "s=v2" {
		t.Fatalf("schedules %q, want [s=v2]", scheds)
	}
}
