package engine

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/sundial-io/sundial/internal/execution"
	"github.com/sundial-io/sundial/internal/store"
)

// Startup does not read every open run. Each run's record carries its next
// attention time (store.RunRecord.Due, from execution.State.NextAttention)
// and the store keeps a due index over it, so:
//
//   - runs whose Due is before the engine's boot time were last written by
//     an earlier process while they had work living only in memory
//     (tasks waiting for a poller, effects on other workflows, children to
//     reconcile) or an overdue deadline: they are recovered, oldest first,
//     by a background goroutine (recoverDue) while requests are served;
//     a request that reaches one of them first recovers it on load
//     (recoverLoaded), and the write that moves its Due past the boot time
//     makes sure that happens once;
//   - runs due in the near future get a timer from the index (refillTimers),
//     a horizon ahead, so memory holds timers only for runs in the cache
//     and for the next minute;
//   - every other run stays on disk until a request, task or timer needs it.

// timerHorizon is how far ahead refillTimers arms the timers of runs not
// in memory; refillEvery is how often it looks (well inside the horizon).
const (
	timerHorizon = time.Minute
	refillEvery  = 10 * time.Second
	// recoverPage bounds the due entries read per index scan at startup,
	// recoverWorkers the runs recovered at once.
	recoverPage    = 1000
	recoverWorkers = 8
)

// dueOf is the Due to store for a run being written at now: its next
// attention time, but never before now (a time in the past means "look at
// it after a crash"), and unchanged when the stored Due already says so
// for this process (a write that keeps it saves the index two updates).
func (e *Engine) dueOf(st *execution.State, now time.Time) time.Time {
	d := st.NextAttention(now)
	if d.IsZero() {
		return d
	}
	if d.After(now) {
		return d
	}
	if sd := st.StoredDue; !sd.IsZero() && !sd.Before(e.recoverBefore(st.Namespace, st.WorkflowID)) && !sd.After(now) {
		return sd
	}
	return now
}

// runWrite is the store write of a run's record, with its due entry moved
// from the stored Due to the current one.
func (e *Engine) runWrite(st *execution.State, now time.Time) *store.RunWrite {
	rec := st.Record()
	rec.Due = e.dueOf(st, now)
	w := &store.RunWrite{Record: rec, PrevDue: st.StoredDue}
	st.StoredDue = rec.Due
	return w
}

// needsRecovery reports whether a run just loaded from the store was last
// written by an earlier process while it needed attention.
func (e *Engine) needsRecovery(st *execution.State) bool {
	return !st.StoredDue.IsZero() && st.StoredDue.Before(e.recoverBefore(st.Namespace, st.WorkflowID))
}

// recoverLoaded re-creates what a run loaded from an earlier process's
// store kept only in memory: its tasks go to matching, its effects on
// other workflows are started again (each is idempotent), its children are
// reconciled, its deadline is armed. The run's Due is written past the
// boot time in the same step, so it is recovered exactly once however it
// is reached (startup scan, request, timer). Called with w.mu held.
func (e *Engine) recoverLoaded(w *workflow) error {
	st := w.cur
	st.SetActivityRules(e.activityRulesOf(w.key.ns)) // the timeouts fired below may retry activities (workflow_rules.go)
	now := e.now()
	var tasks []execution.Task
	var actions []pendingAction
	if st.Running() {
		o := st.Recover(e.runNow(st))
		tasks = o.Tasks
		for _, a := range o.Actions {
			actions = append(actions, pendingAction{a, st})
		}
		// A child whose close did not reach us, or a parent that closed
		// without applying its close policy, is reconciled too.
		var kids []*execution.Child
		for _, c := range st.Children {
			cc := *c
			kids = append(kids, &cc)
		}
		actions = append(actions, pendingAction{execution.Action{Kind: reconcileKind, Children: kids}, st})
		// What came due while no process ran (timers, timeouts, retry
		// backoffs) is done in the same write as the recovery: after a
		// downtime most recovered runs are just that, and one write per
		// run instead of two is what lets a backlog of due timers fire
		// soon after the start.
		if d := st.NextDeadline(); !d.IsZero() && !d.After(now) {
			st.Tick(e.runNow(st), newRunID)
		}
	}
	fx, err := e.persist(w)
	if err != nil {
		return err
	}
	if fx == nil {
		// Nothing came due: the write only moves the run's Due past the
		// boot time.
		rw := e.runWrite(st, now)
		rw.OpenIndexed = st.Running()
		f, err := e.fenceOf(w)
		if err != nil {
			return err
		}
		c, seq, err := e.apply(&store.Batch{Runs: []*store.RunWrite{rw}, Fence: f})
		if err != nil {
			return err
		}
		fx = &effects{w: w, ns: st.Namespace, wfid: st.WorkflowID, runID: st.RunID, routing: st.Routing(), commit: c, seq: seq}
		w.lastSeq = seq
		e.timers.set(runRef{w.key, st.RunID}, st.NextDeadline())
	}
	if w.cur == st {
		// The recovered tasks belong to this run; a run the tick closed
		// (and replaced) has none left to dispatch.
		fx.tasks = append(tasks, fx.tasks...)
	}
	fx.actions = append(actions, fx.actions...)
	// The tasks and effects were durable before the crash; dispatching
	// them waits only for this write so that a failed write leaves the
	// run to the next start.
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		if err := e.finish(fx); err != nil {
			e.log.Warn("recovering a run failed", "workflow", st.WorkflowID, "run", st.RunID, "err", err)
		}
	}()
	e.recovered.Add(1)
	return nil
}

