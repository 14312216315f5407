package forward

import (
	"context"
	"encoding/json"

	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// OwnerAddrOf is the internal address of the owner of the shard of
// (namespace, key), as last seen ("" when unknown). Callers that send
// several operations to one node in one call (the engine's batched task
// offers) group them by it.
func (f *Forwarder) OwnerAddrOf(namespace, key string) string {
	return f.node.OwnerAddr(f.node.ShardOf(namespace, key))
}

// CallAt runs an operation on the node at addr and decodes its result
// into result (when not nil). The operation must check for itself that
// the node holds what it is about (Call's caller names the shard; here
// the node is named by address only). Errors are as Call's.
func (f *Forwarder) CallAt(ctx context.Context, addr, op string, args, result any) error {
	return f.invokeOp(ctx, addr, &OpRequest{Op: op}, args, result)
}

// invokeOp sends req, with args as its arguments, to the node at addr.
func (f *Forwarder) invokeOp(ctx context.Context, addr string, req *OpRequest, args, result any) error {
	b, err := json.Marshal(args)
	if err != nil {
		return err
	}
	req.Args = b
	conn, err := f.peer(addr)
	if err != nil {
		return serviceerror.NewUnavailablef("sundial: cannot reach node %s: %v", addr, err)
	}
	resp := &OpResponse{}
	ctx = metadata.AppendToOutgoingContext(ctx, MarkerKey, f.node.ID())
	f.calls.add("op:" + req.Op)
	if err := conn.Invoke(ctx, OpMethod, req, resp, grpc.CallContentSubtype(codecName)); err != nil {
		if ctx.Err() == nil && status.Code(err) == codes.Canceled {
			// The owner dropped the call (it is stopping, or reset the
			// stream) while our caller still waits: retryable, as in Invoke.
			return serviceerror.NewUnavailablef("sundial: node %s dropped the internal call %s (%v); retry", addr, req.Op, err)
		}
		return serviceerror.FromStatus(status.Convert(err))
	}
	if result != nil && len(resp.Result) > 0 {
		return json.Unmarshal(resp.Result, result)
	}
	return nil
}
