package pgstore

import (
	"context"
	"strings"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// The statements of the hot path (a group's upserts, the point reads) are
// prepared by name on every connection as soon as it is made, once the
// schema is migrated. PostgreSQL then neither parses nor plans them again
// (after five executions it keeps a generic plan): per group of writes
// and per start (the current-run lookup) that was about a third of the
// database's CPU not spent executing.
//
// Preparing at connect time, not on first use, keeps the client's idea of
// what is prepared equal to the server's: a session and its statements
// live and die together, so a database restart (every connection cut)
// cannot leave a name known to the client and unknown to the server,
// which is what pgx's lazy statement cache did (SQLSTATE 26000 on every
// write after a restart). pgx uses a statement prepared under its own SQL
// text whenever that exact text is executed; every other statement stays
// unnamed with a cached description.
//
// A transaction-mode pooler that does not carry prepared statements
// across server connections (PgBouncer before 1.21, or without
// max_prepared_statements) needs unnamed statements only: naming
// default_query_exec_mode in the connection string (for example
// default_query_exec_mode=cache_describe) turns preparation off and uses
// that mode.

// The point reads.
const (
	sqlCurrentRun  = `SELECT run_id FROM current_runs WHERE namespace = $1 AND workflow_id = $2`
	sqlRun         = `SELECT record FROM runs WHERE namespace = $1 AND run_id = $2`
	sqlReadHistory = `SELECT first_event_id, events FROM history
		WHERE namespace = $1 AND run_id = $2 AND last_event_id >= $3 ORDER BY first_event_id`
)

// hotStatements are prepared on every connection.
var hotStatements = []string{sqlRuns, sqlHistory, sqlCurrent, sqlVis, sqlCurrentRun, sqlRun, sqlReadHistory, sqlLookup}

// preparer prepares hotStatements on new connections once ready is set
// (the tables exist only after the migration, which runs on the same
// pool).
type preparer struct {
	ready atomic.Bool
}

func (p *preparer) afterConnect(ctx context.Context, c *pgx.Conn) error {
	if !p.ready.Load() {
		return nil
	}
	for _, q := range hotStatements {
		if _, err := c.Prepare(ctx, q, q); err != nil {
			return err
		}
	}
	return nil
}

// setsExecMode reports whether a connection string chooses pgx's query
// execution mode itself (then the store neither overrides it nor
// prepares statements).
func setsExecMode(url string) bool {
	return strings.Contains(url, "default_query_exec_mode")
}
