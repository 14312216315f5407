package gosdk

import (
	"errors"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// SleepWorkflow sleeps for d and returns the workflow-time elapsed.
func SleepWorkflow(ctx workflow.Context, d time.Duration) (time.Duration, error) {
	start := workflow.Now(ctx)
	if err := workflow.Sleep(ctx, d); err != nil {
		return 0, err
	}
	return workflow.Now(ctx).Sub(start), nil
}

func TestFeatureTimerSleep(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(SleepWorkflow) })
	start := time.Now()
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("sleep"), SleepWorkflow, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	var slept time.Duration
	if err := run.Get(e.ctx(), &slept); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 300*time.Millisecond || el > 3*time.Second {
		t.Fatalf("workflow took %v for a 300ms sleep", el)
	}
	if slept < 300*time.Millisecond {
		t.Fatalf("workflow clock advanced %v, want >= 300ms", slept)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	requireClosedBy(t, evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
	ts := firstOf(evs, enumspb.EVENT_TYPE_TIMER_STARTED)
	tf := firstOf(evs, enumspb.EVENT_TYPE_TIMER_FIRED)
	if ts == nil || tf == nil || count(evs, enumspb.EVENT_TYPE_TIMER_STARTED) != 1 || count(evs, enumspb.EVENT_TYPE_TIMER_FIRED) != 1 {
		t.Fatalf("history %v", types(evs))
	}
	sa, fa := ts.GetTimerStartedEventAttributes(), tf.GetTimerFiredEventAttributes()
	if sa.StartToFireTimeout.AsDuration() != 300*time.Millisecond {
		t.Fatalf("StartToFireTimeout %v", sa.StartToFireTimeout.AsDuration())
	}
	if fa.TimerId != sa.TimerId || fa.StartedEventId != ts.EventId {
		t.Fatalf("fired %v does not match started %v (id %d)", fa, sa, ts.EventId)
	}
	if d := tf.EventTime.AsTime().Sub(ts.EventTime.AsTime()); d < 300*time.Millisecond {
		t.Fatalf("timer fired %v after it started", d)
	}
}

// CancelTimerWorkflow starts a long timer and cancels it.
func CancelTimerWorkflow(ctx workflow.Context) (string, error) {
	tctx, cancel := workflow.WithCancel(ctx)
	f := workflow.NewTimer(tctx, time.Hour)
	if err := workflow.Sleep(ctx, 50*time.Millisecond); err != nil {
		return "", err
	}
	cancel()
	err := f.Get(ctx, nil)
	var ce *temporal.CanceledError
	if errors.As(err, &ce) {
		return "timer canceled", nil
	}
	return "", err
}

func TestFeatureTimerCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(CancelTimerWorkflow) })
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("timercancel"), CancelTimerWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if err := run.Get(e.ctx(), &out); err != nil || out != "timer canceled" {
		t.Fatalf("result %q err %v", out, err)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	requireClosedBy(t, evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
	if count(evs, enumspb.EVENT_TYPE_TIMER_STARTED) != 2 || count(evs, enumspb.EVENT_TYPE_TIMER_FIRED) != 1 || count(evs, enumspb.EVENT_TYPE_TIMER_CANCELED) != 1 {
		t.Fatalf("want 2 started, 1 fired, 1 canceled: %v", types(evs))
	}
	long := firstOf(evs, enumspb.EVENT_TYPE_TIMER_STARTED)
	if long.GetTimerStartedEventAttributes().StartToFireTimeout.AsDuration() != time.Hour {
		t.Fatalf("first timer %v", long)
	}
	c := firstOf(evs, enumspb.EVENT_TYPE_TIMER_CANCELED).GetTimerCanceledEventAttributes()
	if c.TimerId != long.GetTimerStartedEventAttributes().TimerId || c.StartedEventId != long.EventId {
		t.Fatalf("TimerCanceled %v does not match the hour timer (event %d)", c, long.EventId)
	}
	if c.WorkflowTaskCompletedEventId == 0 {
		t.Fatalf("TimerCanceled has no WorkflowTaskCompletedEventId")
	}
}

// TimerOrSignalWorkflow waits for a signal or a timer, whichever comes
// first, and cancels the timer if the signal won.
func TimerOrSignalWorkflow(ctx workflow.Context, d time.Duration) (string, error) {
	tctx, cancel := workflow.WithCancel(ctx)
	timer := workflow.NewTimer(tctx, d)
	var result string
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(timer, func(f workflow.Future) { result = "timer" })
	sel.AddReceive(workflow.GetSignalChannel(ctx, "race"), func(c workflow.ReceiveChannel, more bool) {
		var s string
		c.Receive(ctx, &s)
		result = "signal:" + s
		cancel()
	})
	sel.Select(ctx)
	return result, nil
}

func TestFeatureTimerRacesSignal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(TimerOrSignalWorkflow) })
	t.Run("signal wins", func(t *testing.T) {
		run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("race-sig"), TimerOrSignalWorkflow, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.c.SignalWorkflow(e.ctx(), run.GetID(), "", "race", "go"); err != nil {
			t.Fatal(err)
		}
		var out string
		if err := run.Get(e.ctx(), &out); err != nil || out != "signal:go" {
			t.Fatalf("result %q err %v", out, err)
		}
		evs := e.history(run.GetID(), run.GetRunID())
		requireWellFormed(t, evs)
		if count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) != 1 || count(evs, enumspb.EVENT_TYPE_TIMER_FIRED) != 0 {
			t.Fatalf("history %v", types(evs))
		}
		// The timer is canceled in the same task that completes the workflow.
		if count(evs, enumspb.EVENT_TYPE_TIMER_STARTED) != 1 || count(evs, enumspb.EVENT_TYPE_TIMER_CANCELED) != 1 {
			t.Fatalf("history %v", types(evs))
		}
		requireClosedBy(t, evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
	})
	t.Run("timer wins", func(t *testing.T) {
		run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("race-timer"), TimerOrSignalWorkflow, 200*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		var out string
		if err := run.Get(e.ctx(), &out); err != nil || out != "timer" {
			t.Fatalf("result %q err %v", out, err)
		}
		evs := e.history(run.GetID(), run.GetRunID())
		requireWellFormed(t, evs)
		if count(evs, enumspb.EVENT_TYPE_TIMER_FIRED) != 1 || count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) != 0 {
			t.Fatalf("history %v", types(evs))
		}
		requireClosedBy(t, evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
		// Signalling the closed workflow fails.
		if err := e.c.SignalWorkflow(e.ctx(), run.GetID(), "", "race", "late"); err == nil {
			t.Fatal("signal to a completed workflow succeeded")
		}
	})
}
