// Package pebblestore implements store.Store on Pebble, an LSM key-value
// engine. Pebble fits the store's write pattern: many small appends that
// must each be fsynced, which its commit pipeline group-commits into one
// WAL fsync, while Apply only waits for the in-memory part.
package pebblestore

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/bloom"
	"github.com/cockroachdb/pebble/vfs"

	"github.com/sundial-io/sundial/internal/store"
)

// ErrClosed is returned by calls made after (or racing with) Close.
var ErrClosed = errors.New("pebblestore: store is closed")

// Options configures Open.
type Options struct {
	// InMemory keeps the whole store in memory (for tests and dev servers);
	// nothing survives the process.
	InMemory bool
	// NoSync acknowledges writes without waiting for fsync. Only for tests
	// and benchmarks: a crash may lose acknowledged writes.
	NoSync bool
	// FS, if set, replaces the file system (the OS one, or a fresh memory
	// one for InMemory). Tests pass a shared vfs.MemFS to reopen an
	// in-memory store or to simulate a crash.
	FS vfs.FS
	// MinFreeBytes is the free disk space CheckWritable keeps in reserve
	// (0: DefaultMinFreeBytes; negative: no check).
	MinFreeBytes int64
}

// Memory budget: the server should idle well under 40 MB. Neither number
// costs memory up front: Pebble starts with a small memtable and doubles it
// up to memTableSize as writes arrive, and the block cache only holds
// blocks that were read. The cache must hold the bloom filters of a large
// store (about 1 MB per 100,000 workflows), or every point read fetches
// them from the OS again. A 16 MB memtable (instead of 4) kept throughput
// with 1,000,000 stored workflows level with a fresh store: each flush
// spans every table's key range, so fewer, larger flushes mean fewer
// rewrites of the level below (docs/PERFORMANCE.md).
const (
	cacheSize    = 32 << 20
	memTableSize = 16 << 20
)

// levelOptions gives every LSM level a bloom filter (10 bits per key, ~1%
// false positives). Starting a workflow looks up its id's current run, which
// for a new id is a miss; without filters every miss reads an index and a
// data block from each level, and that cost grows with the store.
func levelOptions() []pebble.LevelOptions {
	levels := make([]pebble.LevelOptions, 7)
	for i := range levels {
		levels[i].FilterPolicy = bloom.FilterPolicy(10)
		levels[i].FilterType = pebble.TableFilter
	}
	return levels
}

// Store is a store.Store backed by Pebble.
type Store struct {
	db    *pebble.DB
	dir   string
	opts  Options
	fs    vfs.FS
	space space
	// openInfo is what Open cost (openinfo.go).
	openInfo OpenInfo
	// writes counts the batches applied; quit stops flushWhenQuiet
	// (quietflush.go).
	writes atomic.Uint64
	quit   chan struct{}
	// condMu orders conditional batches against registry writes
	// (conditional.go).
	condMu sync.Mutex

	// mu guards closed; active counts calls in progress so Close can wait
	// for them instead of pulling the DB from under them.
	mu     sync.Mutex
	closed bool
	active sync.WaitGroup
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the store in dir. It refuses a dir that
// holds something other than a Sundial store, a corrupt store, and a store
// written in a format version this build does not know.
func Open(dir string, opts Options) (*Store, error) {
	fs := opts.FS
	if fs == nil {
		fs = vfs.Default
		if opts.InMemory {
			fs = vfs.NewMem()
		}
	}
	fresh, err := isFresh(fs, dir)
	if err != nil {
		return nil, fmt.Errorf("pebblestore: read data dir %q: %w", dir, err)
	}
	if fresh {
		if err := makeDir(fs, dir); err != nil {
			return nil, fmt.Errorf("pebblestore: create data dir %q: %w", dir, err)
		}
	}
	cache := pebble.NewCache(cacheSize)
	defer cache.Unref() // the DB holds its own reference
	popts := &pebble.Options{
		FS:                 fs,
		Cache:              cache,
		MemTableSize:       memTableSize,
		Levels:             levelOptions(),
		FormatMajorVersion: pebble.FormatVirtualSSTables,
		// A non-empty dir must already be a Pebble DB: never create one
		// on top of unrelated files.
		ErrorIfNotExists: !fresh,
	}
	obs := &openObserver{}
	popts.EventListener, popts.Logger = obs.listener(), obs
	began := time.Now()
	db, err := pebble.Open(dir, popts)
	if err != nil {
		return nil, openError(dir, err)
	}
	s := &Store{db: db, dir: dir, opts: opts, fs: fs, openInfo: obs.info(time.Since(began)), quit: make(chan struct{})}
	if err := s.checkVersion(fresh); err != nil {
		db.Close()
		return nil, err
	}
	if !opts.InMemory || opts.FS != nil { // not for a store that dies with the process
		go s.flushWhenQuiet()
	}
	return s, nil
}

// isFresh reports whether dir is missing or empty, i.e. a store may be
// created there. A lone LOCK file (left by a crash during creation) counts
// as empty.
func isFresh(fs vfs.FS, dir string) (bool, error) {
	names, err := fs.List(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return true, nil
		}
		return false, err
	}
	for _, n := range names {
		if n != "LOCK" {
			return false, nil
		}
	}
	return true, nil
}

