package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	deploymentpb "go.temporal.io/api/deployment/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sundial-io/sundial/internal/execution"
)

// Effects on other workflows in a cluster. A run's effects on another
// workflow (start a child, tell a parent its child closed, apply a parent
// close policy, signal or cancel an external workflow) change that other
// workflow, whose shard another node may hold. Each such change is a
// small operation with serializable arguments: run here when this node
// holds the target's shard, sent to the owner (Peers.Call, HandleOp)
// otherwise. The outcome is then recorded on the source run here, as
// before. Every operation is idempotent (request ids, checks of the
// target's state), so a retry after a lost answer changes nothing twice.

// Peers reaches the other nodes of the cluster (forward.Forwarder).
type Peers interface {
	// Call runs op on the owner of the shard of (namespace, key).
	Call(ctx context.Context, namespace, key, op string, args, result any) error
}

// Operation names of HandleOp.
const (
	opSignal       = "signal"
	opCancel       = "cancel"
	opStartChild   = "startChild"
	opChildClosed  = "childClosed"
	opParentClosed = "parentClosed"
	opNexusDone    = "nexusCompleted"
)

// HandleOp runs an operation another node sent for a workflow of a shard
// this node holds.
func (e *Engine) HandleOp(ctx context.Context, op string, args []byte) (any, error) {
	switch op {
	case opSignal:
		var a signalArgs
		if err := json.Unmarshal(args, &a); err != nil {
			return nil, err
		}
		return nil, e.signalLocal(ctx, a)
	case opCancel:
		var a cancelArgs
		if err := json.Unmarshal(args, &a); err != nil {
			return nil, err
		}
		return nil, e.cancelLocal(ctx, a)
	case opStartChild:
		var a startArgs
		if err := json.Unmarshal(args, &a); err != nil {
			return nil, err
		}
		p, err := a.params()
		if err != nil {
			return nil, err
		}
		res, err := e.StartWorkflow(ctx, p)
		if err != nil {
			return nil, err
		}
		return res.RunID, nil
	case opChildClosed:
		var a childClosedArgs
		if err := json.Unmarshal(args, &a); err != nil {
			return nil, err
		}
		return nil, e.childClosedLocal(ctx, a)
	case opParentClosed:
		var a parentClosedArgs
		if err := json.Unmarshal(args, &a); err != nil {
			return nil, err
		}
		return nil, e.parentClosedLocal(ctx, a)
	case opNexusDone:
		var a nexusDoneArgs
		if err := json.Unmarshal(args, &a); err != nil {
			return nil, err
		}
		o, err := a.outcome()
		if err != nil {
			return nil, err
		}
		return nil, e.nexusCompletedLocal(ctx, a.Namespace, a.WorkflowID, a.ScheduledEventID, a.RequestID, o)
	case opStandaloneNexusDone: // standalone_nexus_remote.go
		return nil, e.handleStandaloneNexusDone(args)
	}
	if h := e.taskOps[op]; h != nil { // task queues across nodes (remote_tasks.go)
		return h(ctx, args)
	}
	return nil, serviceerror.NewInvalidArgumentf("sundial: unknown internal operation %q", op)
}

// remote reports whether a change of workflow (ns, id) must be sent to
// another node.
func (e *Engine) remote(ns, id string) bool {
	return e.own != nil && e.peers != nil && !e.owns(ns, id)
}

// pbBytes marshals a proto for an operation's arguments (nil stays nil).
func pbBytes(m proto.Message) []byte {
	if m == nil || !m.ProtoReflect().IsValid() {
		return nil
	}
	b, err := proto.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("engine: marshal %T: %v", m, err)) // protos built here always marshal
	}
	return b
}

// pbFrom unmarshals b into a new T (nil when b is empty).
func pbFrom[T any, P interface {
	*T
	proto.Message
}](b []byte) (P, error) {
	if len(b) == 0 {
		return nil, nil
	}
	m := P(new(T))
	if err := proto.Unmarshal(b, m); err != nil {
		return nil, serviceerror.NewInvalidArgumentf("sundial: bad internal request: %v", err)
	}
	return m, nil
}

type signalArgs struct {
	Namespace, WorkflowID, RunID, Name, RequestID string
	Input, Header                                 []byte
	SrcWorkflowID, SrcRunID                       string
}

// signalFrom signals an external workflow for a run's
// SignalExternalWorkflowExecution command.
func (e *Engine) signalFrom(ctx context.Context, a signalArgs) error {
	if e.remote(a.Namespace, a.WorkflowID) {
		return e.peers.Call(ctx, a.Namespace, a.WorkflowID, opSignal, a, nil)
	}
	return e.signalLocal(ctx, a)
}

