package gosdk

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	deploymentpb "go.temporal.io/api/deployment/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/sundial-io/sundial/internal/server"
)

// Worker deployments (worker versioning) through the Go SDK: versioned
// workers register their deployment and version by polling, the
// WorkerDeploymentClient moves the current and ramping versions, and tasks
// follow: pinned runs stay on their version, auto-upgrade runs move at
// their next task, overrides win.

func versionedWorker(e *env, v worker.WorkerDeploymentVersion, suffix string) worker.Worker {
	e.t.Helper()
	w := worker.New(e.c, e.tq, worker.Options{DeploymentOptions: worker.DeploymentOptions{UseVersioning: true, Version: v}})
	wf := func(ctx workflow.Context) (string, error) {
		if err := workflow.SetQueryHandler(ctx, "version", func() (string, error) { return suffix, nil }); err != nil {
			return "", err
		}
		var s string
		workflow.GetSignalChannel(ctx, "go").Receive(ctx, &s)
		return s + suffix, nil
	}
	w.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: "Pinned", VersioningBehavior: workflow.VersioningBehaviorPinned})
	w.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: "Auto", VersioningBehavior: workflow.VersioningBehaviorAutoUpgrade})
	if err := w.Start(); err != nil {
		e.t.Fatalf("worker start: %v", err)
	}
	return w
}

// lastCompleted returns the attributes of a run's last WorkflowTaskCompleted.
func lastCompleted(e *env, id, runID string) *historypb.WorkflowTaskCompletedEventAttributes {
	var last *historypb.WorkflowTaskCompletedEventAttributes
	for _, ev := range e.history(id, runID) {
		if a := ev.GetWorkflowTaskCompletedEventAttributes(); a != nil {
			last = a
		}
	}
	return last
}

