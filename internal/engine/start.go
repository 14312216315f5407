package engine

import (
	"context"
	"fmt"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	deploymentpb "go.temporal.io/api/deployment/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundial-io/sundial/internal/execution"
)

// StartParams is everything needed to start a run; it is built from
// StartWorkflowExecution, SignalWithStart, update-with-start and
// StartChildWorkflowExecution alike.
type StartParams struct {
	Namespace    string
	WorkflowID   string
	WorkflowType *commonpb.WorkflowType
	TaskQueue    string
	Input        *commonpb.Payloads
	ExecTimeout  time.Duration
	RunTimeout   time.Duration
	TaskTimeout  time.Duration
	// ExecTimeoutSet / RunTimeoutSet: the request carried the field (even
	// as 0s). Temporal copies the execution timeout as given and writes
	// the run timeout only when it differs from the request's, so an unset
	// one is absent from WorkflowExecutionStarted, not 0s.
	ExecTimeoutSet bool
	RunTimeoutSet  bool
	// UserMetadata (static summary and details) goes on the started event.
	UserMetadata *sdkpb.UserMetadata
	// Eager: the starter asked for the first workflow task in the reply
	// (request_eager_execution). Granted unless the first task is delayed
	// (start delay, cron), as in Temporal.
	Eager          bool
	Identity       string
	RequestID      string
	ReusePolicy    enumspb.WorkflowIdReusePolicy
	ConflictPolicy enumspb.WorkflowIdConflictPolicy
	RetryPolicy    *commonpb.RetryPolicy
	Memo           *commonpb.Memo
	Search         *commonpb.SearchAttributes
	Header         *commonpb.Header
	StartDelay     time.Duration
	Priority       *commonpb.Priority
	CronSchedule   string
	// Parent is set for child workflows.
	Parent *ParentInfo
	// CompletionCallbacks are called when the run closes for good (Nexus
	// operations backed by a workflow: nexus_callbacks.go); Links go on its
	// started event.
	CompletionCallbacks []*commonpb.Callback
	Links               []*commonpb.Link
	// OnConflict says what a start that finds the workflow running under
	// USE_EXISTING attaches to it (nexus_callbacks.go).
	OnConflict *workflowpb.OnConflictOptions
	// LastCompletionResult / ContinuedFailure as passed by clients.
	LastCompletionResult *commonpb.Payloads
	ContinuedFailure     *failurepb.Failure
	// VersioningOverride is the start's worker versioning override.
	VersioningOverride *workflowpb.VersioningOverride
	// InheritedPinnedVersion pins a child to its pinned parent's version.
	InheritedPinnedVersion *deploymentpb.WorkerDeploymentVersion
	// TimeSkipping and TimeSkippingState are the run's time-skipping config
	// and what it inherits (a parent's virtual time; execution/time_skipping.go).
	TimeSkipping      *commonpb.TimeSkippingConfig
	TimeSkippingState *commonpb.TimeSkippingStatePropagation
}

// ParentInfo links a child run to the parent that initiated it.
type ParentInfo struct {
	Namespace   string
	Execution   *commonpb.WorkflowExecution
	InitiatedID int64
	Root        *commonpb.WorkflowExecution
}

// StartResult says which run the request refers to.
type StartResult struct {
	RunID   string
	Started bool // false when an existing run was returned
	Status  enumspb.WorkflowExecutionStatus
	// EagerTask is the run's first workflow task, started for the caller
	// (StartParams.Eager); nil when eager start was not possible.
	EagerTask *workflowservice.PollWorkflowTaskQueueResponse
}

// StartWorkflow starts a new run, applying ID reuse and conflict policies
// and request-id idempotency.
func (e *Engine) StartWorkflow(ctx context.Context, p *StartParams) (*StartResult, error) {
	var res *StartResult
	err := e.mutate(ctx, p.Namespace, p.WorkflowID, func(w *workflow) error {
		r, _, err := e.startLocked(w, p)
		res = r
		return err
	})
	if err != nil {
		return nil, err
	}
	if res.EagerTask != nil {
		// The task's history is read once its start is durable, as for a poll.
		if err := e.attachHistory(ctx, p.Namespace, res.RunID, res.EagerTask, false); err != nil {
			res.EagerTask = nil // the task stays started and times out into a normal one
		}
	}
	return res, nil
}

