package gosdk

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/stats"
)

// Tests of the sundial binary itself: it is built once (TestBinary),
// started as a child process on a free port, stopped with SIGTERM (clean
// exit) or SIGKILL (crash), and restarted on the same data dir.

// binBuild builds cmd/sundial into dir.
func binBuild(t *testing.T, dir string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	out := filepath.Join(dir, "sundial")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/sundial")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

// TestBinary builds the binary once and runs the binary tests on it.
func TestBinary(t *testing.T) {
	bin := binBuild(t, t.TempDir())
	t.Run("HelloSIGTERMRestart", func(t *testing.T) { binHelloSIGTERMRestart(t, bin) })
	t.Run("SIGKILLPendingTimer", func(t *testing.T) { binSIGKILLPendingTimer(t, bin) })
	t.Run("SIGKILLAckedWritesDurable", func(t *testing.T) { binSIGKILLAckedWrites(t, bin) })
	t.Run("GzipRequests", func(t *testing.T) { binGzipRequests(t, bin) })
}

// binGzipRequests: requests compressed with gzip are accepted, as by
// Temporal's frontend. The SDKs built on sdk-core send their first call
// with gzip; a server without the codec answers Unimplemented and the client
// reconnects without it (a second connection, which the features suite's
// client/http_proxy counts). A separate process, because this test process
// registers the codec itself.
func binGzipRequests(t *testing.T, bin string) {
	p := binStart(t, bin, t.TempDir(), 0)
	enc := &replyEncoding{}
	conn, err := grpc.NewClient(p.addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.UseCompressor(gzip.Name)), grpc.WithStatsHandler(enc))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	resp, err := workflowservice.NewWorkflowServiceClient(conn).GetSystemInfo(binCtx(t), &workflowservice.GetSystemInfoRequest{})
	if err != nil {
		t.Fatalf("GetSystemInfo with gzip: %v", err)
	}
	if resp.GetCapabilities() == nil {
		t.Fatalf("GetSystemInfo with gzip: no capabilities in %v", resp)
	}
	// Replies are not compressed (server CPU; see uncompressedReplies).
	if c := enc.get(); c != "" && c != "identity" {
		t.Fatalf("reply compressed with %q, want none", c)
	}
}

// replyEncoding records the compression of the replies' headers.
type replyEncoding struct {
	mu sync.Mutex
	c  string
}

func (r *replyEncoding) get() string { r.mu.Lock(); defer r.mu.Unlock(); return r.c }
func (r *replyEncoding) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context {
	return ctx
}
func (r *replyEncoding) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}
func (r *replyEncoding) HandleConn(context.Context, stats.ConnStats) {}
func (r *replyEncoding) HandleRPC(_ context.Context, s stats.RPCStats) {
	if h, ok := s.(*stats.InHeader); ok && h.Client {
		r.mu.Lock()
		r.c = h.Compression
		r.mu.Unlock()
	}
}

// binProc is a running sundial process.
type binProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	addr   string
	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
	exited chan struct{}
	err    error
}

var readyLine = regexp.MustCompile(`sundial ready in \S+: listening on (\S+),`)

// binStart starts the binary on a free port over dir, with any extra
// flags, and waits for its ready line.
func binStart(t *testing.T, bin, dir string, port int, extra ...string) *binProc {
	t.Helper()
	args := append([]string{"start", "--ip", "127.0.0.1", "--port", fmt.Sprint(port), "--data-dir", dir, "--log-level", "warn", "--headless"}, extra...)
	return binRun(t, bin, args...)
}

// binRun starts bin with args, keeps its output, kills it when the test
// ends, and waits (30 s at most) for its "ready" line, whose address it
// records. Every test that runs the sundial binary starts it here.
func binRun(t *testing.T, bin string, args ...string) *binProc {
	t.Helper()
	p := &binProc{t: t, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = &lockedWriter{mu: &p.mu, w: &p.stderr}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.stdout.WriteString(line + "\n")
			p.mu.Unlock()
			if m := readyLine.FindStringSubmatch(line); m != nil {
				select {
				case ready <- m[1]:
				default:
				}
			}
		}
	}()
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	select {
	case p.addr = <-ready:
	case <-p.exited:
		t.Fatalf("sundial exited before ready: %v\nstdout:\n%s\nstderr:\n%s", p.err, p.out(), p.errOut())
	case <-time.After(30 * time.Second):
		t.Fatalf("sundial not ready after 30s\nstdout:\n%s\nstderr:\n%s", p.out(), p.errOut())
	}
	return p
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func (p *binProc) out() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stdout.String()
}

func (p *binProc) errOut() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// signalAndWait sends sig and waits up to d for the exit.
func (p *binProc) signalAndWait(sig syscall.Signal, d time.Duration) error {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal: %v", err)
	}
	select {
	case <-p.exited:
		return p.err
	case <-time.After(d):
		p.t.Fatalf("sundial did not exit within %v of %v\nstdout:\n%s\nstderr:\n%s", d, sig, p.out(), p.errOut())
		return nil
	}
}

