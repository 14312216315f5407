package torture

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// driver runs the client side of one workflow: start it, send its signals
// and updates at random moments, send "done", wait for the result. Each
// request goes through a client picked at random among cs (one a server:
// on a cluster, requests reach the workflow's owner through any node).
type driver struct {
	cs   []client.Client
	tq   string
	ctx  context.Context // bounds the whole load + drain
	t    *tally
	logf func(string, ...any)
}

// pick returns the client for the next request (without drawing from rng
// when there is one server, so a single server's runs replay by seed as
// before).
func (d *driver) pick(rng *rand.Rand) client.Client {
	if len(d.cs) == 1 {
		return d.cs[0]
	}
	return d.cs[rng.Intn(len(d.cs))]
}

func (d *driver) sleep(dur time.Duration) bool {
	select {
	case <-d.ctx.Done():
		return false
	case <-time.After(dur):
		return true
	}
}

func (d *driver) run(st *wfState, nsig, nupd int, seed int64, sem chan struct{}) {
	defer func() { <-sem }()
	defer st.setStage("", nil)
	st.setStage("start", nil)
	rng := rand.New(rand.NewSource(seed))
	rep := d.t.rep
	id := st.plan.ID

	// Start, retried until acknowledged. A retry after an unacknowledged
	// attempt that did start the workflow gets "already started" (the id
	// reuse policy forbids a second chain), which is an acknowledgement too.
	deadline := time.Now().Add(60 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(d.ctx, 5*time.Second)
		run, err := d.pick(rng).ExecuteWorkflow(cctx, client.StartWorkflowOptions{
			ID: id, TaskQueue: d.tq,
			WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			WorkflowExecutionErrorWhenAlreadyStarted: true,
			WorkflowTaskTimeout:                      5 * time.Second,
		}, TortureWorkflow, Input{Plan: st.plan})
		cancel()
		var already *serviceerror.WorkflowExecutionAlreadyStarted
		if err == nil {
			st.acked, st.firstRunID = true, run.GetRunID()
			break
		}
		if errors.As(err, &already) {
			st.acked = true
			break
		}
		if time.Now().After(deadline) || !d.sleep(100*time.Millisecond) {
			d.logf("torture: %s: start never acknowledged: %v", id, err)
			d.t.inc(&rep.StartsUnknown, 1)
			return
		}
	}
	d.t.inc(&rep.WorkflowsStarted, 1)

	kinds := make([]bool, 0, nsig+nupd) // true = signal
	for i := 0; i < nsig; i++ {
		kinds = append(kinds, true)
	}
	for i := 0; i < nupd; i++ {
		kinds = append(kinds, false)
	}
	rng.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	st.setStage("signals and updates", nil)
	var ns, nu int
	for _, isSignal := range kinds {
		if !d.sleep(time.Duration(rng.Intn(300)) * time.Millisecond) {
			break
		}
		if isSignal {
			d.signal(d.pick(rng), st, fmt.Sprintf("%s/s%d", id, ns))
			ns++
		} else {
			d.update(d.pick(rng), st, fmt.Sprintf("%s/u%d", id, nu), rng.Intn(3)*30)
			nu++
		}
	}

	// "done" may be sent any number of times.
	st.setStage("done signal", nil)
	for d.ctx.Err() == nil {
		cctx, cancel := context.WithTimeout(d.ctx, 5*time.Second)
		err := d.pick(rng).SignalWorkflow(cctx, id, "", doneSignal, nil)
		st.setStage("done signal", err)
		cancel()
		// "Already completed": an earlier attempt delivered "done" (its
		// answer was lost with a killed node) and the workflow finished.
		var nf *serviceerror.NotFound
		if err == nil || errors.As(err, &nf) {
			st.mu.Lock()
			st.doneSent = true
			st.mu.Unlock()
			break
		}
		d.sleep(100 * time.Millisecond)
	}

	st.setStage("result wait", nil)
	for d.ctx.Err() == nil {
		st.mu.Lock()
		st.waited = true
		st.mu.Unlock()
		cctx, cancel := context.WithTimeout(d.ctx, 20*time.Second)
		var res Result
		c := d.pick(rng)
		err := c.GetWorkflow(cctx, id, "").Get(cctx, &res)
		cancel()
		if err != nil {
			st.setStage("result wait", fmt.Errorf("through client %d: %w", slices.Index(d.cs, c), err))
		}
		st.mu.Lock()
		if err == nil {
			st.result, st.resultErr = &res, nil
		} else {
			st.resultErr = err
		}
		st.mu.Unlock()
		var wfErr *temporal.WorkflowExecutionError
		if err == nil || errors.As(err, &wfErr) {
			break
		}
		d.sleep(200 * time.Millisecond)
	}
}

