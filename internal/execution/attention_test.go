package execution

import (
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
)

// wantAttention checks NextAttention at the harness's now, and that it
// agrees with Recover: "now" exactly when a reloaded copy has tasks or
// effects to redo (children count too: they are reconciled).
func (h *harness) wantAttention(want time.Time, why string) {
	h.t.Helper()
	got := h.s.NextAttention(h.now)
	if !got.Equal(want) {
		h.t.Fatalf("%s: NextAttention = %v, want %v", why, tm(got), tm(want))
	}
	o := reload(h.t, h.s, h.events).Recover(h.now)
	redo := len(o.Tasks) > 0 || len(o.Actions) > 0 || len(h.s.Children) > 0
	if redo && got.After(h.now) || !redo && !got.Equal(h.s.NextDeadline()) {
		h.t.Fatalf("%s: NextAttention %v disagrees with Recover (tasks %d, actions %d)", why, tm(got), len(o.Tasks), len(o.Actions))
	}
}

func TestNextAttentionTasksAndDeadlines(t *testing.T) {
	h := newHarness(t, startAttrs())
	// A scheduled workflow task waits in matching: redo after a crash.
	h.wantAttention(h.now, "scheduled workflow task")
	h.advance(time.Second)
	h.poll()
	// Started: only its timeout matters.
	h.wantAttention(h.now.Add(10*time.Second), "started workflow task")
	h.complete(scheduleActivity("a"), startTimer("t", time.Hour))
	h.wantAttention(h.now, "activity task waiting for a poller")
	h.advance(time.Second)
	h.startAct("a")
	// The started activity has no timeouts here; the timer is next.
	h.wantAttention(h.s.NextDeadline(), "activity running, timer pending")
	if d := h.s.NextDeadline(); d.IsZero() || d.Before(h.now) {
		t.Fatalf("NextDeadline = %v, want the timer in the future", d)
	}
	h.completeAct("a")
	h.wantAttention(h.now, "workflow task after the activity")
	h.pollComplete()
	if got := h.s.NextAttention(h.now); !got.Equal(t0.Add(time.Hour + time.Second)) {
		t.Fatalf("sleeping run: NextAttention = %v, want the timer at +1h1s", tm(got))
	}
	// A past deadline stays itself (it is earlier than now).
	h.at(2 * time.Hour)
	if got := h.s.NextAttention(h.now); !got.Equal(t0.Add(time.Hour + time.Second)) {
		t.Fatalf("overdue timer: NextAttention = %v, want the timer's time", tm(got))
	}
	h.tick()
	h.pollComplete(completeWF("done"))
	h.wantStatus(enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED)
	if got := h.s.NextAttention(h.now); !got.IsZero() {
		t.Fatalf("closed run: NextAttention = %v, want none", tm(got))
	}
}

func TestNextAttentionEffects(t *testing.T) {
	h := newHarness(t, startAttrs())
	h.pollComplete(startChild("kid"), signalExternal("x", "s"), cancelExternal("y"))
	h.wantAttention(h.now, "child start, signal and cancel pending")
	if err := h.s.ExternalSignalDone(h.now, 6, enumspb.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_UNSPECIFIED); err != nil {
		t.Fatal(err)
	}
	h.sync("ExternalSignalDone")
	if err := h.s.ExternalCancelDone(h.now, 7, enumspb.CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_UNSPECIFIED); err != nil {
		t.Fatal(err)
	}
	h.sync("ExternalCancelDone")
	if err := h.s.ChildStarted(h.now, 5, "kid-run"); err != nil {
		t.Fatal(err)
	}
	h.sync("ChildStarted")
	h.pollComplete()
	// A started child's close may be lost in a crash: the parent is
	// reconciled after a restart, so it still needs attention.
	h.wantAttention(h.now, "started child")
}

func TestNextAttentionBackoffAndTransient(t *testing.T) {
	h := newHarness(t, startAttrs())
	h.pollComplete(scheduleActivity("a"))
	h.startAct("a")
	h.failAct("a", appFailure("boom", false))
	// Retrying after a backoff: nothing queued, the backoff is the deadline.
	a := h.act("a")
	if a.NextAttemptTime.IsZero() {
		t.Fatal("activity not backing off")
	}
	h.wantAttention(a.NextAttemptTime, "activity in backoff")
	h.at(time.Hour)
	h.tick()
	h.wantAttention(h.now, "retry dispatched")
}

func TestEvictable(t *testing.T) {
	h := newHarness(t, startAttrs())
	if !h.s.Evictable() {
		t.Fatal("a run whose first workflow task waits in matching is not evictable")
	}
	h.poll()
	if h.s.Evictable() {
		t.Fatal("a run with a started workflow task is evictable")
	}
	h.complete(scheduleActivity("a"))
	if !h.s.Evictable() {
		t.Fatal("a run with a queued activity task is not evictable")
	}
	h.startAct("a")
	if !h.s.Evictable() {
		t.Fatal("a run with a running activity (its attempt state is in the record) is not evictable")
	}
	// An update admitted to an idle run schedules a speculative task:
	// both live only in memory.
	if _, err := h.s.AdmitUpdate(h.now, updateRequest("u1"), false); err != nil {
		t.Fatal(err)
	}
	h.sync("AdmitUpdate")
	if h.s.Evictable() {
		t.Fatal("a run with an admitted update is evictable")
	}
}
