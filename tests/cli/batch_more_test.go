package cli_test

import (
	"context"
	"os"
	"regexp"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
)

// batchJob is the part of `temporal batch describe -o json` checked here.
type batchJob struct {
	OperationType          string `json:"operationType"`
	State                  string `json:"state"`
	TotalOperationCount    string `json:"totalOperationCount"`
	CompleteOperationCount string `json:"completeOperationCount"`
	FailureOperationCount  string `json:"failureOperationCount"`
}

// startedJob runs a command that starts a batch job and waits for the job
// to finish; it returns the job's description.
func (c *cli) startedJob(t *testing.T, args ...string) batchJob {
	t.Helper()
	out := c.run(t, args...)
	m := regexp.MustCompile(`Started batch for job ID: (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("%v: no job id in %q", args, out)
	}
	var d batchJob
	deadline := time.Now().Add(15 * time.Second)
	for {
		c.runJSON(t, &d, "batch", "describe", "--job-id", m[1])
		if d.State != "BATCH_OPERATION_STATE_RUNNING" || time.Now().After(deadline) {
			return d
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestCLIBatchActivities runs the commands of the pinned CLI that start
// the option and activity batch operations over a query: `workflow
// update-options --query`, `activity update-options --query`, `activity
// reset --query` and `activity unpause --query`, against two workflows
// whose activity is paused, and checks their effect in describe and the
// jobs' type and counts in `batch describe`.
func TestCLIBatchActivities(t *testing.T) {
	bin := os.Getenv("SUNDIAL_TEMPORAL_CLI")
	if bin == "" {
		t.Skip("SUNDIAL_TEMPORAL_CLI is not set; `make test-cli` installs the pinned temporal CLI and runs this test")
	}
	srv := startServer(t)
	c := &cli{bin: absFromRoot(bin), addr: srv.addr, home: t.TempDir(), ok: map[string]bool{}}
	sc, err := client.Dial(client.Options{HostPort: srv.addr})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	fl := &cliFlaky{}
	w := worker.New(sc, "cli-bact", worker.Options{})
	w.RegisterWorkflow(cliFlakyWorkflow)
	w.RegisterActivity(fl.CLIFlaky)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ids := []string{"cli-bact-1", "cli-bact-2"}
	var runs []client.WorkflowRun
	for _, id := range ids {
		run, err := sc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "cli-bact"}, cliFlakyWorkflow)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, run)
	}
	for fl.attempts.Load() < 6 {
		time.Sleep(20 * time.Millisecond)
	}
	for _, id := range ids {
		c.run(t, "activity", "pause", "-w", id, "-a", "flaky")
		c.run(t, "activity", "update-options", "-w", id, "-a", "flaky", "--retry-maximum-attempts", "40")
	}
	const q = "WorkflowType='cliFlakyWorkflow'"

	// The CLI's batch form of update-options sends the update mask but not
	// the options, which Temporal's frontend refuses as well.
	mustContain(t, "activity update-options --query", c.fail(t, "activity", "update-options", "--query", q, "--activity-type", "CLIFlaky", "--retry-maximum-attempts", "30", "--yes"),
		"Either activity type must be set, or restore original should be set to true")

	d := c.startedJob(t, "activity", "update-options", "--query", q, "--match-all", "--restore-original-options", "--yes")
	if d.State != "BATCH_OPERATION_STATE_COMPLETED" || d.OperationType != "BATCH_OPERATION_TYPE_UPDATE_ACTIVITY_OPTIONS" || d.CompleteOperationCount != "2" {
		t.Fatalf("update-options --restore-original-options job: %+v", d)
	}
	for _, id := range ids {
		if p := c.pending(t, id); len(p) != 1 || p[0].Options.RetryPolicy.MaximumAttempts == 40 || !p[0].Paused {
			t.Fatalf("%s after restoring the options: %+v", id, p)
		}
	}

	d = c.startedJob(t, "activity", "reset", "--query", q, "--match-all", "--keep-paused", "--reset-heartbeats", "--yes")
	if d.State != "BATCH_OPERATION_STATE_COMPLETED" || d.OperationType != "BATCH_OPERATION_TYPE_RESET_ACTIVITY" || d.CompleteOperationCount != "2" {
		t.Fatalf("activity reset job: %+v", d)
	}
	for _, id := range ids {
		if p := c.pending(t, id); len(p) != 1 || p[0].Attempt != 1 || !p[0].Paused {
			t.Fatalf("%s after the reset batch: %+v", id, p)
		}
	}

	d = c.startedJob(t, "workflow", "update-options", "--query", q, "--versioning-override-behavior", "auto_upgrade", "--yes")
	if d.State != "BATCH_OPERATION_STATE_COMPLETED" || d.OperationType != "BATCH_OPERATION_TYPE_UPDATE_EXECUTION_OPTIONS" || d.CompleteOperationCount != "2" {
		t.Fatalf("workflow update-options job: %+v", d)
	}
	for _, id := range ids {
		mustContain(t, "describe after the batch override", c.run(t, "workflow", "describe", "-w", id, "-o", "json"), `"behavior": "VERSIONING_BEHAVIOR_AUTO_UPGRADE"`)
	}

	fl.ok.Store(true)
	d = c.startedJob(t, "activity", "unpause", "--query", q, "--activity-type", "CLIFlaky", "--reset-attempts", "--yes")
	if d.State != "BATCH_OPERATION_STATE_COMPLETED" || d.OperationType != "BATCH_OPERATION_TYPE_UNPAUSE_ACTIVITY" || d.CompleteOperationCount != "2" || (d.FailureOperationCount != "" && d.FailureOperationCount != "0") {
		t.Fatalf("activity unpause job: %+v", d)
	}
	for i, run := range runs {
		var r string
		if err := run.Get(ctx, &r); err != nil || r != "done" {
			t.Fatalf("%s: %q %v", ids[i], r, err)
		}
	}
	if fl.last.Load() != 1 {
		t.Fatalf("after the reset the activity ran as attempt %d, want 1", fl.last.Load())
	}
	mustContain(t, "batch list", c.run(t, "batch", "list"), "Completed")
}