func (p *binProc) client(t *testing.T) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: p.addr, Logger: quietLogger{}})
	if err != nil {
		t.Fatalf("dial %s: %v", p.addr, err)
	}
	t.Cleanup(c.Close)
	return c
}

func binWorker(t *testing.T, c client.Client, tq string, register func(w worker.Worker)) worker.Worker {
	t.Helper()
	w := worker.New(c, tq, worker.Options{})
	register(w)
	if err := w.Start(); err != nil {
		t.Fatalf("worker start: %v", err)
	}
	t.Cleanup(w.Stop)
	return w
}

func binCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// binHelloSIGTERMRestart runs hello-world through the binary, stops
// it with SIGTERM (exit 0), restarts it on the same dir and describes the
// completed workflow.
func binHelloSIGTERMRestart(t *testing.T, bin string) {
	dir := t.TempDir()
	p := binStart(t, bin, dir, 0)
	c := p.client(t)
	tq := "bin-" + uuid.NewString()[:8]
	w := binWorker(t, c, tq, func(w worker.Worker) {
		w.RegisterWorkflow(HelloWorkflow)
		w.RegisterActivityWithOptions(Greet, activity.RegisterOptions{Name: "Greet"})
	})
	id := "bin-hello-" + uuid.NewString()[:8]
	run, err := c.ExecuteWorkflow(binCtx(t), client.StartWorkflowOptions{ID: id, TaskQueue: tq}, HelloWorkflow, "Binary")
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if err := run.Get(binCtx(t), &out); err != nil {
		t.Fatal(err)
	}
	if out != "Hello, Binary!" {
		t.Fatalf("got %q", out)
	}
	w.Stop()
	c.Close()

	began := time.Now()
	if err := p.signalAndWait(syscall.SIGTERM, 5*time.Second); err != nil {
		t.Fatalf("exit after SIGTERM: %v\nstdout:\n%s\nstderr:\n%s", err, p.out(), p.errOut())
	}
	t.Logf("stopped %v after SIGTERM", time.Since(began).Round(time.Millisecond))
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	stdout := p.out()
	if !strings.Contains(stdout, "sundial ready in ") || !strings.Contains(stdout, "listening on 127.0.0.1:") {
		t.Fatalf("no startup line in stdout:\n%s", stdout)
	}
	if !strings.Contains(stdout, "sundial: stopped") {
		t.Fatalf("no stop line in stdout:\n%s", stdout)
	}

	p2 := binStart(t, bin, dir, 0)
	c2 := p2.client(t)
	d, err := c2.DescribeWorkflowExecution(binCtx(t), id, run.GetRunID())
	if err != nil {
		t.Fatalf("describe after restart: %v", err)
	}
	if s := d.WorkflowExecutionInfo.Status; s != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("status after restart %v", s)
	}
	// The result is still readable too.
	if err := c2.GetWorkflow(binCtx(t), id, "").Get(binCtx(t), &out); err != nil || out != "Hello, Binary!" {
		t.Fatalf("result after restart: %q, %v", out, err)
	}
	c2.Close()
	if err := p2.signalAndWait(syscall.SIGINT, 5*time.Second); err != nil {
		t.Fatalf("exit after SIGINT: %v\nstderr:\n%s", err, p2.errOut())
	}
}

// BinaryTimerWorkflow sleeps, then says hello.
func BinaryTimerWorkflow(ctx workflow.Context, name string, d time.Duration) (string, error) {
	if err := workflow.Sleep(ctx, d); err != nil {
		return "", err
	}
	return "woke " + name, nil
}

