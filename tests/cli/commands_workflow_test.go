package cli_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

const cmdQueue = "cli-cmd-tq"

// counterWF counts: signal "add" and update "bump" add to it, query
// "count" reads it; it ends with the count when signaled "done".
func counterWF(ctx workflow.Context) (int, error) {
	n := 0
	if err := workflow.SetQueryHandlerWithOptions(ctx, "count", func() (int, error) { return n, nil },
		workflow.QueryHandlerOptions{Description: "the current count"}); err != nil {
		return 0, err
	}
	if err := workflow.SetUpdateHandler(ctx, "bump", func(ctx workflow.Context, by int) (int, error) {
		n += by
		return n, nil
	}); err != nil {
		return 0, err
	}
	add := workflow.GetSignalChannel(ctx, "add")
	done := workflow.GetSignalChannel(ctx, "done")
	finished := false
	for !finished {
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(add, func(c workflow.ReceiveChannel, _ bool) {
			var by int
			c.Receive(ctx, &by)
			n += by
		})
		sel.AddReceive(done, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, nil)
			finished = true
		})
		sel.Select(ctx)
	}
	return n, nil
}

// greetWF runs one activity and returns its result.
func greetWF(ctx workflow.Context, name string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var s string
	err := workflow.ExecuteActivity(ctx, "Greet", name).Get(ctx, &s)
	return s, err
}

// asyncWF waits for an activity that a person completes or fails with
// `temporal activity complete|fail`.
func asyncWF(ctx workflow.Context) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Hour, ActivityID: "manual",
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1}})
	var s string
	err := workflow.ExecuteActivity(ctx, "Manual").Get(ctx, &s)
	return s, err
}