func TestWorkerDeploymentRouting(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	name := "dep-" + uuid.NewString()[:8]
	v1 := worker.WorkerDeploymentVersion{DeploymentName: name, BuildID: "1.0"}
	v2 := worker.WorkerDeploymentVersion{DeploymentName: name, BuildID: "2.0"}
	w1 := versionedWorker(e, v1, "_v1")
	defer w1.Stop()
	w2 := versionedWorker(e, v2, "_v2")
	defer w2.Stop()

	h := e.c.WorkerDeploymentClient().GetHandle(name)
	var desc client.WorkerDeploymentDescribeResponse
	waitFor(t, 10*time.Second, "both versions registered", func() bool {
		d, err := h.Describe(ctx, client.WorkerDeploymentDescribeOptions{})
		desc = d
		return err == nil && len(d.Info.VersionSummaries) == 2
	})
	waitVersionsPollWorkflowQueue(t, e, name, "1.0", "2.0")
	if desc.Info.Name != name || desc.Info.CreateTime.IsZero() || desc.Info.RoutingConfig.CurrentVersion != nil {
		t.Fatalf("fresh deployment: %+v", desc.Info)
	}
	for _, s := range desc.Info.VersionSummaries {
		if s.CreateTime.IsZero() || (s.Version != v1 && s.Version != v2) {
			t.Fatalf("version summary %+v", s)
		}
	}
	// Without a current version tasks go to unversioned workers: none here.
	if _, err := h.SetCurrentVersion(ctx, client.WorkerDeploymentSetCurrentVersionOptions{BuildID: "1.0", ConflictToken: []byte("stale")}); !isFailedPrecondition(err, "conflict token") {
		t.Fatalf("stale conflict token: %v", err)
	}
	if _, err := h.SetCurrentVersion(ctx, client.WorkerDeploymentSetCurrentVersionOptions{BuildID: "9.9"}); !isNotFound(err) {
		t.Fatalf("unknown version: %v, want NotFound", err)
	}
	set, err := h.SetCurrentVersion(ctx, client.WorkerDeploymentSetCurrentVersionOptions{BuildID: "1.0", ConflictToken: desc.ConflictToken})
	if err != nil {
		t.Fatal(err)
	}
	if set.PreviousVersion != nil {
		t.Fatalf("previous current %v, want unversioned", set.PreviousVersion)
	}

	start := func(wfType string, opts client.StartWorkflowOptions) client.WorkflowRun {
		t.Helper()
		run, err := e.c.ExecuteWorkflow(ctx, opts, wfType)
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, wfType+" first task", func() bool { return lastCompleted(e, run.GetID(), run.GetRunID()) != nil })
		return run
	}
	pinned := start("Pinned", e.opts("pinned"))
	auto := start("Auto", e.opts("auto"))

	d, err := e.c.DescribeWorkflowExecution(ctx, pinned.GetID(), "")
	if err != nil {
		t.Fatal(err)
	}
	vi := d.WorkflowExecutionInfo.GetVersioningInfo()
	if vi.GetBehavior() != enumspb.VERSIONING_BEHAVIOR_PINNED || vi.GetDeploymentVersion().GetBuildId() != "1.0" || vi.GetDeploymentVersion().GetDeploymentName() != name {
		t.Fatalf("pinned run versioning_info %v", vi)
	}
	a := lastCompleted(e, auto.GetID(), "")
	if a.GetVersioningBehavior() != enumspb.VERSIONING_BEHAVIOR_AUTO_UPGRADE || a.GetDeploymentVersion().GetBuildId() != "1.0" || a.GetWorkerDeploymentName() != name {
		t.Fatalf("auto run's WorkflowTaskCompleted: %v", a)
	}

	// v2 becomes current: the pinned run stays on v1, the auto-upgrade
	// run moves to v2 at its next task.
	desc, _ = h.Describe(ctx, client.WorkerDeploymentDescribeOptions{})
	set, err = h.SetCurrentVersion(ctx, client.WorkerDeploymentSetCurrentVersionOptions{BuildID: "2.0", ConflictToken: desc.ConflictToken})
	if err != nil {
		t.Fatal(err)
	}
	if set.PreviousVersion == nil || *set.PreviousVersion != v1 {
		t.Fatalf("previous current %v, want v1", set.PreviousVersion)
	}
	for _, r := range []struct {
		run  client.WorkflowRun
		want string
	}{{pinned, "p_v1"}, {auto, "a_v2"}} {
		if err := e.c.SignalWorkflow(ctx, r.run.GetID(), "", "go", r.want[:1]); err != nil {
			t.Fatal(err)
		}
		var got string
		if err := r.run.Get(ctx, &got); err != nil || got != r.want {
			t.Fatalf("%s: %q, %v; want %q", r.run.GetID(), got, err, r.want)
		}
	}
	if a := lastCompleted(e, auto.GetID(), ""); a.GetDeploymentVersion().GetBuildId() != "2.0" || a.GetVersioningBehavior() != enumspb.VERSIONING_BEHAVIOR_AUTO_UPGRADE {
		t.Fatalf("auto run's last task completed by %v", a)
	}
	if a := lastCompleted(e, pinned.GetID(), ""); a.GetDeploymentVersion().GetBuildId() != "1.0" {
		t.Fatalf("pinned run's last task completed by %v", a)
	}

	// DescribeTaskQueue lists the pollers of every version and the
	// queue's routing.
	tqd, err := e.c.DescribeTaskQueue(ctx, e.tq, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	if err != nil {
		t.Fatal(err)
	}
	builds := map[string]bool{}
	for _, p := range tqd.Pollers {
		builds[p.GetDeploymentOptions().GetBuildId()] = true
	}
	if !builds["1.0"] || !builds["2.0"] || tqd.VersioningInfo.GetCurrentDeploymentVersion().GetBuildId() != "2.0" {
		t.Fatalf("DescribeTaskQueue: pollers of builds %v, versioning %v", builds, tqd.VersioningInfo)
	}

	// A version that is current cannot be deleted; v1 is drained (its
	// only pinned run closed).
	if _, err := h.DeleteVersion(ctx, client.WorkerDeploymentDeleteVersionOptions{BuildID: "2.0"}); !isFailedPrecondition(err, "current or ramping") {
		t.Fatalf("delete current version: %v", err)
	}
	vd, err := h.DescribeVersion(ctx, client.WorkerDeploymentDescribeVersionOptions{BuildID: "1.0"})
	if err != nil {
		t.Fatal(err)
	}
	if vd.Info.DrainageInfo == nil || vd.Info.DrainageInfo.DrainageStatus != client.WorkerDeploymentVersionDrainageStatusDrained ||
		len(vd.Info.TaskQueuesInfos) == 0 || vd.Info.TaskQueuesInfos[0].Name != e.tq {
		t.Fatalf("v1 after leaving current: %+v", vd.Info)
	}

	// Ramping v1 at 100% sends new unpinned runs to it.
	desc, _ = h.Describe(ctx, client.WorkerDeploymentDescribeOptions{})
	if _, err := h.SetRampingVersion(ctx, client.WorkerDeploymentSetRampingVersionOptions{BuildID: "1.0", Percentage: 100, ConflictToken: desc.ConflictToken}); err != nil {
		t.Fatal(err)
	}
	desc, _ = h.Describe(ctx, client.WorkerDeploymentDescribeOptions{})
	if rc := desc.Info.RoutingConfig; rc.RampingVersion == nil || *rc.RampingVersion != v1 || rc.RampingVersionPercentage != 100 || rc.CurrentVersion == nil || *rc.CurrentVersion != v2 {
		t.Fatalf("routing config with ramp: %+v", rc)
	}
	ramped := start("Auto", e.opts("ramped"))
	_ = e.c.SignalWorkflow(ctx, ramped.GetID(), "", "go", "r")
	var got string
	if err := ramped.Get(ctx, &got); err != nil || got != "r_v1" {
		t.Fatalf("ramped run: %q, %v; want r_v1", got, err)
	}
	if _, err := h.SetRampingVersion(ctx, client.WorkerDeploymentSetRampingVersionOptions{BuildID: "", Percentage: 0}); err != nil {
		t.Fatal(err)
	}

	// A pinned override beats the current version; an auto-upgrade
	// override set later moves the run to the current version.
	o := e.opts("override")
	o.VersioningOverride = &client.PinnedVersioningOverride{Version: v1}
	over := start("Auto", o)
	d, _ = e.c.DescribeWorkflowExecution(ctx, over.GetID(), "")
	if ov := d.WorkflowExecutionInfo.GetVersioningInfo().GetVersioningOverride(); ov.GetPinned().GetVersion().GetBuildId() != "1.0" {
		t.Fatalf("override in describe: %v", d.WorkflowExecutionInfo.GetVersioningInfo())
	}
	if ov := e.history(over.GetID(), "")[0].GetWorkflowExecutionStartedEventAttributes().GetVersioningOverride(); ov.GetPinned().GetVersion().GetBuildId() != "1.0" {
		t.Fatalf("override in started event: %v", ov)
	}
	if _, err := e.c.UpdateWorkflowExecutionOptions(ctx, client.UpdateWorkflowExecutionOptionsRequest{WorkflowId: over.GetID(),
		WorkflowExecutionOptionsChanges: client.WorkflowExecutionOptionsChanges{VersioningOverride: &client.VersioningOverrideChange{Value: &client.AutoUpgradeVersioningOverride{}}}}); err != nil {
		t.Fatal(err)
	}
	_ = e.c.SignalWorkflow(ctx, over.GetID(), "", "go", "o")
	if err := over.Get(ctx, &got); err != nil || got != "o_v2" {
		t.Fatalf("run with auto-upgrade override: %q, %v; want o_v2", got, err)
	}
	var updated *historypb.WorkflowExecutionOptionsUpdatedEventAttributes
	for _, ev := range e.history(over.GetID(), "") {
		if a := ev.GetWorkflowExecutionOptionsUpdatedEventAttributes(); a != nil {
			updated = a
		}
	}
	if !updated.GetVersioningOverride().GetAutoUpgrade() || updated.GetUnsetVersioningOverride() {
		t.Fatalf("options updated event: %v", updated)
	}

	// Metadata, list, and deletion once v1's worker is gone.
	if _, err := h.UpdateVersionMetadata(ctx, client.WorkerDeploymentUpdateVersionMetadataOptions{Version: v2,
		MetadataUpdate: client.WorkerDeploymentMetadataUpdate{UpsertEntries: map[string]any{"owner": "team-a"}}}); err != nil {
		t.Fatal(err)
	}
	vd, _ = h.DescribeVersion(ctx, client.WorkerDeploymentDescribeVersionOptions{BuildID: "2.0"})
	if p := vd.Info.Metadata["owner"]; p == nil || !strings.Contains(string(p.Data), "team-a") {
		t.Fatalf("metadata: %v", vd.Info.Metadata)
	}
	it, err := e.c.WorkerDeploymentClient().List(ctx, client.WorkerDeploymentListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	listed := false
	for it.HasNext() {
		d, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		listed = listed || d.Name == name && d.RoutingConfig.CurrentVersion != nil && *d.RoutingConfig.CurrentVersion == v2
	}
	if !listed {
		t.Fatal("ListWorkerDeployments misses the deployment")
	}
	if _, err := h.DeleteVersion(ctx, client.WorkerDeploymentDeleteVersionOptions{BuildID: "1.0"}); !isFailedPrecondition(err, "active pollers") {
		t.Fatalf("delete polled version: %v", err)
	}
	w1.Stop()
	if _, err := h.DeleteVersion(ctx, client.WorkerDeploymentDeleteVersionOptions{BuildID: "1.0", SkipDrainage: true}); err != nil {
		t.Fatalf("delete v1 after its worker stopped: %v", err)
	}
	if _, err := e.c.WorkerDeploymentClient().Delete(ctx, client.WorkerDeploymentDeleteOptions{Name: name}); !isFailedPrecondition(err, "has versions") {
		t.Fatalf("delete deployment with versions: %v", err)
	}
	w2.Stop()

	// The deployment survives a restart.
	e.restart()
	h = e.c.WorkerDeploymentClient().GetHandle(name)
	desc, err = h.Describe(e.ctx(), client.WorkerDeploymentDescribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.Info.VersionSummaries) != 1 || desc.Info.VersionSummaries[0].Version != v2 || desc.Info.RoutingConfig.CurrentVersion == nil || *desc.Info.RoutingConfig.CurrentVersion != v2 {
		t.Fatalf("after restart: %+v", desc.Info)
	}
}

// TestWorkerDeploymentErrors: unknown deployments and bad versions are
// refused with Temporal's codes; the deprecated build-id APIs say they
// are not offered.
func TestWorkerDeploymentErrors(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	svc := e.c.WorkflowService()
	if _, err := svc.DescribeWorkerDeployment(ctx, &workflowservice.DescribeWorkerDeploymentRequest{Namespace: "default", DeploymentName: "nope"}); !isNotFound(err) || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("describe unknown: %v", err)
	}
	if _, err := svc.SetWorkerDeploymentCurrentVersion(ctx, &workflowservice.SetWorkerDeploymentCurrentVersionRequest{Namespace: "default", DeploymentName: "nope", BuildId: "1"}); !isNotFound(err) {
		t.Fatalf("set current of unknown deployment: %v", err)
	}
	var inv *serviceerror.InvalidArgument
	if _, err := svc.DescribeWorkerDeploymentVersion(ctx, &workflowservice.DescribeWorkerDeploymentVersionRequest{Namespace: "default",
		DeploymentVersion: &deploymentpb.WorkerDeploymentVersion{DeploymentName: "d"}}); !errors.As(err, &inv) || !strings.Contains(err.Error(), "BuildID cannot be empty") {
		t.Fatalf("version without build id: %v", err)
	}
	if _, err := svc.SetWorkerDeploymentRampingVersion(ctx, &workflowservice.SetWorkerDeploymentRampingVersionRequest{Namespace: "default", DeploymentName: "d", BuildId: "1", Percentage: 150}); !errors.As(err, &inv) || !strings.Contains(err.Error(), "Percentage") {
		t.Fatalf("ramp of 150%%: %v", err)
	}
	if _, err := svc.DescribeWorkerDeployment(ctx, &workflowservice.DescribeWorkerDeploymentRequest{Namespace: "default", DeploymentName: "a.b"}); !errors.As(err, &inv) || !strings.Contains(err.Error(), "cannot contain '.'") {
		t.Fatalf("deployment name with a dot: %v", err)
	}
	if _, err := svc.PollWorkflowTaskQueue(ctx, &workflowservice.PollWorkflowTaskQueueRequest{Namespace: "default", TaskQueue: &taskqueuepb.TaskQueue{Name: "q"},
		DeploymentOptions: &deploymentpb.WorkerDeploymentOptions{DeploymentName: "d", BuildId: "__x", WorkerVersioningMode: enumspb.WORKER_VERSIONING_MODE_VERSIONED}}); !errors.As(err, &inv) || !strings.Contains(err.Error(), "BuildID cannot start with '__'") {
		t.Fatalf("versioned poller with a reserved build id: %v", err)
	}
	if _, err := svc.DeleteWorkerDeployment(ctx, &workflowservice.DeleteWorkerDeploymentRequest{Namespace: "default", DeploymentName: "nope"}); err != nil {
		t.Fatalf("delete of a deployment that does not exist: %v (Temporal answers success)", err)
	}
	resp, err := svc.ListWorkerDeployments(ctx, &workflowservice.ListWorkerDeploymentsRequest{Namespace: "default"})
	if err != nil || len(resp.WorkerDeployments) != 0 {
		t.Fatalf("list on a fresh server: %v, %v", resp, err)
	}
	var pd *serviceerror.PermissionDenied
	if _, err := svc.GetWorkerVersioningRules(ctx, &workflowservice.GetWorkerVersioningRulesRequest{Namespace: "default", TaskQueue: "q"}); !errors.As(err, &pd) || !strings.Contains(err.Error(), "does not offer") {
		t.Fatalf("GetWorkerVersioningRules: %v", err)
	}
	if _, err := svc.GetWorkerBuildIdCompatibility(ctx, &workflowservice.GetWorkerBuildIdCompatibilityRequest{Namespace: "default", TaskQueue: "q"}); !errors.As(err, &pd) || !strings.Contains(err.Error(), "does not offer") {
		t.Fatalf("GetWorkerBuildIdCompatibility: %v", err)
	}
}

