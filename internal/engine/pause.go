package engine

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	activitypb "go.temporal.io/api/activity/v1"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sundial-io/sundial/internal/execution"
)

// Activity control: PauseActivity, UnpauseActivity, ResetActivity and
// UpdateActivityOptions (execution/pause.go has the semantics). Each is
// one change of the run's record under the workflow's lock, durable before
// the reply, and writes no history event, as in Temporal.

// controlActivities runs fn on each activity sel names in the run. check,
// when set, runs on all of them first: a request that would fail for one
// activity changes none (Temporal's update is one transaction).
func (e *Engine) controlActivities(ctx context.Context, ns, wfID, runID string, sel execution.ActivitySelector, check, fn func(st *execution.State, act *execution.Activity) error) error {
	return e.mutate(ctx, ns, wfID, func(w *workflow) error {
		st, err := openRun(w, runID)
		if err != nil {
			return err
		}
		acts, err := st.SelectActivities(sel)
		if err != nil {
			return activityControlErr(err)
		}
		for _, a := range acts {
			if check == nil {
				break
			}
			if err := check(st, a); err != nil {
				return activityControlErr(err)
			}
		}
		for _, a := range acts {
			if err := fn(st, a); err != nil {
				return activityControlErr(err)
			}
		}
		return nil
	})
}

func activityControlErr(err error) error {
	switch {
	case errors.Is(err, execution.ErrActivityNotFound):
		return serviceerror.NewNotFound(err.Error())
	case errors.Is(err, execution.ErrActivityAlreadyPaused):
		return serviceerror.NewFailedPrecondition(err.Error())
	}
	return stateErr(err)
}

// jitter picks the random delay within a request's jitter.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d)
}

// PauseActivity pauses the activities the request names.
func (e *Engine) PauseActivity(ctx context.Context, r *workflowservice.PauseActivityRequest, sel execution.ActivitySelector) error {
	check := func(_ *execution.State, a *execution.Activity) error { return execution.CheckPause(a, r.RequestId) }
	return e.controlActivities(ctx, r.Namespace, r.Execution.GetWorkflowId(), r.Execution.GetRunId(), sel, check, func(st *execution.State, a *execution.Activity) error {
		return st.PauseActivity(e.runNow(st), a, r.Identity, r.Reason, r.RequestId)
	})
}

// UnpauseActivity unpauses the activities the request names.
func (e *Engine) UnpauseActivity(ctx context.Context, r *workflowservice.UnpauseActivityRequest, sel execution.ActivitySelector) error {
	return e.controlActivities(ctx, r.Namespace, r.Execution.GetWorkflowId(), r.Execution.GetRunId(), sel, nil, func(st *execution.State, a *execution.Activity) error {
		st.UnpauseActivity(e.runNow(st), a, r.ResetAttempts, r.ResetHeartbeat, jitter(r.Jitter.AsDuration()))
		return nil
	})
}

// ResetActivity resets the attempt count of the activities the request names.
func (e *Engine) ResetActivity(ctx context.Context, r *workflowservice.ResetActivityRequest, sel execution.ActivitySelector) error {
	return e.controlActivities(ctx, r.Namespace, r.Execution.GetWorkflowId(), r.Execution.GetRunId(), sel, nil, func(st *execution.State, a *execution.Activity) error {
		st.ResetActivity(e.runNow(st), a, r.ResetHeartbeat, r.KeepPaused, r.RestoreOriginalOptions, jitter(r.Jitter.AsDuration()))
		return nil
	})
}

// UpdateActivityOptions changes the options of the activities the request
// names (mask already normalized by the frontend) and answers the options
// of the last one, as Temporal does. With restore the options the
// activity was scheduled with come back.
func (e *Engine) UpdateActivityOptions(ctx context.Context, r *workflowservice.UpdateActivityOptionsRequest, sel execution.ActivitySelector, mask map[string]bool) (*activitypb.ActivityOptions, error) {
	var out *activitypb.ActivityOptions
	merged := map[*execution.Activity]*activitypb.ActivityOptions{}
	check := func(_ *execution.State, a *execution.Activity) error {
		if r.RestoreOriginal {
			return nil
		}
		m, err := execution.MergeActivityOptions(execution.ActivityOptionsOf(a), r.ActivityOptions, mask)
		if err != nil {
			return serviceerror.NewInvalidArgument(err.Error())
		}
		if err := execution.CheckActivityOptions(m); err != nil {
			return serviceerror.NewInvalidArgument(err.Error())
		}
		merged[a] = m
		return nil
	}
	err := e.controlActivities(ctx, r.Namespace, r.Execution.GetWorkflowId(), r.Execution.GetRunId(), sel, check, func(st *execution.State, a *execution.Activity) error {
		if r.RestoreOriginal {
			out = st.RestoreActivityOptions(e.runNow(st), a)
		} else {
			out = st.UpdateActivityOptions(e.runNow(st), a, merged[a])
		}
		return nil
	})
	return out, err
}

// UpdateWorkflowOptions merges options into a run's (merge gets the
// current ones and returns the new) and records them. It answers the
// options in effect afterwards.
func (e *Engine) UpdateWorkflowOptions(ctx context.Context, ns string, ex *commonpb.WorkflowExecution, identity string, merge func(cur *workflowpb.WorkflowExecutionOptions) (*workflowpb.WorkflowExecutionOptions, error)) (*workflowpb.WorkflowExecutionOptions, error) {
	var out *workflowpb.WorkflowExecutionOptions
	var reroute func()
	err := e.mutate(ctx, ns, ex.GetWorkflowId(), func(w *workflow) error {
		st, err := openRun(w, ex.GetRunId())
		if err != nil {
			return err
		}
		o, err := merge(st.WorkflowOptions())
		if err != nil {
			return err
		}
		if !proto.Equal(o.GetVersioningOverride(), st.WorkflowOptions().GetVersioningOverride()) {
			if err := e.CheckPinnedOverride(ns, st.TaskQueue(), o.GetVersioningOverride()); err != nil {
				return err
			}
		}
		before := st.Routing()
		if _, err := st.UpdateWorkflowOptions(e.runNow(st), o, identity); err != nil {
			return stateErr(err)
		}
		out = st.WorkflowOptions()
		if after := st.Routing(); after != before {
			// A new versioning override: queued tasks follow it (deployments.go).
			id, runID, qs := st.WorkflowID, st.RunID, runQueues(st)
			reroute = func() { e.rerouteRun(ns, id, runID, after, qs) }
		}
		return nil
	})
	if err == nil && reroute != nil {
		reroute()
	}
	return out, err
}
