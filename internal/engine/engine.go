// Package engine runs workflow executions: it keeps the state of hot runs
// in a bounded cache (cache.go; other runs are loaded from the store when
// needed, startup.go), serializes changes per workflow id, writes them
// through the store, and dispatches what the state machine asks for (tasks
// to matching, deadlines to the timer loop, effects on other workflows).
//
// The write path of every operation is the same (see mutate): lock the
// workflow, apply the change to its execution.State, hand the produced
// events and record to store.Apply while still holding the lock (so the
// order on disk is the order of changes), unlock, wait for the fsync, and
// only then reply and dispatch. Group commit comes from many operations
// waiting on the same fsync.
package engine

import (
	"container/list"
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/sundial-io/sundial/internal/execution"
	"github.com/sundial-io/sundial/internal/matching"
	"github.com/sundial-io/sundial/internal/store"
)

// Engine owns the state of all workflows: durable in the store, hot ones
// in memory.
type Engine struct {
	store store.Store
	match *matching.Matcher
	log   *slog.Logger
	now   func() time.Time
	// limits are the history limits given to every run (nil: defaults).
	limits *execution.Limits
	// own is the cluster node's shard ownership; nil outside cluster mode
	// (cluster.go).
	own Ownership
	// peers reaches the owners of other shards (remote.go); taskOps are
	// the internal operations of task queues across nodes.
	peers      Peers
	taskOps    map[string]func(context.Context, []byte) (any, error)
	offers     offers // tasks offered to queues of other nodes (remote_tasks.go)
	offersOnce sync.Once

	mu        sync.Mutex
	workflows map[wfKey]*workflow

	nexus    nexusRegistry
	tqcfg    tqConfigs // task queue rate limits (taskqueue_config.go)
	acts     standaloneActivities
	nexusOps standaloneNexusOps // standalone Nexus operations (standalone_nexus.go)
	deps     deploymentRegistry // worker deployments (deployments.go)
	rules    workflowRules      // workflow rules (workflow_rules.go)
	// goneSticky remembers shut-down workers' sticky queues (sticky_gone.go).
	goneSticky goneSticky

	nsMu sync.RWMutex
	// registryMu serializes this process's read-modify-writes of search
	// attribute registries (visibility.go); nodes of a cluster are
	// serialized by the store (namespace_cas.go).
	registryMu sync.Mutex
	namespaces map[string]*store.Namespace
	// registryWrites counts this node's writes of cluster-wide registries
	// (cluster_registries.go).
	registryWrites atomic.Uint64
	// purging holds, per original name, a channel closed when the runs of
	// a deleted namespace are gone; purgeRunning the purges in progress
	// (see namespace_admin.go). Both are guarded by nsMu.
	purging      map[string]chan struct{}
	purgeRunning map[string]bool

	applyMu sync.Mutex // orders Apply calls with seq
	seq     uint64
	durMu   sync.Mutex
	durCond *sync.Cond
	durable uint64
	failed  error // set when a commit failed: state in memory may be ahead of disk

	timers   *timerQueue
	queries  *queryRegistry
	obs      Observer
	openRuns atomic.Int64 // see OpenRuns

	// The workflow cache (cache.go): recency list (guarded by mu), budget,
	// estimated bytes held.
	lru        *list.List
	cacheLimit int64
	cacheBytes atomic.Int64
	evictKick  chan struct{}
	evictions  atomic.Int64
	coldLoads  atomic.Int64
	// Loads from run snapshots, and check mode (snapshot.go).
	checkSnapshots     bool
	snapshotLoads      atomic.Int64
	snapshotChecked    atomic.Int64
	snapshotMismatches atomic.Int64

	// bootTime splits the due index: runs due before it were last written
	// by an earlier process and are recovered (startup.go).
	bootTime     time.Time
	recovered    atomic.Int64
	recoveryDone chan struct{}
	// phases times the steps of New (startup_phases.go).
	phases       []Phase
	recoveryOnce sync.Once

	stop   chan struct{}
	wg     sync.WaitGroup
	closed bool
}

type wfKey struct{ ns, id string }

