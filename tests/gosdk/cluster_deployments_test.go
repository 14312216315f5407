package gosdk

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/sundial-io/sundial/internal/cluster"
	"github.com/sundial-io/sundial/internal/forward"
	"github.com/sundial-io/sundial/internal/matching"
)

// Worker deployments on a cluster (docs/CLUSTER.md, "Worker deployments
// across nodes"): the deployment's writer is the owner of its shard;
// versioned workers poll other nodes than the writer, routing changes go
// through other nodes than the writer, runs started through every node
// land on the right versions, and the writer's death hands the
// deployment to another node, which carries on from the stored record.

// clusterVersionedWorker starts a versioned worker of version v on the
// node of c, whose workflows wait for a "go" signal and answer it with
// suffix appended.
func clusterVersionedWorker(t *testing.T, c client.Client, tq string, v worker.WorkerDeploymentVersion, suffix string) worker.Worker {
	t.Helper()
	w := worker.New(c, tq, worker.Options{DeploymentOptions: worker.DeploymentOptions{UseVersioning: true, Version: v}})
	wf := func(ctx workflow.Context) (string, error) {
		var s string
		workflow.GetSignalChannel(ctx, "go").Receive(ctx, &s)
		return s + suffix, nil
	}
	w.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: "Pinned", VersioningBehavior: workflow.VersioningBehaviorPinned})
	w.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: "Auto", VersioningBehavior: workflow.VersioningBehaviorAutoUpgrade})
	if err := w.Start(); err != nil {
		t.Fatalf("worker start: %v", err)
	}
	t.Cleanup(w.Stop)
	return w
}

// clusterLastCompleted returns the build id of the worker that completed
// a run's last workflow task ("" if none yet).
func clusterLastCompleted(ctx context.Context, c client.Client, id string) (string, enumspb.VersioningBehavior) {
	it := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var last *historypb.WorkflowTaskCompletedEventAttributes
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return "", 0
		}
		if a := ev.GetWorkflowTaskCompletedEventAttributes(); a != nil {
			last = a
		}
	}
	return last.GetDeploymentVersion().GetBuildId(), last.GetVersioningBehavior()
}

// deploymentWriter returns the index of the node holding the shard of a
// deployment.
func (tc *testCluster) deploymentWriter(name string) int {
	shard := cluster.ShardOf("default", forward.DeploymentKey(name), 16)
	for i, nd := range tc.nodes {
		if nd.srv != nil {
			if _, ok := nd.srv.Node().Fence(shard); ok {
				return i
			}
		}
	}
	return -1
}

