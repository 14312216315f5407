// Package forward sends requests addressed to a workflow that reach a node
// not holding the workflow's shard to the node that does, over the nodes'
// internal gRPC addresses (docs/CLUSTER.md). It is one gRPC interceptor:
// the request's namespace and workflow id (or task token) name the shard,
// and the request is invoked unchanged, under the same method name, on the
// owner, whose answer (or error, with its details) goes back as is.
//
// A forwarded request carries the MarkerKey metadata; a node receiving a
// marked request for a shard it does not hold answers Unavailable instead
// of forwarding again (ownership moved in between: the client retries), so
// requests never loop.
package forward

import (
	"context"
	"crypto/tls"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/sundial-io/sundial/internal/matching"
	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/tasktoken"
)

// MarkerKey is the metadata key set on forwarded requests (its value is
// the forwarding node's id).
const MarkerKey = "sundial-forwarded-by"

// Node is what forwarding needs of the cluster node (cluster.Node).
type Node interface {
	ID() string
	ShardOf(namespace, workflowID string) int
	Fence(shard int) (*store.Fence, bool)
	// OwnerAddr is the internal address of the shard's owner as last
	// seen ("" when unknown).
	OwnerAddr(shard int) string
	// Peers are the other live nodes' internal addresses.
	Peers() []string
	// OwnerToken names the shard's owner at its current lease ("" when
	// unknown): it changes with every change of hands.
	OwnerToken(shard int) string
}

// Forwarder holds a client connection per peer.
type Forwarder struct {
	node Node

	mu    sync.Mutex
	peers map[string]*grpc.ClientConn
	outs  map[string]protoreflect.MessageType // method → response type

	draining context.Context // done once Drain was called (drain.go)
	drain    context.CancelFunc

	// secret and clientTLS protect calls to other nodes (security.go).
	secret    string
	clientTLS *tls.Config

	calls callCounts // internal calls made, by kind (calls.go)
}

// New returns a forwarder for node.
func New(node Node) *Forwarder {
	f := &Forwarder{node: node, peers: map[string]*grpc.ClientConn{}, outs: map[string]protoreflect.MessageType{}}
	f.draining, f.drain = context.WithCancel(context.Background())
	return f
}

// Close closes the peer connections.
func (f *Forwarder) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.peers {
		_ = c.Close()
	}
	clear(f.peers)
}

// Forwarded reports whether ctx's request was forwarded by another node.
func Forwarded(ctx context.Context) bool {
	md, _ := metadata.FromIncomingContext(ctx)
	return len(md.Get(MarkerKey)) > 0
}

// Unary is the interceptor: requests for workflows of shards this node
// holds, and requests not addressed to a workflow, go to the handler.
func (f *Forwarder) Unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := refuseNotClustered(info.FullMethod); err != nil {
		return nil, err
	}
	ns, id, ok := RouteOf(req)
	what := "workflow " + strconv.Quote(id)
	if sns, sid, isSched := ScheduleRouteOf(req); isSched {
		ns, id, ok, what = sns, ScheduleKey(sid), true, "schedule "+strconv.Quote(sid)
	}
	if bns, bid, isBatch := BatchRouteOf(req); isBatch {
		ns, id, ok, what = bns, BatchJobKey(bid), true, "batch job "+strconv.Quote(bid)
	}
	if dns, dname, isDep := DeploymentRouteOf(req); isDep {
		ns, id, ok, what = dns, DeploymentKey(dname), true, "worker deployment "+strconv.Quote(dname)
	}
	if !ok {
		ns, id, ok = StandaloneRouteOf(req)
		what = "standalone execution " + strconv.Quote(id)
	}
	if !ok {
		var name string
		if ns, id, name, ok = QueueRouteOf(req); !ok {
			return h(ctx, req)
		}
		what = "task queue " + strconv.Quote(name)
	}
	shard := f.node.ShardOf(ns, id)
	if _, held := f.node.Fence(shard); held {
		return h(ctx, req)
	}
	if Forwarded(ctx) {
		return nil, status.Errorf(codes.Unavailable, "sundial: shard %d of %s is moving between nodes (node %s does not hold it); retry", shard, what, f.node.ID())
	}
	addr := f.node.OwnerAddr(shard)
	if addr == "" {
		return nil, status.Errorf(codes.Unavailable, "sundial: shard %d of %s has no live owner right now (it is moving between nodes); retry", shard, what)
	}
	return f.Invoke(ctx, addr, info.FullMethod, req)
}

