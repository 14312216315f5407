package torture

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// Standalone activities in the torture: SlowMixActivity(a, b) (0-2 s) started with
// client.ExecuteActivity under a fixed activity id and the REJECT_DUPLICATE
// reuse policy (a retried start answered "already started" is an
// acknowledgement, and can never start a second execution), its result
// awaited across kills. Verified: describe says COMPLETED with mix(a, b),
// and visibility lists exactly one execution of the id.
//
// Activity pause in the torture: ActPauseWorkflow's GatedActivity fails
// every 200 ms until the torture opens its gate; once it has failed twice
// it is paused (PauseActivity, one request id), must still be paused after
// the next kill and run no attempt while paused, then the gate opens, it is
// unpaused and the workflow returns the activity's result. Verified: the
// run completed with that result, one activity scheduled and completed
// once, none pending.

type actState struct {
	id       string
	a, b     uint64
	acked    bool
	overKill bool    // a kill came between the acknowledged start and the result
	result   *uint64 // what the client got
}

func (x *control) driveActivity(i int, rng *rand.Rand) {
	s := &actState{id: fmt.Sprintf("torture-act-%d-%d", x.seed, i), a: rng.Uint64(), b: rng.Uint64()}
	ms := rng.Intn(2000)
	x.acts[i] = s
	err := x.call(rng, 60*time.Second, func(ctx context.Context, c client.Client, _ int) (bool, error) {
		_, err := c.ExecuteActivity(ctx, client.StartActivityOptions{
			ID: s.id, TaskQueue: x.tq, StartToCloseTimeout: 5 * time.Second,
			ActivityIDReusePolicy: enumspb.ACTIVITY_ID_REUSE_POLICY_REJECT_DUPLICATE,
		}, SlowMixActivity, s.a, s.b, ms)
		var already *serviceerror.ActivityExecutionAlreadyStarted
		return err == nil || errors.As(err, &already), err
	})
	if err != nil {
		x.logf("torture: activity %s: start never acknowledged: %v", s.id, err)
		return
	}
	s.acked = true
	k := x.kills()
	var out uint64
	err = x.call(rng, 90*time.Second, func(ctx context.Context, c client.Client, _ int) (bool, error) {
		err := c.GetActivityHandle(client.GetActivityHandleOptions{ActivityID: s.id}).Get(ctx, &out)
		return err == nil, err
	})
	if err != nil {
		x.logf("torture: activity %s: result: %v", s.id, err)
		return
	}
	s.result = &out
	s.overKill = x.kills() > k
}

func (x *control) verifyActivity(v *verifier, s *actState) {
	f := &x.t.rep.Standalone
	if !s.acked {
		x.t.inc(&f.Unknown, 1)
		return
	}
	x.t.inc(&f.Acked, 1)
	if s.overKill {
		x.t.inc(&f.OverKill, 1)
	}
	want := mix(s.a, s.b)
	if s.result != nil && *s.result != want {
		x.wrong("activity %s: the client got %d, want %d", s.id, *s.result, want)
	}
	var d *client.ActivityExecutionDescription
	err := retry(v.ctx, func(ctx context.Context) (bool, error) {
		var err error
		d, err = v.c.GetActivityHandle(client.GetActivityHandleOptions{ActivityID: s.id}).Describe(ctx, client.DescribeActivityOptions{IncludeOutcome: true})
		return err == nil, err
	})
	if err != nil {
		x.lost(f, "activity %s: acknowledged start not described: %v", s.id, err)
		return
	}
	var got uint64
	if d.Status != enumspb.ACTIVITY_EXECUTION_STATUS_COMPLETED {
		x.lost(f, "activity %s: status %v after the run, want COMPLETED (the client got a result: %v)", s.id, d.Status, s.result != nil)
	} else if err := d.GetResult(&got); err != nil || got != want {
		x.wrong("activity %s: described result %d (%v), want %d", s.id, got, err, want)
	}
	var runs []string
	err = retry(v.ctx, func(ctx context.Context) (bool, error) {
		runs = nil
		res, err := v.c.ListActivities(ctx, client.ListActivitiesOptions{Query: fmt.Sprintf("ActivityId = '%s'", s.id)})
		if err != nil {
			return false, err
		}
		for info, err := range res.Results {
			if err != nil {
				return false, err
			}
			runs = append(runs, info.ActivityRunID)
		}
		return true, nil
	})
	switch {
	case err != nil:
		x.t.violate(&x.t.rep.Malformed, "activity %s: list: %v", s.id, err)
	case len(runs) > 1:
		x.dup(f, "activity %s: %d executions listed: %v", s.id, len(runs), runs)
	case len(runs) == 0:
		x.lost(f, "activity %s: not listed", s.id)
	}
}

