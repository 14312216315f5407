package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundial-io/sundial/internal/activityexec"
	"github.com/sundial-io/sundial/internal/matching"
	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/tasktoken"
)

// standaloneActivities holds every standalone activity execution
// (StartActivityExecution), open and closed, in memory, each stored as one
// store record (store.ActivityExecutionRecord) that is written, and
// synced, before a change is acknowledged or its task dispatched. One
// mutex covers them all: changes are small (no history, no effects on
// other executions), so this keeps the write order trivially the order
// of changes. Each open execution has a timer for its next deadline
// (activityexec.Execution.NextDeadline); the attempt's task goes to the
// activity task queue through matching like a workflow's activity task,
// marked Standalone.
type standaloneActivities struct {
	mu   sync.Mutex
	runs map[saKey][]*saRun // by namespace and activity id, oldest first
	// deletedSeq is the newest write that deleted executions: an answer
	// that one is not found waits until that write is durable.
	deletedSeq uint64
}

type saKey struct{ ns, id string }

type saRun struct {
	x     *activityexec.Execution
	timer *time.Timer
	seq   uint64 // the write that made the state; reads wait until it is durable
	// changed is closed (and replaced) after every change and when the
	// execution is deleted, waking long polls (PollActivityExecution,
	// DescribeActivityExecution), which then look again.
	changed chan struct{}
}

func newSARun(x *activityexec.Execution) *saRun {
	return &saRun{x: x, changed: make(chan struct{})}
}

// wake tells the execution's long polls to look again; the caller holds
// e.acts.mu.
func (r *saRun) wake() {
	close(r.changed)
	r.changed = make(chan struct{})
}

var errActivityExecutionNotFound = serviceerror.NewNotFound("activity execution not found")

var errActivityTaskNotFound = serviceerror.NewNotFound("activity task not found")