// workflow is one workflow id: its newest run and the waiters on it.
type workflow struct {
	mu      sync.Mutex
	key     wfKey
	loaded  bool
	evicted bool
	// fencedOut: a write of it was refused by its shard's fence (the
	// shard is lost), so what its memory showed was never stored
	// (fenced_reads.go).
	fencedOut bool
	cur       *execution.State
	// changed is closed (and replaced) after every commit, waking long
	// polls and update waiters, which then re-check under the lock.
	changed chan struct{}
	lastSeq uint64
	dirty   bool // the run record changed without new events
	// epoch is the shard's lease epoch the workflow was loaded under
	// (cluster mode): its writes are fenced with it.
	epoch int64
	// hist caches the history of run histRun (see history.go).
	hist    []*historypb.HistoryEvent
	histRun string
	// elem is w's place in the cache's recency list, size its estimated
	// bytes (cache.go); waiters counts long polls and update or query
	// waiters on changed, which keep it in memory.
	elem    *list.Element
	size    int64
	waiters atomic.Int32
	// touches counts the lookups of w (touchLocked, under e.mu): the
	// startup recovery releases only runs it loaded itself (startup.go).
	touches uint64
}

// Options configure an Engine.
type Options struct {
	Logger *slog.Logger
	// Limits are the history limits of every run (nil: Temporal's defaults).
	Limits *execution.Limits
	// Observer is told about run outcomes and store writes (metrics);
	// nil observes nothing.
	Observer Observer
	// DeferRecovery leaves the background recovery of the runs an earlier
	// process left needing attention (recoverDue) to StartRecovery, which
	// the server calls once it serves: after a crash with many runs due,
	// recovery keeps both cores busy, and starting it first delayed the
	// first answer by a few hundred milliseconds.
	DeferRecovery bool
	// CacheBytes bounds the estimated memory of the workflows kept in
	// memory (0: DefaultCacheBytes); see cache.go.
	CacheBytes int64
	// CheckSnapshots replays the history of every run loaded from its
	// snapshot and fails the load when the states differ (tests; see
	// snapshot.go). SUNDIAL_TEST_SNAPSHOT_CHECK=1 turns it on too.
	CheckSnapshots bool
	// Ownership makes the engine serve only the workflows of the shards
	// its cluster node holds (cluster.go); nil serves every workflow.
	Ownership Ownership
	// Peers reaches the other nodes of the cluster (with Ownership).
	Peers Peers
}

// New builds an engine over an open store. It reads namespaces and Nexus
// endpoints, not runs: runs that need recovering are recovered in the
// background, and any run is loaded when something needs it (startup.go).
func New(st store.Store, opts Options) (*Engine, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	e := &Engine{
		store:      st,
		match:      matching.New(),
		log:        log,
		now:        time.Now,
		workflows:  map[wfKey]*workflow{},
		namespaces: map[string]*store.Namespace{},
		queries:    newQueryRegistry(),
		stop:       make(chan struct{}),
		limits:     opts.Limits,
		obs:        opts.Observer,
		own:        opts.Ownership,
		peers:      opts.Peers,

		recoveryDone: make(chan struct{}),
		lru:          newLRU(),
		cacheLimit:   opts.CacheBytes,
		evictKick:    make(chan struct{}, 1),

		checkSnapshots: opts.CheckSnapshots || snapshotCheckFromEnv(),
	}
	if e.cacheLimit <= 0 {
		e.cacheLimit = DefaultCacheBytes
	}
	if e.obs == nil {
		e.obs = noObserver{}
	}
	e.durCond = sync.NewCond(&e.durMu)
	e.timers = newTimerQueue(e.fire)
	e.bootTime = e.now()
	e.timers.upTo = e.bootTime
	if err := e.loadAtStart(); err != nil {
		return nil, err
	}
	e.wg.Add(3)
	go func() { defer e.wg.Done(); e.timers.run(e.stop) }()
	go func() { defer e.wg.Done(); e.evictLoop() }()
	go func() { defer e.wg.Done(); e.refillTimers() }()
	if !opts.DeferRecovery {
		e.StartRecovery()
	}
	e.StartRetention(time.Minute)
	e.resumePurges()
	if e.clustered() {
		e.initOffers()
	}
	return e, nil
}

// Close releases pollers and stops background work. The store is closed by
// the caller afterwards.
func (e *Engine) Close() {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.closed = true
	e.mu.Unlock()
	e.match.Close()
	close(e.stop)
	e.queries.closeAll()
	e.wg.Wait()
}

// newRunID returns a version 7 UUID: its first 48 bits are the time in
// milliseconds. Run records and histories are keyed by run id, so new runs
// land at the end of the store's key space instead of all over it, and the
// LSM moves finished files down its levels instead of rewriting them: with
// random (v4) ids, compaction was nearly half the server's CPU once a
// million workflows were stored. Clients treat run ids as opaque strings.
func newRunID() string { return uuid.Must(uuid.NewV7()).String() }

// errUnavailable is returned after a failed write until restart.
func (e *Engine) checkHealthy() error {
	e.durMu.Lock()
	defer e.durMu.Unlock()
	if e.failed != nil {
		return serviceerror.NewUnavailable("sundial: storage write failed, restart required: " + e.failed.Error())
	}
	return nil
}

