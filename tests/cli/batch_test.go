package cli_test

import (
	"os"
	"regexp"
	"testing"
	"time"
)

// TestCLIBatch runs the batch commands of the pinned CLI against Sundial:
// `workflow terminate --query` and `workflow signal --query` start batch
// jobs, `batch list` and `batch describe` report them, and `batch
// terminate` of a finished job is refused as in Temporal.
func TestCLIBatch(t *testing.T) {
	bin := os.Getenv("SUNDIAL_TEMPORAL_CLI")
	if bin == "" {
		t.Skip("SUNDIAL_TEMPORAL_CLI is not set; `make test-cli` installs the pinned temporal CLI and runs this test")
	}
	srv := startServer(t)
	c := &cli{bin: absFromRoot(bin), addr: srv.addr, home: t.TempDir(), ok: map[string]bool{}}

	for _, id := range []string{"cli-b-1", "cli-b-2", "cli-b-3"} {
		c.run(t, "workflow", "start", "--type", "CliBatch", "--task-queue", "cli-batch-tq", "--workflow-id", id)
	}
	c.run(t, "workflow", "start", "--type", "CliOther", "--task-queue", "cli-batch-tq", "--workflow-id", "cli-o-1")

	out := c.run(t, "workflow", "terminate", "--query", "WorkflowType='CliBatch'", "--reason", "cli batch", "--yes")
	mustContain(t, "terminate --query", out, "approximately 3 workflow(s)", "Started batch for job ID:")
	m := regexp.MustCompile(`job ID: (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no job id in %q", out)
	}
	job := m[1]

	var d struct {
		OperationType          string `json:"operationType"`
		State                  string `json:"state"`
		TotalOperationCount    string `json:"totalOperationCount"`
		CompleteOperationCount string `json:"completeOperationCount"`
		Reason                 string `json:"reason"`
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		c.runJSON(t, &d, "batch", "describe", "--job-id", job)
		if d.State != "BATCH_OPERATION_STATE_RUNNING" || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if d.State != "BATCH_OPERATION_STATE_COMPLETED" || d.OperationType != "BATCH_OPERATION_TYPE_TERMINATE" ||
		d.TotalOperationCount != "3" || d.CompleteOperationCount != "3" || d.Reason != "cli batch" {
		t.Fatalf("batch describe = %+v", d)
	}
	desc := c.run(t, "batch", "describe", "--job-id", job)
	mustLine(t, "batch describe", desc, "State", "Completed")
	mustLine(t, "batch describe", desc, "CompletedCount", "3/3")
	mustContain(t, "batch list", c.run(t, "batch", "list"), job, "Completed")

	list := c.run(t, "workflow", "list", "--query", "ExecutionStatus='Running'")
	mustContain(t, "running after the batch", list, "cli-o-1")
	if regexp.MustCompile(`cli-b-\d`).MatchString(list) {
		t.Fatalf("a terminated workflow is still running:\n%s", list)
	}
	mustContain(t, "terminate a finished job", c.fail(t, "batch", "terminate", "--job-id", job, "--reason", "late"), "could not find")

	out = c.run(t, "workflow", "signal", "--query", "WorkflowType='CliOther'", "--name", "hi", "--input", `"x"`, "--reason", "poke", "--yes")
	mustContain(t, "signal --query", out, "approximately 1 workflow(s)", "Started batch for job ID:")
	deadline = time.Now().Add(15 * time.Second)
	for {
		show := c.exec("workflow", "show", "--workflow-id", "cli-o-1")
		if regexp.MustCompile(`WorkflowExecutionSignaled`).MatchString(show.stdout) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cli-o-1 was not signaled:\n%s", show.stdout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
