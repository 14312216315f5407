package metrics

import (
	"context"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
)

// BenchmarkUnaryInterceptor is the per-request cost of the metrics
// interceptor on a cached label set (run: go test -bench . -benchmem).
func BenchmarkUnaryInterceptor(b *testing.B) {
	m := New()
	ic := m.UnaryInterceptor(func(string) bool { return true })
	info := &grpc.UnaryServerInfo{FullMethod: "/temporal.api.workflowservice.v1.WorkflowService/SignalWorkflowExecution"}
	req := &workflowservice.SignalWorkflowExecutionRequest{Namespace: "default"}
	h := func(context.Context, any) (any, error) { return nil, nil }
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_, _ = ic(ctx, req, info, h)
	}
}

// BenchmarkObserver is the cost of reporting one run outcome and one
// store write.
func BenchmarkObserver(b *testing.B) {
	o := New().Observer()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		o.WorkflowClosed("default", "Workflow", enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
		o.StoreWrite("Sync", 1000, nil)
	}
}
