package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sundial-io/sundial/internal/store"
)

// Group commit. Apply validates and encodes a batch, appends it to the
// queue and returns at once; the writer goroutine takes everything queued,
// writes it in ONE transaction and then releases every batch's Commit.
// While one transaction commits (a network round trip and a WAL flush),
// the next group gathers, so under load many workflows' writes share one
// commit, and batches reach the database in Apply order.
//
// Reads must see every batch applied before them (the store contract says
// batches become visible in Apply order). A point read of a run, of a
// current-run pointer or of a namespace's search attribute registry (read
// on every start that sets search attributes) waits for the newest queued
// batch that touches it;
// a read that scans (lists, counts, registries) waits for the newest
// queued batch of all. Nothing waits when nothing is queued.

// maxGroup caps the batches of one transaction, so one commit's statement
// arrays stay of a reasonable size.
const maxGroup = 1000

// rowKey names what a point read may wait for.
type rowKey struct {
	kind   byte // 'r' run record and history, 'c' current-run pointer, 'a' search attribute registry
	ns, id string
}

// commit is one queued batch; it is its own store.Commit.
type commit struct {
	enc  *encoded
	keys []rowKey
	done chan struct{}
	err  error
}

// Wait returns once the batch's transaction has committed (or failed).
func (c *commit) Wait() error {
	<-c.done
	return c.err
}

// doneCommit is a commit with nothing to wait for.
type doneCommit struct{}

func (doneCommit) Wait() error { return nil }

// Apply queues b for the writer; see the package comment on group commit.
func (s *Store) Apply(b *store.Batch) (store.Commit, error) {
	enc, err := encode(b)
	if err != nil {
		return nil, err
	}
	return s.enqueue(enc)
}

// enqueue queues an encoded batch for the writer.
func (s *Store) enqueue(enc *encoded) (store.Commit, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	if enc.empty() {
		return doneCommit{}, nil
	}
	c := &commit{enc: enc, done: make(chan struct{})}
	for _, a := range enc.searchAttrs {
		c.keys = append(c.keys, rowKey{'a', string(a.k), ""})
	}
	for _, r := range enc.runs {
		c.keys = append(c.keys, rowKey{'r', string(r.ns), string(r.runID)})
		if r.workflowID != nil {
			c.keys = append(c.keys, rowKey{'c', string(r.ns), string(r.workflowID)})
		}
	}
	for _, d := range enc.deletes {
		c.keys = append(c.keys, rowKey{'r', string(d.ns), string(d.runID)})
		if d.workflowID != nil {
			c.keys = append(c.keys, rowKey{'c', string(d.ns), string(d.workflowID)})
		}
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	if s.broken != nil {
		err := s.broken
		s.mu.Unlock()
		return nil, err
	}
	s.queue = append(s.queue, c)
	s.last = c
	for _, k := range c.keys {
		s.pending[k] = c
	}
	s.mu.Unlock()
	s.signal()
	return c, nil
}

func (s *Store) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// writer commits queued batches in order until the store is closed and
// the queue is empty.
func (s *Store) writer() {
	defer close(s.stopped)
	for {
		s.mu.Lock()
		n := min(len(s.queue), maxGroup)
		group := s.queue[:n:n]
		s.queue = s.queue[n:]
		lookups := s.lookups
		s.lookups = nil
		closed, broken := s.closed, s.broken
		s.writing = n > 0 || len(lookups) > 0
		s.mu.Unlock()
		if n == 0 && len(lookups) == 0 {
			if closed {
				return
			}
			<-s.wake
			continue
		}
		if n == 0 {
			// Only lookups: their failure is their callers' to see (they
			// query again themselves), never the store's.
			if broken == nil {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				_ = s.exec(ctx, &pgx.Batch{}, lookups)
				cancel()
			}
			failLookups(lookups)
			s.mu.Lock()
			s.writing = false
			s.mu.Unlock()
			continue
		}
		err := broken
		if err == nil {
			err = s.commitGroup(group, lookups)
		}
		failLookups(lookups)
		s.mu.Lock()
		s.writing = false
		if err != nil && s.broken == nil {
			s.broken = err
		}
		for _, c := range group {
			for _, k := range c.keys {
				if s.pending[k] == c {
					delete(s.pending, k)
				}
			}
			if s.last == c {
				s.last = nil
			}
		}
		s.mu.Unlock()
		for _, c := range group {
			if c.err == nil { // a fenced batch keeps its own error
				c.err = err
			}
			close(c.done)
		}
	}
}

// commitGroup writes a group in one transaction, retrying failures that
// may pass for up to Options.RetryFor. Retrying is safe even when the
// outcome of the failed attempt is unknown (the connection dropped during
// COMMIT): every statement is an upsert, an insert that ignores an
// identical existing row, or a delete, so writing the group twice leaves
// what writing it once does, and no later group runs before it succeeds.
//
// lookups (lookup.go) ride at the head of the first attempt only; a
// lookup it did not answer is answered by its caller's own query.
func (s *Store) commitGroup(group []*commit, lookups []*lookup) error {
	if s.beforeCommit != nil {
		s.beforeCommit()
	}
	checked := anyChecked(group)
	deadline := time.Now().Add(s.opts.RetryFor)
	backoff := 50 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		var err error
		if checked {
			failLookups(lookups)
			err = s.execChecked(ctx, group)
		} else {
			// A new pgx.Batch per attempt: pgx stores in a queued query
			// the statement description it had on the connection it was
			// sent on, and one whose describe died with that connection
			// (a database restart) fails every later attempt with
			// "mismatched param and argument count".
			err = s.exec(ctx, buildGroup(group), lookups)
			failLookups(lookups)
			lookups = nil
		}
		cancel()
		if err == nil {
			return nil
		}
		if !(retryable(err) || checked && retryableChecked(err)) || time.Now().Add(backoff).After(deadline) {
			return fmt.Errorf("pgstore: write: %w", err)
		}
		time.Sleep(backoff)
		backoff = min(2*backoff, 2*time.Second)
	}
}

// retryable reports whether a failed transaction may succeed if tried
// again: connection failures and the SQLSTATE classes of transient
// conditions. Errors about the data itself (it is validated before it is
// queued, so these mean a bug or a foreign schema) are not retried.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code[:2] {
		case "08", // connection exception
			"40", // transaction rollback: serialization failure, deadlock
			"53", // insufficient resources
			"57", // operator intervention: shutdown, cannot connect now
			"58": // system error
			return true
		}
		return false
	}
	// No SQLSTATE: the connection failed (refused, reset, timed out).
	return true
}

// waitKey waits until no queued batch touches k.
func (s *Store) waitKey(ctx context.Context, k rowKey) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	c := s.pending[k]
	s.mu.Unlock()
	return waitFor(ctx, c)
}

// waitAll waits until every batch applied so far is committed.
func (s *Store) waitAll(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	c := s.last
	s.mu.Unlock()
	return waitFor(ctx, c)
}

func waitFor(ctx context.Context, c *commit) error {
	if c == nil {
		return nil
	}
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
