package engine

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	farm "github.com/dgryski/go-farm"
	deploymentpb "go.temporal.io/api/deployment/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundial-io/sundial/internal/execution"
	"github.com/sundial-io/sundial/internal/matching"
	"github.com/sundial-io/sundial/internal/store"
)

// Worker deployments (worker versioning). Temporal keeps each deployment
// in a system workflow and propagates its routing config to matching;
// here the engine keeps every deployment in memory, writes each change as
// one store record (namespace + name) before acknowledging it, and routes
// tasks itself:
//
//   - a versioned poller (deployment options with VERSIONED mode) polls
//     its version's sub-queue of the task queue (matching.Key.Version);
//     its first poll registers the deployment, the version and the queue;
//   - a task of a run pinned to a version (PINNED behavior, or a pinned
//     override) goes to that version's sub-queue; any other task of a queue
//     owned by a deployment goes to the deployment's current version, or to
//     its ramping version for the ramp's share of workflow ids (Temporal's
//     hash); an unversioned current version is the plain queue, which
//     unversioned pollers poll;
//   - when the routing config changes, queued unpinned tasks of the
//     deployment's queues are routed again.
//
// Routing state (current, ramping) is durable; which queue a task waits
// in is not (tasks are re-derived at startup and routed again).

// deploymentRegistry holds every namespace's worker deployments.
type deploymentRegistry struct {
	mu   sync.Mutex
	byNS map[string]map[string]*workerDeployment
	// owner maps a task queue to the deployment whose versions poll it
	// (the latest to register it).
	owner map[queueRef]string
	// owned mirrors len(owner), so routing skips the lock while no
	// versioned worker ever polled (the common case).
	owned atomic.Int64
	// synced is, per shard, the lease epoch at which this node last read
	// the stored deployments as their writer (deployments_cluster.go).
	synced map[int]int64
	// moved are the tasks offered to other nodes whose run's override
	// moved them off a sub-queue: that version's copy is stale
	// (deployments_cluster.go).
	moved map[offerKey]string
	// refreshMu serializes the re-reads of the stored deployments, so a
	// read started earlier is never applied after a later one
	// (deployments_cluster.go).
	refreshMu sync.Mutex
}

// setOwner records the queue's deployment; the caller holds g.mu.
func (g *deploymentRegistry) setOwner(ref queueRef, name string) {
	g.owner[ref] = name
	g.owned.Store(int64(len(g.owner)))
}

type queueRef struct {
	ns, name string
	kind     matching.Kind
}

// workerDeployment is one deployment, as stored (JSON).
type workerDeployment struct {
	Name       string                        `json:"name"`
	CreateTime time.Time                     `json:"create_time"`
	Versions   map[string]*deploymentVersion `json:"versions"` // by build id
	// Current and Ramping are build ids ("" unversioned); Ramping is set
	// only while RampingSet.
	Current           string    `json:"current,omitempty"`
	CurrentChanged    time.Time `json:"current_changed,omitempty"`
	Ramping           string    `json:"ramping,omitempty"`
	RampingSet        bool      `json:"ramping_set,omitempty"`
	RampPercent       float32   `json:"ramp_percent,omitempty"`
	RampingChanged    time.Time `json:"ramping_changed,omitempty"`
	RampPctChanged    time.Time `json:"ramp_pct_changed,omitempty"`
	LastModifier      string    `json:"last_modifier,omitempty"`
	Manager           string    `json:"manager,omitempty"`
	Revision          int64     `json:"revision"`
	RoutingTouchedRev int64     `json:"routing_rev,omitempty"`
	// CreateRequestID is the request id of the CreateWorkerDeployment
	// that made it ("" when a versioned worker's poll made it).
	CreateRequestID string `json:"create_request_id,omitempty"`
}