// Invoke calls method on the node at addr with req, passing the caller's
// metadata on (its credentials included) with the forwarding marker.
func (f *Forwarder) Invoke(ctx context.Context, addr, method string, req any) (any, error) {
	conn, err := f.peer(addr)
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "sundial: cannot reach node %s: %v", addr, err)
	}
	rt, err := f.responseType(method)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "sundial: forwarding %s: %v", method, err)
	}
	resp := rt.New().Interface()
	out := metadata.MD{}
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		for k, v := range md {
			if passOn(k) {
				out[k] = v
			}
		}
	}
	out.Set(MarkerKey, f.node.ID())
	octx := metadata.NewOutgoingContext(ctx, out)
	if dl, ok := ctx.Deadline(); ok {
		// A little before the caller's deadline, so the answer (a timed-out
		// long poll's or query's) comes back before the caller gives up.
		var cancel context.CancelFunc
		octx, cancel = context.WithDeadline(octx, dl.Add(-50*time.Millisecond))
		defer cancel()
	}
	octx, release := f.pollContext(octx, method)
	defer release()
	f.calls.add(forwardKind(method))
	if err := conn.Invoke(octx, method, req, resp); err != nil {
		if ctx.Err() == nil {
			switch status.Code(err) {
			case codes.Canceled:
				// The owner dropped the call (it is stopping, or reset the
				// stream) while our caller still waits: retryable.
				return nil, status.Errorf(codes.Unavailable, "sundial: node %s dropped the forwarded call (%v); retry", addr, err)
			case codes.DeadlineExceeded:
				if octx.Err() != nil {
					return nil, status.Error(codes.DeadlineExceeded, err.Error())
				}
			}
		}
		return nil, err
	}
	return resp, nil
}

// passOn reports whether incoming metadata is passed to the owner: the
// caller's own headers (credentials, client name and version), not the
// transport's.
func passOn(k string) bool {
	switch {
	case strings.HasPrefix(k, ":"), strings.HasPrefix(k, "grpc-"):
		return false
	case k == "content-type", k == "user-agent", k == "te", k == MarkerKey, k == SecretKey:
		return false
	}
	return true
}

func (f *Forwarder) peer(addr string) (*grpc.ClientConn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.peers[addr]; c != nil {
		return c, nil
	}
	c, err := grpc.NewClient(addr, f.dialOptions()...)
	if err != nil {
		return nil, err
	}
	f.peers[addr] = c
	return c, nil
}

// responseType finds a method's response message type from its full name
// ("/pkg.Service/Method") in the registered descriptors.
func (f *Forwarder) responseType(method string) (protoreflect.MessageType, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t := f.outs[method]; t != nil {
		return t, nil
	}
	svc, name, ok := strings.Cut(strings.TrimPrefix(method, "/"), "/")
	if !ok {
		return nil, fmt.Errorf("malformed method name %q", method)
	}
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(svc))
	if err != nil {
		return nil, err
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return nil, fmt.Errorf("%s is not a service", svc)
	}
	md := sd.Methods().ByName(protoreflect.Name(name))
	if md == nil {
		return nil, fmt.Errorf("no method %s", method)
	}
	t, err := protoregistry.GlobalTypes.FindMessageByName(md.Output().FullName())
	if err != nil {
		return nil, err
	}
	f.outs[method] = t
	return t, nil
}

