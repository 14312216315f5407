// Package pgstore implements store.Store on PostgreSQL (and, by using only
// SQL they share with it, the distributed engines that speak its protocol:
// CockroachDB, YugabyteDB; see docs/STORE.md for what was tested).
//
// Writes go through one writer goroutine that commits every batch queued
// since its last commit in one transaction (group commit), in Apply order;
// synchronous_commit stays on, so a Commit's Wait returns once PostgreSQL
// has the transaction in its flushed WAL. The schema is created and
// migrated by Open from migrations embedded in the binary.
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sundial-io/sundial/internal/store"
)

// ErrClosed is returned by calls made after Close.
var ErrClosed = errors.New("pgstore: store is closed")

// Options configures Open.
type Options struct {
	// MaxConns caps the connection pool (0: 8). The writer holds one
	// connection at a time; the rest serve reads.
	MaxConns int32
	// RetryFor is how long the writer retries a transaction that failed
	// for a reason that may pass (a lost connection, a database restart,
	// a serialization failure) before failing its commits (0: 30 s).
	RetryFor time.Duration
}

// Store is a store.Store on PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
	opts Options
	desc string

	// mu guards the write queue and the pending-key map.
	mu      sync.Mutex
	queue   []*commit
	last    *commit            // the newest batch not yet committed (nil: none)
	pending map[rowKey]*commit // newest uncommitted batch touching each run or current pointer
	closed  bool
	broken  error // the first write that failed for good; later writes are refused
	wake    chan struct{}
	stopped chan struct{} // closed when the writer has drained the queue and exited
	writing bool          // the writer is committing a group
	lookups []*lookup     // current-run lookups for the writer's next pipeline (lookup.go)

	// beforeCommit, when set (tests), runs before each group is written.
	beforeCommit func()
	// afterFenceCheck, when set (tests), runs in a fenced group's
	// transaction after the lease rows are read and locked.
	afterFenceCheck func()
}

var (
	_ store.Store    = (*Store)(nil)
	_ store.Writable = (*Store)(nil)
)

// Open connects to the database at url (a PostgreSQL connection URL or
// keyword/value string), creates or migrates the schema, and starts the
// writer. It refuses a database whose schema is newer than this build.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("pgstore: bad connection string: %w", err)
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 8
	}
	if opts.RetryFor <= 0 {
		opts.RetryFor = 30 * time.Second
	}
	cfg.MaxConns = opts.MaxConns
	// Statements not prepared at connect time (prepared.go) are unnamed,
	// with cached descriptions: pgx's lazy cache of named statements can
	// outlive them on the server (seen after a database restart: every
	// later write failed with "prepared statement ... does not exist").
	var prep *preparer
	if !setsExecMode(url) {
		cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
		prep = &preparer{}
		cfg.AfterConnect = prep.afterConnect
	}
	// Durability is the point of the store: never let a connection string
	// or a role setting turn commit-time WAL flushing off.
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	desc := Describe(url)
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: cannot reach PostgreSQL at %s: %w", desc, err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	if prep != nil {
		// The tables exist now: connections made from here on prepare
		// the hot statements; the ones made before are closed.
		prep.ready.Store(true)
		pool.Reset()
	}
	s := &Store{
		pool:    pool,
		opts:    opts,
		desc:    desc,
		pending: map[rowKey]*commit{},
		wake:    make(chan struct{}, 1),
		stopped: make(chan struct{}),
	}
	go s.writer()
	return s, nil
}

// Describe names the database of a connection string as host:port/db,
// without user or password, for logs and the startup line.
func Describe(url string) string {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return "(unparseable connection string)"
	}
	c := cfg.ConnConfig
	return fmt.Sprintf("%s:%d/%s", c.Host, c.Port, c.Database)
}

// String is the database the store is on (host:port/db).
func (s *Store) String() string { return s.desc }

// CheckWritable reports the failure that stopped the writer, if any:
// after it, batches are refused, since a later batch may rest on one that
// was lost.
func (s *Store) CheckWritable() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return s.broken
}

// Close commits what was applied, stops the writer and closes the pool.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	s.mu.Unlock()
	s.signal()
	<-s.stopped
	s.pool.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.broken
}

// checkOpen fails calls made after Close.
func (s *Store) checkOpen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return nil
}
