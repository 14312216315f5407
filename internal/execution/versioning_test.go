package execution

import (
	"fmt"
	"testing"

	commandpb "go.temporal.io/api/command/v1"
	deploymentpb "go.temporal.io/api/deployment/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sundial-io/sundial/internal/visibility"
)

func versioned(name, build string, b enumspb.VersioningBehavior) *workflowservice.RespondWorkflowTaskCompletedRequest {
	return &workflowservice.RespondWorkflowTaskCompletedRequest{
		DeploymentOptions: &deploymentpb.WorkerDeploymentOptions{DeploymentName: name, BuildId: build,
			WorkerVersioningMode: enumspb.WORKER_VERSIONING_MODE_VERSIONED},
		VersioningBehavior: b,
	}
}

// wantRouting checks the live run's routing and that of the run loaded
// from its record and history, as after a restart.
func wantRouting(h *harness, want Routing) {
	h.t.Helper()
	want.TaskQueue = testTQ
	if got := h.s.Routing(); got != want {
		h.t.Fatalf("Routing() = %+v, want %+v", got, want)
	}
	if got := reload(h.t, h.s, h.events).Routing(); got != want {
		h.t.Fatalf("after reload Routing() = %+v, want %+v", got, want)
	}
}

// TestVersioningFromCompletedTasks: the worker's declared version and
// behavior go on WorkflowTaskCompleted and make the run pinned (PINNED)
// or following its queue (AUTO_UPGRADE); an unversioned worker makes it
// unversioned again. Replay derives the same state.
func TestVersioningFromCompletedTasks(t *testing.T) {
	h := newHarness(t, startAttrs())
	wantRouting(h, Routing{})
	if h.s.VersioningInfo() != nil {
		t.Fatalf("unversioned run has versioning info %v", h.s.VersioningInfo())
	}
	h.poll()
	if err := h.completeReq(versioned("dep", "1.0", enumspb.VERSIONING_BEHAVIOR_PINNED)); err != nil {
		t.Fatal(err)
	}
	a := h.lastEvent().GetWorkflowTaskCompletedEventAttributes()
	if a.GetDeploymentVersion().GetBuildId() != "1.0" || a.GetDeploymentVersion().GetDeploymentName() != "dep" ||
		a.GetVersioningBehavior() != enumspb.VERSIONING_BEHAVIOR_PINNED || a.GetWorkerDeploymentName() != "dep" {
		t.Fatalf("WorkflowTaskCompleted: %v", a)
	}
	wantRouting(h, Routing{Pinned: "dep.1.0", Version: "dep.1.0"})
	vi := h.s.VersioningInfo()
	if vi.GetBehavior() != enumspb.VERSIONING_BEHAVIOR_PINNED || vi.GetDeploymentVersion().GetBuildId() != "1.0" || vi.GetVersion() != "dep.1.0" {
		t.Fatalf("VersioningInfo: %v", vi)
	}
	if info := h.s.Info(); info.GetVersioningInfo() == nil || info.WorkerDeploymentName != "dep" {
		t.Fatalf("Info: versioning %v, deployment %q", info.GetVersioningInfo(), info.WorkerDeploymentName)
	}

	h.signal("s", "r1")
	h.poll()
	if err := h.completeReq(versioned("dep", "2.0", enumspb.VERSIONING_BEHAVIOR_AUTO_UPGRADE)); err != nil {
		t.Fatal(err)
	}
	wantRouting(h, Routing{Version: "dep.2.0"})
	sa := h.s.Info().GetSearchAttributes()
	for name, want := range map[string]any{"TemporalWorkerDeploymentVersion": "dep:2.0", "TemporalWorkflowVersioningBehavior": "AutoUpgrade",
		"TemporalWorkerDeployment": "dep", "TemporalUsedWorkerDeploymentVersions": []string{"dep:1.0", "dep:2.0"}} {
		var got any
		if name == "TemporalUsedWorkerDeploymentVersions" {
			got, _ = visibility.DecodeValue(sa.GetIndexedFields()[name], enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST)
		} else {
			got, _ = visibility.DecodeValue(sa.GetIndexedFields()[name], enumspb.INDEXED_VALUE_TYPE_KEYWORD)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("search attribute %s = %v, want %v", name, got, want)
		}
	}

	h.signal("s", "r2")
	h.poll()
	h.complete() // an unversioned worker
	if a := h.lastEvent().GetWorkflowTaskCompletedEventAttributes(); a.GetDeploymentVersion() != nil || a.GetVersioningBehavior() != enumspb.VERSIONING_BEHAVIOR_UNSPECIFIED {
		t.Fatalf("unversioned completion recorded %v", a)
	}
	wantRouting(h, Routing{})
	if h.s.VersioningInfo() != nil {
		t.Fatalf("versioning info after an unversioned task: %v", h.s.VersioningInfo())
	}
	// A worker in UNVERSIONED mode that names a deployment is unversioned.
	h.signal("s", "r3")
	h.poll()
	req := versioned("dep", "3.0", enumspb.VERSIONING_BEHAVIOR_PINNED)
	req.DeploymentOptions.WorkerVersioningMode = enumspb.WORKER_VERSIONING_MODE_UNVERSIONED
	if err := h.completeReq(req); err != nil {
		t.Fatal(err)
	}
	wantRouting(h, Routing{})
}