// StartRecovery starts the background recovery (recoverDue) unless it
// has started already; New does it unless Options.DeferRecovery is set.
func (e *Engine) StartRecovery() {
	e.recoveryOnce.Do(func() {
		e.wg.Add(1)
		go func() { defer e.wg.Done(); e.recoverDue() }()
	})
}

// recoverDue pages through the due index entries before the boot time,
// oldest first, and loads (and so recovers) each run. Requests are served
// meanwhile; a run they reach first is recovered on load and moved out of
// the range, so it is skipped here.
func (e *Engine) recoverDue() {
	ctx, cancel := e.untilStop()
	defer cancel()
	defer close(e.recoveryDone)
	began := time.Now()
	// Each page's runs are released while the next page is recovered
	// (releasing waits for the page's writes to be durable): at most two
	// pages are in memory, and recovery does not stop for the fsync.
	release := make(chan []recoveredRun)
	released := make(chan struct{})
	go func() {
		defer close(released)
		for runs := range release {
			e.releaseRecovered(runs)
		}
	}()
	drain := sync.OnceFunc(func() { close(release); <-released })
	defer drain()
	var from time.Time
	seen := map[string]bool{} // runs handled at time from
	for {
		var page []store.DueEntry
		err := e.store.Due(ctx, from, e.bootTime, func(d store.DueEntry) error {
			if d.Time.Equal(from) && seen[d.RunID] {
				return nil
			}
			if !e.owns(d.Namespace, d.WorkflowID) {
				return nil // another node's; a shard taken later is recovered then
			}
			page = append(page, d)
			if len(page) == recoverPage {
				return store.ErrStop
			}
			return nil
		})
		if err != nil {
			if ctx.Err() == nil {
				e.log.Error("reading the due index failed; runs not yet recovered are recovered when used", "err", err)
			}
			return
		}
		if len(page) == 0 {
			break
		}
		// Runs of a page are recovered by a few goroutines (each is a cold
		// load and a write; the writes share fsyncs); the next page starts
		// when this one is done.
		next := make(chan store.DueEntry)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var loaded []recoveredRun
		for range recoverWorkers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for d := range next {
					if r, ok := e.recoverEntry(ctx, d); ok {
						mu.Lock()
						loaded = append(loaded, r)
						mu.Unlock()
					}
				}
			}()
		}
		for _, d := range page {
			if ctx.Err() != nil {
				break
			}
			next <- d
		}
		close(next)
		wg.Wait()
		release <- loaded
		if ctx.Err() != nil {
			return
		}
		for _, d := range page {
			if !d.Time.Equal(from) {
				from = d.Time
				clear(seen)
			}
			seen[d.RunID] = true
		}
	}
	drain()
	if n := e.recovered.Load(); n > 0 {
		e.log.Info("recovered workflow runs", "count", n, "took", time.Since(began).Round(time.Millisecond))
	}
}

// recoveredRun is a workflow the startup recovery loaded into memory, and
// the sequence number of its recovery write.
type recoveredRun struct {
	w   *workflow
	seq uint64
}

// recoverEntry loads the workflow of one due entry; loading recovers its
// current run. An entry naming a run that is no longer current (it can
// only be closed) is cleaned up. It reports the workflow when this call
// loaded it into memory (no one had it in memory before), for
// releaseRecovered.
func (e *Engine) recoverEntry(ctx context.Context, d store.DueEntry) (recoveredRun, bool) {
	for attempt := 0; ; attempt++ {
		w, err := e.acquire(ctx, d.Namespace, d.WorkflowID)
		if err == nil {
			stale := w.cur == nil || w.cur.RunID != d.RunID
			r := recoveredRun{w, w.lastSeq}
			w.mu.Unlock()
			e.mu.Lock()
			first := w.touches == 1
			e.mu.Unlock()
			e.overBudget()
			if stale {
				e.clearStaleDue(ctx, d)
			}
			return r, first && !stale
		}
		if ctx.Err() != nil || attempt >= 3 {
			e.log.Warn("recovering a run failed; it is recovered when used", "workflow", d.WorkflowID, "run", d.RunID, "err", err)
			return recoveredRun{}, false
		}
		select {
		case <-ctx.Done():
			return recoveredRun{}, false
		case <-time.After(time.Second):
		}
	}
}

