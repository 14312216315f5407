package schedule

import (
	"context"
	"errors"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
)

// follow waits for a workflow the schedule started to close (through
// retries and continue-as-new, as Temporal's scheduler does) and tells the
// schedule. It long-polls the engine for the close event, so it costs a
// goroutine and no work while the workflow runs.
func (s *Scheduler) follow(sc *sched, ex *commonpb.WorkflowExecution) {
	runID := ex.GetRunId()
	for sc.ctx.Err() == nil {
		ctx, cancel := context.WithTimeout(sc.ctx, 70*time.Second)
		resp, err := s.history(ctx, &workflowservice.GetWorkflowExecutionHistoryRequest{
			Namespace:              sc.key.ns,
			Execution:              &commonpb.WorkflowExecution{WorkflowId: ex.GetWorkflowId(), RunId: runID},
			WaitNewEvent:           true,
			HistoryEventFilterType: enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
		})
		cancel()
		if sc.ctx.Err() != nil {
			return
		}
		var notFound *serviceerror.NotFound
		switch {
		case errors.As(err, &notFound):
			// Deleted (or never durable): nothing runs any more.
			sc.report(ex.GetWorkflowId(), enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED, nil, nil)
			return
		case err != nil:
			select {
			case <-sc.ctx.Done():
				return
			case <-time.After(retryDelay):
			}
			continue
		}
		evs := resp.GetHistory().GetEvents()
		if len(evs) == 0 {
			continue // the poll timed out
		}
		status, result, failure, next := closeOf(evs[len(evs)-1])
		if next != "" {
			runID = next
			continue
		}
		sc.report(ex.GetWorkflowId(), status, result, failure)
		return
	}
}

// report hands a close to the schedule under its lock.
func (sc *sched) report(workflowID string, status enumspb.WorkflowExecutionStatus, result *commonpb.Payloads, failure *failurepb.Failure) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.deleted || sc.s.ctx.Err() != nil {
		return
	}
	sc.closed(workflowID, status, result, failure)
}

// closeOf reads a close event: the status, result or failure, and the run
// that continues the workflow (retry, continue-as-new, cron), if any.
func closeOf(ev *historypb.HistoryEvent) (enumspb.WorkflowExecutionStatus, *commonpb.Payloads, *failurepb.Failure, string) {
	switch ev.EventType {
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
		a := ev.GetWorkflowExecutionCompletedEventAttributes()
		return enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, a.GetResult(), nil, a.GetNewExecutionRunId()
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
		a := ev.GetWorkflowExecutionFailedEventAttributes()
		return enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, nil, a.GetFailure(), a.GetNewExecutionRunId()
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
		a := ev.GetWorkflowExecutionTimedOutEventAttributes()
		return enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT, nil, nil, a.GetNewExecutionRunId()
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
		return enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED, nil, nil, ""
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
		return enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, nil, nil, ""
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
		return enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW, nil, nil, ev.GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId()
	}
	return enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED, nil, nil, ""
}
