package cli_test

import (
	"context"
	"errors"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// cliFlaky fails until ok is set, counting its attempts.
type cliFlaky struct {
	ok       atomic.Bool
	attempts atomic.Int32
	last     atomic.Int32
}

func (f *cliFlaky) CLIFlaky(ctx context.Context) (string, error) {
	f.attempts.Add(1)
	f.last.Store(activity.GetInfo(ctx).Attempt)
	if f.ok.Load() {
		return "done", nil
	}
	return "", errors.New("not yet")
}

func cliFlakyWorkflow(ctx workflow.Context) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		ActivityID: "flaky", StartToCloseTimeout: 10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 50 * time.Millisecond, BackoffCoefficient: 1},
	})
	var r string
	err := workflow.ExecuteActivity(ctx, "CLIFlaky").Get(ctx, &r)
	return r, err
}

// pendingActivity is the part of `temporal workflow describe -o json` the
// activity commands change.
type pendingActivity struct {
	ActivityID string `json:"activityId"`
	State      string `json:"state"`
	Attempt    int    `json:"attempt"`
	Paused     bool   `json:"paused"`
	PauseInfo  struct {
		Manual struct {
			Identity string `json:"identity"`
			Reason   string `json:"reason"`
		} `json:"manual"`
	} `json:"pauseInfo"`
	Options struct {
		TaskQueue struct {
			Name string `json:"name"`
		} `json:"taskQueue"`
		HeartbeatTimeout string `json:"heartbeatTimeout"`
		RetryPolicy      struct {
			MaximumAttempts int `json:"maximumAttempts"`
		} `json:"retryPolicy"`
	} `json:"activityOptions"`
}

func (c *cli) pending(t *testing.T, id string) []pendingActivity {
	t.Helper()
	var d struct {
		Pending []pendingActivity `json:"pendingActivities"`
	}
	c.runJSON(t, &d, "workflow", "describe", "--namespace", "default", "--workflow-id", id)
	return d.Pending
}

// TestCLIActivityControl runs `temporal activity pause / unpause / reset /
// update-options` and `temporal workflow update-options` against Sundial
// with a real worker: a paused activity stops retrying and describe shows
// it paused; options and reset change what describe shows; unpause lets it
// finish; a versioning override shows in describe.
func TestCLIActivityControl(t *testing.T) {
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
	w := worker.New(sc, "cli-act", worker.Options{})
	w.RegisterWorkflow(cliFlakyWorkflow)
	w.RegisterActivity(fl.CLIFlaky)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const id = "cli-act-wf"
	run, err := sc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "cli-act"}, cliFlakyWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	for fl.attempts.Load() < 3 {
		time.Sleep(20 * time.Millisecond)
	}

	mustContain(t, "pause unknown", c.fail(t, "activity", "pause", "-w", id, "-a", "nope"), "Can't find pending activity")
	out := c.run(t, "activity", "pause", "-w", id, "-a", "flaky")
	t.Logf("pause: %s", out)
	time.Sleep(300 * time.Millisecond)
	n := fl.attempts.Load()
	time.Sleep(time.Second)
	if fl.attempts.Load() != n {
		t.Fatal("the paused activity kept retrying")
	}
	p := c.pending(t, id)
	if len(p) != 1 || !p[0].Paused || p[0].State != "PENDING_ACTIVITY_STATE_PAUSED" || p[0].PauseInfo.Manual.Identity == "" {
		t.Fatalf("describe after pause: %+v", p)
	}
	mustContain(t, "pause again", c.fail(t, "activity", "pause", "-w", id, "-a", "flaky"), "already paused")

	out = c.run(t, "activity", "update-options", "-w", id, "-a", "flaky", "--heartbeat-timeout", "7s", "--retry-maximum-attempts", "40")
	t.Logf("update-options: %s", out)
	mustContain(t, "update-options", out, "7s", "40")
	p = c.pending(t, id)
	if len(p) != 1 || p[0].Options.HeartbeatTimeout != "7s" || p[0].Options.RetryPolicy.MaximumAttempts != 40 || !p[0].Paused {
		t.Fatalf("describe after update-options: %+v", p)
	}

	out = c.run(t, "activity", "reset", "-w", id, "-a", "flaky", "--keep-paused")
	t.Logf("reset: %s", out)
	p = c.pending(t, id)
	if len(p) != 1 || p[0].Attempt != 1 || !p[0].Paused {
		t.Fatalf("describe after reset --keep-paused: %+v", p)
	}
	if fl.attempts.Load() != n {
		t.Fatal("reset --keep-paused ran the activity")
	}

	// Worker versioning overrides are offered since worker deployments
	// (issue 14): the override shows in describe.
	mustContain(t, "workflow update-options versioning", c.run(t, "workflow", "update-options", "-w", id, "--versioning-override-behavior", "auto_upgrade"), "succeeded")
	mustContain(t, "describe after the override", c.run(t, "workflow", "describe", "-w", id, "-o", "json"), `"behavior": "VERSIONING_BEHAVIOR_AUTO_UPGRADE"`)

	fl.ok.Store(true)
	out = c.run(t, "activity", "unpause", "-w", id, "-a", "flaky")
	t.Logf("unpause: %s", out)
	var r string
	if err := run.Get(ctx, &r); err != nil || r != "done" {
		t.Fatalf("result %q %v", r, err)
	}
	if fl.last.Load() != 1 {
		t.Fatalf("after reset the activity ran as attempt %d, want 1", fl.last.Load())
	}
	mustContain(t, "unpause after close", c.fail(t, "activity", "unpause", "-w", id, "-a", "flaky"), "workflow execution already completed")
}
