package pebblestore

import (
	dto "github.com/prometheus/client_model/go"
)

// Stats is what the store reports for metrics.
type Stats struct {
	// DiskBytes is the space the store takes on disk (sstables and WAL).
	DiskBytes uint64
	// WALFsync is Pebble's own histogram of WAL fsync latencies, in
	// nanoseconds; nil when unavailable.
	WALFsync *dto.Histogram
}

// Stats returns the store's current statistics; ok is false once the
// store is closed.
func (s *Store) Stats() (st Stats, ok bool) {
	if s.enter() != nil {
		return Stats{}, false
	}
	defer s.exit()
	m := s.db.Metrics()
	st.DiskBytes = m.DiskSpaceUsage()
	if h := m.LogWriter.FsyncLatency; h != nil {
		var out dto.Metric
		if h.Write(&out) == nil {
			st.WALFsync = out.Histogram
		}
	}
	return st, true
}
