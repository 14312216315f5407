package gosdk

import (
	"errors"
	"strings"
	"testing"
	"time"

	activitypb "go.temporal.io/api/activity/v1"
	batchpb "go.temporal.io/api/batch/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// The option and activity batch operations (update workflow options,
// unpause, reset and update the options of activities): each makes, for
// every workflow, the change the single RPC makes.

// TestBatchUpdateWorkflowOptions: a batch over a query sets the priority
// of the running workflows it matches (one WorkflowExecutionOptionsUpdated
// event each, describe shows it) and of no other; it survives a restart in
// the middle of the job without changing any workflow twice; Describe and
// List report the operation type.
func TestBatchUpdateWorkflowOptions(t *testing.T) {
	e := newEnv(t)
	defer e.stop()
	targets := e.startIdle("BatchOpts", 4)
	others := e.startIdle("BatchOptsOther", 1)
	svc := e.c.WorkflowService()
	req := &workflowservice.StartBatchOperationRequest{
		Namespace: "default", JobId: "opts-1", Reason: "reprioritize", VisibilityQuery: "WorkflowType = 'BatchOpts'",
		MaxOperationsPerSecond: 4,
		Operation: &workflowservice.StartBatchOperationRequest_UpdateWorkflowOptionsOperation{UpdateWorkflowOptionsOperation: &batchpb.BatchOperationUpdateWorkflowExecutionOptions{
			Identity:                 "batch-opts",
			WorkflowExecutionOptions: &workflowpb.WorkflowExecutionOptions{Priority: &commonpb.Priority{PriorityKey: 4}},
			UpdateMask:               &fieldmaskpb.FieldMask{Paths: []string{"priority.priority_key"}},
		}},
	}
	if _, err := svc.StartBatchOperation(e.ctx(), req); err != nil {
		t.Fatal(err)
	}
	// Restart once the job has handled some but not all of the workflows.
	e.waitBatch("opts-1", "a first workflow handled", func(d *workflowservice.DescribeBatchOperationResponse) bool {
		return d.CompleteOperationCount >= 1
	})
	e.restart()
	d := e.waitBatch("opts-1", "completion", batchDone)
	if d.State != enumspb.BATCH_OPERATION_STATE_COMPLETED || d.CompleteOperationCount != 4 || d.FailureOperationCount != 0 || d.TotalOperationCount != 4 ||
		d.OperationType != enumspb.BATCH_OPERATION_TYPE_UPDATE_EXECUTION_OPTIONS || d.Identity != "batch-opts" || d.Reason != "reprioritize" {
		t.Fatalf("describe = %v", d)
	}
	for _, ex := range targets {
		dw, err := e.c.DescribeWorkflowExecution(e.ctx(), ex.WorkflowId, ex.RunId)
		if err != nil {
			t.Fatal(err)
		}
		if dw.WorkflowExecutionInfo.GetPriority().GetPriorityKey() != 4 {
			t.Fatalf("%s priority %v, want 4", ex.WorkflowId, dw.WorkflowExecutionInfo.GetPriority())
		}
		evs := e.history(ex.WorkflowId, ex.RunId)
		if n := count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED); n != 1 {
			t.Fatalf("%s has %d options-updated events, want 1: %v", ex.WorkflowId, n, types(evs))
		}
		for _, ev := range evs {
			if a := ev.GetWorkflowExecutionOptionsUpdatedEventAttributes(); a != nil && a.GetIdentity() != "batch-opts" {
				t.Fatalf("options event identity %q", a.GetIdentity())
			}
		}
	}
	for _, ex := range others {
		if n := count(e.history(ex.WorkflowId, ex.RunId), enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED); n != 0 {
			t.Fatalf("a workflow outside the query was changed")
		}
	}
	list, err := e.c.WorkflowService().ListBatchOperations(e.ctx(), &workflowservice.ListBatchOperationsRequest{Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.OperationInfo) != 1 || list.OperationInfo[0].OperationType != enumspb.BATCH_OPERATION_TYPE_UPDATE_EXECUTION_OPTIONS {
		t.Fatalf("list = %v", list.OperationInfo)
	}
}

// startPausedFlaky starts n pauseFlakyWorkflow runs, waits until the
// activity of each has failed at least once (is at attempt 2 or more) and
// pauses the activity of the first paused of them.
func startPausedFlaky(t *testing.T, e *env, fl *pauseFlaky, n, paused int) []*commonpb.WorkflowExecution {
	t.Helper()
	var out []*commonpb.WorkflowExecution
	for i := 0; i < n; i++ {
		run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("flaky"), pauseFlakyWorkflow)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, &commonpb.WorkflowExecution{WorkflowId: run.GetID(), RunId: run.GetRunID()})
	}
	for _, ex := range out {
		waitUntil(t, "a second attempt", func() bool {
			d, err := e.c.DescribeWorkflowExecution(e.ctx(), ex.WorkflowId, ex.RunId)
			return err == nil && len(d.PendingActivities) == 1 && d.PendingActivities[0].Attempt >= 2
		})
	}
	for _, ex := range out[:paused] {
		if _, err := e.c.WorkflowService().PauseActivity(e.ctx(), &workflowservice.PauseActivityRequest{
			Namespace: "default", Execution: ex, Activity: &workflowservice.PauseActivityRequest_Type{Type: "Flaky"}, Identity: "op",
		}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func flakyWorker(e *env, fl *pauseFlaky) {
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(pauseFlakyWorkflow)
		w.RegisterActivityWithOptions(fl.Flaky, activity.RegisterOptions{Name: "Flaky"})
	})
}

