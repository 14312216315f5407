package torture

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// The torture workflow. Every value it produces is a pure function of its
// Plan (so the client knows the expected result) plus the signals and
// updates it received, which it returns so the client can compare them with
// what it sent.

const (
	signalName = "sig"
	doneSignal = "done"
	updateName = "upd"
	// notFinalType is the error type of the update validator's rejection in
	// every run but the last: updates are only accepted in the last run of
	// the continue-as-new chain, so a retried update id can only ever be
	// applied in one run.
	notFinalType = "NotFinal"
)

// Plan is what the client decides about one workflow before starting it.
type Plan struct {
	ID    string
	Seed  uint64
	Runs  int // runs in the continue-as-new chain (>= 1)
	Steps int // steps per run; each is an activity, a timer or a child
}

// Rec is one signal or update as seen by the workflow: its id (the signal
// payload or the update id) and the run that applied it.
type Rec struct {
	ID  string
	Run string
}

// Input is the workflow argument; runs after the first carry the state of
// the previous runs.
type Input struct {
	Plan    Plan
	Run     int
	Value   uint64
	Done    bool
	Signals []Rec
	Updates []Rec
	RunIDs  []string
}

// Result is what the last run returns.
type Result struct {
	Value   uint64
	Signals []Rec
	Updates []Rec
	RunIDs  []string // every run of the chain, first to last
}

// mix is splitmix64 over a and b: the deterministic "computation".
func mix(a, b uint64) uint64 {
	z := a ^ (b+0x9e3779b97f4a7c15)*0xbf58476d1ce4e5b9
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

type stepKind int

const (
	stepActivity stepKind = iota
	stepTimer
	stepChild
)

func kindOf(p Plan, run, step int) stepKind {
	return stepKind(mix(p.Seed, uint64(run*1000+step)) % 3)
}

func timerOf(p Plan, run, step int) time.Duration {
	return time.Duration(10+mix(p.Seed, uint64(run*1000+step+500))%150) * time.Millisecond
}

// childValue is what ChildWorkflow returns for x.
func childValue(x uint64) uint64 { return mix(mix(x, 1), 2) }

// Expected is the Value the last run of p returns.
func Expected(p Plan) uint64 {
	v := p.Seed
	for run := 0; run < p.Runs; run++ {
		for step := 0; step < p.Steps; step++ {
			v = applyStep(p, run, step, v)
		}
	}
	return v
}

// applyStep is the pure effect of one step on v (activities and children
// compute the same function remotely).
func applyStep(p Plan, run, step int, v uint64) uint64 {
	switch kindOf(p, run, step) {
	case stepActivity:
		return mix(v, uint64(step))
	case stepTimer:
		return mix(v, uint64(1000+step))
	default:
		return childValue(mix(v, uint64(2000+step)))
	}
}

// MixActivity computes mix(a, b). Some inputs fail their first attempt so
// activity retries are exercised too.
func MixActivity(ctx context.Context, a, b uint64) (uint64, error) {
	if activity.GetInfo(ctx).Attempt == 1 && mix(a, b)%5 == 0 {
		return 0, errors.New("first attempt fails on purpose")
	}
	return mix(a, b), nil
}

func activityCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    50 * time.Millisecond,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Second,
		},
	})
}

// ChildWorkflow returns childValue(x) through an activity and a timer.
func ChildWorkflow(ctx workflow.Context, x uint64) (uint64, error) {
	var y uint64
	if err := workflow.ExecuteActivity(activityCtx(ctx), MixActivity, x, uint64(1)).Get(ctx, &y); err != nil {
		return 0, err
	}
	if err := workflow.Sleep(ctx, 20*time.Millisecond); err != nil {
		return 0, err
	}
	return mix(y, 2), nil
}

