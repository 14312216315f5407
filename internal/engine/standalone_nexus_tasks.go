package engine

import (
	"context"
	"errors"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	failurepb "go.temporal.io/api/failure/v1"
	nexuspb "go.temporal.io/api/nexus/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/temporalnexus"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundial-io/sundial/internal/execution"
	"github.com/sundial-io/sundial/internal/matching"
	"github.com/sundial-io/sundial/internal/nexusexec"
	"github.com/sundial-io/sundial/internal/tasktoken"
)

// The handler side of standalone Nexus operations: the start and cancel
// tasks a handler worker polls from the endpoint target's queue
// (PollNexusTaskQueue), its answers (RespondNexusTaskCompleted/Failed,
// reached through hooks in nexus_tasks.go by the task token's kind), and
// the completion callback of an asynchronous operation, delivered in
// process like a workflow caller's (nexus_callbacks.go) but to the
// operation: the callback token names the operation id, run id and the
// handler request id.

// startStandaloneNexusTask gives the task a poller took to it;
// nexusexec.ErrStale says the task is no longer current (the poller then
// waits for another). On a cluster the poller may be another node's
// (handleStartTask). Holding a task is not stored, so nothing is
// written: the state that made the task is durable already.
func (e *Engine) startStandaloneNexusTask(t matching.Task) (*workflowservice.PollNexusTaskQueueResponse, error) {
	resp, err := e.startStandaloneNexusTaskLocal(t)
	if err == nil || errors.Is(err, nexusexec.ErrStale) {
		// On a cluster the operation's offer of the task ends here.
		e.taskDone(matching.Key{Namespace: t.Namespace, Kind: matching.Nexus}, t)
	}
	return resp, err
}

func (e *Engine) startStandaloneNexusTaskLocal(t matching.Task) (*workflowservice.PollNexusTaskQueueResponse, error) {
	m := &e.nexusOps
	m.mu.Lock()
	if _, err := m.check(e, t.Namespace, t.WorkflowID); err != nil {
		m.mu.Unlock()
		return nil, err // not served here (now): the task goes back to its queue
	}
	r := m.find(t.Namespace, t.WorkflowID, t.RunID)
	if r == nil {
		m.mu.Unlock()
		return nil, nexusexec.ErrStale
	}
	o := r.x
	now := e.now()
	var err error
	if t.NexusCancel {
		err = o.StartCancelTask(now, t.Attempt)
	} else {
		err = o.StartTask(now, t.Attempt)
	}
	if err != nil {
		m.mu.Unlock()
		return nil, err
	}
	m.arm(e, r)
	seq := r.seq
	kind := tasktoken.StandaloneNexus
	if t.NexusCancel {
		kind = tasktoken.StandaloneNexusCancel
	}
	tok := &tasktoken.Token{Kind: kind, Namespace: o.Namespace, WorkflowID: o.OperationID, RunID: o.RunID, Attempt: t.Attempt}
	header := o.RequestHeader(now)
	header["request-timeout"] = nexusexec.TaskTimeout.String()
	req := &nexuspb.Request{
		Header:        header,
		ScheduledTime: timestamppb.New(o.ScheduleTime),
		Endpoint:      o.Start.Endpoint,
	}
	if t.NexusCancel {
		req.Variant = &nexuspb.Request_CancelOperation{CancelOperation: &nexuspb.CancelOperationRequest{
			Service: o.Start.Service, Operation: o.Start.Operation, OperationToken: o.OperationToken, OperationId: o.OperationToken,
		}}
	} else {
		start := o.StartRequest()
		start.Callback = NexusSystemCallbackURL
		start.CallbackHeader = map[string]string{nexusCallbackTokenHeader: nexusCallbackToken{
			Namespace: o.Namespace, Operation: o.OperationID, RunID: o.RunID, RequestID: o.RequestID,
		}.encode()}
		// With no caller workflow, the caller link is the operation
		// itself, as Temporal sends it.
		self := &commonpb.Link{Variant: &commonpb.Link_NexusOperation_{NexusOperation: &commonpb.Link_NexusOperation{
			Namespace: o.Namespace, OperationId: o.OperationID, RunId: o.RunID,
		}}}
		if nl, ok := temporalnexus.CommonLinkToNexusLink(self); ok {
			start.Links = []*nexuspb.Link{nl}
		}
		req.Variant = &nexuspb.Request_StartOperation{StartOperation: start}
	}
	m.mu.Unlock()
	if err := e.settle(nil, seq); err != nil {
		return nil, err
	}
	return &workflowservice.PollNexusTaskQueueResponse{TaskToken: tok.Encode(), Request: req}, nil
}

// standaloneNexusToken decodes a task token of a standalone operation's
// task (ok false for any other token).
func standaloneNexusToken(token []byte) (*tasktoken.Token, bool) {
	t, err := tasktoken.Decode(token)
	if err != nil || (t.Kind != tasktoken.StandaloneNexus && t.Kind != tasktoken.StandaloneNexusCancel) {
		return nil, false
	}
	return t, true
}

// answerStandaloneNexus applies a handler's answer to the operation the
// token names; a stale or unknown task is NotFound, as for workflow
// operations.
func (e *Engine) answerStandaloneNexus(t *tasktoken.Token, fn func(o *nexusexec.Operation) error) error {
	err := e.mutateNexusOp(t.Namespace, t.WorkflowID, t.RunID, func(o *nexusexec.Operation) (bool, error) {
		return nexusOpChanged(o, func() error { return fn(o) })
	})
	if errors.Is(err, nexusexec.ErrStale) || isNexusOpNotFound(err) {
		return errNexusTaskNotFound
	}
	return err
}