func isFailedPrecondition(err error, substr string) bool {
	var fp *serviceerror.FailedPrecondition
	return errors.As(err, &fp) && strings.Contains(err.Error(), substr)
}

func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}

// TestVersioningOverrideMovesQueuedTask: a run pinned by override to a
// version without workers waits; an auto-upgrade override moves its
// queued workflow task to the current version at once.
func TestVersioningOverrideMovesQueuedTask(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	name := "dep-" + uuid.NewString()[:8]
	v1 := worker.WorkerDeploymentVersion{DeploymentName: name, BuildID: "1.0"}
	v2 := worker.WorkerDeploymentVersion{DeploymentName: name, BuildID: "2.0"}
	w1 := versionedWorker(e, v1, "_v1")
	w2 := versionedWorker(e, v2, "_v2")
	defer w2.Stop()
	h := e.c.WorkerDeploymentClient().GetHandle(name)
	waitFor(t, 10*time.Second, "both versions registered", func() bool {
		d, err := h.Describe(ctx, client.WorkerDeploymentDescribeOptions{})
		return err == nil && len(d.Info.VersionSummaries) == 2
	})
	waitVersionsPollWorkflowQueue(t, e, name, "1.0", "2.0")
	w1.Stop()
	if _, err := h.SetCurrentVersion(ctx, client.WorkerDeploymentSetCurrentVersionOptions{BuildID: "2.0"}); err != nil {
		t.Fatal(err)
	}
	o := e.opts("stuck")
	o.VersioningOverride = &client.PinnedVersioningOverride{Version: v1}
	run, err := e.c.ExecuteWorkflow(ctx, o, "Auto")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if n := count(e.history(run.GetID(), ""), enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED); n != 0 {
		t.Fatalf("a task of a run pinned to a version without workers started (%d)", n)
	}
	if _, err := e.c.UpdateWorkflowExecutionOptions(ctx, client.UpdateWorkflowExecutionOptionsRequest{WorkflowId: run.GetID(),
		WorkflowExecutionOptionsChanges: client.WorkflowExecutionOptionsChanges{VersioningOverride: &client.VersioningOverrideChange{Value: &client.AutoUpgradeVersioningOverride{}}}}); err != nil {
		t.Fatal(err)
	}
	if err := e.c.SignalWorkflow(ctx, run.GetID(), "", "go", "s"); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := run.Get(ctx, &got); err != nil || got != "s_v2" {
		t.Fatalf("result %q, %v; want s_v2", got, err)
	}
}

