package engine

import (
	"context"
	"encoding/binary"

	enumspb "go.temporal.io/api/enums/v1"
	nexuspb "go.temporal.io/api/nexus/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundial-io/sundial/internal/nexusexec"
)

// The client-facing calls of standalone Nexus operations besides Start:
// describe (with long poll), poll for a stage, list and count by query,
// cancel, terminate, delete, and the retention pass.

// DescribeNexusOperationExecution reports an operation; with a long-poll
// token it first waits until the operation changed from the state the
// token names (an empty response if it did not before the poll deadline).
func (e *Engine) DescribeNexusOperationExecution(ctx context.Context, r *workflowservice.DescribeNexusOperationExecutionRequest) (*workflowservice.DescribeNexusOperationExecutionResponse, error) {
	build := func(o *nexusexec.Operation) *workflowservice.DescribeNexusOperationExecutionResponse {
		resp := &workflowservice.DescribeNexusOperationExecutionResponse{
			RunId:         o.RunID,
			Info:          o.Info(e.now()),
			LongPollToken: longPollToken(o.Running(), o.Transitions),
		}
		if r.IncludeInput {
			resp.Input = o.Start.Input
		}
		if r.IncludeOutcome {
			o.DescribeOutcome(resp)
		}
		return resp
	}
	var resp *workflowservice.DescribeNexusOperationExecutionResponse
	seen := int64(-1)
	if len(r.LongPollToken) > 0 {
		if len(r.LongPollToken) != 8 {
			return nil, serviceerror.NewInvalidArgument("invalid long poll token")
		}
		seen = int64(binary.BigEndian.Uint64(r.LongPollToken))
	}
	ok, err := e.nexusOps.wait(ctx, e, r.Namespace, r.OperationId, r.RunId, func(o *nexusexec.Operation) bool {
		if o.Transitions == seen && o.Running() {
			return false
		}
		resp = build(o)
		return true
	})
	if err != nil {
		return nil, err
	}
	if !ok {
		return &workflowservice.DescribeNexusOperationExecutionResponse{}, nil
	}
	return resp, nil
}

// PollNexusOperationExecution waits until an operation reaches a stage
// (STARTED: started or closed; CLOSED); before the poll deadline it
// answers empty, and the caller polls again.
func (e *Engine) PollNexusOperationExecution(ctx context.Context, r *workflowservice.PollNexusOperationExecutionRequest) (*workflowservice.PollNexusOperationExecutionResponse, error) {
	var resp *workflowservice.PollNexusOperationExecutionResponse
	ok, err := e.nexusOps.wait(ctx, e, r.Namespace, r.OperationId, r.RunId, func(o *nexusexec.Operation) bool {
		if !o.Reached(r.WaitStage) {
			return false
		}
		resp = o.PollResponse()
		return true
	})
	if err != nil {
		return nil, err
	}
	if !ok {
		return &workflowservice.PollNexusOperationExecutionResponse{}, nil
	}
	return resp, nil
}

// RequestCancelNexusOperationExecution asks a running operation to
// cancel.
func (e *Engine) RequestCancelNexusOperationExecution(ctx context.Context, r *workflowservice.RequestCancelNexusOperationExecutionRequest) error {
	return e.mutateNexusOp(r.Namespace, r.OperationId, r.RunId, func(o *nexusexec.Operation) (bool, error) {
		return nexusOpChanged(o, func() error { return o.RequestCancel(e.now(), r.RequestId, r.Identity, r.Reason) })
	})
}

// TerminateNexusOperationExecution closes a running operation as
// terminated.
func (e *Engine) TerminateNexusOperationExecution(ctx context.Context, r *workflowservice.TerminateNexusOperationExecutionRequest) error {
	return e.mutateNexusOp(r.Namespace, r.OperationId, r.RunId, func(o *nexusexec.Operation) (bool, error) {
		return nexusOpChanged(o, func() error { return o.Terminate(e.now(), r.RequestId, r.Reason, r.Identity) })
	})
}

// DeleteNexusOperationExecution removes an operation (terminating it
// first if it runs, which the deletion makes moot) in one durable write.
func (e *Engine) DeleteNexusOperationExecution(ctx context.Context, ns, id, runID string) error {
	return e.nexusOps.remove(e, ns, id, runID, func(o *nexusexec.Operation) {
		_ = o.Terminate(e.now(), "", "Delete nexus operation execution", "")
	})
}

// matchingNexusOps returns the list entries of the namespace's operations
// the filter matches, newest first, and the sequence number every one is
// durable at.
func (e *Engine) matchingNexusOps(ctx context.Context, ns string, f *nexusexec.Filter) ([]*nexuspb.NexusOperationExecutionListInfo, uint64, error) {
	return matchingStandalone(ctx, e, &e.nexusOps, ns, f.Match, (*nexusexec.Operation).ListInfo)
}

func (e *Engine) parseNexusOpQuery(ctx context.Context, ns, query string) (*nexusexec.Filter, error) {
	custom, err := e.SearchAttributes(ctx, ns)
	if err != nil {
		return nil, err
	}
	return nexusexec.ParseQuery(query, custom)
}

// ListNexusOperationExecutions lists a namespace's operations the query
// matches, newest first, a page at a time.
func (e *Engine) ListNexusOperationExecutions(ctx context.Context, r *workflowservice.ListNexusOperationExecutionsRequest) (*workflowservice.ListNexusOperationExecutionsResponse, error) {
	f, err := e.parseNexusOpQuery(ctx, r.Namespace, r.Query)
	if err != nil {
		return nil, err
	}
	list, seq, err := e.matchingNexusOps(ctx, r.Namespace, f)
	if err != nil {
		return nil, err
	}
	page, next, err := listPage(list, r.NextPageToken, r.PageSize, "next_page_token")
	if err != nil {
		return nil, err
	}
	if err := e.settle(nil, seq); err != nil {
		return nil, err
	}
	return &workflowservice.ListNexusOperationExecutionsResponse{Operations: page, NextPageToken: next}, nil
}

// CountNexusOperationExecutions counts a namespace's operations the query
// matches, grouped by status when the query says GROUP BY
// ExecutionStatus.
func (e *Engine) CountNexusOperationExecutions(ctx context.Context, r *workflowservice.CountNexusOperationExecutionsRequest) (*workflowservice.CountNexusOperationExecutionsResponse, error) {
	f, err := e.parseNexusOpQuery(ctx, r.Namespace, r.Query)
	if err != nil {
		return nil, err
	}
	list, seq, err := e.matchingNexusOps(ctx, r.Namespace, f)
	if err != nil {
		return nil, err
	}
	if err := e.settle(nil, seq); err != nil {
		return nil, err
	}
	resp := &workflowservice.CountNexusOperationExecutionsResponse{Count: int64(len(list))}
	if f.GroupByStatus() {
		counts := map[enumspb.NexusOperationExecutionStatus]int64{}
		for _, info := range list {
			counts[info.Status]++
		}
		values, n := nexusexec.StatusGroups(counts)
		for i := range values {
			resp.Groups = append(resp.Groups, &workflowservice.CountNexusOperationExecutionsResponse_AggregationGroup{GroupValues: values[i], Count: n[i]})
		}
	}
	return resp, nil
}

// purgeExpiredNexusOperations deletes the operations past their
// namespace's retention (standaloneSet.purgeExpired).
func (e *Engine) purgeExpiredNexusOperations() (int, error) { return e.nexusOps.purgeExpired(e) }
