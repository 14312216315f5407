package frontend

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestExplainUnimplemented: only grpc's bare answer for an RPC with no
// handler is replaced; a handler's own Unimplemented and other codes pass.
func TestExplainUnimplemented(t *testing.T) {
	const svc = "/temporal.api.workflowservice.v1.WorkflowService/"
	notYetFeature["FutureFeatureRPC"] = "a future feature"
	defer delete(notYetFeature, "FutureFeatureRPC")
	for _, c := range []struct {
		method string
		in     error
		code   codes.Code
		msg    string
	}{
		{"FutureFeatureRPC", status.Error(codes.Unimplemented, "method FutureFeatureRPC not implemented"), codes.Unimplemented,
			"Sundial does not implement FutureFeatureRPC yet (a future feature)."},
		{"SomeFutureRPC", status.Error(codes.Unimplemented, "method SomeFutureRPC not implemented"), codes.Unimplemented,
			"Sundial does not implement SomeFutureRPC yet."},
		{"StartBatchOperation", status.Error(codes.Unimplemented, "own words"), codes.Unimplemented, "own words"},
		{"FutureFeatureRPC", status.Error(codes.Unimplemented, "method Other not implemented"), codes.Unimplemented, "method Other not implemented"},
		{"FutureFeatureRPC", status.Error(codes.InvalidArgument, "method FutureFeatureRPC not implemented"), codes.InvalidArgument,
			"method FutureFeatureRPC not implemented"},
	} {
		st := status.Convert(explainUnimplemented(svc+c.method, c.in))
		if st.Code() != c.code || st.Message() != c.msg {
			t.Errorf("%s %v: got %v %q, want %v %q", c.method, c.in, st.Code(), st.Message(), c.code, c.msg)
		}
	}
}