func (e *Engine) signalLocal(ctx context.Context, a signalArgs) error {
	input, err := pbFrom[commonpb.Payloads](a.Input)
	if err != nil {
		return err
	}
	header, err := pbFrom[commonpb.Header](a.Header)
	if err != nil {
		return err
	}
	return e.mutate(ctx, a.Namespace, a.WorkflowID, func(w *workflow) error {
		st, err := openRun(w, a.RunID)
		if err != nil {
			return err
		}
		return stateErr(st.Signal(e.runNow(st), a.Name, input, header, "", a.RequestID,
			&commonpb.WorkflowExecution{WorkflowId: a.SrcWorkflowID, RunId: a.SrcRunID}))
	})
}

type cancelArgs struct {
	Namespace, WorkflowID, RunID, Reason string
	SrcWorkflowID, SrcRunID              string
	InitiatedID                          int64
}

// cancelFrom requests cancellation of an external workflow for a run's
// RequestCancelExternalWorkflowExecution command.
func (e *Engine) cancelFrom(ctx context.Context, a cancelArgs) error {
	if e.remote(a.Namespace, a.WorkflowID) {
		return e.peers.Call(ctx, a.Namespace, a.WorkflowID, opCancel, a, nil)
	}
	return e.cancelLocal(ctx, a)
}

func (e *Engine) cancelLocal(ctx context.Context, a cancelArgs) error {
	return e.mutate(ctx, a.Namespace, a.WorkflowID, func(w *workflow) error {
		st, err := e.cancelTarget(ctx, w, a.RunID)
		if err != nil || st == nil {
			return err // a closed target counts as canceled, as in Temporal
		}
		return stateErr(st.RequestCancel(e.runNow(st), a.Reason, "", &commonpb.WorkflowExecution{WorkflowId: a.SrcWorkflowID, RunId: a.SrcRunID}, a.InitiatedID))
	})
}

type childClosedArgs struct {
	Namespace, ParentID, ParentRunID string
	InitiatedID                      int64
	ChildID, ChildRunID              string
	CloseEvent                       []byte
}

// childClosed tells a parent that its child closed for good.
func (e *Engine) childClosed(ctx context.Context, a childClosedArgs) error {
	if e.remote(a.Namespace, a.ParentID) {
		return e.peers.Call(ctx, a.Namespace, a.ParentID, opChildClosed, a, nil)
	}
	return e.childClosedLocal(ctx, a)
}

func (e *Engine) childClosedLocal(ctx context.Context, a childClosedArgs) error {
	ev, err := pbFrom[historypb.HistoryEvent](a.CloseEvent)
	if err != nil {
		return err
	}
	return e.mutate(ctx, a.Namespace, a.ParentID, func(w *workflow) error {
		if w.cur == nil {
			return nil
		}
		if w.cur.RunID != a.ParentRunID {
			// A parent that was reset hands its children to the run that
			// replaced it, if that run still has this child pending.
			c := w.cur.Children[a.InitiatedID]
			if c == nil || c.Attrs.WorkflowId != a.ChildID || !e.resetLeadsTo(ctx, a.Namespace, a.ParentRunID, w.cur.RunID) {
				return nil
			}
		}
		err := w.cur.ChildClosed(e.runNow(w.cur), a.InitiatedID, a.ChildRunID, ev)
		if errors.Is(err, execution.ErrStaleTask) {
			return nil
		}
		return err
	})
}

type parentClosedArgs struct {
	Namespace, ChildID           string
	ParentNamespace, ParentRunID string
	Policy                       int32
	Root                         []byte
}

// parentClosed applies a closed parent's close policy (terminate or
// request cancel) to one of its children.
func (e *Engine) parentClosed(ctx context.Context, a parentClosedArgs) error {
	if e.remote(a.Namespace, a.ChildID) {
		return e.peers.Call(ctx, a.Namespace, a.ChildID, opParentClosed, a, nil)
	}
	return e.parentClosedLocal(ctx, a)
}

