package main

import (
	"context"
	"fmt"

	"go.temporal.io/api/workflowservice/v1"
)

// The visibility scenarios time single list and count requests (one at a
// time: the question is how long a user waits for an answer, not how many
// answers a second the server gives). With -prefill they run against a
// store of that many workflows; otherwise against whatever the earlier
// scenarios left.

// Count queries: two that the workflow type and task queue indexes answer
// by counting keys, and one no index answers (a workflow id prefix: every
// run's summary is read). They name what prefillRun writes.
var (
	countIndexedQuery = "WorkflowType = 'OneActivity' AND ExecutionStatus = 'Completed'"
	countQueueQuery   = "TaskQueue = '" + prefillQueue(3) + "'"
	countScanQuery    = "WorkflowId STARTS_WITH 'prefill-1'"
)

// visOps is how many requests a visibility scenario makes.
func visOps(cfg *config, scan bool) int {
	if scan {
		return max(3, cfg.visCount/10)
	}
	return cfg.visCount
}

// runListNewest asks for the newest 100 workflows of the namespace, the
// first page of `temporal workflow list` and of the Web UI.
func runListNewest(ctx context.Context, e *env) outcome {
	ns := e.cfg.namespace
	var last int
	p := runOps(ctx, visOps(e.cfg, false), 1, e.cfg.opTimeout, func(ctx context.Context, _, _ int) error {
		resp, err := e.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: ns, PageSize: 100})
		if err != nil {
			return err
		}
		if n := len(resp.Executions); n < 100 && len(resp.NextPageToken) > 0 {
			return fmt.Errorf("page of %d with a next page token, want 100", n)
		}
		last = len(resp.Executions)
		return nil
	})
	return outcome{main: p, extra: map[string]float64{"listed": float64(last)}}
}

// runCount, runCountQueue and runCountScan time CountWorkflow with the
// queries above.
func runCount(ctx context.Context, e *env) outcome {
	return timeCount(ctx, e, countIndexedQuery, false)
}
func runCountQueue(ctx context.Context, e *env) outcome {
	return timeCount(ctx, e, countQueueQuery, false)
}
func runCountScan(ctx context.Context, e *env) outcome {
	return timeCount(ctx, e, countScanQuery, true)
}

func timeCount(ctx context.Context, e *env, query string, scan bool) outcome {
	var got int64
	p := runOps(ctx, visOps(e.cfg, scan), 1, e.cfg.opTimeout, func(ctx context.Context, _, _ int) error {
		resp, err := e.c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: e.cfg.namespace, Query: query})
		if err != nil {
			return err
		}
		got = resp.Count
		return nil
	})
	return outcome{main: p, extra: map[string]float64{"matched": float64(got)}, notes: []string{"query: " + query}}
}
