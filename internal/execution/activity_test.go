package execution

import (
	"errors"
	"fmt"
	"testing"
	"time"

	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"
)

func withRetry(p *commonpb.RetryPolicy) func(*commandpb.ScheduleActivityTaskCommandAttributes) {
	return func(a *commandpb.ScheduleActivityTaskCommandAttributes) { a.RetryPolicy = p }
}

func withTimeouts(s2c, s2s, st2c, hb time.Duration) func(*commandpb.ScheduleActivityTaskCommandAttributes) {
	return func(a *commandpb.ScheduleActivityTaskCommandAttributes) {
		a.ScheduleToCloseTimeout, a.ScheduleToStartTimeout, a.StartToCloseTimeout, a.HeartbeatTimeout = dur(s2c), dur(s2s), dur(st2c), dur(hb)
	}
}

func actTask(attempt int32) Task {
	return Task{Kind: ActivityTaskKind, Queue: testTQ, ScheduledEventID: 5, Attempt: attempt}
}

// TestActivityRetryBackoff: attempt n fails at now; the next attempt is
// due at now + initial*coef^(n-1), capped at the maximum interval.
func TestActivityRetryBackoff(t *testing.T) {
	h := newHarness(t, startAttrs())
	h.pollComplete(scheduleActivity("a", withRetry(&commonpb.RetryPolicy{InitialInterval: dur(time.Second), BackoffCoefficient: 2, MaximumInterval: dur(5 * time.Second)})))
	h.wantTasks(actTask(1))
	wantDelay := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	for i, d := range wantDelay {
		attempt := int32(i + 1)
		h.advance(100 * time.Millisecond)
		if got := h.startAct("a"); got.Attempt != attempt {
			t.Fatalf("started attempt %d, want %d", got.Attempt, attempt)
		}
		h.advance(time.Second)
		failedAt := h.now
		h.failAct("a", appFailure("Flaky", false))
		h.wantStep()  // retries write no event
		h.wantTasks() // not dispatched before the backoff
		a := h.act("a")
		if a.Attempt != attempt+1 || !a.NextAttemptTime.Equal(failedAt.Add(d)) || a.Started || a.LastFailure.GetMessage() != "boom Flaky" {
			t.Fatalf("after attempt %d: attempt %d next %v (want +%v) started %v", attempt, a.Attempt, a.NextAttemptTime.Sub(failedAt), d, a.Started)
		}
		p := h.s.PendingActivities()[0]
		if p.Attempt != attempt+1 || !p.NextAttemptScheduleTime.AsTime().Equal(failedAt.Add(d)) || p.State != enumspb.PENDING_ACTIVITY_STATE_SCHEDULED {
			t.Fatalf("pending info %v", p)
		}
		if _, err := h.s.StartActivityTask(h.now, 5, attempt+1, "early", "w"); !errors.Is(err, ErrStaleTask) {
			t.Fatalf("start during backoff: %v", err)
		}
		h.wantDeadline(failedAt.Add(d).Sub(t0))
		h.now = failedAt.Add(d)
		h.tick()
		h.wantTasks(actTask(attempt + 1))
	}
	h.startAct("a")
	h.completeAct("a")
	h.wantStep(evActStarted, evActCompleted, evWFTSched)
	st := h.eventsOfType(evActStarted)[0].GetActivityTaskStartedEventAttributes()
	if st.Attempt != 6 || st.LastFailure.GetMessage() != "boom Flaky" {
		t.Fatalf("final started event %v", st)
	}
}

