// Package cluster holds what makes several Sundial processes sharing one
// PostgreSQL database one cluster: the mapping of workflows to shards,
// node membership through heartbeat rows, shard ownership through leases
// carrying an epoch, and the planner that spreads shards over the live
// nodes. The store fences every write of a shard with the writer's epoch
// (store.Fence, checked by pgstore in the write's own transaction), so a
// node that lost a lease can never write for that shard again.
//
// See docs/CLUSTER.md for the design, the failure cases and what is not
// built yet; the engine's side is internal/engine/cluster.go, forwarding
// between nodes internal/forward.
package cluster

import (
	"errors"
	"fmt"
)

// DefaultShardCount is the shard count of a cluster whose first node did
// not choose one. Shards are the unit of ownership and failover: more
// shards spread load more evenly over nodes and move less work at once,
// each costs one lease row renewed every heartbeat.
const DefaultShardCount = 64

// MaxShardCount bounds the shard count (the lease table has a row per
// shard and every node renews its rows every heartbeat).
const MaxShardCount = 16384

// ErrShardCountMismatch is returned when a node is configured with a shard
// count other than the one the cluster was created with: the count is
// fixed for a cluster's life, since it decides where every workflow lives.
var ErrShardCountMismatch = errors.New("cluster: configured shard count differs from the cluster's")

// ValidateShardCount checks a configured shard count (0 means "the
// cluster's, or DefaultShardCount for a new cluster").
func ValidateShardCount(n int) error {
	if n < 0 || n > MaxShardCount {
		return fmt.Errorf("cluster: shard count %d out of range 1..%d", n, MaxShardCount)
	}
	return nil
}

// ShardOf returns the shard of a workflow: a stable hash of namespace and
// workflow id modulo the cluster's shard count. The hash (64-bit FNV-1a
// over the namespace, a zero byte and the workflow id) must never change:
// the shard of every stored workflow depends on it. Namespace and id are
// both hashed so equal workflow ids of different namespaces spread apart;
// the zero byte keeps ("ab","c") and ("a","bc") apart.
func ShardOf(namespace, workflowID string, shardCount int) int {
	if shardCount <= 0 {
		panic(fmt.Sprintf("cluster: ShardOf with shard count %d", shardCount))
	}
	const (
		offset64 = 14695981039346656037
		prime64  = 1099511628211
	)
	h := uint64(offset64)
	for i := 0; i < len(namespace); i++ {
		h ^= uint64(namespace[i])
		h *= prime64
	}
	h ^= 0
	h *= prime64
	for i := 0; i < len(workflowID); i++ {
		h ^= uint64(workflowID[i])
		h *= prime64
	}
	return int(h % uint64(shardCount))
}