// TestVersioningContinueAsNewInheritsPin: a pinned run that continues as
// new after the current version moved keeps its version (Temporal's
// inherited pinned version), and the new run's started event says so.
func TestVersioningContinueAsNewInheritsPin(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	name := "dep-" + uuid.NewString()[:8]
	start := func(v worker.WorkerDeploymentVersion, suffix string) worker.Worker {
		w := worker.New(e.c, e.tq, worker.Options{DeploymentOptions: worker.DeploymentOptions{UseVersioning: true, Version: v}})
		w.RegisterWorkflowWithOptions(func(ctx workflow.Context, again bool) (string, error) {
			if again {
				var s string
				workflow.GetSignalChannel(ctx, "go").Receive(ctx, &s)
				return "", workflow.NewContinueAsNewError(ctx, "CAN", false)
			}
			return "done" + suffix, nil
		}, workflow.RegisterOptions{Name: "CAN", VersioningBehavior: workflow.VersioningBehaviorPinned})
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		return w
	}
	v1 := worker.WorkerDeploymentVersion{DeploymentName: name, BuildID: "1.0"}
	w1 := start(v1, "_v1")
	defer w1.Stop()
	w2 := start(worker.WorkerDeploymentVersion{DeploymentName: name, BuildID: "2.0"}, "_v2")
	defer w2.Stop()
	h := e.c.WorkerDeploymentClient().GetHandle(name)
	waitFor(t, 10*time.Second, "both versions registered", func() bool {
		d, err := h.Describe(ctx, client.WorkerDeploymentDescribeOptions{})
		return err == nil && len(d.Info.VersionSummaries) == 2
	})
	waitVersionsPollWorkflowQueue(t, e, name, "1.0", "2.0")
	if _, err := h.SetCurrentVersion(ctx, client.WorkerDeploymentSetCurrentVersionOptions{BuildID: "1.0"}); err != nil {
		t.Fatal(err)
	}
	run, err := e.c.ExecuteWorkflow(ctx, e.opts("can"), "CAN", true)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "first task", func() bool { return lastCompleted(e, run.GetID(), run.GetRunID()) != nil })
	if _, err := h.SetCurrentVersion(ctx, client.WorkerDeploymentSetCurrentVersionOptions{BuildID: "2.0"}); err != nil {
		t.Fatal(err)
	}
	if err := e.c.SignalWorkflow(ctx, run.GetID(), "", "go", "x"); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := e.c.GetWorkflow(ctx, run.GetID(), "").Get(ctx, &got); err != nil || got != "done_v1" {
		t.Fatalf("continued run: %q, %v; want done_v1", got, err)
	}
	d, err := e.c.DescribeWorkflowExecution(ctx, run.GetID(), "")
	if err != nil {
		t.Fatal(err)
	}
	newRun := d.WorkflowExecutionInfo.Execution.RunId
	if v := e.history(run.GetID(), newRun)[0].GetWorkflowExecutionStartedEventAttributes().GetInheritedPinnedVersion(); v.GetBuildId() != "1.0" {
		t.Fatalf("new run's inherited pinned version %v", v)
	}
}

