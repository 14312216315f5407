package gosdk

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/sundial-io/sundial/internal/server"
)

// syncLog is a log sink tests read while the server writes to it.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// startLogged starts a server on dir whose log (info level) goes to a
// syncLog.
func startLogged(t *testing.T, dir string) (*server.Server, *syncLog) {
	t.Helper()
	lg := &syncLog{}
	srv, err := server.Start(server.Config{Addr: "127.0.0.1:0", DataDir: dir,
		Logger: slog.New(slog.NewTextHandler(lg, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	return srv, lg
}

var phaseField = regexp.MustCompile(`([a-z_.]+)=(\S+)`)

// startupPhases returns the fields of the server's "startup phases" line.
func startupPhases(t *testing.T, lg *syncLog) map[string]string {
	t.Helper()
	for _, line := range strings.Split(lg.String(), "\n") {
		if !strings.Contains(line, `msg="startup phases"`) {
			continue
		}
		out := map[string]string{}
		for _, m := range phaseField.FindAllStringSubmatch(line, -1) {
			out[m[1]] = m[2]
		}
		return out
	}
	t.Fatalf("no startup phases line in the log:\n%s", lg.String())
	return nil
}

// TestStartupPhasesLogged: the server logs where its start went (the
// store's open, with what it replayed from the log, the engine's loaders,
// the gRPC setup), so a slow restart can be attributed.
func TestStartupPhasesLogged(t *testing.T) {
	dir := t.TempDir()
	srv, lg := startLogged(t, dir)
	ph := startupPhases(t, lg)
	for _, k := range []string{"total", "store", "store.pebble_open", "store.replayed_bytes", "store.replay_tables",
		"engine", "engine.namespaces", "engine.deployments", "engine.activity_executions", "schedules", "batches", "grpc"} {
		if ph[k] == "" {
			t.Errorf("startup phases line has no %s: %v", k, ph)
		}
	}
	for _, k := range []string{"total", "store.pebble_open", "engine.namespaces"} {
		if _, err := time.ParseDuration(ph[k]); err != nil {
			t.Errorf("%s=%q is not a duration", k, ph[k])
		}
	}
	srv.Stop()
	// A clean stop flushes the store: the next start replays nothing.
	srv, lg = startLogged(t, dir)
	defer srv.Stop()
	if ph := startupPhases(t, lg); ph["store.replayed_bytes"] != "0" || ph["store.replay_tables"] != "0" {
		t.Errorf("after a clean stop the store replayed %s bytes into %s tables; want 0", ph["store.replayed_bytes"], ph["store.replay_tables"])
	}
}

func StartupRecoveredWorkflow(ctx workflow.Context, i int) (string, error) {
	return fmt.Sprintf("recovered-%d", i), nil
}

// TestStartupRecoveryReleasesRuns: runs an earlier process left with work
// only memory knew (here a workflow task no worker took) are recovered in
// the background at start: their tasks go back to matching and the runs
// leave memory again once the recovery write is durable, instead of
// filling the workflow cache (a worker's poll loads each again). Every
// run then completes when a worker comes.
func TestStartupRecoveryReleasesRuns(t *testing.T) {
	dir := t.TempDir()
	tq := "startup-recovery-" + uuid.NewString()[:8]
	const n = 150
	srv, _ := startLogged(t, dir)
	c, err := client.Dial(client.Options{HostPort: srv.Addr(), Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("startup-recovery-%d-%s", i, uuid.NewString()[:8])
		if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: ids[i], TaskQueue: tq}, StartupRecoveredWorkflow, i); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	srv.Stop() // no worker ever polled: every run holds a task only memory knew

	srv, lg := startLogged(t, dir)
	defer srv.Stop()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(lg.String(), "recovered workflow runs") {
		if time.Now().After(deadline) {
			t.Fatalf("no recovery finished 30 s after the start; log:\n%s", lg.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(lg.String(), fmt.Sprintf("count=%d ", n)) {
		t.Errorf("recovery log line does not say %d runs:\n%s", n, lg.String())
	}
	bytes, _, loads := srv.CacheStats()
	if loads < n {
		t.Errorf("%d cold loads after recovering %d runs", loads, n)
	}
	// Each cached run is estimated at 24 KiB or more; all n cached would
	// be over 3.5 MiB.
	if bytes > 10*24<<10 {
		t.Errorf("workflow cache holds %d bytes after recovering %d runs no one used since; want them released\n%s", bytes, n, lg.String())
	}

	c, err = client.Dial(client.Options{HostPort: srv.Addr(), Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w := worker.New(c, tq, worker.Options{})
	w.RegisterWorkflow(StartupRecoveredWorkflow)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for i, id := range ids {
		var out string
		if err := c.GetWorkflow(ctx, id, "").Get(ctx, &out); err != nil || out != fmt.Sprintf("recovered-%d", i) {
			t.Fatalf("%s: result %q, %v", id, out, err)
		}
		it := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		var got []enumspb.EventType
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, ev.GetEventType())
		}
		want := []enumspb.EventType{
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
			enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
			enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
			enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: history %v, want %v", id, got, want)
		}
	}
}