func (e *Engine) parentClosedLocal(ctx context.Context, a parentClosedArgs) error {
	root, err := pbFrom[commonpb.WorkflowExecution](a.Root)
	if err != nil {
		return err
	}
	return e.mutate(ctx, a.Namespace, a.ChildID, func(w *workflow) error {
		st := w.cur
		if st == nil || !st.Running() {
			return nil
		}
		if pr := st.Start.GetParentWorkflowExecution().GetRunId(); pr != a.ParentRunID &&
			!e.resetLeadsTo(ctx, a.ParentNamespace, pr, a.ParentRunID) {
			return nil
		}
		if enumspb.ParentClosePolicy(a.Policy) == enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL {
			return st.RequestCancel(e.runNow(st), "parent workflow closed", "", root, 0)
		}
		return st.Terminate(e.runNow(st), "by parent close policy", nil, "sundial")
	})
}

// startArgs are the StartParams of a child workflow start.
type startArgs struct {
	Namespace, WorkflowID, TaskQueue, RequestID, CronSchedule string
	WorkflowType, Input, UserMetadata, RetryPolicy            []byte
	Memo, Search, Header, Priority                            []byte
	ExecTimeout, RunTimeout, TaskTimeout                      time.Duration
	ExecTimeoutSet, RunTimeoutSet                             bool
	ReusePolicy                                               int32
	ParentNamespace                                           string
	ParentExecution, ParentRoot                               []byte
	ParentInitiatedID                                         int64
	InheritedPinnedVersion, VersioningOverride                []byte
	// Identity, LastCompletionResult and ContinuedFailure are set by
	// schedules' starts (StartWorkflowOn).
	Identity                               string `json:",omitempty"`
	LastCompletionResult, ContinuedFailure []byte `json:",omitempty"`
	// TimeSkipping and TimeSkippingState are what a child inherits of its
	// parent's time skipping.
	TimeSkipping, TimeSkippingState []byte `json:",omitempty"`
}

// startChildOn starts a child workflow here or on its shard's owner.
func (e *Engine) startChildOn(ctx context.Context, p *StartParams) (*StartResult, error) {
	if !e.remote(p.Namespace, p.WorkflowID) {
		return e.StartWorkflow(ctx, p)
	}
	a := startArgs{Namespace: p.Namespace, WorkflowID: p.WorkflowID, TaskQueue: p.TaskQueue, RequestID: p.RequestID, CronSchedule: p.CronSchedule,
		WorkflowType: pbBytes(p.WorkflowType), Input: pbBytes(p.Input), UserMetadata: pbBytes(p.UserMetadata), RetryPolicy: pbBytes(p.RetryPolicy),
		Memo: pbBytes(p.Memo), Search: pbBytes(p.Search), Header: pbBytes(p.Header), Priority: pbBytes(p.Priority),
		ExecTimeout: p.ExecTimeout, RunTimeout: p.RunTimeout, TaskTimeout: p.TaskTimeout, ExecTimeoutSet: p.ExecTimeoutSet, RunTimeoutSet: p.RunTimeoutSet,
		ReusePolicy: int32(p.ReusePolicy), InheritedPinnedVersion: pbBytes(p.InheritedPinnedVersion), VersioningOverride: pbBytes(p.VersioningOverride),
		Identity: p.Identity, LastCompletionResult: pbBytes(p.LastCompletionResult), ContinuedFailure: pbBytes(p.ContinuedFailure),
		TimeSkipping: pbBytes(p.TimeSkipping), TimeSkippingState: pbBytes(p.TimeSkippingState)}
	if pa := p.Parent; pa != nil {
		a.ParentNamespace, a.ParentExecution, a.ParentRoot, a.ParentInitiatedID = pa.Namespace, pbBytes(pa.Execution), pbBytes(pa.Root), pa.InitiatedID
	}
	var runID string
	if err := e.peers.Call(ctx, p.Namespace, p.WorkflowID, opStartChild, a, &runID); err != nil {
		return nil, err
	}
	return &StartResult{RunID: runID}, nil
}

