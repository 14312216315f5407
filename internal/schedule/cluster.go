package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc/status"

	"github.com/sundial-io/sundial/internal/cluster"
	"github.com/sundial-io/sundial/internal/engine"
	"github.com/sundial-io/sundial/internal/forward"
	"github.com/sundial-io/sundial/internal/schedule/spec"
	"github.com/sundial-io/sundial/internal/store"
)

// Schedules on a cluster (docs/CLUSTER.md, "Schedules"). A schedule
// belongs to the shard of (namespace, forward.ScheduleKey(id)); only the
// node holding that shard keeps it in memory and fires it, and every
// write of it carries the fence of the lease it was loaded under, so a
// node that lost the shard can never write it again. The forwarder sends
// the schedule RPCs to the owner; List and Count read the store.
//
// When the node takes a shard it loads that shard's schedules from the
// store; when it loses one it drops them. The new owner continues from
// the last record the old one wrote (every write under the old epoch
// commits before the new epoch exists), at most one step behind what the
// old owner did: the starts it makes again carry the same workflow ids
// and request ids, so the engine answers them with the runs already
// started and no nominal time fires twice — the guarantee a single node
// relies on across a crash.

// Cluster is what the scheduler needs of its cluster node (cluster.Node).
type Cluster interface {
	ID() string
	ShardOf(namespace, workflowID string) int
	Lease(shard int) (*store.Fence, time.Time, bool)
	// Owned returns the shards the node holds and their epochs.
	Owned() map[int]int64
	// OwnerAddr is the internal address of the shard's owner.
	OwnerAddr(shard int) string
}

// Forwarder calls a public RPC on another node (forward.Forwarder).
type Forwarder interface {
	Invoke(ctx context.Context, addr, method string, req any) (any, error)
}

// NewOnCluster is New for a node of a cluster: it loads the schedules of
// the shards the node holds and follows the node's shards from then on
// (call ShardsChanged from the node's watch).
func NewOnCluster(eng *engine.Engine, st store.Store, log *slog.Logger, cl Cluster, fwd Forwarder) (*Scheduler, error) {
	s := newScheduler(eng, st, log)
	s.cl, s.fwd, s.loaded, s.recon = cl, fwd, map[int]int64{}, cluster.NewReconciler()
	if err := s.reconcile(); err != nil {
		s.cancel()
		return nil, fmt.Errorf("loading schedules: %w", err)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.recon.Run(s.ctx, s.log, "schedules", s.reconcile)
	}()
	return s, nil
}

// shardOf is the shard of a schedule.
func (s *Scheduler) shardOf(ns, id string) int { return s.cl.ShardOf(ns, forward.ScheduleKey(id)) }

// ShardsChanged is told by the cluster node about shards taken and lost;
// the scheduler reconciles what it holds in the background (never on the
// node's heartbeat goroutine). Safe on a single node (no-op).
func (s *Scheduler) ShardsChanged(taken, lost []int) {
	if s.cl == nil {
		return
	}
	s.reconcileSoon()
}

// reconcileSoon asks for a reconcile pass (a no-op on a single node).
func (s *Scheduler) reconcileSoon() { s.recon.Soon() }

// reconcile drops the schedules of shards no longer held at the epoch
// they were loaded under, and loads those of shards held but not loaded.
func (s *Scheduler) reconcile() error {
	owned := s.cl.Owned()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	lost := map[int]bool{}
	for shard, epoch := range s.loaded {
		if e, ok := owned[shard]; !ok || e != epoch {
			lost[shard] = true
			delete(s.loaded, shard)
		}
	}
	var drop []*sched
	if len(lost) > 0 {
		for k, sc := range s.all {
			if lost[s.shardOf(k.ns, k.id)] {
				drop = append(drop, sc)
				delete(s.all, k)
			}
		}
	}
	take := map[int]int64{}
	for shard, epoch := range owned {
		if _, ok := s.loaded[shard]; !ok {
			take[shard] = epoch
		}
	}
	s.mu.Unlock()
	for _, sc := range drop {
		sc.drop()
	}
	if len(drop) > 0 {
		s.log.Info("dropped the schedules of lost shards", "count", len(drop))
	}
	if len(take) == 0 {
		return nil
	}
	if err := s.load(take); err != nil {
		return err
	}
	s.mu.Lock()
	for shard, epoch := range take {
		s.loaded[shard] = epoch
	}
	s.mu.Unlock()
	return nil
}

// drop stops a schedule this node no longer holds: its timer, its
// watchers, any step waiting for its lock.
func (sc *sched) drop() {
	sc.cancel()
	sc.mu.Lock()
	sc.deleted = true
	if sc.timer != nil {
		sc.timer.Stop()
	}
	sc.mu.Unlock()
}

// held reports whether the node still holds the schedule's shard at the
// epoch the schedule was loaded under (always on a single node). A step
// of a schedule whose shard moved makes no start: its new owner fires it
// from the stored record. This local check only narrows the moment a
// node that was paused could start a workflow from a stale state (such
// a start is one the record allowed, with the ids the new owner would
// use, so it never doubles a nominal time); the fence keeps its writes
// out of the store.
func (sc *sched) held() bool {
	if sc.fence == nil {
		return true
	}
	f, _, ok := sc.s.cl.Lease(sc.fence.Shard)
	if !ok || f.Epoch != sc.fence.Epoch {
		sc.s.reconcileSoon()
		return false
	}
	return true
}

