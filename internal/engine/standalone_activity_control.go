package engine

import (
	"context"
	"math/rand/v2"

	activitypb "go.temporal.io/api/activity/v1"
	"go.temporal.io/api/workflowservice/v1"

	"google.golang.org/protobuf/proto"

	"github.com/sundial-io/sundial/internal/activityexec"
)

// The operator commands of standalone activities (semantics in
// activityexec/control.go). Each writes the execution durably before it
// answers, like every other change.

func jitterRand(n int64) int64 { return rand.Int64N(n) }

// PauseActivityExecution pauses a standalone activity.
func (e *Engine) PauseActivityExecution(ctx context.Context, r *workflowservice.PauseActivityExecutionRequest) error {
	return e.mutateActivity(r.Namespace, r.ActivityId, r.RunId, func(x *activityexec.Execution) (bool, error) {
		before := x.Transitions
		err := x.Pause(e.now(), r.RequestId, r.Identity, r.Reason)
		return err == nil && x.Transitions != before, err
	})
}

// UnpauseActivityExecution resumes a paused standalone activity.
func (e *Engine) UnpauseActivityExecution(ctx context.Context, r *workflowservice.UnpauseActivityExecutionRequest) error {
	return e.mutateActivity(r.Namespace, r.ActivityId, r.RunId, func(x *activityexec.Execution) (bool, error) {
		before := x.Transitions
		err := x.Unpause(e.now(), r.RequestId, r.Jitter.AsDuration(), jitterRand)
		return err == nil && x.Transitions != before, err
	})
}

// ResetActivityExecution starts a standalone activity over at attempt 1.
func (e *Engine) ResetActivityExecution(ctx context.Context, r *workflowservice.ResetActivityExecutionRequest) error {
	return e.mutateActivity(r.Namespace, r.ActivityId, r.RunId, func(x *activityexec.Execution) (bool, error) {
		before := x.Transitions
		err := x.Reset(e.now(), activityexec.ResetOptions{RequestID: r.RequestId, KeepPaused: r.KeepPaused,
			ResetHeartbeat: r.ResetHeartbeat, RestoreOriginal: r.RestoreOriginalOptions, Jitter: r.Jitter.AsDuration()}, jitterRand)
		return err == nil && x.Transitions != before, err
	})
}

// UpdateActivityExecutionOptions changes a standalone activity's options
// and returns those in force.
func (e *Engine) UpdateActivityExecutionOptions(ctx context.Context, r *workflowservice.UpdateActivityExecutionOptionsRequest) (*activitypb.ActivityOptions, error) {
	var out *activitypb.ActivityOptions
	err := e.mutateActivity(r.Namespace, r.ActivityId, r.RunId, func(x *activityexec.Execution) (bool, error) {
		before := x.Transitions
		o, err := x.UpdateOptions(e.now(), r.RequestId, r.ActivityOptions, r.UpdateMask.GetPaths(), r.RestoreOriginal)
		if err != nil {
			return false, err
		}
		out = proto.Clone(o).(*activitypb.ActivityOptions)
		return x.Transitions != before, nil
	})
	return out, err
}
