package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sundial-io/sundial/internal/store"
)

// The due index (schema version 2): each run's next attention time is a
// nullable column of its runs row, written with its record, with a
// partial index over the runs that have one. Because the due lives in the
// run's own row, moving it needs no previous value (RunWrite.PrevDue) and
// deleting the run deletes it.

// dueOf is the due time a run write stores (zero: none).
func dueOf(w *store.RunWrite) time.Time { return w.Record.Due }

// dueParam is a due time as a nullable timestamptz.
func dueParam(t time.Time) pgtype.Timestamptz {
	if t.IsZero() {
		return pgtype.Timestamptz{}
	}
	return pgtype.Timestamptz{Time: t, Valid: true}
}

// DueEntry is one entry of the due index; times are UTC with
// microsecond precision (timestamptz).
type DueEntry = store.DueEntry

// Due calls fn for the runs whose due time t has from <= t < before,
// oldest first (a zero from means from the beginning), a page at a time.
// fn may return store.ErrStop. Entries written after the call began may
// or may not be seen.
func (s *Store) Due(ctx context.Context, from, before time.Time, fn func(DueEntry) error) error {
	if err := s.waitAll(ctx); err != nil {
		return err
	}
	if from.IsZero() {
		from = time.Unix(0, 0).Add(-1 << 62) // before any stored time
	}
	// Keyset paging over (due, namespace, run_id), the partial index's order.
	afterDue, afterNS, afterID := from, []byte{}, []byte{}
	first := true
	for {
		rows, err := s.pool.Query(ctx, `SELECT due, namespace, run_id, workflow_id FROM runs
			WHERE due IS NOT NULL AND due < $1 AND (due > $2 OR (due = $2 AND ($3 OR (namespace, run_id) > ($4, $5))))
			ORDER BY due, namespace, run_id`+limitPage, before, afterDue, first, afterNS, afterID)
		if err != nil {
			return fmt.Errorf("pgstore: read due index: %w", err)
		}
		var page []DueEntry
		for rows.Next() {
			var due time.Time
			var ns, id, wid []byte
			if err := rows.Scan(&due, &ns, &id, &wid); err != nil {
				rows.Close()
				return fmt.Errorf("pgstore: read due index: %w", err)
			}
			page = append(page, DueEntry{Time: due.UTC(), Namespace: string(ns), WorkflowID: string(wid), RunID: string(id)})
			afterDue, afterNS, afterID = due, ns, id
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("pgstore: read due index: %w", err)
		}
		first = false
		for _, e := range page {
			if err := fn(e); err != nil {
				if errors.Is(err, store.ErrStop) {
					return nil
				}
				return err
			}
		}
		if len(page) < scanPage {
			return nil
		}
	}
}
