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

// noPollerWindow is Temporal's matching.queryPollerUnavailableWindow: a
// query no worker took by a second before the caller's deadline fails with
// errNoRecentPoller only when no poll of its queue began within this window;
// otherwise it waits, as Temporal does, to the deadline itself.
const noPollerWindow = 20 * time.Second

// failingTaskAttempts: while the workflow task is on this attempt or later
// (it keeps failing), queries fail fast, as in Temporal's history service.
const failingTaskAttempts = 3

// errNoRecentPoller is Temporal matching's error, word for word.
var errNoRecentPoller = serviceerror.NewFailedPrecondition("no poller seen for task queue recently, worker may be down")

func errQueryTimedOut() error {
	return serviceerror.NewDeadlineExceeded("query timed out before a worker could process it")
}

// Query sends a query to a worker through the run's workflow task queue
// (its sticky queue when that worker is polling) and waits for the answer.
func (e *Engine) Query(ctx context.Context, r *workflowservice.QueryWorkflowRequest) (*workflowservice.QueryWorkflowResponse, error) {
	if _, ok := ctx.Deadline(); !ok {
		// The SDKs always set a deadline; a raw call without one still
		// ends, after a long poll's minute.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Minute)
		defer cancel()
	}
	if err := e.awaitQueryable(ctx, r.Namespace, r.Execution.GetWorkflowId(), r.Execution.GetRunId()); err != nil {
		return nil, err
	}
	var st *execution.State
	var queue string
	var routing execution.Routing
	paused := false
	var priority int32 // a query waits at its run's priority level, as in Temporal
	err := e.view(ctx, r.Namespace, r.Execution.GetWorkflowId(), r.Execution.GetRunId(), func(s *execution.State) error {
		st = s
		paused = s.Paused()
		queue = s.TaskQueue()
		routing = s.Routing()
		priority = s.Priority().GetPriorityKey()
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
	if paused {
		// As Temporal: no workflow code runs while paused, so a query is
		// rejected whatever the reject condition.
		return &workflowservice.QueryWorkflowResponse{QueryRejected: &querypb.QueryRejected{Status: enumspb.WORKFLOW_EXECUTION_STATUS_PAUSED}}, nil
	}
	if !st.Running() && st.PrevStartedEventID == 0 {
		// No worker ever ran the workflow code: there is nothing to query.
		return nil, serviceerror.NewWorkflowNotReady("Workflow execution closed before WorkflowTaskStarted event")
	}
	key := matching.Key{Namespace: r.Namespace, Name: queue, Kind: matching.Workflow}
	if queue != st.StickyQueue { // the normal queue: routed like the run's tasks
		key, _ = e.routeKey(key, st.WorkflowID, routing) // worker versioning (deployments.go)
	}
	id := uuid.NewString()
	p := &pendingQuery{query: r.Query, st: st, done: make(chan queryAnswer, 1)}
	e.queries.add(id, p)
	defer e.queries.remove(id)
	qt := matching.Task{Namespace: r.Namespace, WorkflowID: st.WorkflowID, RunID: st.RunID, QueryID: id, PriorityKey: priority}
	defer e.taskDone(key, qt) // a cluster's offer of it (remote_tasks.go)
	e.addTask(key, qt)
	// As Temporal's matching: a second before the caller's deadline a query
	// no worker took fails with FailedPrecondition if nobody polled the
	// queue recently (the worker is down); if workers were polling (busy,
	// or just stopped) it waits out the deadline and times out.
	soft := time.NewTimer(time.Until(pollDeadline(ctx)))
	defer soft.Stop()
	softC := soft.C
	for {
		select {
		case <-softC:
			// (On a cluster the queue's polls may reach another node.)
			if !p.taken.Load() && !e.clustered() && e.match.SinceLastPoll(key) > noPollerWindow {
				return nil, errNoRecentPoller
			}
			softC = nil
		case a := <-p.done:
			return queryResult(a)
		case <-ctx.Done():
			return nil, errQueryTimedOut()
		case <-e.stop:
			return nil, serviceerror.NewUnavailable("server is shutting down")
		}
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

// awaitQueryable waits until a query can go straight to a worker: the run
// has completed a workflow task (the SDKs cannot answer a query before
// the workflow code first ran) and has none pending, so the query sees
// every event acknowledged before it (a signal sent just before a query
// is reflected in the answer), as Temporal's consistent queries do. Like
// Temporal it waits up to the caller's deadline whether or not a worker
// is polling, and fails fast (WorkflowNotReady) while the workflow task
// keeps failing or when the first task is scheduled after the deadline.
func (e *Engine) awaitQueryable(ctx context.Context, ns, id, runID string) error {
	for first := true; ; first = false {
		w, err := e.acquire(ctx, ns, id)
		if err != nil {
			return err
		}
		cur := w.cur
		if cur == nil || (runID != "" && cur.RunID != runID) || !cur.Running() {
			w.mu.Unlock()
			return nil
		}
		if first {
			if err := notReadyForQuery(ctx, cur); err != nil {
				w.mu.Unlock()
				return err
			}
		}
		if cur.WFT == nil && cur.PrevStartedEventID > 0 {
			w.mu.Unlock()
			return nil
		}
		changed := w.changed
		w.waiters.Add(1) // keeps the workflow in the cache
		w.mu.Unlock()
		select {
		case <-changed:
			w.waiters.Add(-1)
		case <-ctx.Done():
			w.waiters.Add(-1)
			return errQueryTimedOut()
		case <-e.stop:
			w.waiters.Add(-1)
			return serviceerror.NewUnavailable("server is shutting down")
		}
	}
}

// notReadyForQuery is Temporal's fast refusal of a query to a running
// workflow that cannot be answered in time.
func notReadyForQuery(ctx context.Context, st *execution.State) error {
	if st.WFT != nil && st.WFT.Attempt >= failingTaskAttempts {
		return serviceerror.NewWorkflowNotReady("Unable to query workflow due to Workflow Task in failed state.")
	}
	if st.WFT == nil && st.PrevStartedEventID == 0 {
		// The first workflow task waits for its backoff (start delay,
		// cron or retry): refuse unless it is due before the deadline.
		due := st.WallTime(st.StartTime.Add(st.Start.GetFirstWorkflowTaskBackoff().AsDuration()))
		if dl, ok := ctx.Deadline(); !ok || due.After(dl) {
			return serviceerror.NewWorkflowNotReady("Workflow task is not scheduled yet.")
		}
	}
	return nil
}

// queryTask builds the poll response for a query task: the run's history
// (all of it, or none on the sticky queue where the worker has it cached)
// and the query.
func (e *Engine) queryTask(ctx context.Context, t matching.Task, sticky bool) (*workflowservice.PollWorkflowTaskQueueResponse, error) {
	p := e.queries.get(t.QueryID)
	if p == nil {
		return nil, execution.ErrStaleTask // the caller gave up
	}
	e.taskDone(matching.Key{Namespace: t.Namespace, Kind: matching.Workflow}, t) // taken: no offer again
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
