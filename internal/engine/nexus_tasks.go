package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	nexuspb "go.temporal.io/api/nexus/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundial-io/sundial/internal/execution"
	"github.com/sundial-io/sundial/internal/matching"
	"github.com/sundial-io/sundial/internal/nexusexec"
	"github.com/sundial-io/sundial/internal/tasktoken"
)

// nexusEndpointsOf looks up the endpoints a workflow task's commands name.
func (e *Engine) nexusEndpointsOf(r *workflowservice.RespondWorkflowTaskCompletedRequest) map[string]string {
	var names []string
	for _, c := range r.Commands {
		if a := c.GetScheduleNexusOperationCommandAttributes(); a != nil {
			names = append(names, a.Endpoint)
		}
	}
	if len(names) == 0 {
		return nil
	}
	return e.NexusEndpointIDs(names)
}

// PollNexusTask long-polls a Nexus task queue: the handler worker gets a
// start-operation request for an operation a workflow scheduled on an
// endpoint that targets this queue (with the completion callback of an
// asynchronous start: nexus_callbacks.go), or a cancel-operation request
// for one that started asynchronously.
func (e *Engine) PollNexusTask(ctx context.Context, r *workflowservice.PollNexusTaskQueueRequest) (*workflowservice.PollNexusTaskQueueResponse, error) {
	key := matching.Key{Namespace: r.Namespace, Name: r.TaskQueue.GetName(), Kind: matching.Nexus}
	pctx, cancel := context.WithDeadline(ctx, pollDeadline(ctx))
	defer cancel()
	for {
		t, ok := e.match.PollAs(pctx, key, matching.Poller{Identity: r.Identity})
		if !ok {
			return &workflowservice.PollNexusTaskQueueResponse{}, nil
		}
		if ctx.Err() != nil {
			e.match.Requeue(key, t)
			return nil, ctx.Err()
		}
		if t.Standalone && !e.remoteTask(t) { // a standalone operation's task (standalone_nexus_tasks.go)
			resp, err := e.startStandaloneNexusTask(t)
			if errors.Is(err, nexusexec.ErrStale) {
				continue
			}
			if err != nil {
				e.match.Requeue(key, t)
			}
			return resp, err
		}
		var resp *workflowservice.PollNexusTaskQueueResponse
		var err error
		if e.remoteTask(t) { // the caller workflow is on another node (remote_tasks.go)
			resp, err = e.startRemoteNexus(ctx, key, t, r.Identity)
		} else {
			resp, err = e.startNexus(ctx, key, t)
		}
		if errors.Is(err, execution.ErrStaleTask) {
			continue
		}
		return resp, err
	}
}

// startNexus starts a Nexus task taken from key on its caller's run.
func (e *Engine) startNexus(ctx context.Context, key matching.Key, t matching.Task) (*workflowservice.PollNexusTaskQueueResponse, error) {
	var resp *workflowservice.PollNexusTaskQueueResponse
	err := e.startTask(ctx, key, t, func(w *workflow) error {
		st := w.cur
		if st == nil || st.RunID != t.RunID {
			return execution.ErrStaleTask
		}
		var err error
		if t.NexusCancel {
			resp, err = e.startNexusCancelTask(st, t)
		} else {
			resp, err = e.startNexusStartTask(st, t)
		}
		if err != nil {
			return err
		}
		w.dirty = true
		return nil
	})
	return resp, err
}

// nexusRequestHeader is the Nexus header sent to the handler: the
// scheduled command's header plus the time the handler has to answer.
func nexusRequestHeader(a *historypb.NexusOperationScheduledEventAttributes) map[string]string {
	header := map[string]string{}
	for k, v := range a.NexusHeader {
		header[k] = v
	}
	header["request-timeout"] = execution.NexusTaskTimeout.String()
	return header
}

func (e *Engine) startNexusStartTask(st *execution.State, t matching.Task) (*workflowservice.PollNexusTaskQueueResponse, error) {
	op, err := st.StartNexusTask(e.runNow(st), t.ScheduledEventID, t.Attempt)
	if err != nil {
		return nil, err
	}
	tok := &tasktoken.Token{Kind: tasktoken.Nexus, Namespace: st.Namespace, WorkflowID: st.WorkflowID, RunID: st.RunID,
		ScheduledEventID: op.ScheduledEventID, Attempt: op.Attempt}
	a := op.Attrs
	start := &nexuspb.StartOperationRequest{
		Service: a.Service, Operation: a.Operation, RequestId: a.RequestId, Payload: a.Input,
	}
	addNexusCallback(start, st, op)
	return &workflowservice.PollNexusTaskQueueResponse{
		TaskToken: tok.Encode(),
		Request: &nexuspb.Request{
			Header:        nexusRequestHeader(a),
			ScheduledTime: timestamppb.New(op.ScheduledTime),
			Endpoint:      a.Endpoint,
			Variant:       &nexuspb.Request_StartOperation{StartOperation: start},
		},
	}, nil
}

