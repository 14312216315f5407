package engine

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// runRef names one run.
type runRef struct {
	key   wfKey
	runID string
}

// timerQueue keeps one deadline per run (the earliest thing its state
// machine has to do, see execution.State.NextDeadline) and calls fire when
// it passes. Changing a run's deadline pushes a new heap entry; outdated
// entries are skipped when they surface.
type timerQueue struct {
	mu  sync.Mutex
	due map[runRef]time.Time
	// upTo is how far refillTimers has armed the timers of runs that are
	// not in memory, from the store's due index.
	upTo time.Time
	h    timerHeap
	wake chan struct{}
	fire func(runRef)
}

type timerEntry struct {
	at  time.Time
	ref runRef
}

type timerHeap []timerEntry

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(timerEntry)) }
func (h *timerHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func newTimerQueue(fire func(runRef)) *timerQueue {
	return &timerQueue{due: map[runRef]time.Time{}, wake: make(chan struct{}, 1), fire: fire}
}

// set replaces the deadline of a run; the zero time removes it.
func (q *timerQueue) set(r runRef, at time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if at.IsZero() {
		delete(q.due, r)
		q.compactLocked()
		return
	}
	if old, ok := q.due[r]; ok && old.Equal(at) {
		return
	}
	q.due[r] = at
	heap.Push(&q.h, timerEntry{at, r})
	if q.h[0].ref == r && q.h[0].at.Equal(at) {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// addEarlier sets the deadline of a run unless it already has an earlier
// one. refillTimers uses it: a stored Due may lag a run's in-memory
// deadline (a speculative task's timeout is not written), and firing early
// only makes Tick find nothing to do.
func (q *timerQueue) addEarlier(r runRef, at time.Time) {
	q.mu.Lock()
	old, ok := q.due[r]
	q.mu.Unlock()
	if ok && !old.After(at) {
		return
	}
	q.set(r, at)
}

// advance moves upTo to to (if later) and returns the range refillTimers
// must now read from the index. upTo moves before the read, so a run
// evicted meanwhile (forgetStored) either sees the new bound or is read.
func (q *timerQueue) advance(to time.Time) (from, newUpTo time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	from = q.upTo
	if to.After(q.upTo) {
		q.upTo = to
	}
	return from, q.upTo
}

// rewind moves upTo back after a failed index read.
func (q *timerQueue) rewind(to time.Time) {
	q.mu.Lock()
	if to.Before(q.upTo) {
		q.upTo = to
	}
	q.mu.Unlock()
}

// forgetStored drops the timer of a run leaving memory when the store's
// due index holds the same time beyond the refilled horizon: refillTimers
// will arm it again from there. Otherwise the timer stays.
func (q *timerQueue) forgetStored(r runRef, stored time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if at, ok := q.due[r]; ok && at.Equal(stored) && !at.Before(q.upTo) {
		delete(q.due, r)
		q.compactLocked()
	}
}

// compactLocked rebuilds the heap from the live deadlines once outdated
// entries dominate it: evicted runs leave theirs behind (a day-long timer
// would hold its entry for a day), and a million evicted sleepers must
// not cost a million heap entries. Amortized O(1) per removal.
func (q *timerQueue) compactLocked() {
	if len(q.h) <= 2*len(q.due)+4096 {
		return
	}
	h := make(timerHeap, 0, len(q.due))
	for r, at := range q.due {
		h = append(h, timerEntry{at, r})
	}
	heap.Init(&h)
	q.h = h
}

func (q *timerQueue) run(stop <-chan struct{}) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		now := time.Now()
		var fire []runRef
		q.mu.Lock()
		for q.h.Len() > 0 && !q.h[0].at.After(now) {
			e := heap.Pop(&q.h).(timerEntry)
			if at, ok := q.due[e.ref]; ok && at.Equal(e.at) {
				delete(q.due, e.ref)
				fire = append(fire, e.ref)
			}
		}
		wait := time.Hour
		if q.h.Len() > 0 {
			wait = q.h[0].at.Sub(now)
		}
		q.mu.Unlock()
		for _, r := range fire {
			go q.fire(r)
		}
		t.Reset(wait)
		select {
		case <-stop:
			return
		case <-q.wake:
			if !t.Stop() {
				select {
				case <-t.C:
				default:
				}
			}
		case <-t.C:
		}
	}
}

// fire runs the due work of one run.
func (e *Engine) fire(r runRef) {
	select {
	case <-e.stop:
		return
	default:
	}
	err := e.mutate(context.Background(), r.key.ns, r.key.id, func(w *workflow) error {
		if w.cur == nil || w.cur.RunID != r.runID {
			return nil
		}
		w.cur.Tick(e.runNow(w.cur), newRunID)
		e.timers.set(r, w.cur.NextDeadline())
		return nil
	})
	if err != nil && IsNotOwner(err) {
		e.timers.set(r, time.Time{}) // the shard's new owner arms it
		return
	}
	if err != nil {
		e.log.Warn("timer processing failed; retrying", "workflow", r.key.id, "run", r.runID, "err", err)
		e.timers.set(r, time.Now().Add(time.Second))
	}
}
