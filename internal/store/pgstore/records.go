package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/sundial-io/sundial/internal/store"
)

// Schedules, batch jobs and Nexus endpoints are opaque values under their
// keys; these scans page through them in key order.

// scanKeyed pages through a (namespace, id, state) table in key order,
// limited to one namespace unless namespace is "".
func (s *Store) scanKeyed(ctx context.Context, table, idCol, namespace string, fn func(ns, id, state []byte) error) error {
	if err := s.waitAll(ctx); err != nil {
		return err
	}
	q := fmt.Sprintf(`SELECT namespace, %[2]s, state FROM %[1]s
		WHERE (octet_length($1::bytea) = 0 OR namespace = $1) AND (namespace, %[2]s) > ($2, $3)
		ORDER BY namespace, %[2]s`+limitPage, table, idCol)
	afterNS, afterID := []byte{}, []byte{}
	for {
		type row struct{ ns, id, state []byte }
		var page []row
		rows, err := s.pool.Query(ctx, q, []byte(namespace), afterNS, afterID)
		if err != nil {
			return fmt.Errorf("pgstore: read %s: %w", table, err)
		}
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.ns, &r.id, &r.state); err != nil {
				rows.Close()
				return fmt.Errorf("pgstore: read %s: %w", table, err)
			}
			page = append(page, r)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("pgstore: read %s: %w", table, err)
		}
		for _, r := range page {
			if err := fn(r.ns, r.id, r.state); err != nil {
				if errors.Is(err, store.ErrStop) {
					return nil
				}
				return err
			}
		}
		if len(page) < scanPage {
			return nil
		}
		afterNS, afterID = page[len(page)-1].ns, page[len(page)-1].id
	}
}

// Schedules calls fn for every stored schedule of a namespace ("" for all).
func (s *Store) Schedules(ctx context.Context, namespace string, fn func(*store.ScheduleRecord) error) error {
	return s.scanKeyed(ctx, "schedules", "schedule_id", namespace, func(ns, id, state []byte) error {
		return fn(&store.ScheduleRecord{Namespace: string(ns), ScheduleID: string(id), State: state})
	})
}

// BatchJobs calls fn for every stored batch job of a namespace ("" for all).
func (s *Store) BatchJobs(ctx context.Context, namespace string, fn func(*store.BatchJobRecord) error) error {
	return s.scanKeyed(ctx, "batch_jobs", "job_id", namespace, func(ns, id, state []byte) error {
		return fn(&store.BatchJobRecord{Namespace: string(ns), JobID: string(id), State: state})
	})
}

// NexusEndpoints calls fn for every stored Nexus endpoint, in id order.
func (s *Store) NexusEndpoints(ctx context.Context, fn func(*store.NexusEndpointRecord) error) error {
	if err := s.waitAll(ctx); err != nil {
		return err
	}
	rows, err := s.pool.Query(ctx, `SELECT id, state FROM nexus_endpoints ORDER BY id`)
	if err != nil {
		return fmt.Errorf("pgstore: read nexus_endpoints: %w", err)
	}
	var out []*store.NexusEndpointRecord
	for rows.Next() {
		var id, state []byte
		if err := rows.Scan(&id, &state); err != nil {
			rows.Close()
			return fmt.Errorf("pgstore: read nexus_endpoints: %w", err)
		}
		out = append(out, &store.NexusEndpointRecord{ID: string(id), State: state})
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("pgstore: read nexus_endpoints: %w", err)
	}
	for _, r := range out {
		if err := fn(r); err != nil {
			if errors.Is(err, store.ErrStop) {
				return nil
			}
			return err
		}
	}
	return nil
}