// deploymentVersion is one version (build id) of a deployment.
type deploymentVersion struct {
	BuildID          string            `json:"build_id"`
	CreateTime       time.Time         `json:"create_time"`
	RoutingChanged   time.Time         `json:"routing_changed,omitempty"`
	CurrentSince     time.Time         `json:"current_since,omitempty"`
	RampingSince     time.Time         `json:"ramping_since,omitempty"`
	FirstActivation  time.Time         `json:"first_activation,omitempty"`
	LastCurrent      time.Time         `json:"last_current,omitempty"`
	LastDeactivation time.Time         `json:"last_deactivation,omitempty"`
	DrainageChanged  time.Time         `json:"drainage_changed,omitempty"`
	TaskQueues       []versionQueue    `json:"task_queues,omitempty"`
	Metadata         map[string][]byte `json:"metadata,omitempty"` // encoded Payloads
	LastModifier     string            `json:"last_modifier,omitempty"`
	// CreateRequestID is the request id of the CreateWorkerDeploymentVersion
	// that made it ("" when a poll made it); such a version is CREATED
	// until a worker polls it.
	CreateRequestID string `json:"create_request_id,omitempty"`
	// ComputeConfig is the version's compute config (an encoded
	// computepb.ComputeConfig; stored and described, not acted on), and
	// ComputeRequestID the request id of the change that last set it.
	ComputeConfig    []byte               `json:"compute_config,omitempty"`
	ComputeRequestID string               `json:"compute_request_id,omitempty"`
	pollers          map[string]time.Time // identity → last poll (not durable: workers poll again)
}

type versionQueue struct {
	Name string                `json:"name"`
	Type enumspb.TaskQueueType `json:"type"`
}

func versionKey(deployment, buildID string) string {
	if buildID == "" {
		return ""
	}
	return deployment + "." + buildID
}

func kindOfType(t enumspb.TaskQueueType) matching.Kind {
	if t == enumspb.TASK_QUEUE_TYPE_ACTIVITY {
		return matching.Activity
	}
	if t == enumspb.TASK_QUEUE_TYPE_NEXUS {
		return matching.Nexus
	}
	return matching.Workflow
}

func typeOfKind(k matching.Kind) enumspb.TaskQueueType {
	switch k {
	case matching.Activity:
		return enumspb.TASK_QUEUE_TYPE_ACTIVITY
	case matching.Nexus:
		return enumspb.TASK_QUEUE_TYPE_NEXUS
	}
	return enumspb.TASK_QUEUE_TYPE_WORKFLOW
}

// loadDeployments reads every stored deployment (at startup).
func (e *Engine) loadDeployments() error {
	e.deps.byNS = map[string]map[string]*workerDeployment{}
	e.deps.owner = map[queueRef]string{}
	return e.store.WorkerDeployments(context.Background(), func(r *store.WorkerDeploymentRecord) error {
		d := &workerDeployment{}
		if err := json.Unmarshal(r.State, d); err != nil {
			return fmt.Errorf("decoding worker deployment %s/%s: %w", r.Namespace, r.Name, err)
		}
		if d.Versions == nil {
			d.Versions = map[string]*deploymentVersion{}
		}
		e.deps.ns(r.Namespace)[r.Name] = d
		for _, v := range d.Versions {
			for _, q := range v.TaskQueues {
				e.deps.setOwner(queueRef{r.Namespace, q.Name, kindOfType(q.Type)}, d.Name)
			}
		}
		return nil
	})
}

func (g *deploymentRegistry) ns(ns string) map[string]*workerDeployment {
	m := g.byNS[ns]
	if m == nil {
		m = map[string]*workerDeployment{}
		g.byNS[ns] = m
	}
	return m
}

// writeDeployment stores d (nil: deletes it) and waits until durable; the
// caller holds e.deps.mu.
func (e *Engine) writeDeployment(ns, name string, d *workerDeployment) error {
	if err := e.writable(); err != nil {
		return err
	}
	b := &store.Batch{}
	k := store.WorkerDeploymentKey{Namespace: ns, Name: name}
	fence, err := e.deploymentFence(ns, name) // deployments_cluster.go
	if err != nil {
		return err
	}
	b.Fence = fence
	if d == nil {
		b.WorkerDeploymentDeletes = []store.WorkerDeploymentKey{k}
	} else {
		data, err := json.Marshal(d)
		if err != nil {
			return err
		}
		b.WorkerDeployments = []*store.WorkerDeploymentRecord{{WorkerDeploymentKey: k, State: data}}
	}
	c, err := e.store.Apply(b)
	if err == nil {
		err = c.Wait()
	}
	if fence != nil && errors.Is(err, store.ErrFenced) {
		return e.fenced(fence.Shard, err)
	}
	if err == nil {
		e.noteRegistryWrite(b) // a refresh reading meanwhile must not undo it (cluster_registries.go)
	}
	return err
}

