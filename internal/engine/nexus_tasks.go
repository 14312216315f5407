package engine

import (
	"context"
	"errors"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	nexuspb "go.temporal.io/api/nexus/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundial-io/sundial/internal/execution"
	"github.com/sundial-io/sundial/internal/matching"
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
// endpoint that targets this queue.
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
		var resp *workflowservice.PollNexusTaskQueueResponse
		err := e.startTask(ctx, key, t, func(w *workflow) error {
			st := w.cur
			if st == nil || st.RunID != t.RunID {
				return execution.ErrStaleTask
			}
			op, err := st.StartNexusTask(e.now(), t.ScheduledEventID, t.Attempt)
			if err != nil {
				return err
			}
			w.dirty = true
			tok := &tasktoken.Token{Kind: tasktoken.Nexus, Namespace: st.Namespace, WorkflowID: st.WorkflowID, RunID: st.RunID,
				ScheduledEventID: op.ScheduledEventID, Attempt: op.Attempt}
			a := op.Attrs
			header := map[string]string{}
			for k, v := range a.NexusHeader {
				header[k] = v
			}
			header["request-timeout"] = execution.NexusTaskTimeout.String()
			resp = &workflowservice.PollNexusTaskQueueResponse{
				TaskToken: tok.Encode(),
				Request: &nexuspb.Request{
					Header:        header,
					ScheduledTime: timestamppb.New(op.ScheduledTime),
					Endpoint:      a.Endpoint,
					Variant: &nexuspb.Request_StartOperation{StartOperation: &nexuspb.StartOperationRequest{
						Service: a.Service, Operation: a.Operation, RequestId: a.RequestId, Payload: a.Input,
					}},
				},
			}
			return nil
		})
		if errors.Is(err, execution.ErrStaleTask) {
			continue
		}
		return resp, err
	}
}

var errNexusTaskNotFound = serviceerror.NewNotFound("Nexus task not found or already completed.")

// nexusOp runs fn on the operation a Nexus task token names.
func (e *Engine) nexusOp(ctx context.Context, ns string, token []byte, fn func(st *execution.State, sched int64, attempt int32) error) error {
	t, err := decodeToken(token, tasktoken.Nexus)
	if err != nil {
		return err
	}
	_ = ns // the token names the caller's namespace; ns is the handler's
	return e.mutate(ctx, t.Namespace, t.WorkflowID, func(w *workflow) error {
		st := w.cur
		if st == nil || st.RunID != t.RunID {
			return errNexusTaskNotFound
		}
		if err := fn(st, t.ScheduledEventID, t.Attempt); err != nil {
			if errors.Is(err, execution.ErrStaleTask) {
				return errNexusTaskNotFound
			}
			return err
		}
		w.dirty = true
		return nil
	})
}

// CompleteNexusTask takes a handler's answer to a start request.
func (e *Engine) CompleteNexusTask(ctx context.Context, r *workflowservice.RespondNexusTaskCompletedRequest) error {
	start := r.Response.GetStartOperation()
	if start == nil {
		return serviceerror.NewInvalidArgument("Response.StartOperation is not set: Sundial sends only start-operation requests.")
	}
	return e.nexusOp(ctx, r.Namespace, r.TaskToken, func(st *execution.State, sched int64, attempt int32) error {
		now := e.now()
		switch {
		case start.GetSyncSuccess() != nil:
			return st.CompleteNexusOperation(now, sched, attempt, start.GetSyncSuccess().Payload)
		case start.GetAsyncSuccess() != nil:
			return st.FailNexusOperation(now, sched, attempt, &failurepb.Failure{
				Message: "the handler started an asynchronous Nexus operation: Sundial does not support asynchronous Nexus operations yet",
				FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{
					Type: "NexusAsyncOperationNotSupported", NonRetryable: true,
				}},
			})
		case start.GetFailure() != nil:
			return st.FailNexusOperation(now, sched, attempt, start.GetFailure())
		case start.GetOperationError() != nil:
			return st.FailNexusOperation(now, sched, attempt, operationFailure(start.GetOperationError()))
		}
		return serviceerror.NewInvalidArgument("Response.StartOperation has no result.")
	})
}

// FailNexusTask takes a handler error: retryable ones send the task again
// after a backoff, others fail the operation.
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
	return e.nexusOp(ctx, r.Namespace, r.TaskToken, func(st *execution.State, sched int64, attempt int32) error {
		if handlerErrorRetryable(errType, retry) {
			return st.RetryNexusOperation(e.now(), sched, attempt, cause)
		}
		return st.FailNexusOperation(e.now(), sched, attempt, cause)
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
			if err := st.NexusEndpointGone(e.now(), t.ScheduledEventID, t.Attempt); err != nil {
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