// TestBatchUnpauseActivities: unpausing the Flaky activities of the
// workflows a query matches looks only at workflows with a Flaky activity
// paused (TemporalPauseInfo); with reset_attempts each runs again as
// attempt 1 and its workflow completes.
func TestBatchUnpauseActivities(t *testing.T) {
	e := newEnv(t)
	defer e.stop()
	fl := &pauseFlaky{}
	flakyWorker(e, fl)
	runs := startPausedFlaky(t, e, fl, 3, 2)
	// The third run's activity, not paused, succeeds at its next attempt
	// (2 or more); the paused ones wait for the batch.
	fl.ok.Store(true)
	svc := e.c.WorkflowService()
	if _, err := svc.StartBatchOperation(e.ctx(), &workflowservice.StartBatchOperationRequest{
		Namespace: "default", JobId: "unpause-1", Reason: "fixed", VisibilityQuery: "WorkflowType = 'pauseFlakyWorkflow'",
		Operation: &workflowservice.StartBatchOperationRequest_UnpauseActivitiesOperation{UnpauseActivitiesOperation: &batchpb.BatchOperationUnpauseActivities{
			Identity: "batch-unpause", Activity: &batchpb.BatchOperationUnpauseActivities_Type{Type: "Flaky"}, ResetAttempts: true, Jitter: durationpb.New(0),
		}},
	}); err != nil {
		t.Fatal(err)
	}
	d := e.waitBatch("unpause-1", "completion", batchDone)
	if d.State != enumspb.BATCH_OPERATION_STATE_COMPLETED || d.TotalOperationCount != 2 || d.CompleteOperationCount != 2 ||
		d.OperationType != enumspb.BATCH_OPERATION_TYPE_UNPAUSE_ACTIVITY || d.Identity != "batch-unpause" || d.Query != "WorkflowType = 'pauseFlakyWorkflow'" {
		t.Fatalf("describe = %v", d)
	}
	for _, ex := range runs {
		var r string
		if err := e.c.GetWorkflow(e.ctx(), ex.WorkflowId, ex.RunId).Get(e.ctx(), &r); err != nil || r != "done" {
			t.Fatalf("%s: %q %v", ex.WorkflowId, r, err)
		}
	}
	for i, ex := range runs {
		evs := e.history(ex.WorkflowId, ex.RunId)
		requireWellFormed(t, evs)
		var attempt int32
		for _, ev := range evs {
			if a := ev.GetActivityTaskStartedEventAttributes(); a != nil {
				attempt = a.Attempt
			}
		}
		// The unpaused runs' attempts were reset; the third's were not
		// (it had failed at least once when the others were paused).
		if (i < 2) != (attempt == 1) {
			t.Fatalf("%s (paused: %v) completed at attempt %d", ex.WorkflowId, i < 2, attempt)
		}
	}
}

