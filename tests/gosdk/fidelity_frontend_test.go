package gosdk

import (
	"testing"

	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// TestFidelityHealth: the gRPC health service answers SERVING for the
// WorkflowService (what the SDKs' CheckHealth and `temporal operator
// cluster health` ask), the OperatorService and the empty name, as
// Temporal's frontend does; an unknown service is NotFound.
func TestFidelityHealth(t *testing.T) {
	e := newEnv(t)
	if _, err := e.c.CheckHealth(e.ctx(), &client.CheckHealthRequest{}); err != nil {
		t.Fatalf("SDK CheckHealth: %v", err)
	}
	conn, err := grpc.NewClient(e.srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	for _, svc := range []string{"", "temporal.api.workflowservice.v1.WorkflowService", "temporal.api.operatorservice.v1.OperatorService"} {
		resp, err := hc.Check(e.ctx(), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil {
			t.Fatalf("Check(%q): %v", svc, err)
		}
		if resp.Status != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("Check(%q) = %v, want SERVING", svc, resp.Status)
		}
	}
	if _, err := hc.Check(e.ctx(), &healthpb.HealthCheckRequest{Service: "no.such.Service"}); status.Code(err) != codes.NotFound {
		t.Fatalf("Check(unknown) = %v, want NotFound", err)
	}
}
