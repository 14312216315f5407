package torture

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
)

// The operator-control part of the mix: workflow pause/unpause, batch
// signal and terminate jobs, standalone activities and activity
// pause/unpause, each driven while the server is SIGKILLed (alongside the
// workflow load) and verified after the final kill from describe, history
// and list. Each feature counts its acknowledged operations and what was
// lost or duplicated (FeatureCount); a violation also counts in the
// report's Lost / Duplicated / WrongResult, so it fails the run.

// FeatureCount is the tally of one feature of the control mix.
type FeatureCount struct {
	Acked      int // acknowledged operations verified
	Unknown    int // never acknowledged (not verified for exactness)
	Lost       int
	Duplicated int
	// OverKill counts the operations a kill fell into: between the
	// acknowledgement and the effect's end (a pause over a kill, a batch
	// job running at a kill, an activity started before a kill and done
	// after it).
	OverKill int
}

func (f FeatureCount) String() string {
	return fmt.Sprintf("%d acknowledged (%d over a kill), %d unknown, %d lost, %d duplicated", f.Acked, f.OverKill, f.Unknown, f.Lost, f.Duplicated)
}

// control drives and verifies the control mix.
type control struct {
	cs    []client.Client
	tq    string
	seed  int64
	ctx   context.Context // the load + drain bound
	t     *tally
	logf  func(string, ...any)
	kills func() int64 // kills done so far
	// killing reports whether kills are still to come.
	killing func() bool

	wfPauses  []*wfPauseState
	batches   []*batchState
	acts      []*actState
	actPauses []*actPauseState
}

func (x *control) pick(rng *rand.Rand) client.Client {
	if len(x.cs) == 1 {
		return x.cs[0]
	}
	return x.cs[rng.Intn(len(x.cs))]
}

// call retries fn through random clients until it reports done (an
// acknowledgement, possibly an error that means an earlier attempt got
// through: call then returns nil) or the bound ends; attempt counts the
// calls made before this one.
func (x *control) call(rng *rand.Rand, bound time.Duration, fn func(ctx context.Context, c client.Client, attempt int) (bool, error)) error {
	ctx, cancel := context.WithTimeout(x.ctx, bound)
	defer cancel()
	attempt := 0
	return retry(ctx, func(ctx context.Context) (bool, error) {
		done, err := fn(ctx, x.pick(rng), attempt)
		attempt++
		if done {
			return true, nil
		}
		x.t.inc(&x.t.rep.ControlRetries, 1)
		return false, err
	})
}

// afterKill waits until a kill after the k-th is done (so that a state
// acknowledged before it must have been read back from disk), or no kill
// is left to come.
func (x *control) afterKill(k int64) {
	for x.ctx.Err() == nil && x.kills() <= k && x.killing() {
		time.Sleep(100 * time.Millisecond)
	}
}

// lost, dup and wrong record a violation in a feature's tally and the
// report's.
func (x *control) lost(f *FeatureCount, format string, args ...any) {
	x.t.inc(&f.Lost, 1)
	x.t.violate(&x.t.rep.Lost, format, args...)
}

func (x *control) dup(f *FeatureCount, format string, args ...any) {
	x.t.inc(&f.Duplicated, 1)
	x.t.violate(&x.t.rep.Duplicated, format, args...)
}

func (x *control) wrong(format string, args ...any) {
	x.t.violate(&x.t.rep.WrongResult, format, args...)
}

// startWaiter starts a WaiterWorkflow, retried; "already started" after a
// retry is an acknowledgement too.
func (x *control) startWaiter(rng *rand.Rand, id string) bool {
	err := x.call(rng, 60*time.Second, func(ctx context.Context, c client.Client, _ int) (bool, error) {
		_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: id, TaskQueue: x.tq, WorkflowTaskTimeout: 5 * time.Second,
			WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			WorkflowExecutionErrorWhenAlreadyStarted: true,
		}, WaiterWorkflow)
		var already *serviceerror.WorkflowExecutionAlreadyStarted
		return err == nil || errors.As(err, &already), err
	})
	if err != nil {
		x.logf("torture: %s: start never acknowledged: %v", id, err)
		return false
	}
	return true
}

// signal sends a signal, retried; NotFound after a retry means an earlier
// attempt got through and closed the run.
func (x *control) signal(rng *rand.Rand, id, name string, arg any) error {
	return x.call(rng, 60*time.Second, func(ctx context.Context, c client.Client, attempt int) (bool, error) {
		err := c.SignalWorkflow(ctx, id, "", name, arg)
		var nf *serviceerror.NotFound
		return err == nil || (attempt > 0 && errors.As(err, &nf)), err
	})
}

