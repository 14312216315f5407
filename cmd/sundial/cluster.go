package main

import (
	"fmt"
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
	if o.leasePeriod != 0 && o.leasePeriod < 300*time.Millisecond {
		return fmt.Errorf("--lease-period %v is too short (at least 300ms)", o.leasePeriod)
	}
	return nil
}

// clusterLine is the startup line's part about the cluster.
func clusterLine(n *cluster.Node) string {
	return fmt.Sprintf("node %s of a cluster of %d shards (holding %d; requests for workflows of other nodes' shards are forwarded to them)",
		n.ID(), n.ShardCount(), len(n.Owned()))
}
