package pebblestore

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMinFreeBytes is the free disk space kept in reserve: below it the
// store refuses new changes (CheckWritable) instead of letting Pebble hit
// a full disk, which leaves its write-ahead log broken until restart.
const DefaultMinFreeBytes = 64 << 20

// ErrNoSpace is returned by CheckWritable when the disk is (nearly) full.
var ErrNoSpace = errors.New("pebblestore: not enough free disk space")

// space caches the free-space check, which costs a statfs call.
type space struct {
	mu      sync.Mutex
	checked time.Time
	err     error
	broken  atomic.Pointer[error] // first write error; Pebble does not recover from WAL errors
}

// CheckWritable reports whether a change may be applied now: ErrNoSpace
// when free disk space is under the reserve (it clears by itself when space
// returns), or the store's first write error once a write failed.
func (s *Store) CheckWritable() error {
	if p := s.space.broken.Load(); p != nil {
		return *p
	}
	if s.opts.InMemory || s.opts.MinFreeBytes < 0 {
		return nil
	}
	s.space.mu.Lock()
	defer s.space.mu.Unlock()
	if time.Since(s.space.checked) < 250*time.Millisecond {
		return s.space.err
	}
	s.space.checked = time.Now()
	s.space.err = nil
	u, err := s.fs.GetDiskUsage(s.dir)
	if err != nil {
		return nil // no usage information: let the write decide
	}
	min := uint64(DefaultMinFreeBytes)
	if s.opts.MinFreeBytes > 0 {
		min = uint64(s.opts.MinFreeBytes)
	}
	if u.AvailBytes < min {
		s.space.err = fmt.Errorf("%w in %s: %d bytes free, %d kept in reserve", ErrNoSpace, s.dir, u.AvailBytes, min)
	}
	return s.space.err
}

// markBroken records the first failed write: Pebble keeps a failed
// write-ahead log broken, so later writes and the final flush are refused.
func (s *Store) markBroken(err error) {
	s.space.broken.CompareAndSwap(nil, &err)
}