// versionedPoll is the poll hook: a poll of a normal queue by a versioned
// worker registers its deployment, version and queue (durably, the first
// time) and polls the version's sub-queue. Other polls are unchanged.
func (e *Engine) versionedPoll(k matching.Key, opts *deploymentpb.WorkerDeploymentOptions, identity string, sticky bool) (matching.Key, error) {
	if sticky || opts.GetWorkerVersioningMode() != enumspb.WORKER_VERSIONING_MODE_VERSIONED || opts.GetDeploymentName() == "" || opts.GetBuildId() == "" {
		return k, nil
	}
	now := e.now()
	if e.clustered() && !e.owns(k.Namespace, deploymentKey(opts.DeploymentName)) {
		// Another node writes this deployment (deployments_cluster.go).
		if err := e.registerElsewhere(k, opts); err != nil {
			return k, err
		}
	}
	e.deps.mu.Lock()
	before := e.deps.ns(k.Namespace)[opts.DeploymentName]
	v, err := e.registerLocked(k, opts, now)
	if err != nil {
		e.deps.mu.Unlock()
		return k, err
	}
	if v.pollers == nil {
		v.pollers = map[string]time.Time{}
	}
	v.pollers[identity] = now
	wrote := e.deps.byNS[k.Namespace][opts.DeploymentName] != before
	e.deps.mu.Unlock()
	if wrote {
		e.announceChange(context.Background()) // the other nodes' copies (cluster_registries.go)
	}
	k.Version = versionKey(opts.DeploymentName, opts.BuildId)
	return k, nil
}

// registerLocked makes sure the deployment, its version and the queue k
// are registered (durably), and returns the version; the caller holds
// e.deps.mu. On a cluster only the deployment's writer gets here with
// anything to register: other nodes registered through it first.
func (e *Engine) registerLocked(k matching.Key, opts *deploymentpb.WorkerDeploymentOptions, now time.Time) (*deploymentVersion, error) {
	d := e.deps.ns(k.Namespace)[opts.DeploymentName]
	var v *deploymentVersion
	if d != nil {
		v = d.Versions[opts.BuildId]
	}
	if v == nil || !v.hasQueue(k.Name, typeOfKind(k.Kind)) {
		if e.own != nil && !e.owns(k.Namespace, deploymentKey(opts.DeploymentName)) {
			// The writer's answer has not reached this node's copy yet.
			return nil, &NotOwnerError{e.own.ShardOf(k.Namespace, deploymentKey(opts.DeploymentName))}
		}
		nd, nv, err := e.registerVersion(k, d, opts, now)
		if err != nil {
			return nil, err
		}
		if err := e.writeDeployment(k.Namespace, opts.DeploymentName, nd); err != nil {
			return nil, err
		}
		e.deps.ns(k.Namespace)[opts.DeploymentName] = nd
		e.deps.setOwner(queueRef{k.Namespace, k.Name, k.Kind}, nd.Name)
		e.deps.dropOwners(k.Namespace, nd) // of a version evicted to make room
		v = nv
	}
	return v, nil
}

// Temporal's limits (matching.maxDeployments, maxVersionsInDeployment,
// maxTaskQueuesInDeploymentVersion, at their defaults); variables so tests
// can lower them.
var (
	maxDeployments          = 100
	maxVersionsInDeployment = 100
	maxQueuesInVersion      = 100
)

func errDeploymentLimit(format string, args ...any) error {
	return &serviceerror.ResourceExhausted{Message: fmt.Sprintf(format, args...),
		Scope: enumspb.RESOURCE_EXHAUSTED_SCOPE_NAMESPACE, Cause: enumspb.RESOURCE_EXHAUSTED_CAUSE_WORKER_DEPLOYMENT_LIMITS}
}