// releaseRecovered takes the runs one page of the startup recovery loaded
// out of memory again, once their recovery writes are durable, unless
// they hold something only memory knows (evictable: a worker took their
// task meanwhile, a long poll or update waits on them) or are locked. After a crash with 100,000 timers due, recovered runs
// otherwise filled the workflow cache (their tasks wait in matching, and
// a worker's poll loads the run again when it gets there, usually long
// after the cache evicted it), pushing the process to its memory limit
// while the runs that are really in use (those a worker is running)
// competed with them for the cache. With this, the memory recovery holds
// is two pages of runs (recoverPage), whatever the number due.
func (e *Engine) releaseRecovered(runs []recoveredRun) {
	var last uint64
	for _, r := range runs {
		last = max(last, r.seq)
	}
	e.barrier(last)
	for len(runs) > 0 {
		n := min(len(runs), 100) // e.mu is every lookup's lock: hold it briefly
		e.mu.Lock()
		for _, r := range runs[:n] {
			w := r.w
			if !w.mu.TryLock() {
				continue // in use
			}
			if !w.evicted && e.evictable(w) {
				e.dropLocked(w)
			}
			w.mu.Unlock()
		}
		e.mu.Unlock()
		runs = runs[n:]
	}
	e.overBudget()
}

// clearStaleDue rewrites a non-current run's record without a Due.
func (e *Engine) clearStaleDue(ctx context.Context, d store.DueEntry) {
	rec, err := e.store.Run(ctx, d.Namespace, d.RunID)
	if err != nil || rec.Due.IsZero() || store.Open(rec.Info.GetStatus()) {
		return
	}
	var f *store.Fence
	if e.own != nil {
		if f, _, err = e.leaseOf(wfKey{d.Namespace, d.WorkflowID}); err != nil {
			return
		}
	}
	prev := rec.Due
	rec.Due = time.Time{}
	if c, _, err := e.apply(&store.Batch{Runs: []*store.RunWrite{{Record: rec, PrevDue: prev}}, Fence: f}); err == nil {
		_ = c.Wait()
	}
}

// refillTimers arms, every refillEvery, the timers of runs due within the
// horizon from the due index. Runs in memory have their timers already;
// an extra one only makes Tick find nothing to do.
func (e *Engine) refillTimers() {
	t := time.NewTicker(refillEvery)
	defer t.Stop()
	for {
		// The wall clock, as the timer loop itself uses.
		from, to := e.timers.advance(time.Now().Add(timerHorizon))
		if to.After(from) {
			err := e.store.Due(context.Background(), from, to, func(d store.DueEntry) error {
				if !e.owns(d.Namespace, d.WorkflowID) {
					return nil
				}
				e.timers.addEarlier(runRef{wfKey{d.Namespace, d.WorkflowID}, d.RunID}, d.Time)
				return nil
			})
			if err != nil && !errors.Is(err, context.Canceled) {
				e.log.Warn("reading the due index failed; retrying", "err", err)
				e.timers.rewind(from)
			}
		}
		select {
		case <-e.stop:
			return
		case <-t.C:
		}
	}
}

// countOpenRuns reads the number of open runs from the store's count
// tables (it no longer comes from loading them all). Counting reads an
// index entry per open run (~0.2 s at a million), so where the store can
// fix the count's point in time now (store.CountLater) the counting runs
// in the background: runs started or closed after that point are already
// added by outcomes.report, so the sum is exact once the count lands.
func (e *Engine) countOpenRuns() error {
	e.nsMu.RLock()
	names := make([]string, 0, len(e.namespaces)+len(e.purging))
	for name := range e.namespaces {
		names = append(names, name)
	}
	for name := range e.purging { // runs of a deleted namespace keep its name
		if e.namespaces[name] == nil {
			names = append(names, name)
		}
	}
	e.nsMu.RUnlock()
	cl, ok := e.store.(store.CountLater)
	if !ok {
		var n int64
		for _, ns := range names {
			for _, open := range store.OpenStatuses {
				c, err := e.store.CountRuns(context.Background(), ns, store.CountBy{}, open)
				if err != nil {
					return err
				}
				n += c
			}
		}
		e.openRuns.Add(n)
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	var counts []func() (int64, error)
	for _, ns := range names {
		for _, open := range store.OpenStatuses {
			count, err := cl.CountRunsLater(ctx, ns, store.CountBy{}, open)
			if err != nil {
				cancel()
				for _, c := range counts {
					_, _ = c() // releases the iterator (canceled: stops within 65,536 keys)
				}
				return err
			}
			counts = append(counts, count)
		}
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer cancel()
		go func() {
			select {
			case <-e.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		for _, count := range counts {
			n, err := count()
			if err != nil {
				if ctx.Err() == nil {
					e.log.Warn("counting open runs failed; the open runs gauge counts only runs started since", "err", err)
				}
				continue
			}
			e.openRuns.Add(n)
		}
	}()
	return nil
}