// eagerTask starts the run's first workflow task for the starter (eager
// workflow start) and takes it out of the tasks to dispatch. Nil when the
// run has no schedulable first task (it is delayed).
func (e *Engine) eagerTask(st *execution.State, p *StartParams) *workflowservice.PollWorkflowTaskQueueResponse {
	w := st.WFT
	if w == nil || w.StartedEventID != 0 {
		return nil
	}
	msgs, err := st.StartWorkflowTask(e.runNow(st), w.ScheduledEventID, p.RequestID, p.Identity)
	if err != nil {
		return nil
	}
	st.DropTask(execution.WorkflowTaskKind, w.ScheduledEventID)
	return workflowTaskResponse(st, msgs)
}

// eagerRetry answers a retried eager start (same request id) the way
// Temporal does: with the first task again if it is still the started
// first attempt, else without a task.
func eagerRetry(st *execution.State) *workflowservice.PollWorkflowTaskQueueResponse {
	w := st.WFT
	if w == nil || w.StartedEventID != 3 || w.Attempt > 1 || !st.Running() {
		return nil
	}
	return workflowTaskResponse(st, nil)
}

// startLocked starts a run on a locked workflow. started reports whether a
// new run was created (false: an existing run is returned).
func (e *Engine) startLocked(w *workflow, p *StartParams) (*StartResult, bool, error) {
	now := e.now()
	if cur := w.cur; cur != nil {
		if p.RequestID != "" && cur.StartRequestID == p.RequestID {
			r := &StartResult{RunID: cur.RunID, Started: true, Status: cur.Status}
			if p.Eager {
				r.EagerTask = eagerRetry(cur)
			}
			return r, false, nil
		}
		if cur.HasAttachedRequest(p.RequestID) {
			return &StartResult{RunID: cur.RunID, Started: false, Status: cur.Status}, false, nil
		}
		if cur.Running() {
			conflict := p.ConflictPolicy
			if p.ReusePolicy == enumspb.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING {
				conflict = enumspb.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING
			}
			switch conflict {
			case enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING:
				if err := attachOnConflict(e.runNow(cur), cur, p); err != nil {
					return nil, false, err
				}
				return &StartResult{RunID: cur.RunID, Started: false, Status: cur.Status}, false, nil
			case enumspb.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING:
				if err := cur.Terminate(e.runNow(cur), "terminated by a new start with TERMINATE_EXISTING", nil, p.Identity); err != nil {
					return nil, false, err
				}
				// Persist the terminated run before it is replaced.
				if err := e.persistReplaced(w); err != nil {
					return nil, false, err
				}
			default:
				return nil, false, alreadyStarted(cur)
			}
		} else {
			switch p.ReusePolicy {
			case enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE:
				return nil, false, alreadyStarted(cur)
			case enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY:
				if cur.Status == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED || cur.Status == enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
					return nil, false, alreadyStarted(cur)
				}
			}
		}
	}
	runID := newRunID()
	st := execution.New(p.Namespace, p.WorkflowID, runID)
	st.SetLimits(e.limits)
	attrs := e.startAttrs(now, runID, p)
	eager := p.Eager && attrs.FirstWorkflowTaskBackoff.AsDuration() <= 0
	attrs.EagerExecutionAccepted = eager
	st.RecordStartWithMetadata(now, attrs, p.RequestID, p.UserMetadata)
	st.AttachStartLinks(startLinks(p))
	st.ScheduleFirstTask(e.runNow(st))
	w.cur = st
	r := &StartResult{RunID: runID, Started: true, Status: st.Status}
	if eager {
		r.EagerTask = e.eagerTask(st, p)
	}
	return r, true, nil
}

// persistReplaced writes the current run's pending changes (used when a run
// is terminated and replaced within one operation). Its durability is
// covered by the later commit of the same operation.
func (e *Engine) persistReplaced(w *workflow) error {
	fx, err := e.persist(w)
	if err != nil {
		return err
	}
	if fx != nil {
		e.wg.Add(1)
		go func() { defer e.wg.Done(); _ = e.finish(fx) }()
	}
	return nil
}

func alreadyStarted(cur *execution.State) error {
	return serviceerror.NewWorkflowExecutionAlreadyStarted(
		fmt.Sprintf("Workflow execution is already running. WorkflowId: %s, RunId: %s.", cur.WorkflowID, cur.RunID),
		cur.StartRequestID, cur.RunID)
}

