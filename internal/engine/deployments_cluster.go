package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	deploymentpb "go.temporal.io/api/deployment/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/sundial-io/sundial/internal/execution"
	"github.com/sundial-io/sundial/internal/matching"
	"github.com/sundial-io/sundial/internal/store"
)

// Worker deployments on a cluster (docs/CLUSTER.md, "Worker deployments
// across nodes").
//
//   - Each deployment has one writer: the node holding the shard of
//     (namespace, deploymentKey(name)). Every RPC that changes a
//     deployment, and its describes, are forwarded to it
//     (forward.DeploymentRouteOf); its writes carry that shard's fence, so
//     a node that lost the shard can never write the deployment again.
//   - A writer that took the shard at a new epoch re-reads the stored
//     deployments before its first change (another node may have written
//     them under the previous epoch); within one epoch it is the only
//     writer, so its memory is the truth.
//   - A versioned worker's first poll of a queue, on the queue owner's
//     node, registers its version and queue through the writer
//     (opRegisterVersion), which answers with the stored deployment.
//   - After every change the writer tells the other nodes
//     (announceChange, before the RPC answers), and every node re-reads
//     the deployments at each registry refresh (cluster_registries.go), so
//     every node keeps a read copy of all of them: tasks are routed to a
//     version's sub-queue by the workflow's owner when it offers them, and
//     queued tasks are routed again by the queue's owner when the copy's
//     routing changes. ListWorkerDeployments is answered from that copy.
//
// Not shared: which workers polled a version (v.pollers) is known only to
// the nodes their polls reached, the queues' owners; the writer judges
// "has pollers" (deleting a version, evicting one at the version limit)
// from the polls it saw itself.

// deploymentKey is the shard key of a deployment; it equals
// forward.DeploymentKey (TestDeploymentKeyMatchesForward).
func deploymentKey(name string) string { return "temporal-sys-worker-deployment:" + name }

// opRegisterVersion asks a deployment's writer to register a polled
// version and queue.
const opRegisterVersion = "registerDeploymentVersion"

type registerVersionArgs struct {
	Key            matching.Key
	DeploymentName string
	BuildID        string
}

// deploymentFence is the fence of a write of deployment (ns, name): nil
// outside cluster mode; NotOwnerError when this node is not its writer.
func (e *Engine) deploymentFence(ns, name string) (*store.Fence, error) {
	if e.own == nil {
		return nil, nil
	}
	shard := e.own.ShardOf(ns, deploymentKey(name))
	f, _, ok := e.own.Lease(shard)
	if !ok {
		return nil, &NotOwnerError{shard}
	}
	return f, nil
}

// deploymentWriter prepares this node to change deployment (ns, name):
// outside cluster mode nothing; on a cluster it checks that this node is
// the writer and, the first time at the shard's current epoch, re-reads
// the stored deployments. Called with no registry lock held.
func (e *Engine) deploymentWriter(ctx context.Context, ns, name string) error {
	f, err := e.deploymentFence(ns, name)
	if f == nil || err != nil {
		return err
	}
	e.deps.mu.Lock()
	synced := e.deps.synced[f.Shard] == f.Epoch
	e.deps.mu.Unlock()
	if synced {
		return nil
	}
	if err := e.refreshDeployments(ctx); err != nil {
		return serviceerror.NewUnavailablef("reading the stored worker deployments: %v", err)
	}
	e.deps.mu.Lock()
	if e.deps.synced == nil {
		e.deps.synced = map[int]int64{}
	}
	e.deps.synced[f.Shard] = f.Epoch
	e.deps.mu.Unlock()
	return nil
}

