// Package schedule runs Temporal schedules (CreateSchedule and the other
// schedule RPCs): it keeps every schedule in memory (on a cluster, those
// of its node's shards: cluster.go), fires it by the engine's clock,
// starts its workflows through the engine, and writes its definition and
// progress to the store.
//
// A schedule never starts two workflows for one nominal time and never
// misses one across a crash: the progress (a cursor over nominal times and
// a buffer of starts not yet made) is written after the starts it covers,
// and each start is idempotent, with a workflow id and request id derived
// from the schedule and the nominal time. After a crash the starts since
// the last write are made again and the engine answers them with the runs
// already started.
//
// The pure computation of firing times is in package spec.
package schedule

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	commonpb "go.temporal.io/api/common/v1"

	"github.com/sundial-io/sundial/internal/cluster"
	"github.com/sundial-io/sundial/internal/engine"
	"github.com/sundial-io/sundial/internal/schedule/spec"
	"github.com/sundial-io/sundial/internal/store"
)

// Scheduler owns every schedule of the server.
type Scheduler struct {
	eng *engine.Engine
	st  store.Store
	log *slog.Logger

	mu     sync.Mutex
	all    map[key]*sched
	closed bool

	ctx    context.Context // canceled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// steps bounds the timer-driven steps running at once. When thousands
	// of schedules fire at the same second, each timer goroutine would
	// otherwise start its workflow at once: tens of thousands of goroutines
	// queue on the engine's locks with grown stacks (60,000 schedules took
	// the server to 2.5 GB). A few hundred in flight keep the store's
	// group commits full; the rest wait here on a small stack.
	steps chan struct{}

	// On a cluster (NewOnCluster): the node, the forwarder, and the
	// shards whose schedules are loaded here, with the lease epoch they
	// were loaded under (guarded by mu). See cluster.go.
	cl     Cluster
	fwd    Forwarder
	loaded map[int]int64
	recon  *cluster.Reconciler
}

// maxConcurrentSteps is the size of Scheduler.steps.
const maxConcurrentSteps = 256

type key struct{ ns, id string }

// sched is one schedule. Its fields are guarded by mu; every change is
// written to the store before the lock is released.
type sched struct {
	s       *Scheduler
	key     key
	mu      sync.Mutex
	st      *state
	spec    *spec.Spec // nil if the stored spec no longer compiles
	timer   *time.Timer
	deleted bool
	watched map[string]bool // workflow ids a watcher follows
	// fence is the lease the schedule was loaded under on a cluster (nil
	// on a single node): every write of the schedule carries it.
	fence *store.Fence
	// ctx ends the schedule's watchers when it is dropped (its shard
	// lost) or the scheduler closes.
	ctx    context.Context
	cancel context.CancelFunc
}

// newSched makes a schedule of s (not yet in s.all).
func (s *Scheduler) newSched(k key, st *state, fence *store.Fence) *sched {
	sc := &sched{s: s, key: k, st: st, watched: map[string]bool{}, fence: fence}
	sc.ctx, sc.cancel = context.WithCancel(s.ctx)
	return sc
}

// New loads every stored schedule and starts firing them.
func New(eng *engine.Engine, st store.Store, log *slog.Logger) (*Scheduler, error) {
	s := newScheduler(eng, st, log)
	if err := s.load(nil); err != nil {
		s.cancel()
		return nil, fmt.Errorf("loading schedules: %w", err)
	}
	return s, nil
}

func newScheduler(eng *engine.Engine, st store.Store, log *slog.Logger) *Scheduler {
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Scheduler{eng: eng, st: st, log: log, all: map[key]*sched{}, ctx: ctx, cancel: cancel, steps: make(chan struct{}, maxConcurrentSteps)}
}

// load reads the stored schedules (on a cluster only those of the shards
// in epochs, each under its shard's fence) that are not in memory yet,
// and starts firing them.
func (s *Scheduler) load(epochs map[int]int64) error {
	var loaded []*sched
	err := s.st.Schedules(s.ctx, "", func(r *store.ScheduleRecord) error {
		var fence *store.Fence
		if s.cl != nil {
			shard := s.shardOf(r.Namespace, r.ScheduleID)
			epoch, ok := epochs[shard]
			if !ok {
				return nil
			}
			fence = &store.Fence{Shard: shard, Node: s.cl.ID(), Epoch: epoch}
		}
		state, err := unmarshalState(r.State)
		if err != nil {
			if s.cl != nil {
				s.log.Error("stored schedule does not decode; not loaded", "namespace", r.Namespace, "schedule", r.ScheduleID, "err", err)
				return nil
			}
			return fmt.Errorf("schedule %s/%s: %w", r.Namespace, r.ScheduleID, err)
		}
		sc := s.newSched(key{r.Namespace, r.ScheduleID}, state, fence)
		if sc.spec, err = spec.Compile(state.Schedule.GetSpec()); err != nil {
			s.log.Error("stored schedule spec does not compile; the schedule will not fire", "namespace", r.Namespace, "schedule", r.ScheduleID, "err", err)
		}
		s.mu.Lock()
		if _, dup := s.all[sc.key]; !dup && !s.closed {
			s.all[sc.key] = sc
			loaded = append(loaded, sc)
		}
		s.mu.Unlock()
		return nil
	})
	if err != nil {
		return err
	}
	for _, sc := range loaded {
		sc.mu.Lock()
		for _, ex := range sc.st.Info.GetRunningWorkflows() {
			sc.watch(ex)
		}
		// Times that came due while the server was down (or the shard
		// had no owner) make the timer fire at once; so do starts left in
		// the buffer or backfills. A schedule with nothing due does not
		// write when loaded.
		after := time.Duration(-1)
		if len(sc.st.Buffer) > 0 || len(sc.st.Backfills) > 0 {
			after = 0
		}
		sc.arm(s.eng.Now(), after)
		sc.mu.Unlock()
	}
	if len(loaded) > 0 {
		s.log.Info("recovered schedules", "count", len(loaded))
	}
	return nil
}