func TestClusterWorkerDeployments(t *testing.T) {
	tc := newCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// A deployment whose writer is node 0, where no worker polls.
	var name string
	for name == "" || tc.deploymentWriter(name) != 0 {
		name = "dep-" + uuid.NewString()[:8]
	}
	// A queue owned by another node than the writer (so the writer sees
	// none of its polls).
	for tc.queueOwner(tc.tq) <= 0 {
		tc.tq = "tq-" + uuid.NewString()[:8]
	}
	v1 := worker.WorkerDeploymentVersion{DeploymentName: name, BuildID: "1.0"}
	v2 := worker.WorkerDeploymentVersion{DeploymentName: name, BuildID: "2.0"}
	w1 := clusterVersionedWorker(t, tc.nodes[1].c, tc.tq, v1, "_v1")
	clusterVersionedWorker(t, tc.nodes[2].c, tc.tq, v2, "_v2")

	// Both versions registered, as every node describes it.
	for i, nd := range tc.nodes {
		h := nd.c.WorkerDeploymentClient().GetHandle(name)
		waitFor(t, 15*time.Second, fmt.Sprintf("both versions described through node %d", i), func() bool {
			d, err := h.Describe(ctx, client.WorkerDeploymentDescribeOptions{})
			return err == nil && len(d.Info.VersionSummaries) == 2
		})
	}

	// checkRouting asserts the routing every node describes and lists, at
	// once after the change (no waiting for a refresh).
	checkRouting := func(what string, current, ramping string, pct float32) {
		t.Helper()
		for i, nd := range tc.live() {
			d, err := nd.c.WorkerDeploymentClient().GetHandle(name).Describe(ctx, client.WorkerDeploymentDescribeOptions{})
			if err != nil {
				t.Fatalf("%s: describe through node %d: %v", what, i, err)
			}
			rc := d.Info.RoutingConfig
			if got := buildOf(rc.CurrentVersion); got != current || buildOf(rc.RampingVersion) != ramping || rc.RampingVersionPercentage != pct {
				t.Fatalf("%s: node %d describes current %q ramping %q at %v, want %q %q %v", what, i, got, buildOf(rc.RampingVersion), rc.RampingVersionPercentage, current, ramping, pct)
			}
			l, err := nd.c.WorkflowService().ListWorkerDeployments(ctx, &workflowservice.ListWorkerDeploymentsRequest{Namespace: "default"})
			if err != nil {
				t.Fatalf("%s: list through node %d: %v", what, i, err)
			}
			found := false
			for _, s := range l.WorkerDeployments {
				if s.Name != name {
					continue
				}
				found = true
				lrc := s.GetRoutingConfig()
				if lrc.GetCurrentDeploymentVersion().GetBuildId() != current || lrc.GetRampingDeploymentVersion().GetBuildId() != ramping || lrc.GetRampingVersionPercentage() != pct {
					t.Fatalf("%s: node %d lists routing %v, want current %q ramping %q at %v", what, i, lrc, current, ramping, pct)
				}
			}
			if !found {
				t.Fatalf("%s: node %d does not list %s", what, i, name)
			}
		}
	}
	// A registration is no acknowledged request: the other nodes' copies
	// get it with the writer's announcement, just after.
	waitFor(t, 10*time.Second, "every node lists the deployment", func() bool {
		for _, nd := range tc.nodes {
			l, err := nd.c.WorkflowService().ListWorkerDeployments(ctx, &workflowservice.ListWorkerDeploymentsRequest{Namespace: "default"})
			if err != nil || len(l.WorkerDeployments) != 1 {
				return false
			}
		}
		return true
	})
	checkRouting("registered", "", "", 0)

	// v1 becomes current through node 1 (not the writer), with the
	// conflict token node 2 described.
	d, err := tc.nodes[2].c.WorkerDeploymentClient().GetHandle(name).Describe(ctx, client.WorkerDeploymentDescribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tc.nodes[1].c.WorkerDeploymentClient().GetHandle(name).SetCurrentVersion(ctx,
		client.WorkerDeploymentSetCurrentVersionOptions{BuildID: "1.0", ConflictToken: d.ConflictToken}); err != nil {
		t.Fatalf("set current through node 1: %v", err)
	}
	checkRouting("v1 current", "1.0", "", 0)

	// Pinned and auto-upgrade runs owned by every node, started through
	// every node, run their first task on v1.
	type started struct {
		run    client.WorkflowRun
		wfType string
	}
	var runs []started
	for i, id := range tc.idsOnEveryNode("dep", 2) {
		wfType := []string{"Pinned", "Auto"}[i%2]
		run, err := tc.nodes[i%3].c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tc.tq}, wfType)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, started{run, wfType})
	}
	for _, r := range runs {
		waitFor(t, 15*time.Second, r.run.GetID()+" first task on v1", func() bool {
			b, _ := clusterLastCompleted(ctx, tc.nodes[0].c, r.run.GetID())
			return b == "1.0"
		})
	}

	// v2 becomes current through node 2: the pinned runs finish on v1,
	// the auto-upgrade ones on v2.
	d, _ = tc.nodes[0].c.WorkerDeploymentClient().GetHandle(name).Describe(ctx, client.WorkerDeploymentDescribeOptions{})
	set, err := tc.nodes[2].c.WorkerDeploymentClient().GetHandle(name).SetCurrentVersion(ctx,
		client.WorkerDeploymentSetCurrentVersionOptions{BuildID: "2.0", ConflictToken: d.ConflictToken})
	if err != nil {
		t.Fatalf("set current through node 2: %v", err)
	}
	if set.PreviousVersion == nil || *set.PreviousVersion != v1 {
		t.Fatalf("previous current %v, want v1", set.PreviousVersion)
	}
	checkRouting("v2 current", "2.0", "", 0)
	for i, r := range runs {
		c := tc.nodes[(i+1)%3].c
		if err := c.SignalWorkflow(ctx, r.run.GetID(), "", "go", "x"); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"Pinned": "x_v1", "Auto": "x_v2"}[r.wfType]
		var got string
		if err := c.GetWorkflow(ctx, r.run.GetID(), "").Get(ctx, &got); err != nil || got != want {
			t.Fatalf("%s (%s): %q, %v; want %q", r.run.GetID(), r.wfType, got, err, want)
		}
		b, beh := clusterLastCompleted(ctx, c, r.run.GetID())
		if wantB := want[1:]; "_v"+b[:1] != wantB || (r.wfType == "Pinned") != (beh == enumspb.VERSIONING_BEHAVIOR_PINNED) {
			t.Fatalf("%s: last task completed by build %q behavior %v", r.run.GetID(), b, beh)
		}
	}

	// v1 is neither current nor ramping, but its worker polls the queue's
	// owner: the writer refuses to delete it.
	_, err = tc.nodes[2].c.WorkerDeploymentClient().GetHandle(name).DeleteVersion(ctx,
		client.WorkerDeploymentDeleteVersionOptions{BuildID: "1.0", SkipDrainage: true})
	if !isFailedPrecondition(err, "active pollers") {
		t.Fatalf("deleting a version polled on another node than the writer: %v, want FailedPrecondition", err)
	}

	// A pinned override to v1 through node 1, on a run another node owns.
	ov := tc.idsOnEveryNode("dep-ov", 1)
	for i, id := range ov {
		c := tc.nodes[(i+1)%3].c
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tc.tq,
			VersioningOverride: &client.PinnedVersioningOverride{Version: v1}}, "Auto")
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SignalWorkflow(ctx, id, "", "go", "o")
		var got string
		if err := run.Get(ctx, &got); err != nil || got != "o_v1" {
			t.Fatalf("override pinned to v1, %s: %q, %v", id, got, err)
		}
	}

	// Ramping v1 at 100% through node 0 (the writer): new unpinned runs go
	// to v1; then the ramp is removed through node 1.
	d, _ = tc.nodes[1].c.WorkerDeploymentClient().GetHandle(name).Describe(ctx, client.WorkerDeploymentDescribeOptions{})
	if _, err := tc.nodes[0].c.WorkerDeploymentClient().GetHandle(name).SetRampingVersion(ctx,
		client.WorkerDeploymentSetRampingVersionOptions{BuildID: "1.0", Percentage: 100, ConflictToken: d.ConflictToken}); err != nil {
		t.Fatal(err)
	}
	checkRouting("v1 ramping", "2.0", "1.0", 100)
	runAuto := func(c client.Client, prefix, want string) {
		t.Helper()
		for i, id := range tc.idsOnEveryNode(prefix, 1) {
			cc := c
			if cc == nil {
				cc = tc.live()[i%len(tc.live())].c
			}
			run, err := cc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tc.tq}, "Auto")
			if err != nil {
				t.Fatal(err)
			}
			_ = cc.SignalWorkflow(ctx, id, "", "go", "r")
			var got string
			if err := run.Get(ctx, &got); err != nil || got != want {
				t.Fatalf("%s: %q, %v; want %q", id, got, err, want)
			}
		}
	}
	runAuto(nil, "dep-ramp", "r_v1")
	if _, err := tc.nodes[1].c.WorkerDeploymentClient().GetHandle(name).SetRampingVersion(ctx,
		client.WorkerDeploymentSetRampingVersionOptions{BuildID: "", Percentage: 0}); err != nil {
		t.Fatal(err)
	}
	checkRouting("ramp removed", "2.0", "", 0)
	runAuto(nil, "dep-noramp", "r_v2")

	// The writer is killed: another node takes its shards and, reading
	// the stored record, carries on (the previous current is v2, as
	// stored by the dead writer).
	tc.nodes[0].kill()
	tc.waitBalanced()
	if w := tc.deploymentWriter(name); w <= 0 {
		t.Fatalf("deployment writer after the kill: node %d", w)
	}
	var res client.WorkerDeploymentSetCurrentVersionResponse
	waitFor(t, 15*time.Second, "set current through the new writer", func() bool {
		d, err := tc.nodes[2].c.WorkerDeploymentClient().GetHandle(name).Describe(ctx, client.WorkerDeploymentDescribeOptions{})
		if err != nil {
			return false
		}
		res, err = tc.nodes[1].c.WorkerDeploymentClient().GetHandle(name).SetCurrentVersion(ctx,
			client.WorkerDeploymentSetCurrentVersionOptions{BuildID: "1.0", ConflictToken: d.ConflictToken})
		return err == nil
	})
	if res.PreviousVersion == nil || *res.PreviousVersion != v2 {
		t.Fatalf("previous current after the writer's death: %v, want v2", res.PreviousVersion)
	}
	checkRouting("v1 current after the kill", "1.0", "", 0)
	runAuto(tc.nodes[2].c, "dep-after", "r_v1")

	// An override changed while the run's task waits on another node
	// (the queue's owner): v1's worker is gone, v2 is current; runs of
	// both live nodes pinned to v1 by override wait; the override changed
	// to auto-upgrade through the other node moves their queued tasks to
	// v2.
	w1.Stop()
	d, _ = tc.nodes[1].c.WorkerDeploymentClient().GetHandle(name).Describe(ctx, client.WorkerDeploymentDescribeOptions{})
	if _, err := tc.nodes[2].c.WorkerDeploymentClient().GetHandle(name).SetCurrentVersion(ctx,
		client.WorkerDeploymentSetCurrentVersionOptions{BuildID: "2.0", ConflictToken: d.ConflictToken}); err != nil {
		t.Fatal(err)
	}
	var stuck []client.WorkflowRun
	for i, id := range tc.idsOnEveryNode("dep-stuck", 2) {
		run, err := tc.live()[i%2].c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tc.tq,
			VersioningOverride: &client.PinnedVersioningOverride{Version: v1}}, "Auto")
		if err != nil {
			t.Fatal(err)
		}
		stuck = append(stuck, run)
	}
	time.Sleep(300 * time.Millisecond)
	for i, run := range stuck {
		c := tc.live()[(i+1)%2].c
		if b, _ := clusterLastCompleted(ctx, c, run.GetID()); b != "" {
			t.Fatalf("%s: a task of a run pinned to a version without workers completed on %q", run.GetID(), b)
		}
		if _, err := c.UpdateWorkflowExecutionOptions(ctx, client.UpdateWorkflowExecutionOptionsRequest{WorkflowId: run.GetID(),
			WorkflowExecutionOptionsChanges: client.WorkflowExecutionOptionsChanges{VersioningOverride: &client.VersioningOverrideChange{Value: &client.AutoUpgradeVersioningOverride{}}}}); err != nil {
			t.Fatal(err)
		}
		if err := c.SignalWorkflow(ctx, run.GetID(), "", "go", "s"); err != nil {
			t.Fatal(err)
		}
		var got string
		if err := run.Get(ctx, &got); err != nil || got != "s_v2" {
			t.Fatalf("%s after the override change: %q, %v; want s_v2", run.GetID(), got, err)
		}
	}
}

// queueOwner returns the index of the node owning a workflow task queue.
func (tc *testCluster) queueOwner(tq string) int {
	shard := cluster.ShardOf("default", matching.ShardKey(matching.Workflow, tq), 16)
	for i, nd := range tc.nodes {
		if nd.srv != nil {
			if _, ok := nd.srv.Node().Fence(shard); ok {
				return i
			}
		}
	}
	return -1
}

func buildOf(v *worker.WorkerDeploymentVersion) string {
	if v == nil {
		return ""
	}
	return v.BuildID
}