// acquire returns the workflow locked, with its newest run loaded.
func (e *Engine) acquire(ctx context.Context, ns, id string) (*workflow, error) {
	if err := e.checkHealthy(); err != nil {
		return nil, err
	}
	k := wfKey{ns, id}
	var epoch int64
	if e.own != nil {
		f, _, err := e.leaseOf(k)
		if err != nil {
			return nil, err
		}
		epoch = f.Epoch
	}
	for {
		e.mu.Lock()
		w := e.workflows[k]
		if w == nil {
			w = &workflow{key: k, changed: make(chan struct{})}
			e.workflows[k] = w
		}
		e.touchLocked(w)
		e.mu.Unlock()
		w.mu.Lock()
		if w.evicted {
			w.mu.Unlock()
			continue
		}
		if e.own != nil && w.loaded && w.epoch != epoch {
			// Cached under an earlier lease of the shard: another node may
			// have written it since.
			e.mu.Lock()
			e.dropLocked(w)
			e.mu.Unlock()
			w.mu.Unlock()
			continue
		}
		if !w.loaded {
			w.epoch = epoch
			if err := e.load(ctx, w); err != nil {
				w.mu.Unlock()
				return nil, err
			}
		}
		return w, nil
	}
}

// load reads the newest run of a workflow id from the store.
func (e *Engine) load(ctx context.Context, w *workflow) error {
	runID, err := e.store.CurrentRun(ctx, w.key.ns, w.key.id)
	if errors.Is(err, store.ErrNotFound) {
		w.loaded = true
		return nil
	}
	if err != nil {
		return serviceerror.NewUnavailable("reading workflow: " + err.Error())
	}
	st, events, err := e.loadRun(ctx, w.key.ns, runID)
	if err != nil {
		return err
	}
	w.cur = st
	if events != nil {
		w.cacheHistory(runID, events, true, st.Running())
	} // else loaded from its snapshot: history is read when needed
	w.loaded = true
	e.coldLoads.Add(1)
	e.resize(w)
	if e.needsRecovery(st) {
		if err := e.recoverLoaded(w); err != nil {
			w.cur, w.loaded = nil, false
			w.hist, w.histRun = nil, ""
			return err
		}
	} else if d := st.NextDeadline(); !d.IsZero() {
		e.timers.addEarlier(runRef{w.key, runID}, d)
	}
	return nil
}

func (e *Engine) loadRun(ctx context.Context, ns, runID string) (*execution.State, []*historypb.HistoryEvent, error) {
	rec, err := e.store.Run(ctx, ns, runID)
	if err != nil {
		return nil, nil, serviceerror.NewUnavailable("reading run: " + err.Error())
	}
	return e.loadState(ctx, rec) // snapshot.go
}

// effects is what a commit must do once it is durable.
type effects struct {
	w       *workflow
	commit  store.Commit
	seq     uint64
	ns      string
	wfid    string
	runID   string
	tasks   []execution.Task
	actions []pendingAction
	handoff *handoff
	runs    outcomes // runs started and closed, reported once durable
	// routing is the current run's worker versioning, for routing its tasks.
	routing execution.Routing
}

type pendingAction struct {
	execution.Action
	run *execution.State // the run the action belongs to (read-only use)
}

