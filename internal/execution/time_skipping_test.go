package execution

import (
	"testing"
	"time"

	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
)

// In these tests the harness's now is the run's virtual time, as the
// engine passes it (State.Clock of the wall time): after a jump the
// engine's next reading is the jump's target.

const evSkipped = enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIME_SKIPPING_TRANSITIONED

func skipCfg(mod ...func(*commonpb.TimeSkippingConfig)) func(*historypb.WorkflowExecutionStartedEventAttributes) {
	return func(a *historypb.WorkflowExecutionStartedEventAttributes) {
		c := &commonpb.TimeSkippingConfig{Enabled: true, MaxSessionSkipCount: DefaultMaxSessionSkipCount}
		for _, m := range mod {
			m(c)
		}
		a.TimeSkippingConfig = c
	}
}

// skip runs the engine's end-of-write jump and syncs; it reports whether
// the clock jumped (or skipping stopped).
func (h *harness) skip() bool {
	h.t.Helper()
	ok := h.s.SkipTime(h.now)
	h.sync("SkipTime")
	return ok
}

func (h *harness) wantSkip(target time.Time, disabled bool) {
	h.t.Helper()
	wall := h.s.WallTime(h.now)
	if !h.skip() {
		h.t.Fatalf("SkipTime: no jump, want one to %s", tm(target))
	}
	h.wantStep(evSkipped)
	ev := h.lastEvent()
	at := ev.GetWorkflowExecutionTimeSkippingTransitionedEventAttributes()
	if !ev.WorkerMayIgnore || !ev.EventTime.AsTime().Equal(h.now) || at.GetDisabledAfterFastForward() != disabled ||
		!at.GetWallClockTime().AsTime().Equal(wall) {
		h.t.Fatalf("transitioned event: %v (now %s)", ev, tm(h.now))
	}
	if target.IsZero() {
		if at.TargetTime != nil {
			h.t.Fatalf("transitioned event has a target: %v", ev)
		}
		return
	}
	if !at.GetTargetTime().AsTime().Equal(target) {
		h.t.Fatalf("target %s, want %s", tm(at.GetTargetTime().AsTime()), tm(target))
	}
	h.now = target
}

