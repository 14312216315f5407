package gosdk

import (
	"fmt"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/status"
)

// TestClusterRelayedReplyUncompressed: a request a node forwards to the
// workflow's owner is answered to the client uncompressed, as the node's
// own replies are (uncompressedReplies), although the client compresses
// its requests with gzip as the Go SDK does (compressing every relayed
// reply cost server CPU on the node the client uses).
func TestClusterRelayedReplyUncompressed(t *testing.T) {
	tc := newCluster(t, 3)
	var id string
	for i := 0; id == ""; i++ {
		if c := fmt.Sprintf("relay-%d", i); tc.ownerOf(c) > 0 {
			id = c
		}
	}
	enc := &replyEncoding{}
	conn, err := grpc.NewClient(tc.nodes[0].srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.UseCompressor(gzip.Name)), grpc.WithStatsHandler(enc))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var resp *workflowservice.StartWorkflowExecutionResponse
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		// Unavailable while node 0's view of the owners catches up.
		resp, err = workflowservice.NewWorkflowServiceClient(conn).StartWorkflowExecution(binCtx(t), &workflowservice.StartWorkflowExecutionRequest{
			Namespace: "default", WorkflowId: id, WorkflowType: &commonpb.WorkflowType{Name: "W"},
			TaskQueue: &taskqueuepb.TaskQueue{Name: "relay"}, RequestId: id, Identity: "test"})
		if status.Code(err) != codes.Unavailable || time.Now().After(deadline) {
			break
		}
	}
	if err != nil || resp.GetRunId() == "" {
		t.Fatalf("start through node 0 of a workflow of node %d: %v, %v", tc.ownerOf(id), resp, err)
	}
	if c := enc.get(); c != "" && c != "identity" {
		t.Fatalf("relayed reply compressed with %q, want none", c)
	}
}