// served checks, on a cluster, that this node serves schedule (ns, id):
// it holds the shard and has loaded its schedules at the current epoch.
// Requests reach a node that does not only when the shard moved after
// forwarding: Unavailable, and the client retries.
func (s *Scheduler) served(ns, id string) error {
	if s.cl == nil {
		return nil
	}
	_, err := s.fenceFor(ns, id)
	return err
}

// fenceFor returns the fence a new schedule of (ns, id) is written under.
func (s *Scheduler) fenceFor(ns, id string) (*store.Fence, error) {
	if s.cl == nil {
		return nil, nil
	}
	shard := s.shardOf(ns, id)
	f, _, ok := s.cl.Lease(shard)
	s.mu.Lock()
	epoch, loaded := s.loaded[shard]
	s.mu.Unlock()
	if !ok || !loaded || epoch != f.Epoch {
		if ok {
			s.reconcileSoon()
		}
		return nil, serviceerror.NewUnavailablef("sundial: shard %d of schedule %q is moving between nodes; retry", shard, id)
	}
	return f, nil
}

// checkFenced makes the scheduler drop the schedules of a shard whose
// write the store refused for a lost lease.
func (s *Scheduler) checkFenced(err error) {
	if s.cl != nil && errors.Is(err, store.ErrFenced) {
		s.reconcileSoon()
	}
}

// Method names of the public RPCs the scheduler calls on the owners of
// the workflows it started.
const (
	methodHistory   = "/temporal.api.workflowservice.v1.WorkflowService/GetWorkflowExecutionHistory"
	methodTerminate = "/temporal.api.workflowservice.v1.WorkflowService/TerminateWorkflowExecution"
	methodCancel    = "/temporal.api.workflowservice.v1.WorkflowService/RequestCancelWorkflowExecution"
)

// remoteOwner returns the address of the node serving workflow (ns, id)
// when it is not this one ("" when this node serves it, or outside a
// cluster).
func (s *Scheduler) remoteOwner(ns, id string) (string, error) {
	if s.cl == nil || s.eng.OwnsWorkflow(ns, id) {
		return "", nil
	}
	addr := s.cl.OwnerAddr(s.cl.ShardOf(ns, id))
	if addr == "" {
		return "", serviceerror.NewUnavailable("sundial: the workflow's shard has no live owner right now; retry")
	}
	return addr, nil
}

// history reads a workflow's history here or on its owner.
func (s *Scheduler) history(ctx context.Context, r *workflowservice.GetWorkflowExecutionHistoryRequest) (*workflowservice.GetWorkflowExecutionHistoryResponse, error) {
	addr, err := s.remoteOwner(r.Namespace, r.Execution.GetWorkflowId())
	if err != nil || addr == "" {
		if err != nil {
			return nil, err
		}
		return s.eng.History(ctx, r)
	}
	resp, err := s.fwd.Invoke(ctx, addr, methodHistory, r)
	if err != nil {
		return nil, serviceerror.FromStatus(status.Convert(err))
	}
	return resp.(*workflowservice.GetWorkflowExecutionHistoryResponse), nil
}

// terminate terminates a workflow here or on its owner.
func (s *Scheduler) terminate(ctx context.Context, r *workflowservice.TerminateWorkflowExecutionRequest) error {
	addr, err := s.remoteOwner(r.Namespace, r.WorkflowExecution.GetWorkflowId())
	if err != nil {
		return err
	}
	if addr == "" {
		return s.eng.Terminate(ctx, r)
	}
	_, err = s.fwd.Invoke(ctx, addr, methodTerminate, r)
	return err
}

// requestCancel requests cancellation of a workflow here or on its owner.
func (s *Scheduler) requestCancel(ctx context.Context, r *workflowservice.RequestCancelWorkflowExecutionRequest) error {
	addr, err := s.remoteOwner(r.Namespace, r.WorkflowExecution.GetWorkflowId())
	if err != nil {
		return err
	}
	if addr == "" {
		return s.eng.RequestCancel(ctx, r)
	}
	_, err = s.fwd.Invoke(ctx, addr, methodCancel, r)
	return err
}

// stored returns the schedules of a namespace as the store holds them
// (ordered by id): List and Count on a cluster, where this node's memory
// holds only its own shards' schedules. They are detached from the
// scheduler (no timer, never written).
func (s *Scheduler) stored(ctx context.Context, ns string) ([]*sched, error) {
	var out []*sched
	err := s.st.Schedules(ctx, ns, func(r *store.ScheduleRecord) error {
		state, err := unmarshalState(r.State)
		if err != nil {
			return nil // not listable; its owner logs it
		}
		sc := &sched{s: s, key: key{r.Namespace, r.ScheduleID}, st: state}
		sc.spec, _ = spec.Compile(state.Schedule.GetSpec())
		out = append(out, sc)
		return nil
	})
	if err != nil {
		return nil, serviceerror.NewUnavailable("reading schedules: " + err.Error())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key.id < out[j].key.id })
	return out, nil
}
