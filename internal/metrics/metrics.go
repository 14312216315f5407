// Package metrics exposes Sundial's Prometheus metrics on /metrics.
//
// Names and labels follow Temporal's server metrics where Temporal has one
// (service_requests, service_latency, workflow_success,
// task_schedule_to_start_latency, persistence_latency, ...) so dashboards
// built for Temporal work unchanged; metrics Temporal has no equivalent for
// are prefixed sundial_. docs/METRICS.md lists them all.
//
// The seams are narrow: the gRPC interceptors (rpc.go) see every request,
// the engine reports run outcomes and store writes through
// engine.Observer (workflows.go), and gauges are read from the engine and
// the store only when Prometheus scrapes (gauges.go). A nil *Metrics is
// valid and records nothing. Label children are looked up once per label
// set and cached, so the hot path does no map-of-strings hashing or
// allocation per event.
package metrics

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Label names, as Temporal spells them.
const (
	labelOperation    = "operation"
	labelNamespace    = "namespace"
	labelWorkflowType = "workflowType"
	labelTaskQueue    = "taskqueue"
	labelTaskType     = "task_type"
	labelErrorType    = "error_type"
)

// unknown is the label value for a missing or unknown namespace, as in
// Temporal.
const unknown = "_unknown_"

// Metrics holds every metric of one server.
type Metrics struct {
	reg *prometheus.Registry
	rpc rpcMetrics
	wf  workflowMetrics
	st  storeMetrics
	tq  taskMetrics
}

// New creates the metrics with Go runtime and process collectors
// registered.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.rpc.init(m.reg)
	m.wf.init(m.reg)
	m.st.init(m.reg)
	m.tq.init(m.reg)
	return m
}

// Registry is the registry the metrics are in (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Server serves /metrics on a listener.
type Server struct {
	lis net.Listener
	srv *http.Server
	tls bool
}

// Serve serves m on lis (/metrics) until Close: over HTTPS when tlsCfg is
// set (the server's certificate, so scrapes are encrypted whenever the
// gRPC port is), plain HTTP otherwise.
func (m *Metrics) Serve(lis net.Listener, tlsCfg *tls.Config) *Server {
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	s := &Server{lis: lis, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	served := lis
	if tlsCfg != nil {
		s.tls = true
		served = tls.NewListener(lis, tlsCfg)
	}
	go func() { _ = s.srv.Serve(served) }()
	return s
}

// TLS says whether /metrics is served over HTTPS.
func (s *Server) TLS() bool { return s.tls }

// Addr is the address /metrics is served on.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// Close stops serving.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// latencyBuckets (seconds) span a sub-millisecond in-memory answer to a
// minute-long poll.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// storeBuckets (seconds) are finer: a write is tens of microseconds, an
// fsync up to tens of milliseconds.
var storeBuckets = []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}
