package gosdk

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	batchpb "go.temporal.io/api/batch/v1"
	commonpb "go.temporal.io/api/common/v1"
	deploymentpb "go.temporal.io/api/deployment/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// Reset with post-reset operations (ResetWorkflowExecution's
// UpdateWorkflowOptions, as `temporal workflow reset
// with-workflow-update-options` sends it): the options are applied to the
// new run before its first workflow task, as Temporal's resetter does.

func updateOptionsOp(o *workflowpb.WorkflowExecutionOptions, paths ...string) *workflowpb.PostResetOperation {
	return &workflowpb.PostResetOperation{Variant: &workflowpb.PostResetOperation_UpdateWorkflowOptions_{
		UpdateWorkflowOptions: &workflowpb.PostResetOperation_UpdateWorkflowOptions{WorkflowExecutionOptions: o, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}}}}
}

func pinnedTo(name, build string) *workflowpb.VersioningOverride {
	return &workflowpb.VersioningOverride{Override: &workflowpb.VersioningOverride_Pinned{Pinned: &workflowpb.VersioningOverride_PinnedOverride{
		Behavior: workflowpb.VersioningOverride_PINNED_OVERRIDE_BEHAVIOR_PINNED,
		Version:  &deploymentpb.WorkerDeploymentVersion{DeploymentName: name, BuildId: build}}}}
}

