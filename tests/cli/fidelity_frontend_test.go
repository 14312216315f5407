package cli_test

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

func cliIdleWorkflow(ctx workflow.Context) error {
	workflow.GetSignalChannel(ctx, "finish").Receive(ctx, nil)
	return nil
}

// TestCLIFrontendFidelity runs the `temporal` commands that used to fail
// against Sundial: `operator cluster health` (gRPC health), `task-queue
// describe` in both modes (the legacy one panicked without a task queue
// status) and `worker list` / `worker describe` (worker heartbeats).
func TestCLIFrontendFidelity(t *testing.T) {
	bin := os.Getenv("SUNDIAL_TEMPORAL_CLI")
	if bin == "" {
		t.Skip("SUNDIAL_TEMPORAL_CLI is not set; `make test-cli` installs the pinned temporal CLI and runs this test")
	}
	srv := startServer(t)
	c := &cli{bin: absFromRoot(bin), addr: srv.addr, home: t.TempDir(), ok: map[string]bool{}}

	t.Run("ClusterHealth", func(t *testing.T) {
		mustContain(t, "health", c.run(t, "operator", "cluster", "health"), "SERVING")
	})

	t.Run("TaskQueueDescribe", func(t *testing.T) {
		for _, id := range []string{"fd-cli-1", "fd-cli-2"} {
			c.run(t, "workflow", "start", "--task-queue", "fd-backlog", "--type", "Nothing", "--workflow-id", id)
		}
		var legacy struct {
			TaskQueues []struct {
				BacklogCountHint int64   `json:"backlog_count_hint"`
				RatePerSecond    float64 `json:"rate_per_second"`
			} `json:"taskQueues"`
		}
		c.runJSON(t, &legacy, "task-queue", "describe", "--task-queue", "fd-backlog", "--legacy-mode")
		if len(legacy.TaskQueues) != 1 || legacy.TaskQueues[0].BacklogCountHint != 2 || legacy.TaskQueues[0].RatePerSecond != 1000 {
			t.Fatalf("legacy describe: %+v", legacy)
		}
		mustContain(t, "legacy text", c.run(t, "task-queue", "describe", "--task-queue", "fd-backlog", "--legacy-mode"), "Pollers")
		var enhanced struct {
			Stats []struct {
				TaskQueueType           string `json:"taskQueueType"`
				ApproximateBacklogCount int64  `json:"approximateBacklogCount"`
			} `json:"stats"`
		}
		c.runJSON(t, &enhanced, "task-queue", "describe", "--task-queue", "fd-backlog")
		backlog := map[string]int64{}
		for _, s := range enhanced.Stats {
			backlog[s.TaskQueueType] = s.ApproximateBacklogCount
		}
		if len(backlog) != 2 || backlog["workflow"] != 2 || backlog["activity"] != 0 {
			t.Fatalf("enhanced describe stats: %+v", enhanced)
		}
	})

	t.Run("Workers", func(t *testing.T) {
		sc, err := client.Dial(client.Options{HostPort: srv.addr, WorkerHeartbeatInterval: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer sc.Close()
		w := worker.New(sc, "fd-workers", worker.Options{Identity: "fd-cli-worker"})
		w.RegisterWorkflow(cliIdleWorkflow)
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		// CLI v1.5.1 prints ListWorkers' full (deprecated) worker infos.
		type row struct {
			WorkerHeartbeat struct {
				WorkerInstanceKey string `json:"workerInstanceKey"`
				TaskQueue         string `json:"taskQueue"`
				WorkerIdentity    string `json:"workerIdentity"`
			} `json:"workerHeartbeat"`
		}
		var rows []row
		deadline := time.Now().Add(10 * time.Second)
		for len(rows) == 0 && time.Now().Before(deadline) {
			out := c.run(t, "worker", "list", "--query", "TaskQueue = 'fd-workers'", "-o", "json")
			if err := json.Unmarshal([]byte(out), &rows); err != nil {
				t.Fatalf("worker list JSON: %v\n%s", err, out)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if len(rows) != 1 || rows[0].WorkerHeartbeat.WorkerIdentity != "fd-cli-worker" || rows[0].WorkerHeartbeat.TaskQueue != "fd-workers" || rows[0].WorkerHeartbeat.WorkerInstanceKey == "" {
			t.Fatalf("worker list: %+v", rows)
		}
		out := c.run(t, "worker", "describe", "--worker-instance-key", rows[0].WorkerHeartbeat.WorkerInstanceKey)
		mustContain(t, "worker describe", out, "fd-workers", "fd-cli-worker")
	})
}
