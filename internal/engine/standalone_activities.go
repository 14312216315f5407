package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundial-io/sundial/internal/activityexec"
	"github.com/sundial-io/sundial/internal/matching"
	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/tasktoken"
)

// standaloneActivities are the standalone activity executions
// (StartActivityExecution), each stored as one store.ActivityExecutionRecord
// (standalone_set.go). Each open execution has a timer for its next
// deadline (activityexec.Execution.NextDeadline); the attempt's task goes
// to the activity task queue through matching like a workflow's activity
// task, marked Standalone.
type standaloneActivities = standaloneSet[*activityexec.Execution]

var activityKind = &standaloneKind[*activityexec.Execution]{
	name:     "standalone activity",
	ident:    func(x *activityexec.Execution) saKey { return saKey{x.Namespace, x.ActivityID} },
	runID:    func(x *activityexec.Execution) string { return x.RunID },
	schedule: func(x *activityexec.Execution) time.Time { return x.ScheduleTime },
	closed:   func(x *activityexec.Execution) time.Time { return x.CloseTime },
	notFound: func(string) error { return errActivityExecutionNotFound },
	put: func(b *store.Batch, x *activityexec.Execution, data []byte) {
		b.ActivityExecutions = append(b.ActivityExecutions, &store.ActivityExecutionRecord{
			ActivityExecutionKey: store.ActivityExecutionKey{Namespace: x.Namespace, ActivityID: x.ActivityID, RunID: x.RunID},
			State:                data,
		})
	},
	del: func(b *store.Batch, k saKey, runID string) {
		b.ActivityExecutionDeletes = append(b.ActivityExecutionDeletes, store.ActivityExecutionKey{Namespace: k.ns, ActivityID: k.id, RunID: runID})
	},
	takeDispatch: func(e *Engine, x *activityexec.Execution) func() {
		if t := takeDispatch(x, e.now()); t != nil {
			return func() { t.add(e) }
		}
		return nil
	},
	scan: scanActivityExecutions,
}

var errActivityExecutionNotFound = serviceerror.NewNotFound("activity execution not found")

var errActivityTaskNotFound = serviceerror.NewNotFound("activity task not found")

// loadActivityExecutions reads every stored execution at startup, arms the
// timers of the open ones and queues the attempts waiting for a worker
// (an attempt a worker held before the restart goes on: its answer, or
// its start-to-close timeout, decides).
func (e *Engine) loadActivityExecutions() error {
	open, err := e.acts.load(e, activityKind)
	if err != nil {
		return err
	}
	if len(open) > 0 {
		e.log.Info("recovered open standalone activities", "count", len(open))
	}
	return nil
}

// scanActivityExecutions reads the stored executions of a namespace ("":
// all).
func scanActivityExecutions(e *Engine, ctx context.Context, ns string, yield func(*activityexec.Execution)) error {
	return e.store.ActivityExecutions(ctx, ns, func(r *store.ActivityExecutionRecord) error {
		x, err := activityexec.Decode(r.State)
		if err != nil {
			return fmt.Errorf("decoding activity execution %s/%s: %w", r.ActivityID, r.RunID, err)
		}
		yield(x)
		return nil
	})
}

// mutateActivity is the write path of one execution (standaloneSet.mutate).
func (e *Engine) mutateActivity(ns, id, runID string, fn func(x *activityexec.Execution) (bool, error)) error {
	return e.acts.mutate(e, ns, id, runID, fn)
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
		e.addTask(t.key, t.task) // on a cluster, to the queue's owner (remote_tasks.go)
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
	f, err := m.check(e, ns, req.ActivityId)
	if err != nil {
		m.mu.Unlock()
		return nil, err
	}
	var curRun *standaloneRun[*activityexec.Execution]
	for _, r := range m.runs[saKey{ns, req.ActivityId}] {
		if r.x.Start.GetRequestId() == req.RequestId {
			curRun = r // a retried start: the execution it made
			break
		}
	}
	if curRun == nil {
		curRun = m.find(ns, req.ActivityId, "")
	}
	var cur *activityexec.Execution
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
	x := activityexec.New(ns, newRunID(), req, e.now())
	c, seq, due, err := m.add(e, x, f)
	if err != nil {
		m.mu.Unlock()
		return nil, err
	}
	resp := startActivityResponse(x, true)
	m.mu.Unlock()
	if err := e.settle(c, seq); err != nil {
		return nil, err
	}
	if due != nil {
		due()
	}
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
// poller then waits for another). On a cluster the poller may be another
// node's (handleStartTask), and the task's offer ends here.
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
		err = activityexec.ErrStale
	}
	if err == nil || errors.Is(err, activityexec.ErrStale) {
		e.taskDone(matching.Key{Namespace: t.Namespace, Kind: matching.Activity}, t)
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