// registerElsewhere registers a polled version and queue through the
// deployment's writer, unless this node's copy has them already, and
// puts the writer's answer in the copy. Called with no lock held.
func (e *Engine) registerElsewhere(k matching.Key, opts *deploymentpb.WorkerDeploymentOptions) error {
	e.deps.mu.Lock()
	d := e.deps.ns(k.Namespace)[opts.DeploymentName]
	known := d != nil && d.Versions[opts.BuildId] != nil && d.Versions[opts.BuildId].hasQueue(k.Name, typeOfKind(k.Kind))
	e.deps.mu.Unlock()
	if known {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	k.Version = ""
	var stored json.RawMessage
	if err := e.peers.Call(ctx, k.Namespace, deploymentKey(opts.DeploymentName), opRegisterVersion,
		registerVersionArgs{k, opts.DeploymentName, opts.BuildId}, &stored); err != nil {
		return err
	}
	nd := &workerDeployment{}
	if err := json.Unmarshal(stored, nd); err != nil {
		return fmt.Errorf("decoding worker deployment %s/%s: %w", k.Namespace, opts.DeploymentName, err)
	}
	if nd.Versions == nil {
		nd.Versions = map[string]*deploymentVersion{}
	}
	e.deps.mu.Lock()
	defer e.deps.mu.Unlock()
	e.registryWrites.Add(1) // a refresh that read before the writer's write must not undo this (cluster_registries.go)
	if cur := e.deps.ns(k.Namespace)[nd.Name]; cur == nil || cur.Revision <= nd.Revision || !cur.CreateTime.Equal(nd.CreateTime) {
		e.putDeploymentLocked(k.Namespace, cur, nd)
	}
	if e.deps.owner[queueRef{k.Namespace, k.Name, k.Kind}] == "" {
		e.deps.setOwner(queueRef{k.Namespace, k.Name, k.Kind}, nd.Name)
	}
	return nil
}

// handleRegisterVersion registers a version and queue another node's
// poller polls, as this deployment's writer, and answers with the stored
// deployment.
func (e *Engine) handleRegisterVersion(ctx context.Context, args []byte) (any, error) {
	var a registerVersionArgs
	if err := json.Unmarshal(args, &a); err != nil {
		return nil, err
	}
	if err := e.deploymentWriter(ctx, a.Key.Namespace, a.DeploymentName); err != nil {
		return nil, err
	}
	opts := &deploymentpb.WorkerDeploymentOptions{DeploymentName: a.DeploymentName, BuildId: a.BuildID}
	e.deps.mu.Lock()
	before := e.deps.byNS[a.Key.Namespace][a.DeploymentName]
	_, err := e.registerLocked(a.Key, opts, e.now())
	d := e.deps.byNS[a.Key.Namespace][a.DeploymentName]
	var out []byte
	if err == nil {
		out, err = json.Marshal(d)
	}
	e.deps.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if d != before {
		e.announceChange(ctx)
	}
	return json.RawMessage(out), nil
}

// putDeploymentLocked replaces deployment cur (nil: none) of ns with nd
// in the copy, keeping the pollers seen here; the caller holds e.deps.mu.
func (e *Engine) putDeploymentLocked(ns string, cur, nd *workerDeployment) {
	if cur != nil {
		for id, v := range nd.Versions {
			if old := cur.Versions[id]; old != nil {
				v.pollers = old.pollers
			}
		}
	}
	e.deps.ns(ns)[nd.Name] = nd
	for _, v := range nd.Versions {
		for _, q := range v.TaskQueues {
			ref := queueRef{ns, q.Name, kindOfType(q.Type)}
			if _, ok := e.deps.owner[ref]; !ok {
				e.deps.setOwner(ref, nd.Name)
			}
		}
	}
	e.deps.dropOwners(ns, nd)
}

// readDeployments reads every stored deployment.
func (e *Engine) readDeployments(ctx context.Context) (map[string]map[string]*workerDeployment, error) {
	out := map[string]map[string]*workerDeployment{}
	err := e.store.WorkerDeployments(ctx, func(r *store.WorkerDeploymentRecord) error {
		d := &workerDeployment{}
		if err := json.Unmarshal(r.State, d); err != nil {
			return fmt.Errorf("decoding worker deployment %s/%s: %w", r.Namespace, r.Name, err)
		}
		if d.Versions == nil {
			d.Versions = map[string]*deploymentVersion{}
		}
		if out[r.Namespace] == nil {
			out[r.Namespace] = map[string]*workerDeployment{}
		}
		out[r.Namespace][r.Name] = d
		return nil
	})
	return out, err
}

// refreshDeployments replaces the copy with the stored deployments (on a
// cluster: announcements, the registry refresh, a writer's first change
// at an epoch) and routes the queued tasks of the deployments that
// changed again.
func (e *Engine) refreshDeployments(ctx context.Context) error {
	if e.own == nil {
		return nil
	}
	type changed struct {
		ns, name string
		gone     []matching.Key // sub-queues of versions that disappeared
	}
	var moved []changed
	e.deps.refreshMu.Lock()
	defer e.deps.refreshMu.Unlock()
	err := retryStale(func() error { // cluster_registries.go
		moved = nil
		gen := e.registryWrites.Load()
		stored, err := e.readDeployments(ctx)
		if err != nil {
			return err
		}
		e.deps.mu.Lock()
		defer e.deps.mu.Unlock()
		if e.registryWrites.Load() != gen {
			return errStaleRead
		}
		for ns, m := range stored {
			for name, nd := range m {
				cur := e.deps.byNS[ns][name]
				if sameDeployment(cur, nd) {
					continue
				}
				moved = append(moved, changed{ns, name, goneQueues(ns, cur, nd)})
				e.putDeploymentLocked(ns, cur, nd)
			}
		}
		for ns, m := range e.deps.byNS {
			for name, cur := range m {
				if stored[ns][name] == nil {
					moved = append(moved, changed{ns, name, goneQueues(ns, cur, nil)})
					delete(m, name)
					e.deps.dropOwners(ns, &workerDeployment{Name: name})
				}
			}
		}
		return nil
	})
	for _, c := range moved {
		e.rerouteDeployment(c.ns, c.name, c.gone)
	}
	return err
}

// sameDeployment reports whether two copies of a deployment are equal as
// stored.
func sameDeployment(a, b *workerDeployment) bool {
	if a == nil || b == nil {
		return a == b
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// goneQueues lists the sub-queues of cur's versions that nd (nil: none)
// no longer has, whose queued tasks must go where the routing sends them.
func goneQueues(ns string, cur, nd *workerDeployment) []matching.Key {
	if cur == nil {
		return nil
	}
	var keys []matching.Key
	for id, v := range cur.Versions {
		if nd != nil && nd.Versions[id] != nil {
			continue
		}
		for _, q := range v.TaskQueues {
			keys = append(keys, matching.Key{Namespace: ns, Name: q.Name, Kind: kindOfType(q.Type), Version: versionKey(cur.Name, id)})
		}
	}
	return keys
}

// rerouteOffers re-sends the tasks a run offered to other nodes' queues
// to the sub-queue its routing r now sends them to, after a change of its
// versioning override (rerouteRun moves those queued here). The copy left
// in the sub-queue the task moved off is refused as stale when polled
// (movedOff), so a worker of the version the run left cannot start it.
func (e *Engine) rerouteOffers(ns, workflowID, runID string, r execution.Routing) {
	if !e.clustered() {
		return
	}
	e.initOffers()
	type moving struct {
		k offerKey
		o offer
	}
	var mine []moving
	e.offers.mu.Lock()
	for k, o := range e.offers.m {
		if k.ns == ns && k.wf == workflowID && k.run == runID && k.queryID == "" && k.kind != matching.Nexus {
			mine = append(mine, moving{k, *o})
		}
	}
	e.offers.mu.Unlock()
	for _, m := range mine {
		base := m.o.key
		base.Version = ""
		to, pinned := e.routeKey(base, workflowID, r)
		if to == m.o.key {
			continue
		}
		t := m.o.task
		t.Pinned = pinned
		e.offers.mu.Lock()
		o := e.offers.m[m.k]
		if o != nil {
			o.key, o.task = to, t
		}
		e.offers.mu.Unlock()
		if o == nil { // started meanwhile
			continue
		}
		if e.owns(ns, queueKey(to)) {
			continue // queued here: rerouteRun moved it
		}
		e.deps.mu.Lock()
		if e.deps.moved == nil {
			e.deps.moved = map[offerKey]string{}
		}
		e.deps.moved[m.k] = m.o.key.Version
		e.deps.mu.Unlock()
		e.sendTask(to, t)
	}
}

// movedOff reports whether a task polled from key is the copy left
// behind when its run's override moved it to another sub-queue
// (rerouteOffers); the caller answers it stale.
func (e *Engine) movedOff(key matching.Key, t matching.Task) bool {
	k := offerKeyOf(key, t)
	e.deps.mu.Lock()
	from, ok := e.deps.moved[k]
	e.deps.mu.Unlock()
	if !ok {
		return false
	}
	e.offers.mu.Lock()
	_, offered := e.offers.m[k]
	e.offers.mu.Unlock()
	if !offered { // started or stale: forget the move
		e.deps.mu.Lock()
		delete(e.deps.moved, k)
		e.deps.mu.Unlock()
		return false
	}
	return key.Version == from
}

// opVersionPolled asks a queue's owner whether a version's workers poll
// it.
const opVersionPolled = "deploymentVersionPolled"

type versionPolledArgs struct {
	Namespace, Deployment, BuildID string
}

// polledOnQueueOwners refuses the deletion of a version (FailedPrecondition)
// when the owner of one of its queues saw a worker of it poll within
// pollerTTL: on a cluster the writer sees only the polls that reached it.
// An owner that cannot be asked makes it Unavailable (retry) rather than
// deleting a version that may be polled.
func (e *Engine) polledOnQueueOwners(ctx context.Context, ns, name string, v *deploymentVersion) error {
	if !e.clustered() || v == nil {
		return nil
	}
	asked := map[string]bool{}
	for _, q := range v.TaskQueues {
		key := queueKey(matching.Key{Namespace: ns, Name: q.Name, Kind: kindOfType(q.Type)})
		if e.owns(ns, key) {
			continue // its polls were recorded here, and checked already
		}
		owner := e.peers.(queuePeers).Owner(ns, key)
		if owner == "" || asked[owner] {
			continue
		}
		asked[owner] = true
		var polled bool
		if err := e.peers.Call(ctx, ns, key, opVersionPolled, versionPolledArgs{ns, name, v.BuildID}, &polled); err != nil {
			return serviceerror.NewUnavailablef("asking the owner of task queue %q whether version '%s' is polled: %v", q.Name, v32(name, v.BuildID), err)
		}
		if polled {
			return serviceerror.NewFailedPreconditionf("version '%s' cannot be deleted since it has active pollers", v32(name, v.BuildID))
		}
	}
	return nil
}

func (e *Engine) handleVersionPolled(_ context.Context, args []byte) (any, error) {
	var a versionPolledArgs
	if err := json.Unmarshal(args, &a); err != nil {
		return nil, err
	}
	e.deps.mu.Lock()
	defer e.deps.mu.Unlock()
	d := e.deps.byNS[a.Namespace][a.Deployment]
	if d == nil || d.Versions[a.BuildID] == nil {
		return false, nil
	}
	return d.Versions[a.BuildID].hasPollers(e.now()), nil
}
