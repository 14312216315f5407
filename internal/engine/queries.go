package engine

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	querypb "go.temporal.io/api/query/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundial-io/sundial/internal/execution"
	"github.com/sundial-io/sundial/internal/matching"
	"github.com/sundial-io/sundial/internal/tasktoken"
)

// queryRegistry holds queries waiting for a worker's answer. Queries are
// never persisted: they change nothing and a lost one is retried by the
// caller.
type queryRegistry struct {
	mu sync.Mutex
	m  map[string]*pendingQuery
}

type pendingQuery struct {
	query *querypb.WorkflowQuery
	st    *execution.State // run the query is about (read-only snapshot reference)
	done  chan queryAnswer
	taken atomic.Bool // a worker polled the query task
}

type queryAnswer struct {
	resp *workflowservice.RespondQueryTaskCompletedRequest
	err  error
}

func newQueryRegistry() *queryRegistry { return &queryRegistry{m: map[string]*pendingQuery{}} }

func (q *queryRegistry) add(id string, p *pendingQuery) {
	q.mu.Lock()
	q.m[id] = p
	q.mu.Unlock()
}

func (q *queryRegistry) get(id string) *pendingQuery {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.m[id]
}

func (q *queryRegistry) remove(id string) {
	q.mu.Lock()
	delete(q.m, id)
	q.mu.Unlock()
}

func (q *queryRegistry) answer(id string, a queryAnswer) bool {
	q.mu.Lock()
	p := q.m[id]
	delete(q.m, id)
	q.mu.Unlock()
	if p == nil {
		return false
	}
	p.done <- a
	return true
}

func (q *queryRegistry) fail(id string, err error) { q.answer(id, queryAnswer{err: err}) }

func (q *queryRegistry) closeAll() {
	q.mu.Lock()
	ids := make([]string, 0, len(q.m))
	for id := range q.m {
		ids = append(ids, id)
	}
	q.mu.Unlock()
	for _, id := range ids {
		q.fail(id, serviceerror.NewUnavailable("server is shutting down"))
	}
}