func (e *Engine) startNexusCancelTask(st *execution.State, t matching.Task) (*workflowservice.PollNexusTaskQueueResponse, error) {
	op, err := st.StartNexusCancelTask(e.runNow(st), t.ScheduledEventID, t.Attempt)
	if err != nil {
		return nil, err
	}
	tok := &tasktoken.Token{Kind: tasktoken.NexusCancel, Namespace: st.Namespace, WorkflowID: st.WorkflowID, RunID: st.RunID,
		ScheduledEventID: op.ScheduledEventID, Attempt: op.CancelAttempt}
	a := op.Attrs
	return &workflowservice.PollNexusTaskQueueResponse{
		TaskToken: tok.Encode(),
		Request: &nexuspb.Request{
			Header:        nexusRequestHeader(a),
			ScheduledTime: timestamppb.New(op.ScheduledTime),
			Endpoint:      a.Endpoint,
			Variant: &nexuspb.Request_CancelOperation{CancelOperation: &nexuspb.CancelOperationRequest{
				Service: a.Service, Operation: a.Operation, OperationToken: op.OperationToken, OperationId: op.OperationToken,
			}},
		},
	}, nil
}

// maxOperationTokenLength is Temporal's limit on an asynchronous
// operation's token (component.nexusoperations.limit.operation.token.length).
const maxOperationTokenLength = 4096

var errNexusTaskNotFound = serviceerror.NewNotFound("Nexus task not found or already completed.")

// nexusOp runs fn on the operation a Nexus task token names; kind says
// which task (start or cancel) the token must be for.
func (e *Engine) nexusOp(ctx context.Context, token []byte, fn func(st *execution.State, t *tasktoken.Token) error) error {
	if len(token) == 0 {
		return serviceerror.NewInvalidArgument("TaskToken is not set on request.")
	}
	t, err := tasktoken.Decode(token)
	if err != nil || (t.Kind != tasktoken.Nexus && t.Kind != tasktoken.NexusCancel) {
		return serviceerror.NewInvalidArgument("Error deserializing task token.")
	}
	return e.mutate(ctx, t.Namespace, t.WorkflowID, func(w *workflow) error {
		st := w.cur
		if st == nil || st.RunID != t.RunID {
			return errNexusTaskNotFound
		}
		if err := fn(st, t); err != nil {
			if errors.Is(err, execution.ErrStaleTask) {
				return errNexusTaskNotFound
			}
			return err
		}
		w.dirty = true
		return nil
	})
}

// CompleteNexusTask takes a handler's answer to a start or cancel request.
func (e *Engine) CompleteNexusTask(ctx context.Context, r *workflowservice.RespondNexusTaskCompletedRequest) error {
	if t, ok := standaloneNexusToken(r.TaskToken); ok {
		return e.completeStandaloneNexusTask(t, r)
	}
	return e.nexusOp(ctx, r.TaskToken, func(st *execution.State, t *tasktoken.Token) error {
		now := e.runNow(st)
		sched, attempt := t.ScheduledEventID, t.Attempt
		if t.Kind == tasktoken.NexusCancel {
			if r.Response.GetCancelOperation() == nil {
				return serviceerror.NewInvalidArgument("Response.CancelOperation is not set: the task was a cancel-operation request.")
			}
			return st.NexusCancelDelivered(now, sched, attempt)
		}
		start := r.Response.GetStartOperation()
		if start == nil {
			return serviceerror.NewInvalidArgument("Response.StartOperation is not set: the task was a start-operation request.")
		}
		switch {
		case start.GetSyncSuccess() != nil:
			return st.CompleteNexusOperation(now, sched, attempt, start.GetSyncSuccess().Payload, commonLinks(start.GetSyncSuccess().Links)...)
		case start.GetAsyncSuccess() != nil:
			async := start.GetAsyncSuccess()
			token := async.OperationToken
			if token == "" {
				token = async.OperationId
			}
			if token == "" || len(token) > maxOperationTokenLength {
				return st.FailNexusOperation(now, sched, attempt, &failurepb.Failure{
					Message:     fmt.Sprintf("invalid operation token: length %d (must be 1 to %d bytes)", len(token), maxOperationTokenLength),
					FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{NonRetryable: true}},
				})
			}
			return st.StartNexusOperationAsync(now, sched, attempt, token, commonLinks(async.Links))
		case start.GetFailure() != nil:
			return st.FailNexusOperation(now, sched, attempt, start.GetFailure())
		case start.GetOperationError() != nil:
			return st.FailNexusOperation(now, sched, attempt, operationFailure(start.GetOperationError()))
		}
		return serviceerror.NewInvalidArgument("Response.StartOperation has no result.")
	})
}