// signal sends one signal once (the SDK retries transient errors itself,
// with the same request id). Unacknowledged signals are "unknown".
func (d *driver) signal(c client.Client, st *wfState, payload string) {
	st.mu.Lock()
	st.signals[payload] = false
	st.mu.Unlock()
	cctx, cancel := context.WithTimeout(d.ctx, 5*time.Second)
	err := c.SignalWorkflow(cctx, st.plan.ID, "", signalName, payload)
	cancel()
	if err == nil {
		st.mu.Lock()
		st.signals[payload] = true
		st.mu.Unlock()
	}
}

// update sends one update and waits for its result, retrying with the same
// update id after errors. The validator rejects updates before the last run
// of the chain; those are retried too (the rejection is not an error).
func (d *driver) update(c client.Client, st *wfState, updateID string, sleepMs int) {
	st.mu.Lock()
	st.updates[updateID] = false
	st.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	var last error
	defer func() {
		st.mu.Lock()
		acked := st.updates[updateID]
		st.mu.Unlock()
		if !acked {
			d.logf("torture: update %s never acknowledged; last error: %v", updateID, last)
		}
	}()
	for d.ctx.Err() == nil && time.Now().Before(deadline) {
		cctx, cancel := context.WithTimeout(d.ctx, 10*time.Second)
		h, err := c.UpdateWorkflow(cctx, client.UpdateWorkflowOptions{
			WorkflowID: st.plan.ID, UpdateID: updateID, UpdateName: updateName,
			Args: []any{sleepMs}, WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		var out string
		if err == nil {
			err = h.Get(cctx, &out)
		}
		cancel()
		if err == nil {
			if out != "ok:"+updateID {
				d.t.violate(&d.t.rep.WrongResult, "%s: update %s returned %q", st.plan.ID, updateID, out)
			}
			st.mu.Lock()
			st.updates[updateID] = true
			st.mu.Unlock()
			return
		}
		last = err
		var app *temporal.ApplicationError
		if errors.As(err, &app) && app.Type() == notFinalType {
			d.sleep(50 * time.Millisecond)
			continue
		}
		d.t.inc(&d.t.rep.UpdateRetries, 1)
		d.sleep(100 * time.Millisecond)
	}
}

// setStage records what the driver of st is doing, for waitDrivers.
func (st *wfState) setStage(stage string, err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if stage != st.stage {
		st.stage, st.stageSince = stage, time.Now()
	}
	st.lastErr = err
}

// waitDrivers waits for every driver; every 20 s of waiting it logs the
// drivers still busy (workflow, stage, for how long, last error), so a
// drain that runs out its time says what it waited for.
func waitDrivers(wg *sync.WaitGroup, wfs []*wfState, logf func(string, ...any)) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(20 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		var busy []string
		for _, st := range wfs {
			st.mu.Lock()
			if st.stage != "" {
				busy = append(busy, fmt.Sprintf("%s: %s for %v (last error: %v)", st.plan.ID, st.stage, time.Since(st.stageSince).Round(time.Second), st.lastErr))
			}
			st.mu.Unlock()
		}
		logf("torture: %d drivers still busy", len(busy))
		for i, b := range busy {
			if i == 10 {
				logf("torture:   ... %d more", len(busy)-10)
				break
			}
			logf("torture:   %s", b)
		}
	}
}
