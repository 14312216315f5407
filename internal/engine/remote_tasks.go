package engine

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sundial-io/sundial/internal/activityexec"
	"github.com/sundial-io/sundial/internal/execution"
	"github.com/sundial-io/sundial/internal/matching"
	"github.com/sundial-io/sundial/internal/nexusexec"
)

// Task queues across nodes (docs/CLUSTER.md), as Temporal splits history
// and matching. Each task queue (namespace, kind, name) hashes to a shard
// (matching.ShardKey); the node holding that shard is the queue's owner:
// polls are forwarded to it (forward.QueueRouteOf) and its matcher holds
// the queue's tasks. A workflow's owner sends each task it dispatches to
// the queue's owner (opAddTask), which queues the descriptor. When a poll
// takes a task of a workflow held elsewhere, the queue's owner asks the
// workflow's owner to start it (opStartTask), which answers with the poll
// response (history and all). A duplicate task is harmless: starting a
// task already started, or no longer current, is refused as stale and the
// descriptor dropped.
//
// Tasks a queue's owner held are lost with it (a crash, or its shard
// moving away). The workflow's owner keeps every task it offered until
// the task is started or found stale (offers), and offers it again to
// the queue's new owner when the queue's owner changes.

// Peers' additional needs of task queues.
type queuePeers interface {
	// Owner names the owner of the shard of (namespace, key) at its
	// current lease, as last seen ("" when unknown); the name changes
	// with every change of hands (a restarted node at the same address
	// included).
	Owner(namespace, key string) string
}

const (
	opAddTask        = "addTask"
	opStartTask      = "startTask"
	opShutdownWorker = "shutdownWorker"
)

// broadcaster runs an operation on every other node.
type broadcaster interface {
	Broadcast(ctx context.Context, op string, args any) error
}

type shutdownArgs struct{ Namespace, StickyQueue string }

// shutdownWorkerElsewhere tells the other nodes that a worker stopped:
// its sticky queue's owner drains the queue, and each node moves the
// runs it holds off that sticky queue.
func (e *Engine) shutdownWorkerElsewhere(ctx context.Context, ns, sticky string) {
	b, ok := e.peers.(broadcaster)
	if !e.clustered() || !ok || ctx.Value(remoteStartKey{}) != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := b.Broadcast(ctx, opShutdownWorker, shutdownArgs{ns, sticky}); err != nil {
		e.log.Debug("telling other nodes a worker shut down failed", "err", err)
	}
}

func (e *Engine) handleShutdownWorker(ctx context.Context, args []byte) (any, error) {
	var a shutdownArgs
	if err := json.Unmarshal(args, &a); err != nil {
		return nil, err
	}
	e.ShutdownWorker(context.WithValue(ctx, remoteStartKey{}, true), a.Namespace, a.StickyQueue)
	return nil, nil
}

// offerKey names a task offered to a queue.
type offerKey struct {
	ns, wf, run string
	sched       int64
	attempt     int32
	kind        matching.Kind
	nexusCancel bool
	queryID     string
}

type offer struct {
	key  matching.Key
	task matching.Task
	addr string // the queue owner (queuePeers.Owner) it was last sent to ("" when the send failed)
}

// offers are the tasks this node's workflows offered and that were not
// started yet (cluster mode only).
type offers struct {
	mu sync.Mutex
	m  map[offerKey]*offer

	batches offerBatches // offers on their way to other nodes (offer_batch.go)
}

func offerKeyOf(k matching.Key, t matching.Task) offerKey {
	return offerKey{t.Namespace, t.WorkflowID, t.RunID, t.ScheduledEventID, t.Attempt, k.Kind, t.NexusCancel, t.QueryID}
}

// clustered reports whether task queues span nodes.
func (e *Engine) clustered() bool {
	if e.own == nil || e.peers == nil {
		return false
	}
	_, ok := e.peers.(queuePeers)
	return ok
}

// queueKey is the shard key of a task queue.
func queueKey(k matching.Key) string { return matching.ShardKey(k.Kind, k.Name) }

// addTask hands a task to its queue: to matching here, or in a cluster to
// the queue's owner, remembering the offer until the task starts (a
// query's until a worker takes it or its caller stops waiting).
func (e *Engine) addTask(key matching.Key, t matching.Task) {
	if !e.clustered() {
		e.match.Add(key, t)
		return
	}
	e.initOffers()
	e.offers.mu.Lock()
	e.offers.m[offerKeyOf(key, t)] = &offer{key: key, task: t, addr: "?"}
	e.offers.mu.Unlock()
	e.sendTask(key, t)
}

