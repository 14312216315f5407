package pebblestore

import "time"

// Pebble keeps the newest writes in a memtable, durable in its write-ahead
// log, and writes them into level-0 tables when the memtable fills. After
// a crash, Open replays the log and writes everything it replays into
// level-0 tables before it returns: each log file separately, each split
// at L0's flush split keys (about one per 4 MB of level 0 per sublevel, so
// more as the store grows), every table fsynced. At 1,000,000 stored
// workflows the 5 MB of log a SIGKILL left after a few thousand requests
// became 123 tables and 150–400 ms of Open, most of the restart
// (docs/PERFORMANCE.md).
//
// So the store flushes the memtable once writes pause (no Apply for
// quietFlushAfter): a crash after a quiet spell replays nothing. Under
// steady writes the log holds what it did before (at most about
// memTableSize), and nothing about durability changes: a flush only moves
// what the log already holds into tables.
const quietFlushAfter = time.Second

// flushWhenQuiet runs until Close, flushing the memtable when writes have
// paused for quietFlushAfter since the last write.
func (s *Store) flushWhenQuiet() {
	t := time.NewTicker(quietFlushAfter)
	defer t.Stop()
	var seen, flushed uint64
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		n := s.writes.Load()
		if n != seen {
			seen = n // still writing: look again after a quiet tick
			continue
		}
		if n == flushed || s.space.broken.Load() != nil {
			continue // nothing new, or a broken log a flush would trip on
		}
		if err := s.enter(); err != nil {
			return
		}
		err := s.db.Flush()
		s.exit()
		if err != nil {
			continue // the next quiet tick tries again; writes report their own errors
		}
		flushed = n
	}
}