// loadActivityExecutions reads every stored execution at startup, arms the
// timers of the open ones and queues the attempts waiting for a worker
// (an attempt a worker held before the restart goes on: its answer, or
// its start-to-close timeout, decides).
func (e *Engine) loadActivityExecutions() error {
	m := &e.acts
	m.runs = map[saKey][]*saRun{}
	var open []*saRun
	err := e.store.ActivityExecutions(context.Background(), "", func(r *store.ActivityExecutionRecord) error {
		x, err := activityexec.Decode(r.State)
		if err != nil {
			return fmt.Errorf("decoding activity execution %s/%s: %w", r.ActivityID, r.RunID, err)
		}
		run := newSARun(x)
		k := saKey{r.Namespace, r.ActivityID}
		m.runs[k] = append(m.runs[k], run)
		if x.Running() {
			open = append(open, run)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, runs := range m.runs {
		slices.SortFunc(runs, func(a, b *saRun) int {
			if c := a.x.ScheduleTime.Compare(b.x.ScheduleTime); c != 0 {
				return c
			}
			return strings.Compare(a.x.RunID, b.x.RunID)
		})
	}
	// Timers may fire as soon as they are armed: hold the lock they take.
	now := e.now()
	var due []*saTask
	m.mu.Lock()
	for _, r := range open {
		e.armActivity(r)
		if t := takeDispatch(r.x, now); t != nil {
			due = append(due, t)
		}
	}
	m.mu.Unlock()
	for _, t := range due {
		e.match.Add(t.key, t.task)
	}
	if len(open) > 0 {
		e.log.Info("recovered open standalone activities", "count", len(open))
	}
	return nil
}

// findActivity returns the run of an activity id (runID "": the newest);
// the caller holds e.acts.mu.
func (e *Engine) findActivity(ns, id, runID string) *saRun {
	runs := e.acts.runs[saKey{ns, id}]
	if runID == "" {
		if len(runs) == 0 {
			return nil
		}
		return runs[len(runs)-1]
	}
	for _, r := range runs {
		if r.x.RunID == runID {
			return r
		}
	}
	return nil
}

// activityNotFound unlocks e.acts.mu and answers NotFound once a deletion
// it may rest on is durable.
func (e *Engine) activityNotFound() error {
	seq := e.acts.deletedSeq
	e.acts.mu.Unlock()
	if err := e.settle(nil, seq); err != nil {
		return err
	}
	return errActivityExecutionNotFound
}

// writeActivity hands the execution's record to the store (still under
// e.acts.mu, so the order on disk is the order of changes) and wakes long
// polls; the caller waits for the commit after unlocking.
func (e *Engine) writeActivity(r *saRun) (store.Commit, uint64, error) {
	data, err := r.x.Encode()
	if err != nil {
		return nil, 0, err
	}
	c, seq, err := e.apply(&store.Batch{ActivityExecutions: []*store.ActivityExecutionRecord{{
		ActivityExecutionKey: store.ActivityExecutionKey{Namespace: r.x.Namespace, ActivityID: r.x.ActivityID, RunID: r.x.RunID},
		State:                data,
	}}})
	if err != nil {
		return nil, 0, err
	}
	r.seq = seq
	r.wake()
	return c, seq, nil
}

// settle waits until the write seq (if c is set) or everything the caller
// read (seq) is durable.
func (e *Engine) settle(c store.Commit, seq uint64) error {
	if c == nil {
		e.barrier(seq)
		return e.checkHealthy()
	}
	began := time.Now()
	err := c.Wait()
	e.obs.StoreWrite(StoreSync, time.Since(began), err)
	if err != nil {
		e.fail(err)
		return serviceerror.NewUnavailable("storage sync failed: " + err.Error())
	}
	e.markDurable(seq)
	return nil
}

// mutateActivity is the write path of one execution: fn changes it under
// the lock and says whether there is something to write; the write is
// durable before mutateActivity returns, and only then is a task that came
// due dispatched.
func (e *Engine) mutateActivity(ns, id, runID string, fn func(x *activityexec.Execution) (bool, error)) error {
	if err := e.writable(); err != nil {
		return err
	}
	m := &e.acts
	m.mu.Lock()
	r := e.findActivity(ns, id, runID)
	if r == nil {
		return e.activityNotFound()
	}
	write, ferr := fn(r.x)
	var c store.Commit
	if write {
		var err error
		if c, _, err = e.writeActivity(r); err != nil {
			m.mu.Unlock()
			return err
		}
	}
	seq := r.seq
	e.armActivity(r)
	due := takeDispatch(r.x, e.now())
	m.mu.Unlock()
	if err := e.settle(c, seq); err != nil {
		return err
	}
	due.add(e)
	return ferr
}

// saTask is an attempt's task, taken under e.acts.mu and handed to
// matching once the state that made it is durable.
type saTask struct {
	key  matching.Key
	task matching.Task
}

// takeDispatch returns the task of the execution's current attempt if it
// should be dispatched now (nil otherwise); the caller holds e.acts.mu.
func takeDispatch(x *activityexec.Execution, now time.Time) *saTask {
	if !x.TakeDispatch(now) {
		return nil
	}
	p := x.Options.GetPriority()
	return &saTask{
		key: matching.Key{Namespace: x.Namespace, Name: x.Options.TaskQueue.GetName(), Kind: matching.Activity},
		task: matching.Task{Namespace: x.Namespace, WorkflowID: x.ActivityID, RunID: x.RunID,
			ScheduledEventID: x.Stamp, Attempt: x.Attempt, Standalone: true,
			PriorityKey: p.GetPriorityKey(), FairnessKey: p.GetFairnessKey(), FairnessWeight: p.GetFairnessWeight()},
	}
}

func (t *saTask) add(e *Engine) {
	if t != nil {
		e.match.Add(t.key, t.task)
	}
}

// armActivity sets the execution's timer to its next deadline; the caller
// holds e.acts.mu.
func (e *Engine) armActivity(r *saRun) {
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	d := r.x.NextDeadline()
	if d.IsZero() {
		return
	}
	ns, id, run := r.x.Namespace, r.x.ActivityID, r.x.RunID
	r.timer = time.AfterFunc(max(0, d.Sub(e.now())), func() { e.tickActivity(ns, id, run) })
}

// tickActivity fires the deadlines of one execution that came due.
func (e *Engine) tickActivity(ns, id, runID string) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.wg.Add(1)
	e.mu.Unlock()
	defer e.wg.Done()
	err := e.mutateActivity(ns, id, runID, func(x *activityexec.Execution) (bool, error) {
		return x.Tick(e.now()), nil
	})
	if err != nil && !errors.Is(err, errActivityExecutionNotFound) {
		// The store refused (a full disk): try again shortly.
		e.log.Warn("standalone activity timer", "activity", id, "run", runID, "err", err)
		time.AfterFunc(time.Second, func() { e.tickActivity(ns, id, runID) })
	}
}

// StartActivityExecution starts a standalone activity; req must be
// validated and normalized (activityexec.Normalize) and carry a request id.
func (e *Engine) StartActivityExecution(ctx context.Context, req *workflowservice.StartActivityExecutionRequest) (*workflowservice.StartActivityExecutionResponse, error) {
	if err := e.writable(); err != nil {
		return nil, err
	}
	m := &e.acts
	ns := req.Namespace
	m.mu.Lock()
	k := saKey{ns, req.ActivityId}
	var cur *activityexec.Execution
	var curRun *saRun
	for _, r := range m.runs[k] {
		if r.x.Start.GetRequestId() == req.RequestId {
			curRun = r // a retried start: the execution it made
			break
		}
	}
	if curRun == nil {
		curRun = e.findActivity(ns, req.ActivityId, "")
	}
	if curRun != nil {
		cur = curRun.x
	}
	choice, err := activityexec.ResolveStart(cur, req)
	if err != nil {
		m.mu.Unlock()
		return nil, err
	}
	if choice != activityexec.StartNew {
		seq := curRun.seq
		resp := startActivityResponse(cur, choice == activityexec.Deduplicated)
		m.mu.Unlock()
		if err := e.settle(nil, seq); err != nil {
			return nil, err
		}
		return resp, nil
	}
	r := newSARun(activityexec.New(ns, newRunID(), req, e.now()))
	c, seq, err := e.writeActivity(r)
	if err != nil {
		m.mu.Unlock()
		return nil, err
	}
	m.runs[k] = append(m.runs[k], r)
	e.armActivity(r)
	due := takeDispatch(r.x, e.now())
	resp := startActivityResponse(r.x, true)
	m.mu.Unlock()
	if err := e.settle(c, seq); err != nil {
		return nil, err
	}
	due.add(e)
	return resp, nil
}

func startActivityResponse(x *activityexec.Execution, started bool) *workflowservice.StartActivityExecutionResponse {
	return &workflowservice.StartActivityExecutionResponse{
		RunId:   x.RunID,
		Started: started,
		Link: &commonpb.Link{Variant: &commonpb.Link_Activity_{Activity: &commonpb.Link_Activity{
			Namespace: x.Namespace, ActivityId: x.ActivityID, RunId: x.RunID,
		}}},
	}
}

// startStandaloneTask starts the attempt a polled task names for the
// poller; activityexec.ErrStale says the task is no longer current (the
// poller then waits for another).
func (e *Engine) startStandaloneTask(t matching.Task, identity string) (*workflowservice.PollActivityTaskQueueResponse, error) {
	var resp *workflowservice.PollActivityTaskQueueResponse
	err := e.mutateActivity(t.Namespace, t.WorkflowID, t.RunID, func(x *activityexec.Execution) (bool, error) {
		if err := x.StartAttempt(e.now(), t.ScheduledEventID, identity); err != nil {
			return false, err
		}
		resp = x.TaskResponse()
		resp.TaskToken = (&tasktoken.Token{Kind: tasktoken.StandaloneActivity, Namespace: x.Namespace,
			WorkflowID: x.ActivityID, RunID: x.RunID, ScheduledEventID: x.Stamp, Attempt: x.Attempt}).Encode()
		return true, nil
	})
	if errors.Is(err, errActivityExecutionNotFound) {
		return nil, activityexec.ErrStale
	}
	return resp, err
}

// standaloneAnswer carries out a worker's answer (heartbeat, completion,
// failure, cancellation) if it is for a standalone activity: a token of
// that kind, or a by-id call without a workflow id (as Temporal reads
// one). handled is false for a workflow's activity.
func (e *Engine) standaloneAnswer(token []byte, ns, wfID, runID, activityID string, fn func(x *activityexec.Execution, stamp int64) error) (handled bool, err error) {
	var stamp int64
	if len(token) > 0 {
		t, err := tasktoken.Decode(token)
		if err != nil || t.Kind != tasktoken.StandaloneActivity {
			return false, nil
		}
		ns, activityID, runID, stamp = t.Namespace, t.WorkflowID, t.RunID, t.ScheduledEventID
	} else if wfID != "" || activityID == "" {
		return false, nil
	}
	err = e.mutateActivity(ns, activityID, runID, func(x *activityexec.Execution) (bool, error) {
		if err := fn(x, stamp); err != nil {
			return false, err
		}
		return true, nil
	})
	if errors.Is(err, activityexec.ErrStale) || errors.Is(err, errActivityExecutionNotFound) {
		err = errActivityTaskNotFound
	}
	return true, err
}