// result waits for a workflow's result.
func (x *control) result(rng *rand.Rand, id string, out any) error {
	return x.call(rng, 90*time.Second, func(ctx context.Context, c client.Client, _ int) (bool, error) {
		cctx, cancel := context.WithTimeout(ctx, 4*time.Second)
		defer cancel()
		err := c.GetWorkflow(cctx, id, "").Get(cctx, out)
		return err == nil, err
	})
}

// notPausedAfterRetry: an unpause answered "not paused" after an earlier
// attempt failed means that attempt unpaused it.
func notPausedAfterRetry(err error, attempt int) bool {
	var fp *serviceerror.FailedPrecondition
	return attempt > 0 && errors.As(err, &fp) && strings.Contains(strings.ToLower(err.Error()), "not paused")
}

// run drives the whole control mix; it returns when every part is done.
func (x *control) run(cfg Config) {
	var wg sync.WaitGroup
	rng := rand.New(rand.NewSource(x.seed + 2))
	// The operations start at random moments over (most of) the time the
	// kills are expected to take, so that kills fall inside each kind.
	spread := time.Duration(cfg.Kills) * (cfg.KillMin + cfg.KillMax + cfg.DownMax) / 2 * 3 / 4
	if spread < time.Second {
		spread = time.Second
	}
	spawn := func(n int, f func(i int, rng *rand.Rand)) {
		for i := range n {
			r := rand.New(rand.NewSource(rng.Int63()))
			wg.Add(1)
			go func() {
				defer wg.Done()
				select {
				case <-time.After(time.Duration(r.Int63n(int64(spread)))):
				case <-x.ctx.Done():
					return
				}
				f(i, r)
			}()
		}
	}
	x.wfPauses = make([]*wfPauseState, cfg.WorkflowPauses)
	x.batches = make([]*batchState, cfg.BatchJobs)
	x.acts = make([]*actState, cfg.StandaloneActivities)
	x.actPauses = make([]*actPauseState, cfg.ActivityPauses)
	spawn(cfg.WorkflowPauses, x.driveWfPause)
	spawn(cfg.BatchJobs, func(i int, r *rand.Rand) { x.driveBatch(i, cfg.BatchSize, r) })
	spawn(cfg.StandaloneActivities, x.driveActivity)
	spawn(cfg.ActivityPauses, x.driveActPause)
	wg.Wait()
}

// verify checks everything the control mix acknowledged.
func (x *control) verify(v *verifier) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	each := func(f func()) {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f()
		}()
	}
	for _, s := range x.wfPauses {
		if s != nil {
			each(func() { x.verifyWfPause(v, s) })
		}
	}
	for _, s := range x.batches {
		if s != nil {
			each(func() { x.verifyBatch(v, s) })
		}
	}
	for _, s := range x.acts {
		if s != nil {
			each(func() { x.verifyActivity(v, s) })
		}
	}
	for _, s := range x.actPauses {
		if s != nil {
			each(func() { x.verifyActPause(v, s) })
		}
	}
	wg.Wait()
}

// closedHistory reads a run's history (latest run of id) and checks it is
// well-formed and ends with want; it returns nil after a violation.
func (x *control) closedHistory(v *verifier, f *FeatureCount, id string, want enumspb.EventType) []*historypb.HistoryEvent {
	evs, err := v.history(id, "")
	if err != nil || len(evs) == 0 {
		x.lost(f, "%s: acknowledged workflow has no history: %v", id, err)
		return nil
	}
	for _, p := range wellFormed(evs) {
		x.t.violate(&x.t.rep.Malformed, "%s: %s", id, p)
	}
	if last := evs[len(evs)-1].EventType; last != want {
		x.t.violate(&x.t.rep.Malformed, "%s: ends with %v, want %v", id, last, want)
	}
	return evs
}

func countEvents(evs []*historypb.HistoryEvent, typ enumspb.EventType) int {
	n := 0
	for _, ev := range evs {
		if ev.EventType == typ {
			n++
		}
	}
	return n
}

// pokes counts the "poke" signals in a history by payload.
func pokes(evs []*historypb.HistoryEvent) map[string]int {
	out := map[string]int{}
	for _, ev := range evs {
		if a := ev.GetWorkflowExecutionSignaledEventAttributes(); a != nil && a.SignalName == pokeSignal {
			out[payloadString(a.Input)]++
		}
	}
	return out
}

func execOf(id string) *commonpb.WorkflowExecution {
	return &commonpb.WorkflowExecution{WorkflowId: id}
}
