package batch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/sundial-io/sundial/internal/cluster"
	"github.com/sundial-io/sundial/internal/engine"
	"github.com/sundial-io/sundial/internal/forward"
	"github.com/sundial-io/sundial/internal/store"
)

// Batch jobs on a cluster (docs/CLUSTER.md, "Batch operations"). A job
// belongs to the shard of (namespace, forward.BatchJobKey(job id)); only the node
// holding that shard keeps the job in memory and runs it, and every write
// of the job carries the fence of the lease it was loaded under, so a node
// that lost the shard can never record progress again. The forwarder
// sends Start, Stop and Describe to the owner; List (and the per-namespace
// limit of running jobs) read the store.
//
// When the node takes a shard it loads that shard's jobs and resumes the
// running ones from their last recorded progress; when it loses one it
// stops them where they are. The one execution the old owner may have
// acted on without recording it is acted on again by the new owner,
// which each action tolerates (see act), exactly as after a restart.
//
// The actions themselves change workflows whose shards other nodes may
// hold: each is made here when this node serves the workflow, and
// otherwise sent to the workflow's owner as the public RPC it stands for
// (onOwner), as a client's request would be forwarded.

// Cluster is what the batcher needs of its cluster node (cluster.Node).
type Cluster interface {
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

// NewOnCluster is New for a node of a cluster: it loads the jobs of the
// shards the node holds, resumes the running ones, and follows the node's
// shards from then on (call ShardsChanged from the node's watch).
func NewOnCluster(eng *engine.Engine, st store.Store, log *slog.Logger, opts Options, cl Cluster, fwd Forwarder) (*Batcher, error) {
	b := newBatcher(eng, st, log, opts)
	b.cl, b.fwd, b.loaded, b.recon = cl, fwd, map[int]int64{}, cluster.NewReconciler()
	if err := b.reconcile(); err != nil {
		b.cancel()
		return nil, fmt.Errorf("loading batch jobs: %w", err)
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		b.recon.Run(b.ctx, b.log, "batch jobs", b.reconcile)
	}()
	b.startRetention()
	return b, nil
}

// shardOf is the shard of a job.
func (b *Batcher) shardOf(ns, id string) int { return b.cl.ShardOf(ns, forward.BatchJobKey(id)) }

// ShardsChanged is told by the cluster node about shards taken and lost;
// the batcher reconciles what it runs in the background (never on the
// node's heartbeat goroutine). A no-op on a single node.
func (b *Batcher) ShardsChanged(taken, lost []int) {
	if b.cl == nil {
		return
	}
	b.reconcileSoon()
}

// reconcileSoon asks for a reconcile pass (a no-op on a single node).
func (b *Batcher) reconcileSoon() { b.recon.Soon() }

// reconcile stops the jobs of shards no longer held at the epoch they
// were loaded under, and loads (and resumes) those of shards held but not
// loaded.
func (b *Batcher) reconcile() error {
	owned := b.cl.Owned()
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	lost := map[int]bool{}
	for shard, epoch := range b.loaded {
		if e, ok := owned[shard]; !ok || e != epoch {
			lost[shard] = true
			delete(b.loaded, shard)
		}
	}
	var drop []*job
	if len(lost) > 0 {
		for k, j := range b.jobs {
			if lost[b.shardOf(k.ns, k.id)] {
				drop = append(drop, j)
				delete(b.jobs, k)
			}
		}
	}
	take := map[int]*store.Fence{}
	for shard, epoch := range owned {
		if _, ok := b.loaded[shard]; !ok {
			if f, _, ok := b.cl.Lease(shard); ok && f.Epoch == epoch {
				take[shard] = f
			}
		}
	}
	b.mu.Unlock()
	for _, j := range drop {
		j.drop()
	}
	if len(drop) > 0 {
		b.log.Info("stopped the batch jobs of lost shards", "count", len(drop))
	}
	if len(take) == 0 {
		return nil
	}
	var found []*job
	err := b.st.BatchJobs(b.ctx, "", func(r *store.BatchJobRecord) error {
		shard := b.shardOf(r.Namespace, r.JobID)
		f, ok := take[shard]
		if !ok {
			return nil
		}
		state, req, err := unmarshalState(r.State)
		if err != nil {
			b.log.Error("batch job not loadable; skipped", "namespace", r.Namespace, "job", r.JobID, "err", err)
			return nil
		}
		j := newJob(key{r.Namespace, r.JobID}, req, state)
		j.fence = f
		found = append(found, j)
		return nil
	})
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	owned = b.cl.Owned()
	resumed := 0
	for _, j := range found {
		if owned[j.fence.Shard] != j.fence.Epoch {
			continue // lost again meanwhile; the next pass sees it
		}
		b.jobs[j.key] = j
		if j.running() {
			b.launch(j)
			resumed++
		} else {
			close(j.done)
		}
	}
	for shard, f := range take {
		if owned[shard] == f.Epoch {
			b.loaded[shard] = f.Epoch
		}
	}
	if resumed > 0 {
		b.log.Info("resumed the batch jobs of taken shards", "count", resumed)
	}
	return nil
}

// drop stops a job this node no longer holds, where it is: nothing is
// recorded (the new owner resumes it from the store).
func (j *job) drop() {
	j.mu.Lock()
	cancel := j.cancel
	j.mu.Unlock()
	if cancel != nil {
		cancel()
		<-j.done
	}
}

// held reports whether the node still holds the job's shard at the epoch
// the job was loaded under (always on a single node). A job whose shard
// moved acts no more: its new owner resumes it. This local check narrows
// the moment a node that was paused could act from a stale state (such an
// action is one the new owner may repeat, which each action tolerates);
// the fence keeps its writes out of the store.
func (b *Batcher) held(j *job) bool {
	if j.fence == nil || b.cl == nil {
		return true
	}
	f, _, ok := b.cl.Lease(j.fence.Shard)
	if !ok || f.Epoch != j.fence.Epoch {
		b.reconcileSoon()
		return false
	}
	return true
}

// fenceFor returns, on a cluster, the fence a new job of (ns, id) is
// written under, or Unavailable when this node does not serve its shard
// at the current epoch (the shard moved after forwarding: the client
// retries). Nil on a single node.
func (b *Batcher) fenceFor(ns, id string) (*store.Fence, error) {
	if b.cl == nil {
		return nil, nil
	}
	shard := b.shardOf(ns, id)
	f, _, ok := b.cl.Lease(shard)
	b.mu.Lock()
	epoch, loaded := b.loaded[shard]
	b.mu.Unlock()
	if !ok || !loaded || epoch != f.Epoch {
		if ok {
			b.reconcileSoon()
		}
		return nil, serviceerror.NewUnavailablef("sundial: shard %d of batch job %q is moving between nodes; retry", shard, id)
	}
	return f, nil
}

// lostShard reports a write refused for a lost lease: the job stops
// without recording anything, and the batcher drops the shard's jobs.
func (b *Batcher) lostShard(err error) bool {
	if b.cl != nil && errors.Is(err, store.ErrFenced) {
		b.log.Warn("batch job write fenced: shard lost", "err", err)
		b.reconcileSoon()
		return true
	}
	return false
}

// storedJobs reads the jobs of a namespace from the store: on a cluster
// this node's memory holds only its own shards' jobs.
func (b *Batcher) storedJobs(ctx context.Context, ns string) ([]*job, error) {
	var out []*job
	err := b.st.BatchJobs(ctx, ns, func(r *store.BatchJobRecord) error {
		state, req, err := unmarshalState(r.State)
		if err != nil {
			return nil // not listable; its owner logs it
		}
		out = append(out, newJob(key{r.Namespace, r.JobID}, req, state))
		return nil
	})
	if err != nil {
		return nil, serviceerror.NewUnavailable("reading batch jobs: " + err.Error())
	}
	return out, nil
}

// onOwner makes a job's action on workflow (ns, id): here (local) when
// this node serves the workflow or outside a cluster, otherwise as the
// public RPC method with req on the workflow's owner. The owner's answer
// comes back in resp (when not nil); errors come back as the service
// errors the owner returned.
func (b *Batcher) onOwner(ctx context.Context, ns, id, method string, req proto.Message, local func() error) (any, error) {
	if b.cl == nil || b.eng.OwnsWorkflow(ns, id) {
		return nil, local()
	}
	addr := b.cl.OwnerAddr(b.cl.ShardOf(ns, id))
	if addr == "" {
		return nil, serviceerror.NewUnavailable("sundial: the workflow's shard has no live owner right now; retry")
	}
	resp, err := b.fwd.Invoke(ctx, addr, method, req)
	if err != nil {
		return nil, serviceerror.FromStatus(status.Convert(err))
	}
	return resp, nil
}

// The public RPCs a job's actions stand for.
const (
	methodPrefix    = "/temporal.api.workflowservice.v1.WorkflowService/"
	methodTerminate = methodPrefix + "TerminateWorkflowExecution"
	methodCancel    = methodPrefix + "RequestCancelWorkflowExecution"
	methodSignal    = methodPrefix + "SignalWorkflowExecution"
	methodDelete    = methodPrefix + "DeleteWorkflowExecution"
	methodReset     = methodPrefix + "ResetWorkflowExecution"
	methodHistory   = methodPrefix + "GetWorkflowExecutionHistory"
	methodDescribe  = methodPrefix + "DescribeWorkflowExecution"
	methodOptions   = methodPrefix + "UpdateWorkflowExecutionOptions"
	methodUnpause   = methodPrefix + "UnpauseActivity"
	methodResetAct  = methodPrefix + "ResetActivity"
	methodActOpts   = methodPrefix + "UpdateActivityOptions"
)
