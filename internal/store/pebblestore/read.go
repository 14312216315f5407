package pebblestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sundial-io/sundial/internal/store"
)

// get returns a copy of the value of k, or store.ErrNotFound.
func (s *Store) get(k []byte) ([]byte, error) {
	v, closer, err := s.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, s.readError(err)
	}
	v = bytes.Clone(v)
	closer.Close()
	return v, nil
}

// scan calls fn with every key and value under prefix, in key order. The
// value is only valid during the call.
func (s *Store) scan(ctx context.Context, prefix []byte, fn func(k, v []byte) error) error {
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return s.readError(err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		if err := ctx.Err(); err != nil {
			it.Close()
			return err
		}
		if err := fn(it.Key(), it.Value()); err != nil {
			it.Close()
			return err
		}
	}
	return s.readError(it.Close())
}

// Namespaces returns every registered namespace, ordered by name.
func (s *Store) Namespaces(ctx context.Context) ([]*store.Namespace, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.exit()
	var out []*store.Namespace
	err := s.scan(ctx, []byte(tableNS), func(k, v []byte) error {
		ns := &store.Namespace{}
		if err := proto.Unmarshal(v, ns); err != nil {
			return fmt.Errorf("pebblestore: corrupt namespace %q: %w", k, err)
		}
		out = append(out, ns)
		return nil
	})
	return out, err
}

// CurrentRun returns the run id of the newest run of a workflow id.
func (s *Store) CurrentRun(ctx context.Context, namespace, workflowID string) (string, error) {
	if err := s.enter(); err != nil {
		return "", err
	}
	defer s.exit()
	v, err := s.get(key(tableCurrent, namespace, workflowID))
	return string(v), err
}

// Run returns the record of one run.
func (s *Store) Run(ctx context.Context, namespace, runID string) (*store.RunRecord, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.exit()
	return s.run(namespace, runID)
}

func (s *Store) run(namespace, runID string) (*store.RunRecord, error) {
	v, err := s.get(key(tableRun, namespace, runID))
	if err != nil {
		return nil, err
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

// History returns up to limit events with id >= fromEventID. It starts at
// the stored batch that contains fromEventID, found by seeking backwards
// from the key of fromEventID+1.
func (s *Store) History(ctx context.Context, namespace, runID string, fromEventID int64, limit int) ([]*historypb.HistoryEvent, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.exit()
	if fromEventID < 1 {
		fromEventID = 1
	}
	prefix := key(tableHistory, namespace, runID)
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, s.readError(err)
	}
	defer it.Close()
	ok := it.SeekLT(historyKey(namespace, runID, fromEventID+1))
	if !ok {
		ok = it.First()
	}
	var out []*historypb.HistoryEvent
	for ; ok && (limit <= 0 || len(out) < limit); ok = it.Next() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var h historypb.History
		if err := proto.Unmarshal(it.Value(), &h); err != nil {
			return nil, fmt.Errorf("pebblestore: corrupt history of run %q at event %d: %w", runID, firstIDOf(it.Key()), err)
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
	if err := it.Error(); err != nil {
		return nil, s.readError(err)
	}
	if len(out) == 0 {
		// No events: an unknown run is an error, a short history is not.
		if _, err := s.run(namespace, runID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// OpenRuns calls fn for every RUNNING run, found through the open-run
// index so that recovery does not read closed runs.
func (s *Store) OpenRuns(ctx context.Context, fn func(*store.RunRecord) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.exit()
	prefix := []byte(tableOpen)
	return s.scan(ctx, prefix, func(k, _ []byte) error {
		// The index key is "o/" + <ns><runid>; the record key is the
		// same components under "r/".
		rk := append([]byte(tableRun), k[len(prefix):]...)
		v, err := s.get(rk)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("pebblestore: open-run index names missing run %q", k[len(prefix):])
		}
		if err != nil {
			return err
		}
		r, err := decodeRecord(v)
		if err != nil {
			return err
		}
		if !store.Open(r.Info.GetStatus()) {
			return nil // closed after the iterator's snapshot was taken
		}
		return fn(r)
	})
}

// Runs calls fn for every run of a namespace. For now this is a plain scan
// in run id order (not newest first): it streams, so memory stays flat
// however many runs there are. A visibility index will provide time order.
func (s *Store) Runs(ctx context.Context, namespace string, fn func(*store.RunRecord) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.exit()
	return s.scan(ctx, key(tableRun, namespace), func(_, v []byte) error {
		r, err := decodeRecord(v)
		if err != nil {
			return err
		}
		return fn(r)
	})
}
