package gosdk

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	batchpb "go.temporal.io/api/batch/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	updatepb "go.temporal.io/api/update/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// Time skipping is built in Temporal's server behind the namespace flag
// frontend.WorkflowTimeSkippingEnabled, off by default; Sundial has not
// built it and answers every request that asks for it as Temporal does with
// the flag off: Unimplemented, Temporal's sentence first, then the field.
// Nothing that asked for a virtual clock may be accepted and then run on
// the wall clock.

const temporalTimeSkippingOff = "The Time-Skipping feature is not enabled for namespace."

// tsExpect checks a refusal: Unimplemented, starting with Temporal's
// sentence, naming Sundial and what asked for time skipping.
func tsExpect(t *testing.T, what string, err error, names string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: accepted, want Unimplemented", what)
	}
	st := serviceerror.ToStatus(err)
	if st.Code() != codes.Unimplemented || !strings.HasPrefix(st.Message(), temporalTimeSkippingOff) ||
		!strings.Contains(st.Message(), "Sundial") || !strings.Contains(st.Message(), names) {
		t.Fatalf("%s: got %v, want Unimplemented %q … naming %q", what, err, temporalTimeSkippingOff, names)
	}
}

func TestTimeSkippingNotEnabled(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	svc := e.c.WorkflowService()
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(SleepWorkflow) })
	day := durationpb.New(24 * time.Hour)
	startReq := func(id string) *workflowservice.StartWorkflowExecutionRequest {
		in, _ := converter.GetDefaultDataConverter().ToPayloads(24 * time.Hour)
		return &workflowservice.StartWorkflowExecutionRequest{Namespace: "default", WorkflowId: id, RequestId: uuid.NewString(),
			WorkflowType: &commonpb.WorkflowType{Name: "SleepWorkflow"}, TaskQueue: &taskqueuepb.TaskQueue{Name: e.tq}, Input: in}
	}
	notStarted := func(what, id string) {
		t.Helper()
		_, err := svc.DescribeWorkflowExecution(ctx, &workflowservice.DescribeWorkflowExecutionRequest{Namespace: "default", Execution: &commonpb.WorkflowExecution{WorkflowId: id}})
		var nf *serviceerror.NotFound
		if !errors.As(err, &nf) {
			t.Fatalf("%s: a refused start left workflow %s: %v", what, id, err)
		}
	}

	// Starts: a config asks for time skipping even when it disables it
	// (Temporal refuses any set config with the flag off).
	for what, cfg := range map[string]*commonpb.TimeSkippingConfig{
		"enabled":           {Enabled: true},
		"disabled":          {},
		"with fast-forward": {Enabled: true, FastForwardConfig: &commonpb.FastForwardConfig{Id: "ff", Duration: day}},
	} {
		id := "ts-start-" + uuid.NewString()[:8]
		r := startReq(id)
		r.TimeSkippingConfig = cfg
		_, err := svc.StartWorkflowExecution(ctx, r)
		tsExpect(t, "start "+what, err, "StartWorkflowExecutionRequest.time_skipping_config")
		notStarted("start "+what, id)
	}
	id := "ts-prop-" + uuid.NewString()[:8]
	r := startReq(id)
	r.TimeSkippingStatePropagation = &commonpb.TimeSkippingStatePropagation{InitialSkippedDuration: day}
	_, err := svc.StartWorkflowExecution(ctx, r)
	tsExpect(t, "start with propagated state", err, "StartWorkflowExecutionRequest.time_skipping_state_propagation")
	notStarted("start with propagated state", id)

	id = "ts-sws-" + uuid.NewString()[:8]
	_, err = svc.SignalWithStartWorkflowExecution(ctx, &workflowservice.SignalWithStartWorkflowExecutionRequest{Namespace: "default", WorkflowId: id, RequestId: uuid.NewString(),
		WorkflowType: &commonpb.WorkflowType{Name: "SleepWorkflow"}, TaskQueue: &taskqueuepb.TaskQueue{Name: e.tq}, SignalName: "s",
		TimeSkippingConfig: &commonpb.TimeSkippingConfig{Enabled: true}})
	tsExpect(t, "signal-with-start", err, "SignalWithStartWorkflowExecutionRequest.time_skipping_config")
	notStarted("signal-with-start", id)

	id = "ts-uws-" + uuid.NewString()[:8]
	sr := startReq(id)
	sr.WorkflowIdConflictPolicy = enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
	sr.TimeSkippingConfig = &commonpb.TimeSkippingConfig{Enabled: true}
	_, err = svc.ExecuteMultiOperation(ctx, &workflowservice.ExecuteMultiOperationRequest{Namespace: "default", Operations: []*workflowservice.ExecuteMultiOperationRequest_Operation{
		{Operation: &workflowservice.ExecuteMultiOperationRequest_Operation_StartWorkflow{StartWorkflow: sr}},
		{Operation: &workflowservice.ExecuteMultiOperationRequest_Operation_UpdateWorkflow{UpdateWorkflow: &workflowservice.UpdateWorkflowExecutionRequest{
			Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: id},
			Request: &updatepb.Request{Meta: &updatepb.Meta{UpdateId: "u"}, Input: &updatepb.Input{Name: "u"}}}}},
	}})
	var multi *serviceerror.MultiOperationExecution
	if !errors.As(err, &multi) || len(multi.OperationErrors()) != 2 {
		t.Fatalf("update-with-start: %v, want a MultiOperationExecution error", err)
	}
	tsExpect(t, "update-with-start's start", multi.OperationErrors()[0], "StartWorkflowExecutionRequest.time_skipping_config")
	notStarted("update-with-start", id)

	// A running workflow: its options may not ask for time skipping, with
	// the field in the mask or not; the run is left as it was.
	run, err := e.c.ExecuteWorkflow(ctx, e.opts("ts-run"), SleepWorkflow, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	exec := &commonpb.WorkflowExecution{WorkflowId: run.GetID(), RunId: run.GetRunID()}
	waitFor(t, 10*time.Second, "the timer started", func() bool {
		return count(e.history(run.GetID(), run.GetRunID()), enumspb.EVENT_TYPE_TIMER_STARTED) == 1
	})
	for what, paths := range map[string][]string{"in the mask": {"time_skipping_config"}, "not in the mask": {"priority"}} {
		_, err = svc.UpdateWorkflowExecutionOptions(ctx, &workflowservice.UpdateWorkflowExecutionOptionsRequest{Namespace: "default", WorkflowExecution: exec,
			WorkflowExecutionOptions: &workflowpb.WorkflowExecutionOptions{TimeSkippingConfig: &commonpb.TimeSkippingConfig{Enabled: true,
				FastForwardConfig: &commonpb.FastForwardConfig{Id: "ff-1", Duration: day}}},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}})
		tsExpect(t, "update options "+what, err, "WorkflowExecutionOptions.time_skipping_config")
	}
	// Clearing it asks for nothing (there is nothing to clear).
	if _, err := svc.UpdateWorkflowExecutionOptions(ctx, &workflowservice.UpdateWorkflowExecutionOptionsRequest{Namespace: "default", WorkflowExecution: exec,
		WorkflowExecutionOptions: &workflowpb.WorkflowExecutionOptions{}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"time_skipping_config"}}}); err != nil {
		t.Fatalf("clearing time_skipping_config: %v", err)
	}
	_, err = svc.ResetWorkflowExecution(ctx, &workflowservice.ResetWorkflowExecutionRequest{Namespace: "default", WorkflowExecution: exec, RequestId: uuid.NewString(),
		WorkflowTaskFinishEventId: 4, Reason: "ts",
		PostResetOperations: []*workflowpb.PostResetOperation{updateOptionsOp(&workflowpb.WorkflowExecutionOptions{TimeSkippingConfig: &commonpb.TimeSkippingConfig{Enabled: true}}, "time_skipping_config")}})
	tsExpect(t, "reset with update options", err, "WorkflowExecutionOptions.time_skipping_config")
	_, err = svc.StartBatchOperation(ctx, &workflowservice.StartBatchOperationRequest{Namespace: "default", JobId: "ts-" + uuid.NewString()[:8], Reason: "ts",
		Executions: []*commonpb.WorkflowExecution{exec},
		Operation: &workflowservice.StartBatchOperationRequest_UpdateWorkflowOptionsOperation{UpdateWorkflowOptionsOperation: &batchpb.BatchOperationUpdateWorkflowExecutionOptions{
			WorkflowExecutionOptions: &workflowpb.WorkflowExecutionOptions{TimeSkippingConfig: &commonpb.TimeSkippingConfig{Enabled: true}},
			UpdateMask:               &fieldmaskpb.FieldMask{Paths: []string{"time_skipping_config"}}}}})
	tsExpect(t, "batch update options", err, "WorkflowExecutionOptions.time_skipping_config")

	// The poll for a fast-forward, with a complete request.
	_, err = svc.PollWorkflowExecutionTimeSkipping(ctx, &workflowservice.PollWorkflowExecutionTimeSkippingRequest{Namespace: "default", WorkflowExecution: exec, FastForwardId: "ff-1"})
	tsExpect(t, "poll", err, "PollWorkflowExecutionTimeSkipping")

	// The run still sleeps on the wall clock, unchanged by the refusals: no
	// options were recorded, it is the only run, and describe shows no
	// time-skipping state.
	evs := e.history(run.GetID(), run.GetRunID())
	if n := count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED); n != 0 {
		t.Fatalf("refused option changes recorded %d events: %v", n, types(evs))
	}
	if n := count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIME_SKIPPING_TRANSITIONED); n != 0 {
		t.Fatalf("%d time-skipping transitions recorded", n)
	}
	d, err := e.c.DescribeWorkflowExecution(ctx, run.GetID(), "")
	if err != nil {
		t.Fatal(err)
	}
	if d.WorkflowExecutionInfo.Execution.RunId != run.GetRunID() || d.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING ||
		d.WorkflowExtendedInfo.GetTimeSkippingInfo() != nil {
		t.Fatalf("describe after the refusals: %v", d)
	}
}