// registerVersion returns a copy of deployment d (nil: a new one) with the
// polled version and queue added, within Temporal's limits: a deployment
// at its version limit first drops its oldest version that could be
// deleted (neither current nor ramping, no pollers, not draining), as
// Temporal's deployment workflow does; the caller holds e.deps.mu.
func (e *Engine) registerVersion(k matching.Key, d *workerDeployment, opts *deploymentpb.WorkerDeploymentOptions, now time.Time) (*workerDeployment, *deploymentVersion, error) {
	var nd *workerDeployment
	if d == nil {
		if len(e.deps.byNS[k.Namespace]) >= maxDeployments {
			return nil, nil, errDeploymentLimit("reached maximum deployments in namespace (%d)", maxDeployments)
		}
		nd = &workerDeployment{Name: opts.DeploymentName, CreateTime: now, Versions: map[string]*deploymentVersion{}}
	} else {
		nd = d.clone()
	}
	nv := nd.Versions[opts.BuildId]
	if nv == nil {
		if len(nd.Versions) >= maxVersionsInDeployment {
			old := e.evictableVersion(k.Namespace, nd, now)
			if old == "" {
				return nil, nil, errDeploymentLimit("cannot add version %s since maximum number of versions (%d) have been registered in the deployment", versionKey(nd.Name, opts.BuildId), maxVersionsInDeployment)
			}
			delete(nd.Versions, old)
		}
		nv = &deploymentVersion{BuildID: opts.BuildId, CreateTime: now}
		nd.Versions[opts.BuildId] = nv
	}
	names := map[string]bool{k.Name: true}
	for _, q := range nv.TaskQueues {
		names[q.Name] = true
	}
	if len(names) > maxQueuesInVersion {
		return nil, nil, errDeploymentLimit("maximum number of task queues (%d) have been registered in deployment", maxQueuesInVersion)
	}
	nv.TaskQueues = append(nv.TaskQueues, versionQueue{Name: k.Name, Type: typeOfKind(k.Kind)})
	return nd, nv, nil
}

// evictableVersion is the oldest version of d that could be deleted, ""
// if none.
func (e *Engine) evictableVersion(ns string, d *workerDeployment, now time.Time) string {
	for _, v := range d.sortedVersions() {
		if d.Current == v.BuildID || d.RampingSet && d.Ramping == v.BuildID || v.hasPollers(now) {
			continue
		}
		if st, _ := e.versionStatus(context.Background(), ns, d, v); st != enumspb.WORKER_DEPLOYMENT_VERSION_STATUS_DRAINING {
			return v.BuildID
		}
	}
	return ""
}

// deploymentWorkerGone forgets a stopping worker as a poller of its
// version (ShutdownWorker), so the version can be deleted without waiting
// for its polls to age out.
func (e *Engine) DeploymentWorkerGone(ns, identity string) {
	e.deps.mu.Lock()
	defer e.deps.mu.Unlock()
	for _, d := range e.deps.byNS[ns] {
		for _, v := range d.Versions {
			delete(v.pollers, identity)
		}
	}
}

func (v *deploymentVersion) hasQueue(name string, t enumspb.TaskQueueType) bool {
	for _, q := range v.TaskQueues {
		if q.Name == name && q.Type == t {
			return true
		}
	}
	return false
}

// hasPollers: a worker of the version polled within pollerTTL and has
// not shut down.
func (v *deploymentVersion) hasPollers(now time.Time) bool {
	for _, t := range v.pollers {
		if now.Sub(t) < pollerTTL {
			return true
		}
	}
	return false
}

func (d *workerDeployment) clone() *workerDeployment {
	c := *d
	c.Versions = make(map[string]*deploymentVersion, len(d.Versions))
	for id, v := range d.Versions {
		cv := *v
		cv.TaskQueues = append([]versionQueue(nil), v.TaskQueues...)
		if v.Metadata != nil {
			cv.Metadata = make(map[string][]byte, len(v.Metadata))
			for k, m := range v.Metadata {
				cv.Metadata[k] = m
			}
		}
		c.Versions[id] = &cv
	}
	return &c
}

// rampThreshold places a workflow id in [0, 100), as Temporal does, so a
// ramp of p percent takes the ids below p.
func rampThreshold(id string) float64 {
	h := farm.Fingerprint32([]byte(id))
	return 100 * (float64(h) / (float64(math.MaxUint32) + 1))
}

// target is the version an unpinned task of d goes to ("" unversioned).
func (d *workerDeployment) target(workflowID string) string {
	if d.RampingSet && (d.RampPercent >= 100 || d.RampPercent > 0 && rampThreshold(workflowID) <= float64(d.RampPercent)) {
		return versionKey(d.Name, d.Ramping)
	}
	return versionKey(d.Name, d.Current)
}