// TortureWorkflow runs Plan.Steps steps, continues as new until Plan.Runs
// runs are done, then waits for the "done" signal and returns everything it
// received.
func TortureWorkflow(ctx workflow.Context, in Input) (Result, error) {
	p := in.Plan
	runID := workflow.GetInfo(ctx).WorkflowExecution.RunID
	final := in.Run == p.Runs-1
	sigs, upds, done := in.Signals, in.Updates, in.Done
	runIDs := append(in.RunIDs, runID)

	err := workflow.SetUpdateHandlerWithOptions(ctx, updateName, func(ctx workflow.Context, sleepMs int) (string, error) {
		id := workflow.GetCurrentUpdateInfo(ctx).ID
		upds = append(upds, Rec{ID: id, Run: runID})
		if sleepMs > 0 {
			if err := workflow.Sleep(ctx, time.Duration(sleepMs)*time.Millisecond); err != nil {
				return "", err
			}
		}
		return "ok:" + id, nil
	}, workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, sleepMs int) error {
		if !final {
			return temporal.NewApplicationError("update before the last run", notFinalType)
		}
		return nil
	}})
	if err != nil {
		return Result{}, err
	}

	// Everything is received by this (the main) coroutine: it drains the
	// signal channels whenever it wakes up, and before continuing as new or
	// returning. (A second coroutine blocked in a Selector on the channel can
	// be handed a signal that is then never processed when the main
	// coroutine completes the run in the same workflow task.)
	sigCh := workflow.GetSignalChannel(ctx, signalName)
	doneCh := workflow.GetSignalChannel(ctx, doneSignal)
	drain := func() {
		var s string
		for sigCh.ReceiveAsync(&s) {
			sigs = append(sigs, Rec{ID: s, Run: runID})
		}
		for doneCh.ReceiveAsync(nil) {
			done = true
		}
	}
	waitUntil := func(cond func() bool) error {
		for {
			drain()
			if cond() {
				return nil
			}
			if err := workflow.Await(ctx, func() bool { return cond() || sigCh.Len() > 0 || doneCh.Len() > 0 }); err != nil {
				return err
			}
		}
	}
	get := func(f workflow.Future, v any) error {
		if err := waitUntil(f.IsReady); err != nil {
			return err
		}
		return f.Get(ctx, v)
	}

	v := in.Value
	if in.Run == 0 {
		v = p.Seed
	}
	for step := 0; step < p.Steps; step++ {
		switch kindOf(p, in.Run, step) {
		case stepActivity:
			if err := get(workflow.ExecuteActivity(activityCtx(ctx), MixActivity, v, uint64(step)), &v); err != nil {
				return Result{}, err
			}
		case stepTimer:
			if err := get(workflow.NewTimer(ctx, timerOf(p, in.Run, step)), nil); err != nil {
				return Result{}, err
			}
			v = mix(v, uint64(1000+step))
		case stepChild:
			cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
				WorkflowID:          fmt.Sprintf("%s-c%d-%d", p.ID, in.Run, step),
				WorkflowTaskTimeout: 5 * time.Second,
			})
			if err := get(workflow.ExecuteChildWorkflow(cctx, ChildWorkflow, mix(v, uint64(2000+step))), &v); err != nil {
				return Result{}, err
			}
		}
	}

	if !final {
		if err := waitUntil(func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
			return Result{}, err
		}
		drain()
		return Result{}, workflow.NewContinueAsNewError(ctx, TortureWorkflow, Input{
			Plan: p, Run: in.Run + 1, Value: v, Done: done, Signals: sigs, Updates: upds, RunIDs: runIDs,
		})
	}
	if err := waitUntil(func() bool { return done && workflow.AllHandlersFinished(ctx) }); err != nil {
		return Result{}, err
	}
	drain()
	return Result{Value: v, Signals: sigs, Updates: upds, RunIDs: runIDs}, nil
}

// counts returns how often each id occurs in recs, and per id the runs.
func counts(recs []Rec) map[string][]string {
	out := map[string][]string{}
	for _, r := range recs {
		out[r.ID] = append(out[r.ID], r.Run)
	}
	for _, runs := range out {
		sort.Strings(runs)
	}
	return out
}
