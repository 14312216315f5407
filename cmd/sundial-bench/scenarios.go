package main

import (
	"context"
	"fmt"
	"strings"

	"go.temporal.io/sdk/worker"
)

// scenario is one benchmark: the workflows its worker registers on a task
// queue of its own (none when register is nil), and the client side that
// drives them.
type scenario struct {
	name     string
	unit     string // "wf/s" or "ops/s": what rate counts
	register func(worker.Registry)
	run      func(ctx context.Context, e *env) outcome
	// optIn scenarios run only when -scenarios names them (they take
	// minutes), never as part of "all".
	optIn bool
}

// outcome is what a scenario measured: main is the phase whose rate and
// latency are reported; err is a failure outside main (setup, cleanup).
type outcome struct {
	main  phase
	extra map[string]float64
	notes []string
	err   error
}

// scenarios lists every scenario in run order; open10k is last because it
// leaves the most state behind in the server.
var scenarios = []scenario{
	{name: "activity", unit: "wf/s", register: regWF(OneActivity), run: startToResult(OneActivity)},
	{name: "activities10", unit: "wf/s", register: regWF(TenActivities), run: startToResult(TenActivities)},
	{name: "timer", unit: "wf/s", register: regWF(ShortTimer), run: startToResult(ShortTimer)},
	{name: "signals", unit: "wf/s", register: regWF(ThreeSignals), run: runSignals},
	{name: "update", unit: "ops/s", register: regWF(MessageTarget), run: runUpdates},
	{name: "query", unit: "ops/s", register: regWF(MessageTarget), run: runQueries},
	{name: "signalwithstart", unit: "wf/s", register: regWF(OneSignal), run: runSignalWithStart},
	{name: "child", unit: "wf/s", register: regWF(Parent, Child), run: startToResult(Parent)},
	{name: "list", unit: "ops/s", run: runListNewest},
	{name: "count", unit: "ops/s", run: runCount},
	{name: "countqueue", unit: "ops/s", run: runCountQueue},
	{name: "countscan", unit: "ops/s", run: runCountScan},
	{name: "open10k", unit: "wf/s", register: regWF(Parked), run: runOpen},
	{name: "schedburst", unit: "wf/s", run: runSchedBurst, optIn: true},
	// sleepers restarts the server, so it runs alone (runSleepersMode).
	{name: "sleepers", unit: "ops/s", optIn: true},
}

func scenarioNames() []string {
	var n []string
	for _, s := range scenarios {
		n = append(n, s.name)
	}
	return n
}

// selectScenarios parses -scenarios, keeping the canonical run order.
func selectScenarios(list string) ([]scenario, error) {
	if list == "" || list == "all" {
		var out []scenario
		for _, s := range scenarios {
			if !s.optIn {
				out = append(out, s)
			}
		}
		return out, nil
	}
	want := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		found := false
		for _, s := range scenarios {
			found = found || s.name == n
		}
		if !found {
			return nil, fmt.Errorf("unknown scenario %q (have %s)", n, strings.Join(scenarioNames(), ","))
		}
		want[n] = true
	}
	var out []scenario
	for _, s := range scenarios {
		if want[s.name] {
			out = append(out, s)
		}
	}
	return out, nil
}

// regWF registers the given workflows plus the Echo activity.
func regWF(wfs ...any) func(worker.Registry) {
	return func(r worker.Registry) {
		for _, wf := range wfs {
			r.RegisterWorkflow(wf)
		}
		r.RegisterActivity(Echo)
	}
}

// startToResult measures workflows that need nothing but a start: the time
// from ExecuteWorkflow to the result arriving at the client.
func startToResult(wf any) func(context.Context, *env) outcome {
	return func(ctx context.Context, e *env) outcome {
		p := e.warmThenMeasure(ctx, func(ctx context.Context, _, i int) error {
			run, err := e.c.ExecuteWorkflow(ctx, e.startOpts(i), wf)
			if err != nil {
				return fmt.Errorf("start: %w", err)
			}
			if err := run.Get(ctx, nil); err != nil {
				return fmt.Errorf("result: %w", err)
			}
			return nil
		})
		return outcome{main: p}
	}
}

// runSignals starts ThreeSignals, sends it three signals and waits for the
// result; latency covers all five calls.
func runSignals(ctx context.Context, e *env) outcome {
	p := e.warmThenMeasure(ctx, func(ctx context.Context, _, i int) error {
		run, err := e.c.ExecuteWorkflow(ctx, e.startOpts(i), ThreeSignals)
		if err != nil {
			return fmt.Errorf("start: %w", err)
		}
		for k := 1; k <= 3; k++ {
			if err := e.c.SignalWorkflow(ctx, run.GetID(), "", "sig", k); err != nil {
				return fmt.Errorf("signal %d: %w", k, err)
			}
		}
		var sum int
		if err := run.Get(ctx, &sum); err != nil {
			return fmt.Errorf("result: %w", err)
		}
		if sum != 6 {
			return fmt.Errorf("result %d, want 6 (a signal was lost or duplicated)", sum)
		}
		return nil
	})
	return outcome{main: p}
}

// runSignalWithStart measures SignalWithStartWorkflow of a new workflow
// through to its result.
func runSignalWithStart(ctx context.Context, e *env) outcome {
	p := e.warmThenMeasure(ctx, func(ctx context.Context, _, i int) error {
		run, err := e.c.SignalWithStartWorkflow(ctx, e.id(i), "sig", 7, e.startOpts(i), OneSignal)
		if err != nil {
			return fmt.Errorf("signal-with-start: %w", err)
		}
		var v int
		if err := run.Get(ctx, &v); err != nil {
			return fmt.Errorf("result: %w", err)
		}
		if v != 7 {
			return fmt.Errorf("result %d, want 7", v)
		}
		return nil
	})
	return outcome{main: p}
}

// warmThenMeasure runs -warmup unmeasured operations first (numbered after
// the measured ones, so IDs stay unique): without them the first scenario
// pays for connection set-up and cold server caches, and differs between
// identical runs by tens of percent.
func (e *env) warmThenMeasure(ctx context.Context, op opFunc) phase {
	if w := min(e.cfg.warmup, e.cfg.count); w > 0 {
		wp := runOps(ctx, w, e.cfg.concurrency, e.cfg.opTimeout, func(ctx context.Context, g, i int) error {
			return op(ctx, g, e.cfg.count+i)
		})
		if wp.firstErr != nil {
			wp.firstErr = fmt.Errorf("warm-up: %w", wp.firstErr)
			return wp
		}
	}
	return runOps(ctx, e.cfg.count, e.cfg.concurrency, e.cfg.opTimeout, op)
}
