package pebblestore

import (
	"strings"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"
)

// OpenInfo says what opening the store cost: after a crash Pebble replays
// the write-ahead logs not yet flushed into tables, and writes what it
// replayed into level-0 tables, before Open returns.
type OpenInfo struct {
	// Took is the time pebble.Open took.
	Took time.Duration
	// WALBytes is the size of the write-ahead log files found at open
	// (those replayed, and recycled ones Pebble keeps for reuse).
	WALBytes int64
	// ReplayTables counts the level-0 tables Open wrote from the replayed
	// log (0 after a clean close, or a crash after a quiet spell:
	// quietflush.go).
	ReplayTables int64
}

// replayCounter counts the tables flushes write while Open runs: only
// the replay flushes, as nothing else writes before Open returns.
func replayCounter(n *atomic.Int64) pebble.EventListener {
	return pebble.EventListener{TableCreated: func(i pebble.TableCreateInfo) {
		if i.Reason == "flushing" {
			n.Add(1)
		}
	}}
}

// OpenInfo reports what opening the store cost.
func (s *Store) OpenInfo() OpenInfo { return s.openInfo }

// walBytes sums the sizes of the write-ahead log files in dir.
func walBytes(fs vfs.FS, dir string) int64 {
	names, err := fs.List(dir)
	if err != nil {
		return 0
	}
	var n int64
	for _, name := range names {
		if !strings.HasSuffix(name, ".log") {
			continue
		}
		if fi, err := fs.Stat(fs.PathJoin(dir, name)); err == nil {
			n += fi.Size()
		}
	}
	return n
}
