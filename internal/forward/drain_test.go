package forward

import (
	"context"
	"net"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sundial-io/sundial/internal/store"
)

// blockingOwner is a peer whose long polls wait for their caller to go
// away, and whose signals answer at once.
type blockingOwner struct {
	workflowservice.UnimplementedWorkflowServiceServer
}

func (blockingOwner) PollWorkflowTaskQueue(ctx context.Context, _ *workflowservice.PollWorkflowTaskQueueRequest) (*workflowservice.PollWorkflowTaskQueueResponse, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (blockingOwner) SignalWorkflowExecution(context.Context, *workflowservice.SignalWorkflowExecutionRequest) (*workflowservice.SignalWorkflowExecutionResponse, error) {
	return &workflowservice.SignalWorkflowExecutionResponse{}, nil
}

type oneNode struct{}

func (oneNode) ID() string                     { return "test-node" }
func (oneNode) ShardOf(string, string) int     { return 0 }
func (oneNode) Fence(int) (*store.Fence, bool) { return nil, false }
func (oneNode) OwnerAddr(int) string           { return "" }
func (oneNode) Peers() []string                { return nil }
func (oneNode) OwnerToken(int) string          { return "" }

// TestDrainEndsForwardedLongPolls: a long poll forwarded to another node
// ends with Unavailable as soon as the forwarding node drains (it is
// stopping), and one forwarded after that ends at once; other calls are
// still forwarded.
func TestDrainEndsForwardedLongPolls(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	workflowservice.RegisterWorkflowServiceServer(gs, blockingOwner{})
	go gs.Serve(lis)
	t.Cleanup(gs.Stop)
	f := New(oneNode{})
	t.Cleanup(f.Close)
	addr := lis.Addr().String()
	const poll = "/temporal.api.workflowservice.v1.WorkflowService/PollWorkflowTaskQueue"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	done := make(chan error, 1)
	go func() {
		_, err := f.Invoke(ctx, addr, poll, &workflowservice.PollWorkflowTaskQueueRequest{Namespace: "default"})
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("poll ended before Drain: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	began := time.Now()
	f.Drain()
	select {
	case err := <-done:
		if status.Code(err) != codes.Unavailable {
			t.Fatalf("drained poll: %v, want Unavailable", err)
		}
		if d := time.Since(began); d > 2*time.Second {
			t.Fatalf("drained poll ended %v after Drain", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("forwarded poll still waiting 5 s after Drain")
	}

	began = time.Now()
	if _, err := f.Invoke(ctx, addr, poll, &workflowservice.PollWorkflowTaskQueueRequest{Namespace: "default"}); status.Code(err) != codes.Unavailable || time.Since(began) > 2*time.Second {
		t.Fatalf("poll after Drain: %v after %v, want Unavailable at once", err, time.Since(began))
	}
	if _, err := f.Invoke(ctx, addr, "/temporal.api.workflowservice.v1.WorkflowService/SignalWorkflowExecution",
		&workflowservice.SignalWorkflowExecutionRequest{Namespace: "default"}); err != nil {
		t.Fatalf("signal after Drain: %v, want it forwarded", err)
	}
}