// binSIGKILLPendingTimer: kill -9 while timers are pending; after a
// restart on the same dir every workflow completes.
func binSIGKILLPendingTimer(t *testing.T, bin string) {
	dir := t.TempDir()
	p := binStart(t, bin, dir, 0)
	c := p.client(t)
	tq := "bin-kill-" + uuid.NewString()[:8]
	w := binWorker(t, c, tq, func(w worker.Worker) { w.RegisterWorkflow(BinaryTimerWorkflow) })
	const n = 5
	type ref struct{ id, runID string }
	var runs []ref
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("bin-kill-%d-%s", i, uuid.NewString()[:8])
		r, err := c.ExecuteWorkflow(binCtx(t), client.StartWorkflowOptions{ID: id, TaskQueue: tq}, BinaryTimerWorkflow, fmt.Sprint(i), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, ref{id, r.GetRunID()})
	}
	// Wait until every timer is started (durably: history reads wait for fsync).
	deadline := time.Now().Add(10 * time.Second)
	for _, r := range runs {
		for {
			it := c.GetWorkflowHistory(binCtx(t), r.id, r.runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			var evs []*historypb.HistoryEvent
			for it.HasNext() {
				ev, err := it.Next()
				if err != nil {
					t.Fatal(err)
				}
				evs = append(evs, ev)
			}
			if count(evs, enumspb.EVENT_TYPE_TIMER_STARTED) == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: timer not started: %v", r.id, types(evs))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	w.Stop()
	c.Close()
	if err := p.signalAndWait(syscall.SIGKILL, 5*time.Second); err == nil {
		t.Fatal("SIGKILL: process exited cleanly?")
	}

	p2 := binStart(t, bin, dir, 0)
	c2 := p2.client(t)
	binWorker(t, c2, tq, func(w worker.Worker) { w.RegisterWorkflow(BinaryTimerWorkflow) })
	for i, r := range runs {
		var out string
		if err := c2.GetWorkflow(binCtx(t), r.id, r.runID).Get(binCtx(t), &out); err != nil {
			t.Fatalf("%s after kill -9: %v", r.id, err)
		}
		if want := fmt.Sprintf("woke %d", i); out != want {
			t.Fatalf("%s: got %q want %q", r.id, out, want)
		}
		it := c2.GetWorkflowHistory(binCtx(t), r.id, r.runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		var evs []*historypb.HistoryEvent
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			evs = append(evs, ev)
		}
		requireWellFormed(t, evs)
		if count(evs, enumspb.EVENT_TYPE_TIMER_FIRED) != 1 || count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED) != 1 {
			t.Fatalf("%s: history %v", r.id, types(evs))
		}
	}
	c2.Close()
	if err := p2.signalAndWait(syscall.SIGTERM, 5*time.Second); err != nil {
		t.Fatalf("exit after SIGTERM: %v\nstderr:\n%s", err, p2.errOut())
	}
}

// binSIGKILLAckedWrites: kill -9 while clients are starting and signaling
// workflows; every start and signal acknowledged before the kill is there
// after the restart.
func binSIGKILLAckedWrites(t *testing.T, bin string) {
	dir := t.TempDir()
	p := binStart(t, bin, dir, 0)
	acked := ackedWritesUntilKill(t, p.client(t), "acked", 700*time.Millisecond, func() {
		_ = p.signalAndWait(syscall.SIGKILL, 5*time.Second)
	})
	p2 := binStart(t, bin, dir, 0)
	c2 := p2.client(t)
	requireAckedWrites(t, c2, acked)
	c2.Close()
	if err := p2.signalAndWait(syscall.SIGTERM, 5*time.Second); err != nil {
		t.Fatalf("exit after SIGTERM: %v\nstderr:\n%s", err, p2.errOut())
	}
}

// ackedWritesUntilKill starts workflows (no worker: they stay open) and
// signals each once, from 8 goroutines, for run; then it calls kill and
// returns what the server acknowledged: workflow id -> signals
// acknowledged (0 or 1). It closes c.
func ackedWritesUntilKill(t *testing.T, c client.Client, prefix string, run time.Duration, kill func()) map[string]int {
	t.Helper()
	tq := prefix + "-" + uuid.NewString()[:8]
	var mu sync.Mutex
	acked := map[string]int{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				id := fmt.Sprintf("%s-%d-%d", prefix, g, i)
				cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
				_, err := c.ExecuteWorkflow(cctx, client.StartWorkflowOptions{ID: id, TaskQueue: tq}, BinaryTimerWorkflow, id, time.Hour)
				ccancel()
				if err != nil {
					return
				}
				mu.Lock()
				acked[id] = 0
				mu.Unlock()
				cctx, ccancel = context.WithTimeout(ctx, 2*time.Second)
				err = c.SignalWorkflow(cctx, id, "", "s", nil)
				ccancel()
				if err != nil {
					return
				}
				mu.Lock()
				acked[id] = 1
				mu.Unlock()
			}
		})
	}
	time.Sleep(run)
	kill()
	cancel()
	wg.Wait()
	c.Close()
	if len(acked) < 10 {
		t.Fatalf("only %d starts acknowledged before the kill", len(acked))
	}
	return acked
}

// requireAckedWrites checks, on the restarted server, that every
// acknowledged start is a running workflow with its acknowledged signal.
func requireAckedWrites(t *testing.T, c client.Client, acked map[string]int) {
	t.Helper()
	var missing []string
	for id, sigs := range acked {
		d, err := c.DescribeWorkflowExecution(binCtx(t), id, "")
		if err != nil {
			missing = append(missing, fmt.Sprintf("%s: %v", id, err))
			continue
		}
		if d.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			missing = append(missing, fmt.Sprintf("%s: status %v", id, d.WorkflowExecutionInfo.Status))
			continue
		}
		if sigs > 0 {
			evs := historyOf(t, c, id)
			requireWellFormed(t, evs)
			if count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) != 1 {
				missing = append(missing, fmt.Sprintf("%s: acknowledged signal missing: %v", id, types(evs)))
			}
		}
	}
	t.Logf("%d acknowledged starts checked after kill -9", len(acked))
	if len(missing) > 0 {
		t.Fatalf("%d acknowledged writes lost after kill -9:\n%s", len(missing), strings.Join(missing, "\n"))
	}
}
