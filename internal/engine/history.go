package engine

import (
	"context"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
)

// maxCachedEvents bounds the history kept in memory per workflow; longer
// histories are read from the store.
const maxCachedEvents = 20000

// cacheHistory records the events of the workflow's current run that were
// just handed to the store. The cache lets polls and history reads of hot
// runs skip the store; it holds exactly what the store holds for the run.
func (w *workflow) cacheHistory(runID string, events []*historypb.HistoryEvent, newRun, running bool) {
	switch {
	case newRun:
		w.hist, w.histRun = append([]*historypb.HistoryEvent(nil), events...), runID
	case w.histRun == runID && w.hist != nil:
		w.hist = append(w.hist, events...)
	default:
		w.hist, w.histRun = nil, ""
	}
	// Closed runs are read for their close event (kept in state) and
	// rarely otherwise: do not hold their history in memory.
	if len(w.hist) > maxCachedEvents || !running {
		w.hist, w.histRun = nil, ""
	}
}

// cachedHistory returns the cached events of runID from event id from on,
// or ok=false. Must be called with w.mu held; the returned slice is
// read-only and stays valid after unlocking.
func (w *workflow) cachedHistory(runID string, from int64) ([]*historypb.HistoryEvent, bool) {
	if w.histRun != runID || w.hist == nil {
		return nil, false
	}
	if from < 1 {
		from = 1
	}
	if from > int64(len(w.hist))+1 {
		return nil, true
	}
	return w.hist[from-1 : len(w.hist) : len(w.hist)], true
}

// readHistory returns events of a run from event id from on (limit <= 0
// means all), from the cache when the run is hot.
func (e *Engine) readHistory(ctx context.Context, ns, id, runID string, from int64, limit int) ([]*historypb.HistoryEvent, error) {
	e.mu.Lock()
	w := e.workflows[wfKey{ns, id}]
	e.mu.Unlock()
	if w != nil {
		w.mu.Lock()
		evs, ok := w.cachedHistory(runID, from)
		seq := w.lastSeq
		w.mu.Unlock()
		if ok {
			e.barrier(seq)
			if limit > 0 && len(evs) > limit {
				evs = evs[:limit]
			}
			return evs, nil
		}
	}
	evs, err := e.store.History(ctx, ns, runID, from, limit)
	if err != nil {
		return nil, serviceerror.NewUnavailable("reading history: " + err.Error())
	}
	if w != nil && from <= 1 && limit <= 0 {
		e.fillHistoryCache(w, runID, evs)
	}
	return evs, nil
}

// fillHistoryCache caches the full history of a hot run that was loaded
// from its snapshot (and so without its history), once something read it
// all, so that later reads of the run are served from memory again. It
// caches only if evs is still the whole stored history.
func (e *Engine) fillHistoryCache(w *workflow, runID string, evs []*historypb.HistoryEvent) {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.cur
	if w.evicted || st == nil || st.RunID != runID || w.histRun != "" || !st.Running() ||
		int64(len(evs)) != st.StoredNextEventID()-1 || len(evs) > maxCachedEvents {
		return
	}
	w.hist, w.histRun = append([]*historypb.HistoryEvent(nil), evs...), runID
	e.resize(w)
}