// TestBatchActivityOptionsAndReset: a batch updates the retry policy of the
// Flaky activities (describe shows it), a batch reset of all activities
// keeping them paused brings their attempt back to 1, and a batch restoring
// the original options undoes the update. Each batch is reported with its
// type.
func TestBatchActivityOptionsAndReset(t *testing.T) {
	e := newEnv(t)
	defer e.stop()
	fl := &pauseFlaky{}
	flakyWorker(e, fl)
	runs := startPausedFlaky(t, e, fl, 2, 2)
	svc := e.c.WorkflowService()
	query := "WorkflowType = 'pauseFlakyWorkflow'"
	start := func(job string, op any) *workflowservice.DescribeBatchOperationResponse {
		t.Helper()
		req := &workflowservice.StartBatchOperationRequest{Namespace: "default", JobId: job, Reason: "r", VisibilityQuery: query}
		switch o := op.(type) {
		case *batchpb.BatchOperationUpdateActivityOptions:
			req.Operation = &workflowservice.StartBatchOperationRequest_UpdateActivityOptionsOperation{UpdateActivityOptionsOperation: o}
		case *batchpb.BatchOperationResetActivities:
			req.Operation = &workflowservice.StartBatchOperationRequest_ResetActivitiesOperation{ResetActivitiesOperation: o}
		}
		if _, err := svc.StartBatchOperation(e.ctx(), req); err != nil {
			t.Fatal(err)
		}
		d := e.waitBatch(job, "completion", batchDone)
		if d.State != enumspb.BATCH_OPERATION_STATE_COMPLETED || d.CompleteOperationCount != 2 || d.FailureOperationCount != 0 {
			t.Fatalf("%s: %v", job, d)
		}
		return d
	}

	d := start("aopts-1", &batchpb.BatchOperationUpdateActivityOptions{
		Activity:        &batchpb.BatchOperationUpdateActivityOptions_Type{Type: "Flaky"},
		ActivityOptions: &activitypb.ActivityOptions{RetryPolicy: &commonpb.RetryPolicy{MaximumAttempts: 50}},
		UpdateMask:      &fieldmaskpb.FieldMask{Paths: []string{"retry_policy.maximum_attempts"}},
	})
	if d.OperationType != enumspb.BATCH_OPERATION_TYPE_UPDATE_ACTIVITY_OPTIONS {
		t.Fatalf("type %v", d.OperationType)
	}
	for _, ex := range runs {
		if p := describeActivity(t, e, ex.WorkflowId, ex.RunId); p.MaximumAttempts != 50 || p.ActivityOptions.GetRetryPolicy().GetMaximumAttempts() != 50 || !p.Paused {
			t.Fatalf("%s after the options batch: %v", ex.WorkflowId, p)
		}
	}

	d = start("areset-1", &batchpb.BatchOperationResetActivities{
		Activity: &batchpb.BatchOperationResetActivities_MatchAll{MatchAll: true}, KeepPaused: true, ResetHeartbeat: true,
	})
	if d.OperationType != enumspb.BATCH_OPERATION_TYPE_RESET_ACTIVITY {
		t.Fatalf("type %v", d.OperationType)
	}
	for _, ex := range runs {
		if p := describeActivity(t, e, ex.WorkflowId, ex.RunId); p.Attempt != 1 || !p.Paused {
			t.Fatalf("%s after the reset batch: %v", ex.WorkflowId, p)
		}
	}

	start("aopts-2", &batchpb.BatchOperationUpdateActivityOptions{
		Activity: &batchpb.BatchOperationUpdateActivityOptions_MatchAll{MatchAll: true}, RestoreOriginal: true,
	})
	for _, ex := range runs {
		if p := describeActivity(t, e, ex.WorkflowId, ex.RunId); p.MaximumAttempts == 50 || p.ActivityOptions.GetRetryPolicy().GetMaximumAttempts() == 50 {
			t.Fatalf("%s after restoring: %v", ex.WorkflowId, p)
		}
	}
	for _, ex := range runs {
		requireWellFormed(t, e.history(ex.WorkflowId, ex.RunId))
	}
}

