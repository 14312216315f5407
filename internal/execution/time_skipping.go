package execution

import (
	"time"

	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Time skipping gives a run a virtual clock: the wall clock plus the time
// the run has skipped. While skipping is enabled and the run is idle (no
// workflow task, no activity in flight, no Nexus operation, child or
// external signal/cancel pending, not paused), the clock jumps to the next
// point at which something would happen (a timer, an activity retry, the
// first task's backoff, a timeout), capped by a fast-forward's target.
// Each jump is a WorkflowExecutionTimeSkippingTransitioned event, so
// replay rebuilds the skipped total like everything else; the state's
// other times (event times, deadlines) are all virtual.
//
// The semantics follow Temporal's history service (its mutable state's
// time-skipping info): the config comes from the started event (with the
// state a chain of runs or a parent propagates) and from
// WorkflowExecutionOptionsUpdated events; each transition adds (target −
// event time) to the skipped total and counts one skip; reaching the
// session's maximum skip count, or a fast-forward's target, disables
// skipping.

// DefaultMaxSessionSkipCount is the maximum number of skips of a session
// when the config sets none (Temporal's
// frontend.WorkflowTimeSkippingMaxSkipPerSession default).
const DefaultMaxSessionSkipCount = 200

// timeSkipping is a run's time-skipping state; the zero value is a run
// that never asked for it.
type timeSkipping struct {
	// on is set once a config was given (at start, propagated, or by an
	// options update), even if it disables skipping: describe then reports
	// the time-skipping info.
	on bool
	// cfg is the effective config: its Enabled turns false when a
	// fast-forward completes or the session's skips run out. May be nil
	// (an options update that cleared it).
	cfg *commonpb.TimeSkippingConfig
	// skipped is the run's total skipped time: virtual = wall + skipped.
	skipped time.Duration
	// count is the number of skips in the current session.
	count int32
	// ffTarget is the virtual time at which the current fast-forward
	// completes (zero: none); ffReached is set once it has.
	ffTarget  time.Time
	ffReached bool
}

// Clock turns a wall-clock reading into the run's virtual time.
func (s *State) Clock(wall time.Time) time.Time {
	if wall.IsZero() {
		return wall
	}
	return wall.Add(s.skip.skipped)
}

// WallTime turns a time of the run's virtual clock (a deadline) into the
// wall-clock time at which it comes, for the engine's timers.
func (s *State) WallTime(virtual time.Time) time.Time {
	if virtual.IsZero() {
		return virtual
	}
	return virtual.Add(-s.skip.skipped)
}

// SkippedDuration is the total time the run has skipped.
func (s *State) SkippedDuration() time.Duration { return s.skip.skipped }

// TimeSkippingEnabled reports whether the run is still skipping time.
func (s *State) TimeSkippingEnabled() bool { return s.skip.on && s.skip.cfg.GetEnabled() }

func (t *timeSkipping) maxCount() int32 {
	if m := t.cfg.GetMaxSessionSkipCount(); m > 0 {
		return m
	}
	return DefaultMaxSessionSkipCount
}

// initTimeSkipping sets the run's time skipping from its started event:
// the config and what the previous run of its chain (or its parent)
// propagated. now is the started event's (virtual) time.
func (s *State) initTimeSkipping(cfg *commonpb.TimeSkippingConfig, prop *commonpb.TimeSkippingStatePropagation, now time.Time) {
	if cfg == nil && prop.GetInitialSkippedDuration() == nil {
		return
	}
	s.skip = timeSkipping{on: true, skipped: prop.GetInitialSkippedDuration().AsDuration(), count: prop.GetInitialSkipCount()}
	if cfg != nil {
		s.skip.cfg = proto.Clone(cfg).(*commonpb.TimeSkippingConfig)
	}
	var target time.Time
	if t := prop.GetFastForwardTargetTime(); t != nil && t.AsTime().Unix() > 0 {
		target = t.AsTime()
	}
	s.setFastForward(target, now)
}

// updateTimeSkipping applies a config set by UpdateWorkflowExecutionOptions
// (the event's time is now): a new session (the skip count restarts) and a
// new fast-forward counted from now, if the config has one.
func (s *State) updateTimeSkipping(cfg *commonpb.TimeSkippingConfig, now time.Time) {
	if !s.skip.on {
		s.initTimeSkipping(cfg, nil, now)
		if cfg == nil {
			// Temporal records an info with no config.
			s.skip = timeSkipping{on: true}
		}
		return
	}
	s.skip.cfg = nil
	if cfg != nil {
		s.skip.cfg = proto.Clone(cfg).(*commonpb.TimeSkippingConfig)
	}
	s.skip.count = 0
	s.setFastForward(time.Time{}, now)
}

// setFastForward (re)computes the fast-forward from the config: a
// propagated target (the chain's previous run had one) or now plus the
// config's duration. A target already reached disables skipping.
func (s *State) setFastForward(propagated time.Time, now time.Time) {
	t := &s.skip
	ff := t.cfg.GetFastForwardConfig()
	if ff == nil {
		t.ffTarget, t.ffReached = time.Time{}, false
		return
	}
	if !propagated.IsZero() {
		t.ffTarget, t.ffReached = propagated, !now.Before(propagated)
	} else {
		t.ffTarget, t.ffReached = now.Add(ff.GetDuration().AsDuration()), false
	}
	if t.ffReached {
		t.cfg.Enabled = false
	}
}

// fastForwardPending reports whether a fast-forward is still to complete
// while skipping is on.
func (t *timeSkipping) fastForwardPending() bool {
	return t.on && t.cfg.GetEnabled() && !t.ffTarget.IsZero() && !t.ffReached
}

// skippable reports whether the run may skip time now: skipping is
// enabled and the run is running, not paused and idle. An activity
// waiting out a retry backoff is not in flight (its next attempt is a
// point to skip to).
func (s *State) skippable(now time.Time) bool {
	if !s.TimeSkippingEnabled() || !s.Running() || s.Paused() || s.WFT != nil {
		return false
	}
	for _, a := range s.Activities {
		if a.Paused || a.NextAttemptTime.IsZero() || !now.Before(a.NextAttemptTime) {
			return false
		}
	}
	return len(s.NexusOps) == 0 && len(s.Children) == 0 && len(s.ExternalSignals) == 0 && len(s.ExternalCancels) == 0
}

// skipTarget is where an idle run's clock jumps: the earliest future point
// among its timers, activity retries, first-task backoff and (once it has
// had a workflow task) its run and execution timeouts, capped by a pending
// fast-forward (reaching it ends skipping: disable). ok is false when
// there is nowhere to go.
func (s *State) skipTarget(now time.Time) (target time.Time, disable, ok bool) {
	track := func(t time.Time) {
		if t.After(now) && (target.IsZero() || t.Before(target)) {
			target = t
		}
	}
	for _, t := range s.Timers {
		track(t.FireTime)
	}
	for _, a := range s.Activities {
		track(a.NextAttemptTime)
	}
	if !s.firstTaskScheduled {
		if et := s.ExecutionTime(); et.After(s.StartTime) {
			track(et)
		}
	} else {
		if rt := s.Start.GetWorkflowRunTimeout().AsDuration(); rt > 0 {
			track(s.ExecutionTime().Add(rt))
		}
		track(s.expiration())
	}
	if s.skip.fastForwardPending() {
		ff := s.skip.ffTarget
		switch {
		case !ff.After(now):
			target, disable = time.Time{}, true
		case target.IsZero() || !target.Before(ff):
			target, disable = ff, true
		}
	}
	return target, disable, !target.IsZero() || disable
}

// SkipTime is run by the engine at the end of every write of the run (now
// is the run's virtual time, Clock of the wall time): if the run is idle and skipping is enabled,
// its clock jumps to the next point at which something happens, recorded
// as a WorkflowExecutionTimeSkippingTransitioned event. It reports whether
// it wrote one (the run's deadlines then moved closer in wall time).
func (s *State) SkipTime(now time.Time) bool {
	if !s.skippable(now) {
		return false
	}
	target, disable, ok := s.skipTarget(now)
	if !ok {
		return false
	}
	s.addTimeSkippingTransition(now, target, disable)
	return true
}

// fastForwardDue ends a pending fast-forward whose target the run's clock
// reached without skipping there (the run was busy): skipping stops, as
// Temporal's fast-forward timer does. Tick runs it.
func (s *State) fastForwardDue(now time.Time) {
	if s.skip.fastForwardPending() && !now.Before(s.skip.ffTarget) {
		s.addTimeSkippingTransition(now, time.Time{}, true)
	}
}

// addTimeSkippingTransition writes a transition at the run's virtual time
// now (the event's time); the event also records the wall-clock time.
func (s *State) addTimeSkippingTransition(now, target time.Time, disable bool) {
	at := &historypb.WorkflowExecutionTimeSkippingTransitionedEventAttributes{
		DisabledAfterFastForward: disable,
		WallClockTime:            timestamppb.New(s.WallTime(now)),
	}
	if !target.IsZero() {
		at.TargetTime = timestamppb.New(target)
	}
	s.addEvent(now, true, func(ev *historypb.HistoryEvent) {
		ev.WorkerMayIgnore = true // as Temporal marks it
		ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionTimeSkippingTransitionedEventAttributes{WorkflowExecutionTimeSkippingTransitionedEventAttributes: at}
	})
}

// applyTimeSkippingTransitioned is the state change of a
// WorkflowExecutionTimeSkippingTransitioned event.
func (s *State) applyTimeSkippingTransitioned(ev *historypb.HistoryEvent, at *historypb.WorkflowExecutionTimeSkippingTransitionedEventAttributes) {
	t := &s.skip
	if !t.on {
		return
	}
	if tt := at.GetTargetTime(); tt != nil && tt.AsTime().Unix() > 0 {
		t.skipped += tt.AsTime().Sub(ev.GetEventTime().AsTime())
	}
	if at.GetDisabledAfterFastForward() && !t.ffTarget.IsZero() {
		t.ffReached = true
		if t.cfg != nil {
			t.cfg.Enabled = false
		}
	}
	t.count++
	if t.count >= t.maxCount() && t.cfg.GetEnabled() {
		t.cfg.Enabled = false
	}
}

// NextRunTimeSkipping is what the next run of the chain (retry, cron,
// continue-as-new) inherits: the config, the skipped total, the session's
// skip count and the fast-forward's target.
func (s *State) NextRunTimeSkipping() (*commonpb.TimeSkippingConfig, *commonpb.TimeSkippingStatePropagation) {
	t := s.skip
	if !t.on {
		return nil, nil
	}
	var cfg *commonpb.TimeSkippingConfig
	if t.cfg != nil {
		cfg = proto.Clone(t.cfg).(*commonpb.TimeSkippingConfig)
	}
	prop := &commonpb.TimeSkippingStatePropagation{
		InitialSkippedDuration: durationpb.New(t.skipped),
		InitialSkipCount:       t.count,
	}
	if !t.ffTarget.IsZero() {
		prop.FastForwardTargetTime = timestamppb.New(t.ffTarget)
	}
	return cfg, prop
}

// ChildTimeSkipping is what a child started by this run inherits: its
// virtual time (the skipped total) and the config without the
// fast-forward, unless the config disables propagation.
func (s *State) ChildTimeSkipping() (*commonpb.TimeSkippingConfig, *commonpb.TimeSkippingStatePropagation) {
	t := s.skip
	if !t.on {
		return nil, nil
	}
	var prop *commonpb.TimeSkippingStatePropagation
	if t.skipped > 0 {
		prop = &commonpb.TimeSkippingStatePropagation{InitialSkippedDuration: durationpb.New(t.skipped)}
	}
	if t.cfg == nil || t.cfg.GetDisablePropagation() {
		return nil, prop
	}
	cfg := proto.Clone(t.cfg).(*commonpb.TimeSkippingConfig)
	cfg.FastForwardConfig = nil
	return cfg, prop
}

// TimeSkippingInfo is describe's time-skipping info (nil for a run that
// never had a config); now is the run's virtual time.
func (s *State) TimeSkippingInfo(now time.Time) *commonpb.TimeSkippingInfo {
	t := s.skip
	if !t.on {
		return nil
	}
	info := &commonpb.TimeSkippingInfo{CurrentTime: timestamppb.New(now), FastForwardInfo: s.FastForwardInfo(), CurrentSessionSkipCount: t.count}
	if t.cfg != nil {
		info.EffectiveConfig = proto.Clone(t.cfg).(*commonpb.TimeSkippingConfig)
	}
	return info
}

// FastForwardInfo is the run's current fast-forward (nil: none).
func (s *State) FastForwardInfo() *commonpb.TimeSkippingFastForwardInfo {
	t := s.skip
	if !t.on || t.ffTarget.IsZero() {
		return nil
	}
	ff := t.cfg.GetFastForwardConfig()
	return &commonpb.TimeSkippingFastForwardInfo{
		FastForwardDuration: ff.GetDuration(), FastForwardId: ff.GetId(),
		TargetTime: timestamppb.New(t.ffTarget), HasCompleted: t.ffReached,
	}
}
