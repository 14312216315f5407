package webui_test

import (
	"context"
	"testing"
	"time"

	batchpb "go.temporal.io/api/batch/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	nexuspb "go.temporal.io/api/nexus/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// The data TestWebUIPages makes through the Go SDK and gRPC before it looks
// at the pages that show it.
const (
	pagesQueue     = "webui-pages"
	versionedQueue = "webui-versioned"
	activityID     = "ui-standalone-activity"
	deploymentName = "ui-deployment"
	buildID        = "build-one"
	nextBuildID    = "build-two" // made current from the UI
	endpointName   = "ui-endpoint"
	scheduleID     = "ui-schedule"
	scheduledWF    = "ui-scheduled-greet"
	resetID        = "ui-reset-me"
	batchJobID     = "ui-batch-job"
	batchTargetID  = "ui-batch-target"
	batchReason    = "batch terminate from the pages test"
	batchIdentity  = "webui-pages-test"
)

// pagesData is what the setup made, for the assertions.
type pagesData struct {
	activityRunID string
	endpointID    string
	resetRun      client.WorkflowRun
}

// startPagesWorkers starts an unversioned worker for the test's workflows
// and activities and two versioned ones (two builds of one deployment),
// whose polls register the worker deployment the Deployments page lists.
func startPagesWorkers(t *testing.T, c client.Client) {
	t.Helper()
	w := worker.New(c, pagesQueue, worker.Options{})
	w.RegisterWorkflow(Greet)
	w.RegisterWorkflow(Waiter)
	w.RegisterWorkflow(WaitOnActivity)
	w.RegisterActivity(ComposeGreeting)
	w.RegisterActivity(HeartbeatingWait)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	for _, build := range []string{buildID, nextBuildID} {
		vw := worker.New(c, versionedQueue, worker.Options{DeploymentOptions: worker.DeploymentOptions{
			UseVersioning:             true,
			Version:                   worker.WorkerDeploymentVersion{DeploymentName: deploymentName, BuildID: build},
			DefaultVersioningBehavior: workflow.VersioningBehaviorPinned,
		}})
		vw.RegisterWorkflow(Greet)
		vw.RegisterActivity(ComposeGreeting)
		if err := vw.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(vw.Stop)
	}
}

// makePagesData creates one of each thing the pages show and waits until
// each has settled (completed, registered, listed).
func makePagesData(t *testing.T, ctx context.Context, c client.Client) pagesData {
	t.Helper()
	var d pagesData

	// A standalone activity, run to completion.
	h, err := c.ExecuteActivity(ctx, client.StartActivityOptions{ID: activityID, TaskQueue: pagesQueue,
		StartToCloseTimeout: 10 * time.Second}, ComposeGreeting, "Standalone")
	if err != nil {
		t.Fatalf("ExecuteActivity: %v", err)
	}
	var greeting string
	if err := h.Get(ctx, &greeting); err != nil || greeting != "Hello, Standalone!" {
		t.Fatalf("standalone activity = %q, %v", greeting, err)
	}
	d.activityRunID = h.GetRunID()

	// The versioned worker's deployment, with its version made current.
	dep := c.WorkerDeploymentClient().GetHandle(deploymentName)
	waitUntil(t, ctx, "the versioned worker's deployment version to be registered", func() error {
		_, err := dep.SetCurrentVersion(ctx, client.WorkerDeploymentSetCurrentVersionOptions{BuildID: buildID})
		return err
	})

	// A Nexus endpoint targeting the test's queue.
	ep, err := c.OperatorService().CreateNexusEndpoint(ctx, &operatorservice.CreateNexusEndpointRequest{Spec: &nexuspb.EndpointSpec{
		Name:        endpointName,
		Description: &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"Endpoint made by the pages test"`)},
		Target: &nexuspb.EndpointTarget{Variant: &nexuspb.EndpointTarget_Worker_{Worker: &nexuspb.EndpointTarget_Worker{
			Namespace: "default", TaskQueue: pagesQueue}}},
	}})
	if err != nil {
		t.Fatalf("CreateNexusEndpoint: %v", err)
	}
	d.endpointID = ep.GetEndpoint().GetId()

	// A schedule that fires hourly and was triggered once, so it has a
	// recent action.
	if _, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:                 scheduleID,
		Spec:               client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Hour}}},
		Action:             &client.ScheduleWorkflowAction{ID: scheduledWF, Workflow: Greet, Args: []any{"Schedule"}, TaskQueue: pagesQueue},
		TriggerImmediately: true,
	}); err != nil {
		t.Fatalf("create schedule: %v", err)
	}

	// A completed workflow for the Reset dialog.
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: resetID, TaskQueue: pagesQueue}, Greet, "Reset")
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatalf("workflow to reset: %v", err)
	}
	d.resetRun = run

	// A finished batch job: terminate one waiting workflow.
	target, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: batchTargetID, TaskQueue: pagesQueue}, Waiter, "batch")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WorkflowService().StartBatchOperation(ctx, &workflowservice.StartBatchOperationRequest{
		Namespace:  "default",
		JobId:      batchJobID,
		Reason:     batchReason,
		Executions: []*commonpb.WorkflowExecution{{WorkflowId: target.GetID(), RunId: target.GetRunID()}},
		Operation:  &workflowservice.StartBatchOperationRequest_TerminationOperation{TerminationOperation: &batchpb.BatchOperationTermination{Identity: batchIdentity}},
	}); err != nil {
		t.Fatalf("StartBatchOperation: %v", err)
	}
	waitUntil(t, ctx, "the batch job to complete", func() error {
		r, err := c.WorkflowService().DescribeBatchOperation(ctx, &workflowservice.DescribeBatchOperationRequest{Namespace: "default", JobId: batchJobID})
		if err != nil {
			return err
		}
		if r.GetState() != enumspb.BATCH_OPERATION_STATE_COMPLETED {
			return errNotYet(r.GetState().String())
		}
		return nil
	})
	return d
}

type errNotYet string

func (e errNotYet) Error() string { return "not yet: " + string(e) }

// waitUntil retries f until it succeeds or ctx ends.
func waitUntil(t *testing.T, ctx context.Context, what string, f func() error) {
	t.Helper()
	for {
		err := f()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, err)
		case <-time.After(200 * time.Millisecond): // polling interval
		}
	}
}