func (e *Engine) initOffers() {
	e.offersOnce.Do(func() {
		e.offers.m = map[offerKey]*offer{}
		e.taskOps = map[string]func(context.Context, []byte) (any, error){
			opAddTask:        e.handleAddTask,
			opAddTasks:       e.handleAddTasks,
			opStartTask:      e.handleStartTask,
			opShutdownWorker: e.handleShutdownWorker,
			// cluster-wide records (cluster_registries.go)
			opRegistriesChanged: e.handleRegistriesChanged,
			opStartPurge:        e.handleStartPurge, // namespace_purge_cluster.go
			opDeleteRun:         e.handleDeleteRun,
			opRegisterVersion:   e.handleRegisterVersion, // deployments_cluster.go
			opVersionPolled:     e.handleVersionPolled,
		}
		e.wg.Add(2)
		go func() { defer e.wg.Done(); e.reofferLoop() }()
		go func() { defer e.wg.Done(); e.registrySyncLoop() }()
	})
}

// sendTask queues t on the queue's owner: here when this node holds the
// queue's shard, else over the internal port (in the background, batched
// with other offers to that node: offer_batch.go).
func (e *Engine) sendTask(key matching.Key, t matching.Task) {
	addr := e.peers.(queuePeers).Owner(key.Namespace, queueKey(key))
	e.setOfferAddr(key, t, addr)
	if e.owns(key.Namespace, queueKey(key)) {
		e.match.Add(key, t)
		return
	}
	if !e.sendTaskBatched(key, t) {
		e.sendTaskAlone(key, t)
	}
}

// sendTaskAlone sends one offer to its queue's owner in its own call, in
// the background, with retries while the queue's shard moves.
func (e *Engine) sendTaskAlone(key matching.Key, t matching.Task) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		// A few tries while the queue's shard moves; then reofferLoop.
		for attempt := 0; ; attempt++ {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := e.peers.Call(ctx, key.Namespace, queueKey(key), opAddTask, addTaskArgs{key, t}, nil)
			cancel()
			if err == nil {
				return
			}
			if attempt == 4 || !retryable(err) {
				e.setOfferAddr(key, t, "") // reofferLoop sends it again
				e.log.Debug("sending a task to its queue's owner failed", "queue", key.Name, "workflow", t.WorkflowID, "err", err)
				return
			}
			select {
			case <-e.stop:
				return
			case <-time.After(backoff(attempt)):
			}
			if e.owns(key.Namespace, queueKey(key)) {
				e.setOfferAddr(key, t, e.peers.(queuePeers).Owner(key.Namespace, queueKey(key)))
				e.match.Add(key, t)
				return
			}
		}
	}()
}

func (e *Engine) setOfferAddr(key matching.Key, t matching.Task, addr string) {
	e.offers.mu.Lock()
	if o := e.offers.m[offerKeyOf(key, t)]; o != nil {
		o.addr = addr
	}
	e.offers.mu.Unlock()
}

// taskDone forgets an offer: the task started, or is stale.
func (e *Engine) taskDone(key matching.Key, t matching.Task) {
	if !e.clustered() {
		return
	}
	e.offers.mu.Lock()
	delete(e.offers.m, offerKeyOf(key, t))
	e.offers.mu.Unlock()
}

// forgetOffers drops the offers of workflows of lost shards: their new
// owner recovers and offers their tasks.
func (e *Engine) forgetOffers(lost map[int]bool) {
	if !e.clustered() {
		return
	}
	e.offers.mu.Lock()
	for k := range e.offers.m {
		if lost[e.own.ShardOf(k.ns, k.wf)] {
			delete(e.offers.m, k)
		}
	}
	e.offers.mu.Unlock()
}

// reofferLoop offers a task again when its queue's owner changed since
// it was sent (the owner crashed or the queue's shard moved), or when
// sending it failed.
func (e *Engine) reofferLoop() {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
		}
		qp := e.peers.(queuePeers)
		var again []*offer
		e.offers.mu.Lock()
		for _, o := range e.offers.m {
			if cur := qp.Owner(o.key.Namespace, queueKey(o.key)); cur != "" && cur != o.addr {
				again = append(again, o)
			}
		}
		e.offers.mu.Unlock()
		for _, o := range again {
			e.sendTask(o.key, o.task)
		}
	}
}

type addTaskArgs struct {
	Key  matching.Key
	Task matching.Task
}

// handleAddTask queues a task another node's workflow offered, if this
// node holds the queue.
func (e *Engine) handleAddTask(_ context.Context, args []byte) (any, error) {
	var a addTaskArgs
	if err := json.Unmarshal(args, &a); err != nil {
		return nil, err
	}
	if !e.owns(a.Key.Namespace, queueKey(a.Key)) {
		return nil, &NotOwnerError{e.own.ShardOf(a.Key.Namespace, queueKey(a.Key))}
	}
	e.match.Add(a.Key, a.Task)
	return nil, nil
}

