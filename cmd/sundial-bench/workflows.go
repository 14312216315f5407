package main

import (
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/workflow"
)

// The workflows are deliberately trivial: the benchmark measures the
// server's bookkeeping (history, task dispatch, timers, messages), not user
// code.

var activityOpts = workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second}

// Echo is the one activity every activity scenario runs.
func Echo(_ context.Context, s string) (string, error) { return s, nil }

// OneActivity runs a single activity.
func OneActivity(ctx workflow.Context) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, activityOpts)
	var out string
	err := workflow.ExecuteActivity(ctx, Echo, "hello").Get(ctx, &out)
	return out, err
}

// TenActivities runs ten activities one after another, so each waits for
// the previous result: a test of per-step latency inside one workflow.
func TenActivities(ctx workflow.Context) (int, error) {
	ctx = workflow.WithActivityOptions(ctx, activityOpts)
	n := 0
	for i := 0; i < 10; i++ {
		var out string
		if err := workflow.ExecuteActivity(ctx, Echo, "step").Get(ctx, &out); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// ShortTimer sleeps 1 ms: the latency is dominated by how fast the server
// fires timers and dispatches the follow-up task.
func ShortTimer(ctx workflow.Context) error {
	return workflow.Sleep(ctx, time.Millisecond)
}

// ThreeSignals completes after it has received three "sig" signals.
func ThreeSignals(ctx workflow.Context) (int, error) {
	ch := workflow.GetSignalChannel(ctx, "sig")
	sum := 0
	for i := 0; i < 3; i++ {
		var v int
		ch.Receive(ctx, &v)
		sum += v
	}
	return sum, nil
}

// OneSignal completes after one "sig" signal; used by signal-with-start.
func OneSignal(ctx workflow.Context) (int, error) {
	var v int
	workflow.GetSignalChannel(ctx, "sig").Receive(ctx, &v)
	return v, nil
}

// Parent runs one child workflow and returns its result.
func Parent(ctx workflow.Context) (string, error) {
	var out string
	err := workflow.ExecuteChildWorkflow(ctx, Child, "child").Get(ctx, &out)
	return out, err
}

// Child returns at once.
func Child(_ workflow.Context, s string) (string, error) { return s, nil }

// MessageTarget stays open serving the "inc" update and the "count" query
// until it gets a "done" signal; the update and query scenarios aim at it.
func MessageTarget(ctx workflow.Context) (int, error) {
	n := 0
	if err := workflow.SetUpdateHandler(ctx, "inc", func(_ workflow.Context, d int) (int, error) {
		n += d
		return n, nil
	}); err != nil {
		return 0, err
	}
	if err := workflow.SetQueryHandler(ctx, "count", func() (int, error) { return n, nil }); err != nil {
		return 0, err
	}
	workflow.GetSignalChannel(ctx, "done").Receive(ctx, nil)
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return n, err
	}
	return n, nil
}

// parked records the IDs of Parked workflows whose first workflow task ran
// in this process. It is a side effect in workflow code, harmless here: a
// replay stores the same key again, and it lets open10k know when every
// workflow is really open on the server, not merely accepted.
var parked sync.Map

// Parked blocks until a "done" signal; open10k keeps thousands of these open.
func Parked(ctx workflow.Context) error {
	parked.Store(workflow.GetInfo(ctx).WorkflowExecution.ID, struct{}{})
	workflow.GetSignalChannel(ctx, "done").Receive(ctx, nil)
	return nil
}

// Sleeper runs one activity and then sleeps for d, answering the "pokes"
// query and counting "poke" signals meanwhile: the shape of subscriptions,
// reminders and approvals that stay open for days. The sleepers scenario
// keeps a million of these open (most of them written straight into the
// store with the history this code produces; see sleepers.go).
func Sleeper(ctx workflow.Context, d time.Duration) (int, error) {
	pokes := 0
	if err := workflow.SetQueryHandler(ctx, "pokes", func() (int, error) { return pokes, nil }); err != nil {
		return 0, err
	}
	ch := workflow.GetSignalChannel(ctx, "poke")
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			ch.Receive(ctx, nil)
			pokes++
		}
	})
	ctx = workflow.WithActivityOptions(ctx, activityOpts)
	var out string
	if err := workflow.ExecuteActivity(ctx, Echo, "hello").Get(ctx, &out); err != nil {
		return pokes, err
	}
	if err := workflow.Sleep(ctx, d); err != nil {
		return pokes, err
	}
	return pokes, nil
}
