package engine

import (
	"context"
	"encoding/binary"

	activitypb "go.temporal.io/api/activity/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundial-io/sundial/internal/activityexec"
)

// readActivity runs fn on an execution under the lock and returns once
// the state fn saw is durable.
func (e *Engine) readActivity(ns, id, runID string, fn func(x *activityexec.Execution)) error {
	return e.acts.read(e, ns, id, runID, fn)
}

// DescribeActivityExecution reports an execution; with a long-poll token
// it first waits until the execution changed from the state the token
// names (an empty response if it did not before the poll deadline).
func (e *Engine) DescribeActivityExecution(ctx context.Context, r *workflowservice.DescribeActivityExecutionRequest) (*workflowservice.DescribeActivityExecutionResponse, error) {
	build := func(x *activityexec.Execution) *workflowservice.DescribeActivityExecutionResponse {
		resp := &workflowservice.DescribeActivityExecutionResponse{
			RunId:         x.RunID,
			Info:          x.Info(e.now(), r.IncludeHeartbeatDetails, r.IncludeLastFailure),
			LongPollToken: longPollToken(x.Running(), x.Transitions),
		}
		if r.IncludeInput {
			resp.Input = x.Start.Input
		}
		if r.IncludeOutcome {
			resp.Outcome = x.Outcome()
		}
		return resp
	}
	var resp *workflowservice.DescribeActivityExecutionResponse
	if len(r.LongPollToken) == 0 {
		err := e.readActivity(r.Namespace, r.ActivityId, r.RunId, func(x *activityexec.Execution) { resp = build(x) })
		return resp, err
	}
	if len(r.LongPollToken) != 8 {
		return nil, serviceerror.NewInvalidArgument("invalid long poll token")
	}
	seen := int64(binary.BigEndian.Uint64(r.LongPollToken))
	ok, err := e.acts.wait(ctx, e, r.Namespace, r.ActivityId, r.RunId, func(x *activityexec.Execution) bool {
		if x.Transitions == seen && x.Running() {
			return false
		}
		resp = build(x)
		return true
	})
	if err != nil {
		return nil, err
	}
	if !ok {
		return &workflowservice.DescribeActivityExecutionResponse{}, nil
	}
	return resp, nil
}

// PollActivityExecution waits for an execution's outcome; before the poll
// deadline it answers without one, and the caller polls again.
func (e *Engine) PollActivityExecution(ctx context.Context, r *workflowservice.PollActivityExecutionRequest) (*workflowservice.PollActivityExecutionResponse, error) {
	resp := &workflowservice.PollActivityExecutionResponse{}
	_, err := e.acts.wait(ctx, e, r.Namespace, r.ActivityId, r.RunId, func(x *activityexec.Execution) bool {
		resp.RunId = x.RunID
		if x.Running() {
			return false
		}
		resp.Outcome = x.Outcome()
		return true
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// RequestCancelActivityExecution asks a running execution to cancel.
func (e *Engine) RequestCancelActivityExecution(ctx context.Context, r *workflowservice.RequestCancelActivityExecutionRequest) error {
	return e.mutateActivity(r.Namespace, r.ActivityId, r.RunId, func(x *activityexec.Execution) (bool, error) {
		before := x.Transitions
		err := x.RequestCancel(e.now(), r.RequestId, r.Identity, r.Reason)
		return err == nil && x.Transitions != before, err
	})
}

// TerminateActivityExecution closes a running execution as terminated.
func (e *Engine) TerminateActivityExecution(ctx context.Context, r *workflowservice.TerminateActivityExecutionRequest) error {
	return e.mutateActivity(r.Namespace, r.ActivityId, r.RunId, func(x *activityexec.Execution) (bool, error) {
		before := x.Transitions
		err := x.Terminate(e.now(), r.RequestId, r.Reason, r.Identity)
		return err == nil && x.Transitions != before, err
	})
}

// DeleteActivityExecution removes an execution (terminating it first if it
// runs, which the deletion makes moot) in one durable write.
func (e *Engine) DeleteActivityExecution(ctx context.Context, ns, id, runID string) error {
	return e.acts.remove(e, ns, id, runID, func(x *activityexec.Execution) {
		_ = x.Terminate(e.now(), "", "Delete activity execution", "")
	})
}

// matchingActivities returns the list entries of the namespace's
// executions the filter matches, newest first, and the sequence number
// every one is durable at.
func (e *Engine) matchingActivities(ctx context.Context, ns string, f *activityexec.Filter) ([]*activitypb.ActivityExecutionListInfo, uint64, error) {
	return matchingStandalone(ctx, e, &e.acts, ns, f.Match, (*activityexec.Execution).ListInfo)
}

// parseActivityQuery parses a list or count query with the namespace's
// custom search attributes.
func (e *Engine) parseActivityQuery(ctx context.Context, ns, query string) (*activityexec.Filter, error) {
	custom, err := e.SearchAttributes(ctx, ns)
	if err != nil {
		return nil, err
	}
	return activityexec.ParseQuery(query, custom)
}

// ListActivityExecutions lists a namespace's executions the query matches,
// newest first, a page at a time.
func (e *Engine) ListActivityExecutions(ctx context.Context, r *workflowservice.ListActivityExecutionsRequest) (*workflowservice.ListActivityExecutionsResponse, error) {
	f, err := e.parseActivityQuery(ctx, r.Namespace, r.Query)
	if err != nil {
		return nil, err
	}
	list, seq, err := e.matchingActivities(ctx, r.Namespace, f)
	if err != nil {
		return nil, err
	}
	page, next, err := listPage(list, r.NextPageToken, r.PageSize, "NextPageToken")
	if err != nil {
		return nil, err
	}
	if err := e.settle(nil, seq); err != nil {
		return nil, err
	}
	return &workflowservice.ListActivityExecutionsResponse{Executions: page, NextPageToken: next}, nil
}

// CountActivityExecutions counts a namespace's executions the query
// matches, grouped by status when the query says GROUP BY ExecutionStatus.
func (e *Engine) CountActivityExecutions(ctx context.Context, r *workflowservice.CountActivityExecutionsRequest) (*workflowservice.CountActivityExecutionsResponse, error) {
	f, err := e.parseActivityQuery(ctx, r.Namespace, r.Query)
	if err != nil {
		return nil, err
	}
	list, seq, err := e.matchingActivities(ctx, r.Namespace, f)
	if err != nil {
		return nil, err
	}
	if err := e.settle(nil, seq); err != nil {
		return nil, err
	}
	resp := &workflowservice.CountActivityExecutionsResponse{Count: int64(len(list))}
	if f.GroupByStatus() {
		counts := map[enumspb.ActivityExecutionStatus]int64{}
		for _, info := range list {
			counts[info.Status]++
		}
		values, n := activityexec.StatusGroups(counts)
		for i := range values {
			resp.Groups = append(resp.Groups, &workflowservice.CountActivityExecutionsResponse_AggregationGroup{GroupValues: values[i], Count: n[i]})
		}
	}
	return resp, nil
}

// purgeExpiredActivities deletes the executions past their namespace's
// retention (standaloneSet.purgeExpired).
func (e *Engine) purgeExpiredActivities() (int, error) { return e.acts.purgeExpired(e) }
