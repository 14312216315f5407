package engine

import (
	"context"
	"encoding/binary"
	"slices"
	"strings"
	"time"

	activitypb "go.temporal.io/api/activity/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundial-io/sundial/internal/activityexec"
	"github.com/sundial-io/sundial/internal/store"
)

// readActivity runs fn on an execution under the lock and returns once
// the state fn saw is durable.
func (e *Engine) readActivity(ns, id, runID string, fn func(x *activityexec.Execution)) error {
	m := &e.acts
	m.mu.Lock()
	r := e.findActivity(ns, id, runID)
	if r == nil {
		return e.activityNotFound()
	}
	fn(r.x)
	seq := r.seq
	m.mu.Unlock()
	return e.settle(nil, seq)
}

// waitActivity long-polls: it calls done under the lock until it returns
// true, and returns false when ctx's poll deadline passes first.
func (e *Engine) waitActivity(ctx context.Context, ns, id, runID string, done func(x *activityexec.Execution) bool) (bool, error) {
	deadline := time.NewTimer(time.Until(pollDeadline(ctx)))
	defer deadline.Stop()
	m := &e.acts
	for {
		m.mu.Lock()
		r := e.findActivity(ns, id, runID)
		if r == nil {
			return false, e.activityNotFound()
		}
		if done(r.x) {
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

// longPollToken is DescribeActivityExecution's token: the execution's
// state transition count when described.
func longPollToken(x *activityexec.Execution) []byte {
	if !x.Running() {
		return nil
	}
	return binary.BigEndian.AppendUint64(nil, uint64(x.Transitions))
}

// DescribeActivityExecution reports an execution; with a long-poll token
// it first waits until the execution changed from the state the token
// names (an empty response if it did not before the poll deadline).
func (e *Engine) DescribeActivityExecution(ctx context.Context, r *workflowservice.DescribeActivityExecutionRequest) (*workflowservice.DescribeActivityExecutionResponse, error) {
	build := func(x *activityexec.Execution) *workflowservice.DescribeActivityExecutionResponse {
		resp := &workflowservice.DescribeActivityExecutionResponse{
			RunId:         x.RunID,
			Info:          x.Info(e.now(), r.IncludeHeartbeatDetails, r.IncludeLastFailure),
			LongPollToken: longPollToken(x),
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
	ok, err := e.waitActivity(ctx, r.Namespace, r.ActivityId, r.RunId, func(x *activityexec.Execution) bool {
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
	_, err := e.waitActivity(ctx, r.Namespace, r.ActivityId, r.RunId, func(x *activityexec.Execution) bool {
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
	if err := e.writable(); err != nil {
		return err
	}
	m := &e.acts
	m.mu.Lock()
	r := e.findActivity(ns, id, runID)
	if r == nil {
		return e.activityNotFound()
	}
	c, seq, err := e.apply(&store.Batch{ActivityExecutionDeletes: []store.ActivityExecutionKey{
		{Namespace: ns, ActivityID: id, RunID: r.x.RunID}}})
	if err != nil {
		m.mu.Unlock()
		return err
	}
	if r.x.Running() {
		_ = r.x.Terminate(e.now(), "", "Delete activity execution", "")
	}
	if r.timer != nil {
		r.timer.Stop()
	}
	k := saKey{ns, id}
	m.runs[k] = slices.DeleteFunc(m.runs[k], func(o *saRun) bool { return o == r })
	if len(m.runs[k]) == 0 {
		delete(m.runs, k)
	}
	r.wake()
	m.deletedSeq = seq
	m.mu.Unlock()
	return e.settle(c, seq)
}

// activityPageToken is where a listing resumes: after the entry with this
// schedule time and run id (newest first).
func activityPageToken(info *activitypb.ActivityExecutionListInfo) []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(info.GetScheduleTime().AsTime().UnixNano()))
	return append(b, info.GetRunId()...)
}

func activityOrder(a, b *activitypb.ActivityExecutionListInfo) int {
	if c := b.GetScheduleTime().AsTime().Compare(a.GetScheduleTime().AsTime()); c != 0 {
		return c
	}
	return strings.Compare(b.GetRunId(), a.GetRunId())
}

// matchingActivities returns the list entries of the namespace's
// executions the filter matches, newest first (built under the lock, so
// later changes do not reach them), and the sequence number every one is
// durable at.
func (e *Engine) matchingActivities(ns string, f *activityexec.Filter) ([]*activitypb.ActivityExecutionListInfo, uint64) {
	m := &e.acts
	m.mu.Lock()
	var out []*activitypb.ActivityExecutionListInfo
	var seq uint64
	for k, runs := range m.runs {
		if k.ns != ns {
			continue
		}
		for _, r := range runs {
			if f.Match(r.x) {
				out = append(out, r.x.ListInfo())
				seq = max(seq, r.seq)
			}
		}
	}
	m.mu.Unlock()
	slices.SortFunc(out, activityOrder)
	return out, seq
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
	size := int(r.PageSize)
	if size <= 0 || size > 1000 {
		size = 1000
	}
	var after *activitypb.ActivityExecutionListInfo
	if len(r.NextPageToken) > 0 {
		if len(r.NextPageToken) < 8 {
			return nil, serviceerror.NewInvalidArgument("invalid NextPageToken")
		}
		after = &activitypb.ActivityExecutionListInfo{ScheduleTime: timestamppb.New(time.Unix(0, int64(binary.BigEndian.Uint64(r.NextPageToken)))),
			RunId: string(r.NextPageToken[8:])}
	}
	list, seq := e.matchingActivities(r.Namespace, f)
	if err := e.settle(nil, seq); err != nil {
		return nil, err
	}
	resp := &workflowservice.ListActivityExecutionsResponse{}
	for _, info := range list {
		if after != nil && activityOrder(info, after) <= 0 {
			continue
		}
		if len(resp.Executions) == size {
			resp.NextPageToken = activityPageToken(resp.Executions[size-1])
			break
		}
		resp.Executions = append(resp.Executions, info)
	}
	return resp, nil
}

// CountActivityExecutions counts a namespace's executions the query
// matches, grouped by status when the query says GROUP BY ExecutionStatus.
func (e *Engine) CountActivityExecutions(ctx context.Context, r *workflowservice.CountActivityExecutionsRequest) (*workflowservice.CountActivityExecutionsResponse, error) {
	f, err := e.parseActivityQuery(ctx, r.Namespace, r.Query)
	if err != nil {
		return nil, err
	}
	list, seq := e.matchingActivities(r.Namespace, f)
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

// purgeExpiredActivities deletes closed executions older than their
// namespace's retention (Temporal keeps a closed standalone activity as
// long as a closed workflow), and every execution of a namespace that no
// longer exists; it returns how many it deleted.
func (e *Engine) purgeExpiredActivities() (int, error) {
	if err := e.writable(); err != nil {
		return 0, err
	}
	retention := map[string]time.Duration{}
	for _, n := range e.ListNamespaces() {
		retention[n.GetNamespaceInfo().GetName()] = n.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration()
	}
	now := e.now()
	m := &e.acts
	m.mu.Lock()
	b := &store.Batch{}
	for k, runs := range m.runs {
		ret, known := retention[k.ns]
		kept := runs[:0]
		for _, r := range runs {
			expired := !known || (!r.x.Running() && ret > 0 && r.x.CloseTime.Add(ret).Before(now))
			if !expired || len(b.ActivityExecutionDeletes) >= retentionBatch {
				kept = append(kept, r)
				continue
			}
			b.ActivityExecutionDeletes = append(b.ActivityExecutionDeletes, store.ActivityExecutionKey{Namespace: k.ns, ActivityID: k.id, RunID: r.x.RunID})
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
	n := len(b.ActivityExecutionDeletes)
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