func (e *Engine) startAttrs(now time.Time, runID string, p *StartParams) *historypb.WorkflowExecutionStartedEventAttributes {
	run, exec, task := p.RunTimeout, p.ExecTimeout, p.TaskTimeout
	if run <= 0 || (exec > 0 && run > exec) {
		run = exec
	}
	if task <= 0 {
		task = execution.DefaultWorkflowTaskTimeout
	}
	if task > execution.MaxWorkflowTaskTimeout {
		task = execution.MaxWorkflowTaskTimeout
	}
	if run > 0 && task > run {
		task = run
	}
	// A start that inherits skipped time (a child of a run that skipped)
	// begins on its virtual clock (execution/time_skipping.go).
	now = now.Add(p.TimeSkippingState.GetInitialSkippedDuration().AsDuration())
	a := &historypb.WorkflowExecutionStartedEventAttributes{
		WorkflowType:             p.WorkflowType,
		TaskQueue:                &taskqueuepb.TaskQueue{Name: p.TaskQueue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		Input:                    p.Input,
		WorkflowTaskTimeout:      durationpb.New(task),
		FirstWorkflowTaskBackoff: durationpb.New(0), // Temporal writes it even when there is none
		OriginalExecutionRunId:   runID,
		FirstExecutionRunId:      runID,
		Identity:                 p.Identity,
		RetryPolicy:              p.RetryPolicy,
		Attempt:                  1,
		Memo:                     p.Memo,
		SearchAttributes:         p.Search,
		Header:                   p.Header,
		WorkflowId:               p.WorkflowID,
		Priority:                 p.Priority,
		LastCompletionResult:     p.LastCompletionResult,
		ContinuedFailure:         p.ContinuedFailure,
		CompletionCallbacks:      p.CompletionCallbacks,
		VersioningOverride:       p.VersioningOverride,
		InheritedPinnedVersion:   p.InheritedPinnedVersion,
	}
	a.TimeSkippingConfig, a.TimeSkippingStatePropagation = p.TimeSkipping, p.TimeSkippingState
	if p.ExecTimeoutSet || exec > 0 {
		a.WorkflowExecutionTimeout = durationpb.New(exec)
	}
	if p.RunTimeoutSet || run != p.RunTimeout {
		a.WorkflowRunTimeout = durationpb.New(run)
	}
	if p.RetryPolicy != nil {
		a.RetryPolicy = execution.DefaultRetryPolicy(p.RetryPolicy)
	}
	if exec > 0 {
		a.WorkflowExecutionExpirationTime = timestamppb.New(now.Add(exec))
	}
	if p.StartDelay > 0 {
		a.FirstWorkflowTaskBackoff = durationpb.New(p.StartDelay)
	}
	if p.CronSchedule != "" {
		a.CronSchedule = p.CronSchedule
		a.FirstWorkflowTaskBackoff = durationpb.New(p.StartDelay + execution.CronBackoff(p.CronSchedule, now.Add(p.StartDelay)))
	}
	if pa := p.Parent; pa != nil {
		a.ParentWorkflowNamespace = pa.Namespace
		a.ParentWorkflowNamespaceId = pa.Namespace
		a.ParentWorkflowExecution = pa.Execution
		a.ParentInitiatedEventId = pa.InitiatedID
		a.RootWorkflowExecution = pa.Root
	}
	return a
}

// StartRequestParams converts a StartWorkflowExecutionRequest.
func StartRequestParams(r *workflowservice.StartWorkflowExecutionRequest) *StartParams {
	return &StartParams{
		Namespace: r.Namespace, WorkflowID: r.WorkflowId, WorkflowType: r.WorkflowType, TaskQueue: r.TaskQueue.GetName(),
		Input: r.Input, ExecTimeout: r.WorkflowExecutionTimeout.AsDuration(), RunTimeout: r.WorkflowRunTimeout.AsDuration(),
		ExecTimeoutSet: r.WorkflowExecutionTimeout != nil, RunTimeoutSet: r.WorkflowRunTimeout != nil,
		TaskTimeout: r.WorkflowTaskTimeout.AsDuration(), Identity: r.Identity, RequestID: r.RequestId,
		ReusePolicy: r.WorkflowIdReusePolicy, ConflictPolicy: r.WorkflowIdConflictPolicy, RetryPolicy: r.RetryPolicy,
		Memo: r.Memo, Search: r.SearchAttributes, Header: r.Header, StartDelay: r.WorkflowStartDelay.AsDuration(),
		Priority: r.Priority, LastCompletionResult: r.LastCompletionResult, ContinuedFailure: r.ContinuedFailure,
		CronSchedule: r.CronSchedule, UserMetadata: r.UserMetadata, VersioningOverride: r.VersioningOverride,
		CompletionCallbacks: r.CompletionCallbacks, Links: r.Links, OnConflict: r.OnConflictOptions,
		TimeSkipping: r.TimeSkippingConfig, TimeSkippingState: r.TimeSkippingStatePropagation,
	}
}

// SignalWithStart signals the running workflow, or starts it with the
// signal as its first event.
func (e *Engine) SignalWithStart(ctx context.Context, r *workflowservice.SignalWithStartWorkflowExecutionRequest) (*StartResult, error) {
	p := &StartParams{
		Namespace: r.Namespace, WorkflowID: r.WorkflowId, WorkflowType: r.WorkflowType, TaskQueue: r.TaskQueue.GetName(),
		Input: r.Input, ExecTimeout: r.WorkflowExecutionTimeout.AsDuration(), RunTimeout: r.WorkflowRunTimeout.AsDuration(),
		ExecTimeoutSet: r.WorkflowExecutionTimeout != nil, RunTimeoutSet: r.WorkflowRunTimeout != nil,
		TaskTimeout: r.WorkflowTaskTimeout.AsDuration(), Identity: r.Identity, RequestID: r.RequestId,
		ReusePolicy: r.WorkflowIdReusePolicy, ConflictPolicy: r.WorkflowIdConflictPolicy, RetryPolicy: r.RetryPolicy,
		Memo: r.Memo, Search: r.SearchAttributes, Header: r.Header, StartDelay: r.WorkflowStartDelay.AsDuration(), Priority: r.Priority,
		CronSchedule: r.CronSchedule, UserMetadata: r.UserMetadata, VersioningOverride: r.VersioningOverride,
		TimeSkipping: r.TimeSkippingConfig,
	}
	var res *StartResult
	err := e.mutate(ctx, r.Namespace, r.WorkflowId, func(w *workflow) error {
		if cur := w.cur; cur != nil && cur.Running() && p.ConflictPolicy != enumspb.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING {
			res = &StartResult{RunID: cur.RunID, Started: false, Status: cur.Status}
			return cur.Signal(e.runNow(cur), r.SignalName, r.SignalInput, r.Header, r.Identity, r.RequestId, nil)
		}
		if p.ConflictPolicy == enumspb.WORKFLOW_ID_CONFLICT_POLICY_UNSPECIFIED {
			p.ConflictPolicy = enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
		}
		p.RequestID = "" // the request id identifies the signal, not a start to deduplicate
		r0, _, err := e.startLockedWith(w, p, func(st *execution.State) error {
			return st.Signal(e.runNow(st), r.SignalName, r.SignalInput, r.Header, r.Identity, r.RequestId, nil)
		})
		res = r0
		return err
	})
	return res, err
}

// startLockedWith starts a run and runs first on it before its first
// workflow task is scheduled (so the task sees what first recorded).
func (e *Engine) startLockedWith(w *workflow, p *StartParams, first func(*execution.State) error) (*StartResult, bool, error) {
	now := e.now()
	if cur := w.cur; cur != nil && cur.Running() {
		if p.ConflictPolicy != enumspb.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING {
			return nil, false, alreadyStarted(cur)
		}
		if err := cur.Terminate(e.runNow(cur), "terminated by a new start with TERMINATE_EXISTING", nil, p.Identity); err != nil {
			return nil, false, err
		}
		if err := e.persistReplaced(w); err != nil {
			return nil, false, err
		}
	} else if cur != nil {
		switch p.ReusePolicy {
		case enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE:
			return nil, false, alreadyStarted(cur)
		case enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY:
			if cur.Status == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
				return nil, false, alreadyStarted(cur)
			}
		}
	}
	runID := newRunID()
	st := execution.New(p.Namespace, p.WorkflowID, runID)
	st.SetLimits(e.limits)
	st.RecordStartWithMetadata(now, e.startAttrs(now, runID, p), p.RequestID, p.UserMetadata)
	if err := first(st); err != nil {
		return nil, false, err
	}
	st.ScheduleFirstTask(e.runNow(st))
	w.cur = st
	return &StartResult{RunID: runID, Started: true, Status: st.Status}, true, nil
}
