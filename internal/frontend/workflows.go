package frontend

import (
	"context"
	"github.com/google/uuid"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sundial-io/sundial/internal/engine"
	"github.com/sundial-io/sundial/internal/execution"
)

func checkExecution(ex *commonpb.WorkflowExecution) error {
	if ex == nil {
		return invalid("Execution is not set on request.")
	}
	if err := checkID("WorkflowId", ex.WorkflowId); err != nil {
		return err
	}
	return checkRunID(ex.RunId)
}

// checkRunID refuses a run id that is set but not a UUID, with Temporal's
// message: clients (the features harness among them) probe for it.
func checkRunID(runID string) error {
	if runID == "" {
		return nil
	}
	if _, err := uuid.Parse(runID); err != nil {
		return invalid("Invalid RunId.")
	}
	return nil
}

// checkLoadRunID is the same check for the RPCs whose run id Temporal's
// frontend passes on unchecked (activity *ById calls, update polls): its
// history service refuses it on load, with this message.
func checkLoadRunID(runID string) error {
	if runID == "" {
		return nil
	}
	if _, err := uuid.Parse(runID); err != nil {
		return invalid("RunId is not valid UUID.")
	}
	return nil
}

// MaxPayloadBytes is the largest payload blob accepted, as in Temporal.
const MaxPayloadBytes = execution.MaxPayloadBytes

func checkPayloads(field string, p *commonpb.Payloads) error {
	if n := proto.Size(p); n > MaxPayloadBytes {
		return invalid("Blob data size exceeds limit: %s is %d bytes, the limit is %d.", field, n, MaxPayloadBytes)
	}
	return nil
}

func validateStart(p *engine.StartParams) error {
	if err := checkPayloads("Input", p.Input); err != nil {
		return err
	}
	if err := checkID("WorkflowId", p.WorkflowID); err != nil {
		return err
	}
	if p.WorkflowType.GetName() == "" {
		return invalid("WorkflowType is not set on request.")
	}
	if p.TaskQueue == "" {
		return invalid("TaskQueue is not set on request.")
	}
	if len(p.TaskQueue) > maxIDLength {
		return invalid("TaskQueue exceeds length limit.")
	}
	if p.ExecTimeout < 0 {
		return invalid("Invalid WorkflowExecutionTimeout.")
	}
	if p.RunTimeout < 0 {
		return invalid("Invalid WorkflowRunTimeout.")
	}
	if p.TaskTimeout < 0 {
		return invalid("Invalid WorkflowTaskTimeout.")
	}
	if p.StartDelay < 0 {
		return invalid("Invalid WorkflowStartDelay.")
	}
	if len(p.RequestID) > maxIDLength {
		return invalid("RequestId exceeds length limit.")
	}
	if rp := p.RetryPolicy; rp != nil {
		if rp.InitialInterval.AsDuration() < 0 || rp.MaximumInterval.AsDuration() < 0 || rp.MaximumAttempts < 0 {
			return invalid("Invalid RetryPolicy: intervals and MaximumAttempts must not be negative.")
		}
		if rp.BackoffCoefficient != 0 && rp.BackoffCoefficient < 1 {
			return invalid("Invalid RetryPolicy: BackoffCoefficient cannot be less than 1.")
		}
		if rp.MaximumInterval.AsDuration() > 0 && rp.MaximumInterval.AsDuration() < rp.InitialInterval.AsDuration() {
			return invalid("Invalid RetryPolicy: MaximumInterval cannot be less than InitialInterval.")
		}
	}
	if p.CronSchedule != "" {
		if err := execution.ValidateCron(p.CronSchedule); err != nil {
			return invalid("Invalid CronSchedule %q: %v", p.CronSchedule, err)
		}
	}
	if p.ConflictPolicy == enumspb.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING && p.ReusePolicy == enumspb.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING {
		return invalid("Invalid WorkflowIDReusePolicy: WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING cannot be used together with a WorkflowIDConflictPolicy.")
	}
	return nil
}