func pinnedOverride(name, build string) *workflowpb.VersioningOverride {
	return &workflowpb.VersioningOverride{Override: &workflowpb.VersioningOverride_Pinned{Pinned: &workflowpb.VersioningOverride_PinnedOverride{
		Behavior: workflowpb.VersioningOverride_PINNED_OVERRIDE_BEHAVIOR_PINNED,
		Version:  &deploymentpb.WorkerDeploymentVersion{DeploymentName: name, BuildId: build}}}}
}

// TestVersioningOverrides: a pinned override at start pins the run before
// any worker ran it and beats the worker's behavior; an auto-upgrade
// override set by UpdateWorkflowOptions unpins a PINNED run; unsetting it
// restores the behavior. The events carry the overrides.
func TestVersioningOverrides(t *testing.T) {
	h := newHarness(t, startAttrs(func(a *historypb.WorkflowExecutionStartedEventAttributes) {
		a.VersioningOverride = pinnedOverride("dep", "1.0")
	}))
	wantRouting(h, Routing{Pinned: "dep.1.0"})
	h.poll()
	if err := h.completeReq(versioned("dep", "1.0", enumspb.VERSIONING_BEHAVIOR_AUTO_UPGRADE)); err != nil {
		t.Fatal(err)
	}
	wantRouting(h, Routing{Pinned: "dep.1.0", Version: "dep.1.0"})
	if o := h.s.WorkflowOptions().GetVersioningOverride(); !proto.Equal(o, pinnedOverride("dep", "1.0")) {
		t.Fatalf("WorkflowOptions override %v", o)
	}

	// The worker now declares PINNED on 2.0; an auto-upgrade override
	// unpins the run anyway.
	h.signal("s", "r1")
	h.poll()
	if err := h.completeReq(versioned("dep", "2.0", enumspb.VERSIONING_BEHAVIOR_PINNED)); err != nil {
		t.Fatal(err)
	}
	wantRouting(h, Routing{Pinned: "dep.1.0", Version: "dep.2.0"}) // the pinned override still wins
	auto := &workflowpb.VersioningOverride{Override: &workflowpb.VersioningOverride_AutoUpgrade{AutoUpgrade: true}}
	changed, err := h.s.UpdateWorkflowOptions(h.now, &workflowpb.WorkflowExecutionOptions{VersioningOverride: auto}, "op")
	if err != nil || !changed {
		t.Fatalf("UpdateWorkflowOptions: %v %v", changed, err)
	}
	h.sync("override auto-upgrade")
	if a := h.lastEvent().GetWorkflowExecutionOptionsUpdatedEventAttributes(); !a.GetVersioningOverride().GetAutoUpgrade() || a.GetUnsetVersioningOverride() {
		t.Fatalf("options updated event: %v", a)
	}
	wantRouting(h, Routing{Version: "dep.2.0"})

	changed, err = h.s.UpdateWorkflowOptions(h.now, &workflowpb.WorkflowExecutionOptions{}, "op")
	if err != nil || !changed {
		t.Fatalf("unset override: %v %v", changed, err)
	}
	h.sync("unset override")
	if a := h.lastEvent().GetWorkflowExecutionOptionsUpdatedEventAttributes(); a.GetVersioningOverride() != nil || !a.GetUnsetVersioningOverride() {
		t.Fatalf("unset event: %v", a)
	}
	wantRouting(h, Routing{Pinned: "dep.2.0", Version: "dep.2.0"})
	if h.s.VersioningInfo().GetVersioningOverride() != nil {
		t.Fatalf("override still described: %v", h.s.VersioningInfo())
	}
}

