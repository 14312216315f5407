package pebblestore

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble"
)

// formatVersion is written to versionKey when a store is created. Bump it
// when the key layout or value encodings change incompatibly; Open refuses
// versions it does not know rather than misreading them.
//
// Version 2 added the visibility index (index.go), version 3 made its
// entries carry the run summary, version 4 added the per-type table and
// version 5 the per-task-queue table; older stores are upgraded in place at
// open by rebuilding the index. Version 6 added the due index (due.go);
// a version 5 store is upgraded by giving each open run a due entry.
const formatVersion = "6"

// checkVersion verifies the version marker, writing it into a new store.
// The marker is flushed into an sstable at once so it never depends on the
// WAL: a store whose marker is missing is then either one whose creation was
// interrupted (it has no keys and is initialised now) or not ours.
func (s *Store) checkVersion(fresh bool) error {
	v, closer, err := s.db.Get([]byte(versionKey))
	switch {
	case err == nil:
		got := string(v)
		closer.Close()
		if got == "1" || got == "2" || got == "3" || got == "4" || got == "5" {
			return s.upgrade(got)
		}
		if got != formatVersion {
			return fmt.Errorf("pebblestore: data dir %q has store format version %q; this build only reads version %q", s.dir, got, formatVersion)
		}
		return nil
	case !errors.Is(err, pebble.ErrNotFound):
		return s.readError(err)
	}
	if !fresh {
		empty, err := s.isEmpty()
		if err != nil {
			return err
		}
		if !empty {
			return fmt.Errorf("pebblestore: data dir %q holds a Pebble database without a Sundial version marker (refusing to use it)", s.dir)
		}
	}
	if err := s.db.Set([]byte(versionKey), []byte(formatVersion), pebble.Sync); err != nil {
		return fmt.Errorf("pebblestore: write version marker: %w", err)
	}
	if err := s.db.Flush(); err != nil {
		return fmt.Errorf("pebblestore: write version marker: %w", err)
	}
	return nil
}

// isEmpty reports whether the DB has no keys at all, i.e. was just created
// (possibly by an earlier Open that crashed before writing the marker).
func (s *Store) isEmpty() (bool, error) {
	it, err := s.db.NewIter(nil)
	if err != nil {
		return false, s.readError(err)
	}
	empty := !it.First()
	if err := it.Close(); err != nil {
		return false, s.readError(err)
	}
	return empty, nil
}

// upgrade builds what a store of version got lacks (the visibility index
// before version 5, the due index before 6), then records the new version;
// a crash in between just builds them again (the writes are idempotent).
func (s *Store) upgrade(got string) error {
	if got != "5" {
		if err := s.backfillIndex(); err != nil {
			return err
		}
	}
	if err := s.backfillDue(); err != nil {
		return err
	}
	if err := s.db.Set([]byte(versionKey), []byte(formatVersion), pebble.Sync); err != nil {
		return fmt.Errorf("pebblestore: write version marker: %w", err)
	}
	return nil
}
