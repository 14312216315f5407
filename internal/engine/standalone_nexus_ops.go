package engine

import (
	"context"
	"encoding/binary"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	nexuspb "go.temporal.io/api/nexus/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundial-io/sundial/internal/nexusexec"
	"github.com/sundial-io/sundial/internal/store"
)

// The client-facing calls of standalone Nexus operations besides Start:
// describe (with long poll), poll for a stage, list and count by query,
// cancel, terminate, delete, and the retention pass.

// waitNexusOp long-polls: it calls done under the lock until it returns
// true, and returns false when ctx's poll deadline passes first.
func (e *Engine) waitNexusOp(ctx context.Context, ns, id, runID string, done func(o *nexusexec.Operation) bool) (bool, error) {
	deadline := time.NewTimer(time.Until(pollDeadline(ctx)))
	defer deadline.Stop()
	m := &e.nexusOps
	for {
		m.mu.Lock()
		r := e.findNexusOp(ns, id, runID)
		if r == nil {
			return false, e.nexusOpNotFound(id)
		}
		if done(r.o) {
			seq := r.seq
			m.mu.Unlock()
			return true, e.settle(nil, seq)
		}
		ch := r.changed
		m.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			return false, nil
		case <-ctx.Done():
			return false, ctx.Err()
		case <-e.stop:
			return false, serviceerror.NewUnavailable("server is shutting down")
		}
	}
}

// nexusLongPollToken is DescribeNexusOperationExecution's token: the
// operation's state transition count when described (none once closed).
func nexusLongPollToken(o *nexusexec.Operation) []byte {
	if !o.Running() {
		return nil
	}
	return binary.BigEndian.AppendUint64(nil, uint64(o.Transitions))
}

