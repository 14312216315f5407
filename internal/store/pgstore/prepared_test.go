package pgstore

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/store/pgstore/pgtest"
)

// preparedOn returns the statements prepared on each of n pool connections
// held at once (so they are n different sessions).
func preparedOn(t *testing.T, pool *pgxpool.Pool, n int) []map[string]bool {
	t.Helper()
	ctx := t.Context()
	var conns []*pgxpool.Conn
	defer func() {
		for _, c := range conns {
			c.Release()
		}
	}()
	var out []map[string]bool
	for range n {
		c, err := pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		rows, err := c.Query(ctx, `SELECT statement FROM pg_prepared_statements`)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			got[s] = true
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		out = append(out, got)
	}
	return out
}

// writeAndRead applies one run write (and a namespace, a statement that is
// not prepared) and reads the record back.
func writeAndRead(t *testing.T, s *Store, runID string) {
	t.Helper()
	rec := &store.RunRecord{Namespace: "ns", WorkflowID: "wf-" + runID, RunID: runID}
	c, err := s.Apply(&store.Batch{
		Namespaces: []*store.Namespace{{NamespaceInfo: nsInfo("ns-" + runID)}},
		Runs:       []*store.RunWrite{{Record: rec, SetCurrent: true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(); err != nil {
		t.Fatalf("write %s: %v", runID, err)
	}
	got, err := s.CurrentRun(t.Context(), "ns", "wf-"+runID)
	if err != nil || got != runID {
		t.Fatalf("CurrentRun = %q, %v; want %q", got, err, runID)
	}
	if _, err := s.Run(t.Context(), "ns", runID); err != nil {
		t.Fatalf("Run(%s): %v", runID, err)
	}
}

// TestHotStatementsPrepared: every pool connection has the hot statements
// prepared (including connections made after a database restart, which
// cuts every session), and a connection string that names
// default_query_exec_mode gets none prepared and still works.
func TestHotStatementsPrepared(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	url := pg.NewDatabase(t)
	s, err := Open(t.Context(), url, Options{MaxConns: 3, RetryFor: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check := func(when string) {
		for i, got := range preparedOn(t, s.pool, 3) {
			for _, q := range hotStatements {
				if !got[q] {
					t.Errorf("%s: connection %d lacks prepared statement %.60q (has %d)", when, i, q, len(got))
				}
			}
		}
	}
	writeAndRead(t, s, "run-1")
	check("after open")

	if err := pg.Restart(); err != nil {
		t.Fatal(err)
	}
	// The first write after the restart meets a dead connection and is
	// retried on a new one; its namespace statement was never described
	// before, so a retry that reused the first attempt's pgx.Batch failed.
	writeAndRead(t, s, "run-2")
	check("after a database restart")

	plain, err := Open(t.Context(), url+"&default_query_exec_mode=cache_describe", Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	writeAndRead(t, plain, "run-3")
	for i, got := range preparedOn(t, plain.pool, 2) {
		if len(got) != 0 {
			t.Errorf("default_query_exec_mode set: connection %d has %d prepared statements, want none", i, len(got))
		}
	}
}
