package forward

import (
	"context"
	"encoding/json"
	"fmt"

	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Internal operations between nodes: what one node's engine asks of the
// owner of another shard (a child to start, a parent to notify, a task to
// queue or start). They travel as one gRPC method, "Op", of an internal
// service on the node address, in JSON (the arguments are the engine's
// own small structs; protos inside them are marshaled to bytes by the
// engine), so no generated code is needed.

// OpMethod is the internal method's full name.
const OpMethod = "/sundial.cluster.Internal/Op"

// OpRequest names an operation, the shard it is for (by namespace and
// key: a workflow id, or a task queue's key) and its arguments.
type OpRequest struct {
	Op        string          `json:"op"`
	Namespace string          `json:"ns"`
	Key       string          `json:"key"`
	Args      json.RawMessage `json:"args,omitempty"`
}

// OpResponse carries the operation's result.
type OpResponse struct {
	Result json.RawMessage `json:"result,omitempty"`
}

// OpHandler runs operations addressed to this node (the engine).
type OpHandler interface {
	HandleOp(ctx context.Context, op string, args []byte) (any, error)
}

const codecName = "sundial-json"

type jsonCodec struct{}

func (jsonCodec) Marshal(v any) ([]byte, error)        { return json.Marshal(v) }
func (jsonCodec) Unmarshal(b []byte, v any) error      { return json.Unmarshal(b, v) }
func (jsonCodec) Name() string                         { return codecName }
func init()                                            { encoding.RegisterCodec(jsonCodec{}) }
func opHandlerOf(srv any) OpHandler                    { return srv.(OpHandler) }
func opDecode(dec func(any) error) (*OpRequest, error) { r := &OpRequest{}; return r, dec(r) }

// RegisterOps serves the internal operations on gs.
func RegisterOps(gs *grpc.Server, h OpHandler) {
	gs.RegisterService(&grpc.ServiceDesc{
		ServiceName: "sundial.cluster.Internal",
		HandlerType: (*OpHandler)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: "Op",
			Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
				req, err := opDecode(dec)
				if err != nil {
					return nil, status.Errorf(codes.InvalidArgument, "sundial: bad internal request: %v", err)
				}
				res, err := opHandlerOf(srv).HandleOp(ctx, req.Op, req.Args)
				if err != nil {
					if st, ok := status.FromError(err); ok && st.Code() != codes.Unknown {
						return nil, err
					}
					return nil, serviceerror.ToStatus(err).Err()
				}
				b, err := json.Marshal(res)
				if err != nil {
					return nil, status.Errorf(codes.Internal, "sundial: internal result: %v", err)
				}
				return &OpResponse{Result: b}, nil
			},
		}},
	}, h)
}

// Call runs an operation on the owner of the shard of (namespace, key)
// and decodes its result into result (when not nil). Errors come back as
// the serviceerror types the owner returned; an unknown or unreachable
// owner is Unavailable (callers retry).
func (f *Forwarder) Call(ctx context.Context, namespace, key, op string, args, result any) error {
	shard := f.node.ShardOf(namespace, key)
	addr := f.node.OwnerAddr(shard)
	if addr == "" {
		return serviceerror.NewUnavailablef("sundial: shard %d has no live owner right now (it is moving between nodes); retry", shard)
	}
	return f.invokeOp(ctx, addr, &OpRequest{Op: op, Namespace: namespace, Key: key}, args, result)
}

// Owner names the owner of the shard of (namespace, key) at its current
// lease, as last seen: its address and epoch ("" when unknown). Two
// incarnations of a node at one address have different names.
func (f *Forwarder) Owner(namespace, key string) string {
	return f.node.OwnerToken(f.node.ShardOf(namespace, key))
}

// Broadcast runs an operation on every other live node (best effort: the
// first error is returned after all were tried).
func (f *Forwarder) Broadcast(ctx context.Context, op string, args any) error {
	b, err := json.Marshal(args)
	if err != nil {
		return err
	}
	var first error
	for _, addr := range f.node.Peers() {
		conn, err := f.peer(addr)
		if err == nil {
			ctx := metadata.AppendToOutgoingContext(ctx, MarkerKey, f.node.ID())
			f.calls.add("op:" + op)
			err = conn.Invoke(ctx, OpMethod, &OpRequest{Op: op, Args: b}, &OpResponse{}, grpc.CallContentSubtype(codecName))
		}
		if err != nil && first == nil {
			first = fmt.Errorf("node %s: %w", addr, err)
		}
	}
	return first
}
