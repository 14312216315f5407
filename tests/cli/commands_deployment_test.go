package cli_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

const depQueue = "cli-dep-tq"

// depWorker runs a versioned worker of deployment name and build id on
// depQueue, with a pinned workflow that waits for a signal "go".
func depWorker(t *testing.T, cl client.Client, name, build string) worker.Worker {
	t.Helper()
	w := worker.New(cl, depQueue, worker.Options{DeploymentOptions: worker.DeploymentOptions{UseVersioning: true,
		Version: worker.WorkerDeploymentVersion{DeploymentName: name, BuildID: build}}})
	wf := func(ctx workflow.Context) (string, error) {
		var s string
		workflow.GetSignalChannel(ctx, "go").Receive(ctx, &s)
		return s + "@" + build, nil
	}
	w.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: "DepPinned", VersioningBehavior: workflow.VersioningBehaviorPinned})
	if err := w.Start(); err != nil {
		t.Fatalf("worker: %v", err)
	}
	return w
}

// JSON shapes of `temporal worker deployment describe[-version] -o json`.
type depVersionJSON struct {
	DeploymentName string  `json:"deploymentName"`
	BuildID        string  `json:"BuildID"`
	RampPercentage float64 `json:"rampPercentage"`
	DrainageInfo   struct {
		DrainageStatus string `json:"drainageStatus"`
	} `json:"drainageInfo"`
	TaskQueuesInfos []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"taskQueuesInfos"`
	Metadata map[string]struct {
		Data string `json:"data"`
	} `json:"metadata"`
}

type depJSON struct {
	Name                 string `json:"name"`
	LastModifierIdentity string `json:"lastModifierIdentity"`
	ManagerIdentity      string `json:"managerIdentity"`
	RoutingConfig        struct {
		CurrentVersionBuildID    string  `json:"currentVersionBuildID"`
		RampingVersionBuildID    string  `json:"rampingVersionBuildID"`
		RampingVersionPercentage float64 `json:"rampingVersionPercentage"`
	} `json:"routingConfig"`
	VersionSummaries []struct {
		BuildID        string `json:"BuildID"`
		DrainageStatus string `json:"drainageStatus"`
	} `json:"versionSummaries"`
}

// TestCLICommandsDeployment runs every `temporal worker deployment`
// command against versioned Go SDK workers: list and describe what their
// polls registered, move the current and ramping versions (refused for
// someone else while a manager identity is set), set and remove version
// metadata, and delete versions (refused while polled or draining) and the
// deployment (refused while it has versions).
func TestCLICommandsDeployment(t *testing.T) {
	c, srv := cmdCLI(t)
	cl, err := client.Dial(client.Options{HostPort: srv.addr, Logger: nopLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	w1 := depWorker(t, cl, "cli-dep", "1.0")
	defer w1.Stop()
	w2 := depWorker(t, cl, "cli-dep", "2.0")
	defer w2.Stop()
	describe := func() depJSON {
		var d depJSON
		c.runJSON(t, &d, "worker", "deployment", "describe", "--name", "cli-dep")
		return d
	}
	describeVersion := func(build string) depVersionJSON {
		var v depVersionJSON
		c.runJSON(t, &v, "worker", "deployment", "describe-version", "--deployment-name", "cli-dep", "--build-id", build)
		return v
	}
	deadline := time.Now().Add(15 * time.Second)
	for len(describeVersionsOr(c, t)) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the workers' versions were not registered")
		}
		time.Sleep(100 * time.Millisecond)
	}

	out := c.run(t, "worker", "deployment", "list")
	mustContain(t, "deployment list", out, "Name", "CurrentVersionBuildID", "cli-dep")
	out = c.run(t, "worker", "deployment", "describe", "--name", "cli-dep")
	mustContain(t, "deployment describe", out, "Worker Deployment:", "Version Summaries:", "cli-dep", "1.0", "2.0")
	v1 := describeVersion("1.0")
	if v1.DeploymentName != "cli-dep" || v1.BuildID != "1.0" || len(v1.TaskQueuesInfos) != 2 {
		t.Fatalf("describe-version 1.0: %+v", v1)
	}
	out = c.run(t, "worker", "deployment", "describe-version", "--deployment-name", "cli-dep", "--build-id", "1.0")
	mustContain(t, "describe-version", out, "Worker Deployment Version:", "Task Queues:")
	mustLine(t, "describe-version", out, depQueue, "workflow")
	mustLine(t, "describe-version", out, depQueue, "activity")
	errOut := c.fail(t, "worker", "deployment", "describe", "--name", "no-such-dep")
	mustContain(t, "describe of an unknown deployment", errOut, "no Worker Deployment found with name 'no-such-dep'")

	// Current and ramping versions.
	out = c.run(t, "worker", "deployment", "set-current-version", "--deployment-name", "cli-dep", "--build-id", "1.0", "--yes")
	mustContain(t, "set-current-version", out, "Successfully set the current worker deployment version")
	c.run(t, "workflow", "start", "--type", "DepPinned", "--task-queue", depQueue, "--workflow-id", "cli-dep-pinned")
	waitPinned(t, cl, "cli-dep-pinned", "1.0")
	out = c.run(t, "worker", "deployment", "set-ramping-version", "--deployment-name", "cli-dep", "--build-id", "2.0", "--percentage", "25", "--yes")
	mustContain(t, "set-ramping-version", out, "Successfully set the ramping worker deployment version")
	out = c.run(t, "worker", "deployment", "describe", "--name", "cli-dep")
	mustLine(t, "describe with a ramp", out, "CurrentVersionBuildID", "1.0")
	mustLine(t, "describe with a ramp", out, "RampingVersionBuildID", "2.0")
	mustLine(t, "describe with a ramp", out, "RampingVersionPercentage", "25")
	if v := describeVersion("2.0"); v.RampPercentage != 25 {
		t.Fatalf("ramping version: %+v", v)
	}
	out = c.run(t, "worker", "deployment", "list")
	mustContain(t, "list with a ramp", out, "cli-dep", "1.0", "2.0", "25")
	c.run(t, "worker", "deployment", "set-ramping-version", "--deployment-name", "cli-dep", "--delete", "--yes")
	if d := describe(); d.RoutingConfig.RampingVersionBuildID != "" || d.RoutingConfig.CurrentVersionBuildID != "1.0" {
		t.Fatalf("after deleting the ramp: %+v", d.RoutingConfig)
	}
	c.run(t, "worker", "deployment", "set-current-version", "--deployment-name", "cli-dep", "--build-id", "2.0", "--yes")
	// The pinned run keeps 1.0 draining.
	if v := describeVersion("1.0"); v.DrainageInfo.DrainageStatus != "draining" {
		t.Fatalf("1.0 with a pinned run open: drainage %q", v.DrainageInfo.DrainageStatus)
	}

	// Metadata.
	out = c.run(t, "worker", "deployment", "update-metadata-version", "--deployment-name", "cli-dep", "--build-id", "2.0",
		"--metadata", `owner="ops"`, "--metadata", `tier="gold"`)
	mustContain(t, "update-metadata-version", out, "Successfully updating metadata", "owner", "tier")
	md := describeVersion("2.0").Metadata
	if len(md) != 2 || md["owner"].Data != base64.StdEncoding.EncodeToString([]byte(`"ops"`)) {
		t.Fatalf("metadata: %+v", md)
	}
	c.run(t, "worker", "deployment", "update-metadata-version", "--deployment-name", "cli-dep", "--build-id", "2.0", "--remove-entries", "tier")
	if md := describeVersion("2.0").Metadata; len(md) != 1 || md["owner"].Data == "" {
		t.Fatalf("metadata after removing tier: %+v", md)
	}

	// Manager identity.
	out = c.run(t, "worker", "deployment", "manager-identity", "set", "--deployment-name", "cli-dep", "--manager-identity", "ops-bot", "--yes")
	mustContain(t, "manager-identity set", out, "Successfully set manager identity to 'ops-bot', was previously ''")
	if d := describe(); d.ManagerIdentity != "ops-bot" {
		t.Fatalf("manager: %+v", d)
	}
	errOut = c.fail(t, "worker", "deployment", "set-current-version", "--deployment-name", "cli-dep", "--build-id", "1.0", "--yes")
	mustContain(t, "set-current-version by another identity", errOut, "ManagerIdentity 'ops-bot' is set and does not match user identity")
	out = c.run(t, "worker", "deployment", "manager-identity", "unset", "--deployment-name", "cli-dep", "--yes", "--identity", "ops-bot")
	mustContain(t, "manager-identity unset", out, "Successfully unset manager identity, was previously 'ops-bot'")
	if d := describe(); d.ManagerIdentity != "" || d.LastModifierIdentity != "ops-bot" {
		t.Fatalf("after unset: %+v", d)
	}

	// Deleting versions and the deployment.
	errOut = c.fail(t, "worker", "deployment", "delete-version", "--deployment-name", "cli-dep", "--build-id", "1.0")
	mustContain(t, "delete-version of a polled version", errOut, "version 'cli-dep:1.0' cannot be deleted since it has active pollers")
	w1.Stop()
	errOut = c.fail(t, "worker", "deployment", "delete-version", "--deployment-name", "cli-dep", "--build-id", "1.0")
	mustContain(t, "delete-version of a draining version", errOut, "version 'cli-dep:1.0' cannot be deleted since it is draining")
	errOut = c.fail(t, "worker", "deployment", "delete-version", "--deployment-name", "cli-dep", "--build-id", "2.0")
	mustContain(t, "delete-version of the current version", errOut, "cannot be deleted since it is current or ramping")

	// Reset with a versioning override: the new run of the run pinned to
	// 1.0 (whose workers are gone) is pinned to 2.0 by an options event
	// recorded before its first workflow task, which 2.0's worker runs.
	before, err := cl.DescribeWorkflowExecution(context.Background(), "cli-dep-pinned", "")
	if err != nil {
		t.Fatal(err)
	}
	oldRun := before.WorkflowExecutionInfo.Execution.RunId
	out = c.run(t, "workflow", "reset", "with-workflow-update-options", "--workflow-id", "cli-dep-pinned", "--type", "LastWorkflowTask",
		"--reason", "move to 2.0", "--versioning-override-behavior", "pinned",
		"--versioning-override-deployment-name", "cli-dep", "--versioning-override-build-id", "2.0")
	var resetDesc struct {
		WorkflowExtendedInfo struct {
			ResetRunID string `json:"resetRunId"`
		} `json:"workflowExtendedInfo"`
	}
	c.runJSON(t, &resetDesc, "workflow", "describe", "--workflow-id", "cli-dep-pinned", "--run-id", oldRun)
	newRun := resetDesc.WorkflowExtendedInfo.ResetRunID
	if newRun == "" {
		t.Fatalf("reset with-workflow-update-options made no run:\n%s", out)
	}
	c.run(t, "workflow", "signal", "--workflow-id", "cli-dep-pinned", "--name", "go", "--input", `"moved"`)
	out = c.run(t, "workflow", "result", "--workflow-id", "cli-dep-pinned")
	mustContain(t, "result of the reset run", out, "COMPLETED", `"moved@2.0"`)
	var hist struct {
		Events []struct {
			EventType string          `json:"eventType"`
			Attrs     json.RawMessage `json:"workflowExecutionOptionsUpdatedEventAttributes"`
		} `json:"events"`
	}
	c.runJSON(t, &hist, "workflow", "show", "--workflow-id", "cli-dep-pinned", "--run-id", newRun)
	var kinds []string
	for _, ev := range hist.Events {
		kinds = append(kinds, ev.EventType)
	}
	opt := -1
	for i, k := range kinds {
		if k == "EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED" {
			opt = i
			var compact bytes.Buffer
			if err := json.Compact(&compact, hist.Events[i].Attrs); err != nil || !strings.Contains(compact.String(), `"version":{"buildId":"2.0","deploymentName":"cli-dep"}`) {
				t.Fatalf("options event: %s", hist.Events[i].Attrs)
			}
			break
		}
	}
	if opt < 0 || opt+1 >= len(kinds) || kinds[opt-1] != "EVENT_TYPE_WORKFLOW_TASK_FAILED" || kinds[opt+1] != "EVENT_TYPE_WORKFLOW_TASK_SCHEDULED" {
		t.Fatalf("reset run's history: %v; want the options event between the reset's failed task and the new task", kinds)
	}

	c.run(t, "worker", "deployment", "delete-version", "--deployment-name", "cli-dep", "--build-id", "1.0", "--skip-drainage")
	if d := describe(); len(d.VersionSummaries) != 1 || d.VersionSummaries[0].BuildID != "2.0" {
		t.Fatalf("after deleting 1.0: %+v", d.VersionSummaries)
	}
	errOut = c.fail(t, "worker", "deployment", "delete", "--name", "cli-dep")
	mustContain(t, "delete of a deployment with versions", errOut, "deployment has versions, can't be deleted")
	c.run(t, "worker", "deployment", "set-current-version", "--deployment-name", "cli-dep", "--unversioned", "--yes")
	w2.Stop()
	c.run(t, "worker", "deployment", "delete-version", "--deployment-name", "cli-dep", "--build-id", "2.0")
	c.run(t, "worker", "deployment", "delete", "--name", "cli-dep")
	var list []depJSON
	c.runJSON(t, &list, "worker", "deployment", "list")
	if len(list) != 0 {
		t.Fatalf("deployments after delete: %+v", list)
	}
	errOut = c.fail(t, "worker", "deployment", "describe", "--name", "cli-dep")
	mustContain(t, "describe of a deleted deployment", errOut, "no Worker Deployment found with name 'cli-dep'")
}

// describeVersionsOr lists the build ids of cli-dep's versions (none when
// it does not exist yet).
func describeVersionsOr(c *cli, t *testing.T) []string {
	r := c.exec("worker", "deployment", "describe", "--name", "cli-dep", "-o", "json")
	if r.err != nil {
		return nil
	}
	var d depJSON
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
		t.Fatalf("describe: %v\n%s", err, r.stdout)
	}
	var ids []string
	for _, v := range d.VersionSummaries {
		ids = append(ids, v.BuildID)
	}
	return ids
}

// waitPinned waits until the run's first workflow task is completed by the
// given build id's worker, which pins it there.
func waitPinned(t *testing.T, cl client.Client, id, build string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		d, err := cl.DescribeWorkflowExecution(context.Background(), id, "")
		vi := d.GetWorkflowExecutionInfo().GetVersioningInfo()
		if err == nil && vi.GetBehavior() == enumspb.VERSIONING_BEHAVIOR_PINNED && vi.GetDeploymentVersion().GetBuildId() == build {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not pinned to %s: %v, %v", id, build, vi, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