// TestOverridePinnedVersionForms: older clients send the pinned version
// in the deprecated fields.
func TestOverridePinnedVersionForms(t *testing.T) {
	for _, c := range []struct {
		o    *workflowpb.VersioningOverride
		want string
	}{
		{pinnedOverride("d", "b.1"), "d.b.1"},
		{&workflowpb.VersioningOverride{Behavior: enumspb.VERSIONING_BEHAVIOR_PINNED, PinnedVersion: "d.b.1"}, "d.b.1"},
		{&workflowpb.VersioningOverride{Behavior: enumspb.VERSIONING_BEHAVIOR_PINNED, Deployment: &deploymentpb.Deployment{SeriesName: "d", BuildId: "b"}}, "d.b"},
		{&workflowpb.VersioningOverride{Behavior: enumspb.VERSIONING_BEHAVIOR_AUTO_UPGRADE}, ""},
		{nil, ""},
	} {
		if got := VersionString(OverridePinnedVersion(c.o)); got != c.want {
			t.Errorf("OverridePinnedVersion(%v) = %q, want %q", c.o, got, c.want)
		}
	}
}

// TestVersioningInheritance: a pinned run's continue-as-new run starts
// pinned to its version (unless the command asks for auto-upgrade, or the
// new run moves to another queue), a child records the pin for the
// engine, and an auto-upgrade run passes nothing on.
func TestVersioningInheritance(t *testing.T) {
	pinnedCAN := func(mod ...func(*commandpb.ContinueAsNewWorkflowExecutionCommandAttributes)) *State {
		h := newHarness(t, startAttrs())
		h.poll()
		if err := h.completeReq(versioned("dep", "1.0", enumspb.VERSIONING_BEHAVIOR_PINNED)); err != nil {
			t.Fatal(err)
		}
		h.signal("s", "r1")
		h.poll()
		req := versioned("dep", "1.0", enumspb.VERSIONING_BEHAVIOR_PINNED)
		req.Commands = []*commandpb.Command{continueAsNew(mod...)}
		if err := h.completeReq(req); err != nil {
			t.Fatal(err)
		}
		if h.last.NewRun == nil {
			t.Fatal("no new run")
		}
		return h.last.NewRun
	}
	n := pinnedCAN()
	if v := n.Start.GetInheritedPinnedVersion(); v.GetBuildId() != "1.0" || n.Routing().Pinned != "dep.1.0" {
		t.Fatalf("continue-as-new of a pinned run: inherited %v, routing %+v", v, n.Routing())
	}
	n = pinnedCAN(func(a *commandpb.ContinueAsNewWorkflowExecutionCommandAttributes) {
		a.InitialVersioningBehavior = enumspb.CONTINUE_AS_NEW_VERSIONING_BEHAVIOR_AUTO_UPGRADE
	})
	if n.Start.GetInheritedPinnedVersion() != nil || n.Routing().Pinned != "" {
		t.Fatalf("continue-as-new asking for auto-upgrade inherited %v", n.Start.GetInheritedPinnedVersion())
	}
	n = pinnedCAN(func(a *commandpb.ContinueAsNewWorkflowExecutionCommandAttributes) {
		a.TaskQueue = &taskqueuepb.TaskQueue{Name: "elsewhere"}
	})
	if n.Start.GetInheritedPinnedVersion() != nil {
		t.Fatalf("continue-as-new to another queue inherited %v", n.Start.GetInheritedPinnedVersion())
	}

	h := newHarness(t, startAttrs())
	h.poll()
	req := versioned("dep", "1.0", enumspb.VERSIONING_BEHAVIOR_PINNED)
	req.Commands = []*commandpb.Command{startChild("kid")}
	if err := h.completeReq(req); err != nil {
		t.Fatal(err)
	}
	if len(h.s.Children) != 1 {
		t.Fatalf("children: %v", h.s.Children)
	}
	for _, c := range h.s.Children {
		if c.InheritedPin.GetBuildId() != "1.0" {
			t.Fatalf("child of a pinned run: %v", c.InheritedPin)
		}
	}
	h = newHarness(t, startAttrs())
	h.poll()
	req = versioned("dep", "1.0", enumspb.VERSIONING_BEHAVIOR_AUTO_UPGRADE)
	req.Commands = []*commandpb.Command{startChild("kid")}
	if err := h.completeReq(req); err != nil {
		t.Fatal(err)
	}
	for _, c := range h.s.Children {
		if c.InheritedPin != nil {
			t.Fatalf("child of an auto-upgrade run inherits %v", c.InheritedPin)
		}
	}
}
