package engine

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"go.temporal.io/api/serviceerror"

	"github.com/sundial-io/sundial/internal/store"
)

// Standalone executions on a cluster (docs/CLUSTER.md, "Standalone
// activities and Nexus operations"). A standalone execution belongs to the shard of
// (namespace, its id), as a workflow with that id would; only the node
// holding that shard keeps it in memory and serves it:
//
//   - a set serves an execution only once it has read the execution's
//     shard from the store under the lease epoch the node holds now
//     (shards); anything else answers NotOwnerError (Unavailable: the
//     client retries, and the forwarder sends it to the owner);
//   - every write carries the fence of that epoch, so a node that lost
//     the shard can never write it; a fenced write drops the shard;
//   - reconcile (every standaloneReconcileEvery, and at once when the node's
//     shards change) drops the executions of shards no longer held at
//     the epoch they were read under, and reads the shards held but not
//     read: their open executions get their timers and their tasks are
//     offered again, as after a restart.
//
// Outside cluster mode none of this runs.

// standaloneReconcileEvery is how often a set checks its shards against
// the node's (a backstop for the node's watch).
const standaloneReconcileEvery = 500 * time.Millisecond

// standaloneClusterState is a set's cluster bookkeeping.
type standaloneClusterState struct {
	own  Ownership
	once sync.Once
	kick chan struct{} // asks the reconcile loop to run now
	mu   sync.Mutex    // serializes reconcile
}

// check says whether this node serves the executions of (ns, id) now and
// returns the fence their writes carry (nil outside cluster mode); the
// caller holds s.mu.
func (s *standaloneSet[X]) check(e *Engine, ns, id string) (*store.Fence, error) {
	if e.own == nil {
		return nil, nil
	}
	shard := e.own.ShardOf(ns, id)
	f, _, ok := e.own.Lease(shard)
	if !ok {
		return nil, &NotOwnerError{shard}
	}
	if epoch, read := s.shards[shard]; !read || epoch != f.Epoch {
		s.reconcileSoon()
		return nil, &NotOwnerError{shard}
	}
	return f, nil
}

// settle waits until the write seq (if c is set) or everything read (seq)
// is durable, as Engine.settle; a write the store fenced (written under
// f) drops the shard's executions, which this node no longer owns, and
// answers Unavailable.
func (s *standaloneSet[X]) settle(e *Engine, c store.Commit, seq uint64, f *store.Fence) error {
	if c == nil || f == nil {
		return e.settle(c, seq)
	}
	began := time.Now()
	err := c.Wait()
	e.obs.StoreWrite(StoreSync, time.Since(began), err)
	if err != nil && errors.Is(err, store.ErrFenced) {
		e.markDurable(seq)
		s.mu.Lock()
		s.dropShardsLocked(map[int]bool{f.Shard: true})
		s.mu.Unlock()
		return e.fenced(f.Shard, err)
	}
	if err != nil {
		e.fail(err)
		return serviceerror.NewUnavailable("storage sync failed: " + err.Error())
	}
	e.markDurable(seq)
	return nil
}

// startReconciling starts the reconcile loop (cluster mode only).
func (s *standaloneSet[X]) startReconciling(e *Engine) {
	s.cluster.once.Do(func() {
		s.cluster.kick = make(chan struct{}, 1)
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			t := time.NewTicker(standaloneReconcileEvery)
			defer t.Stop()
			for {
				s.reconcile(e)
				select {
				case <-e.stop:
					return
				case <-t.C:
				case <-s.cluster.kick:
				}
			}
		}()
	})
}

// reconcileSoon asks the reconcile loop to run now.
func (s *standaloneSet[X]) reconcileSoon() {
	if s.cluster.kick == nil {
		return
	}
	select {
	case s.cluster.kick <- struct{}{}:
	default:
	}
}

