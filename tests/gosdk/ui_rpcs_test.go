package gosdk

import (
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// TestEmptyNexusAndBatchRegistries: a fresh server has no Nexus endpoints
// and no batch operations. Reads say so truthfully (an empty list; NotFound
// for an id), which is what the Web UI's Nexus and Batch pages need to show
// their own messages; bad input is InvalidArgument naming the field.
// (Endpoint writes are covered by nexus_test.go.)
func TestEmptyNexusAndBatchRegistries(t *testing.T) {
	e := newEnv(t)
	conn, err := grpc.NewClient(e.srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	op := operatorservice.NewOperatorServiceClient(conn)
	wf := workflowservice.NewWorkflowServiceClient(conn)
	ctx := erCtx(t, 10*time.Second)

	want := func(name string, err error, code codes.Code, msg string) {
		t.Helper()
		if s := status.Convert(err); s.Code() != code || !strings.Contains(s.Message(), msg) {
			t.Errorf("%s: %v %q, want %v containing %q", name, s.Code(), s.Message(), code, msg)
		}
	}

	eps, err := op.ListNexusEndpoints(ctx, &operatorservice.ListNexusEndpointsRequest{PageSize: 10})
	if err != nil || len(eps.GetEndpoints()) != 0 || len(eps.GetNextPageToken()) != 0 {
		t.Fatalf("ListNexusEndpoints = %v, %v; want an empty list", eps, err)
	}
	_, err = op.ListNexusEndpoints(ctx, &operatorservice.ListNexusEndpointsRequest{PageSize: -1})
	want("ListNexusEndpoints page size -1", err, codes.InvalidArgument, "PageSize")
	_, err = op.GetNexusEndpoint(ctx, &operatorservice.GetNexusEndpointRequest{Id: "ep-1"})
	want("GetNexusEndpoint", err, codes.NotFound, `"ep-1" not found`)
	_, err = op.GetNexusEndpoint(ctx, &operatorservice.GetNexusEndpointRequest{})
	want("GetNexusEndpoint no id", err, codes.InvalidArgument, "Id")
	_, err = op.CreateNexusEndpoint(ctx, &operatorservice.CreateNexusEndpointRequest{})
	want("CreateNexusEndpoint no spec", err, codes.InvalidArgument, "Spec")
	_, err = op.DeleteNexusEndpoint(ctx, &operatorservice.DeleteNexusEndpointRequest{Id: "ep-1"})
	want("DeleteNexusEndpoint unknown id", err, codes.NotFound, `"ep-1" not found`)

	jobs, err := wf.ListBatchOperations(ctx, &workflowservice.ListBatchOperationsRequest{Namespace: "default"})
	if err != nil || len(jobs.GetOperationInfo()) != 0 {
		t.Fatalf("ListBatchOperations = %v, %v; want an empty list", jobs, err)
	}
	_, err = wf.ListBatchOperations(ctx, &workflowservice.ListBatchOperationsRequest{})
	want("ListBatchOperations no namespace", err, codes.InvalidArgument, "Namespace")
	_, err = wf.ListBatchOperations(ctx, &workflowservice.ListBatchOperationsRequest{Namespace: "no-such-ns"})
	want("ListBatchOperations unknown namespace", err, codes.NotFound, "no-such-ns")
	_, err = wf.DescribeBatchOperation(ctx, &workflowservice.DescribeBatchOperationRequest{Namespace: "default", JobId: "job-1"})
	want("DescribeBatchOperation", err, codes.NotFound, `"job-1" not found`)
	_, err = wf.DescribeBatchOperation(ctx, &workflowservice.DescribeBatchOperationRequest{Namespace: "default"})
	want("DescribeBatchOperation no job id", err, codes.InvalidArgument, "JobId")
	_, err = wf.StopBatchOperation(ctx, &workflowservice.StopBatchOperationRequest{Namespace: "default", JobId: "job-1", Reason: "r"})
	want("StopBatchOperation", err, codes.NotFound, `"job-1" not found`)
	_, err = wf.StartBatchOperation(ctx, &workflowservice.StartBatchOperationRequest{Namespace: "default", JobId: "job-1"})
	want("StartBatchOperation", err, codes.InvalidArgument, "Reason")
}
