// Package server assembles a Sundial server: store, engine and the gRPC
// frontend. Tests start it in-process; cmd/sundial wraps it in a binary.
package server

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"os"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/gzip" // clients may compress requests (the Python and TypeScript SDKs' core tries gzip first)
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"

	"github.com/sundial-io/sundial/internal/auth"
	"github.com/sundial-io/sundial/internal/batch"
	"github.com/sundial-io/sundial/internal/engine"
	"github.com/sundial-io/sundial/internal/execution"
	"github.com/sundial-io/sundial/internal/frontend"
	"github.com/sundial-io/sundial/internal/metrics"
	"github.com/sundial-io/sundial/internal/schedule"
	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/webui"
)

// Config configures a server.
type Config struct {
	// Addr is host:port to listen on; port 0 picks a free one.
	Addr string
	// DataDir holds the store; ignored when InMemory or Postgres is set.
	DataDir  string
	InMemory bool
	// Postgres, when set, is the connection URL of a PostgreSQL database
	// that holds the store instead of a data dir (internal/store/pgstore);
	// the schema is created or migrated at start.
	Postgres string
	Logger   *slog.Logger
	// Limits are the history limits (nil: Temporal's defaults); see
	// ParseDynamicConfig.
	Limits *execution.Limits
	// CacheBytes bounds the estimated memory of the workflows the engine
	// keeps in memory (0: engine.DefaultCacheBytes, 256 MiB); the rest
	// stay in the store and are loaded on demand.
	CacheBytes int64
	// CheckSnapshots makes every load of a run from its snapshot also
	// replay its history and fail on a difference (tests; see
	// engine.Options.CheckSnapshots).
	CheckSnapshots bool
	// Namespaces are registered at start when missing (the dev server's
	// --namespace).
	Namespaces []string
	// SearchAttributes are registered at start in the default namespace
	// and in every one of Namespaces (the dev server's --search-attribute).
	SearchAttributes map[string]enumspb.IndexedValueType
	// MetricsAddr, when set, serves Prometheus metrics on host:port
	// /metrics (port 0 picks a free one).
	MetricsAddr string
	// UIAddr is host:port for the official Temporal Web UI (internal/webui);
	// port 0 picks a free one. Empty runs headless.
	UIAddr string
	// TLS, when its files are set, serves the gRPC port over TLS (mutual
	// TLS with a client CA); the files are reloaded when they change.
	TLS auth.TLSFiles
	// UIClientCertFile and UIClientKeyFile are the client certificate the
	// in-process Web UI presents to the frontend under mutual TLS.
	UIClientCertFile, UIClientKeyFile string
	// Auth, when a credential file is set, requires a bearer token on every
	// request (docs/SECURITY.md); unset, every caller may do anything.
	Auth auth.Options
	// Cluster, when set (with Postgres), makes the server a node of the
	// cluster in that database (cluster.go).
	Cluster *ClusterConfig
}

// Server is a running Sundial instance.
type Server struct {
	cfg    Config
	log    *slog.Logger
	store  store.Store
	engine *engine.Engine
	sched  *schedule.Scheduler
	batch  *batch.Batcher
	grpc   *grpc.Server
	health *health.Server
	lis    net.Listener
	ui     *webui.Server // nil when headless
	done   chan error
	// security describes TLS and authorization for the startup line.
	security string

	metrics     *metrics.Metrics // nil when MetricsAddr is empty
	metricsHTTP *metrics.Server
	cluster     *clusterPart // nil when not a cluster node
}

// MaxRequestBytes is the largest request accepted, as in Temporal.
const MaxRequestBytes = 4 << 20