// completeStandaloneNexusTask takes a handler's answer to a start or
// cancel request of a standalone operation.
func (e *Engine) completeStandaloneNexusTask(t *tasktoken.Token, r *workflowservice.RespondNexusTaskCompletedRequest) error {
	now := e.now()
	if t.Kind == tasktoken.StandaloneNexusCancel {
		if r.Response.GetCancelOperation() == nil {
			return serviceerror.NewInvalidArgument("Response.CancelOperation is not set: the task was a cancel-operation request.")
		}
		return e.answerStandaloneNexus(t, func(o *nexusexec.Operation) error { return o.CancelDelivered(now, t.Attempt) })
	}
	start := r.Response.GetStartOperation()
	if start == nil {
		return serviceerror.NewInvalidArgument("Response.StartOperation is not set: the task was a start-operation request.")
	}
	return e.answerStandaloneNexus(t, func(o *nexusexec.Operation) error {
		switch {
		case start.GetSyncSuccess() != nil:
			return o.CompleteSync(now, t.Attempt, start.GetSyncSuccess().Payload, commonLinks(start.GetSyncSuccess().Links))
		case start.GetAsyncSuccess() != nil:
			async := start.GetAsyncSuccess()
			token := async.OperationToken
			if token == "" {
				token = async.OperationId
			}
			if token == "" || len(token) > maxOperationTokenLength {
				return o.FailAttempt(now, t.Attempt, &failurepb.Failure{
					Message:     fmt.Sprintf("invalid operation token: length %d (must be 1 to %d bytes)", len(token), maxOperationTokenLength),
					FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{NonRetryable: true}},
				}, false)
			}
			return o.StartAsync(now, t.Attempt, token, commonLinks(async.Links))
		case start.GetFailure() != nil:
			f := start.GetFailure()
			return o.FailAttempt(now, t.Attempt, f, f.GetCanceledFailureInfo() != nil)
		case start.GetOperationError() != nil:
			oe := start.GetOperationError()
			return o.FailAttempt(now, t.Attempt, operationFailure(oe), oe.OperationState == "canceled")
		}
		return serviceerror.NewInvalidArgument("Response.StartOperation has no result.")
	})
}

// failStandaloneNexusTask takes a handler error for a standalone
// operation's task: retryable ones send the task again after a backoff;
// others fail the operation (for a cancel request: the cancel request).
func (e *Engine) failStandaloneNexusTask(t *tasktoken.Token, cause *failurepb.Failure, retryable bool) error {
	now := e.now()
	return e.answerStandaloneNexus(t, func(o *nexusexec.Operation) error {
		switch {
		case t.Kind == tasktoken.StandaloneNexusCancel:
			return o.CancelFailed(now, t.Attempt, cause, retryable)
		case retryable:
			return o.RetryAttempt(now, t.Attempt, cause)
		}
		return o.FailAttempt(now, t.Attempt, cause, false)
	})
}

// completeStandaloneNexus delivers a handler workflow's outcome to the
// standalone operation its callback token names; one already closed, or
// a later run of the operation id, is left unchanged. Only storage
// trouble is an error (retried by the action loop).
func (e *Engine) completeStandaloneNexus(tok nexusCallbackToken, out execution.NexusOutcome) error {
	err := e.mutateNexusOp(tok.Namespace, tok.Operation, tok.RunID, func(o *nexusexec.Operation) (bool, error) {
		err := o.Complete(e.now(), tok.RequestID, nexusexec.Outcome{
			OperationToken: out.OperationToken, StartLinks: out.StartLinks,
			Result: out.Result, Failure: out.Failure, Canceled: out.Canceled,
		})
		if err != nil {
			return false, nil
		}
		return true, nil
	})
	if !retryable(err) {
		return nil
	}
	return err
}

// checkStandaloneNexusHandler makes sure a started operation recovered at
// startup hears of a handler workflow that already closed: the delivery
// of its callback may have been cut short by a restart (closed runs are
// not recovered). Only workflow-run operation tokens name a workflow;
// other operations are left to their callback or timeout.
func (e *Engine) checkStandaloneNexusHandler(o *nexusexec.Operation) {
	wt, ok := decodeWorkflowRunToken(o.OperationToken)
	if !ok {
		return
	}
	ctx := context.Background()
	var handler *execution.State
	err := e.mutate(ctx, wt.Namespace, wt.WorkflowID, func(w *workflow) error {
		if st := w.cur; st != nil && !st.Running() && st.FinalClose() && !st.TerminatedByReset() {
			handler = st
		}
		return nil
	})
	if err != nil || handler == nil {
		return
	}
	for _, cb := range handler.CompletionCallbacks() {
		n := cb.GetNexus()
		if n == nil || n.Url != NexusSystemCallbackURL {
			continue
		}
		ct, ok := decodeCallbackToken(headerValue(n.Header, nexusCallbackTokenHeader))
		if ok && ct.Operation == o.OperationID && ct.RunID == o.RunID && ct.Namespace == o.Namespace {
			if err := e.deliverNexusCallback(ctx, handler, n, nexusOutcomeOf(handler)); err != nil {
				e.log.Warn("delivering a standalone Nexus operation's completion", "operation", o.OperationID, "error", err)
			}
			return
		}
	}
}
