package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/sundial-io/sundial/internal/cluster"
)

// checkNodeAddr validates --node-addr: HOST:PORT, and only with
// --postgres (the cluster's membership and leases live in that database).
func checkNodeAddr(o *startOptions) error {
	if o.nodeAddr == "" {
		return nil
	}
	if o.postgres == "" {
		return fmt.Errorf("--node-addr %s needs --postgres: the nodes of a cluster share one PostgreSQL database", o.nodeAddr)
	}
	host, port, err := net.SplitHostPort(o.nodeAddr)
	if err != nil {
		return fmt.Errorf("--node-addr %q is not HOST:PORT: %v", o.nodeAddr, err)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 || host == "" {
		return fmt.Errorf("--node-addr %q is not HOST:PORT with a host and a port 1-65535", o.nodeAddr)
	}
	return nil
}

// joinCluster makes the process a node of the cluster in the --postgres
// database: it heartbeats and holds shard leases from now on. The node id
// is its internal address, unique among the nodes by construction.
// Forwarding RPCs between nodes is not built: the process still serves
// every workflow itself (docs/CLUSTER.md).
func joinCluster(o *startOptions, log *slog.Logger) (*cluster.Node, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return cluster.Join(ctx, o.postgres, cluster.Config{NodeID: o.nodeAddr, Address: o.nodeAddr, Logger: log})
}

// clusterLine is the startup line's part about the cluster.
func clusterLine(n *cluster.Node) string {
	return fmt.Sprintf("node %s of a cluster of %d shards (holding %d; forwarding between nodes is not built yet: this node serves every workflow itself, so run one node per database for now)",
		n.ID(), n.ShardCount(), len(n.Owned()))
}

// leaveCluster releases the node's shards and removes its row, so the
// other nodes take the shards at once.
func leaveCluster(n *cluster.Node, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Leave(ctx); err != nil {
		log.Warn("leaving the cluster failed; the shards move when their leases expire", "error", err)
	}
}
