package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sundial-io/sundial/internal/matching"
	"github.com/sundial-io/sundial/internal/store"
)

// Cluster mode (docs/CLUSTER.md). When Options.Ownership is set the engine
// serves only the workflows of the shards its node holds:
//
//   - acquire refuses a workflow of another shard (NotOwnerError), and a
//     workflow cached under an older epoch of its shard is dropped and
//     loaded again;
//   - every run write carries the fence of the epoch the workflow was
//     loaded under, so a node that lost the shard can never write it;
//     a fenced write drops the shard's cached workflows (the node lost it);
//   - a shard the node loses has its workflows dropped from memory; a
//     shard it takes has its runs that needed attention before it was
//     taken recovered (their tasks re-offered, effects re-driven), as a
//     restart recovers everything, and its timers of the next minute
//     armed.
//
// Without Ownership none of this costs more than a nil check.

// Ownership is what the engine needs of its cluster node (cluster.Node).
type Ownership interface {
	// ShardOf returns the shard of a workflow.
	ShardOf(namespace, workflowID string) int
	// Lease returns the node's fence for writing shard and when (local
	// clock) it took the shard at that epoch; ok is false when the node
	// does not hold it.
	Lease(shard int) (fence *store.Fence, since time.Time, ok bool)
	// Owned returns the shards the node holds and their epochs.
	Owned() map[int]int64
}

// NotOwnerError is returned for a workflow whose shard this node does not
// hold (or no longer holds). It is Unavailable to clients, which retry;
// the frontend forwards such requests to the owner before they get here.
type NotOwnerError struct{ Shard int }

func (e *NotOwnerError) Error() string {
	return fmt.Sprintf("sundial: this node does not hold shard %d of the workflow (the shard is moving between nodes); retry", e.Shard)
}

// GRPCStatus makes the error Unavailable on the wire.
func (e *NotOwnerError) GRPCStatus() *status.Status {
	return status.New(codes.Unavailable, e.Error())
}

// IsNotOwner reports whether err says the workflow's shard is not held here.
func IsNotOwner(err error) bool {
	var n *NotOwnerError
	return errors.As(err, &n)
}

// leaseOf returns the node's current fence for a workflow's shard.
func (e *Engine) leaseOf(k wfKey) (*store.Fence, time.Time, error) {
	shard := e.own.ShardOf(k.ns, k.id)
	f, since, ok := e.own.Lease(shard)
	if !ok {
		return nil, time.Time{}, &NotOwnerError{shard}
	}
	return f, since, nil
}

// fenceOf returns the fence a write of w must carry: the epoch w was
// loaded under, if the node still holds the shard at it (nil outside
// cluster mode). Called with w.mu held.
func (e *Engine) fenceOf(w *workflow) (*store.Fence, error) {
	if e.own == nil {
		return nil, nil
	}
	f, _, err := e.leaseOf(w.key)
	if err != nil {
		return nil, err
	}
	if f.Epoch != w.epoch {
		return nil, &NotOwnerError{f.Shard}
	}
	return f, nil
}

// recoverBefore is the time before which a run's stored Due means "an
// earlier owner left it needing attention": the boot time, or in cluster
// mode the later of it and when the node took the run's shard.
func (e *Engine) recoverBefore(ns, id string) time.Time {
	if e.own == nil {
		return e.bootTime
	}
	_, since, err := e.leaseOf(wfKey{ns, id})
	if err != nil || since.Before(e.bootTime) {
		return e.bootTime
	}
	return since
}

// owns reports whether this node serves the workflow (always, outside
// cluster mode).
func (e *Engine) owns(ns, id string) bool {
	if e.own == nil {
		return true
	}
	_, _, err := e.leaseOf(wfKey{ns, id})
	return err == nil
}

// fenced handles a write the store refused with store.ErrFenced (or one
// not even offered, for want of a lease): the node lost the shard, so its
// cached workflows are dropped; the caller answers Unavailable.
func (e *Engine) fenced(shard int, err error) error {
	e.log.Warn("write fenced: shard lost", "shard", shard, "err", err)
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.dropShards([]int{shard})
	}()
	return &NotOwnerError{shard}
}

