package engine

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"go.temporal.io/api/serviceerror"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundial-io/sundial/internal/store"
)

// standaloneSet keeps the executions of one kind of standalone execution
// (activities: standalone_activities.go; Nexus operations:
// standalone_nexus.go), open and closed, in memory, each stored as one
// store record that is written, and synced, before a change is
// acknowledged or its task dispatched. One mutex covers them all: changes
// are small (no history, no effects on other executions), so this keeps
// the write order trivially the order of changes. Each open execution has
// a timer for its next deadline. What differs between the kinds (their
// records, their tasks, their start rules) is in standaloneKind.
type standaloneSet[X standaloneState] struct {
	kind *standaloneKind[X]
	mu   sync.Mutex
	runs map[saKey][]*standaloneRun[X] // by namespace and id, oldest first
	// deletedSeq is the newest write that deleted executions: an answer
	// that one is not found waits until that write is durable.
	deletedSeq uint64
	// shards are, in cluster mode, the shards whose executions are in
	// runs, by the lease epoch they were read from the store under
	// (standalone_cluster.go); an execution of any other shard, or of a
	// shard held now at another epoch, is not served here.
	shards  map[int]int64
	cluster standaloneClusterState
}

// standaloneState is what the set needs of an execution's state
// (activityexec.Execution, nexusexec.Operation).
type standaloneState interface {
	Running() bool
	// NextDeadline is when Tick has something to do (zero: never).
	NextDeadline() time.Time
	// Tick fires the deadlines due at now and reports whether it changed.
	Tick(now time.Time) bool
	Encode() ([]byte, error)
}

// standaloneKind is what differs between the kinds of standalone
// executions.
type standaloneKind[X standaloneState] struct {
	name     string // for logs: "standalone activity"
	ident    func(X) saKey
	runID    func(X) string
	schedule func(X) time.Time // orders the runs of one id
	closed   func(X) time.Time // the close time (zero while running)
	notFound func(id string) error
	// put adds the execution's record to b; del the deletion of run runID.
	put func(b *store.Batch, x X, data []byte)
	del func(b *store.Batch, k saKey, runID string)
	// takeDispatch takes the tasks that came due (under the lock) and
	// returns what hands them to matching once the state is durable (nil
	// when there are none).
	takeDispatch func(e *Engine, x X) func()
	// scan reads the stored executions of a namespace ("": all), ready to
	// be served (as after a restart).
	scan func(e *Engine, ctx context.Context, ns string, yield func(X)) error
	// recover, if set, readies an open execution read back from the store.
	recover func(X)
	// readBack, if set, is told of the open executions read back from the
	// store (at startup, or when the node takes their shard), once they
	// are served.
	readBack func(e *Engine, open []X)
}

type saKey struct{ ns, id string }

type standaloneRun[X standaloneState] struct {
	x     X
	timer *time.Timer
	seq   uint64 // the write that made the state; reads wait until it is durable
	// changed is closed (and replaced) after every change and when the
	// execution is deleted, waking long polls, which then look again.
	changed chan struct{}
}

func newStandaloneRun[X standaloneState](x X) *standaloneRun[X] {
	return &standaloneRun[X]{x: x, changed: make(chan struct{})}
}

// wake tells the execution's long polls to look again; the caller holds
// the set's lock.
func (r *standaloneRun[X]) wake() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// load reads the stored executions at startup, arms the timers of the
// open ones and dispatches their tasks due; it returns the open ones. In
// cluster mode it reads nothing: the executions of each shard are read
// when the node holds it (standalone_cluster.go).
func (s *standaloneSet[X]) load(e *Engine, kind *standaloneKind[X]) ([]X, error) {
	s.kind = kind
	s.runs = map[saKey][]*standaloneRun[X]{}
	if e.own != nil {
		s.shards = map[int]int64{}
		s.cluster.own = e.own
		s.startReconciling(e)
		return nil, nil
	}
	var open []*standaloneRun[X]
	err := kind.scan(e, context.Background(), "", func(x X) {
		r := newStandaloneRun(x)
		k := kind.ident(x)
		s.runs[k] = append(s.runs[k], r)
		if x.Running() {
			if kind.recover != nil {
				kind.recover(x)
			}
			open = append(open, r)
		}
	})
	if err != nil {
		return nil, err
	}
	for _, runs := range s.runs {
		s.sortRuns(runs)
	}
	// Timers may fire as soon as they are armed: hold the lock they take.
	var due []func()
	var states []X
	s.mu.Lock()
	for _, r := range open {
		s.arm(e, r)
		if d := kind.takeDispatch(e, r.x); d != nil {
			due = append(due, d)
		}
		states = append(states, r.x)
	}
	s.mu.Unlock()
	for _, d := range due {
		d()
	}
	if kind.readBack != nil {
		kind.readBack(e, states)
	}
	return states, nil
}