// TestWorkerDeploymentSurvivesRestart: after a restart the routing config
// is read back from the store and a pinned run's version from its
// history: the pinned run goes on on v1, a new run starts on current v2.
func TestWorkerDeploymentSurvivesRestart(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	name := "dep-" + uuid.NewString()[:8]
	v1 := worker.WorkerDeploymentVersion{DeploymentName: name, BuildID: "1.0"}
	v2 := worker.WorkerDeploymentVersion{DeploymentName: name, BuildID: "2.0"}
	w1, w2 := versionedWorker(e, v1, "_v1"), versionedWorker(e, v2, "_v2")
	h := e.c.WorkerDeploymentClient().GetHandle(name)
	waitFor(t, 10*time.Second, "both versions registered", func() bool {
		d, err := h.Describe(ctx, client.WorkerDeploymentDescribeOptions{})
		return err == nil && len(d.Info.VersionSummaries) == 2
	})
	waitVersionsPollWorkflowQueue(t, e, name, "1.0", "2.0")
	if _, err := h.SetCurrentVersion(ctx, client.WorkerDeploymentSetCurrentVersionOptions{BuildID: "1.0"}); err != nil {
		t.Fatal(err)
	}
	run, err := e.c.ExecuteWorkflow(ctx, e.opts("pinned"), "Pinned")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "first task", func() bool { return lastCompleted(e, run.GetID(), run.GetRunID()) != nil })
	if _, err := h.SetCurrentVersion(ctx, client.WorkerDeploymentSetCurrentVersionOptions{BuildID: "2.0"}); err != nil {
		t.Fatal(err)
	}
	w1.Stop()
	w2.Stop()

	e.restart()
	ctx = e.ctx()
	w1, w2 = versionedWorker(e, v1, "_v1"), versionedWorker(e, v2, "_v2")
	defer w1.Stop()
	defer w2.Stop()
	// No sticky queue survives a restart: the query goes to the normal
	// queue, routed to the run's pinned version.
	var got string
	q, err := e.c.QueryWorkflow(ctx, run.GetID(), "", "version")
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Get(&got); err != nil || got != "_v1" {
		t.Fatalf("query of the pinned run answered by %q, %v; want _v1", got, err)
	}
	if err := e.c.SignalWorkflow(ctx, run.GetID(), "", "go", "p"); err != nil {
		t.Fatal(err)
	}
	if err := e.c.GetWorkflow(ctx, run.GetID(), "").Get(ctx, &got); err != nil || got != "p_v1" {
		t.Fatalf("pinned run after restart: %q, %v; want p_v1", got, err)
	}
	fresh, err := e.c.ExecuteWorkflow(ctx, e.opts("fresh"), "Auto")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "fresh run's first task", func() bool { return lastCompleted(e, fresh.GetID(), fresh.GetRunID()) != nil })
	_ = e.c.SignalWorkflow(ctx, fresh.GetID(), "", "go", "f")
	if err := fresh.Get(ctx, &got); err != nil || got != "f_v2" {
		t.Fatalf("new run after restart: %q, %v; want f_v2", got, err)
	}
}

