package engine

import (
	"context"
	"errors"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	protocolpb "go.temporal.io/api/protocol/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundial-io/sundial/internal/activityexec"
	"github.com/sundial-io/sundial/internal/execution"
	"github.com/sundial-io/sundial/internal/matching"
	"github.com/sundial-io/sundial/internal/tasktoken"
)

var errTaskNotFound = serviceerror.NewNotFound("Workflow task not found.")
var errActivityNotFound = serviceerror.NewNotFound("invalid activityID or activity already timed out or invoking workflow is completed")

// PollWorkflowTask long-polls a workflow task queue.
func (e *Engine) PollWorkflowTask(ctx context.Context, r *workflowservice.PollWorkflowTaskQueueRequest) (*workflowservice.PollWorkflowTaskQueueResponse, error) {
	key := matching.Key{Namespace: r.Namespace, Name: r.TaskQueue.GetName(), Kind: matching.Workflow}
	sticky := r.TaskQueue.GetKind() == enumspb.TASK_QUEUE_KIND_STICKY
	pctx, cancel := context.WithDeadline(ctx, pollDeadline(ctx))
	defer cancel()
	poller := matching.Poller{Identity: r.Identity, Info: pollerVersioning{r.WorkerVersionCapabilities, r.DeploymentOptions}}
	key, err := e.versionedPoll(key, r.DeploymentOptions, r.Identity, sticky) // deployments.go
	if err != nil {
		return nil, err
	}
	for {
		t, ok := e.match.PollAs(pctx, key, poller)
		if !ok {
			return &workflowservice.PollWorkflowTaskQueueResponse{}, nil
		}
		if h, ok := t.Started.(*handoff); ok {
			// Started for this poller in the write that scheduled it.
			return e.handedOff(ctx, h)
		}
		if ctx.Err() != nil { // the worker hung up: keep the task for another
			e.match.Requeue(key, t)
			return nil, ctx.Err()
		}
		var resp *workflowservice.PollWorkflowTaskQueueResponse
		var err error
		if e.remoteTask(t) { // its workflow is on another node (remote_tasks.go)
			resp, err = e.startRemoteWorkflowTask(ctx, key, t, r.Identity, sticky)
		} else if t.QueryID != "" {
			resp, err = e.queryTask(ctx, t, sticky)
		} else {
			resp, err = e.startWorkflowTask(ctx, key, t, r.Identity, sticky)
		}
		if errors.Is(err, execution.ErrStaleTask) {
			continue
		}
		return resp, err
	}
}