// FailNexusTask takes a handler error: retryable ones send the task again
// after a backoff, others fail the operation (or, for a cancel request,
// the cancel request).
func (e *Engine) FailNexusTask(ctx context.Context, r *workflowservice.RespondNexusTaskFailedRequest) error {
	if r.Error == nil && r.Failure == nil {
		return serviceerror.NewInvalidArgument("Error is not set on request.")
	}
	errType, retry := r.Error.GetErrorType(), r.Error.GetRetryBehavior()
	cause := r.Failure
	if info := cause.GetNexusHandlerFailureInfo(); info != nil {
		errType, retry = info.Type, info.RetryBehavior
	}
	if cause == nil {
		cause = convertNexusFailure(r.Error.GetFailure())
		cause.FailureInfo = &failurepb.Failure_NexusHandlerFailureInfo{NexusHandlerFailureInfo: &failurepb.NexusHandlerFailureInfo{
			Type: errType, RetryBehavior: retry,
		}}
	}
	if t, ok := standaloneNexusToken(r.TaskToken); ok {
		return e.failStandaloneNexusTask(t, cause, handlerErrorRetryable(errType, retry))
	}
	return e.nexusOp(ctx, r.TaskToken, func(st *execution.State, t *tasktoken.Token) error {
		sched, attempt := t.ScheduledEventID, t.Attempt
		retryable := handlerErrorRetryable(errType, retry)
		if t.Kind == tasktoken.NexusCancel {
			return st.NexusCancelFailed(e.runNow(st), sched, attempt, cause, retryable)
		}
		if retryable {
			return st.RetryNexusOperation(e.runNow(st), sched, attempt, cause)
		}
		return st.FailNexusOperation(e.runNow(st), sched, attempt, cause)
	})
}

// handlerErrorRetryable follows the Nexus spec: the handler's explicit
// retry behavior wins; otherwise request errors (bad request, auth, not
// found, not implemented) are final and the rest are retried.
func handlerErrorRetryable(typ string, b enumspb.NexusHandlerErrorRetryBehavior) bool {
	switch b {
	case enumspb.NEXUS_HANDLER_ERROR_RETRY_BEHAVIOR_RETRYABLE:
		return true
	case enumspb.NEXUS_HANDLER_ERROR_RETRY_BEHAVIOR_NON_RETRYABLE:
		return false
	}
	switch typ {
	case "BAD_REQUEST", "UNAUTHENTICATED", "UNAUTHORIZED", "NOT_FOUND", "NOT_IMPLEMENTED":
		return false
	}
	return true
}

// operationFailure turns an operation error into the failure recorded as
// the cause of NexusOperationFailed (an ApplicationFailure, as Temporal).
func operationFailure(oe *nexuspb.UnsuccessfulOperationError) *failurepb.Failure {
	f := convertNexusFailure(oe.GetFailure())
	if f.FailureInfo == nil {
		f.FailureInfo = &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{NonRetryable: true}}
	}
	return f
}

// convertNexusFailure reads a Nexus failure: the SDKs put a whole Temporal
// failure in its details (as JSON) when they have one; otherwise only the
// message is kept.
func convertNexusFailure(nf *nexuspb.Failure) *failurepb.Failure {
	if nf == nil {
		return &failurepb.Failure{Message: "the Nexus handler gave no failure"}
	}
	if strings.HasPrefix(nf.Metadata["type"], "temporal.api.failure.v1.Failure") && len(nf.Details) > 0 {
		f := &failurepb.Failure{}
		if err := protojson.Unmarshal(nf.Details, f); err == nil {
			if f.Message == "" {
				f.Message = nf.Message
			}
			return f
		}
	}
	return &failurepb.Failure{Message: nf.Message, StackTrace: nf.StackTrace}
}

// nexusEndpointGone fails, in the background, an operation whose endpoint
// was deleted before its task could be dispatched.
func (e *Engine) nexusEndpointGone(ns, wfID, runID string, t execution.Task) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		err := e.mutate(context.Background(), ns, wfID, func(w *workflow) error {
			st := w.cur
			if st == nil || st.RunID != runID {
				return nil
			}
			var err error
			if t.Kind == execution.NexusCancelTaskKind {
				err = st.NexusCancelEndpointGone(e.runNow(st), t.ScheduledEventID, t.Attempt, &failurepb.Failure{
					Message: "endpoint not registered",
					FailureInfo: &failurepb.Failure_NexusHandlerFailureInfo{NexusHandlerFailureInfo: &failurepb.NexusHandlerFailureInfo{
						Type: "NOT_FOUND", RetryBehavior: enumspb.NEXUS_HANDLER_ERROR_RETRY_BEHAVIOR_NON_RETRYABLE,
					}},
				})
			} else {
				err = st.NexusEndpointGone(e.runNow(st), t.ScheduledEventID, t.Attempt)
			}
			if err != nil {
				return nil // already closed or retried
			}
			w.dirty = true
			return nil
		})
		if err != nil {
			e.log.Warn("failing a Nexus operation whose endpoint is gone", "workflow", wfID, "run", runID, "error", err)
		}
	}()
}