func TestResetWithVersioningOverride(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	svc := e.c.WorkflowService()
	name := "dep-" + uuid.NewString()[:8]
	// The first workers are stopped before the restart below.
	w1 := versionedWorker(e, worker.WorkerDeploymentVersion{DeploymentName: name, BuildID: "1.0"}, "_v1")
	w2 := versionedWorker(e, worker.WorkerDeploymentVersion{DeploymentName: name, BuildID: "2.0"}, "_v2")
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
	ex := &commonpb.WorkflowExecution{WorkflowId: run.GetID(), RunId: run.GetRunID()}
	reset := func(reqID string, ops ...*workflowpb.PostResetOperation) (string, error) {
		resp, err := svc.ResetWorkflowExecution(ctx, &workflowservice.ResetWorkflowExecutionRequest{Namespace: "default", WorkflowExecution: ex,
			Reason: "move", WorkflowTaskFinishEventId: 4, RequestId: reqID, PostResetOperations: ops})
		return resp.GetRunId(), err
	}

	// Refused before anything changes.
	var inv *serviceerror.InvalidArgument
	for what, c := range map[string]struct {
		op   *workflowpb.PostResetOperation
		want func(error) bool
	}{
		"pinned without a version": {updateOptionsOp(&workflowpb.WorkflowExecutionOptions{VersioningOverride: &workflowpb.VersioningOverride{
			Override: &workflowpb.VersioningOverride_Pinned{Pinned: &workflowpb.VersioningOverride_PinnedOverride{Behavior: workflowpb.VersioningOverride_PINNED_OVERRIDE_BEHAVIOR_PINNED}}}}, "versioning_override"),
			func(err error) bool {
				return errors.As(err, &inv) && err.Error() == "must provide version if override is pinned."
			}},
		"unknown mask path": {updateOptionsOp(&workflowpb.WorkflowExecutionOptions{}, "colour"),
			func(err error) bool {
				return errors.As(err, &inv) && strings.Contains(err.Error(), `invalid path "colour"`)
			}},
		"time skipping fast-forward while disabled": {updateOptionsOp(&workflowpb.WorkflowExecutionOptions{TimeSkippingConfig: &commonpb.TimeSkippingConfig{
			FastForwardConfig: &commonpb.FastForwardConfig{Id: "ff", Duration: durationpb.New(time.Hour)}}}, "time_skipping_config"),
			func(err error) bool {
				return errors.As(err, &inv) && err.Error() == "time_skipping_config: cannot set fast_forward when enabled is false"
			}},
	} {
		if _, err := reset(uuid.NewString(), c.op); !c.want(err) {
			t.Errorf("%s: %v", what, err)
		}
	}
	if d, err := e.c.DescribeWorkflowExecution(ctx, run.GetID(), ""); err != nil || d.WorkflowExecutionInfo.Execution.RunId != run.GetRunID() {
		t.Fatalf("a refused reset changed the workflow: %v, %v", d, err)
	}

	// A reset pinning the new run to 2.0 and raising its priority; an
	// operation that changes nothing records nothing.
	reqID := uuid.NewString()
	ops := []*workflowpb.PostResetOperation{
		updateOptionsOp(&workflowpb.WorkflowExecutionOptions{VersioningOverride: pinnedTo(name, "2.0")}, "versioning_override"),
		updateOptionsOp(&workflowpb.WorkflowExecutionOptions{Priority: &commonpb.Priority{PriorityKey: 2}}, "priority"),
		updateOptionsOp(&workflowpb.WorkflowExecutionOptions{Priority: &commonpb.Priority{PriorityKey: 2}}, "priority"),
		updateOptionsOp(&workflowpb.WorkflowExecutionOptions{Priority: &commonpb.Priority{PriorityKey: 5}}),
	}
	newRun, err := reset(reqID, ops...)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := reset(reqID, ops...); err != nil || again != newRun {
		t.Fatalf("the same reset again: %q, %v; want %q", again, err, newRun)
	}
	evs := e.history(run.GetID(), newRun)
	kinds := types(evs)
	var opts []*historypb.WorkflowExecutionOptionsUpdatedEventAttributes
	var failedAt, firstOpt, scheduledAfter int
	for i, ev := range evs {
		switch {
		case ev.GetWorkflowTaskFailedEventAttributes().GetCause() == enumspb.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW:
			failedAt = i
		case ev.GetWorkflowExecutionOptionsUpdatedEventAttributes() != nil:
			if firstOpt == 0 {
				firstOpt = i
			}
			if !ev.WorkerMayIgnore {
				t.Errorf("options event %d not worker_may_ignore", ev.EventId)
			}
			opts = append(opts, ev.GetWorkflowExecutionOptionsUpdatedEventAttributes())
		case ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED && failedAt > 0 && scheduledAfter == 0:
			scheduledAfter = i
		}
	}
	if len(opts) != 2 || failedAt == 0 || firstOpt != failedAt+1 || scheduledAfter != failedAt+3 {
		t.Fatalf("reset run's history %v: want the reset's failed task, two options events, then the new task", kinds)
	}
	if !proto.Equal(opts[0].VersioningOverride, pinnedTo(name, "2.0")) || opts[0].Priority != nil ||
		!proto.Equal(opts[1].VersioningOverride, pinnedTo(name, "2.0")) || opts[1].Priority.GetPriorityKey() != 2 {
		t.Fatalf("options events: %v", opts)
	}

	// The new run's first task goes to 2.0's worker, and it stays there.
	check := func(when string) {
		t.Helper()
		d, err := e.c.DescribeWorkflowExecution(ctx, run.GetID(), newRun)
		if err != nil {
			t.Fatal(err)
		}
		vi := d.WorkflowExecutionInfo.VersioningInfo
		if !proto.Equal(vi.GetVersioningOverride(), pinnedTo(name, "2.0")) || d.WorkflowExecutionInfo.Priority.GetPriorityKey() != 2 {
			t.Fatalf("%s: new run's versioning %v, priority %v", when, vi, d.WorkflowExecutionInfo.Priority)
		}
	}
	check("after reset")
	waitFor(t, 10*time.Second, "new run's first task", func() bool { return lastCompleted(e, run.GetID(), newRun).GetDeploymentVersion().GetBuildId() != "" })
	if v := lastCompleted(e, run.GetID(), newRun).GetDeploymentVersion(); v.GetBuildId() != "2.0" {
		t.Fatalf("new run's first task completed by %v, want 2.0", v)
	}
	w1.Stop()
	w2.Stop()
	e.restart()
	ctx = e.ctx()
	check("after restart")
	w2 = versionedWorker(e, worker.WorkerDeploymentVersion{DeploymentName: name, BuildID: "2.0"}, "_v2")
	defer w2.Stop()
	if err := e.c.SignalWorkflow(ctx, run.GetID(), "", "go", "r"); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := e.c.GetWorkflow(ctx, run.GetID(), newRun).Get(ctx, &got); err != nil || got != "r_v2" {
		t.Fatalf("reset run's result %q, %v; want r_v2", got, err)
	}
}

