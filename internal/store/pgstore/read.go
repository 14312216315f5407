package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/operatorservice/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sundial-io/sundial/internal/store"
)

// scanPage is how many rows a scan fetches per query. Scans fetch a page,
// release the connection and only then call fn, so a callback that reads
// the store (recovery reads each open run's history) never waits for a
// connection its own scan holds.
const (
	scanPage  = 500
	limitPage = " LIMIT 500" // ends every paged query; TestLimitPage keeps it equal to scanPage
)

// Namespaces returns every registered namespace, ordered by name.
func (s *Store) Namespaces(ctx context.Context) ([]*store.Namespace, error) {
	if err := s.waitAll(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT name, info FROM namespaces ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("pgstore: read namespaces: %w", err)
	}
	defer rows.Close()
	var out []*store.Namespace
	for rows.Next() {
		var name, v []byte
		if err := rows.Scan(&name, &v); err != nil {
			return nil, fmt.Errorf("pgstore: read namespaces: %w", err)
		}
		ns := &store.Namespace{}
		if err := proto.Unmarshal(v, ns); err != nil {
			return nil, fmt.Errorf("pgstore: corrupt namespace %q: %w", name, err)
		}
		out = append(out, ns)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: read namespaces: %w", err)
	}
	return out, nil
}

// Run returns the record of one run.
func (s *Store) Run(ctx context.Context, namespace, runID string) (*store.RunRecord, error) {
	if err := s.waitKey(ctx, rowKey{'r', namespace, runID}); err != nil {
		return nil, err
	}
	return s.run(ctx, namespace, runID)
}

func (s *Store) run(ctx context.Context, namespace, runID string) (*store.RunRecord, error) {
	var v []byte
	err := s.pool.QueryRow(ctx, sqlRun, []byte(namespace), []byte(runID)).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: read run: %w", err)
	}
	return decodeRecord(v)
}

func decodeRecord(v []byte) (*store.RunRecord, error) {
	r := &store.RunRecord{}
	if err := r.Unmarshal(v); err != nil {
		return nil, err
	}
	return r, nil
}

// History returns up to limit events with id >= fromEventID: the stored
// batches whose last event is at or after fromEventID, in order.
func (s *Store) History(ctx context.Context, namespace, runID string, fromEventID int64, limit int) ([]*historypb.HistoryEvent, error) {
	if err := s.waitKey(ctx, rowKey{'r', namespace, runID}); err != nil {
		return nil, err
	}
	if fromEventID < 1 {
		fromEventID = 1
	}
	rows, err := s.pool.Query(ctx, sqlReadHistory, []byte(namespace), []byte(runID), fromEventID)
	if err != nil {
		return nil, fmt.Errorf("pgstore: read history: %w", err)
	}
	var out []*historypb.HistoryEvent
	for rows.Next() && (limit <= 0 || len(out) < limit) {
		var first int64
		var v []byte
		if err := rows.Scan(&first, &v); err != nil {
			rows.Close()
			return nil, fmt.Errorf("pgstore: read history: %w", err)
		}
		var h historypb.History
		if err := proto.Unmarshal(v, &h); err != nil {
			rows.Close()
			return nil, fmt.Errorf("pgstore: corrupt history of run %q at event %d: %w", runID, first, err)
		}
		for _, e := range h.Events {
			if e.GetEventId() < fromEventID {
				continue
			}
			if limit > 0 && len(out) >= limit {
				break
			}
			out = append(out, e)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: read history: %w", err)
	}
	if len(out) == 0 {
		// No events: an unknown run is an error, a short history is not.
		if _, err := s.run(ctx, namespace, runID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// OpenRuns calls fn for every open (RUNNING or PAUSED) run, found through the partial index
// of open visibility rows, a page at a time.
func (s *Store) OpenRuns(ctx context.Context, fn func(*store.RunRecord) error) error {
	if err := s.waitAll(ctx); err != nil {
		return err
	}
	afterNS, afterID := []byte{}, []byte{}
	for {
		var recs [][]byte
		var lastNS, lastID []byte
		rows, err := s.pool.Query(ctx, `SELECT v.namespace, v.run_id, r.record FROM visibility v
			JOIN runs r ON r.namespace = v.namespace AND r.run_id = v.run_id
			WHERE v.status IN (1, 8) AND (v.namespace, v.run_id) > ($1, $2)
			ORDER BY v.namespace, v.run_id`+limitPage, afterNS, afterID)
		if err != nil {
			return fmt.Errorf("pgstore: read open runs: %w", err)
		}
		for rows.Next() {
			var rec []byte
			if err := rows.Scan(&lastNS, &lastID, &rec); err != nil {
				rows.Close()
				return fmt.Errorf("pgstore: read open runs: %w", err)
			}
			recs = append(recs, rec)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("pgstore: read open runs: %w", err)
		}
		for _, v := range recs {
			r, err := decodeRecord(v)
			if err != nil {
				return err
			}
			if !store.Open(r.Info.GetStatus()) {
				continue
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(recs) < scanPage {
			return nil
		}
		afterNS, afterID = lastNS, lastID
	}
}

// Runs calls fn for every run of a namespace, in run id order, a page at a
// time.
func (s *Store) Runs(ctx context.Context, namespace string, fn func(*store.RunRecord) error) error {
	if err := s.waitAll(ctx); err != nil {
		return err
	}
	after := []byte{}
	for {
		var recs [][]byte
		var last []byte
		rows, err := s.pool.Query(ctx, `SELECT run_id, record FROM runs WHERE namespace = $1 AND run_id > $2
			ORDER BY run_id`+limitPage, []byte(namespace), after)
		if err != nil {
			return fmt.Errorf("pgstore: read runs: %w", err)
		}
		for rows.Next() {
			var rec []byte
			if err := rows.Scan(&last, &rec); err != nil {
				rows.Close()
				return fmt.Errorf("pgstore: read runs: %w", err)
			}
			recs = append(recs, rec)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("pgstore: read runs: %w", err)
		}
		for _, v := range recs {
			r, err := decodeRecord(v)
			if err != nil {
				return err
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(recs) < scanPage {
			return nil
		}
		after = last
	}
}

// SearchAttributes returns the stored registry of a namespace.
func (s *Store) SearchAttributes(ctx context.Context, namespace string) (map[string]enumspb.IndexedValueType, error) {
	if err := s.waitKey(ctx, rowKey{'a', namespace, ""}); err != nil {
		return nil, err
	}
	var v []byte
	err := s.pool.QueryRow(ctx, `SELECT registry FROM search_attributes WHERE namespace = $1`, []byte(namespace)).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: read search attributes: %w", err)
	}
	var m operatorservice.ListSearchAttributesResponse
	if err := proto.Unmarshal(v, &m); err != nil {
		return nil, fmt.Errorf("pgstore: corrupt search attributes of %q: %w", namespace, err)
	}
	out := m.CustomAttributes
	if out == nil {
		out = map[string]enumspb.IndexedValueType{}
	}
	return out, nil
}
