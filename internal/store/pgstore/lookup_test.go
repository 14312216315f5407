package pgstore

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/store/pgstore/pgtest"
)

// TestCurrentRunRidesOnGroup: lookups made while the writer commits are
// answered by the next group's pipeline, correctly (a hit, a miss), and
// in Apply order: a batch applied after the lookup asked, sent in the same
// pipeline, is not seen by it; a lookup made later sees it. With the
// writer idle a lookup is a query of its own.
func TestCurrentRunRidesOnGroup(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	s := mustOpen(t, pg.NewDatabase(t))
	defer s.Close()
	write := func(wf, run string) store.Commit {
		t.Helper()
		c, err := s.Apply(&store.Batch{Runs: []*store.RunWrite{{
			Record: &store.RunRecord{Namespace: "ns", WorkflowID: wf, RunID: run}, SetCurrent: true}}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if err := write("wf-x", "x").Wait(); err != nil {
		t.Fatal(err)
	}
	before := lookupsBatched.Load()
	if id, err := s.CurrentRun(t.Context(), "ns", "wf-x"); err != nil || id != "x" {
		t.Fatalf("idle CurrentRun = %q, %v", id, err)
	}
	if lookupsBatched.Load() != before {
		t.Fatal("a lookup with the writer idle waited for a group")
	}

	release := make(chan struct{})
	held := make(chan struct{}, 1)
	s.beforeCommit = func() {
		select {
		case held <- struct{}{}:
			<-release // hold the first group only
		default:
		}
	}
	a := write("wf-a", "a")
	<-held

	type answer struct {
		id  string
		err error
	}
	ask := func(wf string) chan answer {
		ch := make(chan answer, 1)
		go func() {
			id, err := s.CurrentRun(t.Context(), "ns", wf)
			ch <- answer{id, err}
		}()
		return ch
	}
	hit, miss := ask("wf-x"), ask("wf-missing")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		s.mu.Lock()
		n := len(s.lookups)
		s.mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d lookups queued while the writer commits, want 2", n)
		}
	}
	// Applied after the lookups asked; written in the same pipeline.
	x2 := write("wf-x", "x2")
	close(release)

	if r := <-hit; r.err != nil || r.id != "x" {
		t.Errorf("queued CurrentRun(wf-x) = %q, %v; want x (the newer pointer was applied after it asked)", r.id, r.err)
	}
	if r := <-miss; !errors.Is(r.err, store.ErrNotFound) {
		t.Errorf("queued CurrentRun(wf-missing) = %q, %v; want ErrNotFound", r.id, r.err)
	}
	if got := lookupsBatched.Load() - before; got != 2 {
		t.Errorf("%d lookups answered by a group, want 2", got)
	}
	for _, c := range []store.Commit{a, x2} {
		if err := c.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	if id, err := s.CurrentRun(t.Context(), "ns", "wf-x"); err != nil || id != "x2" {
		t.Errorf("CurrentRun(wf-x) after the commit = %q, %v; want x2", id, err)
	}
	if id, err := s.CurrentRun(t.Context(), "ns", "wf-a"); err != nil || id != "a" {
		t.Errorf("CurrentRun(wf-a) = %q, %v; want a", id, err)
	}
}

// TestPreparedPlans: the prepared point reads and the batched lookup
// probe an index per id, also with the plan a prepared statement settles
// on while its tables are empty (as on a fresh database: the store
// prepares at connect time) once the tables hold 5,000 runs and have not
// been analyzed since; they never read a whole table.
func TestPreparedPlans(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	url := pg.NewDatabase(t)
	s := mustOpen(t, url)
	defer s.Close()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	ids := `'{"\\x6e73","\\x6e73"}'::bytea[], '{"\\x77662d72756e2d3030303031","\\x77662d6e6f6e65"}'::bytea[]`
	queries := []struct{ name, sql, args string }{
		{"lookup", sqlLookup, ids},
		{"current", sqlCurrentRun, `'\x6e73', '\x77662d72756e2d3030303031'`},
		{"run", sqlRun, `'\x6e73', '\x72756e2d3030303031'`},
		{"history", sqlReadHistory, `'\x6e73', '\x72756e2d3030303031', 1`},
	}
	if _, err := conn.Exec(t.Context(), "SET plan_cache_mode = force_generic_plan"); err != nil {
		t.Fatal(err)
	}
	for _, q := range queries {
		for _, stmt := range []string{"PREPARE " + q.name + " AS " + q.sql, "EXECUTE " + q.name + "(" + q.args + ")"} {
			if _, err := conn.Exec(t.Context(), stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
	}
	var runs []*store.RunWrite
	for i := range 5000 {
		id := fmt.Sprintf("run-%05d", i)
		runs = append(runs, &store.RunWrite{Record: &store.RunRecord{Namespace: "ns", WorkflowID: "wf-" + id, RunID: id}, SetCurrent: true,
			Events: []*historypb.HistoryEvent{{EventId: 1, EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED}}})
	}
	c, err := s.Apply(&store.Batch{Runs: runs})
	if err == nil {
		err = c.Wait()
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range queries {
		rows, err := conn.Query(t.Context(), "EXPLAIN EXECUTE "+q.name+"("+q.args+")")
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if text := strings.Join(plan, "\n"); strings.Contains(text, "Seq Scan") || !strings.Contains(text, "_pkey") {
			t.Errorf("%s reads a whole table:\n%s", q.name, text)
		}
	}
}

// TestLookupKeepsGenericPlan: after its first executions the prepared
// lookup runs its generic plan instead of being planned again each time
// (with unnest, the custom plans of small arrays looked cheaper, and
// PostgreSQL planned every lookup round anew).
func TestLookupKeepsGenericPlan(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	url := pg.NewDatabase(t)
	mustOpen(t, url).Close()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	if _, err := conn.Prepare(t.Context(), "lookup", sqlLookup); err != nil {
		t.Fatal(err)
	}
	ns, wfs := make([][]byte, 9), make([][]byte, 9)
	for i := range ns {
		ns[i], wfs[i] = []byte("ns"), []byte(fmt.Sprint("wf-", i))
	}
	for range 10 {
		if _, err := conn.Exec(t.Context(), "lookup", ns, wfs); err != nil {
			t.Fatal(err)
		}
	}
	var generic, custom int64
	if err := conn.QueryRow(t.Context(), `SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = 'lookup'`).Scan(&generic, &custom); err != nil {
		t.Fatal(err)
	}
	if generic < 5 {
		t.Errorf("lookup: %d generic and %d custom plans in 10 executions; want the generic plan kept after the first 5", generic, custom)
	}
}