func TestActivityRetryDecisions(t *testing.T) {
	type step struct {
		failure *failurepb.Failure
		retried bool
	}
	cases := []struct {
		name      string
		policy    *commonpb.RetryPolicy
		failures  []*failurepb.Failure
		final     enumspb.RetryState
		lastStart int32 // attempt in the final ActivityTaskStarted
	}{
		{"maximum attempts", &commonpb.RetryPolicy{MaximumAttempts: 3}, []*failurepb.Failure{appFailure("a", false), appFailure("b", false), appFailure("c", false)}, enumspb.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED, 3},
		{"single attempt", &commonpb.RetryPolicy{MaximumAttempts: 1}, []*failurepb.Failure{appFailure("a", false)}, enumspb.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED, 1},
		{"non-retryable error type", &commonpb.RetryPolicy{NonRetryableErrorTypes: []string{"Fatal"}}, []*failurepb.Failure{appFailure("Flaky", false), appFailure("Fatal", false)}, enumspb.RETRY_STATE_NON_RETRYABLE_FAILURE, 2},
		{"non-retryable flag", nil, []*failurepb.Failure{appFailure("x", true)}, enumspb.RETRY_STATE_NON_RETRYABLE_FAILURE, 1},
		{"canceled failure is not retried", nil, []*failurepb.Failure{{Message: "c", FailureInfo: &failurepb.Failure_CanceledFailureInfo{CanceledFailureInfo: &failurepb.CanceledFailureInfo{}}}}, enumspb.RETRY_STATE_NON_RETRYABLE_FAILURE, 1},
	}
	for _, c := range cases {
		c := c
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, startAttrs())
			h.pollComplete(scheduleActivity("a", withRetry(c.policy)))
			for i, f := range c.failures {
				h.startAct("a")
				h.failAct("a", f)
				if i < len(c.failures)-1 {
					h.wantStep()
					h.at(h.act("a").NextAttemptTime.Sub(t0))
					h.tick()
				}
			}
			h.wantStep(evActStarted, evActFailed, evWFTSched)
			st := h.lastEvents(3)[0].GetActivityTaskStartedEventAttributes()
			fa := h.lastEvents(3)[1].GetActivityTaskFailedEventAttributes()
			if st.Attempt != c.lastStart || fa.RetryState != c.final || fa.StartedEventId != h.lastEvents(3)[0].EventId ||
				!proto.Equal(fa.Failure, c.failures[len(c.failures)-1]) {
				t.Fatalf("started %v failed %v", st, fa)
			}
			if len(c.failures) > 1 && !proto.Equal(st.LastFailure, c.failures[len(c.failures)-2]) {
				t.Fatalf("started.LastFailure %v", st.LastFailure)
			}
		})
	}
}

