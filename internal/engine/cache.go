package engine

import (
	"container/list"
	"time"
)

// The engine's memory is a cache of hot workflows, bounded by bytes
// (Options.CacheBytes, `sundial start --cache-size`). A workflow not in it
// is loaded from the store when a request, task or timer needs it (a cold
// load reads the run record and decodes its snapshot, or replays the
// history when it has none; snapshot.go). Eviction is least
// recently used first, and only of workflows with nothing that lives only
// in memory (see evictable); closed runs still leave 2 s after they close.
//
// Sizes are estimates, not measurements, of the process memory (RSS) a
// workflow costs, garbage collector headroom included: workflowOverhead
// for its state (maps, protos, record fields, lock, channels, the engine's
// bookkeeping), plus historyFactor times the byte size of its history when
// that history is cached (execution.State.HistorySize, which the engine
// keeps anyway; decoded events take several times their encoded size).
// Calibrated on workflows that run one activity and sleep (11 events,
// ~1.8 KB of history): with 13,000 of them in memory the server's Go heap
// held ~32 KB per workflow (RSS ~28 KB each with all 20,000 in memory
// before this cache existed).
// The estimate is cheap to keep on every write.

// DefaultCacheBytes is the cache budget when Options.CacheBytes is 0.
const DefaultCacheBytes = 256 << 20

// workflowOverhead is the estimated memory of one workflow besides its
// cached history; historyFactor scales the cached history's encoded size.
const (
	workflowOverhead = 24 << 10
	historyFactor    = 4
)

// sizeOf estimates the memory a workflow holds. Called with w.mu held.
func sizeOf(w *workflow) int64 {
	n := int64(workflowOverhead)
	if w.cur != nil && w.hist != nil && w.histRun == w.cur.RunID {
		n += historyFactor * w.cur.HistorySize
	}
	return n
}

// touchLocked marks w as just used. Called with e.mu held.
func (e *Engine) touchLocked(w *workflow) {
	w.touches++
	if w.elem == nil {
		w.elem = e.lru.PushFront(w)
		return
	}
	e.lru.MoveToFront(w.elem)
}

// resize updates the cache's byte count for w. Called with w.mu held.
func (e *Engine) resize(w *workflow) {
	n := sizeOf(w)
	if d := n - w.size; d != 0 {
		w.size = n
		e.cacheBytes.Add(d)
	}
}

// overBudget asks the evictor to run when the cache holds more than its
// budget; it costs an atomic load on the write path.
func (e *Engine) overBudget() {
	if e.cacheBytes.Load() > e.cacheLimit {
		select {
		case e.evictKick <- struct{}{}:
		default:
		}
	}
}

// dropLocked removes w from the cache. Called with e.mu and w.mu held.
// Waiters on w.changed wake and look the workflow up again.
func (e *Engine) dropLocked(w *workflow) {
	w.evicted = true
	if e.workflows[w.key] == w {
		delete(e.workflows, w.key)
	}
	if w.elem != nil {
		e.lru.Remove(w.elem)
		w.elem = nil
	}
	e.cacheBytes.Add(-w.size)
	w.size = 0
	if w.cur != nil {
		e.timers.forgetStored(runRef{w.key, w.cur.RunID}, w.cur.StoredDue)
	}
	close(w.changed)
	w.changed = make(chan struct{})
}

// evictable reports whether w can leave memory without losing anything:
// its writes are durable, nothing changed unwritten, nobody waits on it,
// and its run holds nothing only memory knows (execution.State.Evictable).
// Sticky queue assignments are dropped with it: the next workflow task
// goes to the normal queue with the full history, as after a restart.
// Called with w.mu held.
func (e *Engine) evictable(w *workflow) bool {
	if w.waiters.Load() > 0 || w.dirty {
		return false
	}
	e.durMu.Lock()
	durable := e.durable
	e.durMu.Unlock()
	if w.lastSeq > durable {
		return false
	}
	return w.cur == nil || w.cur.Evictable()
}

// evictLoop drops closed workflows from memory a little after they close
// (clients usually fetch the result at once; keeping them 10 s held
// ~13,000 closed workflows, ~100 MB of heap, at 1,300 workflows/s), and
// evicts least recently used workflows while the cache is over budget. It
// runs every second and when a write finds the cache over budget.
func (e *Engine) evictLoop() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	lastClosedPass := time.Time{}
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
		case <-e.evictKick:
		}
		if time.Since(lastClosedPass) >= time.Second {
			lastClosedPass = time.Now()
			e.evictClosed()
		}
		e.evictLRU()
	}
}

// evictClosed drops closed runs 2 s after they closed.
func (e *Engine) evictClosed() {
	e.mu.Lock()
	list := make([]*workflow, 0, len(e.workflows))
	for _, w := range e.workflows {
		list = append(list, w)
	}
	e.mu.Unlock()
	cutoff := e.now().Add(-2 * time.Second)
	for _, w := range list {
		if !w.mu.TryLock() {
			continue
		}
		if w.cur == nil || (!w.cur.Running() && w.cur.WallTime(w.cur.CloseTime).Before(cutoff)) { // (a skipping run closes in its virtual time)
			e.mu.Lock()
			e.dropLocked(w)
			e.mu.Unlock()
		}
		w.mu.Unlock()
	}
}

// evictLRU evicts from the cold end until the cache fits its budget,
// skipping workflows that are busy or hold something only in memory.
func (e *Engine) evictLRU() {
	if e.cacheBytes.Load() <= e.cacheLimit {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for el := e.lru.Back(); el != nil && e.cacheBytes.Load() > e.cacheLimit; {
		w := el.Value.(*workflow)
		el = el.Prev()
		if !w.mu.TryLock() {
			continue
		}
		if e.evictable(w) {
			e.dropLocked(w)
			e.evictions.Add(1)
		}
		w.mu.Unlock()
	}
}

// CacheStats reports the workflow cache: estimated bytes held, workflows
// evicted for space and runs loaded from the store since start.
func (e *Engine) CacheStats() (bytes, evictions, coldLoads int64) {
	return e.cacheBytes.Load(), e.evictions.Load(), e.coldLoads.Load()
}

// newLRU returns the recency list of the cache.
func newLRU() *list.List { return list.New() }