// Close stops every timer and watcher. Call it before closing the engine.
func (s *Scheduler) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	list := make([]*sched, 0, len(s.all))
	for _, sc := range s.all {
		list = append(list, sc)
	}
	s.mu.Unlock()
	s.cancel()
	for _, sc := range list {
		sc.mu.Lock()
		if sc.timer != nil {
			sc.timer.Stop()
		}
		sc.mu.Unlock()
	}
	s.wg.Wait()
}

// get returns a schedule locked, or NotFound.
func (s *Scheduler) get(ns, id string) (*sched, error) {
	if err := s.served(ns, id); err != nil {
		return nil, err
	}
	s.mu.Lock()
	sc := s.all[key{ns, id}]
	s.mu.Unlock()
	if sc == nil {
		return nil, errNotFound
	}
	sc.mu.Lock()
	if sc.deleted {
		sc.mu.Unlock()
		return nil, errNotFound
	}
	return sc, nil
}

// list returns the schedules of a namespace ordered by id.
func (s *Scheduler) list(ns string) []*sched {
	s.mu.Lock()
	var out []*sched
	for k, sc := range s.all {
		if k.ns == ns {
			out = append(out, sc)
		}
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].key.id < out[j].key.id })
	return out
}

// save writes the schedule's state and waits until it is durable.
func (sc *sched) save() error {
	b, err := sc.st.marshal()
	if err != nil {
		return fmt.Errorf("encoding schedule: %w", err)
	}
	c, err := sc.s.st.Apply(&store.Batch{Fence: sc.fence, Schedules: []*store.ScheduleRecord{{Namespace: sc.key.ns, ScheduleID: sc.key.id, State: b}}})
	if err == nil {
		err = c.Wait()
	}
	sc.s.checkFenced(err)
	return err
}

// retryDelay is how soon a schedule tries again after a failed write or
// start.
const retryDelay = time.Second

// arm sets the schedule's timer: the earliest of the next firing, a retry,
// and after (if >= 0), relative to now.
func (sc *sched) arm(now time.Time, after time.Duration) {
	if sc.deleted || sc.s.ctx.Err() != nil {
		return
	}
	wake := time.Time{}
	if after >= 0 {
		wake = now.Add(after)
	}
	earliest := func(t time.Time) {
		if !t.IsZero() && (wake.IsZero() || t.Before(wake)) {
			wake = t
		}
	}
	if sc.spec != nil && !sc.st.Schedule.GetState().GetPaused() {
		if nt, ok := sc.spec.Next(sc.seed(), sc.st.Cursor); ok {
			earliest(nt.Actual)
		}
	}
	if wake.IsZero() {
		if sc.timer != nil {
			sc.timer.Stop()
		}
		return
	}
	d := wake.Sub(now)
	if d < 0 {
		d = 0
	}
	if sc.timer != nil {
		sc.timer.Stop()
	}
	sc.timer = time.AfterFunc(d, sc.wake)
}

// wake runs one step of the schedule (its timer fired, a workflow it
// started closed, or a patch asked for action).
// Close waits for a step in progress by taking every schedule's lock.
func (sc *sched) wake() {
	select {
	case sc.s.steps <- struct{}{}:
		defer func() { <-sc.s.steps }()
	case <-sc.s.ctx.Done():
		return
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.deleted || sc.s.ctx.Err() != nil {
		return
	}
	sc.step()
}

// kick makes the schedule take a step soon, off the caller's goroutine.
func (sc *sched) kick() { sc.arm(sc.s.eng.Now(), 0) }

// seed makes jitter differ between schedules (Temporal seeds it with the
// namespace and schedule id too).
func (sc *sched) seed() string { return sc.key.ns + "-" + sc.key.id }

// watch follows a workflow the schedule started until it closes.
func (sc *sched) watch(ex *commonpb.WorkflowExecution) {
	if sc.watched[ex.GetWorkflowId()] || sc.ctx.Err() != nil {
		return
	}
	sc.watched[ex.GetWorkflowId()] = true
	sc.s.wg.Add(1)
	go func() {
		defer sc.s.wg.Done()
		sc.s.follow(sc, ex)
	}()
}