// RouteOf returns the workflow a request is addressed to: its namespace
// and workflow id, from the request's fields or its task token (a
// standalone activity's token: its activity id). Requests not addressed
// to one workflow (lists, namespaces, schedules, polls, standalone
// activities by id: StandaloneRouteOf) return false.
func RouteOf(req any) (ns, id string, ok bool) {
	r, isNS := req.(interface{ GetNamespace() string })
	if !isNS {
		return "", "", false
	}
	ns = r.GetNamespace()
	switch q := req.(type) {
	case interface{ GetTaskToken() []byte }:
		t, err := tasktoken.Decode(q.GetTaskToken())
		if err != nil {
			return "", "", false // the handler refuses a bad token
		}
		// A standalone activity's or operation's token names its id as
		// the workflow id: the key of its shard.
		return t.Namespace, t.WorkflowID, t.WorkflowID != ""
	case *workflowservice.PollWorkflowExecutionUpdateRequest:
		id = q.GetUpdateRef().GetWorkflowExecution().GetWorkflowId()
	case *workflowservice.ExecuteMultiOperationRequest:
		for _, op := range q.GetOperations() {
			if s := op.GetStartWorkflow(); s != nil {
				id = s.GetWorkflowId()
				break
			}
			if u := op.GetUpdateWorkflow(); u != nil {
				id = u.GetWorkflowExecution().GetWorkflowId()
				break
			}
		}
	case interface {
		GetWorkflowExecution() *commonpb.WorkflowExecution
	}:
		id = q.GetWorkflowExecution().GetWorkflowId()
	case interface {
		GetExecution() *commonpb.WorkflowExecution
	}:
		id = q.GetExecution().GetWorkflowId()
	case interface{ GetWorkflowId() string }:
		id = q.GetWorkflowId()
	}
	return ns, id, id != "" && ns != ""
}

// WorkersKey is the shard key (with the namespace) of the node that keeps
// a namespace's worker heartbeats.
const WorkersKey = "\x00workers"

// QueueRouteOf returns the task queue a poll is addressed to: its
// namespace, shard key (matching.ShardKey) and name: workflow (sticky
// ones included), activity and Nexus polls go to the queue's owner, and
// so do DescribeTaskQueue and UpdateTaskQueueConfig.
func QueueRouteOf(req any) (ns, key, name string, ok bool) {
	var kind matching.Kind
	var tq interface{ GetName() string }
	switch r := req.(type) {
	case *workflowservice.PollWorkflowTaskQueueRequest:
		ns, kind, tq = r.GetNamespace(), matching.Workflow, r.GetTaskQueue()
	case *workflowservice.PollActivityTaskQueueRequest:
		ns, kind, tq = r.GetNamespace(), matching.Activity, r.GetTaskQueue()
	case *workflowservice.PollNexusTaskQueueRequest:
		ns, kind, tq = r.GetNamespace(), matching.Nexus, r.GetTaskQueue()
	case *workflowservice.RecordWorkerHeartbeatRequest, *workflowservice.ListWorkersRequest,
		*workflowservice.CountWorkersRequest, *workflowservice.DescribeWorkerRequest:
		// A namespace's worker heartbeats are kept by one node, the owner
		// of the namespace's workers key, which answers the lists.
		ns = req.(interface{ GetNamespace() string }).GetNamespace()
		if ns == "" {
			return "", "", "", false
		}
		return ns, WorkersKey, "workers", true
	case *workflowservice.UpdateTaskQueueConfigRequest:
		// Its owner enforces the configuration and serializes its changes.
		ns = r.GetNamespace()
		switch r.GetTaskQueueType() {
		case enumspb.TASK_QUEUE_TYPE_ACTIVITY:
			kind = matching.Activity
		case enumspb.TASK_QUEUE_TYPE_NEXUS:
			kind = matching.Nexus
		default:
			kind = matching.Workflow
		}
		name = r.GetTaskQueue()
		if ns == "" || name == "" {
			return "", "", "", false // the handler refuses it
		}
		return ns, matching.ShardKey(kind, name), name, true
	case *workflowservice.DescribeTaskQueueRequest:
		// The queue's pollers, backlog and statistics are its owner's. The
		// enhanced mode's several types are answered by the owner of the
		// first type asked for (by default the workflow queue).
		ns, kind, tq = r.GetNamespace(), matching.Workflow, r.GetTaskQueue()
		t := r.GetTaskQueueType()
		if types := r.GetTaskQueueTypes(); len(types) > 0 {
			t = types[0]
		}
		switch t {
		case enumspb.TASK_QUEUE_TYPE_ACTIVITY:
			kind = matching.Activity
		case enumspb.TASK_QUEUE_TYPE_NEXUS:
			kind = matching.Nexus
		}
	default:
		return "", "", "", false
	}
	name = tq.GetName()
	if ns == "" || name == "" {
		return "", "", "", false // the handler refuses it
	}
	return ns, matching.ShardKey(kind, name), name, true
}

// compile-time check that requests are protos (Invoke marshals them).
var _ proto.Message = (*workflowservice.StartWorkflowExecutionRequest)(nil)