// routeKey picks the sub-queue of k (a workflow or activity queue) for a
// task of a run with routing r; pinned says the task stays with its
// version when the routing config changes.
func (e *Engine) routeKey(k matching.Key, workflowID string, r execution.Routing) (out matching.Key, pinned bool) {
	if k.Kind == matching.Nexus || e.deps.owned.Load() == 0 {
		return k, false
	}
	e.deps.mu.Lock()
	defer e.deps.mu.Unlock()
	name, ok := e.deps.owner[queueRef{k.Namespace, k.Name, k.Kind}]
	if !ok {
		return k, false
	}
	d := e.deps.byNS[k.Namespace][name]
	if d == nil {
		return k, false
	}
	if r.Pinned != "" && (k.Kind == matching.Workflow || e.deps.versionHasQueue(k.Namespace, r.Pinned, k.Name, k.Kind)) {
		k.Version = r.Pinned
		return k, true
	}
	k.Version = d.target(workflowID)
	return k, false
}

// versionHasQueue reports whether the version (a version string) polls
// the queue; the caller holds g.mu.
func (g *deploymentRegistry) versionHasQueue(ns, version, queue string, kind matching.Kind) bool {
	for _, d := range g.byNS[ns] {
		for _, v := range d.Versions {
			if versionKey(d.Name, v.BuildID) == version {
				return v.hasQueue(queue, typeOfKind(kind))
			}
		}
	}
	return false
}

// taskKey is the matching queue of one of a run's tasks. A sticky
// workflow task of an unpinned run whose normal queue now routes to
// another version than the worker's that holds the run leaves the sticky
// queue for that version (auto-upgrade happens at the next task).
func (e *Engine) taskKey(ns, workflowID string, t execution.Task, r execution.Routing) (matching.Key, bool) {
	k := matching.Key{Namespace: ns, Name: t.Queue, Kind: matching.Workflow}
	if t.Kind == execution.ActivityTaskKind {
		k.Kind = matching.Activity
	}
	if t.Sticky {
		if r.Pinned != "" || r.TaskQueue == "" {
			return k, false
		}
		normal, pinned := e.routeKey(matching.Key{Namespace: ns, Name: r.TaskQueue, Kind: matching.Workflow}, workflowID, r)
		if normal.Version != r.Version {
			return normal, pinned
		}
		return k, false
	}
	return e.routeKey(k, workflowID, r)
}

// rerouteDeployment routes the queued unpinned tasks of a deployment's
// queues (and of the extra sub-queues given) again, after its routing or
// its versions changed. It takes the registry lock itself.
func (e *Engine) rerouteDeployment(ns, name string, extra []matching.Key) {
	e.deps.mu.Lock()
	d := e.deps.byNS[ns][name]
	keys := extra
	if d != nil {
		seen := map[queueRef]bool{}
		for _, v := range d.Versions {
			for _, q := range v.TaskQueues {
				ref := queueRef{ns, q.Name, kindOfType(q.Type)}
				if seen[ref] || e.deps.owner[ref] != name {
					continue
				}
				seen[ref] = true
				keys = append(keys, matching.Key{Namespace: ns, Name: q.Name, Kind: ref.kind})
				for _, w := range d.Versions {
					keys = append(keys, matching.Key{Namespace: ns, Name: q.Name, Kind: ref.kind, Version: versionKey(name, w.BuildID)})
				}
			}
		}
	}
	e.deps.mu.Unlock()
	for _, k := range keys {
		for _, t := range e.match.Drain(k) {
			if t.QueryID != "" || (t.Pinned && k.Version != "") {
				e.match.Add(k, t)
				continue
			}
			base := k
			base.Version = ""
			to, _ := e.routeKey(base, t.WorkflowID, execution.Routing{})
			e.match.Add(to, t)
		}
	}
}

// conflictToken is the opaque token of a deployment's state (its
// revision, and its create time so a deployment deleted and created again
// does not repeat its predecessor's tokens), checked by the routing and
// manager changes.
func (d *workerDeployment) conflictToken() []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, uint64(d.Revision))
	binary.BigEndian.PutUint64(b[8:], uint64(d.CreateTime.UnixNano()))
	return b
}

// sortedVersions returns d's versions by create time.
func (d *workerDeployment) sortedVersions() []*deploymentVersion {
	vs := make([]*deploymentVersion, 0, len(d.Versions))
	for _, v := range d.Versions {
		vs = append(vs, v)
	}
	sort.Slice(vs, func(i, j int) bool {
		if !vs[i].CreateTime.Equal(vs[j].CreateTime) {
			return vs[i].CreateTime.Before(vs[j].CreateTime)
		}
		return vs[i].BuildID < vs[j].BuildID
	})
	return vs
}