func TestActivityTimeouts(t *testing.T) {
	runScenarios(t, []scenario{
		{name: "start-to-close timeout is retried", run: func(h *harness) {
			h.pollComplete(scheduleActivity("a", withTimeouts(0, 0, 10*time.Second, 0)))
			h.startAct("a")
			h.wantDeadline(10 * time.Second)
			h.at(10 * time.Second)
			if o := h.tick(); !o.RecordChanged {
				// The new attempt is in the run record only: unwritten, a
				// run the engine evicts would come back on attempt 1.
				h.t.Fatal("a retried timeout did not mark the record changed")
			}
			h.wantStep()
			a := h.act("a")
			if a.Attempt != 2 || !a.NextAttemptTime.Equal(t0.Add(11*time.Second)) ||
				a.LastFailure.GetTimeoutFailureInfo().GetTimeoutType() != enumspb.TIMEOUT_TYPE_START_TO_CLOSE {
				h.t.Fatalf("after timeout %+v", a)
			}
			if err := h.s.CompleteActivity(h.now, 5, 1, nil, "late"); !errors.Is(err, ErrStaleTask) {
				h.t.Fatalf("late completion of the timed out attempt: %v", err)
			}
			h.at(11 * time.Second)
			h.tick()
			h.wantTasks(actTask(2))
		}},
		{name: "heartbeat timeout is retried; heartbeats push it out", run: func(h *harness) {
			h.pollComplete(scheduleActivity("a", withTimeouts(0, 0, time.Minute, 5*time.Second)))
			h.startAct("a")
			h.wantDeadline(5 * time.Second)
			h.at(3 * time.Second)
			if _, err := h.s.Heartbeat(h.now, 5, 1, payloads("p1")); err != nil {
				h.t.Fatal(err)
			}
			h.sync("Heartbeat")
			h.wantDeadline(8 * time.Second)
			h.at(8 * time.Second)
			h.tick()
			a := h.act("a")
			if a.Attempt != 2 || a.LastFailure.GetTimeoutFailureInfo().GetTimeoutType() != enumspb.TIMEOUT_TYPE_HEARTBEAT ||
				a.LastFailure.GetTimeoutFailureInfo().GetLastHeartbeatDetails() != nil || !proto.Equal(a.HeartbeatDetails, payloads("p1")) {
				// As in Temporal, the retried attempt's failure carries no
				// details; the next attempt gets them as HeartbeatDetails.
				h.t.Fatalf("after heartbeat timeout %+v", a)
			}
		}},
		{name: "schedule-to-close timeout ends the activity", run: func(h *harness) {
			h.pollComplete(scheduleActivity("a", withTimeouts(30*time.Second, 0, 20*time.Second, 0)))
			h.startAct("a")
			h.at(20 * time.Second)
			h.tick() // start-to-close: retried (next attempt at 21s, before 30s)
			h.at(21 * time.Second)
			h.tick()
			h.startAct("a")
			h.wantDeadline(30 * time.Second)
			h.at(30 * time.Second)
			h.tick()
			h.wantStep(evActStarted, evActTimedOut, evWFTSched)
			st := h.lastEvents(3)[0].GetActivityTaskStartedEventAttributes()
			to := h.lastEvents(3)[1].GetActivityTaskTimedOutEventAttributes()
			if st.Attempt != 2 || to.RetryState != enumspb.RETRY_STATE_TIMEOUT || to.StartedEventId != h.lastEvents(3)[0].EventId ||
				to.Failure.GetTimeoutFailureInfo().GetTimeoutType() != enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE ||
				to.Failure.GetCause().GetTimeoutFailureInfo().GetTimeoutType() != enumspb.TIMEOUT_TYPE_START_TO_CLOSE {
				h.t.Fatalf("started %v timed out %v", st, to)
			}
		}},
		{name: "never started, only schedule-to-close set: the derived schedule-to-start wins the tie", run: func(h *harness) {
			h.pollComplete(scheduleActivity("a", withTimeouts(3*time.Second, 0, 0, 0)))
			sch := h.eventsOfType(evActSched)[0].GetActivityTaskScheduledEventAttributes()
			if sch.ScheduleToStartTimeout.AsDuration() != 3*time.Second || sch.StartToCloseTimeout.AsDuration() != 3*time.Second {
				h.t.Fatalf("scheduled %v", sch)
			}
			h.at(3 * time.Second)
			h.tick()
			h.wantStep(evActTimedOut, evWFTSched)
			to := h.lastEvents(2)[0].GetActivityTaskTimedOutEventAttributes()
			if to.Failure.GetTimeoutFailureInfo().GetTimeoutType() != enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START || to.RetryState != enumspb.RETRY_STATE_TIMEOUT ||
				to.Failure.Message != "activity ScheduleToStart timeout" {
				h.t.Fatalf("timed out %v", to)
			}
		}},
		{name: "a late tick fires the earliest deadline, not the first in a fixed order", run: func(h *harness) {
			h.pollComplete(scheduleActivity("a", withTimeouts(time.Minute, 0, 50*time.Second, 5*time.Second), withRetry(&commonpb.RetryPolicy{MaximumAttempts: 1})))
			h.startAct("a")
			h.at(2 * time.Minute) // every deadline has passed; heartbeat (5s) was first
			h.tick()
			to := h.eventsOfType(evActTimedOut)[0].GetActivityTaskTimedOutEventAttributes()
			if to.Failure.GetTimeoutFailureInfo().GetTimeoutType() != enumspb.TIMEOUT_TYPE_HEARTBEAT || to.RetryState != enumspb.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED {
				h.t.Fatalf("timed out %v", to)
			}
		}},
		{name: "start-to-close with no time left for a retry is reported as schedule-to-close", run: func(h *harness) {
			h.pollComplete(scheduleActivity("a", withTimeouts(30*time.Second, 0, 25*time.Second, 0), withRetry(&commonpb.RetryPolicy{InitialInterval: dur(10 * time.Second)})))
			h.startAct("a")
			h.at(25 * time.Second)
			h.tick()
			to := h.eventsOfType(evActTimedOut)[0].GetActivityTaskTimedOutEventAttributes()
			if to.Failure.GetTimeoutFailureInfo().GetTimeoutType() != enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE || to.RetryState != enumspb.RETRY_STATE_TIMEOUT ||
				to.Failure.Message != "Not enough time to schedule next retry before activity ScheduleToClose timeout, giving up retrying" {
				h.t.Fatalf("timed out %v", to)
			}
		}},
		{name: "an activity asked to cancel is not retried", run: func(h *harness) {
			h.pollComplete(scheduleActivity("a", withTimeouts(0, 0, time.Minute, 0)))
			h.startAct("a")
			h.pollOrSignal()
			h.complete(cancelActivityCmd(5))
			h.failAct("a", appFailure("x", false))
			if rs := h.eventsOfType(evActFailed)[0].GetActivityTaskFailedEventAttributes().RetryState; rs != enumspb.RETRY_STATE_CANCEL_REQUESTED {
				h.t.Fatalf("retry state %v", rs)
			}
		}},
		{name: "retry that would pass schedule-to-close ends with TIMEOUT", run: func(h *harness) {
			h.pollComplete(scheduleActivity("a", withTimeouts(30*time.Second, 0, 10*time.Second, 0), withRetry(&commonpb.RetryPolicy{InitialInterval: dur(time.Minute)})))
			h.startAct("a")
			h.at(time.Second)
			h.failAct("a", appFailure("x", false))
			h.wantStep(evActStarted, evActFailed, evWFTSched)
			if rs := h.lastEvents(3)[1].GetActivityTaskFailedEventAttributes().RetryState; rs != enumspb.RETRY_STATE_TIMEOUT {
				h.t.Fatalf("retry state %v", rs)
			}
		}},
		{name: "schedule-to-start timeout is not retried and writes no started event", run: func(h *harness) {
			h.pollComplete(scheduleActivity("a", withTimeouts(0, 5*time.Second, 10*time.Second, 0)))
			h.wantDeadline(5 * time.Second)
			h.at(5 * time.Second)
			h.tick()
			h.wantStep(evActTimedOut, evWFTSched)
			to := h.lastEvents(2)[0].GetActivityTaskTimedOutEventAttributes()
			if to.StartedEventId != 0 || to.RetryState != enumspb.RETRY_STATE_TIMEOUT || to.Failure.GetTimeoutFailureInfo().GetTimeoutType() != enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START {
				h.t.Fatalf("timed out %v", to)
			}
		}},
		{name: "next retry delay from the failure overrides the policy", run: func(h *harness) {
			h.pollComplete(scheduleActivity("a"))
			h.startAct("a")
			f := appFailure("x", false)
			f.GetApplicationFailureInfo().NextRetryDelay = dur(42 * time.Second)
			h.failAct("a", f)
			if got := h.act("a").NextAttemptTime; !got.Equal(t0.Add(42 * time.Second)) {
				h.t.Fatalf("next attempt at %v", got.Sub(t0))
			}
		}},
		{name: "activity timeout during a started workflow task is buffered", run: func(h *harness) {
			h.pollComplete(scheduleActivity("a", withTimeouts(0, 0, 10*time.Second, 0), withRetry(&commonpb.RetryPolicy{MaximumAttempts: 1})))
			h.startAct("a")
			h.signal("s", "")
			h.at(5 * time.Second)
			h.poll()
			h.at(10 * time.Second)
			h.tick()
			h.wantStep()
			h.complete()
			h.wantStep(evWFTCompleted, evActStarted, evActTimedOut, evWFTSched)
		}},
		{name: "stale activity tokens", run: func(h *harness) {
			h.pollComplete(scheduleActivity("a"))
			if _, err := h.s.StartActivityTask(h.now, 5, 2, "r", "w"); !errors.Is(err, ErrStaleTask) {
				h.t.Fatalf("wrong attempt: %v", err)
			}
			if err := h.s.CompleteActivity(h.now, 5, 1, nil, "w"); !errors.Is(err, ErrStaleTask) {
				h.t.Fatalf("complete before start: %v", err)
			}
			if _, err := h.s.StartActivityTask(h.now, 5, 1, "r", "w"); err != nil {
				h.t.Fatal(err)
			}
			h.sync("start r")
			if _, err := h.s.StartActivityTask(h.now, 5, 1, "r", "w"); err != nil {
				h.t.Fatalf("same request id: %v", err)
			}
			if _, err := h.s.StartActivityTask(h.now, 5, 1, "other", "w"); !errors.Is(err, ErrStaleTask) {
				h.t.Fatalf("other request id: %v", err)
			}
			if err := h.s.FailActivity(h.now, 77, 1, nil, nil, "w"); !errors.Is(err, ErrStaleTask) {
				h.t.Fatalf("unknown activity: %v", err)
			}
			h.sync("stale")
		}},
	})
}

