package metrics

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	enumspb "go.temporal.io/api/enums/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestOperation(t *testing.T) {
	for in, want := range map[string]string{
		"/temporal.api.workflowservice.v1.WorkflowService/StartWorkflowExecution": "StartWorkflowExecution",
		"/temporal.api.operatorservice.v1.OperatorService/ListSearchAttributes":   "OperatorListSearchAttributes",
		"/grpc.health.v1.Health/Check":                                            "Check",
	} {
		if got := operation(in); got != want {
			t.Errorf("operation(%q) = %q, want %q", in, got, want)
		}
	}
}

// A nil *Metrics is valid: its interceptors only call the handler.
func TestNilMetrics(t *testing.T) {
	var m *Metrics
	called := false
	_, err := m.UnaryInterceptor(func(string) bool { return true })(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/x/Y"},
		func(context.Context, any) (any, error) { called = true; return nil, nil })
	if err != nil || !called {
		t.Fatalf("nil metrics interceptor: %v, called %v", err, called)
	}
	if m.Observer() != nil {
		t.Fatal("nil metrics gave an observer")
	}
	m.Watch(Sources{})
}

func TestInterceptorCountsAndClassifies(t *testing.T) {
	m := New()
	ic := m.UnaryInterceptor(func(ns string) bool { return ns == "default" })
	info := &grpc.UnaryServerInfo{FullMethod: "/temporal.api.workflowservice.v1.WorkflowService/DescribeNamespace"}
	call := func(req any, err error) {
		_, _ = ic(context.Background(), req, info, func(context.Context, any) (any, error) { return nil, err })
	}
	call(nsReq("default"), nil)
	call(nsReq("default"), status.Error(codes.NotFound, "x"))
	call(nsReq("other"), status.Error(codes.Internal, "x"))
	call(nsReq("other"), errors.New("plain"))
	if got := testutil.ToFloat64(m.rpc.requests.WithLabelValues("DescribeNamespace", "default")); got != 2 {
		t.Errorf("requests default = %v", got)
	}
	if got := testutil.ToFloat64(m.rpc.requests.WithLabelValues("DescribeNamespace", unknown)); got != 2 {
		t.Errorf("requests _unknown_ = %v", got)
	}
	if got := testutil.ToFloat64(m.rpc.errors.WithLabelValues("DescribeNamespace", "default")); got != 0 {
		t.Errorf("NotFound counted as a server error: %v", got)
	}
	if got := testutil.ToFloat64(m.rpc.errors.WithLabelValues("DescribeNamespace", unknown)); got != 2 {
		t.Errorf("server errors _unknown_ = %v, want 2 (Internal, Unknown)", got)
	}
	if got := testutil.ToFloat64(m.rpc.errorType.WithLabelValues("DescribeNamespace", "default", "NotFound")); got != 1 {
		t.Errorf("error_with_type NotFound = %v", got)
	}
}

func TestObserverOutcomes(t *testing.T) {
	m := New()
	o := m.Observer()
	o.WorkflowStarted("default", "W")
	o.WorkflowClosed("default", "W", enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
	o.WorkflowClosed("default", "W", enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT)
	o.StoreWrite("Sync", 1000, errors.New("disk"))
	s := m.wf.get("default", "W")
	for name, c := range map[string]float64{"started": testutil.ToFloat64(s.started), "success": testutil.ToFloat64(s.success), "timeout": testutil.ToFloat64(s.timeout), "failed": testutil.ToFloat64(s.failed)} {
		want := 1.0
		if name == "failed" {
			want = 0
		}
		if c != want {
			t.Errorf("%s = %v, want %v", name, c, want)
		}
	}
	if got := testutil.ToFloat64(m.st.sync.errors); got != 1 {
		t.Errorf("persistence_errors Sync = %v", got)
	}
}

type nsReq string

func (n nsReq) GetNamespace() string { return string(n) }
