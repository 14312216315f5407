package main

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/client"
)

// targets are the long-running MessageTarget workflows that the update and
// query scenarios aim at: one per client goroutine, so every round trip is
// measured on a workflow with no other message in flight.
func startTargets(ctx context.Context, e *env, warm func(ctx context.Context, id string) error) (int, error) {
	k := min(e.cfg.concurrency, e.cfg.count)
	p := runOps(ctx, k, k, e.cfg.opTimeout, func(ctx context.Context, _, i int) error {
		if _, err := e.c.ExecuteWorkflow(ctx, e.startOpts(i), MessageTarget); err != nil {
			return fmt.Errorf("start target: %w", err)
		}
		// One unmeasured round trip, so the first workflow task's latency is
		// not billed to the first measured operation.
		if err := warm(ctx, e.id(i)); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
		return nil
	})
	return k, p.err()
}

// finishTargets signals every target to complete and returns the sum of
// their results (each result is how many updates that workflow applied).
func finishTargets(ctx context.Context, e *env, k int) (int, error) {
	// Finish even when the scenario's deadline has passed, so no target is
	// left open; every call is still bounded by -op-timeout.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*e.cfg.opTimeout)
	defer cancel()
	results := make([]int, k)
	p := runOps(ctx, k, k, e.cfg.opTimeout, func(ctx context.Context, _, i int) error {
		if err := e.c.SignalWorkflow(ctx, e.id(i), "", "done", nil); err != nil {
			return fmt.Errorf("signal done: %w", err)
		}
		return e.c.GetWorkflow(ctx, e.id(i), "").Get(ctx, &results[i])
	})
	sum := 0
	for _, r := range results {
		sum += r
	}
	if err := p.err(); err != nil {
		return sum, fmt.Errorf("finishing targets: %w", err)
	}
	return sum, nil
}

func update(ctx context.Context, c client.Client, id string, d int) (int, error) {
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   id,
		UpdateName:   "inc",
		Args:         []any{d},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return 0, err
	}
	var n int
	err = h.Get(ctx, &n)
	return n, err
}

// runUpdates measures UpdateWorkflow (wait for Completed) round trips and
// checks afterwards that every update was applied exactly once.
func runUpdates(ctx context.Context, e *env) outcome {
	k, err := startTargets(ctx, e, func(ctx context.Context, id string) error {
		_, err := update(ctx, e.c, id, 0)
		return err
	})
	if err != nil {
		return outcome{err: err}
	}
	p := runOps(ctx, e.cfg.count, k, e.cfg.opTimeout, func(ctx context.Context, g, _ int) error {
		n, err := update(ctx, e.c, e.id(g), 1)
		if err == nil && n < 1 {
			err = fmt.Errorf("update returned %d, want >= 1", n)
		}
		return err
	})
	sum, err := finishTargets(ctx, e, k)
	if err == nil && p.errs == 0 && sum != len(p.lat) {
		err = fmt.Errorf("workflows applied %d updates, client saw %d complete", sum, len(p.lat))
	}
	return outcome{main: p, err: err}
}

// runQueries measures QueryWorkflow round trips on open workflows.
func runQueries(ctx context.Context, e *env) outcome {
	query := func(ctx context.Context, id string) error {
		v, err := e.c.QueryWorkflow(ctx, id, "", "count")
		if err != nil {
			return err
		}
		var n int
		return v.Get(&n)
	}
	k, err := startTargets(ctx, e, query)
	if err != nil {
		return outcome{err: err}
	}
	p := runOps(ctx, e.cfg.count, k, e.cfg.opTimeout, func(ctx context.Context, g, _ int) error {
		return query(ctx, e.id(g))
	})
	_, err = finishTargets(ctx, e, k)
	return outcome{main: p, err: err}
}