// TestQueuedTasksFollowRouting: a new run's first task waits for the
// current version's workers; when another version becomes current the
// queued task moves there at once.
func TestQueuedTasksFollowRouting(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	name := "dep-" + uuid.NewString()[:8]
	w1 := versionedWorker(e, worker.WorkerDeploymentVersion{DeploymentName: name, BuildID: "1.0"}, "_v1")
	w2 := versionedWorker(e, worker.WorkerDeploymentVersion{DeploymentName: name, BuildID: "2.0"}, "_v2")
	defer w2.Stop()
	h := e.c.WorkerDeploymentClient().GetHandle(name)
	waitFor(t, 10*time.Second, "both versions registered", func() bool {
		d, err := h.Describe(ctx, client.WorkerDeploymentDescribeOptions{})
		return err == nil && len(d.Info.VersionSummaries) == 2
	})
	waitVersionsPollWorkflowQueue(t, e, name, "1.0", "2.0")
	w1.Stop()
	if _, err := h.SetCurrentVersion(ctx, client.WorkerDeploymentSetCurrentVersionOptions{BuildID: "1.0"}); err != nil {
		t.Fatal(err)
	}
	run, err := e.c.ExecuteWorkflow(ctx, e.opts("queued"), "Auto")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if n := count(e.history(run.GetID(), ""), enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED); n != 0 {
		t.Fatalf("a task for the current version started without its workers (%d)", n)
	}
	vd, err := e.c.WorkflowService().DescribeWorkerDeploymentVersion(ctx, &workflowservice.DescribeWorkerDeploymentVersionRequest{
		Namespace: "default", DeploymentVersion: &deploymentpb.WorkerDeploymentVersion{DeploymentName: name, BuildId: "1.0"}})
	if err != nil {
		t.Fatal(err)
	}
	backlog := int64(0)
	for _, q := range vd.VersionTaskQueues {
		if q.Name == e.tq && q.Type == enumspb.TASK_QUEUE_TYPE_WORKFLOW {
			backlog = q.GetStats().GetApproximateBacklogCount()
		}
	}
	if backlog != 1 {
		t.Fatalf("v1's workflow queue backlog %d, want 1: %v", backlog, vd.VersionTaskQueues)
	}
	if _, err := h.SetCurrentVersion(ctx, client.WorkerDeploymentSetCurrentVersionOptions{BuildID: "2.0"}); err != nil {
		t.Fatal(err)
	}
	_ = e.c.SignalWorkflow(ctx, run.GetID(), "", "go", "q")
	var got string
	if err := run.Get(ctx, &got); err != nil || got != "q_v2" {
		t.Fatalf("queued run: %q, %v; want q_v2", got, err)
	}
}