// DescribeNexusOperationExecution reports an operation; with a long-poll
// token it first waits until the operation changed from the state the
// token names (an empty response if it did not before the poll deadline).
func (e *Engine) DescribeNexusOperationExecution(ctx context.Context, r *workflowservice.DescribeNexusOperationExecutionRequest) (*workflowservice.DescribeNexusOperationExecutionResponse, error) {
	build := func(o *nexusexec.Operation) *workflowservice.DescribeNexusOperationExecutionResponse {
		resp := &workflowservice.DescribeNexusOperationExecutionResponse{
			RunId:         o.RunID,
			Info:          o.Info(e.now()),
			LongPollToken: nexusLongPollToken(o),
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
	ok, err := e.waitNexusOp(ctx, r.Namespace, r.OperationId, r.RunId, func(o *nexusexec.Operation) bool {
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
	ok, err := e.waitNexusOp(ctx, r.Namespace, r.OperationId, r.RunId, func(o *nexusexec.Operation) bool {
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
	if err := e.writable(); err != nil {
		return err
	}
	m := &e.nexusOps
	m.mu.Lock()
	r := e.findNexusOp(ns, id, runID)
	if r == nil {
		return e.nexusOpNotFound(id)
	}
	c, seq, err := e.apply(&store.Batch{RecordDeletes: []store.RecordKey{{Kind: recordKindNexusOperation, Key: nexusOpKey(ns, id, r.o.RunID)}}})
	if err != nil {
		m.mu.Unlock()
		return err
	}
	if r.o.Running() {
		_ = r.o.Terminate(e.now(), "", "Delete nexus operation execution", "")
	}
	if r.timer != nil {
		r.timer.Stop()
	}
	k := snKey{ns, id}
	m.runs[k] = slices.DeleteFunc(m.runs[k], func(o *snRun) bool { return o == r })
	if len(m.runs[k]) == 0 {
		delete(m.runs, k)
	}
	r.wake()
	m.deletedSeq = seq
	m.mu.Unlock()
	return e.settle(c, seq)
}

// nexusOpPageToken is where a listing resumes: after the entry with this
// schedule time and run id (newest first).
func nexusOpPageToken(info *nexuspb.NexusOperationExecutionListInfo) []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(info.GetScheduleTime().AsTime().UnixNano()))
	return append(b, info.GetRunId()...)
}

func nexusOpOrder(a, b *nexuspb.NexusOperationExecutionListInfo) int {
	if c := b.GetScheduleTime().AsTime().Compare(a.GetScheduleTime().AsTime()); c != 0 {
		return c
	}
	return strings.Compare(b.GetRunId(), a.GetRunId())
}

// matchingNexusOps returns the list entries of the namespace's operations
// the filter matches, newest first, and the sequence number every one is
// durable at.
func (e *Engine) matchingNexusOps(ns string, f *nexusexec.Filter) ([]*nexuspb.NexusOperationExecutionListInfo, uint64) {
	m := &e.nexusOps
	m.mu.Lock()
	var out []*nexuspb.NexusOperationExecutionListInfo
	var seq uint64
	for k, runs := range m.runs {
		if k.ns != ns {
			continue
		}
		for _, r := range runs {
			if f.Match(r.o) {
				out = append(out, r.o.ListInfo())
				seq = max(seq, r.seq)
			}
		}
	}
	m.mu.Unlock()
	slices.SortFunc(out, nexusOpOrder)
	return out, seq
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
	size := int(r.PageSize)
	if size <= 0 || size > 1000 {
		size = 1000
	}
	var after *nexuspb.NexusOperationExecutionListInfo
	if len(r.NextPageToken) > 0 {
		if len(r.NextPageToken) < 8 {
			return nil, serviceerror.NewInvalidArgument("invalid next_page_token")
		}
		after = &nexuspb.NexusOperationExecutionListInfo{ScheduleTime: timestamppb.New(time.Unix(0, int64(binary.BigEndian.Uint64(r.NextPageToken)))),
			RunId: string(r.NextPageToken[8:])}
	}
	list, seq := e.matchingNexusOps(r.Namespace, f)
	if err := e.settle(nil, seq); err != nil {
		return nil, err
	}
	resp := &workflowservice.ListNexusOperationExecutionsResponse{}
	for _, info := range list {
		if after != nil && nexusOpOrder(info, after) <= 0 {
			continue
		}
		if len(resp.Operations) == size {
			resp.NextPageToken = nexusOpPageToken(resp.Operations[size-1])
			break
		}
		resp.Operations = append(resp.Operations, info)
	}
	return resp, nil
}

// CountNexusOperationExecutions counts a namespace's operations the query
// matches, grouped by status when the query says GROUP BY
// ExecutionStatus.
func (e *Engine) CountNexusOperationExecutions(ctx context.Context, r *workflowservice.CountNexusOperationExecutionsRequest) (*workflowservice.CountNexusOperationExecutionsResponse, error) {
	f, err := e.parseNexusOpQuery(ctx, r.Namespace, r.Query)
	if err != nil {
		return nil, err
	}
	list, seq := e.matchingNexusOps(r.Namespace, f)
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

// purgeExpiredNexusOperations deletes closed operations older than their
// namespace's retention (as Temporal keeps a closed standalone operation
// as long as a closed workflow), and every operation of a namespace that
// no longer exists; it returns how many it deleted.
func (e *Engine) purgeExpiredNexusOperations() (int, error) {
	if err := e.writable(); err != nil {
		return 0, err
	}
	retention := map[string]time.Duration{}
	for _, n := range e.ListNamespaces() {
		retention[n.GetNamespaceInfo().GetName()] = n.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration()
	}
	now := e.now()
	m := &e.nexusOps
	m.mu.Lock()
	b := &store.Batch{}
	for k, runs := range m.runs {
		ret, known := retention[k.ns]
		kept := runs[:0]
		for _, r := range runs {
			expired := !known || (!r.o.Running() && ret > 0 && r.o.CloseTime.Add(ret).Before(now))
			if !expired || len(b.RecordDeletes) >= retentionBatch {
				kept = append(kept, r)
				continue
			}
			b.RecordDeletes = append(b.RecordDeletes, store.RecordKey{Kind: recordKindNexusOperation, Key: nexusOpKey(k.ns, k.id, r.o.RunID)})
			if r.timer != nil {
				r.timer.Stop()
			}
			r.wake()
		}
		if len(kept) == 0 {
			delete(m.runs, k)
		} else {
			m.runs[k] = kept
		}
	}
	n := len(b.RecordDeletes)
	if n == 0 {
		m.mu.Unlock()
		return 0, nil
	}
	c, seq, err := e.apply(b)
	if err == nil {
		m.deletedSeq = seq
	}
	m.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return n, e.settle(c, seq)
}