// Start opens the store, recovers open workflows and starts serving.
//
// The TLS and credential files are loaded, the ports opened and the data
// dir checked first, so that a bad file, a taken port or an unusable data
// dir fails the start before anything is created on disk.
func Start(cfg Config) (*Server, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	// Certificates and credential files first: a bad one fails the start
	// before a port is taken or anything is created on disk.
	phases := newStartupPhases()
	sec, err := security(cfg, log)
	if err != nil {
		return nil, err
	}
	phases.mark("security")
	lis, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, listenError("gRPC", cfg.Addr, err)
	}
	var m *metrics.Metrics
	var mlis net.Listener
	if cfg.MetricsAddr != "" {
		if mlis, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			lis.Close()
			return nil, listenError("metrics", cfg.MetricsAddr, err)
		}
		m = metrics.New()
	}
	if cfg.UIAddr != "" {
		// The Web UI binds its port itself once the frontend serves; a
		// taken port must still fail the start before anything is on disk.
		l, err := net.Listen("tcp", cfg.UIAddr)
		if err != nil {
			lis.Close()
			if mlis != nil {
				mlis.Close()
			}
			return nil, listenError("Web UI", cfg.UIAddr, err)
		}
		l.Close()
	}
	cp, err := listenCluster(cfg)
	if err != nil {
		lis.Close()
		if mlis != nil {
			mlis.Close()
		}
		return nil, err
	}
	closeListeners := func() {
		lis.Close()
		if mlis != nil {
			mlis.Close()
		}
		cp.close(log)
	}
	phases.mark("listen")
	st, storeStats, dir, err := openStore(cfg)
	if err != nil {
		closeListeners()
		return nil, err
	}
	phases.mark("store")
	phases.store(st)
	eopts := engine.Options{Logger: log, Limits: cfg.Limits, Observer: m.Observer(), CacheBytes: cfg.CacheBytes, DeferRecovery: true, CheckSnapshots: cfg.CheckSnapshots}
	if cp != nil {
		if err := cp.join(cfg, sec); err != nil {
			st.Close()
			closeListeners()
			return nil, err
		}
		eopts.Ownership, eopts.Peers = cp.node, cp.fwd
		m.ClusterCalls(cp.fwd.InternalCalls)
	}
	eng, err := engine.New(st, eopts)
	if err != nil {
		st.Close()
		closeListeners()
		return nil, err
	}
	phases.mark("engine")
	phases.engine(eng)
	var schedWatch atomic.Pointer[schedule.Scheduler]
	var batchWatch atomic.Pointer[batch.Batcher]
	if cp != nil {
		cp.node.Watch(func(taken, lost []int) {
			eng.ShardsChanged(taken, lost)
			if sc := schedWatch.Load(); sc != nil {
				sc.ShardsChanged(taken, lost)
			}
			if b := batchWatch.Load(); b != nil {
				b.ShardsChanged(taken, lost)
			}
		})
	}
	if err := setUp(eng, cfg); err != nil {
		eng.Close()
		st.Close()
		closeListeners()
		return nil, err
	}
	phases.mark("setup")
	var sched *schedule.Scheduler
	if cp != nil {
		// Changes of shards before this are caught up by its load and
		// its periodic reconcile.
		sched, err = schedule.NewOnCluster(eng, st, log, cp.node, cp.fwd)
		schedWatch.Store(sched)
	} else {
		sched, err = schedule.New(eng, st, log)
	}
	if err != nil {
		eng.Close()
		st.Close()
		closeListeners()
		return nil, err
	}
	phases.mark("schedules")
	// The batcher makes the single RPCs of its option and activity jobs on
	// the frontend (created here, before the jobs resume).
	fe := frontend.New(eng, log)
	bopts := batch.Options{PostResetOptions: frontend.PostResetMerges, Service: fe, CheckWorkflowOptions: frontend.CheckOptionsUpdate}
	var batcher *batch.Batcher
	if cp != nil {
		// Each node runs the jobs of the shards it holds (changes of
		// shards before this are caught up by its load and reconcile).
		batcher, err = batch.NewOnCluster(eng, st, log, bopts, cp.node, cp.fwd)
		batchWatch.Store(batcher)
	} else {
		batcher, err = batch.New(eng, st, log, bopts)
	}
	if err != nil {
		sched.Close()
		eng.Close()
		st.Close()
		closeListeners()
		return nil, err
	}
	phases.mark("batches")
	known := func(ns string) bool { return eng.CheckNamespace(ns) == nil }
	// Metrics first: they must see the final status of every request,
	// refusals by the authorizer included.
	unary := []grpc.UnaryServerInterceptor{m.UnaryInterceptor(known)}
	stream := []grpc.StreamServerInterceptor{m.StreamInterceptor()}
	if sec.authz != nil {
		unary = append(unary, sec.authz.Unary())
		stream = append(stream, sec.authz.Stream())
	}
	// uncompressedReplies before the forwarder: a reply a node relays from
	// another node goes uncompressed to the client too.
	unary = append(unary, uncompressedReplies)
	if cp != nil {
		unary = append(unary, cp.fwd.Unary)
	}
	unary = append(unary, frontend.Interceptor(log))
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(MaxRequestBytes),
		grpc.MaxSendMsgSize(128 << 20),
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(stream...),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
		grpc.NumStreamWorkers(streamWorkers),
	}
	if sec.tls != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(sec.tls)))
	}
	gs := grpc.NewServer(opts...)
	ws := frontend.WithSchedules(fe.WithBatches(batcher), sched)
	ops := frontend.NewOperator(eng, log)
	workflowservice.RegisterWorkflowServiceServer(gs, ws)
	operatorservice.RegisterOperatorServiceServer(gs, ops)
	if cp != nil {
		cp.serve(ws, ops, eng, []grpc.UnaryServerInterceptor{cp.fwd.Unary, uncompressedReplies, frontend.Interceptor(log)})
	}
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	// As Temporal's frontend: each served API answers SERVING under its full
	// service name (the SDKs' CheckHealth and `temporal operator cluster
	// health` ask for the WorkflowService); "" is SERVING from the start.
	hs.SetServingStatus(workflowservice.WorkflowService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus(operatorservice.OperatorService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	// The metrics and Web UI ports are HTTPS whenever the gRPC port is TLS.
	var httpsTLS *tls.Config
	if sec.tls != nil {
		httpsTLS = auth.HTTPSTLS(sec.tls)
	}
	s := &Server{security: sec.describe(), cfg: cfg, log: log, store: st, engine: eng, sched: sched, batch: batcher, grpc: gs, health: hs, lis: lis, done: make(chan error, 1), metrics: m, cluster: cp}
	if m != nil {
		m.Watch(metrics.Sources{Engine: eng, Store: storeStats})
		s.metricsHTTP = m.Serve(mlis, httpsTLS)
	}
	go func() { s.done <- gs.Serve(lis) }()
	phases.mark("grpc")
	phases.log(log)
	eng.StartRecovery() // once serving: requests go first (engine.Options.DeferRecovery)
	cfg.DataDir = dir
	s.cfg = cfg
	if cfg.UIAddr != "" {
		ui, err := webui.Start(webui.Config{
			Addr: cfg.UIAddr, Frontend: s.Addr(), Logger: log,
			FrontendTLS: sec.tls != nil, ClientCertFile: cfg.UIClientCertFile, ClientKeyFile: cfg.UIClientKeyFile,
			HTTPS: httpsTLS,
		})
		if err != nil {
			s.Stop()
			return nil, err
		}
		s.ui = ui
	}
	return s, nil
}

// uncompressedReplies sends replies without compression even when the
// request came gzip-compressed (by default gRPC answers in the request's
// encoding). The Go SDK compresses every call; compressing every reply as
// well cost ~50% more server CPU per workflow, and on loopback or a LAN
// the bytes saved are not worth it. Accepting gzip requests is what
// matters to clients (sdk-core reconnects without compression when a
// server refuses it).
func uncompressedReplies(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	_ = grpc.SetSendCompressor(ctx, encoding.Identity)
	return h(ctx, req)
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// Security describes the gRPC port's TLS and authorization, e.g. "TLS,
// no authentication".
func (s *Server) Security() string { return s.security }

// MetricsAddr is the address /metrics is served on ("" when off).
func (s *Server) MetricsAddr() string {
	if s.metricsHTTP == nil {
		return ""
	}
	return s.metricsHTTP.Addr()
}

// MetricsURL is the URL Prometheus scrapes ("" when off): https when the
// server has a TLS certificate.
func (s *Server) MetricsURL() string {
	if s.metricsHTTP == nil {
		return ""
	}
	scheme := "http"
	if s.metricsHTTP.TLS() {
		scheme = "https"
	}
	return scheme + "://" + s.metricsHTTP.Addr() + "/metrics"
}

// UIURL is the Web UI's address to open in a browser ("" when headless).
func (s *Server) UIURL() string {
	if s.ui == nil {
		return ""
	}
	return s.ui.URL()
}

// DataDir is the absolute data directory ("" in memory or on PostgreSQL).
func (s *Server) DataDir() string {
	if s.cfg.InMemory || s.cfg.Postgres != "" {
		return ""
	}
	return s.cfg.DataDir
}

// Stop shuts down gracefully: long polls are released, in-flight requests
// finish, then the store is closed cleanly.
func (s *Server) Stop() {
	if s.ui != nil {
		s.ui.Stop() // no new browser calls while the frontend drains
	}
	if n := s.Node(); n != nil {
		n.Watch(nil) // the closing engine takes no more shards
	}
	s.health.Shutdown() // every service NOT_SERVING while we drain, as Temporal
	s.sched.Close()     // no schedule fires into a closing engine
	s.batch.Close()     // batch jobs stop where they are; they resume at the next start
	s.engine.Close()    // releases pollers and waiters first
	if s.cluster != nil && s.cluster.fwd != nil {
		s.cluster.fwd.Drain() // and the long polls this node forwarded to others
	}
	stopped := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		s.grpc.Stop()
	}
	s.cluster.close(s.log)
	if err := s.store.Close(); err != nil {
		s.log.Error("closing store", "err", err)
	}
	if s.metricsHTTP != nil {
		_ = s.metricsHTTP.Close()
	}
}

// streamWorkers is the size of grpc-go's pool of reusable handler
// goroutines (an experimental option). Without it every RPC runs on a fresh
// goroutine whose stack grows, copy by copy, through our handler, Pebble and
// protobuf: ~10% of server CPU under load. A pooled goroutine keeps its grown
// stack. Long polls hold workers for up to a minute, so the pool is sized
// above the usual number of waiting pollers and result waiters; when all
// are busy grpc-go falls back to a fresh goroutine. Measured: ~7% less
// server CPU per one-activity workflow at concurrency 100 (docs/PERFORMANCE.md).
const streamWorkers = 256
