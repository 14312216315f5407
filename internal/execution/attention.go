package execution

import "time"

// NextAttention returns when the engine must next look at the run without
// being asked: the earliest of NextDeadline and, when the run has work
// that lives only in the engine's memory once written (a task waiting for
// a poller, an effect on another workflow not yet confirmed, children
// whose close may not have reached it), now. Zero means never. The engine
// stores it with every write (store.RunRecord.Due), so that after a crash
// exactly the runs that need it are loaded and recovered, and timers of
// runs not in memory are found again.
func (s *State) NextAttention(now time.Time) time.Time {
	d := s.NextDeadline()
	if s.hasPendingWork() && (d.IsZero() || now.Before(d)) {
		return now
	}
	return d
}

// hasPendingWork reports whether Recover would re-create tasks or
// effects, or whether the run has children to reconcile after a crash.
// It must stay in step with Recover.
func (s *State) hasPendingWork() bool {
	if !s.Running() {
		return false
	}
	paused := s.Paused() // its workflow task and activity attempts wait for the unpause
	if s.WFT == nil && s.firstTaskScheduled && s.failedWFTs > 0 && !paused {
		return true // a transient retry not in history
	}
	if w := s.WFT; w != nil && w.Transient {
		// Started or not, a reloaded copy has no workflow task (its events
		// are not in history) and Recover schedules it again: with the
		// started task's timeout as Due instead, a crash before it left
		// the run with no workflow task at all.
		return true
	}
	if w := s.WFT; w != nil && w.StartedEventID == 0 {
		return true
	}
	for _, a := range s.Activities {
		if activityWaitsForWorker(a) && !paused {
			return true
		}
	}
	for _, op := range s.NexusOps {
		if op.NextAttemptTime.IsZero() {
			// Queued, or held by a handler: sent again after a crash; or
			// started asynchronously: the recovery re-checks whether its
			// handler workflow closed while the outcome was in flight.
			return true
		}
	}
	return len(s.Children) > 0 || len(s.ExternalSignals) > 0 || len(s.ExternalCancels) > 0
}

// Evictable reports whether everything about the run is in the store, so
// the engine may drop it from memory and load it again later: no workflow
// task started, held back (speculative, transient) or scheduled on a
// sticky queue, no update admitted but not yet accepted, no Nexus task
// held by a handler. A workflow task or activity task waiting in matching
// is fine: the task names the run, and the poll loads it.
func (s *State) Evictable() bool {
	if len(s.spec) > 0 || s.failedWFTs > 0 {
		return false
	}
	if w := s.WFT; w != nil && (w.StartedEventID != 0 || w.Speculative || w.Transient || w.Sticky) {
		return false
	}
	for _, u := range s.Updates {
		if u.State == UpdateAdmitted || u.State == UpdateSent {
			return false
		}
	}
	for _, op := range s.NexusOps {
		if op.TaskHeld || op.CancelTaskHeld {
			return false
		}
	}
	return true
}
