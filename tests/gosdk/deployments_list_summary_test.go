package gosdk

import (
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
)

// TestListWorkerDeploymentsVersionSummaries: each ListWorkerDeployments
// entry carries summaries of the deployment's current and ramping versions,
// as Temporal's does; the Web UI's Deployments page reads the current one
// to show a deployment's current version.
func TestListWorkerDeploymentsVersionSummaries(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	name := "dep-" + uuid.NewString()[:8]
	w1 := versionedWorker(e, worker.WorkerDeploymentVersion{DeploymentName: name, BuildID: "1.0"}, "_v1")
	defer w1.Stop()
	w2 := versionedWorker(e, worker.WorkerDeploymentVersion{DeploymentName: name, BuildID: "2.0"}, "_v2")
	defer w2.Stop()
	h := e.c.WorkerDeploymentClient().GetHandle(name)
	waitFor(t, 10*time.Second, "both versions registered", func() bool {
		d, err := h.Describe(ctx, client.WorkerDeploymentDescribeOptions{})
		return err == nil && len(d.Info.VersionSummaries) == 2
	})

	entry := func() *workflowservice.ListWorkerDeploymentsResponse_WorkerDeploymentSummary {
		t.Helper()
		r, err := e.c.WorkflowService().ListWorkerDeployments(ctx, &workflowservice.ListWorkerDeploymentsRequest{Namespace: "default"})
		if err != nil {
			t.Fatalf("ListWorkerDeployments: %v", err)
		}
		for _, s := range r.GetWorkerDeployments() {
			if s.GetName() == name {
				return s
			}
		}
		t.Fatalf("ListWorkerDeployments has no %s: %v", name, r.GetWorkerDeployments())
		return nil
	}
	if s := entry(); s.GetCurrentVersionSummary() != nil || s.GetRampingVersionSummary() != nil {
		t.Fatalf("fresh deployment has routed version summaries: %v", s)
	}

	if _, err := h.SetCurrentVersion(ctx, client.WorkerDeploymentSetCurrentVersionOptions{BuildID: "1.0"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.SetRampingVersion(ctx, client.WorkerDeploymentSetRampingVersionOptions{BuildID: "2.0", Percentage: 25}); err != nil {
		t.Fatal(err)
	}
	s := entry()
	cur, ramp := s.GetCurrentVersionSummary(), s.GetRampingVersionSummary()
	if cur.GetDeploymentVersion().GetBuildId() != "1.0" || cur.GetDeploymentVersion().GetDeploymentName() != name ||
		cur.GetStatus() != enumspb.WORKER_DEPLOYMENT_VERSION_STATUS_CURRENT || cur.GetCurrentSinceTime() == nil || cur.GetCreateTime() == nil {
		t.Fatalf("current version summary %v, want build 1.0, CURRENT, with its times", cur)
	}
	if ramp.GetDeploymentVersion().GetBuildId() != "2.0" || ramp.GetStatus() != enumspb.WORKER_DEPLOYMENT_VERSION_STATUS_RAMPING || ramp.GetRampingSinceTime() == nil {
		t.Fatalf("ramping version summary %v, want build 2.0, RAMPING", ramp)
	}
	if s.GetRoutingConfig().GetRampingVersionPercentage() != 25 {
		t.Fatalf("routing config %v, want a 25%% ramp", s.GetRoutingConfig())
	}
}