// makeDir creates dir and fsyncs the parent of every directory it creates:
// Pebble syncs the files inside dir, but without this a crash soon after the
// first start could lose the data dir itself, acknowledged writes and all.
func makeDir(fs vfs.FS, dir string) error {
	var missing []string
	for d := dir; ; d = fs.PathDir(d) {
		if _, err := fs.Stat(d); err == nil || !errors.Is(err, os.ErrNotExist) {
			break
		}
		missing = append(missing, d)
		if fs.PathDir(d) == d {
			break
		}
	}
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i := len(missing) - 1; i >= 0; i-- {
		parent, err := fs.OpenDir(fs.PathDir(missing[i]))
		if err != nil {
			return err
		}
		err = parent.Sync()
		if cerr := parent.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// openError turns a Pebble open failure into a message an operator can act
// on.
func openError(dir string, err error) error {
	switch {
	case errors.Is(err, pebble.ErrDBDoesNotExist):
		return fmt.Errorf("pebblestore: data dir %q is not empty and holds no Sundial store (refusing to use it): %w", dir, err)
	case pebble.IsCorruptionError(err):
		return fmt.Errorf("pebblestore: data dir %q is corrupt: %w", dir, err)
	case isLockConflict(err):
		return fmt.Errorf("pebblestore: data dir %q is in use by another process: %w", dir, err)
	case errors.Is(err, syscall.EROFS) || errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("pebblestore: cannot open data dir %q: %s: %w", dir, cause(err), err)
	default:
		return fmt.Errorf("pebblestore: cannot open data dir %q (corrupt, or in use by another process?): %w", dir, err)
	}
}

// readError marks corruption found while reading, so the operator learns the
// data dir is damaged rather than seeing a bare checksum error.
func (s *Store) readError(err error) error {
	if pebble.IsCorruptionError(err) {
		return fmt.Errorf("pebblestore: data dir %q is corrupt: %w", s.dir, err)
	}
	return err
}

// enter registers a call in progress; every public method brackets its
// use of the DB with enter/exit.
func (s *Store) enter() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.active.Add(1)
	return nil
}

func (s *Store) exit() { s.active.Done() }

// Close waits for calls in progress, then flushes and closes the DB.
// Commits already applied are synced by Pebble on close, so their Wait
// still returns.
//
// The memtable is flushed to sstables first so that a cleanly closed store
// keeps nothing only in the WAL: Pebble replays the last WAL leniently (a
// bad record reads as a torn tail and ends the log), while sstables carry
// block checksums that turn damage into a "corrupt" error.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	close(s.quit)
	s.mu.Unlock()
	s.active.Wait()
	if p := s.space.broken.Load(); p != nil {
		// After a failed write Pebble's log is broken and a flush would
		// panic; what was acknowledged is in the log already.
		return closeBroken(s.db, *p)
	}
	err := s.db.Flush()
	if cerr := s.db.Close(); err == nil {
		err = cerr
	}
	return err
}

// closeBroken closes a DB whose log failed; Pebble may panic doing so.
func closeBroken(db *pebble.DB, cause error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pebblestore: closing after a failed write (%v): %v", cause, r)
		}
	}()
	if cerr := db.Close(); cerr != nil {
		return fmt.Errorf("pebblestore: closing after a failed write (%v): %w", cause, cerr)
	}
	return nil
}