// find returns the run of an id (runID "": the newest); the caller holds
// s.mu.
func (s *standaloneSet[X]) find(ns, id, runID string) *standaloneRun[X] {
	runs := s.runs[saKey{ns, id}]
	if runID == "" {
		if len(runs) == 0 {
			return nil
		}
		return runs[len(runs)-1]
	}
	for _, r := range runs {
		if s.kind.runID(r.x) == runID {
			return r
		}
	}
	return nil
}

// locate locks s.mu and returns the run of an id (runID "": the newest)
// with the fence its writes carry (standaloneSet.check); on an error
// (not served here, not found) s.mu is unlocked again.
func (s *standaloneSet[X]) locate(e *Engine, ns, id, runID string) (*standaloneRun[X], *store.Fence, error) {
	s.mu.Lock()
	f, err := s.check(e, ns, id)
	if err != nil {
		s.mu.Unlock()
		return nil, nil, err
	}
	r := s.find(ns, id, runID)
	if r == nil {
		return nil, nil, s.notFound(e, id)
	}
	return r, f, nil
}

// notFound unlocks s.mu and answers the kind's NotFound for id once a
// deletion it may rest on is durable.
func (s *standaloneSet[X]) notFound(e *Engine, id string) error {
	seq := s.deletedSeq
	s.mu.Unlock()
	if err := e.settle(nil, seq); err != nil {
		return err
	}
	return s.kind.notFound(id)
}

// write hands the execution's record to the store (still under s.mu, so
// the order on disk is the order of changes) and wakes long polls; the
// caller waits for the commit after unlocking.
func (s *standaloneSet[X]) write(e *Engine, r *standaloneRun[X], f *store.Fence) (store.Commit, uint64, error) {
	data, err := r.x.Encode()
	if err != nil {
		return nil, 0, err
	}
	b := &store.Batch{Fence: f}
	s.kind.put(b, r.x, data)
	c, seq, err := e.apply(b)
	if err != nil {
		if f != nil && IsNotOwner(err) {
			// Fenced: the node lost the shard; forget its changed state.
			s.dropShardsLocked(map[int]bool{f.Shard: true})
		}
		return nil, 0, err
	}
	r.seq = seq
	r.wake()
	return c, seq, nil
}

// add writes a new execution (under s.mu, with the fence check returned)
// adds it to the set and arms its timer; it returns the commit to wait
// for and what dispatches its tasks once durable.
func (s *standaloneSet[X]) add(e *Engine, x X, f *store.Fence) (store.Commit, uint64, func(), error) {
	r := newStandaloneRun(x)
	c, seq, err := s.write(e, r, f)
	if err != nil {
		return nil, 0, nil, err
	}
	k := s.kind.ident(x)
	s.runs[k] = append(s.runs[k], r)
	s.arm(e, r)
	return c, seq, s.kind.takeDispatch(e, x), nil
}

// mutate is the write path of one execution: fn changes it under the
// lock and says whether there is something to write; the write is
// durable before mutate returns, and only then are the tasks that came
// due dispatched.
func (s *standaloneSet[X]) mutate(e *Engine, ns, id, runID string, fn func(x X) (bool, error)) error {
	if err := e.writable(); err != nil {
		return err
	}
	r, f, err := s.locate(e, ns, id, runID)
	if err != nil {
		return err
	}
	write, ferr := fn(r.x)
	var c store.Commit
	if write {
		var err error
		if c, _, err = s.write(e, r, f); err != nil {
			s.mu.Unlock()
			return err
		}
	}
	seq := r.seq
	s.arm(e, r)
	due := s.kind.takeDispatch(e, r.x)
	s.mu.Unlock()
	if err := s.settle(e, c, seq, f); err != nil {
		return err
	}
	if due != nil {
		due()
	}
	return ferr
}

// read runs fn on an execution under the lock and returns once the state
// fn saw is durable.
func (s *standaloneSet[X]) read(e *Engine, ns, id, runID string, fn func(x X)) error {
	r, _, err := s.locate(e, ns, id, runID)
	if err != nil {
		return err
	}
	fn(r.x)
	seq := r.seq
	s.mu.Unlock()
	return e.settle(nil, seq)
}