func TestNextRetry(t *testing.T) {
	p := &commonpb.RetryPolicy{InitialInterval: dur(2 * time.Second), BackoffCoefficient: 3, MaximumInterval: dur(time.Minute), MaximumAttempts: 6}
	cases := []struct {
		name    string
		policy  *commonpb.RetryPolicy
		attempt int32
		f       *failurepb.Failure
		exp     time.Duration
		delay   time.Duration
		state   enumspb.RetryState
	}{
		{"no policy", nil, 1, nil, 0, 0, enumspb.RETRY_STATE_RETRY_POLICY_NOT_SET},
		{"attempt 1", p, 1, nil, 0, 2 * time.Second, enumspb.RETRY_STATE_IN_PROGRESS},
		{"attempt 2", p, 2, nil, 0, 6 * time.Second, enumspb.RETRY_STATE_IN_PROGRESS},
		{"attempt 3", p, 3, nil, 0, 18 * time.Second, enumspb.RETRY_STATE_IN_PROGRESS},
		{"attempt 4", p, 4, nil, 0, 54 * time.Second, enumspb.RETRY_STATE_IN_PROGRESS},
		{"attempt 5 capped", p, 5, nil, 0, time.Minute, enumspb.RETRY_STATE_IN_PROGRESS},
		{"attempt 6 is the last", p, 6, nil, 0, 0, enumspb.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED},
		{"huge attempt stays capped", &commonpb.RetryPolicy{}, 5000, nil, 0, 100 * time.Second, enumspb.RETRY_STATE_IN_PROGRESS},
		{"expiration", p, 1, nil, time.Second, 0, enumspb.RETRY_STATE_TIMEOUT},
		{"expiration exactly at next attempt", p, 1, nil, 2 * time.Second, 2 * time.Second, enumspb.RETRY_STATE_IN_PROGRESS},
		{"schedule-to-start timeout", p, 1, &failurepb.Failure{FailureInfo: &failurepb.Failure_TimeoutFailureInfo{TimeoutFailureInfo: &failurepb.TimeoutFailureInfo{TimeoutType: enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START}}}, 0, 0, enumspb.RETRY_STATE_NON_RETRYABLE_FAILURE},
		{"terminated", p, 1, &failurepb.Failure{FailureInfo: &failurepb.Failure_TerminatedFailureInfo{TerminatedFailureInfo: &failurepb.TerminatedFailureInfo{}}}, 0, 0, enumspb.RETRY_STATE_NON_RETRYABLE_FAILURE},
	}
	for _, c := range cases {
		var exp time.Time
		if c.exp > 0 {
			exp = t0.Add(c.exp)
		}
		d, st := nextRetry(c.policy, c.attempt, c.f, t0, exp)
		if d != c.delay || st != c.state {
			t.Errorf("%s: nextRetry = %v, %v; want %v, %v", c.name, d, st, c.delay, c.state)
		}
	}
}