func (a startArgs) params() (*StartParams, error) {
	p := &StartParams{Namespace: a.Namespace, WorkflowID: a.WorkflowID, TaskQueue: a.TaskQueue, RequestID: a.RequestID, CronSchedule: a.CronSchedule,
		ExecTimeout: a.ExecTimeout, RunTimeout: a.RunTimeout, TaskTimeout: a.TaskTimeout, ExecTimeoutSet: a.ExecTimeoutSet, RunTimeoutSet: a.RunTimeoutSet,
		ReusePolicy: enumspb.WorkflowIdReusePolicy(a.ReusePolicy), Identity: a.Identity}
	var errs []error
	var err error
	p.LastCompletionResult, err = pbFrom[commonpb.Payloads](a.LastCompletionResult)
	errs = append(errs, err)
	p.ContinuedFailure, err = pbFrom[failurepb.Failure](a.ContinuedFailure)
	errs = append(errs, err)
	p.WorkflowType, err = pbFrom[commonpb.WorkflowType](a.WorkflowType)
	errs = append(errs, err)
	p.Input, err = pbFrom[commonpb.Payloads](a.Input)
	errs = append(errs, err)
	p.UserMetadata, err = pbFrom[sdkpb.UserMetadata](a.UserMetadata)
	errs = append(errs, err)
	p.RetryPolicy, err = pbFrom[commonpb.RetryPolicy](a.RetryPolicy)
	errs = append(errs, err)
	p.Memo, err = pbFrom[commonpb.Memo](a.Memo)
	errs = append(errs, err)
	p.Search, err = pbFrom[commonpb.SearchAttributes](a.Search)
	errs = append(errs, err)
	p.Header, err = pbFrom[commonpb.Header](a.Header)
	errs = append(errs, err)
	p.Priority, err = pbFrom[commonpb.Priority](a.Priority)
	errs = append(errs, err)
	p.InheritedPinnedVersion, err = pbFrom[deploymentpb.WorkerDeploymentVersion](a.InheritedPinnedVersion)
	errs = append(errs, err)
	p.TimeSkipping, err = pbFrom[commonpb.TimeSkippingConfig](a.TimeSkipping)
	errs = append(errs, err)
	p.TimeSkippingState, err = pbFrom[commonpb.TimeSkippingStatePropagation](a.TimeSkippingState)
	errs = append(errs, err)
	p.VersioningOverride, err = pbFrom[workflowpb.VersioningOverride](a.VersioningOverride)
	errs = append(errs, err)
	if a.ParentExecution != nil {
		pa := &ParentInfo{Namespace: a.ParentNamespace, InitiatedID: a.ParentInitiatedID}
		pa.Execution, err = pbFrom[commonpb.WorkflowExecution](a.ParentExecution)
		errs = append(errs, err)
		pa.Root, err = pbFrom[commonpb.WorkflowExecution](a.ParentRoot)
		errs = append(errs, err)
		p.Parent = pa
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p, nil
}

type nexusDoneArgs struct {
	Namespace, WorkflowID, RequestID string
	ScheduledEventID                 int64
	OperationToken                   string
	StartLinks                       [][]byte
	Result, Failure                  []byte
	Canceled                         bool
}

func (a nexusDoneArgs) outcome() (execution.NexusOutcome, error) {
	o := execution.NexusOutcome{OperationToken: a.OperationToken, Canceled: a.Canceled}
	var errs []error
	var err error
	o.Result, err = pbFrom[commonpb.Payload](a.Result)
	errs = append(errs, err)
	o.Failure, err = pbFrom[failurepb.Failure](a.Failure)
	errs = append(errs, err)
	for _, b := range a.StartLinks {
		l, err := pbFrom[commonpb.Link](b)
		errs = append(errs, err)
		o.StartLinks = append(o.StartLinks, l)
	}
	return o, errors.Join(errs...)
}

// nexusCompleted delivers an asynchronous Nexus operation's outcome to
// the caller workflow, here or on its owner.
func (e *Engine) nexusCompleted(ctx context.Context, ns, id string, sched int64, reqID string, o execution.NexusOutcome) error {
	if !e.remote(ns, id) {
		return e.nexusCompletedLocal(ctx, ns, id, sched, reqID, o)
	}
	a := nexusDoneArgs{Namespace: ns, WorkflowID: id, RequestID: reqID, ScheduledEventID: sched, OperationToken: o.OperationToken,
		Result: pbBytes(o.Result), Failure: pbBytes(o.Failure), Canceled: o.Canceled}
	for _, l := range o.StartLinks {
		a.StartLinks = append(a.StartLinks, pbBytes(l))
	}
	return e.peers.Call(ctx, ns, id, opNexusDone, a, nil)
}

func (e *Engine) nexusCompletedLocal(ctx context.Context, ns, id string, sched int64, reqID string, o execution.NexusOutcome) error {
	return e.mutate(ctx, ns, id, func(w *workflow) error {
		// Temporal retries a completion its run id does not find against
		// the workflow's current run: a reset run holds the operation with
		// the same scheduled id and request id. CompleteNexusAsync checks
		// both, so any other run (or a closed one) is left unchanged.
		st := w.cur
		if st == nil {
			return nil
		}
		if err := st.CompleteNexusAsync(e.runNow(st), sched, reqID, o); err != nil && !errors.Is(err, execution.ErrStaleTask) {
			return err
		}
		return nil
	})
}
