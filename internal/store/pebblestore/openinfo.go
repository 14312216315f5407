package pebblestore

import (
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble"
)

// OpenInfo says what opening the store cost: after a crash Pebble replays
// the write-ahead logs not yet flushed into tables, and writes what it
// replayed into level-0 tables, before Open returns.
type OpenInfo struct {
	// Took is the time pebble.Open took.
	Took time.Duration
	// ReplayedBytes and ReplayedKeys are what Open read from the logs
	// (0 after a clean close, or a crash after a quiet spell:
	// quietflush.go).
	ReplayedBytes, ReplayedKeys int64
	// ReplayTables counts the level-0 tables Open wrote from them.
	ReplayTables int64
}

// OpenInfo reports what opening the store cost.
func (s *Store) OpenInfo() OpenInfo { return s.openInfo }

// openObserver collects OpenInfo while pebble.Open runs: the tables flushes
// write (only the replay flushes, as nothing else writes before Open
// returns), and the bytes and keys of each replayed log, which Pebble
// reports only in an informational log line (the offset where it stopped
// reading each log, and the keys it replayed from it).
type openObserver struct {
	tables, bytes, keys atomic.Int64
}

// replayLine is the format of Pebble's line after replaying one log
// (pebble v1.1 open.go); args: job, file name, log number, offset, keys,
// batches.
const replayLine = "[JOB %d] WAL file %s with log number %s stopped reading at offset: %d; replayed %d keys in %d batches"

func (o *openObserver) listener() *pebble.EventListener {
	return &pebble.EventListener{TableCreated: func(i pebble.TableCreateInfo) {
		if i.Reason == "flushing" {
			o.tables.Add(1)
		}
	}}
}

// Infof reads the replay line and drops the rest of Pebble's
// informational chatter; Fatalf is Pebble's.
func (o *openObserver) Infof(format string, args ...interface{}) {
	if format != replayLine || len(args) != 6 {
		return
	}
	if n, ok := args[3].(int64); ok {
		o.bytes.Add(n)
	}
	if n, ok := args[4].(int64); ok {
		o.keys.Add(n)
	}
}

func (o *openObserver) Fatalf(format string, args ...interface{}) {
	pebble.DefaultLogger.Fatalf(format, args...)
}

func (o *openObserver) info(took time.Duration) OpenInfo {
	return OpenInfo{Took: took, ReplayedBytes: o.bytes.Load(), ReplayedKeys: o.keys.Load(), ReplayTables: o.tables.Load()}
}
