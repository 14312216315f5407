package gosdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/vfs"
	"github.com/cockroachdb/pebble/vfs/errorfs"
	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sundial-io/sundial/internal/engine"
	"github.com/sundial-io/sundial/internal/frontend"
	"github.com/sundial-io/sundial/internal/store/pebblestore"
)

// A full disk under a running server: the store's WAL writes fail with
// ENOSPC (injected through pebblestore.Options.FS). Clients must get a clear
// Unavailable/ResourceExhausted error, no half-written workflow may become
// visible, and the server must serve again once space returns. The server
// is assembled here (store + engine + frontend, as internal/server does)
// because server.Config has no FS hook.

type dfServer struct {
	t     *testing.T
	st    *pebblestore.Store
	eng   *engine.Engine
	gs    *grpc.Server
	addr  string
	armed *atomic.Bool
}

func dfStart(t *testing.T, fs vfs.FS, armed *atomic.Bool) *dfServer {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := pebblestore.Open("/data", pebblestore.Options{FS: fs})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	eng, err := engine.New(st, engine.Options{Logger: log})
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(grpc.MaxRecvMsgSize(4<<20), grpc.ChainUnaryInterceptor(frontend.Interceptor(log)))
	workflowservice.RegisterWorkflowServiceServer(gs, frontend.New(eng, log))
	go gs.Serve(lis)
	return &dfServer{t: t, st: st, eng: eng, gs: gs, addr: lis.Addr().String(), armed: armed}
}

// stop shuts the server down; a panic from the store's Close is returned
// (with Pebble v1.1 closing a store whose WAL failed panics, see L6).
func (s *dfServer) stop() (err error) {
	s.eng.Close()
	s.gs.Stop()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("PANIC in store Close: %v", r)
			}
		}()
		done <- s.st.Close()
	}()
	select {
	case err = <-done:
		return err
	case <-time.After(10 * time.Second):
		return errors.New("WEDGED: store Close did not return in 10 s")
	}
}

// lowSpaceFS reports almost no free disk space while low is set, the way a
// real full disk looks to the store's free-space check.
type lowSpaceFS struct {
	vfs.FS
	low *atomic.Bool
}

func (f lowSpaceFS) GetDiskUsage(path string) (vfs.DiskUsage, error) {
	if f.low.Load() {
		return vfs.DiskUsage{AvailBytes: 1 << 20, TotalBytes: 1 << 30, UsedBytes: 1<<30 - 1<<20}, nil
	}
	return vfs.DiskUsage{AvailBytes: 1 << 40, TotalBytes: 1 << 41, UsedBytes: 1 << 40}, nil
}

// TestDiskFullReserve: the disk fills up (free space under the store's
// reserve). Writes are refused with ResourceExhausted before anything
// changes, reads keep working, and writes resume by themselves when space
// returns: no restart.
func TestDiskFullReserve(t *testing.T) {
	low := new(atomic.Bool)
	srv := dfStart(t, lowSpaceFS{FS: vfs.NewMem(), low: low}, new(atomic.Bool))
	defer srv.stop()
	svc, _ := lmSvc(t, srv.addr)
	q := "dfr-" + uuid.NewString()[:8]
	ctx := func() context.Context { return erCtx(t, 10*time.Second) }
	before := "dfr-before-" + uuid.NewString()[:8]
	if _, err := svc.StartWorkflowExecution(ctx(), erStartReq(before, q)); err != nil {
		t.Fatal(err)
	}
	low.Store(true)
	time.Sleep(300 * time.Millisecond) // the free-space check is cached briefly
	during := "dfr-during-" + uuid.NewString()[:8]
	_, err := svc.StartWorkflowExecution(ctx(), erStartReq(during, q))
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(status.Convert(err).Message(), "disk space") {
		t.Fatalf("start on a full disk: %v, want ResourceExhausted naming the disk space", err)
	}
	_, err = svc.SignalWorkflowExecution(ctx(), &workflowservice.SignalWorkflowExecutionRequest{Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: before}, SignalName: "s"})
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("signal on a full disk: %v", err)
	}
	if _, err := svc.DescribeWorkflowExecution(ctx(), &workflowservice.DescribeWorkflowExecutionRequest{Namespace: "default", Execution: &commonpb.WorkflowExecution{WorkflowId: before}}); err != nil {
		t.Fatalf("reads must keep working on a full disk: %v", err)
	}
	if _, err := svc.DescribeWorkflowExecution(ctx(), &workflowservice.DescribeWorkflowExecutionRequest{Namespace: "default", Execution: &commonpb.WorkflowExecution{WorkflowId: during}}); status.Code(err) != codes.NotFound {
		t.Fatalf("refused start is visible: %v", err)
	}
	low.Store(false)
	time.Sleep(300 * time.Millisecond)
	if _, err := svc.StartWorkflowExecution(ctx(), erStartReq(during, q)); err != nil {
		t.Fatalf("start after space returned (no restart): %v", err)
	}
	if _, err := svc.SignalWorkflowExecution(ctx(), &workflowservice.SignalWorkflowExecutionRequest{Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: before}, SignalName: "s"}); err != nil {
		t.Fatalf("signal after space returned: %v", err)
	}
}

func dfFS(mem vfs.FS) (*atomic.Bool, vfs.FS) {
	armed := new(atomic.Bool)
	return armed, errorfs.Wrap(mem, errorfs.InjectorFunc(func(op errorfs.Op, path string) error {
		if !armed.Load() || !strings.HasSuffix(path, ".log") {
			return nil
		}
		switch op {
		case errorfs.OpFileWrite, errorfs.OpFileWriteAt, errorfs.OpFileSync, errorfs.OpFileFlush, errorfs.OpCreate:
			return fmt.Errorf("injected: %w", syscall.ENOSPC)
		}
		return nil
	}))
}

