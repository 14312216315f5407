package forward

import (
	"strings"
	"sync"
	"sync/atomic"
)

// Internal calls this node made to other nodes, counted by kind, so the
// cost of a cluster is visible (docs/CLUSTER.md, "Measured cost of the
// cluster paths"; Prometheus: sundial_cluster_internal_calls_total). A kind
// is "forward:<Method>" for a public RPC forwarded to a shard's owner
// (Invoke; a long poll counts once), "op:<name>" for an internal
// operation (Call, Broadcast: once per node called) such as
// op:addTask, op:startTask, op:startChild.
type callCounts struct {
	m sync.Map // kind → *atomic.Uint64
}

func (c *callCounts) add(kind string) {
	if v, ok := c.m.Load(kind); ok {
		v.(*atomic.Uint64).Add(1)
		return
	}
	v, _ := c.m.LoadOrStore(kind, new(atomic.Uint64))
	v.(*atomic.Uint64).Add(1)
}

// forwardKind is the kind of a forwarded method ("/pkg.Service/Method").
func forwardKind(method string) string {
	return "forward:" + method[strings.LastIndexByte(method, '/')+1:]
}

// InternalCalls returns how many internal calls of each kind this node
// made since it started. Safe on a nil Forwarder (no calls).
func (f *Forwarder) InternalCalls() map[string]uint64 {
	out := map[string]uint64{}
	if f == nil {
		return out
	}
	f.calls.m.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Uint64).Load()
		return true
	})
	return out
}