type startTaskArgs struct {
	Key      matching.Key
	Task     matching.Task
	Identity string
	Sticky   bool
}

type startTaskResult struct {
	Stale bool   `json:",omitempty"`
	Resp  []byte `json:",omitempty"` // the poll response
}

// remoteStartKey marks the context of a task start asked by the queue's
// owner: a start that could not reach its run leaves the task to the
// caller instead of queuing it here.
type remoteStartKey struct{}

// handleStartTask starts a task for a poller of another node (the
// queue's owner) and returns the poll response.
func (e *Engine) handleStartTask(ctx context.Context, args []byte) (any, error) {
	var a startTaskArgs
	if err := json.Unmarshal(args, &a); err != nil {
		return nil, err
	}
	if e.movedOff(a.Key, a.Task) { // deployments_cluster.go
		return startTaskResult{Stale: true}, nil
	}
	ctx = context.WithValue(ctx, remoteStartKey{}, true)
	var resp proto.Message
	var err error
	switch {
	case a.Task.QueryID != "":
		resp, err = e.queryTask(ctx, a.Task, a.Sticky)
	case a.Key.Kind == matching.Workflow:
		resp, err = e.startWorkflowTask(ctx, a.Key, a.Task, a.Identity, a.Sticky)
	case a.Key.Kind == matching.Activity && a.Task.Standalone:
		resp, err = e.startStandaloneTask(a.Task, a.Identity)
		if errors.Is(err, activityexec.ErrStale) {
			err = execution.ErrStaleTask
		}
	case a.Key.Kind == matching.Activity:
		resp, err = e.startActivity(ctx, a.Key, a.Task, a.Identity)
	case a.Key.Kind == matching.Nexus && a.Task.Standalone:
		resp, err = e.startStandaloneNexusTask(a.Task)
		if errors.Is(err, nexusexec.ErrStale) {
			err = execution.ErrStaleTask
		}
	case a.Key.Kind == matching.Nexus:
		resp, err = e.startNexus(ctx, a.Key, a.Task)
	default:
		return nil, serviceerror.NewInvalidArgument("sundial: no remote start for this task kind")
	}
	if errors.Is(err, execution.ErrStaleTask) {
		return startTaskResult{Stale: true}, nil
	}
	if err != nil {
		return nil, err
	}
	b, err := proto.Marshal(resp)
	if err != nil {
		return nil, err
	}
	return startTaskResult{Resp: b}, nil
}

// startRemote asks a task's workflow owner to start it for this node's
// poller. A task found stale returns execution.ErrStaleTask; one not
// started for another reason goes back to the queue and the error to the
// poller (it polls again).
func (e *Engine) startRemote(ctx context.Context, key matching.Key, t matching.Task, identity string, sticky bool, resp proto.Message) error {
	var res startTaskResult
	err := e.peers.Call(ctx, t.Namespace, t.WorkflowID, opStartTask, startTaskArgs{key, t, identity, sticky}, &res)
	if err != nil {
		e.match.Requeue(key, t)
		return err
	}
	if res.Stale {
		return execution.ErrStaleTask
	}
	return proto.Unmarshal(res.Resp, resp)
}

// remoteTask reports whether a task taken from this node's matcher
// belongs to a workflow (or standalone activity or Nexus operation) held
// by another node.
func (e *Engine) remoteTask(t matching.Task) bool {
	return e.clustered() && !e.owns(t.Namespace, t.WorkflowID)
}

// startRemoteWorkflowTask, startRemoteNexus and startRemoteActivity ask
// the owner of a polled task's workflow to start it (startRemote) and
// decode the poll response.
func (e *Engine) startRemoteWorkflowTask(ctx context.Context, key matching.Key, t matching.Task, identity string, sticky bool) (*workflowservice.PollWorkflowTaskQueueResponse, error) {
	resp := &workflowservice.PollWorkflowTaskQueueResponse{}
	if err := e.startRemote(ctx, key, t, identity, sticky, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

func (e *Engine) startRemoteNexus(ctx context.Context, key matching.Key, t matching.Task, identity string) (*workflowservice.PollNexusTaskQueueResponse, error) {
	resp := &workflowservice.PollNexusTaskQueueResponse{}
	if err := e.startRemote(ctx, key, t, identity, false, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

func (e *Engine) startRemoteActivity(ctx context.Context, key matching.Key, t matching.Task, identity string) (*workflowservice.PollActivityTaskQueueResponse, error) {
	resp := &workflowservice.PollActivityTaskQueueResponse{}
	if err := e.startRemote(ctx, key, t, identity, false, resp); err != nil {
		return nil, err
	}
	return resp, nil
}