// Query sends a query to a worker through the run's workflow task queue
// (its sticky queue when that worker is polling) and waits for the answer.
func (e *Engine) Query(ctx context.Context, r *workflowservice.QueryWorkflowRequest) (*workflowservice.QueryWorkflowResponse, error) {
	if err := e.awaitNoWorkflowTask(ctx, r.Namespace, r.Execution.GetWorkflowId(), r.Execution.GetRunId()); err != nil {
		return nil, err
	}
	var st *execution.State
	var queue string
	err := e.view(ctx, r.Namespace, r.Execution.GetWorkflowId(), r.Execution.GetRunId(), func(s *execution.State) error {
		st = s
		queue = s.TaskQueue()
		if s.StickyQueue != "" && e.match.HasPoller(matching.Key{Namespace: r.Namespace, Name: s.StickyQueue, Kind: matching.Workflow}, 10*time.Second) {
			queue = s.StickyQueue
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	switch r.QueryRejectCondition {
	case enumspb.QUERY_REJECT_CONDITION_NOT_OPEN:
		if !st.Running() {
			return &workflowservice.QueryWorkflowResponse{QueryRejected: &querypb.QueryRejected{Status: st.Status}}, nil
		}
	case enumspb.QUERY_REJECT_CONDITION_NOT_COMPLETED_CLEANLY:
		if !st.Running() && st.Status != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			return &workflowservice.QueryWorkflowResponse{QueryRejected: &querypb.QueryRejected{Status: st.Status}}, nil
		}
	}
	key := matching.Key{Namespace: r.Namespace, Name: queue, Kind: matching.Workflow}
	id := uuid.NewString()
	p := &pendingQuery{query: r.Query, st: st, done: make(chan queryAnswer, 1)}
	e.queries.add(id, p)
	defer e.queries.remove(id)
	e.match.Add(key, matching.Task{Namespace: r.Namespace, WorkflowID: st.WorkflowID, RunID: st.RunID, QueryID: id})
	// Without a worker taking the task before the caller's deadline, the
	// answer is FailedPrecondition (no worker), as in Temporal.
	soft := time.NewTimer(time.Until(pollDeadline(ctx)))
	defer soft.Stop()
	select {
	case <-soft.C:
		if !p.taken.Load() {
			return nil, serviceerror.NewFailedPrecondition("No worker picked up the query: no poller seen for task queue recently, worker may be down.")
		}
		select {
		case a := <-p.done:
			return queryResult(a)
		case <-ctx.Done():
			return nil, serviceerror.NewDeadlineExceeded("query timed out before a worker answered")
		}
	case a := <-p.done:
		return queryResult(a)
	case <-ctx.Done():
		return nil, serviceerror.NewDeadlineExceeded("query timed out before a worker answered")
	case <-e.stop:
		return nil, serviceerror.NewUnavailable("server is shutting down")
	}
}

func queryResult(a queryAnswer) (*workflowservice.QueryWorkflowResponse, error) {
	if a.err != nil {
		return nil, a.err
	}
	if a.resp.CompletedType == enumspb.QUERY_RESULT_TYPE_FAILED {
		msg := a.resp.ErrorMessage
		if msg == "" {
			msg = a.resp.Failure.GetMessage()
		}
		return nil, serviceerror.NewQueryFailedWithFailure(msg, a.resp.Failure)
	}
	return &workflowservice.QueryWorkflowResponse{QueryResult: a.resp.QueryResult}, nil
}

// awaitNoWorkflowTask waits until the run has no pending workflow task, so
// a query sees every event acknowledged before it (a signal sent just
// before a query is reflected in the answer), as Temporal's consistent
// queries do.
func (e *Engine) awaitNoWorkflowTask(ctx context.Context, ns, id, runID string) error {
	deadline := time.NewTimer(time.Until(pollDeadline(ctx)))
	defer deadline.Stop()
	for {
		w, err := e.acquire(ctx, ns, id)
		if err != nil {
			return err
		}
		cur := w.cur
		if cur == nil || (runID != "" && cur.RunID != runID) || !cur.Running() || cur.WFT == nil {
			w.mu.Unlock()
			return nil
		}
		changed := w.changed
		w.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			return serviceerror.NewFailedPrecondition("The workflow's pending workflow task was not processed in time: no poller seen for task queue recently, worker may be down.")
		case <-ctx.Done():
			return serviceerror.NewDeadlineExceeded("query timed out waiting for the workflow's pending task")
		case <-e.stop:
			return serviceerror.NewUnavailable("server is shutting down")
		}
	}
}

// queryTask builds the poll response for a query task: the run's history
// (all of it, or none on the sticky queue where the worker has it cached)
// and the query.
func (e *Engine) queryTask(ctx context.Context, t matching.Task, sticky bool) (*workflowservice.PollWorkflowTaskQueueResponse, error) {
	p := e.queries.get(t.QueryID)
	if p == nil {
		return nil, execution.ErrStaleTask // the caller gave up
	}
	p.taken.Store(true)
	var resp *workflowservice.PollWorkflowTaskQueueResponse
	err := e.view(ctx, t.Namespace, t.WorkflowID, t.RunID, func(st *execution.State) error {
		tok := &tasktoken.Token{Kind: tasktoken.Query, Namespace: t.Namespace, WorkflowID: t.WorkflowID, RunID: t.RunID, QueryID: t.QueryID}
		resp = &workflowservice.PollWorkflowTaskQueueResponse{
			TaskToken:                  tok.Encode(),
			WorkflowExecution:          &commonpb.WorkflowExecution{WorkflowId: st.WorkflowID, RunId: st.RunID},
			WorkflowType:               st.Start.WorkflowType,
			Query:                      p.query,
			WorkflowExecutionTaskQueue: &taskqueuepb.TaskQueue{Name: st.TaskQueue(), Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
			PreviousStartedEventId:     st.PrevStartedEventID,
			History:                    &historypb.History{},
		}
		return nil
	})
	if err != nil {
		e.queries.fail(t.QueryID, err)
		return nil, execution.ErrStaleTask
	}
	if !sticky {
		if err := e.attachHistory(ctx, t.Namespace, t.RunID, resp, false); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// AnswerQuery handles RespondQueryTaskCompleted.
func (e *Engine) AnswerQuery(ctx context.Context, r *workflowservice.RespondQueryTaskCompletedRequest) error {
	t, err := decodeToken(r.TaskToken, tasktoken.Query)
	if err != nil {
		return err
	}
	if !e.queries.answer(t.QueryID, queryAnswer{resp: r}) {
		return serviceerror.NewNotFound("query not found: it already timed out or was answered")
	}
	return nil
}