func (e *Engine) startWorkflowTask(ctx context.Context, key matching.Key, t matching.Task, identity string, sticky bool) (*workflowservice.PollWorkflowTaskQueueResponse, error) {
	var resp *workflowservice.PollWorkflowTaskQueueResponse
	var spec []*historypb.HistoryEvent
	err := e.startTask(ctx, key, t, func(w *workflow) error {
		st := w.cur
		if st == nil || st.RunID != t.RunID {
			return execution.ErrStaleTask
		}
		msgs, err := st.StartWorkflowTask(e.runNow(st), t.ScheduledEventID, uuid.NewString(), identity)
		if err != nil {
			return err
		}
		resp = workflowTaskResponse(st, msgs)
		spec = st.SpeculativeEvents()
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := e.attachHistory(ctx, t.Namespace, t.RunID, resp, sticky); err != nil {
		return nil, err
	}
	resp.History.Events = append(resp.History.Events, spec...)
	return resp, nil
}

// workflowTaskResponse describes the started workflow task (without
// history, which attachHistory reads after the task start is durable).
func workflowTaskResponse(st *execution.State, msgs []*protocolpb.Message) *workflowservice.PollWorkflowTaskQueueResponse {
	w := st.WFT
	tok := &tasktoken.Token{Kind: tasktoken.Workflow, Namespace: st.Namespace, WorkflowID: st.WorkflowID, RunID: st.RunID,
		ScheduledEventID: w.ScheduledEventID, StartedEventID: w.StartedEventID, Attempt: w.Attempt}
	return &workflowservice.PollWorkflowTaskQueueResponse{
		TaskToken:                  tok.Encode(),
		WorkflowExecution:          &commonpb.WorkflowExecution{WorkflowId: st.WorkflowID, RunId: st.RunID},
		WorkflowType:               st.Start.WorkflowType,
		PreviousStartedEventId:     st.PrevStartedEventID,
		StartedEventId:             w.StartedEventID,
		Attempt:                    w.Attempt,
		WorkflowExecutionTaskQueue: &taskqueuepb.TaskQueue{Name: st.TaskQueue(), Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		ScheduledTime:              timestamppb.New(w.ScheduledTime),
		StartedTime:                timestamppb.New(w.StartedTime),
		Messages:                   msgs,
		History:                    &historypb.History{},
	}
}

// attachHistory adds the events a worker needs: all of them, or on a
// sticky queue (where the worker has the run cached) only those after the
// previous workflow task.
func (e *Engine) attachHistory(ctx context.Context, ns, runID string, resp *workflowservice.PollWorkflowTaskQueueResponse, sticky bool) error {
	from := int64(1)
	if sticky && resp.PreviousStartedEventId > 0 {
		from = resp.PreviousStartedEventId + 1
	}
	evs, err := e.readHistory(ctx, ns, resp.WorkflowExecution.GetWorkflowId(), runID, from, 0)
	if err != nil {
		return err
	}
	if resp.StartedEventId > 0 {
		// Events after the started event (a run closed by terminate in
		// between) must not reach the worker with this task.
		for i, ev := range evs {
			if ev.EventId > resp.StartedEventId {
				evs = evs[:i]
				break
			}
		}
	}
	resp.History = &historypb.History{Events: evs}
	return nil
}

func decodeToken(b []byte, kind tasktoken.Kind) (*tasktoken.Token, error) {
	if len(b) == 0 {
		return nil, serviceerror.NewInvalidArgument("TaskToken is not set on request.")
	}
	t, err := tasktoken.Decode(b)
	if err != nil || t.Kind != kind {
		return nil, serviceerror.NewInvalidArgument("Error deserializing task token.")
	}
	return t, nil
}

// currentWFT checks that the token names the run's in-flight workflow task.
func currentWFT(w *workflow, t *tasktoken.Token) (*execution.State, error) {
	st := w.cur
	if st == nil || st.RunID != t.RunID || !st.Running() || st.WFT == nil ||
		st.WFT.ScheduledEventID != t.ScheduledEventID || st.WFT.StartedEventID != t.StartedEventID || t.StartedEventID == 0 {
		return nil, errTaskNotFound
	}
	return st, nil
}

// CompleteWorkflowTask handles RespondWorkflowTaskCompleted.
func (e *Engine) CompleteWorkflowTask(ctx context.Context, r *workflowservice.RespondWorkflowTaskCompletedRequest) (*workflowservice.RespondWorkflowTaskCompletedResponse, error) {
	t, err := decodeToken(r.TaskToken, tasktoken.Workflow)
	if err != nil {
		return nil, err
	}
	if t.Namespace != r.Namespace && r.Namespace != "" {
		return nil, serviceerror.NewInvalidArgument("Task token does not belong to the request's namespace.")
	}
	resp := &workflowservice.RespondWorkflowTaskCompletedResponse{}
	var eager *workflowservice.PollWorkflowTaskQueueResponse
	err = e.mutate(ctx, t.Namespace, t.WorkflowID, func(w *workflow) error {
		st, err := currentWFT(w, t)
		if err != nil {
			return err
		}
		// Search attributes are typed per namespace: a wrong type fails the
		// task, as in Temporal.
		for _, c := range r.Commands {
			if sa := c.GetUpsertWorkflowSearchAttributesCommandAttributes().GetSearchAttributes(); sa != nil {
				if verr := e.ValidateSearchAttributes(t.Namespace, sa); verr != nil {
					st.RefuseWorkflowTask(e.runNow(st), enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES, &failurepb.Failure{Message: verr.Error()}, r.Identity)
					return verr
				}
			}
		}
		if err := st.CheckCompletion(r.ForceCreateNewWorkflowTask); err != nil {
			return stateErr(err) // a paused run (workflow_pause.go)
		}
		st.SetNexusEndpoints(e.nexusEndpointsOf(r))
		firstEventID := st.NextEventID
		if cerr := st.CompleteWorkflowTask(e.runNow(st), r, newRunID); cerr != nil {
			var ce *execution.CommandError
			if errors.As(cerr, &ce) {
				return serviceerror.NewInvalidArgument(ce.Message)
			}
			return serviceerror.NewInvalidArgument(cerr.Error())
		}
		if st.Dropped() {
			resp.ResetHistoryEventId = st.PrevStartedEventID
		}
		if w.cur == st && !e.activityQueueLimited(st.Namespace, st.TaskQueue()) {
			for _, act := range st.StartEagerActivities(e.runNow(st), firstEventID, r.Commands, r.Identity, uuid.NewString) {
				resp.ActivityTasks = append(resp.ActivityTasks, activityTaskResponse(st, act))
			}
		}
		// Hand the next workflow task straight back to a sticky worker
		// that asked for it, saving a poll round trip.
		if r.ReturnNewWorkflowTask && w.cur == st && st.WFT != nil && st.WFT.StartedEventID == 0 && st.StickyQueue != "" {
			msgs, err := st.StartWorkflowTask(e.runNow(st), st.WFT.ScheduledEventID, uuid.NewString(), r.Identity)
			if err == nil {
				st.DropTask(execution.WorkflowTaskKind, st.WFT.ScheduledEventID)
				eager = workflowTaskResponse(st, msgs)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if eager != nil {
		if err := e.attachHistory(ctx, t.Namespace, t.RunID, eager, true); err == nil {
			resp.WorkflowTask = eager
		}
	}
	return resp, nil
}

// FailWorkflowTask handles RespondWorkflowTaskFailed.
func (e *Engine) FailWorkflowTask(ctx context.Context, r *workflowservice.RespondWorkflowTaskFailedRequest) error {
	t, err := decodeToken(r.TaskToken, tasktoken.Workflow)
	if err != nil {
		return err
	}
	return e.mutate(ctx, t.Namespace, t.WorkflowID, func(w *workflow) error {
		st, err := currentWFT(w, t)
		if err != nil {
			return err
		}
		st.FailWorkflowTask(e.runNow(st), r.Cause, r.Failure, r.Identity)
		return nil
	})
}

// PollActivityTask long-polls an activity task queue.
func (e *Engine) PollActivityTask(ctx context.Context, r *workflowservice.PollActivityTaskQueueRequest) (*workflowservice.PollActivityTaskQueueResponse, error) {
	key := matching.Key{Namespace: r.Namespace, Name: r.TaskQueue.GetName(), Kind: matching.Activity}
	pctx, cancel := context.WithDeadline(ctx, pollDeadline(ctx))
	defer cancel()
	poller := matching.Poller{Identity: r.Identity, Info: pollerVersioning{r.WorkerVersionCapabilities, r.DeploymentOptions}}
	if rate := r.TaskQueueMetadata.GetMaxTasksPerSecond(); rate != nil {
		poller.RatePerSecond = rate.GetValue()
	}
	key, err := e.versionedPoll(key, r.DeploymentOptions, r.Identity, false) // deployments.go
	if err != nil {
		return nil, err
	}
	for {
		t, ok := e.match.PollAs(pctx, key, poller)
		if !ok {
			return &workflowservice.PollActivityTaskQueueResponse{}, nil
		}
		if ctx.Err() != nil {
			e.match.Requeue(key, t)
			return nil, ctx.Err()
		}
		if t.Standalone && !e.remoteTask(t) {
			resp, err := e.startStandaloneTask(t, r.Identity)
			if errors.Is(err, activityexec.ErrStale) {
				continue
			}
			if err != nil {
				e.match.Requeue(key, t) // not started (the store refused): keep it
			}
			return resp, err
		}
		var resp *workflowservice.PollActivityTaskQueueResponse
		if e.remoteTask(t) { // its workflow is on another node (remote_tasks.go)
			resp, err = e.startRemoteActivity(ctx, key, t, r.Identity)
		} else {
			resp, err = e.startActivity(ctx, key, t, r.Identity)
		}
		if errors.Is(err, execution.ErrStaleTask) {
			continue
		}
		return resp, err
	}
}

// startActivity starts an activity task taken from key for a poller.
func (e *Engine) startActivity(ctx context.Context, key matching.Key, t matching.Task, identity string) (*workflowservice.PollActivityTaskQueueResponse, error) {
	var resp *workflowservice.PollActivityTaskQueueResponse
	err := e.startTask(ctx, key, t, func(w *workflow) error {
		st := w.cur
		if st == nil || st.RunID != t.RunID {
			return execution.ErrStaleTask
		}
		if a := st.Activities[t.ScheduledEventID]; a != nil && a.Attrs.TaskQueue.GetName() != key.Name {
			return execution.ErrStaleTask // UpdateActivityOptions moved it to another queue
		}
		act, err := st.StartActivityTask(e.runNow(st), t.ScheduledEventID, t.Attempt, uuid.NewString(), identity)
		if err != nil {
			return err
		}
		w.dirty = true
		resp = activityTaskResponse(st, act)
		return nil
	})
	return resp, err
}

func activityTaskResponse(st *execution.State, act *execution.Activity) *workflowservice.PollActivityTaskQueueResponse {
	a := act.Attrs
	tok := &tasktoken.Token{Kind: tasktoken.Activity, Namespace: st.Namespace, WorkflowID: st.WorkflowID, RunID: st.RunID,
		ScheduledEventID: act.ScheduledEventID, Attempt: act.Attempt}
	return &workflowservice.PollActivityTaskQueueResponse{
		TaskToken:                   tok.Encode(),
		WorkflowNamespace:           st.Namespace,
		WorkflowType:                st.Start.WorkflowType,
		WorkflowExecution:           &commonpb.WorkflowExecution{WorkflowId: st.WorkflowID, RunId: st.RunID},
		ActivityType:                a.ActivityType,
		ActivityId:                  a.ActivityId,
		Header:                      a.Header,
		Input:                       a.Input,
		HeartbeatDetails:            act.HeartbeatDetails,
		ScheduledTime:               timestamppb.New(act.ScheduledTime),
		CurrentAttemptScheduledTime: timestamppb.New(act.AttemptScheduledTime),
		StartedTime:                 timestamppb.New(act.StartedTime),
		Attempt:                     act.Attempt,
		ScheduleToCloseTimeout:      a.ScheduleToCloseTimeout,
		StartToCloseTimeout:         a.StartToCloseTimeout,
		HeartbeatTimeout:            nonNilDuration(a.HeartbeatTimeout),
		RetryPolicy:                 a.RetryPolicy,
		Priority:                    a.Priority,
	}
}

func nonNilDuration(d *durationpb.Duration) *durationpb.Duration {
	if d == nil {
		return durationpb.New(0)
	}
	return d
}

// activityOp runs fn on the activity a token (or an id triple) names.
func (e *Engine) activityOp(ctx context.Context, token []byte, ns, wfID, runID, activityID string, fn func(st *execution.State, sched int64, attempt int32) error) error {
	var sched int64
	var attempt int32
	if len(token) > 0 {
		t, err := decodeToken(token, tasktoken.Activity)
		if err != nil {
			return err
		}
		ns, wfID, runID, sched, attempt = t.Namespace, t.WorkflowID, t.RunID, t.ScheduledEventID, t.Attempt
	} else if wfID == "" || activityID == "" {
		return serviceerror.NewInvalidArgument("WorkflowId and ActivityId are required when no TaskToken is set.")
	}
	return e.mutate(ctx, ns, wfID, func(w *workflow) error {
		st := w.cur
		if st == nil || (runID != "" && st.RunID != runID) || !st.Running() {
			return errActivityNotFound
		}
		if sched == 0 {
			act := st.ActivityByID(activityID)
			if act == nil {
				return errActivityNotFound
			}
			sched = act.ScheduledEventID
		}
		if err := fn(st, sched, attempt); err != nil {
			if errors.Is(err, execution.ErrStaleTask) {
				return errActivityNotFound
			}
			return err
		}
		w.dirty = true
		return nil
	})
}

// HeartbeatReply is what a heartbeat tells the worker.
type HeartbeatReply struct {
	CancelRequested, Paused, Reset bool
}

// Heartbeat records activity progress; it reports a cancel request and
// whether the activity was paused or reset (PauseActivity, ResetActivity).
func (e *Engine) Heartbeat(ctx context.Context, token []byte, ns, wfID, runID, activityID string, details *commonpb.Payloads) (HeartbeatReply, error) {
	var rep HeartbeatReply
	if ok, err := e.standaloneAnswer(token, ns, wfID, runID, activityID, func(x *activityexec.Execution, stamp int64) error {
		c, err := x.Heartbeat(e.now(), stamp, details)
		rep.CancelRequested = c
		rep.Paused, rep.Reset = x.ControlFlags()
		return err
	}); ok {
		return rep, err
	}
	err := e.activityOp(ctx, token, ns, wfID, runID, activityID, func(st *execution.State, sched int64, attempt int32) error {
		c, err := st.Heartbeat(e.runNow(st), sched, attempt, details)
		rep.CancelRequested = c
		rep.Paused, rep.Reset = st.ActivityControl(sched)
		return err
	})
	return rep, err
}

// CompleteActivity records an activity result.
func (e *Engine) CompleteActivity(ctx context.Context, token []byte, ns, wfID, runID, activityID string, result *commonpb.Payloads, identity string) error {
	if ok, err := e.standaloneAnswer(token, ns, wfID, runID, activityID, func(x *activityexec.Execution, stamp int64) error {
		return x.Complete(e.now(), stamp, result, identity)
	}); ok {
		return err
	}
	return e.activityOp(ctx, token, ns, wfID, runID, activityID, func(st *execution.State, sched int64, attempt int32) error {
		return st.CompleteActivity(e.runNow(st), sched, attempt, result, identity)
	})
}

// FailActivity records an activity failure (retried per policy).
func (e *Engine) FailActivity(ctx context.Context, token []byte, ns, wfID, runID, activityID string, r *workflowservice.RespondActivityTaskFailedRequest) error {
	if ok, err := e.standaloneAnswer(token, ns, wfID, runID, activityID, func(x *activityexec.Execution, stamp int64) error {
		return x.Fail(e.now(), stamp, r.Failure, r.LastHeartbeatDetails, r.Identity)
	}); ok {
		return err
	}
	return e.activityOp(ctx, token, ns, wfID, runID, activityID, func(st *execution.State, sched int64, attempt int32) error {
		return st.FailActivity(e.runNow(st), sched, attempt, r.Failure, r.LastHeartbeatDetails, r.Identity)
	})
}

// CancelActivity records that an activity was canceled.
func (e *Engine) CancelActivity(ctx context.Context, token []byte, ns, wfID, runID, activityID string, details *commonpb.Payloads, identity string) error {
	if ok, err := e.standaloneAnswer(token, ns, wfID, runID, activityID, func(x *activityexec.Execution, stamp int64) error {
		return x.ReportCanceled(e.now(), stamp, details, identity)
	}); ok {
		return err
	}
	return e.activityOp(ctx, token, ns, wfID, runID, activityID, func(st *execution.State, sched int64, attempt int32) error {
		return st.CancelActivity(e.runNow(st), sched, attempt, details, identity)
	})
}

// ResetSticky clears a run's sticky queue.
func (e *Engine) ResetSticky(ctx context.Context, ns string, ex *commonpb.WorkflowExecution) error {
	return e.mutate(ctx, ns, ex.GetWorkflowId(), func(w *workflow) error {
		st, err := openRun(w, ex.GetRunId())
		if err != nil {
			return err
		}
		st.ResetSticky()
		return nil
	})
}

// ShutdownWorker unsticks every run whose sticky queue is the stopping
// worker's: queued tasks move back to the normal queues at once and later
// tasks go there too, instead of waiting out the sticky timeout.
func (e *Engine) ShutdownWorker(ctx context.Context, ns, stickyQueue string) {
	e.goneSticky.add(ns, stickyQueue, e.now())
	for _, t := range e.match.Drain(matching.Key{Namespace: ns, Name: stickyQueue, Kind: matching.Workflow}) {
		if t.QueryID != "" {
			e.queries.fail(t.QueryID, serviceerror.NewUnavailable("worker shut down"))
		}
	}
	e.mu.Lock()
	var keys []wfKey
	for k := range e.workflows {
		if k.ns == ns {
			keys = append(keys, k)
		}
	}
	e.mu.Unlock()
	for _, k := range keys {
		_ = e.mutate(ctx, k.ns, k.id, func(w *workflow) error {
			if w.cur != nil && w.cur.Running() && w.cur.StickyQueue == stickyQueue {
				w.cur.ResetSticky()
			}
			return nil
		})
	}
	e.shutdownWorkerElsewhere(ctx, ns, stickyQueue) // remote_tasks.go
}
