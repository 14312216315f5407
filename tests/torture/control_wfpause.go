package torture

import (
	"context"
	"fmt"
	"math/rand"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// Workflow pause in the torture: a WaiterWorkflow is paused (one request
// id, retried), poked while paused, must still be PAUSED after the next
// kill, is unpaused and finished. Verified: exactly one paused and one
// unpaused event, no workflow task scheduled between them, the poke
// delivered once, the run completed.

type wfPauseState struct {
	id             string
	started        bool
	pauseAcked     bool
	unpauseAcked   bool
	pokeAcked      bool
	pausedOverKill bool // describe after a kill said PAUSED
}

func (x *control) driveWfPause(i int, rng *rand.Rand) {
	s := &wfPauseState{id: fmt.Sprintf("torture-wfpause-%d-%d", x.seed, i)}
	x.wfPauses[i] = s
	if s.started = x.startWaiter(rng, s.id); !s.started {
		return
	}
	err := x.call(rng, 60*time.Second, func(ctx context.Context, c client.Client, _ int) (bool, error) {
		_, err := c.WorkflowService().PauseWorkflowExecution(ctx, &workflowservice.PauseWorkflowExecutionRequest{
			Namespace: "default", WorkflowId: s.id, Identity: "torture", Reason: "torture", RequestId: "pause-" + s.id,
		})
		return err == nil, err
	})
	if err != nil {
		x.logf("torture: %s: pause never acknowledged: %v", s.id, err)
	} else {
		s.pauseAcked = true
	}
	k := x.kills()
	if err := x.signal(rng, s.id, pokeSignal, "paused-poke"); err == nil {
		s.pokeAcked = true
	}
	if s.pauseAcked {
		x.afterKill(k)
		err := x.call(rng, 30*time.Second, func(ctx context.Context, c client.Client, _ int) (bool, error) {
			d, err := c.DescribeWorkflowExecution(ctx, s.id, "")
			if err != nil {
				return false, err
			}
			if st := d.WorkflowExecutionInfo.GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_PAUSED {
				x.lost(&x.t.rep.WfPause, "%s: acknowledged pause not in effect after kill %d: status %v", s.id, x.kills(), st)
			} else {
				s.pausedOverKill = true
			}
			return true, nil
		})
		if err != nil {
			x.logf("torture: %s: describe while paused: %v", s.id, err)
		}
	}
	err = x.call(rng, 60*time.Second, func(ctx context.Context, c client.Client, attempt int) (bool, error) {
		_, err := c.WorkflowService().UnpauseWorkflowExecution(ctx, &workflowservice.UnpauseWorkflowExecutionRequest{
			Namespace: "default", WorkflowId: s.id, Identity: "torture", Reason: "torture", RequestId: "unpause-" + s.id,
		})
		return err == nil || notPausedAfterRetry(err, attempt), err
	})
	if err != nil {
		x.logf("torture: %s: unpause never acknowledged: %v", s.id, err)
	} else {
		s.unpauseAcked = true
	}
	if err := x.signal(rng, s.id, finishSignal, nil); err != nil {
		x.logf("torture: %s: finish: %v", s.id, err)
	}
	var n int
	if err := x.result(rng, s.id, &n); err != nil {
		x.logf("torture: %s: result: %v", s.id, err)
	}
}

func (x *control) verifyWfPause(v *verifier, s *wfPauseState) {
	f := &x.t.rep.WfPause
	if !s.started {
		return
	}
	if !s.pauseAcked || !s.unpauseAcked {
		x.t.inc(&f.Unknown, 1)
	} else {
		x.t.inc(&f.Acked, 2) // the pause and the unpause
	}
	if s.pausedOverKill {
		x.t.inc(&f.OverKill, 2)
	}
	evs := x.closedHistory(v, f, s.id, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
	if evs == nil {
		return
	}
	np, nu := countEvents(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_PAUSED), countEvents(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UNPAUSED)
	for _, c := range []struct {
		name  string
		n     int
		acked bool
	}{{"paused", np, s.pauseAcked}, {"unpaused", nu, s.unpauseAcked}} {
		switch {
		case c.n > 1:
			x.dup(f, "%s: %d %s events for one acknowledged call", s.id, c.n, c.name)
		case c.n == 0 && c.acked:
			x.lost(f, "%s: acknowledged call has no %s event", s.id, c.name)
		}
	}
	// No workflow code ran while paused.
	inPause := false
	for _, ev := range evs {
		switch ev.EventType {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_PAUSED:
			inPause = true
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UNPAUSED:
			inPause = false
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			if inPause {
				x.wrong("%s: %v at event %d while the run was paused", s.id, ev.EventType, ev.EventId)
			}
		}
	}
	p := pokes(evs)
	switch n := p["paused-poke"]; {
	case n > 1:
		x.dup(f, "%s: the poke sent while paused was applied %d times", s.id, n)
	case n == 0 && s.pokeAcked:
		x.lost(f, "%s: acknowledged poke sent while paused not applied", s.id)
	}
	var res int
	ctx, cancel := context.WithTimeout(v.ctx, 10*time.Second)
	defer cancel()
	if err := v.c.GetWorkflow(ctx, s.id, "").Get(ctx, &res); err != nil || res != p["paused-poke"] {
		x.wrong("%s: result %d (%v), history has %d pokes", s.id, res, err, p["paused-poke"])
	}
}