func (s *Service) StartWorkflowExecution(ctx context.Context, r *workflowservice.StartWorkflowExecutionRequest) (*workflowservice.StartWorkflowExecutionResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if err := s.e.CheckNamespaceForStart(r.Namespace); err != nil {
		return nil, err
	}
	p := engine.StartRequestParams(r)
	if err := validateStart(p); err != nil {
		return nil, err
	}
	if err := checkCallbacks(r.CompletionCallbacks, r.Links); err != nil {
		return nil, err
	}
	if err := checkTimeSkipping(r.TimeSkippingConfig); err != nil {
		return nil, err
	}
	if oc := r.OnConflictOptions; oc != nil && oc.AttachCompletionCallbacks && !oc.AttachRequestId {
		return nil, invalid("OnConflictOptions: attaching request ID is required for attaching completion callbacks.")
	}
	if err := checkVersioningOverride(r.VersioningOverride); err != nil {
		return nil, err
	}
	if err := s.e.CheckPinnedOverride(r.Namespace, r.TaskQueue.GetName(), r.VersioningOverride); err != nil {
		return nil, err
	}
	if err := s.e.ValidateSearchAttributes(r.Namespace, r.SearchAttributes); err != nil {
		return nil, err
	}
	p.Eager = r.RequestEagerExecution
	res, err := s.e.StartWorkflow(ctx, p)
	if err != nil {
		return nil, err
	}
	return &workflowservice.StartWorkflowExecutionResponse{RunId: res.RunID, Started: res.Started, Status: res.Status, EagerWorkflowTask: res.EagerTask,
		Link: engine.StartedEventLink(r.Namespace, r.WorkflowId, res.RunID)}, nil
}

func (s *Service) SignalWithStartWorkflowExecution(ctx context.Context, r *workflowservice.SignalWithStartWorkflowExecutionRequest) (*workflowservice.SignalWithStartWorkflowExecutionResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if err := s.e.CheckNamespaceForStart(r.Namespace); err != nil {
		return nil, err
	}
	if r.SignalName == "" {
		return nil, invalid("SignalName is not set on request.")
	}
	if err := checkPayloads("SignalInput", r.SignalInput); err != nil {
		return nil, err
	}
	p := &engine.StartParams{StartDelay: r.WorkflowStartDelay.AsDuration(), Input: r.Input, WorkflowID: r.WorkflowId, WorkflowType: r.WorkflowType, TaskQueue: r.TaskQueue.GetName(),
		ExecTimeout: r.WorkflowExecutionTimeout.AsDuration(), RunTimeout: r.WorkflowRunTimeout.AsDuration(), TaskTimeout: r.WorkflowTaskTimeout.AsDuration(), RetryPolicy: r.RetryPolicy, Search: r.SearchAttributes, CronSchedule: r.CronSchedule}
	if err := validateStart(p); err != nil {
		return nil, err
	}
	if err := checkTimeSkipping(r.TimeSkippingConfig); err != nil {
		return nil, err
	}
	if err := checkVersioningOverride(r.VersioningOverride); err != nil {
		return nil, err
	}
	if err := s.e.CheckPinnedOverride(r.Namespace, r.TaskQueue.GetName(), r.VersioningOverride); err != nil {
		return nil, err
	}
	if err := s.e.ValidateSearchAttributes(r.Namespace, r.SearchAttributes); err != nil {
		return nil, err
	}
	res, err := s.e.SignalWithStart(ctx, r)
	if err != nil {
		return nil, err
	}
	return &workflowservice.SignalWithStartWorkflowExecutionResponse{RunId: res.RunID, Started: res.Started}, nil
}

func (s *Service) SignalWorkflowExecution(ctx context.Context, r *workflowservice.SignalWorkflowExecutionRequest) (*workflowservice.SignalWorkflowExecutionResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if err := checkExecution(r.WorkflowExecution); err != nil {
		return nil, err
	}
	if r.SignalName == "" {
		return nil, invalid("SignalName is not set on request.")
	}
	if err := checkPayloads("Input", r.Input); err != nil {
		return nil, err
	}
	if err := s.e.Signal(ctx, r); err != nil {
		return nil, err
	}
	return &workflowservice.SignalWorkflowExecutionResponse{}, nil
}

