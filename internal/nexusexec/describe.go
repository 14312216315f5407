package nexusexec

import (
	"fmt"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	nexuspb "go.temporal.io/api/nexus/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// State is the detail of a running operation Describe reports.
func (o *Operation) State() enumspb.PendingNexusOperationState {
	switch {
	case !o.Running():
		return enumspb.PENDING_NEXUS_OPERATION_STATE_UNSPECIFIED
	case o.Started:
		return enumspb.PENDING_NEXUS_OPERATION_STATE_STARTED
	case !o.NextAttemptTime.IsZero():
		return enumspb.PENDING_NEXUS_OPERATION_STATE_BACKING_OFF
	}
	return enumspb.PENDING_NEXUS_OPERATION_STATE_SCHEDULED
}

// Duration is the time from scheduling to now (running) or to the close.
func (o *Operation) Duration(now time.Time) time.Duration {
	if o.Running() {
		return now.Sub(o.ScheduleTime)
	}
	return o.CloseTime.Sub(o.ScheduleTime)
}

// Info is DescribeNexusOperationExecution's info at now.
func (o *Operation) Info(now time.Time) *nexuspb.NexusOperationExecutionInfo {
	r := o.Start
	info := &nexuspb.NexusOperationExecutionInfo{
		OperationId:             o.OperationID,
		RunId:                   o.RunID,
		Endpoint:                r.Endpoint,
		Service:                 r.Service,
		Operation:               r.Operation,
		Status:                  o.Status,
		State:                   o.State(),
		ScheduleToCloseTimeout:  r.ScheduleToCloseTimeout,
		ScheduleToStartTimeout:  r.ScheduleToStartTimeout,
		StartToCloseTimeout:     r.StartToCloseTimeout,
		Attempt:                 o.Attempt,
		ScheduleTime:            ts(o.ScheduleTime),
		ExpirationTime:          ts(o.ExpirationTime()),
		CloseTime:               ts(o.CloseTime),
		LastAttemptCompleteTime: ts(o.LastAttemptTime),
		LastAttemptFailure:      o.LastFailure,
		NextAttemptScheduleTime: ts(o.NextAttemptTime),
		ExecutionDuration:       durationpb.New(o.Duration(now)),
		CancellationInfo:        o.cancellationInfo(),
		RequestId:               o.RequestID,
		OperationToken:          o.OperationToken,
		StateTransitionCount:    o.Transitions,
		SearchAttributes:        r.SearchAttributes,
		NexusHeader:             r.NexusHeader,
		UserMetadata:            r.UserMetadata,
		Links:                   o.Links,
		Identity:                r.Identity,
	}
	if !o.Running() {
		info.NextAttemptScheduleTime = nil
	}
	return info
}

func (o *Operation) cancellationInfo() *nexuspb.NexusOperationExecutionCancellationInfo {
	c := o.Cancel
	if c == nil {
		return nil
	}
	info := &nexuspb.NexusOperationExecutionCancellationInfo{
		RequestedTime:           ts(c.RequestedTime),
		State:                   c.State,
		Attempt:                 c.Attempt,
		LastAttemptCompleteTime: ts(c.LastAttemptTime),
		LastAttemptFailure:      c.LastFailure,
		Reason:                  c.Reason,
	}
	if c.State == enumspb.NEXUS_OPERATION_CANCELLATION_STATE_BACKING_OFF {
		info.NextAttemptScheduleTime = ts(c.NextAttemptTime)
	}
	return info
}

// ListInfo is the operation's entry in ListNexusOperationExecutions.
func (o *Operation) ListInfo() *nexuspb.NexusOperationExecutionListInfo {
	r := o.Start
	info := &nexuspb.NexusOperationExecutionListInfo{
		OperationId:          o.OperationID,
		RunId:                o.RunID,
		Endpoint:             r.Endpoint,
		Service:              r.Service,
		Operation:            r.Operation,
		ScheduleTime:         ts(o.ScheduleTime),
		CloseTime:            ts(o.CloseTime),
		Status:               o.Status,
		SearchAttributes:     r.SearchAttributes,
		StateTransitionCount: o.Transitions,
	}
	if !o.Running() {
		info.ExecutionDuration = durationpb.New(o.CloseTime.Sub(o.ScheduleTime))
	}
	return info
}

// Outcome is a closed operation's result or failure (both nil while
// running). A success may have a nil result (no value).
func (o *Operation) Outcome() (*commonpb.Payload, *failurepb.Failure) {
	if o.Running() {
		return nil, nil
	}
	if o.Status == enumspb.NEXUS_OPERATION_EXECUTION_STATUS_COMPLETED {
		return o.Result, nil
	}
	if o.Failure != nil {
		return nil, o.Failure
	}
	return nil, o.LastFailure
}

// DescribeOutcome sets a describe response's outcome.
func (o *Operation) DescribeOutcome(resp *workflowservice.DescribeNexusOperationExecutionResponse) {
	if o.Running() {
		return
	}
	if result, failure := o.Outcome(); failure != nil {
		resp.Outcome = &workflowservice.DescribeNexusOperationExecutionResponse_Failure{Failure: failure}
	} else {
		resp.Outcome = &workflowservice.DescribeNexusOperationExecutionResponse_Result{Result: result}
	}
}

// Reached reports whether the operation reached a poll's wait stage:
// STARTED once it started or closed, CLOSED once closed.
func (o *Operation) Reached(stage enumspb.NexusOperationWaitStage) bool {
	if stage == enumspb.NEXUS_OPERATION_WAIT_STAGE_STARTED {
		return o.Started || !o.Running()
	}
	return !o.Running()
}

// PollResponse is PollNexusOperationExecution's answer for the operation
// as it is.
func (o *Operation) PollResponse() *workflowservice.PollNexusOperationExecutionResponse {
	resp := &workflowservice.PollNexusOperationExecutionResponse{
		RunId:          o.RunID,
		WaitStage:      enumspb.NEXUS_OPERATION_WAIT_STAGE_STARTED,
		OperationToken: o.OperationToken,
		PropagatedNexusSerializationContext: &nexuspb.PropagatedSerializationContext{
			Endpoint: o.Start.Endpoint, Service: o.Start.Service, Operation: o.Start.Operation,
		},
	}
	if o.Running() {
		return resp
	}
	resp.WaitStage = enumspb.NEXUS_OPERATION_WAIT_STAGE_CLOSED
	if result, failure := o.Outcome(); failure != nil {
		resp.Outcome = &workflowservice.PollNexusOperationExecutionResponse_Failure{Failure: failure}
	} else {
		resp.Outcome = &workflowservice.PollNexusOperationExecutionResponse_Result{Result: result}
	}
	return resp
}

// StartRequest is the start-operation request the handler gets, without
// the callback (the engine adds it) and header timeout.
func (o *Operation) StartRequest() *nexuspb.StartOperationRequest {
	return &nexuspb.StartOperationRequest{
		Service:   o.Start.Service,
		Operation: o.Start.Operation,
		RequestId: o.RequestID,
		Payload:   o.Start.Input,
	}
}

// RequestHeader is the Nexus header of the handler's requests: the
// caller's header, plus the operation timeout the handler has left
// (Operation-Timeout, as Temporal sets it when a timeout applies) unless
// the caller set one.
func (o *Operation) RequestHeader(now time.Time) map[string]string {
	h := make(map[string]string, len(o.Start.NexusHeader)+2)
	for k, v := range o.Start.NexusHeader {
		h[k] = v
	}
	left := time.Duration(0)
	if d := o.Start.GetStartToCloseTimeout().AsDuration(); d > 0 {
		left = d
	}
	if exp := o.ExpirationTime(); !exp.IsZero() {
		if rem := exp.Sub(now); left == 0 || rem < left {
			left = max(rem, 0)
		}
	}
	if _, ok := h["operation-timeout"]; !ok && left > 0 {
		h["operation-timeout"] = formatMillis(left)
	}
	return h
}

// formatMillis writes a duration as Nexus headers carry it ("1500ms").
func formatMillis(d time.Duration) string {
	return fmt.Sprintf("%dms", d.Milliseconds())
}