// persist writes what the workflow's current run produced since the last
// persist. It must be called with w.mu held; the returned effects are run
// after unlocking.
func (e *Engine) persist(w *workflow) (*effects, error) {
	cur := w.cur
	if cur == nil {
		return nil, nil
	}
	before, beforeSize := cur.NextEventID, cur.HistorySize
	if cur.EnforceLimits(e.runNow(cur)) {
		e.log.Warn("workflow terminated: history limit exceeded", "workflow", cur.WorkflowID, "run", cur.RunID, "events", cur.NextEventID-1, "bytes", cur.HistorySize)
	} else if l := cur.Limits(); before-1 > l.HistoryCountWarn && before-1-int64(len(cur.Outbox().Events)) <= l.HistoryCountWarn ||
		beforeSize > l.HistorySizeWarn && beforeSize-cur.OutboxSize() <= l.HistorySizeWarn {
		e.log.Warn("workflow history passed the warning limit", "workflow", cur.WorkflowID, "run", cur.RunID, "events", before-1, "bytes", beforeSize)
	}
	e.skipTime(cur) // time_skipping.go
	h := e.handOff(cur)
	o := cur.TakeOutbox()
	if len(o.Events) == 0 && o.NewRun == nil && len(o.Tasks) == 0 && len(o.Actions) == 0 && !w.dirty && !o.UpdatesChanged && !o.RecordChanged && h == nil {
		// Some changes move a deadline without writing anything: starting a
		// transient (retried) or speculative workflow task keeps its events
		// in memory, yet its start-to-close timeout must be armed, or a
		// worker that dies holding it leaves the run stuck.
		e.timers.set(runRef{w.key, cur.RunID}, cur.NextDeadline())
		return nil, nil
	}
	fx := &effects{w: w, ns: cur.Namespace, wfid: cur.WorkflowID, runID: cur.RunID, tasks: o.Tasks, handoff: h}
	for _, a := range o.Actions {
		fx.actions = append(fx.actions, pendingAction{a, cur})
	}
	fx.runs.note(cur, o.Events)
	isNew := len(o.Events) > 0 && o.Events[0].EventId == 1
	// A run stored before and still running has its index entries already
	// (unless it was paused or unpaused: its status entries move).
	now := e.now()
	rw := e.runWrite(cur, now)
	rw.Events, rw.SetCurrent, rw.OpenIndexed = o.Events, isNew, !isNew && cur.Running() && !o.StatusChanged
	b := &store.Batch{Runs: []*store.RunWrite{rw}}
	w.cacheHistory(cur.RunID, o.Events, isNew, cur.Running())
	if n := o.NewRun; n != nil {
		e.skipTime(n)
		no := n.TakeOutbox()
		fx.runs.note(n, no.Events)
		nw := e.runWrite(n, now)
		nw.Events, nw.SetCurrent = no.Events, true
		b.Runs = append(b.Runs, nw)
		w.cacheHistory(n.RunID, no.Events, true, n.Running())
		w.cur = n
		fx.runID = n.RunID
		fx.tasks = append(fx.tasks, no.Tasks...)
		for _, a := range no.Actions {
			fx.actions = append(fx.actions, pendingAction{a, n})
		}
		e.timers.set(runRef{w.key, cur.RunID}, time.Time{})
	}
	w.dirty = false
	b.Records = httpCallbackRecords(fx.actions) // pending http(s) callbacks, durable with the close
	var c store.Commit
	var seq uint64
	var err error
	if e.own != nil {
		b.Fence, err = e.fenceOf(w)
	}
	if err == nil {
		c, seq, err = e.apply(b)
	}
	if err != nil {
		h.release()
		if IsNotOwner(err) {
			// Memory is ahead of the store and the shard is not ours to
			// write: forget the workflow.
			e.mu.Lock()
			e.dropLocked(w)
			e.mu.Unlock()
		}
		return nil, err
	}
	fx.commit, fx.seq = c, seq
	fx.routing = w.cur.Routing()
	w.lastSeq = seq
	e.resize(w)
	e.timers.set(runRef{w.key, w.cur.RunID}, w.cur.NextDeadline())
	close(w.changed)
	w.changed = make(chan struct{})
	return fx, nil
}

// apply hands a batch to the store in sequence order.
func (e *Engine) apply(b *store.Batch) (store.Commit, uint64, error) {
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	began := time.Now()
	c, err := e.store.Apply(b)
	e.obs.StoreWrite(StoreApply, time.Since(began), err)
	if err != nil && b.Fence != nil && errors.Is(err, store.ErrFenced) {
		return nil, 0, e.fenced(b.Fence.Shard, err)
	}
	if err != nil && errors.Is(err, store.ErrConflict) {
		return nil, 0, err // a conditional batch lost a race (namespace_cas.go)
	}
	if err != nil {
		e.fail(err)
		return nil, 0, serviceerror.NewUnavailable("storage write failed: " + err.Error())
	}
	e.seq++
	return c, e.seq, nil
}

func (e *Engine) fail(err error) {
	e.durMu.Lock()
	if e.failed == nil {
		e.failed = err
		e.log.Error("storage write failed; refusing further requests until restart", "err", err)
		e.durCond.Broadcast() // reads waiting in barrier give up now
	}
	e.durMu.Unlock()
}