// queueKeys lists the sub-queues of a task queue: the unversioned one and
// one per deployment version that polls it (for DescribeTaskQueue).
func (e *Engine) queueKeys(k matching.Key) []matching.Key {
	keys := []matching.Key{k}
	e.deps.mu.Lock()
	defer e.deps.mu.Unlock()
	for _, d := range e.deps.byNS[k.Namespace] {
		for _, v := range d.Versions {
			if v.hasQueue(k.Name, typeOfKind(k.Kind)) {
				vk := k
				vk.Version = versionKey(d.Name, v.BuildID)
				keys = append(keys, vk)
			}
		}
	}
	return keys
}

// queueVersioningInfo is DescribeTaskQueue's versioning info of a queue:
// the routing of the deployment that owns it, or unversioned.
func (e *Engine) queueVersioningInfo(ns, name string, kind matching.Kind) *taskqueuepb.TaskQueueVersioningInfo {
	e.deps.mu.Lock()
	defer e.deps.mu.Unlock()
	d := e.deps.byNS[ns][e.deps.owner[queueRef{ns, name, kind}]]
	if d == nil {
		return &taskqueuepb.TaskQueueVersioningInfo{
			CurrentVersion: unversionedVersion, //nolint:staticcheck // deprecated, still set by Temporal
			UpdateTime:     timestamppb.New(time.Time{}),
		}
	}
	rc := d.routingConfig()
	info := &taskqueuepb.TaskQueueVersioningInfo{
		CurrentDeploymentVersion: rc.CurrentDeploymentVersion,
		CurrentVersion:           rc.CurrentVersion, //nolint:staticcheck // deprecated, still set by Temporal
		RampingDeploymentVersion: rc.RampingDeploymentVersion,
		RampingVersion:           rc.RampingVersion, //nolint:staticcheck // deprecated, still set by Temporal
		RampingVersionPercentage: rc.RampingVersionPercentage,
		UpdateTime:               timestamppb.New(latest(d.CurrentChanged, d.RampingChanged, d.RampPctChanged)),
	}
	return info
}

func latest(ts ...time.Time) time.Time {
	var m time.Time
	for _, t := range ts {
		if t.After(m) {
			m = t
		}
	}
	return m
}

// rerouteRun moves the queued tasks of one run to where its routing now
// sends them (after UpdateWorkflowExecutionOptions changed its versioning
// override); other tasks stay where they are.
func (e *Engine) rerouteRun(ns, workflowID, runID string, r execution.Routing, queues []string) {
	defer e.rerouteOffers(ns, workflowID, runID, r) // queued on other nodes (deployments_cluster.go)
	seen := map[matching.Key]bool{}
	for _, name := range queues {
		for _, kind := range []matching.Kind{matching.Workflow, matching.Activity} {
			base := matching.Key{Namespace: ns, Name: name, Kind: kind}
			for _, k := range e.queueKeys(base) {
				if seen[k] {
					continue
				}
				seen[k] = true
				for _, t := range e.match.Drain(k) {
					to := k
					if t.RunID == runID && t.QueryID == "" {
						to, t.Pinned = e.routeKey(base, workflowID, r)
					}
					e.match.Add(to, t)
				}
			}
		}
	}
}

// runQueues lists the task queues a run's tasks may wait in.
func runQueues(st *execution.State) []string {
	qs := []string{st.TaskQueue()}
	for _, a := range st.Activities {
		qs = append(qs, a.Attrs.GetTaskQueue().GetName())
	}
	return qs
}

// childVersioning is what a child inherits from its parent, as Temporal
// passes it on: the parent's pinned version and pinned override, when the
// child runs in the same namespace on the parent's queue or on a queue
// that version polls.
func (e *Engine) childVersioning(parent *execution.State, c *execution.Child) (*deploymentpb.WorkerDeploymentVersion, *workflowpb.VersioningOverride) {
	pin := c.InheritedPin
	if pin == nil || c.Attrs.GetNamespace() != parent.Namespace {
		return nil, nil
	}
	if tq := c.Attrs.GetTaskQueue().GetName(); tq != parent.Start.GetTaskQueue().GetName() {
		e.deps.mu.Lock()
		in := e.deps.versionHasQueue(parent.Namespace, execution.VersionString(pin), tq, matching.Workflow)
		e.deps.mu.Unlock()
		if !in {
			return nil, nil
		}
	}
	return pin, c.InheritedOverride
}