func TestRecoverAfterLoad(t *testing.T) {
	h := newHarness(t, startAttrs())
	h.pollComplete(scheduleActivity("pending"), scheduleActivity("started"), scheduleActivity("backoff"), startChild("kid"), signalExternal("x", "s"), cancelExternal("y"))
	h.startAct("started")
	h.startAct("backoff")
	h.failAct("backoff", appFailure("f", false))
	h.signal("s", "")
	loaded := reload(t, h.s, h.events)
	o := loaded.Recover(t0)
	var kinds []string
	for _, tk := range o.Tasks {
		if tk.Kind == ActivityTaskKind {
			kinds = append(kinds, "act")
		} else {
			kinds = append(kinds, "wft")
		}
	}
	// wft for the signal, the never-started activity only
	if len(o.Tasks) != 2 || len(o.Actions) != 3 {
		t.Fatalf("Recover: tasks %+v actions %+v", o.Tasks, o.Actions)
	}
	if loaded.ActivityByID("started").Started != true || loaded.ActivityByID("backoff").Attempt != 2 {
		t.Fatalf("activity state not restored")
	}
	closed := newHarness(t, startAttrs())
	closed.pollComplete(completeWF("r"))
	if o := reload(t, closed.s, closed.events).Recover(t0); len(o.Tasks)+len(o.Actions) != 0 {
		t.Fatalf("closed run recovered %+v", o)
	}
}