// finish waits for durability, then dispatches. It returns an error if the
// write failed, in which case nothing is dispatched.
func (e *Engine) finish(fx *effects) error {
	if fx == nil {
		return nil
	}
	if fx.commit != nil {
		began := time.Now()
		err := fx.commit.Wait()
		e.obs.StoreWrite(StoreSync, time.Since(began), err)
		if err != nil && e.own != nil && errors.Is(err, store.ErrFenced) {
			// Only this write failed; later ones of other shards go on.
			// Its workflow (with all of its shard) is dropped, so no
			// read reports its changes.
			fx.handoff.release()
			if w := fx.w; w != nil {
				w.mu.Lock()
				w.fencedOut = true
				e.mu.Lock()
				e.dropLocked(w)
				e.mu.Unlock()
				w.mu.Unlock()
			}
			// Only after the drop: a reader that barrier releases must
			// find the workflow fenced out (fenced_reads.go).
			e.markDurable(fx.seq)
			return e.fenced(e.own.ShardOf(fx.ns, fx.wfid), err)
		}
		if err != nil && errors.Is(err, store.ErrConflict) {
			// A conditional batch lost a race (namespace_cas.go): only it
			// failed, nothing of it was written.
			e.markDurable(fx.seq)
			return err
		}
		if err != nil {
			fx.handoff.release()
			e.fail(err)
			return serviceerror.NewUnavailable("storage sync failed: " + err.Error())
		}
		e.markDurable(fx.seq)
		fx.runs.report(e)
	}
	e.dispatch(fx)
	return nil
}

// markDurable records that every write up to seq is on disk (the store
// syncs in Apply order, so one finished sync covers all earlier writes).
func (e *Engine) markDurable(seq uint64) {
	e.durMu.Lock()
	if seq > e.durable {
		e.durable = seq
		e.durCond.Broadcast()
	}
	e.durMu.Unlock()
}

// writable refuses a change up front when the store says a write would
// fail (full disk), so nothing changes in memory that cannot reach disk.
func (e *Engine) writable() error {
	if err := e.checkHealthy(); err != nil {
		return err
	}
	if w, ok := e.store.(store.Writable); ok {
		if err := w.CheckWritable(); err != nil {
			return serviceerror.NewResourceExhausted(enumspb.RESOURCE_EXHAUSTED_CAUSE_SYSTEM_OVERLOADED, "sundial: storage cannot accept writes: "+err.Error())
		}
	}
	return nil
}

// barrier waits until everything applied so far is durable, so a read can
// never report state that a crash could still take back.
func (e *Engine) barrier(seq uint64) {
	e.durMu.Lock()
	defer e.durMu.Unlock()
	for e.durable < seq && e.failed == nil {
		e.durCond.Wait()
	}
}

// mutate is the write path shared by every operation on one workflow: fn
// changes the workflow's state under its lock; the result is persisted and
// made durable before mutate returns fn's error.
func (e *Engine) mutate(ctx context.Context, ns, id string, fn func(w *workflow) error) error {
	if err := e.writable(); err != nil {
		return err
	}
	w, err := e.acquire(ctx, ns, id)
	if err != nil {
		return err
	}
	if w.cur != nil {
		w.cur.SetActivityRules(e.activityRulesOf(ns)) // workflow rules (workflow_rules.go)
		if e.goneSticky.has(ns, w.cur.StickyQueue) {
			w.cur.ResetSticky() // its worker shut down (sticky_gone.go)
		}
	}
	ferr := fn(w)
	fx, perr := e.persist(w)
	seq := w.lastSeq
	w.mu.Unlock()
	e.overBudget()
	if perr != nil {
		return perr
	}
	if fx == nil {
		// Nothing written, but the answer may rest on another request's
		// write still in flight (a deduplicated start or signal): it must
		// be durable before we acknowledge.
		return firstErr(e.settledRead(w, seq), ferr)
	}
	if err := e.finish(fx); err != nil {
		return err
	}
	return ferr
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// dispatch hands tasks to matching and starts actions on other workflows.
func (e *Engine) dispatch(fx *effects) {
	fx.handoff.deliver()
	for _, t := range fx.tasks {
		var key matching.Key
		var pinned bool
		switch t.Kind {
		case execution.NexusTaskKind, execution.NexusCancelTaskKind:
			ns, q, ok := e.nexusTarget(t.Queue)
			if !ok {
				e.nexusEndpointGone(fx.ns, fx.wfid, fx.runID, t)
				continue
			}
			key = matching.Key{Namespace: ns, Name: q, Kind: matching.Nexus}
		default:
			key, pinned = e.taskKey(fx.ns, fx.wfid, t, fx.routing) // worker versioning (deployments.go)
		}
		e.addTask(key, matching.Task{
			Namespace: fx.ns, WorkflowID: fx.wfid, RunID: fx.runID, ScheduledEventID: t.ScheduledEventID, Attempt: t.Attempt, Pinned: pinned,
			PriorityKey: t.PriorityKey, FairnessKey: t.FairnessKey, FairnessWeight: t.FairnessWeight,
			NexusCancel: t.Kind == execution.NexusCancelTaskKind,
		})
	}
	for _, a := range fx.actions {
		a := a
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			e.runAction(a)
		}()
	}
}