func (s *Service) RequestCancelWorkflowExecution(ctx context.Context, r *workflowservice.RequestCancelWorkflowExecutionRequest) (*workflowservice.RequestCancelWorkflowExecutionResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if err := checkExecution(r.WorkflowExecution); err != nil {
		return nil, err
	}
	if err := s.e.RequestCancel(ctx, r); err != nil {
		return nil, err
	}
	return &workflowservice.RequestCancelWorkflowExecutionResponse{}, nil
}

func (s *Service) TerminateWorkflowExecution(ctx context.Context, r *workflowservice.TerminateWorkflowExecutionRequest) (*workflowservice.TerminateWorkflowExecutionResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if err := checkExecution(r.WorkflowExecution); err != nil {
		return nil, err
	}
	if err := s.e.Terminate(ctx, r); err != nil {
		return nil, err
	}
	return &workflowservice.TerminateWorkflowExecutionResponse{}, nil
}

func (s *Service) DescribeWorkflowExecution(ctx context.Context, r *workflowservice.DescribeWorkflowExecutionRequest) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if err := checkExecution(r.Execution); err != nil {
		return nil, err
	}
	return s.e.Describe(ctx, r.Namespace, r.Execution)
}

func (s *Service) GetWorkflowExecutionHistory(ctx context.Context, r *workflowservice.GetWorkflowExecutionHistoryRequest) (*workflowservice.GetWorkflowExecutionHistoryResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if err := checkExecution(r.Execution); err != nil {
		return nil, err
	}
	if r.MaximumPageSize < 0 {
		return nil, invalid("MaximumPageSize must not be negative.")
	}
	return s.e.History(ctx, r)
}

func (s *Service) QueryWorkflow(ctx context.Context, r *workflowservice.QueryWorkflowRequest) (*workflowservice.QueryWorkflowResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if err := checkExecution(r.Execution); err != nil {
		return nil, err
	}
	if r.Query.GetQueryType() == "" {
		return nil, invalid("QueryType is not set on request.")
	}
	return s.e.Query(ctx, r)
}

func validateUpdate(r *workflowservice.UpdateWorkflowExecutionRequest) error {
	if err := checkExecution(r.WorkflowExecution); err != nil {
		return err
	}
	if r.Request == nil {
		return invalid("Request is not set on request.")
	}
	if r.Request.Meta.GetUpdateId() == "" {
		return invalid("Request.Meta.UpdateId is not set on request.")
	}
	if r.Request.Input.GetName() == "" {
		return invalid("Request.Input.Name is not set on request.")
	}
	if err := checkPayloads("Request.Input.Args", r.Request.Input.GetArgs()); err != nil {
		return err
	}
	// As in Temporal: no wait stage means COMPLETED, and a caller may not
	// return before the update is durable (ADMITTED is not durable).
	switch r.WaitPolicy.GetLifecycleStage() {
	case enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_UNSPECIFIED:
		r.WaitPolicy = &updatepb.WaitPolicy{LifecycleStage: enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED}
	case enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED:
		return serviceerror.NewPermissionDenied("UpdateWorkflowExecution issued asynchronously and waiting on update admitted is not supported.", "")
	}
	return nil
}

func (s *Service) UpdateWorkflowExecution(ctx context.Context, r *workflowservice.UpdateWorkflowExecutionRequest) (*workflowservice.UpdateWorkflowExecutionResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if err := validateUpdate(r); err != nil {
		return nil, err
	}
	return s.e.UpdateWorkflow(ctx, r)
}

func (s *Service) PollWorkflowExecutionUpdate(ctx context.Context, r *workflowservice.PollWorkflowExecutionUpdateRequest) (*workflowservice.PollWorkflowExecutionUpdateResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if r.UpdateRef == nil || r.UpdateRef.UpdateId == "" {
		return nil, invalid("UpdateRef.UpdateId is not set on request.")
	}
	ex := r.UpdateRef.WorkflowExecution
	if ex == nil {
		return nil, invalid("Execution is not set on request.")
	}
	if err := checkID("WorkflowId", ex.WorkflowId); err != nil {
		return nil, err
	}
	if err := checkLoadRunID(ex.RunId); err != nil {
		return nil, err
	}
	return s.e.PollUpdate(ctx, r)
}