// TestTimeSkippingJumpsTimer: an idle run with a 24 h timer jumps to it in
// one transition; its clock then reads the timer's time, the wall-clock
// deadline is now, and the timer fires at the next tick. A busy run (a
// workflow task pending) does not jump.
func TestTimeSkippingJumpsTimer(t *testing.T) {
	h := newHarness(t, startAttrs(skipCfg()))
	if h.skip() {
		t.Fatal("jumped with a workflow task pending")
	}
	h.pollComplete(startTimer("t", 24*time.Hour))
	start := h.now
	h.wantSkip(start.Add(24*time.Hour), false)
	if h.s.SkippedDuration() != 24*time.Hour || !h.s.Clock(start).Equal(h.now) {
		t.Fatalf("skipped %s", h.s.SkippedDuration())
	}
	if d := h.s.NextDeadline(); !d.Equal(start) {
		t.Fatalf("wall deadline %s, want %s", tm(d), tm(start))
	}
	if h.skip() {
		t.Fatal("jumped again with nothing ahead but a due timer")
	}
	h.tick()
	h.wantStep(enumspb.EVENT_TYPE_TIMER_FIRED, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
	if h.skip() {
		t.Fatal("jumped with a workflow task pending")
	}
	info := h.s.TimeSkippingInfo(h.now)
	if info.GetCurrentSessionSkipCount() != 1 || !info.GetEffectiveConfig().GetEnabled() || info.FastForwardInfo != nil ||
		!info.GetCurrentTime().AsTime().Equal(h.now) {
		t.Fatalf("describe info %v", info)
	}
	h.pollComplete(completeWF("done"))
	h.wantStatus(enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED)
}

// TestTimeSkippingNotConfigured: a run without a config never jumps and
// describes no time-skipping info.
func TestTimeSkippingNotConfigured(t *testing.T) {
	h := newHarness(t, startAttrs())
	h.pollComplete(startTimer("t", time.Hour))
	if h.skip() || h.s.TimeSkippingInfo(h.now) != nil || h.s.SkippedDuration() != 0 {
		t.Fatal("a run without a config skipped time")
	}
}

// TestTimeSkippingActivities: an activity in flight blocks skipping; one
// waiting out a retry backoff is a point to jump to.
func TestTimeSkippingActivities(t *testing.T) {
	h := newHarness(t, startAttrs(skipCfg()))
	h.pollComplete(scheduleActivity("a", func(a *commandpb.ScheduleActivityTaskCommandAttributes) {
		a.RetryPolicy = &commonpb.RetryPolicy{InitialInterval: dur(time.Hour), BackoffCoefficient: 1, MaximumAttempts: 3}
	}), startTimer("t", 48*time.Hour))
	if h.skip() {
		t.Fatal("jumped with an activity scheduled")
	}
	h.startAct("a")
	if h.skip() {
		t.Fatal("jumped with an activity running")
	}
	h.failAct("a", appFailure("x", false))
	next := h.act("a").NextAttemptTime
	if !next.Equal(h.now.Add(time.Hour)) {
		t.Fatalf("next attempt %s", tm(next))
	}
	h.wantSkip(next, false)
	h.tick() // the retry is dispatched: in flight again
	if h.skip() {
		t.Fatal("jumped with the retry dispatched")
	}
	h.startAct("a")
	h.completeAct("a")
	h.pollComplete()
	h.wantSkip(t0.Add(48*time.Hour), false)
	h.tick()
	h.wantStep(enumspb.EVENT_TYPE_TIMER_FIRED, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
}

// TestTimeSkippingFastForwardCaps: a fast-forward of 1 h caps a jump to a
// 24 h timer and ends skipping; describe shows it completed.
func TestTimeSkippingFastForwardCaps(t *testing.T) {
	h := newHarness(t, startAttrs(skipCfg(func(c *commonpb.TimeSkippingConfig) {
		c.FastForwardConfig = &commonpb.FastForwardConfig{Id: "ff", Duration: dur(time.Hour)}
	})))
	ff := h.s.FastForwardInfo()
	if ff.GetFastForwardId() != "ff" || !ff.GetTargetTime().AsTime().Equal(t0.Add(time.Hour)) || ff.GetHasCompleted() {
		t.Fatalf("fast-forward %v", ff)
	}
	h.pollComplete(startTimer("t", 24*time.Hour))
	h.wantSkip(t0.Add(time.Hour), true)
	if h.s.TimeSkippingEnabled() || !h.s.FastForwardInfo().GetHasCompleted() {
		t.Fatalf("after the fast-forward: enabled %v, %v", h.s.TimeSkippingEnabled(), h.s.FastForwardInfo())
	}
	if h.skip() {
		t.Fatal("jumped after the fast-forward completed")
	}
	if d := h.s.NextDeadline(); !d.Equal(t0.Add(24 * time.Hour).Add(-time.Hour)) {
		t.Fatalf("wall deadline of the timer: %s", tm(d))
	}
}

// TestTimeSkippingFastForwardByUpdate: an options update sets a
// fast-forward counted from its event's time; with nothing scheduled the
// idle run jumps straight to it. A fast-forward reached while the run is
// busy ends at the tick of its deadline, without a target.
func TestTimeSkippingFastForwardByUpdate(t *testing.T) {
	h := newHarness(t, startAttrs(skipCfg()))
	h.pollComplete()
	if h.skip() {
		t.Fatal("jumped with nothing ahead")
	}
	h.advance(time.Minute)
	h.updateSkip(&commonpb.TimeSkippingConfig{Enabled: true, MaxSessionSkipCount: 5, FastForwardConfig: &commonpb.FastForwardConfig{Id: "f1", Duration: dur(2 * time.Hour)}})
	h.wantSkip(t0.Add(time.Minute+2*time.Hour), true)

	h.updateSkip(&commonpb.TimeSkippingConfig{Enabled: true, MaxSessionSkipCount: 5, FastForwardConfig: &commonpb.FastForwardConfig{Id: "f2", Duration: dur(time.Hour)}})
	if c := h.s.TimeSkippingInfo(h.now).GetCurrentSessionSkipCount(); c != 0 {
		t.Fatalf("an update starts a new session: count %d", c)
	}
	h.signal("busy", "s-1") // a workflow task pending: no jump
	target := h.now.Add(time.Hour)
	if d := h.s.NextDeadline(); !d.Equal(h.s.WallTime(target)) {
		t.Fatalf("fast-forward deadline %s, want %s", tm(d), tm(h.s.WallTime(target)))
	}
	h.now = target
	h.tick()
	h.wantStep(evSkipped)
	if at := h.lastEvent().GetWorkflowExecutionTimeSkippingTransitionedEventAttributes(); at.TargetTime != nil || !at.DisabledAfterFastForward {
		t.Fatalf("event %v", at)
	}
	if h.s.TimeSkippingEnabled() || !h.s.FastForwardInfo().GetHasCompleted() {
		t.Fatal("fast-forward not completed")
	}
}

func (h *harness) updateSkip(cfg *commonpb.TimeSkippingConfig) {
	h.t.Helper()
	o := h.s.WorkflowOptions()
	o.TimeSkippingConfig = cfg
	if changed, err := h.s.UpdateWorkflowOptions(h.now, o, "op"); err != nil || !changed {
		h.t.Fatalf("UpdateWorkflowOptions: changed %v err %v", changed, err)
	}
	h.sync("UpdateWorkflowOptions")
}

// TestTimeSkippingMaxSkips: the session's skips run out at the maximum;
// the run then waits on the wall clock.
func TestTimeSkippingMaxSkips(t *testing.T) {
	h := newHarness(t, startAttrs(skipCfg(func(c *commonpb.TimeSkippingConfig) { c.MaxSessionSkipCount = 2 })))
	for i := 0; i < 2; i++ {
		h.pollComplete(startTimer("t", time.Hour))
		h.wantSkip(h.now.Add(time.Hour), false)
		h.tick()
	}
	if h.s.TimeSkippingEnabled() {
		t.Fatal("still enabled after the maximum skips")
	}
	h.pollComplete(startTimer("t", time.Hour))
	if h.skip() {
		t.Fatal("jumped past the maximum")
	}
	if info := h.s.TimeSkippingInfo(h.now); info.GetCurrentSessionSkipCount() != 2 || info.GetEffectiveConfig().GetEnabled() {
		t.Fatalf("info %v", info)
	}
}

// TestTimeSkippingContinueAsNew: the next run inherits the config, the
// skipped time, the skip count and the fast-forward's target; its start
// time is the previous run's virtual time.
func TestTimeSkippingContinueAsNew(t *testing.T) {
	h := newHarness(t, startAttrs(skipCfg(func(c *commonpb.TimeSkippingConfig) {
		c.FastForwardConfig = &commonpb.FastForwardConfig{Id: "ff", Duration: dur(100 * time.Hour)}
	})))
	h.pollComplete(startTimer("t", 10*time.Hour))
	h.wantSkip(t0.Add(10*time.Hour), false)
	h.tick()
	h.pollComplete(continueAsNew())
	n := adopt(t, h.last.NewRun, h.now)
	st := n.s.Start
	if st.GetTimeSkippingConfig().GetFastForwardConfig().GetId() != "ff" || st.GetTimeSkippingStatePropagation().GetInitialSkipCount() != 1 ||
		st.GetTimeSkippingStatePropagation().GetInitialSkippedDuration().AsDuration() != 10*time.Hour ||
		!st.GetTimeSkippingStatePropagation().GetFastForwardTargetTime().AsTime().Equal(t0.Add(100*time.Hour)) {
		t.Fatalf("new run's start: %v", st)
	}
	if !n.s.StartTime.Equal(h.now) || n.s.SkippedDuration() != 10*time.Hour {
		t.Fatalf("new run starts at %s skipped %s, want %s", tm(n.s.StartTime), n.s.SkippedDuration(), tm(h.now))
	}
	n.pollComplete(startTimer("t", 200*time.Hour))
	n.wantSkip(t0.Add(100*time.Hour), true) // the inherited fast-forward caps it
	if info := n.s.TimeSkippingInfo(n.now); info.GetCurrentSessionSkipCount() != 2 {
		t.Fatalf("info %v", info)
	}
}

// TestTimeSkippingChildPropagation: a child inherits the parent's config
// without its fast-forward, and its virtual time; disable_propagation
// keeps the config from it.
func TestTimeSkippingChildPropagation(t *testing.T) {
	h := newHarness(t, startAttrs(skipCfg(func(c *commonpb.TimeSkippingConfig) {
		c.FastForwardConfig = &commonpb.FastForwardConfig{Id: "ff", Duration: dur(100 * time.Hour)}
	})))
	h.pollComplete(startTimer("t", time.Hour))
	h.wantSkip(t0.Add(time.Hour), false)
	cfg, prop := h.s.ChildTimeSkipping()
	if !cfg.GetEnabled() || cfg.FastForwardConfig != nil || prop.GetInitialSkippedDuration().AsDuration() != time.Hour || prop.GetInitialSkipCount() != 0 {
		t.Fatalf("child gets %v %v", cfg, prop)
	}
	wall := h.s.WallTime(h.now)
	c := New(testNS, "child", "child-run")
	c.StartWorkflow(wall, startAttrs(func(a *historypb.WorkflowExecutionStartedEventAttributes) {
		a.TimeSkippingConfig, a.TimeSkippingStatePropagation = cfg, prop
	}), "")
	if !c.StartTime.Equal(h.now) || c.SkippedDuration() != time.Hour || !c.TimeSkippingEnabled() {
		t.Fatalf("child starts at %s, skipped %s", tm(c.StartTime), c.SkippedDuration())
	}
	h.s.skip.cfg.DisablePropagation = true
	if cfg, prop := h.s.ChildTimeSkipping(); cfg != nil || prop.GetInitialSkippedDuration().AsDuration() != time.Hour {
		t.Fatalf("disable_propagation: child gets %v %v", cfg, prop)
	}
}

// TestTimeSkippingStartDelay: a delayed start is skipped; timeouts are
// points to jump to only once the run has had a workflow task.
func TestTimeSkippingStartDelay(t *testing.T) {
	h := newHarness(t, startAttrs(skipCfg(), func(a *historypb.WorkflowExecutionStartedEventAttributes) {
		a.FirstWorkflowTaskBackoff = dur(5 * time.Hour)
		a.WorkflowRunTimeout = dur(30 * time.Hour)
	}))
	h.wantSkip(t0.Add(5*time.Hour), false)
	h.tick()
	h.pollComplete()
	h.wantSkip(t0.Add(35*time.Hour), false) // the run timeout
	h.tick()
	h.wantStatus(enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT)
}

// TestTimeSkippingWorkflowRetry: a retried run inherits the skipping and
// jumps over its retry backoff.
func TestTimeSkippingWorkflowRetry(t *testing.T) {
	h := newHarness(t, startAttrs(skipCfg(), func(a *historypb.WorkflowExecutionStartedEventAttributes) {
		a.RetryPolicy = &commonpb.RetryPolicy{InitialInterval: dur(time.Hour), BackoffCoefficient: 1, MaximumAttempts: 3}
	}))
	h.pollComplete(startTimer("t", time.Hour))
	h.wantSkip(t0.Add(time.Hour), false)
	h.tick()
	h.pollComplete(failWF(appFailure("x", false)))
	n := adopt(t, h.last.NewRun, h.now)
	if n.s.Start.GetAttempt() != 2 || n.s.SkippedDuration() != time.Hour || !n.s.StartTime.Equal(h.now) {
		t.Fatalf("retry run: attempt %d skipped %s start %s", n.s.Start.GetAttempt(), n.s.SkippedDuration(), tm(n.s.StartTime))
	}
	n.wantSkip(h.now.Add(time.Hour), false) // the retry backoff
	n.tick()
	n.wantStep(enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
}