// wait long-polls: it calls done under the lock until it returns true,
// and returns false when ctx's poll deadline passes first.
func (s *standaloneSet[X]) wait(ctx context.Context, e *Engine, ns, id, runID string, done func(x X) bool) (bool, error) {
	deadline := time.NewTimer(time.Until(pollDeadline(ctx)))
	defer deadline.Stop()
	for {
		r, _, err := s.locate(e, ns, id, runID)
		if err != nil {
			return false, err
		}
		if done(r.x) {
			seq := r.seq
			s.mu.Unlock()
			return true, e.settle(nil, seq)
		}
		ch := r.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			return false, nil
		case <-ctx.Done():
			return false, ctx.Err()
		case <-e.stop:
			return false, serviceerror.NewUnavailable("server is shutting down")
		}
	}
}

// arm sets the execution's timer to its next deadline; the caller holds
// s.mu.
func (s *standaloneSet[X]) arm(e *Engine, r *standaloneRun[X]) {
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	d := r.x.NextDeadline()
	if d.IsZero() {
		return
	}
	k, runID := s.kind.ident(r.x), s.kind.runID(r.x)
	r.timer = time.AfterFunc(max(0, d.Sub(e.now())), func() { s.tick(e, k, runID) })
}

// tick fires the deadlines of one execution that came due (on a cluster,
// a node that lost its shard leaves that to the new owner).
func (s *standaloneSet[X]) tick(e *Engine, k saKey, runID string) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.wg.Add(1)
	e.mu.Unlock()
	defer e.wg.Done()
	err := s.mutate(e, k.ns, k.id, runID, func(x X) (bool, error) {
		return x.Tick(e.now()), nil
	})
	var nf *serviceerror.NotFound
	if err != nil && !errors.As(err, &nf) && !IsNotOwner(err) {
		// The store refused (a full disk): try again shortly.
		e.log.Warn(s.kind.name+" timer", "id", k.id, "run", runID, "err", err)
		time.AfterFunc(time.Second, func() { s.tick(e, k, runID) })
	}
}

// remove deletes an execution in one durable write; terminate closes it
// first if it runs (the deletion makes that moot, but long polls see it).
func (s *standaloneSet[X]) remove(e *Engine, ns, id, runID string, terminate func(x X)) error {
	if err := e.writable(); err != nil {
		return err
	}
	r, f, err := s.locate(e, ns, id, runID)
	if err != nil {
		return err
	}
	k := saKey{ns, id}
	b := &store.Batch{Fence: f}
	s.kind.del(b, k, s.kind.runID(r.x))
	c, seq, err := e.apply(b)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	if r.x.Running() {
		terminate(r.x)
	}
	if r.timer != nil {
		r.timer.Stop()
	}
	s.runs[k] = slices.DeleteFunc(s.runs[k], func(o *standaloneRun[X]) bool { return o == r })
	if len(s.runs[k]) == 0 {
		delete(s.runs, k)
	}
	r.wake()
	s.deletedSeq = seq
	s.mu.Unlock()
	return s.settle(e, c, seq, f)
}