// TestWorkerDeploymentMetrics: a queue polled by two versions (two
// sub-queues) is one backlog series on /metrics, summing both.
func TestWorkerDeploymentMetrics(t *testing.T) {
	e := &env{t: t, dir: t.TempDir(), tq: "tq-" + uuid.NewString()[:8]}
	srv, err := server.Start(server.Config{Addr: "127.0.0.1:0", DataDir: e.dir, MetricsAddr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	if e.c, err = client.Dial(client.Options{HostPort: srv.Addr(), Logger: quietLogger{}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.stop)
	ctx := e.ctx()
	name := "dep-" + uuid.NewString()[:8]
	w1 := versionedWorker(e, worker.WorkerDeploymentVersion{DeploymentName: name, BuildID: "1.0"}, "_v1")
	w2 := versionedWorker(e, worker.WorkerDeploymentVersion{DeploymentName: name, BuildID: "2.0"}, "_v2")
	defer w2.Stop()
	h := e.c.WorkerDeploymentClient().GetHandle(name)
	waitFor(t, 10*time.Second, "both versions registered", func() bool {
		d, err := h.Describe(ctx, client.WorkerDeploymentDescribeOptions{})
		return err == nil && len(d.Info.VersionSummaries) == 2
	})
	waitVersionsPollWorkflowQueue(t, e, name, "1.0", "2.0")
	w1.Stop()
	if _, err := h.SetCurrentVersion(ctx, client.WorkerDeploymentSetCurrentVersionOptions{BuildID: "1.0"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.ExecuteWorkflow(ctx, e.opts("waits"), "Auto"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "one task waiting for v1", func() bool {
		fams := scrape(t, srv.MetricsAddr())
		fam := fams["approximate_backlog_count"]
		n := 0
		for _, m := range fam.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["taskqueue"] == e.tq && labels["task_type"] == "Workflow" {
				n++
				if m.GetGauge().GetValue() != 1 {
					return false
				}
			}
		}
		if n > 1 {
			t.Fatalf("%d backlog series for one queue", n)
		}
		return n == 1
	})
}