// ShardsChanged is the cluster node's watch (cluster.Node.Watch): lost
// shards have their workflows dropped at once; taken shards are recovered
// in the background.
func (e *Engine) ShardsChanged(taken, lost []int) {
	e.acts.reconcileSoon() // standalone executions (standalone_cluster.go)
	e.nexusOps.reconcileSoon()
	if len(lost) > 0 {
		e.dropShards(lost)
	}
	if len(taken) > 0 {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			// The taken queues' configurations, in case a change was missed
			// (taskqueue_config_cluster.go).
			if err := e.refreshTaskQueueConfigs(context.Background()); err != nil {
				e.log.Warn("re-reading task queue configurations for taken shards; retried at the next refresh", "err", err)
			}
			e.recoverShards(taken)
		}()
	}
}

// dropShards drops the cached workflows of shards from memory; waiters
// on them wake and find the workflow gone (and answer Unavailable).
func (e *Engine) dropShards(shards []int) {
	set := make(map[int]bool, len(shards))
	for _, s := range shards {
		set[s] = true
	}
	e.mu.Lock()
	var list []*workflow
	for k, w := range e.workflows {
		if set[e.own.ShardOf(k.ns, k.id)] {
			list = append(list, w)
		}
	}
	e.mu.Unlock()
	e.forgetOffers(set)
	if e.clustered() {
		// Queues of lost shards: their pollers return empty and poll the
		// new owner; their tasks are offered there by their workflows'
		// owners (remote_tasks.go).
		e.match.Evict(func(k matching.Key) bool { return set[e.own.ShardOf(k.Namespace, queueKey(k))] })
	}
	for _, w := range list {
		w.mu.Lock()
		if !w.evicted {
			if w.cur != nil {
				e.timers.set(runRef{w.key, w.cur.RunID}, time.Time{})
			}
			e.mu.Lock()
			e.dropLocked(w)
			e.mu.Unlock()
		}
		w.mu.Unlock()
	}
	if len(list) > 0 {
		e.log.Info("dropped the workflows of lost shards", "shards", shards, "workflows", len(list))
	}
}

// recoverShards reads the due index for the runs of newly taken shards:
// those due before the node took their shard are recovered (an earlier
// owner may have held their tasks or effects in memory), those due within
// the timer horizon get a timer.
func (e *Engine) recoverShards(shards []int) {
	ctx, cancel := e.untilStop()
	defer cancel()
	set := make(map[int]bool, len(shards))
	for _, s := range shards {
		set[s] = true
	}
	var recover []store.DueEntry
	err := e.store.Due(ctx, time.Time{}, time.Now().Add(timerHorizon), func(d store.DueEntry) error {
		shard := e.own.ShardOf(d.Namespace, d.WorkflowID)
		if !set[shard] {
			return nil
		}
		_, since, ok := e.own.Lease(shard)
		switch {
		case !ok:
		case d.Time.Before(since):
			recover = append(recover, d)
		default:
			e.timers.addEarlier(runRef{wfKey{d.Namespace, d.WorkflowID}, d.RunID}, d.Time)
		}
		return nil
	})
	if err != nil {
		if ctx.Err() == nil {
			e.log.Warn("reading the due index for taken shards failed; their runs are recovered when used", "shards", shards, "err", err)
		}
		return
	}
	for _, d := range recover {
		if ctx.Err() != nil {
			return
		}
		e.recoverEntry(ctx, d)
	}
	if len(recover) > 0 {
		e.log.Info("recovered the runs of taken shards", "shards", shards, "runs", len(recover))
	}
}

// untilStop returns a context canceled when the engine stops (or when
// cancel is called).
func (e *Engine) untilStop() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-e.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// reloadNamespace looks for a namespace this node does not know in the
// store: another node of the cluster may have registered it. Namespaces
// known here are not re-read (a change made through another node shows
// here after a restart).
func (e *Engine) reloadNamespace(name string) (*store.Namespace, bool) {
	list, err := e.store.Namespaces(context.Background())
	if err != nil {
		return nil, false
	}
	e.nsMu.Lock()
	defer e.nsMu.Unlock()
	for _, n := range list {
		nm := n.NamespaceInfo.GetName()
		if _, known := e.namespaces[nm]; !known && e.purging[nm] == nil {
			e.namespaces[nm] = n
		}
	}
	n, ok := e.namespaces[name]
	return n, ok
}