// TestBatchMoreValidation: the new operation types are checked as
// Temporal's frontend checks them (its messages), plus what their single
// RPC would refuse for every workflow; batches of standalone activities
// answer as Temporal does with them off.
func TestBatchMoreValidation(t *testing.T) {
	e := newEnv(t)
	defer e.stop()
	svc := e.c.WorkflowService()
	for _, c := range []struct {
		name string
		op   any
		code codes.Code
		msg  string
	}{
		{"options without options", &workflowservice.StartBatchOperationRequest_UpdateWorkflowOptionsOperation{UpdateWorkflowOptionsOperation: &batchpb.BatchOperationUpdateWorkflowExecutionOptions{
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"priority"}}}}, codes.InvalidArgument, "must provide UpdateOptions"},
		{"options without mask", &workflowservice.StartBatchOperationRequest_UpdateWorkflowOptionsOperation{UpdateWorkflowOptionsOperation: &batchpb.BatchOperationUpdateWorkflowExecutionOptions{
			WorkflowExecutionOptions: &workflowpb.WorkflowExecutionOptions{}}}, codes.InvalidArgument, "must provide UpdateMask"},
		{"options bad path", &workflowservice.StartBatchOperationRequest_UpdateWorkflowOptionsOperation{UpdateWorkflowOptionsOperation: &batchpb.BatchOperationUpdateWorkflowExecutionOptions{
			WorkflowExecutionOptions: &workflowpb.WorkflowExecutionOptions{}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"bogus"}}}}, codes.InvalidArgument, "bogus"},
		{"options negative priority", &workflowservice.StartBatchOperationRequest_UpdateWorkflowOptionsOperation{UpdateWorkflowOptionsOperation: &batchpb.BatchOperationUpdateWorkflowExecutionOptions{
			WorkflowExecutionOptions: &workflowpb.WorkflowExecutionOptions{Priority: &commonpb.Priority{PriorityKey: -1}}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"priority"}}}}, codes.InvalidArgument, "priority key can't be negative"},
		{"unpause no filter", &workflowservice.StartBatchOperationRequest_UnpauseActivitiesOperation{UnpauseActivitiesOperation: &batchpb.BatchOperationUnpauseActivities{}},
			codes.InvalidArgument, "activity filter must be set"},
		{"unpause empty type", &workflowservice.StartBatchOperationRequest_UnpauseActivitiesOperation{UnpauseActivitiesOperation: &batchpb.BatchOperationUnpauseActivities{
			Activity: &batchpb.BatchOperationUnpauseActivities_Type{}}}, codes.InvalidArgument, "Either activity type must be set, or match all should be set to true"},
		{"unpause match all false", &workflowservice.StartBatchOperationRequest_UnpauseActivitiesOperation{UnpauseActivitiesOperation: &batchpb.BatchOperationUnpauseActivities{
			Activity: &batchpb.BatchOperationUnpauseActivities_MatchAll{}}}, codes.InvalidArgument, "Either activity type must be set, or match all should be set to true"},
		{"reset no filter", &workflowservice.StartBatchOperationRequest_ResetActivitiesOperation{ResetActivitiesOperation: &batchpb.BatchOperationResetActivities{}},
			codes.InvalidArgument, "must provide ActivityType or MatchAll"},
		{"reset negative jitter", &workflowservice.StartBatchOperationRequest_ResetActivitiesOperation{ResetActivitiesOperation: &batchpb.BatchOperationResetActivities{
			Activity: &batchpb.BatchOperationResetActivities_MatchAll{MatchAll: true}, Jitter: durationpb.New(-time.Second)}}, codes.InvalidArgument, "Jitter"},
		{"activity options and restore", &workflowservice.StartBatchOperationRequest_UpdateActivityOptionsOperation{UpdateActivityOptionsOperation: &batchpb.BatchOperationUpdateActivityOptions{
			Activity: &batchpb.BatchOperationUpdateActivityOptions_MatchAll{MatchAll: true}, ActivityOptions: &activitypb.ActivityOptions{}, RestoreOriginal: true}},
			codes.InvalidArgument, "cannot set both activity options and restore original"},
		{"activity options neither", &workflowservice.StartBatchOperationRequest_UpdateActivityOptionsOperation{UpdateActivityOptionsOperation: &batchpb.BatchOperationUpdateActivityOptions{
			Activity: &batchpb.BatchOperationUpdateActivityOptions_Type{Type: "X"}}}, codes.InvalidArgument, "Either activity type must be set, or restore original should be set to true"},
		{"activity options bad path", &workflowservice.StartBatchOperationRequest_UpdateActivityOptionsOperation{UpdateActivityOptionsOperation: &batchpb.BatchOperationUpdateActivityOptions{
			Activity: &batchpb.BatchOperationUpdateActivityOptions_Type{Type: "X"}, ActivityOptions: &activitypb.ActivityOptions{}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"nope"}}}},
			codes.InvalidArgument, "nope"},
		{"terminate standalone activities", &workflowservice.StartBatchOperationRequest_TerminateActivitiesOperation{TerminateActivitiesOperation: &batchpb.BatchOperationTerminateActivities{}},
			codes.InvalidArgument, "is not supported for this namespace"},
		{"cancel standalone activities", &workflowservice.StartBatchOperationRequest_CancelActivitiesOperation{CancelActivitiesOperation: &batchpb.BatchOperationCancelActivities{}},
			codes.InvalidArgument, "is not supported for this namespace"},
		{"delete standalone activities", &workflowservice.StartBatchOperationRequest_DeleteActivitiesOperation{DeleteActivitiesOperation: &batchpb.BatchOperationDeleteActivities{}},
			codes.InvalidArgument, "is not supported for this namespace"},
	} {
		req := &workflowservice.StartBatchOperationRequest{Namespace: "default", JobId: "bad", Reason: "r", VisibilityQuery: "WorkflowType = 'X'"}
		switch o := c.op.(type) {
		case *workflowservice.StartBatchOperationRequest_UpdateWorkflowOptionsOperation:
			req.Operation = o
		case *workflowservice.StartBatchOperationRequest_UnpauseActivitiesOperation:
			req.Operation = o
		case *workflowservice.StartBatchOperationRequest_ResetActivitiesOperation:
			req.Operation = o
		case *workflowservice.StartBatchOperationRequest_UpdateActivityOptionsOperation:
			req.Operation = o
		case *workflowservice.StartBatchOperationRequest_TerminateActivitiesOperation:
			req.Operation = o
		case *workflowservice.StartBatchOperationRequest_CancelActivitiesOperation:
			req.Operation = o
		case *workflowservice.StartBatchOperationRequest_DeleteActivitiesOperation:
			req.Operation = o
		}
		_, err := svc.StartBatchOperation(e.ctx(), req)
		if grpcCode(err) != c.code || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want %v containing %q", c.name, err, c.code, c.msg)
		}
	}
	// Nothing was started by the refused requests.
	_, err := svc.DescribeBatchOperation(e.ctx(), &workflowservice.DescribeBatchOperationRequest{Namespace: "default", JobId: "bad"})
	var nf *serviceerror.NotFound
	if !errors.As(err, &nf) {
		t.Fatalf("describe of a refused job: %v, want NotFound", err)
	}
}