// purgeExpired deletes closed executions older than their namespace's
// retention (Temporal keeps a closed standalone execution as long as a
// closed workflow), and every execution of a namespace that no longer
// exists; it returns how many it deleted.
func (s *standaloneSet[X]) purgeExpired(e *Engine) (int, error) {
	if err := e.writable(); err != nil {
		return 0, err
	}
	retention := map[string]time.Duration{}
	for _, n := range e.ListNamespaces() {
		retention[n.GetNamespaceInfo().GetName()] = n.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration()
	}
	now := e.now()
	s.mu.Lock()
	batches := map[int]*store.Batch{} // by shard (one, -1, outside cluster mode)
	n := 0
	for k, runs := range s.runs {
		ret, known := retention[k.ns]
		shard, f := -1, (*store.Fence)(nil)
		if e.own != nil {
			var err error
			if f, err = s.check(e, k.ns, k.id); err != nil {
				continue // the shard's new owner purges it
			}
			shard = f.Shard
		}
		kept := runs[:0]
		for _, r := range runs {
			expired := !known || (!r.x.Running() && ret > 0 && s.kind.closed(r.x).Add(ret).Before(now))
			if !expired || n >= retentionBatch {
				kept = append(kept, r)
				continue
			}
			b := batches[shard]
			if b == nil {
				b = &store.Batch{Fence: f}
				batches[shard] = b
			}
			s.kind.del(b, k, s.kind.runID(r.x))
			n++
			if r.timer != nil {
				r.timer.Stop()
			}
			r.wake()
		}
		if len(kept) == 0 {
			delete(s.runs, k)
		} else {
			s.runs[k] = kept
		}
	}
	if n == 0 {
		s.mu.Unlock()
		return 0, nil
	}
	type written struct {
		c   store.Commit
		seq uint64
		f   *store.Fence
	}
	var writes []written
	var firstErr error
	for _, b := range batches {
		c, seq, err := e.apply(b)
		if err != nil {
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		s.deletedSeq = seq
		writes = append(writes, written{c, seq, b.Fence})
	}
	s.mu.Unlock()
	for _, w := range writes {
		firstErr = cmp.Or(firstErr, s.settle(e, w.c, w.seq, w.f))
	}
	if firstErr != nil {
		return 0, firstErr
	}
	return n, nil
}

// matchingStandalone returns the list entries of the namespace's
// executions match accepts, newest first (built under the lock, so later
// changes do not reach them), and the sequence number every one is
// durable at. On a cluster, where each node holds only its shards', they
// are read from the store every node writes to.
func matchingStandalone[X standaloneState, I listEntry](ctx context.Context, e *Engine, s *standaloneSet[X], ns string, match func(X) bool, info func(X) I) ([]I, uint64, error) {
	var out []I
	var seq uint64
	if e.own != nil {
		err := s.kind.scan(e, ctx, ns, func(x X) {
			if match(x) {
				out = append(out, info(x))
			}
		})
		if err != nil {
			return nil, 0, serviceerror.NewUnavailable("reading the store: " + err.Error())
		}
	} else {
		s.mu.Lock()
		for k, runs := range s.runs {
			if k.ns != ns {
				continue
			}
			for _, r := range runs {
				if match(r.x) {
					out = append(out, info(r.x))
					seq = max(seq, r.seq)
				}
			}
		}
		s.mu.Unlock()
	}
	slices.SortFunc(out, newestFirst)
	return out, seq, nil
}

// listEntry is a standalone execution's list entry
// (ActivityExecutionListInfo, NexusOperationExecutionListInfo).
type listEntry interface {
	GetScheduleTime() *timestamppb.Timestamp
	GetRunId() string
}

// newestFirst orders list entries by schedule time, then run id, newest
// first.
func newestFirst[I listEntry](a, b I) int {
	if c := b.GetScheduleTime().AsTime().Compare(a.GetScheduleTime().AsTime()); c != 0 {
		return c
	}
	return strings.Compare(b.GetRunId(), a.GetRunId())
}

// listPage returns the page of list (newest first) after the page token
// (the schedule time and run id of the last entry of the previous page),
// at most size entries (0 or over 1000: 1000), and the next page token.
// tokenField names the token in the error for a malformed one.
func listPage[I listEntry](list []I, token []byte, size int32, tokenField string) ([]I, []byte, error) {
	n := int(size)
	if n <= 0 || n > 1000 {
		n = 1000
	}
	var afterTime time.Time
	var afterRun string
	if len(token) > 0 {
		if len(token) < 8 {
			return nil, nil, serviceerror.NewInvalidArgument("invalid " + tokenField)
		}
		afterTime = time.Unix(0, int64(binary.BigEndian.Uint64(token)))
		afterRun = string(token[8:])
	}
	var page []I
	for _, info := range list {
		if len(token) > 0 {
			// Skip up to and including the last entry of the previous page.
			if c := afterTime.Compare(info.GetScheduleTime().AsTime()); c < 0 || (c == 0 && afterRun <= info.GetRunId()) {
				continue
			}
		}
		if len(page) == n {
			last := page[n-1]
			next := binary.BigEndian.AppendUint64(nil, uint64(last.GetScheduleTime().AsTime().UnixNano()))
			return page, append(next, last.GetRunId()...), nil
		}
		page = append(page, info)
	}
	return page, nil, nil
}

// longPollToken is a Describe long-poll token: the execution's state
// transition count when described (none once closed).
func longPollToken(running bool, transitions int64) []byte {
	if !running {
		return nil
	}
	return binary.BigEndian.AppendUint64(nil, uint64(transitions))
}
