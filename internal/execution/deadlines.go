package execution

import (
	"sort"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
)

// DefaultStickyTimeout is the sticky schedule-to-start timeout used when a
// worker sets none.
const DefaultStickyTimeout = 5 * time.Second

// NextDeadline returns the earliest wall-clock time at which Tick has
// something to do, or the zero time. All of the run's timers are derived
// from its state, so the engine needs only one timer per run. The state's
// deadlines are on the run's virtual clock (time_skipping.go); this is
// where they become wall-clock times for the engine's timers.
func (s *State) NextDeadline() time.Time { return s.WallTime(s.nextDeadline()) }

// nextDeadline is NextDeadline on the run's virtual clock.
func (s *State) nextDeadline() time.Time {
	var d time.Time
	min := func(t time.Time) {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	if !s.Running() {
		return d
	}
	if rt := s.Start.GetWorkflowRunTimeout().AsDuration(); rt > 0 {
		min(s.ExecutionTime().Add(rt)) // the run timeout starts after any first-task backoff
	}
	if exp := s.expiration(); !exp.IsZero() {
		min(exp)
	}
	if !s.firstTaskScheduled && !s.Paused() {
		min(s.ExecutionTime())
	}
	if w := s.WFT; w != nil {
		if w.StartedEventID != 0 {
			min(w.StartedTime.Add(w.Timeout))
		} else if w.Sticky {
			min(w.ScheduledTime.Add(s.stickyTimeout()))
		} else if w.Speculative {
			min(w.ScheduledTime.Add(SpeculativeScheduleToStartTimeout))
		}
	}
	for _, t := range s.Timers {
		min(t.FireTime)
	}
	for _, a := range s.Activities {
		for _, t := range activityDeadlines(a) {
			min(t.at)
		}
	}
	s.nexusDeadlines(min)
	if s.skip.fastForwardPending() {
		min(s.skip.ffTarget)
	}
	return d
}

func (s *State) stickyTimeout() time.Duration {
	if s.StickyTimeout > 0 {
		return s.StickyTimeout
	}
	return DefaultStickyTimeout
}

func (s *State) expiration() time.Time {
	if d := s.Start.GetWorkflowExecutionTimeout().AsDuration(); d > 0 && !s.Reset.Time.IsZero() {
		return s.Reset.Time.Add(d) // a reset run's execution timeout counts from the reset, as in Temporal
	}
	if t := s.Start.GetWorkflowExecutionExpirationTime(); t != nil && t.AsTime().Unix() > 0 {
		return t.AsTime()
	}
	return time.Time{}
}

type activityDeadline struct {
	at   time.Time
	kind enumspb.TimeoutType // UNSPECIFIED means: retry backoff ended
}

func activityDeadlines(a *Activity) []activityDeadline {
	if a.Paused {
		return nil // as in Temporal, a paused activity's timers do not fire
	}
	var out []activityDeadline
	at := a.Attrs
	if d := at.ScheduleToCloseTimeout.AsDuration(); d > 0 {
		out = append(out, activityDeadline{a.ScheduledTime.Add(d), enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE})
	}
	switch {
	case !a.NextAttemptTime.IsZero():
		out = append(out, activityDeadline{a.NextAttemptTime, enumspb.TIMEOUT_TYPE_UNSPECIFIED})
	case !a.Started:
		if d := at.ScheduleToStartTimeout.AsDuration(); d > 0 {
			out = append(out, activityDeadline{a.AttemptScheduledTime.Add(d), enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START})
		}
	default:
		if d := at.StartToCloseTimeout.AsDuration(); d > 0 {
			out = append(out, activityDeadline{a.StartedTime.Add(d), enumspb.TIMEOUT_TYPE_START_TO_CLOSE})
		}
		if d := at.HeartbeatTimeout.AsDuration(); d > 0 {
			last := a.StartedTime
			if a.LastHeartbeat.After(last) {
				last = a.LastHeartbeat
			}
			out = append(out, activityDeadline{last.Add(d), enumspb.TIMEOUT_TYPE_HEARTBEAT})
		}
	}
	return out
}

// Tick fires everything that is due at now: workflow timeouts, the
// workflow task timeout, user timers, activity timeouts and retries.
func (s *State) Tick(now time.Time, newRunID NewRunID) {
	if !s.Running() {
		return
	}
	if exp := s.expiration(); !exp.IsZero() && !now.Before(exp) {
		s.timeoutWorkflow(now, newRunID, false) // the execution timeout ends the whole chain
		return
	}
	if rt := s.Start.GetWorkflowRunTimeout().AsDuration(); rt > 0 && !now.Before(s.ExecutionTime().Add(rt)) {
		s.timeoutWorkflow(now, newRunID, true)
		return
	}
	if !s.firstTaskScheduled && !now.Before(s.ExecutionTime()) {
		s.scheduleWFT(now)
	}
	if w := s.WFT; w != nil {
		if w.StartedEventID != 0 && !now.Before(w.StartedTime.Add(w.Timeout)) {
			s.timeoutWorkflowTask(now)
		} else if w.StartedEventID == 0 && w.Speculative && speculativeDue(w, now, s.stickyTimeout()) {
			s.speculativeNotStarted(now)
		} else if w.StartedEventID == 0 && w.Sticky && !now.Before(w.ScheduledTime.Add(s.stickyTimeout())) {
			s.stickyScheduleToStartTimeout(now)
		}
	}
	var due []*Timer
	for _, t := range s.Timers {
		if !now.Before(t.FireTime) {
			due = append(due, t)
		}
	}
	sort.Slice(due, func(i, j int) bool { return due[i].StartedEventID < due[j].StartedEventID })
	for _, t := range due {
		t := t
		s.addEvent(now, true, func(ev *historypb.HistoryEvent) {
			ev.Attributes = &historypb.HistoryEvent_TimerFiredEventAttributes{TimerFiredEventAttributes: &historypb.TimerFiredEventAttributes{
				TimerId: t.ID, StartedEventId: t.StartedEventID,
			}}
		})
		s.needWFT(now)
	}
	var ids []int64
	for id := range s.Activities {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		a := s.Activities[id]
		if a == nil {
			continue
		}
		// The earliest due deadline wins; at the same time the lower
		// timeout type does (start-to-close, schedule-to-start,
		// schedule-to-close, heartbeat), as in Temporal's timer order. So
		// an activity never started, with only schedule-to-close set (and
		// schedule-to-start derived from it), times out schedule-to-start.
		var due *activityDeadline
		for _, d := range activityDeadlines(a) {
			d := d
			if now.Before(d.at) {
				continue
			}
			if due == nil || d.at.Before(due.at) || (d.at.Equal(due.at) && d.kind < due.kind) {
				due = &d
			}
		}
		switch {
		case due == nil:
		case due.kind == enumspb.TIMEOUT_TYPE_UNSPECIFIED:
			s.dispatchActivity(now, a)
		default:
			s.timeoutActivity(now, a, due.kind)
		}
	}
	s.tickNexus(now)
	s.fastForwardDue(now)
}
