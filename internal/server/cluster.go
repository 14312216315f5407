package server

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"time"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/sundial-io/sundial/internal/auth"
	"github.com/sundial-io/sundial/internal/cluster"
	"github.com/sundial-io/sundial/internal/forward"
)

// ClusterConfig makes the server a node of the cluster in its PostgreSQL
// database (docs/CLUSTER.md).
type ClusterConfig struct {
	// NodeAddr is host:port of the internal gRPC port other nodes forward
	// requests to (port 0 picks a free one); the node id is the address
	// it listens on.
	NodeAddr string
	// ShardCount is the shard count of a new cluster, or the count the
	// node expects (0: the cluster's, 64 for a new one).
	ShardCount int
	// LeasePeriod is the shard lease period (0: cluster.DefaultLeasePeriod).
	LeasePeriod time.Duration
}

// clusterPart is a node's share of a server: its membership, the
// forwarder and the internal gRPC server on the node address.
type clusterPart struct {
	lis  net.Listener
	node *cluster.Node
	fwd  *forward.Forwarder
	gs   *grpc.Server
	done chan error
	tls  *tls.Config // the internal port's, under mutual TLS (nil: plain text)
}

// listenCluster opens the node's internal port (before anything is
// created, like the other ports).
func listenCluster(cfg Config) (*clusterPart, error) {
	if cfg.Cluster == nil {
		return nil, nil
	}
	if cfg.Postgres == "" {
		return nil, errors.New("a cluster node needs a PostgreSQL store (the nodes share one database)")
	}
	lis, err := net.Listen("tcp", cfg.Cluster.NodeAddr)
	if err != nil {
		return nil, listenError("node", cfg.Cluster.NodeAddr, err)
	}
	return &clusterPart{lis: lis}, nil
}

// join makes the process a node: heartbeats and shard leases from now on.
// Calls to other nodes carry the cluster's internal secret, over mutual
// TLS when it is configured (forward/security.go).
func (c *clusterPart) join(cfg Config, sec securitySetup) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	addr := c.lis.Addr().String()
	n, err := cluster.Join(ctx, cfg.Postgres, cluster.Config{NodeID: addr, Address: addr, ShardCount: cfg.Cluster.ShardCount,
		LeasePeriod: cfg.Cluster.LeasePeriod, Logger: cfg.Logger})
	if err != nil {
		return err
	}
	c.node = n
	c.fwd = forward.New(n)
	var clientTLS *tls.Config
	if sec.mtls {
		log := cfg.Logger
		if log == nil {
			log = slog.Default()
		}
		if clientTLS, err = auth.NodeClientTLS(cfg.TLS, log); err != nil {
			n.Stop()
			return err
		}
		c.tls = sec.tls
	}
	c.fwd.Secure(n.Secret(), clientTLS)
	return nil
}

// serve starts the internal gRPC server: the same services as the public
// port, behind the forwarder (which refuses rather than forwards again)
// but without the public port's authorization: callers are other nodes,
// which authorized the request already and pass its credentials on. Calls
// without the cluster's internal secret are refused first; with mutual
// TLS configured the port requires a client certificate of the client CA
// (docs/CLUSTER.md, "Security of the internal port").
func (c *clusterPart) serve(ws workflowservice.WorkflowServiceServer, ops operatorservice.OperatorServiceServer, eng forward.OpHandler, interceptors []grpc.UnaryServerInterceptor) {
	opts := []grpc.ServerOption{grpc.MaxRecvMsgSize(128 << 20), grpc.MaxSendMsgSize(128 << 20),
		grpc.ChainUnaryInterceptor(append([]grpc.UnaryServerInterceptor{c.fwd.Authenticate}, interceptors...)...)}
	if c.tls != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(c.tls)))
	}
	c.gs = grpc.NewServer(opts...)
	forward.RegisterOps(c.gs, eng)
	workflowservice.RegisterWorkflowServiceServer(c.gs, ws)
	operatorservice.RegisterOperatorServiceServer(c.gs, ops)
	c.done = make(chan error, 1)
	go func() { c.done <- c.gs.Serve(c.lis) }()
}

// close stops the internal port and leaves the cluster, releasing the
// shards so other nodes take them at once. Called after the engine closed.
func (c *clusterPart) close(log interface{ Warn(string, ...any) }) {
	if c == nil {
		return
	}
	if c.gs != nil {
		c.gs.Stop()
	} else {
		c.lis.Close()
	}
	if c.fwd != nil {
		c.fwd.Close()
	}
	if c.node != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.node.Leave(ctx); err != nil {
			log.Warn("leaving the cluster failed; the shards move when their leases expire", "error", err)
		}
	}
}

// Node is the server's cluster node (nil when not in a cluster).
func (s *Server) Node() *cluster.Node {
	if s.cluster == nil {
		return nil
	}
	return s.cluster.node
}

// NodeAddr is the internal address of the server's cluster node ("" when
// not in a cluster).
func (s *Server) NodeAddr() string {
	if s.cluster == nil {
		return ""
	}
	return s.cluster.lis.Addr().String()
}

// Kill stops the server as a crash would, for tests: the node stops
// heartbeating without releasing its shards, the ports close at once and
// nothing is flushed beyond what was acknowledged.
func (s *Server) Kill() {
	if s.cluster != nil && s.cluster.node != nil {
		s.cluster.node.Stop()
		s.cluster.node = nil
	}
	s.grpc.Stop()
	s.Stop()
}