type actPauseState struct {
	id             string
	started        bool
	pauseAcked     bool
	unpauseAcked   bool
	pausedOverKill bool
}

func (x *control) driveActPause(i int, rng *rand.Rand) {
	s := &actPauseState{id: fmt.Sprintf("torture-actpause-%d-%d", x.seed, i)}
	x.actPauses[i] = s
	g := gateOf(s.id)
	err := x.call(rng, 60*time.Second, func(ctx context.Context, c client.Client, _ int) (bool, error) {
		_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: s.id, TaskQueue: x.tq, WorkflowTaskTimeout: 5 * time.Second,
			WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			WorkflowExecutionErrorWhenAlreadyStarted: true,
		}, ActPauseWorkflow)
		var already *serviceerror.WorkflowExecutionAlreadyStarted
		return err == nil || errors.As(err, &already), err
	})
	if err != nil {
		x.logf("torture: %s: start never acknowledged: %v", s.id, err)
		return
	}
	s.started = true
	for x.ctx.Err() == nil && g.attempts.Load() < 2 {
		time.Sleep(50 * time.Millisecond)
	}
	err = x.call(rng, 60*time.Second, func(ctx context.Context, c client.Client, _ int) (bool, error) {
		_, err := c.WorkflowService().PauseActivity(ctx, &workflowservice.PauseActivityRequest{
			Namespace: "default", Execution: execOf(s.id), Activity: &workflowservice.PauseActivityRequest_Id{Id: gatedActivityID},
			Identity: "torture", Reason: "torture", RequestId: "pause-" + s.id,
		})
		return err == nil, err
	})
	if err != nil {
		x.logf("torture: %s: activity pause never acknowledged: %v", s.id, err)
	} else {
		s.pauseAcked = true
	}
	if s.pauseAcked {
		// An attempt dispatched before the pause may still end; none after.
		time.Sleep(time.Second)
		before := g.attempts.Load()
		x.afterKill(x.kills())
		err := x.call(rng, 30*time.Second, func(ctx context.Context, c client.Client, _ int) (bool, error) {
			d, err := c.DescribeWorkflowExecution(ctx, s.id, "")
			if err != nil {
				return false, err
			}
			paused := false
			for _, p := range d.PendingActivities {
				if p.ActivityId == gatedActivityID && p.Paused {
					paused = true
				}
			}
			if !paused {
				x.lost(&x.t.rep.ActPause, "%s: acknowledged activity pause not in effect after kill %d: %v", s.id, x.kills(), d.PendingActivities)
			} else {
				s.pausedOverKill = true
			}
			return true, nil
		})
		if err != nil {
			x.logf("torture: %s: describe while paused: %v", s.id, err)
		}
		if n := g.attempts.Load() - before; n > 0 {
			x.wrong("%s: the paused activity ran %d attempts", s.id, n)
		}
	}
	g.open.Store(true)
	err = x.call(rng, 60*time.Second, func(ctx context.Context, c client.Client, attempt int) (bool, error) {
		_, err := c.WorkflowService().UnpauseActivity(ctx, &workflowservice.UnpauseActivityRequest{
			Namespace: "default", Execution: execOf(s.id), Activity: &workflowservice.UnpauseActivityRequest_Id{Id: gatedActivityID},
			Identity: "torture",
		})
		return err == nil || notPausedAfterRetry(err, attempt), err
	})
	if err != nil {
		x.logf("torture: %s: activity unpause never acknowledged: %v", s.id, err)
	} else {
		s.unpauseAcked = true
	}
	var out string
	if err := x.result(rng, s.id, &out); err != nil {
		x.logf("torture: %s: result: %v", s.id, err)
	}
}

func (x *control) verifyActPause(v *verifier, s *actPauseState) {
	f := &x.t.rep.ActPause
	if !s.started {
		return
	}
	if !s.pauseAcked || !s.unpauseAcked {
		x.t.inc(&f.Unknown, 1)
	} else {
		x.t.inc(&f.Acked, 2)
	}
	if s.pausedOverKill {
		x.t.inc(&f.OverKill, 2)
	}
	evs := x.closedHistory(v, f, s.id, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
	if evs == nil {
		return
	}
	if n := countEvents(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED); n != 1 {
		x.t.violate(&x.t.rep.Malformed, "%s: %d activities scheduled, want 1", s.id, n)
	}
	if n := countEvents(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED); n != 1 {
		x.dup(f, "%s: activity completed %d times", s.id, n)
	}
	var out string
	ctx, cancel := context.WithTimeout(v.ctx, 10*time.Second)
	defer cancel()
	if err := v.c.GetWorkflow(ctx, s.id, "").Get(ctx, &out); err != nil || out != "opened:"+s.id {
		x.wrong("%s: result %q (%v), want %q", s.id, out, err, "opened:"+s.id)
	}
}
