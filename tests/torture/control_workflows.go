package torture

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Workflows and activities of the operator-control part of the mix
// (control.go): workflow pause, batch operations, standalone activities
// and activity pause.

const (
	pokeSignal   = "poke"
	finishSignal = "finish"
	// gatedActivityID is the activity id ActPauseWorkflow gives its one
	// activity, which PauseActivity and UnpauseActivity name.
	gatedActivityID = "gated"
)

// WaiterWorkflow counts the "poke" signals it receives until "finish" and
// returns the count. The workflow pause and the batch jobs act on it.
func WaiterWorkflow(ctx workflow.Context) (int, error) {
	poke := workflow.GetSignalChannel(ctx, pokeSignal)
	fin := workflow.GetSignalChannel(ctx, finishSignal)
	n, finished := 0, false
	for !finished {
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(poke, func(c workflow.ReceiveChannel, _ bool) {
			var s string
			c.Receive(ctx, &s)
			n++
		})
		sel.AddReceive(fin, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, nil)
			finished = true
		})
		sel.Select(ctx)
	}
	for {
		var s string
		if !poke.ReceiveAsync(&s) {
			break
		}
		n++
	}
	return n, nil
}

// gates holds, per workflow id, whether its GatedActivity may succeed
// (the torture opens the gate just before UnpauseActivity) and how many
// attempts it has run. The workers run in the torture's process, so a map
// is enough.
var gates sync.Map // workflow id -> *gate

type gate struct {
	open     atomic.Bool
	attempts atomic.Int64
}

func gateOf(id string) *gate {
	g, _ := gates.LoadOrStore(id, &gate{})
	return g.(*gate)
}

// GatedActivity fails (retryably) until the gate of its workflow is open.
func GatedActivity(ctx context.Context) (string, error) {
	id := activity.GetInfo(ctx).WorkflowExecution.ID
	g := gateOf(id)
	g.attempts.Add(1)
	if !g.open.Load() {
		return "", errors.New("gate closed")
	}
	return "opened:" + id, nil
}

// SlowMixActivity is MixActivity after a sleep of ms milliseconds, so that
// kills fall inside standalone activities.
func SlowMixActivity(ctx context.Context, a, b uint64, ms int) (uint64, error) {
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(time.Duration(ms) * time.Millisecond):
	}
	return MixActivity(ctx, a, b)
}

// ActPauseWorkflow runs GatedActivity, retried every 200 ms, and returns
// its result.
func ActPauseWorkflow(ctx workflow.Context) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		ActivityID:          gatedActivityID,
		StartToCloseTimeout: 5 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 200 * time.Millisecond, BackoffCoefficient: 1, MaximumInterval: 200 * time.Millisecond,
		},
	})
	var out string
	err := workflow.ExecuteActivity(ctx, GatedActivity).Get(ctx, &out)
	return out, err
}