// startCmdWorker runs the workflows above in-process on the test server.
func startCmdWorker(t *testing.T, addr string) client.Client {
	t.Helper()
	cl, err := client.Dial(client.Options{HostPort: addr, Logger: nopLogger{}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(cl.Close)
	w := worker.New(cl, cmdQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(counterWF, workflow.RegisterOptions{Name: "CliCounter"})
	w.RegisterWorkflowWithOptions(greetWF, workflow.RegisterOptions{Name: "CliGreet"})
	w.RegisterWorkflowWithOptions(asyncWF, workflow.RegisterOptions{Name: "CliAsync"})
	w.RegisterActivityWithOptions(func(ctx context.Context, name string) (string, error) { return "hello " + name, nil },
		activity.RegisterOptions{Name: "Greet"})
	w.RegisterActivityWithOptions(func(ctx context.Context) (string, error) { return "", activity.ErrResultPending },
		activity.RegisterOptions{Name: "Manual"})
	if err := w.Start(); err != nil {
		t.Fatalf("worker: %v", err)
	}
	t.Cleanup(w.Stop)
	return cl
}

type nopLogger struct{}

func (nopLogger) Debug(string, ...interface{}) {}
func (nopLogger) Info(string, ...interface{})  {}
func (nopLogger) Warn(string, ...interface{})  {}
func (nopLogger) Error(string, ...interface{}) {}

func cmdCLI(t *testing.T) (*cli, *server) {
	t.Helper()
	bin := os.Getenv("SUNDIAL_TEMPORAL_CLI")
	if bin == "" {
		t.Skip("SUNDIAL_TEMPORAL_CLI is not set; `make test-cli` installs the pinned temporal CLI and runs this test")
	}
	srv := startServer(t)
	return &cli{bin: absFromRoot(bin), addr: srv.addr, home: t.TempDir(), ok: map[string]bool{}}, srv
}

// TestCLICommandsWorkflow runs the workflow commands that need a worker:
// execute, result, query, stack, metadata, trace, signal-with-start, the
// update commands and update-with-start, and reset's subcommand.
func TestCLICommandsWorkflow(t *testing.T) {
	c, srv := cmdCLI(t)
	startCmdWorker(t, srv.addr)

	out := c.run(t, "workflow", "execute", "--type", "CliGreet", "--task-queue", cmdQueue, "--workflow-id", "cmd-greet", "--input", `"cli"`)
	mustContain(t, "workflow execute", out, "Results:", "Status", "COMPLETED", `"hello cli"`)
	out = c.run(t, "workflow", "result", "--workflow-id", "cmd-greet")
	mustContain(t, "workflow result", out, "Status", "COMPLETED", `"hello cli"`)
	out = c.run(t, "workflow", "trace", "--workflow-id", "cmd-greet")
	mustContain(t, "workflow trace", out, "CliGreet", "cmd-greet", "✓ CliGreet", "✓ Greet")

	c.run(t, "workflow", "start", "--type", "CliCounter", "--task-queue", cmdQueue, "--workflow-id", "cmd-count")
	c.run(t, "workflow", "signal", "--workflow-id", "cmd-count", "--name", "add", "--input", "2")
	out = c.run(t, "workflow", "query", "--workflow-id", "cmd-count", "--name", "count")
	mustContain(t, "workflow query", out, "Query result:", "2")
	out = c.run(t, "workflow", "stack", "--workflow-id", "cmd-count")
	mustContain(t, "workflow stack", out, "coroutine root", "counterWF")
	out = c.run(t, "workflow", "metadata", "--workflow-id", "cmd-count")
	mustContain(t, "workflow metadata", out, "count", "the current count", "bump", "add")
	errOut := c.fail(t, "workflow", "query", "--workflow-id", "cmd-count", "--name", "nope")
	mustContain(t, "query of an unknown type", errOut, "unknown queryType nope")

	out = c.run(t, "workflow", "update", "execute", "--workflow-id", "cmd-count", "--name", "bump", "--input", "3")
	mustLine(t, "update execute", out, "Name", "bump")
	mustLine(t, "update execute", out, "Result", "5")
	out = c.run(t, "workflow", "update", "start", "--workflow-id", "cmd-count", "--name", "bump", "--input", "4", "--update-id", "u-4", "--wait-for-stage", "accepted")
	mustContain(t, "update start", out, "u-4")
	out = c.run(t, "workflow", "update", "result", "--workflow-id", "cmd-count", "--update-id", "u-4")
	mustContain(t, "update result", out, "9")
	out = c.run(t, "workflow", "update", "describe", "--workflow-id", "cmd-count", "--update-id", "u-4")
	mustContain(t, "update describe", out, "Completed", "9")
	errOut = c.fail(t, "workflow", "update", "describe", "--workflow-id", "cmd-count", "--update-id", "no-such-update")
	mustContain(t, "describe of an unknown update", errOut, "not found")

	out = c.run(t, "workflow", "signal-with-start", "--type", "CliCounter", "--task-queue", cmdQueue, "--workflow-id", "cmd-sws",
		"--signal-name", "add", "--signal-input", "7")
	mustContain(t, "signal-with-start", out, "cmd-sws", "RunId")
	out = c.run(t, "workflow", "query", "--workflow-id", "cmd-sws", "--name", "count")
	mustContain(t, "count after signal-with-start", out, "7")

	out = c.run(t, "workflow", "start-update-with-start", "--type", "CliCounter", "--task-queue", cmdQueue, "--workflow-id", "cmd-uws",
		"--id-conflict-policy", "Fail", "--update-name", "bump", "--update-input", "10", "--update-id", "uws-1", "--update-wait-for-stage", "accepted")
	mustContain(t, "start-update-with-start", out, "cmd-uws", "uws-1")
	out = c.run(t, "workflow", "execute-update-with-start", "--type", "CliCounter", "--task-queue", cmdQueue, "--workflow-id", "cmd-uws",
		"--id-conflict-policy", "UseExisting", "--update-name", "bump", "--update-input", "5")
	mustLine(t, "execute-update-with-start", out, "UpdateResult", "15")

	c.run(t, "workflow", "signal", "--workflow-id", "cmd-count", "--name", "done")
	out = c.run(t, "workflow", "result", "--workflow-id", "cmd-count")
	mustContain(t, "counter result", out, "COMPLETED", "9")

	// reset with-workflow-update-options resets, then sets a versioning
	// override on the new run (commands_deployment_test.go runs it with
	// versioned workers).
	// Over a query it is a batch reset with the post-reset operation.
	out = c.run(t, "workflow", "reset", "with-workflow-update-options", "--query", "WorkflowId = 'cmd-count'", "--type", "LastWorkflowTask",
		"--reason", "r", "--versioning-override-behavior", "auto_upgrade", "--yes")
	mustContain(t, "batch reset with-workflow-update-options", out, "Started batch")
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(c.run(t, "workflow", "describe", "-w", "cmd-count", "-o", "json"), `"autoUpgrade": true`) {
		if time.Now().After(deadline) {
			t.Fatal("the batch reset's new run has no auto-upgrade override")
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.run(t, "workflow", "reset", "--workflow-id", "cmd-count", "--type", "LastWorkflowTask", "--reason", "plain reset")
}

// TestCLICommandsActivity: `activity complete` and `activity fail` finish
// an activity that waits for an outside completion, by workflow and
// activity id.
func TestCLICommandsActivity(t *testing.T) {
	c, srv := cmdCLI(t)
	cl := startCmdWorker(t, srv.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	waitStarted := func(id string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			d, err := cl.DescribeWorkflowExecution(ctx, id, "")
			if err == nil && len(d.PendingActivities) == 1 && d.PendingActivities[0].State.String() == "Started" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("activity of %s did not start: %v %v", id, d, err)
			}
		}
	}

	c.run(t, "workflow", "start", "--type", "CliAsync", "--task-queue", cmdQueue, "--workflow-id", "cmd-act-ok")
	waitStarted("cmd-act-ok")
	c.run(t, "activity", "complete", "--workflow-id", "cmd-act-ok", "--activity-id", "manual", "--result", `"done by hand"`)
	var s string
	if err := cl.GetWorkflow(ctx, "cmd-act-ok", "").Get(ctx, &s); err != nil || s != "done by hand" {
		t.Fatalf("after activity complete: %q, %v", s, err)
	}

	c.run(t, "workflow", "start", "--type", "CliAsync", "--task-queue", cmdQueue, "--workflow-id", "cmd-act-fail")
	waitStarted("cmd-act-fail")
	c.run(t, "activity", "fail", "--workflow-id", "cmd-act-fail", "--activity-id", "manual", "--reason", "broken by hand", "--detail", `"why"`)
	err := cl.GetWorkflow(ctx, "cmd-act-fail", "").Get(ctx, &s)
	if err == nil || !strings.Contains(err.Error(), "broken by hand") {
		t.Fatalf("after activity fail: %v", err)
	}
	errOut := c.fail(t, "activity", "complete", "--workflow-id", "cmd-act-fail", "--activity-id", "manual", "--result", `"late"`)
	// The SDK's wording of the server's NotFound.
	mustContain(t, "completing an activity of a closed workflow", errOut, "invoking workflow is completed")
}

// TestCLIResetByBuildID: `temporal workflow reset --type BuildId` (a batch
// reset over a query) resets the workflow to before the first workflow
// task its worker's build completed.
func TestCLIResetByBuildID(t *testing.T) {
	c, srv := cmdCLI(t)
	cl, err := client.Dial(client.Options{HostPort: srv.addr, Logger: nopLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	w := worker.New(cl, cmdQueue, worker.Options{BuildID: "cli-build-1"})
	w.RegisterWorkflowWithOptions(counterWF, workflow.RegisterOptions{Name: "CliCounter"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	c.run(t, "workflow", "start", "--type", "CliCounter", "--task-queue", cmdQueue, "--workflow-id", "cmd-rb")
	c.run(t, "workflow", "signal", "--workflow-id", "cmd-rb", "--name", "add", "--input", "1")
	out := c.run(t, "workflow", "query", "--workflow-id", "cmd-rb", "--name", "count")
	mustContain(t, "count before the reset", out, "1")
	d, err := cl.DescribeWorkflowExecution(ctx, "cmd-rb", "")
	if err != nil {
		t.Fatal(err)
	}
	base := d.WorkflowExecutionInfo.Execution.RunId
	points := d.WorkflowExecutionInfo.GetAutoResetPoints().GetPoints()
	if len(points) != 1 || points[0].BuildId != "cli-build-1" {
		t.Fatalf("auto reset points = %v", points)
	}

	out = c.run(t, "workflow", "reset", "--query", "WorkflowId = 'cmd-rb'", "--type", "BuildId", "--build-id", "cli-build-1",
		"--reason", "bad build", "--yes")
	mustContain(t, "reset --type BuildId", out, "approximately 1 workflow(s)", "Started batch for job ID:")
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		d, err = cl.DescribeWorkflowExecution(ctx, "cmd-rb", "")
		if err == nil && d.WorkflowExecutionInfo.Execution.RunId != base {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reset run after 15 s: %v %v", d, err)
		}
	}
	show := c.run(t, "workflow", "show", "--workflow-id", "cmd-rb")
	mustContain(t, "history of the reset run", show, "WorkflowTaskFailed", "WorkflowExecutionSignaled")
	// The signal came after the reset point and is reapplied: the count is 1 again.
	out = c.run(t, "workflow", "query", "--workflow-id", "cmd-rb", "--name", "count")
	mustContain(t, "count after the reset", out, "1")
}