// TestEagerActivities: activities a completion schedules with
// RequestEagerExecution start at once for the completing worker, their
// queued tasks are dropped, and their start-to-close timeout runs; others
// are dispatched as usual.
func TestEagerActivities(t *testing.T) {
	eager := func(a *commandpb.ScheduleActivityTaskCommandAttributes) {
		a.RequestEagerExecution = true
		a.StartToCloseTimeout = dur(10 * time.Second)
	}
	reqIDs := 0
	newReqID := func() string { reqIDs++; return fmt.Sprintf("eager-%d", reqIDs) }

	h := newHarness(t, startAttrs())
	h.poll()
	first := h.s.NextEventID
	cmds := []*commandpb.Command{scheduleActivity("e1", eager), scheduleActivity("plain"), scheduleActivity("e2", eager)}
	if err := h.s.CompleteWorkflowTask(h.now, &workflowservice.RespondWorkflowTaskCompletedRequest{Commands: cmds, Identity: "w1"}, h.newRun); err != nil {
		t.Fatal(err)
	}
	got := h.s.StartEagerActivities(h.now, first, cmds, "w1", newReqID)
	h.sync("CompleteWorkflowTask+StartEagerActivities")
	if len(got) != 2 || got[0].Attrs.ActivityId != "e1" || got[1].Attrs.ActivityId != "e2" {
		t.Fatalf("eager activities %v", got)
	}
	for _, a := range got {
		if !a.Started || a.StartedIdentity != "w1" || a.Attempt != 1 {
			t.Fatalf("activity %s not started for w1: %+v", a.Attrs.ActivityId, a)
		}
	}
	h.wantStep(evWFTCompleted, evActSched, evActSched, evActSched)
	h.wantTasks(Task{Kind: ActivityTaskKind, Queue: testTQ, ScheduledEventID: h.act("plain").ScheduledEventID, Attempt: 1})
	h.wantDeadline(10 * time.Second)

	// Asking again (a retried response) starts nothing twice, and an
	// activity scheduled by an earlier task never qualifies.
	if again := h.s.StartEagerActivities(h.now, first, cmds, "w1", newReqID); len(again) != 0 {
		t.Fatalf("started again: %v", again)
	}
	h.completeAct("e1")
	h.poll()
	first = h.s.NextEventID
	if late := h.s.StartEagerActivities(h.now, first, []*commandpb.Command{scheduleActivity("plain", eager)}, "w1", newReqID); len(late) != 0 {
		t.Fatalf("an earlier activity was started eagerly: %v", late)
	}
	h.sync("nothing")

	// A completion that also closes the workflow dispatches nothing.
	h.complete(scheduleActivity("e3", eager), completeWF("done"))
	if late := h.s.StartEagerActivities(h.now, first, []*commandpb.Command{scheduleActivity("e3", eager)}, "w1", newReqID); len(late) != 0 {
		t.Fatalf("started on a closed workflow: %v", late)
	}
}

// ActivityTaskStarted is written when the activity closes but carries the
// time the attempt started, as in Temporal.
func TestActivityStartedEventTime(t *testing.T) {
	h := newHarness(t, startAttrs())
	h.pollComplete(scheduleActivity("a"))
	h.at(2 * time.Second)
	h.startAct("a")
	h.at(7 * time.Second)
	h.completeAct("a")
	h.wantStep(evActStarted, evActCompleted, evWFTSched)
	st, done := h.lastEvents(3)[0], h.lastEvents(3)[1]
	if !st.EventTime.AsTime().Equal(t0.Add(2*time.Second)) || !done.EventTime.AsTime().Equal(t0.Add(7*time.Second)) {
		t.Fatalf("started at %v, completed at %v", st.EventTime.AsTime().Sub(t0), done.EventTime.AsTime().Sub(t0))
	}
}