// reconcile drops the executions of shards the node no longer holds at
// the epoch they were read under and reads the shards it holds but has
// not read.
func (s *standaloneSet[X]) reconcile(e *Engine) {
	s.cluster.mu.Lock()
	defer s.cluster.mu.Unlock()
	owned := e.own.Owned()
	lost := map[int]bool{}
	taken := map[int]int64{}
	s.mu.Lock()
	for shard, epoch := range s.shards {
		if owned[shard] != epoch {
			lost[shard] = true
		}
	}
	for shard, epoch := range owned {
		if read, ok := s.shards[shard]; !ok || read != epoch {
			taken[shard] = epoch
		}
	}
	if len(lost) > 0 {
		s.dropShardsLocked(lost)
	}
	s.mu.Unlock()
	if len(taken) > 0 {
		s.readShards(e, taken)
	}
}

// dropShardsLocked forgets the executions of shards (their timers
// stopped, their long polls woken: they find the shard not served and
// answer Unavailable); the caller holds s.mu.
func (s *standaloneSet[X]) dropShardsLocked(shards map[int]bool) {
	for k, runs := range s.runs {
		if !shards[s.shardOfKey(k)] {
			continue
		}
		for _, r := range runs {
			if r.timer != nil {
				r.timer.Stop()
				r.timer = nil
			}
			r.wake()
		}
		delete(s.runs, k)
	}
	for shard := range shards {
		delete(s.shards, shard)
	}
}

func (s *standaloneSet[X]) shardOfKey(k saKey) int { return s.shardOf(k.ns, k.id) }

func (s *standaloneSet[X]) shardOf(ns, id string) int { return s.cluster.own.ShardOf(ns, id) }

// readShards reads the executions of shards taken at the given epochs
// from the store and serves them from now on: the open ones get their
// timers and their due tasks are offered again.
func (s *standaloneSet[X]) readShards(e *Engine, taken map[int]int64) {
	ctx, cancel := e.untilStop()
	defer cancel()
	byShard := map[int][]X{}
	err := s.kind.scan(e, ctx, "", func(x X) {
		k := s.kind.ident(x)
		if shard := s.shardOf(k.ns, k.id); taken[shard] > 0 {
			byShard[shard] = append(byShard[shard], x)
		}
	})
	if err != nil {
		if ctx.Err() == nil {
			e.log.Warn("reading the "+s.kind.name+" executions of taken shards failed; retried shortly", "err", err)
		}
		return
	}
	var due []func()
	var open []X
	s.mu.Lock()
	for shard, epoch := range taken {
		if f, _, ok := e.own.Lease(shard); !ok || f.Epoch != epoch {
			continue // lost again meanwhile
		}
		s.dropShardsLocked(map[int]bool{shard: true})
		touched := map[saKey]bool{}
		for _, x := range byShard[shard] {
			r := newStandaloneRun(x)
			k := s.kind.ident(x)
			s.runs[k] = append(s.runs[k], r)
			touched[k] = true
			if x.Running() {
				if s.kind.recover != nil {
					s.kind.recover(x)
				}
				open = append(open, x)
				s.arm(e, r)
				if d := s.kind.takeDispatch(e, x); d != nil {
					due = append(due, d)
				}
			}
		}
		for k := range touched {
			s.sortRuns(s.runs[k])
		}
		s.shards[shard] = epoch
	}
	s.mu.Unlock()
	for _, d := range due {
		d()
	}
	if s.kind.readBack != nil {
		s.kind.readBack(e, open)
	}
	if len(open) > 0 {
		e.log.Info("took over open "+s.kind.name+" executions", "count", len(open), "shards", len(taken))
	}
}

// sortRuns orders the runs of one id oldest first.
func (s *standaloneSet[X]) sortRuns(runs []*standaloneRun[X]) {
	slices.SortFunc(runs, func(a, b *standaloneRun[X]) int {
		if c := s.kind.schedule(a.x).Compare(s.kind.schedule(b.x)); c != 0 {
			return c
		}
		return strings.Compare(s.kind.runID(a.x), s.kind.runID(b.x))
	})
}
