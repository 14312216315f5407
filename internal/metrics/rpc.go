package metrics

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// rpcMetrics are Temporal's per-request service metrics.
type rpcMetrics struct {
	requests  *prometheus.CounterVec   // service_requests
	errors    *prometheus.CounterVec   // service_errors (unexpected errors only)
	errorType *prometheus.CounterVec   // service_error_with_type (every error)
	latency   *prometheus.HistogramVec // service_latency
	series    sync.Map                 // rpcKey -> *rpcSeries
}

type rpcKey struct{ method, ns string }

// rpcSeries are the label children of one operation and namespace.
type rpcSeries struct {
	op, ns   string
	requests prometheus.Counter
	errors   prometheus.Counter
	latency  prometheus.Observer
}

func (r *rpcMetrics) init(reg prometheus.Registerer) {
	l := []string{labelOperation, labelNamespace}
	r.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "service_requests", Help: "gRPC requests received, by operation and namespace."}, l)
	r.errors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "service_errors", Help: "gRPC requests that failed with an unexpected (server-side) error: Internal, Unavailable, Unknown, DeadlineExceeded, ResourceExhausted, DataLoss, Unimplemented, Aborted."}, l)
	r.errorType = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "service_error_with_type", Help: "gRPC requests that failed, by gRPC status code (error_type)."}, append(l, labelErrorType))
	r.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "service_latency", Help: "gRPC request latency in seconds (long polls included).", Buckets: latencyBuckets}, l)
	reg.MustRegister(r.requests, r.errors, r.errorType, r.latency)
}

// operation is Temporal's operation label for a full gRPC method name:
// the method, with "Operator" before OperatorService methods.
func operation(fullMethod string) string {
	i := strings.LastIndexByte(fullMethod, '/')
	name := fullMethod[i+1:]
	if strings.Contains(fullMethod, ".OperatorService/") {
		return "Operator" + name
	}
	return name
}

func (r *rpcMetrics) get(method, ns string) *rpcSeries {
	k := rpcKey{method, ns}
	if s, ok := r.series.Load(k); ok {
		return s.(*rpcSeries)
	}
	op := operation(method)
	s := &rpcSeries{
		op: op, ns: ns,
		requests: r.requests.WithLabelValues(op, ns),
		errors:   r.errors.WithLabelValues(op, ns),
		latency:  r.latency.WithLabelValues(op, ns),
	}
	actual, _ := r.series.LoadOrStore(k, s)
	return actual.(*rpcSeries)
}

// expected reports whether a status code is the caller's doing (bad
// input, missing entity, conflict), which Temporal leaves out of
// service_errors.
func expected(c codes.Code) bool {
	switch c {
	case codes.OK, codes.Canceled, codes.InvalidArgument, codes.NotFound, codes.AlreadyExists,
		codes.PermissionDenied, codes.FailedPrecondition, codes.OutOfRange, codes.Unauthenticated:
		return true
	}
	return false
}

func (r *rpcMetrics) done(s *rpcSeries, began time.Time, err error) {
	s.latency.Observe(time.Since(began).Seconds())
	if err == nil {
		return
	}
	c := status.Code(err)
	r.errorType.WithLabelValues(s.op, s.ns, c.String()).Inc()
	if !expected(c) {
		s.errors.Inc()
	}
}

type namespaced interface{ GetNamespace() string }

// UnaryInterceptor counts and times every unary RPC, and reads task
// attempts and schedule-to-start latencies off the poll responses. known
// tells whether a namespace exists: requests naming any other get the
// "_unknown_" label, so a client cannot grow the label set at will. It
// must be the outermost interceptor, so it sees the final gRPC status.
func (m *Metrics) UnaryInterceptor(known func(ns string) bool) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if m == nil {
			return h(ctx, req)
		}
		ns := unknown
		if r, ok := req.(namespaced); ok {
			if n := r.GetNamespace(); n != "" && known(n) {
				ns = n
			}
		}
		s := m.rpc.get(info.FullMethod, ns)
		s.requests.Inc()
		began := time.Now()
		resp, err := h(ctx, req)
		m.rpc.done(s, began, err)
		if err == nil {
			m.tasks(ns, req, resp)
		}
		return resp, err
	}
}

// StreamInterceptor counts and times streaming RPCs (gRPC health Watch;
// Temporal's services have no streaming methods).
func (m *Metrics) StreamInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		if m == nil {
			return h(srv, ss)
		}
		s := m.rpc.get(info.FullMethod, unknown)
		s.requests.Inc()
		began := time.Now()
		err := h(srv, ss)
		m.rpc.done(s, began, err)
		return err
	}
}

// tasks records what a successful poll (or a workflow task completion that
// returned the next task or eager activities) handed to a worker.
func (m *Metrics) tasks(ns string, req, resp any) {
	switch r := resp.(type) {
	case *workflowservice.PollWorkflowTaskQueueResponse:
		m.workflowTask(ns, r)
	case *workflowservice.PollActivityTaskQueueResponse:
		if len(r.TaskToken) > 0 {
			q := req.(*workflowservice.PollActivityTaskQueueRequest).GetTaskQueue().GetName()
			m.tq.activityStarted(ns, q, r)
		}
	case *workflowservice.RespondWorkflowTaskCompletedResponse:
		m.workflowTask(ns, r.GetWorkflowTask())
		for _, a := range r.GetActivityTasks() {
			m.tq.activityAttempt(ns, a.GetAttempt())
		}
	}
}

func (m *Metrics) workflowTask(ns string, r *workflowservice.PollWorkflowTaskQueueResponse) {
	if len(r.GetTaskToken()) == 0 {
		return
	}
	m.tq.workflowTaskStarted(ns, r)
}