// TestPinnedOverrideMustPollQueue: as in Temporal, a pinned override is
// refused (FailedPrecondition) when its version does not poll the run's
// workflow task queue: at start, in an options update and in a reset's
// post-reset options.
func TestPinnedOverrideMustPollQueue(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	svc := e.c.WorkflowService()
	name := "dep-" + uuid.NewString()[:8]
	w := versionedWorker(e, worker.WorkerDeploymentVersion{DeploymentName: name, BuildID: "1.0"}, "_v1")
	defer w.Stop()
	waitVersionsPollWorkflowQueue(t, e, name, "1.0")
	notPolling := func(err error) bool {
		var fp *serviceerror.FailedPrecondition
		return errors.As(err, &fp) && strings.Contains(err.Error(), "Pinned version '"+name+":2.0' is not present in task queue '"+e.tq+"' of type 'Workflow'")
	}
	o := e.opts("start")
	o.VersioningOverride = &client.PinnedVersioningOverride{Version: worker.WorkerDeploymentVersion{DeploymentName: name, BuildID: "2.0"}}
	if _, err := e.c.ExecuteWorkflow(ctx, o, "Auto"); !notPolling(err) {
		t.Fatalf("start pinned to a version that does not poll the queue: %v", err)
	}
	o.VersioningOverride = &client.PinnedVersioningOverride{Version: worker.WorkerDeploymentVersion{DeploymentName: name, BuildID: "1.0"}}
	run, err := e.c.ExecuteWorkflow(ctx, o, "Auto")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "first task", func() bool { return lastCompleted(e, run.GetID(), run.GetRunID()) != nil })
	_, err = svc.UpdateWorkflowExecutionOptions(ctx, &workflowservice.UpdateWorkflowExecutionOptionsRequest{Namespace: "default",
		WorkflowExecution:        &commonpb.WorkflowExecution{WorkflowId: run.GetID()},
		WorkflowExecutionOptions: &workflowpb.WorkflowExecutionOptions{VersioningOverride: pinnedTo(name, "2.0")},
		UpdateMask:               &fieldmaskpb.FieldMask{Paths: []string{"versioning_override"}}})
	if !notPolling(err) {
		t.Fatalf("options update to a version that does not poll the queue: %v", err)
	}
	_, err = svc.ResetWorkflowExecution(ctx, &workflowservice.ResetWorkflowExecutionRequest{Namespace: "default",
		WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: run.GetID()}, Reason: "r", WorkflowTaskFinishEventId: 4, RequestId: uuid.NewString(),
		PostResetOperations: []*workflowpb.PostResetOperation{updateOptionsOp(&workflowpb.WorkflowExecutionOptions{VersioningOverride: pinnedTo(name, "2.0")}, "versioning_override")}})
	if !notPolling(err) {
		t.Fatalf("reset pinning to a version that does not poll the queue: %v", err)
	}
	if d, err := e.c.DescribeWorkflowExecution(ctx, run.GetID(), ""); err != nil || d.WorkflowExecutionInfo.Execution.RunId != run.GetRunID() {
		t.Fatalf("a refused reset changed the workflow: %v", err)
	}
}

