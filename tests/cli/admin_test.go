package cli_test

import (
	"context"
	"os"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// cliTwoSignalsWorkflow returns the two "sig" signals it receives.
func cliTwoSignalsWorkflow(ctx workflow.Context) (string, error) {
	ch := workflow.GetSignalChannel(ctx, "sig")
	var a, b string
	ch.Receive(ctx, &a)
	ch.Receive(ctx, &b)
	return a + b, nil
}

// TestCLIResetAndNamespaceAdmin runs `temporal workflow reset` (by type and
// by event id, with a reapply exclusion) and `temporal operator namespace
// update / delete` against Sundial.
func TestCLIResetAndNamespaceAdmin(t *testing.T) {
	bin := os.Getenv("SUNDIAL_TEMPORAL_CLI")
	if bin == "" {
		t.Skip("SUNDIAL_TEMPORAL_CLI is not set; `make test-cli` installs the pinned temporal CLI and runs this test")
	}
	srv := startServer(t)
	c := &cli{bin: absFromRoot(bin), addr: srv.addr, home: t.TempDir(), ok: map[string]bool{}}

	t.Run("WorkflowReset", func(t *testing.T) {
		sc, err := client.Dial(client.Options{HostPort: srv.addr})
		if err != nil {
			t.Fatal(err)
		}
		defer sc.Close()
		w := worker.New(sc, "cli-reset", worker.Options{})
		w.RegisterWorkflow(cliTwoSignalsWorkflow)
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		run, err := sc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "cli-reset-wf", TaskQueue: "cli-reset"}, cliTwoSignalsWorkflow)
		if err != nil {
			t.Fatal(err)
		}
		waitCompletedTasks := func(n int) {
			deadline := time.Now().Add(10 * time.Second)
			for {
				tasks := 0
				for _, ev := range c.history(t, "cli-reset-wf") {
					if ev.EventType == "EVENT_TYPE_WORKFLOW_TASK_COMPLETED" {
						tasks++
					}
				}
				if tasks >= n {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("workflow did not complete %d tasks", n)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		waitCompletedTasks(1)
		if err := sc.SignalWorkflow(ctx, "cli-reset-wf", "", "sig", "a"); err != nil {
			t.Fatal(err)
		}
		waitCompletedTasks(2)

		mustContain(t, "reset first", c.run(t, "workflow", "reset", "-w", "cli-reset-wf", "--type", "FirstWorkflowTask", "--reason", "cli first"),
			"Resetting workflow cli-reset-wf to event ID 4")
		mustContain(t, "reset last", c.run(t, "workflow", "reset", "-w", "cli-reset-wf", "--type", "LastWorkflowTask", "--reason", "cli last"),
			"Resetting workflow cli-reset-wf")
		mustContain(t, "reset by id", c.run(t, "workflow", "reset", "-w", "cli-reset-wf", "--event-id", "4", "--reapply-exclude", "Signal", "--reason", "cli id"),
			"Resetting workflow cli-reset-wf to event ID 4")
		// The original run ended terminated by the first reset; the last
		// one reapplied no signal, so the workflow needs two new ones.
		d := c.describe(t, "cli-reset-wf")
		if d.Status != "WORKFLOW_EXECUTION_STATUS_RUNNING" {
			t.Fatalf("current run after resets: %+v", d)
		}
		var orig struct {
			Info     execution `json:"workflowExecutionInfo"`
			Extended struct {
				ResetRunID string `json:"resetRunId"`
			} `json:"workflowExtendedInfo"`
		}
		c.runJSON(t, &orig, "workflow", "describe", "-w", "cli-reset-wf", "-r", run.GetRunID())
		if orig.Info.Status != "WORKFLOW_EXECUTION_STATUS_TERMINATED" || orig.Extended.ResetRunID == "" {
			t.Fatalf("original run after the resets: %+v", orig)
		}
		mustContain(t, "list", c.run(t, "workflow", "list", "--query", "WorkflowId='cli-reset-wf'"), "Running", "Terminated")
		for _, s := range []string{"x", "y"} {
			if err := sc.SignalWorkflow(ctx, "cli-reset-wf", "", "sig", s); err != nil {
				t.Fatal(err)
			}
		}
		var res string
		if err := sc.GetWorkflow(ctx, "cli-reset-wf", "").Get(ctx, &res); err != nil || res != "xy" {
			t.Fatalf("result after the resets: %q %v", res, err)
		}
	})

	t.Run("NamespaceUpdateAndDelete", func(t *testing.T) {
		c.run(t, "operator", "namespace", "create", "-n", "cli-admin", "--retention", "48h")
		mustContain(t, "update", c.run(t, "operator", "namespace", "update", "-n", "cli-admin", "--description", "admin ns",
			"--email", "ops@example.com", "--retention", "72h", "--data", "team=core"), "update succeeded")
		mustContain(t, "describe", c.run(t, "operator", "namespace", "describe", "-n", "cli-admin"),
			"admin ns", "ops@example.com", "72h0m0s", "map[team:core]")
		out := c.fail(t, "operator", "namespace", "update", "-n", "cli-admin", "--history-archival-state", "enabled")
		mustContain(t, "archival refused", out, "archival is not offered by Sundial")
		c.run(t, "workflow", "start", "--task-queue", "nowhere", "--type", "Nothing", "--workflow-id", "doomed", "-n", "cli-admin")
		mustContain(t, "delete", c.run(t, "operator", "namespace", "delete", "-n", "cli-admin", "--yes"), "Namespace cli-admin has been deleted")
		c.run(t, "operator", "namespace", "create", "-n", "cli-admin")
		c.fail(t, "workflow", "describe", "-w", "doomed", "-n", "cli-admin")
	})
}