func dfPowerCut(t *testing.T, mem *vfs.MemFS) *vfs.MemFS {
	t.Helper()
	mem.ResetToSyncedState()
	out := vfs.NewMem()
	if _, err := vfs.Clone(mem, out, "/data", "/data", vfs.CloneSkip(func(p string) bool { return strings.HasSuffix(p, "LOCK") })); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestWALWriteError: the store's log write itself fails (ENOSPC injected
// past the free-space check).
func TestWALWriteError(t *testing.T) {
	mem := vfs.NewMem()
	armed, fs := dfFS(mem)
	srv := dfStart(t, fs, armed)
	svc, _ := lmSvc(t, srv.addr)
	q := "df-" + uuid.NewString()[:8]
	ctx := func() context.Context { return erCtx(t, 10*time.Second) }
	describe := func(svc workflowservice.WorkflowServiceClient, id string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
		return svc.DescribeWorkflowExecution(ctx(), &workflowservice.DescribeWorkflowExecutionRequest{Namespace: "default", Execution: &commonpb.WorkflowExecution{WorkflowId: id}})
	}

	before := "df-before-" + uuid.NewString()[:8]
	if _, err := svc.StartWorkflowExecution(ctx(), erStartReq(before, q)); err != nil {
		t.Fatal(err)
	}

	// The disk fills up.
	armed.Store(true)
	during := "df-during-" + uuid.NewString()[:8]
	_, err := svc.StartWorkflowExecution(ctx(), erStartReq(during, q))
	code := status.Code(err)
	t.Logf("start on a full disk: %v", err)
	if code != codes.Unavailable && code != codes.ResourceExhausted {
		t.Fatalf("start on a full disk: code %v (%v), want Unavailable or ResourceExhausted", code, err)
	}
	if msg := strings.ToLower(status.Convert(err).Message()); !strings.Contains(msg, "no space") && !strings.Contains(msg, "storage") {
		t.Errorf("error does not say the storage failed: %q", msg)
	}
	_, err = svc.SignalWorkflowExecution(ctx(), &workflowservice.SignalWorkflowExecutionRequest{Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: before}, SignalName: "s"})
	if c := status.Code(err); c != codes.Unavailable && c != codes.ResourceExhausted {
		t.Fatalf("signal on a full disk: %v", err)
	}
	// No partial state: the failed start is not visible (not found, or the
	// server refuses to answer), and does not show up in visibility.
	if d, err := describe(svc, during); err == nil {
		t.Fatalf("a start that failed on a full disk is visible: %v", d.WorkflowExecutionInfo)
	} else if c := status.Code(err); c != codes.NotFound && c != codes.Unavailable {
		t.Fatalf("describe the failed start: %v", err)
	}
	var problems []string
	if l, err := svc.ListWorkflowExecutions(erCtx(t, 3*time.Second), &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default", Query: fmt.Sprintf("WorkflowId = '%s'", during)}); err == nil && len(l.Executions) > 0 {
		problems = append(problems, fmt.Sprintf("L10: the start that failed on the full disk is listed by ListWorkflowExecutions (status %v)", l.Executions[0].GetStatus()))
	}

	// Space returns.
	armed.Store(false)
	after := "df-after-" + uuid.NewString()[:8]
	_, recErr := svc.StartWorkflowExecution(ctx(), erStartReq(after, q))
	t.Logf("start after space returned (no restart): %v", recErr)

	// A restart (with a power cut, since a clean Close may panic) must
	// keep everything acknowledged and nothing else.
	stopErr := srv.stop()
	t.Logf("stopping the server after the fault: %v", stopErr)
	mem2 := dfPowerCut(t, mem)
	armed2, fs2 := dfFS(mem2)
	srv2 := dfStart(t, fs2, armed2)
	defer srv2.stop()
	svc2, _ := lmSvc(t, srv2.addr)
	if d, err := describe(svc2, before); err != nil || d.WorkflowExecutionInfo.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("acknowledged workflow after restart: %v %v", d, err)
	}
	if _, err := describe(svc2, during); status.Code(err) != codes.NotFound {
		t.Fatalf("failed start after restart: want NotFound, got %v", err)
	}
	if recErr == nil {
		if _, err := describe(svc2, after); err != nil {
			t.Fatalf("start acknowledged after recovery lost on restart: %v", err)
		}
	}
	if _, err := svc2.StartWorkflowExecution(ctx(), erStartReq("df-restarted-"+uuid.NewString()[:8], q)); err != nil {
		t.Fatalf("start after restart: %v", err)
	}

	// A write error that reaches Pebble's log (the free-space reserve did
	// not catch it) leaves the log broken: the server refuses writes until
	// it is restarted (documented in docs/RELIABILITY.md). Shutting down
	// must still be clean: an error is fine, a panic or a hang is not.
	if recErr != nil && status.Code(recErr) != codes.Unavailable {
		problems = append(problems, "after a log write error: want Unavailable until restart, got "+recErr.Error())
	}
	if stopErr != nil && (strings.Contains(stopErr.Error(), "PANIC") || strings.Contains(stopErr.Error(), "WEDGED")) {
		problems = append(problems, "L6: shutdown after the fault: "+stopErr.Error())
	}
	if len(problems) > 0 {
		if os.Getenv("SUNDIAL_KNOWN_BUGS") == "" {
			t.Skipf("KNOWN BUG %s; see tests/gosdk/FAILING_LIMITS.md", strings.Join(problems, "; "))
		}
		t.Fatal(strings.Join(problems, "; "))
	}
}