// TestBatchResetWithVersioningOverride: a batch reset's post-reset
// operations are applied to each new run, as Temporal's batcher passes
// them to the reset (the CLI's `reset with-workflow-update-options
// --query`); a bad operation is refused when the job starts.
func TestBatchResetWithVersioningOverride(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	svc := e.c.WorkflowService()
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
	waitVersionsPollWorkflowQueue(t, e, name, "1.0", "2.0")
	if _, err := h.SetCurrentVersion(ctx, client.WorkerDeploymentSetCurrentVersionOptions{BuildID: "1.0"}); err != nil {
		t.Fatal(err)
	}
	var runs []client.WorkflowRun
	for i := range 2 {
		run, err := e.c.ExecuteWorkflow(ctx, e.opts(fmt.Sprintf("batch-pinned-%d", i)), "Pinned")
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "first task", func() bool { return lastCompleted(e, run.GetID(), run.GetRunID()) != nil })
		runs = append(runs, run)
	}
	resetOp := func(op *workflowpb.PostResetOperation) *workflowservice.StartBatchOperationRequest_ResetOperation {
		return &workflowservice.StartBatchOperationRequest_ResetOperation{ResetOperation: &batchpb.BatchOperationReset{Identity: "ops",
			Options:             &commonpb.ResetOptions{Target: &commonpb.ResetOptions_LastWorkflowTask{LastWorkflowTask: &emptypb.Empty{}}},
			PostResetOperations: []*workflowpb.PostResetOperation{op}}}
	}
	_, err := svc.StartBatchOperation(ctx, &workflowservice.StartBatchOperationRequest{Namespace: "default", JobId: "bad-" + name, Reason: "move",
		VisibilityQuery: "WorkflowType = 'Pinned'",
		Operation: resetOp(updateOptionsOp(&workflowpb.WorkflowExecutionOptions{VersioningOverride: &workflowpb.VersioningOverride{
			Override: &workflowpb.VersioningOverride_Pinned{Pinned: &workflowpb.VersioningOverride_PinnedOverride{Behavior: workflowpb.VersioningOverride_PINNED_OVERRIDE_BEHAVIOR_PINNED}}}}, "versioning_override"))})
	var inv *serviceerror.InvalidArgument
	if !errors.As(err, &inv) || !strings.Contains(err.Error(), "must provide version if override is pinned.") {
		t.Fatalf("batch reset with a bad post-reset operation: %v", err)
	}
	job := "move-" + name
	if _, err := svc.StartBatchOperation(ctx, &workflowservice.StartBatchOperationRequest{Namespace: "default", JobId: job, Reason: "move",
		VisibilityQuery: "WorkflowType = 'Pinned' AND ExecutionStatus = 'Running'",
		Operation:       resetOp(updateOptionsOp(&workflowpb.WorkflowExecutionOptions{VersioningOverride: pinnedTo(name, "2.0")}, "versioning_override"))}); err != nil {
		t.Fatal(err)
	}
	d := e.waitBatch(job, "completion", batchDone)
	if d.State != enumspb.BATCH_OPERATION_STATE_COMPLETED || d.CompleteOperationCount != 2 || d.FailureOperationCount != 0 {
		t.Fatalf("batch reset: %v", d)
	}
	for _, run := range runs {
		desc, err := e.c.DescribeWorkflowExecution(ctx, run.GetID(), "")
		if err != nil {
			t.Fatal(err)
		}
		if desc.WorkflowExecutionInfo.Execution.RunId == run.GetRunID() || !proto.Equal(desc.WorkflowExecutionInfo.VersioningInfo.GetVersioningOverride(), pinnedTo(name, "2.0")) {
			t.Fatalf("%s after the batch reset: %v", run.GetID(), desc.WorkflowExecutionInfo)
		}
		if err := e.c.SignalWorkflow(ctx, run.GetID(), "", "go", "b"); err != nil {
			t.Fatal(err)
		}
		var got string
		if err := e.c.GetWorkflow(ctx, run.GetID(), "").Get(ctx, &got); err != nil || got != "b_v2" {
			t.Fatalf("%s: %q, %v; want b_v2", run.GetID(), got, err)
		}
	}
}

// waitVersionsPollWorkflowQueue waits until each build id of deployment
// name has registered e's workflow task queue. A version is registered by
// its first poll of any queue (often the activity queue); a pinned override
// is refused until its version has polled the run's workflow queue.
func waitVersionsPollWorkflowQueue(t *testing.T, e *env, name string, buildIDs ...string) {
	t.Helper()
	h := e.c.WorkerDeploymentClient().GetHandle(name)
	for _, b := range buildIDs {
		waitFor(t, 10*time.Second, "version "+b+" polling the workflow queue", func() bool {
			d, err := h.DescribeVersion(e.ctx(), client.WorkerDeploymentDescribeVersionOptions{BuildID: b})
			if err != nil {
				return false
			}
			for _, q := range d.Info.TaskQueuesInfos {
				if q.Name == e.tq && q.Type == client.TaskQueueTypeWorkflow {
					return true
				}
			}
			return false
		})
	}
}