// ExecuteMultiOperation supports update-with-start: exactly a start and an
// update of the same workflow id.
func (s *Service) ExecuteMultiOperation(ctx context.Context, r *workflowservice.ExecuteMultiOperationRequest) (*workflowservice.ExecuteMultiOperationResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if len(r.Operations) != 2 || r.Operations[0].GetStartWorkflow() == nil || r.Operations[1].GetUpdateWorkflow() == nil {
		return nil, invalid("Operations must be exactly [StartWorkflow, UpdateWorkflow].")
	}
	start, upd := r.Operations[0].GetStartWorkflow(), r.Operations[1].GetUpdateWorkflow()
	abort := func(which int, err error) error {
		errs := []error{serviceerror.NewMultiOperationAborted("Operation was aborted."), serviceerror.NewMultiOperationAborted("Operation was aborted.")}
		errs[which] = err
		return serviceerror.NewMultiOperationExecution("Update-with-Start could not be executed.", errs)
	}
	if start.Namespace != r.Namespace || upd.Namespace != r.Namespace {
		return nil, invalid("Operations must use the request's namespace.")
	}
	if err := validateStart(engine.StartRequestParams(start)); err != nil {
		return nil, abort(0, err)
	}
	if err := checkTimeSkipping(start.TimeSkippingConfig); err != nil {
		return nil, abort(0, err)
	}
	// What a start in update-with-start may not ask for (as in Temporal).
	switch {
	case start.CronSchedule != "":
		return nil, abort(0, invalid("CronSchedule is not allowed."))
	case start.RequestEagerExecution:
		return nil, abort(0, invalid("RequestEagerExecution is not supported."))
	case start.WorkflowStartDelay.AsDuration() > 0:
		return nil, abort(0, invalid("WorkflowStartDelay is not supported."))
	}
	if err := s.e.ValidateSearchAttributes(start.Namespace, start.SearchAttributes); err != nil {
		return nil, abort(0, err)
	}
	if upd.WorkflowExecution == nil {
		upd.WorkflowExecution = &commonpb.WorkflowExecution{WorkflowId: start.WorkflowId}
	}
	if err := validateUpdate(upd); err != nil {
		return nil, abort(1, err)
	}
	if upd.WorkflowExecution.WorkflowId != start.WorkflowId {
		return nil, abort(1, invalid("WorkflowId of the update must match the start."))
	}
	if upd.WorkflowExecution.RunId != "" {
		return nil, abort(1, invalid("RunId is not allowed in the update of Update-with-Start."))
	}
	if upd.FirstExecutionRunId != "" {
		return nil, abort(1, invalid("FirstExecutionRunId is not allowed."))
	}
	if start.WorkflowIdConflictPolicy == enumspb.WORKFLOW_ID_CONFLICT_POLICY_UNSPECIFIED {
		return nil, abort(0, invalid("WorkflowIdConflictPolicy must be set for Update-with-Start."))
	}
	res, uresp, err := s.e.UpdateWithStart(ctx, start, upd)
	if err != nil {
		if res == nil {
			return nil, abort(0, err)
		}
		return nil, abort(1, err)
	}
	return &workflowservice.ExecuteMultiOperationResponse{Responses: []*workflowservice.ExecuteMultiOperationResponse_Response{
		{Response: &workflowservice.ExecuteMultiOperationResponse_Response_StartWorkflow{StartWorkflow: &workflowservice.StartWorkflowExecutionResponse{RunId: res.RunID, Started: res.Started, Status: res.Status}}},
		{Response: &workflowservice.ExecuteMultiOperationResponse_Response_UpdateWorkflow{UpdateWorkflow: uresp}},
	}}, nil
}
